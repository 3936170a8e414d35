//! Schedule triggers: a cron expression (croner: 5 fields, or 6 with seconds
//! first, or `@daily` and friends) read in the trigger's time zone (or the
//! system's), with the last run persisted in the store and a missed-run
//! policy applied at start-up.
//!
//! - **Mark.** After each run the due time that fired is stored
//!   (`schedule_marks`). On the very first start there is no mark; the start
//!   time is stored, so that later downtime can be recognised.
//! - **Missed runs.** If a due time passed between the mark and now while the
//!   daemon was down: `skip` records the latest one as handled (audited as
//!   `trigger.schedule_missed`) and waits for the next; `run_once` runs once,
//!   at start, for the latest missed due time, however many were missed.
//! - **Sleeping.** The task sleeps until the next due time (plus a random
//!   jitter up to `jitter_s`), in slices of at most [`MAX_SLEEP`] so that a
//!   wall-clock change or a suspended phone (the monotonic clock stops while
//!   suspended) delays a run by at most that much. If it wakes late, the due
//!   time runs once and any due times skipped by the delay are not caught up.
//! - **De-duplication.** The key is `schedule:<name>:<due, RFC 3339 UTC>`, so
//!   a crash between admitting a run and storing the mark never runs it twice.

use leash_store::AuditKind;
use std::sync::Arc;
use std::time::Duration;

use croner::Cron;
use croner::parser::CronParser;
use jiff::{Timestamp, Zoned, tz::TimeZone};
use leash_config::{MissedRun, TriggerConfig};
use leash_store::Admission;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::context::DaemonContext;
use crate::error::DaemonError;
use crate::intake::{TriggerEvent, TriggerSource};
use crate::triggers::cron_zone::{CronZone, to_chrono, to_zoned};

/// The longest single sleep of a schedule task (see the module documentation).
pub const MAX_SLEEP: Duration = Duration::from_secs(300);

/// A checked schedule trigger: parsed cron expression, time zone, policies.
#[derive(Debug, Clone)]
pub struct Schedule {
    trigger: TriggerConfig,
    cron: Cron,
    zone: CronZone,
}

/// What start-up finds about runs missed while the daemon was down. Closed.
#[derive(Debug, Clone, PartialEq)]
pub enum StartupRun {
    /// No mark yet: nothing can have been missed; the start time becomes the mark.
    FirstStart,
    /// No due time passed since the mark.
    UpToDate,
    /// At least one due time passed since the mark, the earliest `first` and
    /// the latest `last`; `run` says whether the policy runs `last` now.
    Missed {
        /// The earliest due time missed.
        first: Zoned,
        /// The latest due time missed.
        last: Zoned,
        /// Whether the trigger's `missed` policy runs `last` now.
        run: bool,
    },
}

impl Schedule {
    /// Parses and checks the trigger: the cron expression must parse and come
    /// due at some point, the time zone must be known. Errors name the trigger.
    pub fn from_trigger(trigger: &TriggerConfig) -> Result<Schedule, DaemonError> {
        let problem = |problem: String| DaemonError::Trigger {
            name: trigger.name.clone(),
            problem,
        };
        let Some(expression) = trigger.cron.as_deref() else {
            return Err(problem(
                "a schedule trigger needs a cron expression".to_owned(),
            ));
        };
        let cron = CronParser::new()
            .parse(expression)
            .map_err(|err| problem(format!("cron expression {expression:?}: {err}")))?;
        let zone = match trigger.timezone.as_deref() {
            Some(name) => {
                TimeZone::get(name).map_err(|err| problem(format!("time zone {name:?}: {err}")))?
            }
            None => TimeZone::system(),
        };
        let schedule = Schedule {
            trigger: trigger.clone(),
            cron,
            zone: CronZone(zone),
        };
        schedule
            .next_due_after(Timestamp::now())
            .map_err(|err| match err {
                DaemonError::Trigger { problem, .. } => DaemonError::Trigger {
                    name: trigger.name.clone(),
                    problem: format!("cron expression {expression:?} {problem}"),
                },
                other => other,
            })?;
        Ok(schedule)
    }

    /// The trigger's name.
    pub fn name(&self) -> &str {
        &self.trigger.name
    }

