//! Worked examples for the open agent loop, chosen per task from a small
//! library (`examples.yaml`) by the words the task shares with each example,
//! instead of one fixed example a small model copies into every task.
//!
//! Every example is checked against the policy when the library loads: each
//! `run` argv and each file action must be allowed as it stands, or the
//! example is left out (an example the model copies must not teach it
//! something the policy refuses). The examples go into the task message, not
//! the system prompt, so the system prompt stays the same for every job (the
//! embedded backend reuses its KV cache).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use leash_llm::{Action, ActionPlan};
use leash_policy::{Decision, FileAction, Policy};
use serde::Deserialize;

/// The built-in library.
const LIBRARY: &str = include_str!("examples.yaml");

/// At most this many examples are shown for one task.
pub const MAX_EXAMPLES_PER_TASK: usize = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryDoc {
    examples: Vec<ExampleDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleDoc {
    task: String,
    #[serde(default)]
    keywords: Vec<String>,
    steps: Vec<StepDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDoc {
    answer: String,
    #[serde(default)]
    results: Option<String>,
}

/// One checked example.
#[derive(Debug, Clone)]
pub struct Example {
    /// The task it shows how to do (matched by words against the job's task).
    pub task: String,
    words: BTreeSet<String>,
    steps: Vec<(ActionPlan, Option<String>)>,
}

/// Why an example of the library was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The example's task.
    pub task: String,
    /// Why it was left out (the policy would not allow a step of it, or it is
    /// malformed).
    pub why: String,
}

/// The examples the policy allows, and the ones it does not (with why).
#[derive(Debug, Clone, Default)]
pub struct ExampleLibrary {
    /// Examples every step of which the policy allows here.
    pub examples: Vec<Example>,
    /// Examples left out, with why (`leash doctor` shows them).
    pub rejected: Vec<Rejected>,
}

/// Words that say nothing about a task.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "this", "that", "with", "are", "all", "from", "into", "what", "please",
    "can", "you", "how", "does", "did", "its", "has", "have", "there", "here", "any", "about",
];

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() >= 3 && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// Why the policy would not allow `action` as it stands, if it would not.
fn refusal(policy: &Policy, workspace: &Path, action: &Action) -> Option<String> {
    let text = |p: &Path| p.to_string_lossy().into_owned();
    let trash = workspace.join(".leash/trash/example");
    let trash = text(&trash);
    let verdict = match action {
        Action::Run { argv, .. } => policy.check_argv_at(argv, workspace),
        Action::WriteFile(w) => {
            let path = text(&w.path);
            policy.check_file_action(&FileAction::Write { path: &path }, workspace)
        }
        Action::Mkdir(p) => {
            let path = text(p);
            policy.check_file_action(&FileAction::Mkdir { path: &path }, workspace)
        }
        Action::Delete(p) => {
            let path = text(p);
            policy.check_file_action(
                &FileAction::Delete {
                    path: &path,
                    trash: &trash,
                },
                workspace,
            )
        }
        Action::Move(t) | Action::Copy(t) => {
            let (from, to) = (text(&t.from), text(&t.to));
            let action = match action {
                Action::Move(_) => FileAction::Move {
                    from: &from,
                    to: &to,
                },
                _ => FileAction::Copy {
                    from: &from,
                    to: &to,
                },
            };
            policy.check_file_action(&action, workspace)
        }
        Action::Notify(_) => return None,
    };
    match verdict.decision {
        Decision::Allow => None,
        Decision::Ask | Decision::Deny => Some(format!(
            "{} ({}): {}",
            verdict.decision.as_str(),
            verdict.rule,
            verdict.reason
        )),
    }
}

impl ExampleLibrary {
    /// Loads the built-in library, checking each example against `policy`
    /// (relative paths in `workspace`).
    pub fn builtin(policy: &Policy, workspace: &Path) -> ExampleLibrary {
        Self::load(LIBRARY, policy, workspace)
    }

    /// Loads a library from YAML text. A library that does not parse gives
    /// no examples (the loop works without them), and says so in the log.
    pub fn load(text: &str, policy: &Policy, workspace: &Path) -> ExampleLibrary {
        let doc: LibraryDoc = match serde_saphyr::from_str(text) {
            Ok(doc) => doc,
            Err(error) => {
                tracing::warn!(%error, "the worked-example library does not load");
                return ExampleLibrary::default();
            }
        };
        let mut library = ExampleLibrary::default();
        'examples: for example in doc.examples {
            let mut steps = Vec::with_capacity(example.steps.len());
            for step in &example.steps {
                let plan: ActionPlan = match serde_json::from_str(&step.answer) {
                    Ok(plan) => plan,
                    Err(error) => {
                        library.rejected.push(Rejected {
                            task: example.task.clone(),
                            why: format!("answer does not parse: {error}"),
                        });
                        continue 'examples;
                    }
                };
                if let Some(why) = plan
                    .actions
                    .iter()
                    .find_map(|a| refusal(policy, workspace, a))
                {
                    tracing::debug!(task = %example.task, %why, "worked example left out");
                    library.rejected.push(Rejected {
                        task: example.task.clone(),
                        why,
                    });
                    continue 'examples;
                }
                steps.push((plan, step.results.clone()));
            }
            let mut all = words(&example.task);
            all.extend(example.keywords.iter().flat_map(|k| words(k)));
            library.examples.push(Example {
                task: example.task,
                words: all,
                steps,
            });
        }
        library
    }

    /// The examples closest to `task` (most shared words first, library
    /// order on ties), at most `MAX_EXAMPLES_PER_TASK`; the first example
    /// when none shares a word.
    pub fn choose(&self, task: &str) -> Vec<&Example> {
        let wanted = words(task);
        let mut scored: Vec<(usize, usize, &Example)> = self
            .examples
            .iter()
            .enumerate()
            .map(|(i, e)| (e.words.intersection(&wanted).count(), i, e))
            .filter(|(score, _, _)| *score > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let chosen: Vec<&Example> = scored
            .into_iter()
            .take(MAX_EXAMPLES_PER_TASK)
            .map(|(_, _, e)| e)
            .collect();
        if chosen.is_empty() {
            self.examples.first().into_iter().collect()
        } else {
            chosen
        }
    }
}

/// The examples as text for the task message.
pub fn render_examples(examples: &[&Example]) -> String {
    let mut out = String::new();
    for example in examples {
        let _ = writeln!(out, "Example (another task, other files):");
        let _ = writeln!(out, "Task: {}", example.task);
        for (n, (plan, results)) in example.steps.iter().enumerate() {
            let answer = serde_json::to_string(plan).unwrap_or_default();
            let _ = writeln!(out, "You: {answer}");
            if let Some(results) = results {
                // Not "RESULTS of step N": that is how leash's real results
                // begin, and the example must never read as one.
                let _ = writeln!(out, "leash: RESULTS (step {}): [1] {results}", n + 1);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[path = "examples_tests.rs"]
mod tests;
