//! Whether the model's final message may be shown as the account's last
//! word: a small model often parrots a worked example's thought ("The
//! directory holds budget.ods and photos.") whatever ran. The message is
//! shown only when every fact it states — a word that names a file or path,
//! or holds a number — appears in the task or in what the job did (an
//! action, its output, a notification). The account of what ran is always
//! shown; this decides only the model's own words.

use super::job_loop::JobReport;

/// Does `word` state a fact that must come from somewhere: a number, or a
/// name with a `/` or an extension?
fn is_fact(word: &str) -> bool {
    if word.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    if word.contains('/') && word.chars().any(char::is_alphanumeric) {
        return true;
    }
    word.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && !ext.is_empty()
            && ext.chars().all(|c| c.is_ascii_alphanumeric())
            && ext.chars().any(|c| c.is_ascii_alphabetic())
    })
}

/// The facts `message` states, lowercase, without the punctuation around them.
fn facts(message: &str) -> Vec<String> {
    message
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '.')
                .trim_end_matches('.')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty() && is_fact(w))
        .collect()
}

/// The model's final message when it is grounded in `task` and what the
/// job did; `None` when there is none or it states a fact from nowhere.
pub fn grounded_message(task: &str, report: &JobReport) -> Option<String> {
    let message = report.last_thought.as_deref()?.trim();
    if message.is_empty() {
        return None;
    }
    let mut known = task.to_lowercase();
    for entry in &report.account {
        known.push('\n');
        known.push_str(&entry.action.to_lowercase());
        if let Some(output) = &entry.output {
            known.push('\n');
            known.push_str(&output.to_lowercase());
        }
    }
    for note in &report.notifications {
        known.push('\n');
        known.push_str(&note.to_lowercase());
    }
    let from_nowhere: Vec<String> = facts(message)
        .into_iter()
        .filter(|fact| !known.contains(fact.as_str()))
        .collect();
    if from_nowhere.is_empty() {
        Some(message.to_owned())
    } else {
        tracing::debug!(
            ?from_nowhere,
            "the model's final message is not shown: it states facts nothing showed"
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{ActionAccount, JobEnd};

    fn report(thought: &str, outputs: &[(&str, &str)]) -> JobReport {
        JobReport {
            end: JobEnd::Done,
            steps: 1,
            actions: outputs.len(),
            executed: outputs.len(),
            not_run: 0,
            notifications: Vec::new(),
            last_thought: Some(thought.to_owned()),
            account: outputs
                .iter()
                .map(|(action, output)| ActionAccount {
                    step: 1,
                    action: (*action).to_owned(),
                    decision: Some("allow".into()),
                    rule: None,
                    result: "exit status 0".into(),
                    output: Some((*output).to_owned()),
                })
                .collect(),
            conversation: Vec::new(),
        }
    }

    #[test]
    fn a_parroted_example_naming_files_nothing_showed_is_not_shown() {
        let r = report(
            "The directory holds budget.ods and photos.",
            &[("run [\"ls\"]", "todo.txt\ninbox/\n")],
        );
        assert_eq!(grounded_message("show the files in this folder", &r), None);
    }

    #[test]
    fn a_message_whose_facts_come_from_the_output_is_shown() {
        let r = report(
            "poem.txt has 7 lines.",
            &[("run [\"wc\",\"-l\",\"poem.txt\"]", "7 poem.txt\n")],
        );
        assert_eq!(
            grounded_message("How many lines does poem.txt have?", &r).as_deref(),
            Some("poem.txt has 7 lines.")
        );
    }

    #[test]
    fn a_number_from_nowhere_is_not_shown() {
        let r = report("There are 12 files.", &[("run [\"ls\"]", "a\nb\n")]);
        assert_eq!(grounded_message("how many files?", &r), None);
    }

    #[test]
    fn a_message_without_facts_is_shown() {
        let r = report("Done, as asked.", &[]);
        assert_eq!(
            grounded_message("tidy up", &r).as_deref(),
            Some("Done, as asked.")
        );
    }
}