    /// The time zone the expression is read in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone.0
    }

    /// The first due time strictly after `after`, in the schedule's zone.
    pub fn next_due_after(&self, after: Timestamp) -> Result<Zoned, DaemonError> {
        self.occurrence(after, croner::Direction::Forward)
    }

    /// The last due time at or before `at`.
    fn last_due_at_or_before(&self, at: Timestamp) -> Result<Zoned, DaemonError> {
        self.occurrence(at, croner::Direction::Backward)
    }

    fn occurrence(
        &self,
        from: Timestamp,
        direction: croner::Direction,
    ) -> Result<Zoned, DaemonError> {
        let never = || DaemonError::Trigger {
            name: self.trigger.name.clone(),
            problem: "never comes due".to_owned(),
        };
        // Due times are whole seconds; a fraction would leak into the result.
        let whole = Timestamp::from_second(from.as_second()).map_err(|_| never())?;
        let start = to_chrono(whole, &self.zone).ok_or_else(never)?;
        let found = match direction {
            croner::Direction::Forward => self.cron.find_next_occurrence(&start, false),
            croner::Direction::Backward => self.cron.find_previous_occurrence(&start, true),
        }
        .map_err(|_| never())?;
        to_zoned(&found, &self.zone.0).ok_or_else(never)
    }

    /// What start-up does, given the stored mark and the current time.
    pub fn startup_run(
        &self,
        mark: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<StartupRun, DaemonError> {
        let Some(mark) = mark else {
            return Ok(StartupRun::FirstStart);
        };
        let first = self.next_due_after(mark)?;
        if first.timestamp() > now {
            return Ok(StartupRun::UpToDate);
        }
        let last = self.last_due_at_or_before(now)?;
        let run = match self.trigger.missed {
            MissedRun::Skip => false,
            MissedRun::RunOnce => true,
        };
        Ok(StartupRun::Missed { first, last, run })
    }

    /// The job for the run due at `due`.
    fn event(&self, due: &Zoned) -> TriggerEvent {
        let mut prompt = self.trigger.prompt.clone().unwrap_or_default();
        prompt.push_str(&format!(
            "\n\n(Trigger: schedule {:?}, the run due at {}.)",
            self.trigger.name, due
        ));
        let mut event = TriggerEvent::new(TriggerSource::Schedule, prompt);
        event.trigger_name = Some(self.trigger.name.clone());
        event.mode = self.trigger.mode;
        event.workspace = self.trigger.workspace.clone();
        event.priority = i64::from(self.trigger.priority);
        event.dedup_key = Some(format!(
            "schedule:{}:{}",
            self.trigger.name,
            due.timestamp()
        ));
        event.dedup_window = Duration::from_secs(self.trigger.dedup_window_s);
        event
    }

    /// A random delay up to `jitter_s` (none when the system's random source
    /// fails: a run on time is better than no run).
    fn jitter(&self) -> Duration {
        let max_ms = self.trigger.jitter_s.saturating_mul(1000);
        if max_ms == 0 {
            return Duration::ZERO;
        }
        let random = getrandom::u64().unwrap_or(0);
        Duration::from_millis(random % (max_ms + 1))
    }

    /// Runs the schedule on `rt` until the daemon stops.
    pub(crate) fn spawn(
        self,
        ctx: Arc<DaemonContext>,
        rt: &tokio::runtime::Handle,
    ) -> JoinHandle<()> {
        rt.spawn(async move {
            if let Err(err) = self.run(&ctx).await {
                match err {
                    DaemonError::ShuttingDown => {}
                    other => tracing::error!(trigger = %self.trigger.name, error = %other, "schedule trigger stopped"),
                }
            }
        })
    }

    async fn run(&self, ctx: &Arc<DaemonContext>) -> Result<(), DaemonError> {
        let name = self.trigger.name.clone();
        let mark = blocking(ctx, move |ctx| ctx.with_store(|s| s.schedule_mark(&name))).await?;
        let mark = mark.and_then(|text| match text.parse::<Timestamp>() {
            Ok(mark) => Some(mark),
            Err(err) => {
                tracing::warn!(trigger = %self.trigger.name, mark = %text, error = %err, "stored schedule mark does not parse; treating this as a first start");
                None
            }
        });
        let now = Timestamp::now();
        let mut after = mark.map_or(now, |mark| mark.max(now));
        match self.startup_run(mark, now)? {
            StartupRun::FirstStart => {
                self.set_mark(ctx, now).await?;
                tracing::info!(trigger = %self.trigger.name, "schedule trigger starts its record now");
            }
            StartupRun::UpToDate => {}
            StartupRun::Missed { first, last, run } => {
                let details = json!({
                    "trigger": self.trigger.name,
                    "first_missed": first.timestamp().to_string(),
                    "last_missed": last.timestamp().to_string(),
                    "policy": if run { "run_once" } else { "skip" },
                });
                let audit_ctx = Arc::clone(ctx);
                blocking(ctx, move |_| {
                    audit_ctx
                        .audit
                        .append(None, AuditKind::TriggerScheduleMissed, details)
                        .map_err(DaemonError::from)
                })
                .await?;
                if run {
                    self.fire(ctx, &last).await?;
                } else {
                    self.set_mark(ctx, last.timestamp()).await?;
                }
            }
        }
        tracing::info!(trigger = %self.trigger.name, zone = self.zone.0.iana_name().unwrap_or("system"), "schedule trigger running");
        loop {
            let due = self.next_due_after(after)?;
            let fire_at = due.timestamp() + self.jitter_span()?;
            tracing::debug!(trigger = %self.trigger.name, due = %due, "next scheduled run");
            loop {
                let now = Timestamp::now();
                if now >= fire_at {
                    break;
                }
                let wait = Duration::try_from(now.duration_until(fire_at))
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_SLEEP);
                tokio::select! {
                    () = ctx.stopped() => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
            }
            self.fire(ctx, &due).await?;
            after = due.timestamp().max(Timestamp::now());
        }
    }

    fn jitter_span(&self) -> Result<jiff::SignedDuration, DaemonError> {
        jiff::SignedDuration::try_from(self.jitter()).map_err(|err| DaemonError::Trigger {
            name: self.trigger.name.clone(),
            problem: format!("jitter: {err}"),
        })
    }

    /// Admits the run due at `due`, then stores it as the mark.
    async fn fire(&self, ctx: &Arc<DaemonContext>, due: &Zoned) -> Result<(), DaemonError> {
        let event = self.event(due);
        let admission = blocking(ctx, move |ctx| ctx.admit(event)).await?;
        match &admission {
            Admission::Queued(job) => {
                tracing::info!(trigger = %self.trigger.name, job = job.id, due = %due, "scheduled run queued");
            }
            Admission::Duplicate(job) => {
                tracing::info!(trigger = %self.trigger.name, job = job.id, due = %due, "scheduled run already queued");
            }
        }
        self.set_mark(ctx, due.timestamp()).await
    }

    async fn set_mark(&self, ctx: &Arc<DaemonContext>, mark: Timestamp) -> Result<(), DaemonError> {
        let name = self.trigger.name.clone();
        let text = mark.to_string();
        blocking(ctx, move |ctx| {
            ctx.with_store(|s| s.set_schedule_mark(&name, &text))
        })
        .await
    }
}

