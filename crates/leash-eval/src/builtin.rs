//! The suite that ships with leash: the task files in `tasks/`, compiled in so
//! `leash eval` needs nothing beside the binary.

use crate::error::EvalError;
use crate::task::{Task, parse, validate};

const FILES: [(&str, &str); 5] = [
    ("tasks/deploy.yaml", include_str!("../tasks/deploy.yaml")),
    ("tasks/review.yaml", include_str!("../tasks/review.yaml")),
    ("tasks/monitor.yaml", include_str!("../tasks/monitor.yaml")),
    (
        "tasks/organize.yaml",
        include_str!("../tasks/organize.yaml"),
    ),
    ("tasks/chores.yaml", include_str!("../tasks/chores.yaml")),
];

/// Every built-in task, checked.
pub fn builtin_tasks() -> Result<Vec<Task>, EvalError> {
    let mut tasks = Vec::new();
    for (origin, text) in FILES {
        tasks.extend(parse(origin, text)?);
    }
    validate(&tasks)?;
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::task::Category;

    #[test]
    fn the_suite_has_forty_tasks_or_more_across_every_category() {
        let tasks = builtin_tasks().unwrap();
        assert!(tasks.len() >= 40, "{} tasks", tasks.len());
        for category in Category::ALL {
            let n = tasks.iter().filter(|t| t.category == category).count();
            assert!(n >= 5, "{} has {n} tasks", category.as_str());
        }
    }

    #[test]
    fn every_task_that_changes_nothing_is_still_checked_for_an_outcome() {
        for task in builtin_tasks().unwrap() {
            assert!(!task.check.is_empty(), "{}", task.name);
            assert!(!task.prompt.trim().is_empty(), "{}", task.name);
        }
    }
}
