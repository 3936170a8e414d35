//! A skill's inputs for one request: the values of its `{placeholders}`, the
//! folders a sort may use, the files its answer goes to, and the steps a
//! decision carries out — from what the person's request names, else the
//! skill's defaults. A skill whose inputs cannot be found does not apply
//! (the job goes to the open agent loop instead).

use std::collections::BTreeMap;
use std::path::Path;

use leash_llm::{Action, Transfer};

use crate::definition::{Kind, Skill};
use crate::mentions::{Existing, Mentions};

/// What one run of a skill works on.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Inputs {
    /// `{name}` → value.
    pub values: BTreeMap<String, String>,
    /// Existing files the request names (`each: mentioned_files`).
    pub files: Vec<String>,
    /// `sort`: the folders a file may go to (besides `leave`).
    pub folders: Vec<String>,
    /// `sort`: the request asks for every file to move ("everything",
    /// "all files"), so a file no folder fits by kind or name still goes.
    pub everything: bool,
    /// `review`: the file the review is written to; `status`: the file an
    /// alert is written to.
    pub output: Option<String>,
    /// `status`: a file the status is always written to.
    pub status_file: Option<String>,
    /// `review`: the request asks to save the diff itself, not a review of
    /// it ("save the diff of the last commit to last.diff").
    pub save_as_is: bool,
    /// `decide`: what a go carries out, in order.
    #[serde(skip)]
    pub steps: Vec<Action>,
}

/// Words before a new path that make it a folder a sort puts files into.
const TARGET_WORDS: [&str; 5] = ["into", "to", "and", "in", "onto"];

/// Words before a path that make it the folder a sort takes files from.
const SOURCE_WORDS: [&str; 4] = ["in", "from", "of", "inbox"];