/// Runs `f` on the blocking pool (store commits wait for fsync).
pub(crate) async fn blocking<T: Send + 'static>(
    ctx: &Arc<DaemonContext>,
    f: impl FnOnce(&DaemonContext) -> Result<T, DaemonError> + Send + 'static,
) -> Result<T, DaemonError> {
    let ctx = Arc::clone(ctx);
    tokio::task::spawn_blocking(move || f(&ctx))
        .await
        .map_err(|_| DaemonError::Poisoned {
            what: "a trigger's blocking task",
        })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use leash_config::TriggerKind;
    use rstest::rstest;

    fn trigger(cron: &str, zone: Option<&str>, missed: MissedRun) -> TriggerConfig {
        TriggerConfig {
            name: "t".to_owned(),
            kind: TriggerKind::Schedule,
            pattern: None,
            cron: Some(cron.to_owned()),
            repo: None,
            branch: None,
            prompt: Some("check".to_owned()),
            mode: None,
            workspace: None,
            poll_interval_s: None,
            priority: 0,
            urgent: false,
            command: None,
            match_pattern: None,
            cooldown_s: None,
            dedup_window_s: 0,
            missed,
            jitter_s: 0,
            timezone: zone.map(str::to_owned),
            skill: None,
            model: None,
            on: None,
        }
    }

    #[rstest]
    #[case::berlin_winter(
        "0 3 * * *",
        "Europe/Berlin",
        "2024-01-10T12:00:00Z",
        "2024-01-11T02:00:00Z"
    )]
    #[case::berlin_summer(
        "0 3 * * *",
        "Europe/Berlin",
        "2024-07-10T12:00:00Z",
        "2024-07-11T01:00:00Z"
    )]
    #[case::new_york_dst_day(
        "0 9 * * *",
        "America/New_York",
        "2024-03-10T12:00:00Z",
        "2024-03-10T13:00:00Z"
    )]
    #[case::kolkata_half_hour(
        "0 9 * * *",
        "Asia/Kolkata",
        "2024-01-10T12:00:00Z",
        "2024-01-11T03:30:00Z"
    )]
    #[case::seconds_field("30 * * * * *", "UTC", "2024-01-10T12:00:00Z", "2024-01-10T12:00:30Z")]
    #[case::nickname("@hourly", "UTC", "2024-01-10T12:00:00Z", "2024-01-10T13:00:00Z")]
    // 02:30 does not exist in Berlin on 2024-03-31: runs right after the gap.
    #[case::spring_forward_gap(
        "30 2 * * *",
        "Europe/Berlin",
        "2024-03-30T12:00:00Z",
        "2024-03-31T01:00:00Z"
    )]
    fn next_due_in_zone(
        #[case] cron: &str,
        #[case] zone: &str,
        #[case] after: &str,
        #[case] expected: &str,
    ) {
        let schedule = Schedule::from_trigger(&trigger(cron, Some(zone), MissedRun::Skip)).unwrap();
        let due = schedule.next_due_after(after.parse().unwrap()).unwrap();
        assert_eq!(due.timestamp().to_string(), expected);
    }

    #[test]
    fn fall_back_fold_runs_once() {
        // 02:30 happens twice in Berlin on 2024-10-27; a daily job runs once.
        let schedule = Schedule::from_trigger(&trigger(
            "30 2 * * *",
            Some("Europe/Berlin"),
            MissedRun::Skip,
        ))
        .unwrap();
        let first = schedule
            .next_due_after("2024-10-26T12:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(first.timestamp().to_string(), "2024-10-27T00:30:00Z");
        let second = schedule.next_due_after(first.timestamp()).unwrap();
        assert_eq!(second.timestamp().to_string(), "2024-10-28T01:30:00Z");
    }
}
