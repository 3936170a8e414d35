//! `undo.keep_days` / `undo.max_mb` pruning: what is in use is never pruned,
//! and over the size cap the oldest entries go first.

use leash_store::{JobState, NewJob, Store, TriggerSource};

use super::*;

fn job_in_state(ws: &Ws, state: JobState) -> i64 {
    let store = Store::open(&ws.state.join("leash.db")).unwrap();
    let job = store
        .insert_job(&NewJob {
            trigger_kind: TriggerSource::Cli,
            trigger_name: None,
            priority: 0,
            dedup_key: None,
            prompt: "p".to_owned(),
            payload: None,
            mode: None,
            workspace: None,
            file_path: None,
        })
        .unwrap();
    if state != JobState::Queued {
        store
            .set_job_state(job.id, JobState::Running, None)
            .unwrap();
    }
    if !matches!(state, JobState::Queued | JobState::Running) {
        store.set_job_state(job.id, state, None).unwrap();
    }
    assert_eq!(store.job(job.id).unwrap().unwrap().state, state);
    job.id
}

/// Class `gc-in-use`: an entry of a queued, running or waiting job is kept
/// whatever its age and the size cap; once the job ended it goes.
#[rstest::rstest]
#[case(JobState::Queued)]
#[case(JobState::Running)]
#[case(JobState::WaitingApproval)]
fn gc_never_prunes_the_entries_of_a_live_job(#[case] state: JobState) {
    let ws = Ws::with(UndoSettings {
        keep_days: 0,
        ..UndoSettings::default()
    });
    let live = job_in_state(&ws, state);
    ws.write("live.txt", "live content");
    ws.write("ended.txt", "ended content");
    ws.run(live, &["tee", "live.txt"]);
    ws.run(9999, &["tee", "ended.txt"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    // Over any size cap too: the live entry still stays.
    let tight = Journal::open(
        &ws.state.join("leash.db"),
        &ws.state.join("undo"),
        UndoSettings {
            keep_days: 0,
            max_bytes: 0,
            ..UndoSettings::default()
        },
    )
    .unwrap();
    let report = tight.gc(&ws.audit).unwrap();
    assert_eq!(report.entries_removed, 1, "{report:?}");
    assert_eq!(report.entries_in_use, 1, "{report:?}");
    assert_eq!(report.objects_removed, 1, "{report:?}");
    ws.undo(Selection::Job(live), false).unwrap();
    assert_eq!(ws.read("live.txt"), "live content");
    assert!(ws.undo(Selection::Job(9999), false).is_err());
}

/// Class `gc-size-cap`: over `undo.max_mb` the oldest entries go first, and
/// only as many as needed; newer entries stay undoable.
#[test]
fn over_the_size_cap_the_oldest_entries_go_first() {
    let ws = Ws::new();
    for (job, name, fill) in [(1, "f1", "a"), (2, "f2", "b"), (3, "f3", "c")] {
        ws.write(name, &fill.repeat(1000));
        ws.run(job, &["tee", name]);
    }
    assert_eq!(ws.journal.objects().usage().unwrap(), 3000);
    let capped = Journal::open(
        &ws.state.join("leash.db"),
        &ws.state.join("undo"),
        UndoSettings {
            max_bytes: 2500,
            ..UndoSettings::default()
        },
    )
    .unwrap();
    let report = capped.gc(&ws.audit).unwrap();
    assert_eq!(report.entries_removed, 1, "{report:?}");
    assert_eq!(report.objects_removed, 1, "{report:?}");
    assert_eq!(report.bytes_kept, 2000, "{report:?}");
    assert!(ws.undo(Selection::Job(1), false).is_err());
    ws.undo(Selection::Job(3), false).unwrap();
    ws.undo(Selection::Job(2), false).unwrap();
    assert_eq!(ws.read("f2"), "b".repeat(1000));
    assert_eq!(ws.read("f3"), "c".repeat(1000));
    assert!(ws.audit.verify().unwrap().ok);
}

/// Class `gc-in-flight`: a pre-image no entry names yet (an action's
/// `prepare` writes it before committing its entry) is not taken for an
/// orphan while it is fresh.
#[test]
fn a_fresh_pre_image_no_entry_names_yet_is_kept() {
    let ws = Ws::with(UndoSettings {
        keep_days: 0,
        max_bytes: 0,
        ..UndoSettings::default()
    });
    ws.write("pending.txt", "being journaled");
    let name = ws.journal.objects().put_file(&ws.p("pending.txt")).unwrap();
    let report = ws.journal.gc(&ws.audit).unwrap();
    assert_eq!(report.objects_removed, 0, "{report:?}");
    assert!(ws.journal.objects().path_of(&name).exists());
}
