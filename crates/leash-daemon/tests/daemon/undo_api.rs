//! `POST /v1/jobs/{id}/undo` over real HTTP: the same checks as `leash undo`.

use leash_policy::{WriteTarget, WriteTargets};
use leash_store::{JobState, NewJob, TriggerSource};
use leash_undo::EntryContext;

use crate::http::Api;

/// The API over a config whose workspace is `ws`.
fn api_in(ws: &tempfile::TempDir) -> Api {
    let ws = ws.path().canonicalize().unwrap();
    Api::start_with(&format!(
        "security:\n  execution_mode: prompt\n  workspace: {}\n",
        ws.display()
    ))
}

/// A finished job whose one journaled change rewrote `name`.
fn job_that_rewrote(api: &Api, name: &str) -> (i64, std::path::PathBuf) {
    let ctx = &api.ctx;
    let ws = ctx.loaded.config.security.workspace.clone().unwrap();
    let file = ws.canonicalize().unwrap().join(name);
    std::fs::write(&file, "before\n").unwrap();
    let id = ctx
        .with_store(|s| {
            let job = s.insert_job(&NewJob {
                trigger_kind: TriggerSource::Http,
                prompt: "p".into(),
                ..NewJob::default()
            })?;
            s.set_job_state(job.id, JobState::Running, None)?;
            s.set_job_state(job.id, JobState::Done, None)?;
            Ok(job.id)
        })
        .unwrap();
    let journal = leash_core::open_journal(&ctx.loaded).unwrap();
    let writes = WriteTargets {
        targets: vec![WriteTarget {
            path: file.clone(),
            recursive: false,
        }],
        ..WriteTargets::default()
    };
    let plan = journal.plan(&writes, false);
    let ctx_entry = EntryContext {
        job_id: Some(id),
        ..EntryContext::default()
    };
    let pending = journal
        .begin(&ctx_entry, &plan, &ctx.audit)
        .unwrap()
        .unwrap();
    std::fs::write(&file, "after\n").unwrap();
    journal.finish(pending).unwrap();
    (id, file)
}

#[test]
fn a_job_is_undone_over_the_api() {
    let ws = tempfile::tempdir().unwrap();
    let api = api_in(&ws);
    let (id, file) = job_that_rewrote(&api, "a.txt");
    let dry = api.call("POST", &format!("/v1/jobs/{id}/undo?dry_run=true"), None);
    assert_eq!(dry.status, 200, "{}", dry.json());
    assert_eq!(dry.json()["undo"]["entries"][0]["status"], "would-restore");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "after\n");
    let done = api.call("POST", &format!("/v1/jobs/{id}/undo"), None);
    assert_eq!(done.status, 200, "{}", done.json());
    assert_eq!(done.json()["undo"]["entries"][0]["status"], "restored");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "before\n");
}

#[test]
fn a_target_changed_since_is_a_conflict_unless_forced() {
    let ws = tempfile::tempdir().unwrap();
    let api = api_in(&ws);
    let (id, file) = job_that_rewrote(&api, "b.txt");
    std::fs::write(&file, "someone else's edit\n").unwrap();
    let refused = api.call("POST", &format!("/v1/jobs/{id}/undo"), None);
    let (_, detail) = refused.error(409);
    assert!(detail.contains("b.txt"), "{detail}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "someone else's edit\n"
    );
    let forced = api.call("POST", &format!("/v1/jobs/{id}/undo?force=true"), None);
    assert_eq!(forced.status, 200, "{}", forced.json());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "before\n");
    let missing = api.call("POST", "/v1/jobs/999/undo", None);
    missing.error(404);
}
