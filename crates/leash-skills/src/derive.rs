//! The actions leash derives from a skill's answer. They are ordinary
//! actions: each goes through policy → mode gate → approval → sandbox →
//! audit like one the model proposed in the open loop.

use std::path::PathBuf;

use leash_llm::{Action, FileWrite, Transfer};

use crate::definition::{Kind, Skill};
use crate::inputs::Inputs;
use crate::shape::Answer;

/// The option that keeps a file where it is.
pub const LEAVE: &str = "leave";

/// What the person is told, in one line.
pub fn message(skill: &Skill, answer: &Answer, findings: &[&str]) -> String {
    match answer {
        Answer::Placed(placed) => {
            let moved: Vec<String> = placed
                .iter()
                .filter(|(_, folder)| folder != LEAVE)
                .map(|(item, folder)| format!("{item} → {folder}"))
                .collect();
            if moved.is_empty() {
                format!("{}: nothing to move", skill.name)
            } else {
                format!("{}: {}", skill.name, moved.join(", "))
            }
        }
        Answer::Verdict { verdict, reason } if findings.is_empty() => {
            format!("{}: {verdict}: {reason}", skill.name)
        }
        Answer::Verdict { verdict, reason } => {
            format!(
                "{}: {verdict}: {}. {reason}",
                skill.name,
                findings.join("; ")
            )
        }
    }
}

/// The actions for `answer`. `context` is the gathered text (a review file
/// quotes the commit summary it reviewed).
pub fn actions(
    skill: &Skill,
    inputs: &Inputs,
    answer: &Answer,
    context: &str,
    findings: &[&str],
) -> Vec<Action> {
    let mut actions = Vec::new();
    match (skill.kind, answer) {
        (Kind::Sort, Answer::Placed(placed)) => {
            let source = inputs.values.get("source").cloned().unwrap_or_default();
            let mut made: Vec<&str> = Vec::new();
            for (item, folder) in placed {
                if folder == LEAVE {
                    continue;
                }
                if !made.contains(&folder.as_str()) {
                    actions.push(Action::Mkdir(PathBuf::from(folder)));
                    made.push(folder);
                }
                actions.push(Action::Move(Transfer {
                    from: PathBuf::from(&source).join(item),
                    to: PathBuf::from(folder).join(item),
                }));
            }
        }
        (Kind::Review, Answer::Verdict { verdict, reason }) => {
            if let (Some(path), true) = (&inputs.output, inputs.save_as_is) {
                // `context` is then the diff itself (see `run_skill`).
                actions.extend(parent_dir(path));
                actions.push(Action::WriteFile(FileWrite {
                    path: path.into(),
                    content: context.to_owned(),
                }));
            } else if let Some(path) = &inputs.output {
                actions.extend(parent_dir(path));
                actions.push(Action::WriteFile(FileWrite {
                    path: path.into(),
                    content: format!(
                        "# Review\n\nVerdict: {verdict}\n\n{reason}\n\n## Reviewed\n\n```\n{}\n```\n",
                        context.trim()
                    ),
                }));
            }
        }
        (Kind::Status, Answer::Verdict { verdict, reason }) => {
            let all_clear = skill.verdicts.first() == Some(verdict);
            if let Some(path) = &inputs.status_file {
                actions.extend(parent_dir(path));
                actions.push(Action::WriteFile(FileWrite {
                    path: path.into(),
                    content: format!("{verdict}: {reason}\n"),
                }));
            }
            if let (false, Some(path)) = (all_clear, &inputs.output) {
                actions.extend(parent_dir(path));
                let mut content = verdict.to_uppercase();
                for finding in findings {
                    content.push_str(&format!(": {finding}"));
                }
                actions.push(Action::WriteFile(FileWrite {
                    path: path.into(),
                    content: format!("{content}: {reason}\n"),
                }));
            }
        }
        (Kind::Decide, Answer::Verdict { verdict, .. }) => {
            if skill.verdicts.first() == Some(verdict) {
                actions.extend(inputs.steps.iter().cloned());
            }
        }
        // An answer of the other shape cannot happen (the question is built
        // from the kind); acting on nothing is the safe reading.
        (Kind::Sort, Answer::Verdict { .. })
        | (Kind::Review | Kind::Status | Kind::Decide, Answer::Placed(_)) => {}
    }
    actions.push(Action::Notify(message(skill, answer, findings)));
    actions
}

/// `mkdir` for a file's parent folder when it has one.
fn parent_dir(path: &str) -> Option<Action> {
    path.rsplit_once('/')
        .map(|(parent, _)| Action::Mkdir(PathBuf::from(parent)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::catalog::SkillSet;

    #[test]
    fn a_sort_moves_placed_files_and_leaves_the_rest() {
        let set = SkillSet::builtin().unwrap();
        let mut inputs = Inputs::default();
        inputs.values.insert("source".into(), "inbox".into());
        let answer = Answer::Placed(vec![
            ("a.jpg".into(), "images".into()),
            ("b.bin".into(), LEAVE.into()),
            ("c.png".into(), "images".into()),
        ]);
        let actions = actions(set.get("organize").unwrap(), &inputs, &answer, "", &[]);
        assert_eq!(
            actions[..3],
            [
                Action::Mkdir("images".into()),
                Action::Move(Transfer {
                    from: "inbox/a.jpg".into(),
                    to: "images/a.jpg".into()
                }),
                Action::Move(Transfer {
                    from: "inbox/c.png".into(),
                    to: "images/c.png".into()
                }),
            ]
        );
        assert!(matches!(&actions[3], Action::Notify(text) if text.contains("a.jpg → images")));
    }

    #[test]
    fn a_hold_carries_out_no_step() {
        let set = SkillSet::builtin().unwrap();
        let inputs = Inputs {
            steps: vec![Action::Run {
                argv: vec!["make".into(), "deploy".into()],
                cwd: None,
            }],
            ..Inputs::default()
        };
        let hold = Answer::Verdict {
            verdict: "hold".into(),
            reason: "tests failed".into(),
        };
        let deploy = set.get("deploy").unwrap();
        assert_eq!(actions(deploy, &inputs, &hold, "", &[]).len(), 1);
        let go = Answer::Verdict {
            verdict: "go".into(),
            reason: "tests passed".into(),
        };
        assert_eq!(actions(deploy, &inputs, &go, "", &[]).len(), 2);
    }

    #[test]
    fn ok_writes_no_alert_but_always_the_status() {
        let set = SkillSet::builtin().unwrap();
        let inputs = Inputs {
            output: Some("alerts/alert.txt".into()),
            status_file: Some("status.txt".into()),
            ..Inputs::default()
        };
        let ok = Answer::Verdict {
            verdict: "ok".into(),
            reason: "no errors".into(),
        };
        let writes: Vec<_> = actions(set.get("monitor").unwrap(), &inputs, &ok, "", &[])
            .into_iter()
            .filter_map(|a| match a {
                Action::WriteFile(w) => Some(w.path),
                _ => None,
            })
            .collect();
        assert_eq!(writes, [PathBuf::from("status.txt")]);
    }
}
