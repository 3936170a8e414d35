//! Grants through the JSON API: made while approving, listed, revoked once,
//! audited; a grant that would cover a denied argv is refused with a 400
//! naming it, and the approval it came with stays pending.

use leash_store::{JobState, NewApproval, NewJob, TriggerSource};
use serde_json::json;

use crate::http::Api;

/// A pending request for `cat notes/a.txt` in `workspace`, with `nonce`.
fn pending_cat(api: &Api, workspace: &std::path::Path, nonce: &str) -> i64 {
    let workspace = workspace.canonicalize().unwrap();
    let expires_at = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(600)).to_string();
    api.ctx
        .with_store(|s| {
            let job = s.insert_job(&NewJob {
                trigger_kind: TriggerSource::Http,
                prompt: "read notes".into(),
                workspace: Some(workspace.display().to_string()),
                ..NewJob::default()
            })?;
            s.set_job_state(job.id, JobState::Running, None)?;
            s.insert_approval(&NewApproval {
                job_id: Some(job.id),
                expires_at,
                nonce: nonce.into(),
                argv: vec!["cat".into(), "notes/a.txt".into()],
                cwd: Some(workspace.display().to_string()),
                ..NewApproval::default()
            })
        })
        .unwrap()
        .id
}

/// Hostile class `grant-covers-deny` over HTTP: approving with a grant for
/// `rm ...` (which would cover the blacklisted `rm -rf`) is refused, names
/// the argv, makes no grant and leaves the request pending.
#[test]
fn a_grant_covering_a_deny_is_refused_and_the_approval_stays_pending() {
    let ws = tempfile::tempdir().unwrap();
    let api = Api::start_with("security:\n  execution_mode: prompt\n  blacklist: [\"rm -rf\"]\n");
    let id = pending_cat(&api, ws.path(), "n1");
    let body = json!({"nonce": "n1", "grant": {"pattern": "rm ...", "scope": "job"}});
    let reply = api.call(
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&body.to_string()),
    );
    let (code, detail) = reply.error(400);
    assert_eq!(code, "bad_request");
    assert!(detail.contains("rm -rf"), "{detail}");
    assert!(detail.contains("seed.blacklist"), "{detail}");
    let grants = api.call("GET", "/v1/grants?all=true", None).json();
    assert_eq!(grants["grants"].as_array().unwrap().len(), 0);
    let shown = api.call("GET", &format!("/v1/approvals/{id}"), None).json();
    assert_eq!(shown["approval"]["state"], "pending");
}

#[test]
fn approving_with_a_grant_makes_it_then_it_is_revoked_once() {
    let ws = tempfile::tempdir().unwrap();
    let api = Api::start();
    let id = pending_cat(&api, ws.path(), "n2");
    let body = json!({"nonce": "n2", "channel": "cli", "by": "cli:alice",
                      "grant": {"pattern": "cat notes/*.txt", "scope": "job", "minutes": 30}});
    let reply = api.call(
        "POST",
        &format!("/v1/approvals/{id}/approve"),
        Some(&body.to_string()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let answer = reply.json();
    assert_eq!(answer["approval"]["state"], "approved");
    assert_eq!(answer["approval"]["channel"], "cli");
    let grant_id = answer["grant"]["id"].as_i64().unwrap();
    assert_eq!(answer["approval"]["grant_id"], grant_id);
    assert_eq!(answer["grant"]["scope"]["kind"], "job");
    assert!(answer["grant"]["expires_at"].is_string());

    let listed = api.call("GET", "/v1/grants", None).json();
    assert_eq!(listed["grants"][0]["id"], grant_id);
    let revoked = api.call("POST", &format!("/v1/grants/{grant_id}/revoke"), Some("{}"));
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    api.call("POST", &format!("/v1/grants/{grant_id}/revoke"), Some("{}"))
        .error(409);
    assert_eq!(
        api.call("GET", "/v1/grants", None).json()["grants"],
        json!([])
    );
    let kinds: Vec<String> = api
        .ctx
        .audit
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert!(kinds.contains(&"grant.created".to_owned()), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| *k == "grant.revoked").count(),
        1,
        "revoked once"
    );
}