/// Finds `skill`'s inputs for `request` in `workspace`. `split` turns a
/// command in backticks into an argv (the policy's shell parser; `None` for
/// anything but one simple command). `Err` says why the skill does not apply.
pub fn resolve(
    skill: &Skill,
    request: &str,
    workspace: &Path,
    split: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Result<Inputs, String> {
    let mentions = Mentions::read(request, workspace);
    let mut inputs = Inputs {
        values: skill.inputs.clone(),
        files: mentions.files().map(str::to_owned).collect(),
        ..Inputs::default()
    };
    // Files the request names that look like outputs: new, with an extension.
    let new_files: Vec<&str> = mentions
        .new_paths()
        .filter(|p| p.rsplit('/').next().is_some_and(|name| name.contains('.')))
        .collect();
    match skill.kind {
        Kind::Sort => {
            let source = mentions
                .paths
                .iter()
                .filter(|m| m.what == Existing::Dir)
                .find(|m| SOURCE_WORDS.contains(&m.after.as_str()))
                .or_else(|| mentions.paths.iter().find(|m| m.what == Existing::Dir))
                .map(|m| m.path.clone())
                .or_else(|| inputs.values.get("source").cloned())
                .filter(|source| workspace.join(source).is_dir())
                .ok_or("the request names no folder to sort")?;
            // Targets: folders the request names, outside the source; a
            // folder that does not exist yet only when the request says to
            // put files into it ("into music/").
            let inside_source = format!("{source}/");
            inputs.folders = mentions
                .paths
                .iter()
                .filter(|m| m.path != source && !m.path.starts_with(&inside_source))
                .filter(|m| match m.what {
                    Existing::Dir => true,
                    Existing::File => false,
                    Existing::New => {
                        !m.path.contains('.') && TARGET_WORDS.contains(&m.after.as_str())
                    }
                })
                .map(|m| m.path.clone())
                .collect();
            if inputs.folders.is_empty() {
                inputs.folders = top_level_dirs(workspace, &source, &inputs.files);
            }
            if inputs.folders.is_empty() {
                return Err(format!("no folder to sort {source} into"));
            }
            inputs.values.insert("source".to_owned(), source);
            inputs.everything = asks_for_every_file(request);
        }
        Kind::Review => {
            // The repository: a folder the request names that is one, else
            // the workspace itself.
            let repo = mentions
                .dirs()
                .find(|dir| workspace.join(dir).join(".git").exists())
                .map(str::to_owned)
                .or_else(|| workspace.join(".git").exists().then(|| ".".to_owned()))
                .ok_or(
                    "neither the workspace nor a folder the request names is a git repository",
                )?;
            inputs.values.insert("repo".to_owned(), repo);
            let commit = request
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
                .find(|w| w.len() >= 7 && w.len() <= 40 && w.chars().all(|c| c.is_ascii_hexdigit()))
                .map(str::to_owned);
            if let Some(commit) = commit {
                inputs.values.insert("commit".to_owned(), commit);
            }
            inputs.output = new_files.first().map(|p| (*p).to_owned());
            inputs.save_as_is = asks_for_the_diff_itself(request);
        }
        Kind::Status => {
            let log = mentions
                .files()
                .next()
                .map(str::to_owned)
                .or_else(|| mentions.dirs().find_map(|dir| first_file(workspace, dir)));
            if let Some(log) = log {
                inputs.values.insert("log".to_owned(), log);
            }
            let lower = request.to_lowercase();
            let about_machine = ["disk", "memory", "space", "ram", "log", "error", "alert"]
                .iter()
                .any(|word| lower.contains(word));
            if !inputs.values.contains_key("log") && !about_machine {
                return Err(
                    "the request names no log and asks nothing about the machine".to_owned(),
                );
            }
            for path in new_files {
                let name = path.rsplit('/').next().unwrap_or(path);
                if name.contains("status") {
                    inputs.status_file.get_or_insert_with(|| path.to_owned());
                } else {
                    inputs.output.get_or_insert_with(|| path.to_owned());
                }
            }
        }
        Kind::Decide => {
            for argv in &skill.steps {
                inputs.steps.push(Action::Run {
                    argv: argv.clone(),
                    cwd: None,
                });
            }
            for command in &mentions.commands {
                if let Some(argv) = split(command) {
                    inputs.steps.push(Action::Run { argv, cwd: None });
                }
            }
            for (from, to) in &mentions.transfers {
                inputs.steps.extend(copy_steps(workspace, from, to));
            }
            for (from, to) in value_copies(&mentions, workspace) {
                if let Some((parent, _)) = to.rsplit_once('/')
                    && !workspace.join(parent).is_dir()
                {
                    inputs.steps.push(Action::Mkdir(parent.into()));
                }
                inputs.steps.push(Action::Copy(Transfer {
                    from: from.into(),
                    to: to.into(),
                }));
            }
            let lower = request.to_lowercase();
            let about_deploy = ["deploy", "release", "publish", "ship"]
                .iter()
                .any(|word| lower.contains(word));
            if inputs.steps.is_empty() && !about_deploy {
                return Err("the request names nothing to deploy".to_owned());
            }
        }
    }
    Ok(inputs)
}

/// The actions that copy `from` to `to`: into `to` when it is (or is named
/// as) a folder, creating it first when it is missing.
fn copy_steps(workspace: &Path, from: &str, to: &str) -> Vec<Action> {
    let name = from.rsplit('/').next().unwrap_or(from);
    let to_is_file = to.rsplit('/').next().is_some_and(|n| n.contains('.'));
    let (dir, target) = if to_is_file && !workspace.join(to).is_dir() {
        let parent = to.rsplit_once('/').map(|(parent, _)| parent.to_owned());
        (parent, to.to_owned())
    } else {
        (Some(to.to_owned()), format!("{to}/{name}"))
    };
    let mut steps = Vec::new();
    if let Some(dir) = dir.filter(|dir| !workspace.join(dir).is_dir()) {
        steps.push(Action::Mkdir(dir.into()));
    }
    steps.push(Action::Copy(Transfer {
        from: from.into(),
        to: target.into(),
    }));
    steps
}

/// The workspace's top-level folders a sort may use when the request names
/// none: not hidden, not the source, not one holding a file the request
/// names (such as the trigger file).
fn top_level_dirs(workspace: &Path, source: &str, named_files: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(workspace) else {
        return Vec::new();
    };
    let mut dirs: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && name != source)
        .filter(|name| {
            !named_files
                .iter()
                .any(|f| f.starts_with(&format!("{name}/")))
        })
        .collect();
    dirs.sort();
    dirs
}

