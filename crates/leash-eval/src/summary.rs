//! The figures of a run: done/total per category and overall, harm, steps,
//! approvals asked and seconds, as a table for people and as JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::runner::TaskResult;
use crate::task::Category;

/// Totals over some tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Totals {
    /// Tasks all of whose checks passed.
    pub done: usize,
    /// Tasks run.
    pub total: usize,
    /// Tasks that left any harm (clutter or damage).
    pub harmed: usize,
    /// Tasks whose harm includes damage to what the person had (not only
    /// clutter left behind).
    pub damaged: usize,
    /// Model steps, summed.
    pub steps: u64,
    /// Approval requests, summed.
    pub approvals_asked: usize,
    /// Requests a person refused (with `--person`).
    pub refused: usize,
    /// Proposals of an action a person had already refused in the job.
    pub reproposed: usize,
    /// Grants the person made, summed.
    pub grants_made: usize,
    /// Requests a grant answered instead of asking, summed.
    pub grants_used: usize,
    /// Wall-clock seconds, summed.
    pub seconds: f64,
}

impl Totals {
    /// Adds up `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a TaskResult>) -> Totals {
        let mut totals = Totals::default();
        for result in results {
            totals.total += 1;
            totals.done += usize::from(result.done);
            totals.harmed += usize::from(!result.harm.is_empty());
            totals.damaged += usize::from(result.damaged());
            totals.steps += result.steps;
            totals.approvals_asked += result.approvals_asked;
            totals.refused += result.refused;
            totals.reproposed += result.reproposed;
            totals.grants_made += result.grants_made;
            totals.grants_used += result.grants_used;
            totals.seconds += result.seconds;
        }
        totals
    }

    /// Approvals asked per completed task (every task's requests count; 0
    /// when none was completed).
    pub fn asked_per_done(&self) -> f64 {
        if self.done == 0 {
            0.0
        } else {
            self.approvals_asked as f64 / self.done as f64
        }
    }

    /// Done as a percentage (0 when there are no tasks).
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.done as f64 * 100.0 / self.total as f64
        }
    }
}

/// How often the routing step chose where a task belongs, over the tasks
/// that went through it.
pub fn routing(results: &[TaskResult]) -> Value {
    let routed: Vec<&TaskResult> = results.iter().filter(|r| r.routed.is_some()).collect();
    let right = routed
        .iter()
        .filter(|r| r.routed.as_deref() == Some(r.expected_route.as_str()))
        .count();
    json!({"routed": routed.len(), "right": right})
}

/// The whole run as one JSON document.
pub fn to_json(results: &[TaskResult]) -> Value {
    let categories: serde_json::Map<String, Value> = Category::ALL
        .iter()
        .map(|category| {
            let totals = Totals::of(results.iter().filter(|r| r.category == *category));
            (category.as_str().to_owned(), json!(totals))
        })
        .filter(|(_, totals)| totals["total"] != 0)
        .collect();
    json!({
        "total": Totals::of(results),
        "skill_routed": Totals::of(results.iter().filter(|r| r.skill.is_some())),
        "categories": categories,
        "routing": routing(results),
        "tasks": results,
    })
}

/// The run as a table: one line per task, then one per category and the total.
pub fn to_table(results: &[TaskResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:<9} {:<5} {:>5} {:>5} {:>7}  notes",
        "task", "category", "done", "steps", "asked", "seconds"
    );
    for r in results {
        let notes = if !r.harm.is_empty() {
            let harm: Vec<String> = r.harm.iter().map(ToString::to_string).collect();
            format!("HARM: {}", harm.join("; "))
        } else if r.done {
            r.skill
                .as_ref()
                .map(|s| format!("skill {s}"))
                .unwrap_or_default()
        } else {
            format!("{}; {}", r.state, r.failed.join("; "))
        };
        let _ = writeln!(
            out,
            "{:<34} {:<9} {:<5} {:>5} {:>5} {:>7.1}  {}",
            r.name,
            r.category.as_str(),
            if r.done { "yes" } else { "no" },
            r.steps,
            r.approvals_asked,
            r.seconds,
            notes
        );
    }
    let _ = writeln!(out);
    let mut line = |label: &str, totals: Totals| {
        if totals.total > 0 {
            let _ = writeln!(
                out,
                "{label:<14} done {:>3}/{:<3} ({:>5.1}%)  harm {} (damage {})  steps {}  approvals asked {}  seconds {:.1}",
                totals.done,
                totals.total,
                totals.percent(),
                totals.harmed,
                totals.damaged,
                totals.steps,
                totals.approvals_asked,
                totals.seconds
            );
            if totals.refused > 0 || totals.reproposed > 0 || totals.grants_made > 0 {
                let _ = writeln!(
                    out,
                    "{:<14} refused {}  re-proposed after a refusal {}  approvals asked per completed task {:.2}  grants made {} used {}",
                    "",
                    totals.refused,
                    totals.reproposed,
                    totals.asked_per_done(),
                    totals.grants_made,
                    totals.grants_used
                );
            }
        }
    };
    for category in Category::ALL {
        line(
            category.as_str(),
            Totals::of(results.iter().filter(|r| r.category == category)),
        );
    }
    line(
        "skill-routed",
        Totals::of(results.iter().filter(|r| r.skill.is_some())),
    );
    line("all", Totals::of(results));
    let routing = routing(results);
    if routing["routed"] != 0 {
        let _ = writeln!(
            out,
            "{:<14} right {}/{} (where the routing step sent the task vs. where it belongs)",
            "routing", routing["right"], routing["routed"]
        );
    }
    out
}
