//! Schedule triggers: missed-run policy, first start, every-second runs.

use std::sync::Arc;
use std::time::Duration;

use leash_daemon::DaemonContext;
use leash_daemon::triggers::{Schedule, StartupRun};
use rstest::rstest;

use leash_store::TriggerSource;

use super::{Running, jobs, wait_for, wait_for_jobs};
use crate::support::TestDaemonHome;

fn schedule_home(cron: &str, extra: &str) -> (TestDaemonHome, Arc<DaemonContext>) {
    let home = TestDaemonHome::new();
    let loaded = home.load(&format!(
        "triggers:\n  - name: check\n    kind: schedule\n    cron: \"{cron}\"\n    prompt: \"Check the system.\"\n    timezone: UTC\n{extra}"
    ));
    let ctx = home.context(loaded);
    (home, ctx)
}

fn schedule_mark(ctx: &DaemonContext) -> Option<jiff::Timestamp> {
    ctx.with_store(|s| s.schedule_mark("check"))
        .unwrap()
        .map(|m| m.parse().unwrap())
}

#[rstest]
#[case::skip("skip", 0)]
#[case::run_once("run_once", 1)]
fn missed_runs_after_downtime_follow_the_policy(
    #[case] policy: &str,
    #[case] expected_jobs: usize,
) {
    // Daily at 03:00 UTC; the last run was three days ago: three runs missed.
    let (_home, ctx) = schedule_home("0 3 * * *", &format!("    missed: {policy}\n"));
    let three_days_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(72);
    ctx.with_store(|s| s.set_schedule_mark("check", &three_days_ago.to_string()))
        .unwrap();
    let schedule = Schedule::from_trigger(&ctx.loaded.config.triggers[0]).unwrap();
    let last_missed = match schedule
        .startup_run(Some(three_days_ago), jiff::Timestamp::now())
        .unwrap()
    {
        StartupRun::Missed { last, run, .. } => {
            assert_eq!(run, expected_jobs == 1);
            last.timestamp()
        }
        other => panic!("expected missed runs, got {other:?}"),
    };

    let _running = Running::start(Arc::clone(&ctx));
    assert!(wait_for(Duration::from_secs(5), || schedule_mark(&ctx)
        == Some(last_missed)));
    std::thread::sleep(Duration::from_millis(200));
    let all = jobs(&ctx);
    assert_eq!(all.len(), expected_jobs, "{all:?}");
    if let Some(job) = all.first() {
        assert_eq!(job.trigger_kind, TriggerSource::Schedule);
        assert_eq!(
            job.dedup_key.as_deref(),
            Some(format!("schedule:check:{last_missed}").as_str())
        );
        assert!(job.prompt.starts_with("Check the system."));
    }
    let missed: Vec<_> = ctx
        .audit
        .all()
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "trigger.schedule_missed")
        .collect();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].payload["policy"], policy);
}

#[test]
fn the_first_start_records_a_mark_and_runs_nothing() {
    let (_home, ctx) = schedule_home("0 3 * * *", "    missed: run_once\n");
    let before = jiff::Timestamp::now();
    let _running = Running::start(Arc::clone(&ctx));
    assert!(wait_for(Duration::from_secs(5), || schedule_mark(&ctx).is_some()));
    assert!(
        schedule_mark(&ctx).unwrap()
            >= before.round(jiff::Unit::Second).unwrap() - jiff::SignedDuration::from_secs(1)
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(jobs(&ctx).is_empty());
}

#[test]
fn an_every_second_schedule_fires_each_due_time_once_and_moves_its_mark() {
    let (_home, ctx) = schedule_home("* * * * * *", "");
    let mut running = Running::start(Arc::clone(&ctx));
    let all = wait_for_jobs(&ctx, 2);
    running.stop();
    let all_after_stop = jobs(&ctx);
    let keys: Vec<_> = all_after_stop
        .iter()
        .map(|j| j.dedup_key.clone().unwrap())
        .collect();
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(keys, unique, "a due time ran twice");
    assert!(all.len() >= 2);
    let last_key = keys.last().unwrap();
    let mark = schedule_mark(&ctx).unwrap();
    assert_eq!(last_key, &format!("schedule:check:{mark}"));
    // Due times are whole seconds.
    assert_eq!(mark.subsec_nanosecond(), 0);
}