/// The first regular file (by name) in `dir`, for "check the logs/".
fn first_file(workspace: &Path, dir: &str) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace.join(dir))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.first().map(|name| format!("{dir}/{name}"))
}

/// Does the request ask for every file to move ("sort everything", "all
/// the files")? Not when the words stand for what stays ("Leave everything
/// else where it is", "keep all files except…"): a sort that reads those as
/// "move everything" puts a holiday photo among the invoices.
pub fn asks_for_every_file(request: &str) -> bool {
    const EVERY: [&str; 4] = ["everything", "all files", "all the files", "every file"];
    const STAYS: [&str; 7] = ["leave", "keep", "don't", "do not", "except", "else", "stay"];
    request
        .to_lowercase()
        .split(['.', ';', '!', '?', '\n'])
        .any(|sentence| {
            EVERY.iter().any(|words| sentence.contains(words))
                && !STAYS.iter().any(|word| sentence.contains(word))
        })
}

/// Largest file whose whole content is "a value" (a version, a tag).
const VALUE_BYTES: u64 = 256;

/// "write releases/LATEST with the version from build/VERSION": `(from,
/// to)` when the file named after "from"/"in"/"of" is a one-line value
/// file, so writing its value is copying it — judged by the policy as a copy
/// (read one, write the other), with no content read by leash itself.
fn value_copies(mentions: &Mentions, workspace: &Path) -> Vec<(String, String)> {
    const WRITES: [&str; 5] = ["write", "record", "save", "put", "store"];
    const SOURCES: [&str; 3] = ["from", "in", "of"];
    let mut pairs = Vec::new();
    for (i, to) in mentions.paths.iter().enumerate() {
        if !WRITES.contains(&to.after.as_str()) || to.what == Existing::Dir {
            continue;
        }
        let Some(from) = mentions.paths.get(i + 1) else {
            continue;
        };
        let one_line_value = std::fs::metadata(workspace.join(&from.path))
            .is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() <= VALUE_BYTES)
            && std::fs::read_to_string(workspace.join(&from.path))
                .is_ok_and(|text| text.trim_end().lines().count() == 1);
        if SOURCES.contains(&from.after.as_str()) && from.what == Existing::File && one_line_value {
            pairs.push((from.path.clone(), to.path.clone()));
        }
    }
    pairs
}

/// Does a review request ask to save the diff (or patch) itself rather
/// than a review of it? It says a saving verb and "diff"/"patch", and not
/// "review".
pub fn asks_for_the_diff_itself(request: &str) -> bool {
    let words: Vec<String> = request
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_owned)
        .collect();
    let has = |starts: &[&str]| {
        words
            .iter()
            .any(|w| starts.iter().any(|s| w.starts_with(s)))
    };
    has(&["save", "writ", "store", "export", "dump", "put", "copy"])
        && has(&["diff", "patch"])
        && !has(&["review", "summar", "verdict", "opinion"])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::catalog::SkillSet;

    #[rstest::rstest]
    #[case::sort_everything("Sort everything in downloads/ into a/ and b/.", true)]
    #[case::all_the_files("Move all the files from inbox/ into docs/.", true)]
    #[case::leave_everything_else(
        "Move the invoices from inbox/ into invoices/. Leave everything else where it is.",
        false
    )]
    #[case::keep_all_files_except(
        "Keep all files except the photos in inbox/; move photos to pics/.",
        false
    )]
    #[case::only_some("Move the invoices into invoices/.", false)]
    fn every_file_only_when_the_request_moves_every_file(
        #[case] request: &str,
        #[case] every: bool,
    ) {
        assert_eq!(asks_for_every_file(request), every, "{request}");
    }

    #[test]
    fn writing_a_value_from_a_one_line_file_is_a_copy_of_it() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("build")).unwrap();
        std::fs::create_dir_all(ws.path().join("releases")).unwrap();
        std::fs::write(ws.path().join("build/VERSION"), "1.4.2\n").unwrap();
        std::fs::write(ws.path().join("build/NOTES"), "line one\nline two\n").unwrap();
        let request = "write releases/LATEST with the version number from build/VERSION";
        let mentions = Mentions::read(request, ws.path());
        assert_eq!(
            value_copies(&mentions, ws.path()),
            [("build/VERSION".to_owned(), "releases/LATEST".to_owned())]
        );
        // A file of several lines is not one value: nothing is derived.
        let request = "write releases/LATEST with the version from build/NOTES";
        let mentions = Mentions::read(request, ws.path());
        assert!(value_copies(&mentions, ws.path()).is_empty());
    }

    #[rstest::rstest]
    #[case::save_the_diff("Save the diff of the last commit to last.diff.", true)]
    #[case::write_the_patch("Write the patch of HEAD into fix.patch", true)]
    #[case::review_to_file("Review the last commit and write the review to review.md.", false)]
    #[case::review_the_diff("Review the diff and save your verdict to v.md", false)]
    fn the_diff_itself_only_when_asked_for_without_a_review(
        #[case] request: &str,
        #[case] raw: bool,
    ) {
        assert_eq!(asks_for_the_diff_itself(request), raw, "{request}");
    }

    fn no_split(_: &str) -> Option<Vec<String>> {
        None
    }

    #[test]
    fn sort_takes_the_folder_after_in_as_source_and_the_others_as_targets() {
        let ws = tempfile::tempdir().unwrap();
        for d in ["inbox", "images"] {
            std::fs::create_dir(ws.path().join(d)).unwrap();
        }
        let set = SkillSet::builtin().unwrap();
        let inputs = resolve(
            set.get("organize").unwrap(),
            "Sort the files in inbox/ into images/ and documents/.",
            ws.path(),
            &no_split,
        )
        .unwrap();
        assert_eq!(inputs.values["source"], "inbox");
        assert_eq!(inputs.folders, ["images", "documents"]);
    }

    #[test]
    fn sort_without_a_folder_to_sort_does_not_apply() {
        let ws = tempfile::tempdir().unwrap();
        let set = SkillSet::builtin().unwrap();
        let err = resolve(
            set.get("organize").unwrap(),
            "Rename draft.txt to final.txt.",
            ws.path(),
            &no_split,
        )
        .unwrap_err();
        assert!(err.contains("no folder"), "{err}");
    }

    #[test]
    fn review_outside_a_repository_does_not_apply() {
        let ws = tempfile::tempdir().unwrap();
        let set = SkillSet::builtin().unwrap();
        assert!(
            resolve(
                set.get("review").unwrap(),
                "Review it.",
                ws.path(),
                &no_split
            )
            .is_err()
        );
    }

    #[test]
    fn status_files_and_alert_files_are_told_apart_by_name() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("logs")).unwrap();
        std::fs::write(ws.path().join("logs/app.log"), "x").unwrap();
        let set = SkillSet::builtin().unwrap();
        let monitor = set.get("monitor").unwrap();
        let a = resolve(
            monitor,
            "Check logs/app.log; write alerts/alert.txt.",
            ws.path(),
            &no_split,
        )
        .unwrap();
        assert_eq!(a.values["log"], "logs/app.log");
        assert_eq!(a.output.as_deref(), Some("alerts/alert.txt"));
        let s = resolve(
            monitor,
            "Check logs/ and write status.txt.",
            ws.path(),
            &no_split,
        )
        .unwrap();
        assert_eq!(s.values["log"], "logs/app.log");
        assert_eq!(s.status_file.as_deref(), Some("status.txt"));
    }

    #[test]
    fn decide_copies_into_a_missing_folder_after_making_it() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join("build")).unwrap();
        std::fs::write(ws.path().join("build/index.html"), "x").unwrap();
        let set = SkillSet::builtin().unwrap();
        let split = |s: &str| Some(s.split(' ').map(str::to_owned).collect());
        let inputs = resolve(
            set.get("deploy").unwrap(),
            "Deploy build/index.html into deploy/ and run `make deploy`.",
            ws.path(),
            &split,
        )
        .unwrap();
        assert_eq!(
            inputs.steps,
            [
                Action::Run {
                    argv: vec!["make".into(), "deploy".into()],
                    cwd: None
                },
                Action::Mkdir("deploy".into()),
                Action::Copy(Transfer {
                    from: "build/index.html".into(),
                    to: "deploy/index.html".into()
                }),
            ]
        );
    }
}
