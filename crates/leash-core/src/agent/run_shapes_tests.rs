//! The typed shapes come from the policy's own grammars: real options only,
//! operands of the right kind, real workspace entries, bounded listings.

use std::path::Path;

use leash_llm::{ProgramShape, WordKind, WordsShape};
use leash_policy::{Policy, PolicySettings};

use super::*;

fn policy(ws: &Path, whitelist: Option<Vec<String>>) -> Policy {
    let mut settings = PolicySettings::new(ws.to_path_buf(), ws.join("home"));
    if let Some(list) = whitelist {
        settings.whitelist = list;
    }
    Policy::load(settings).unwrap()
}

fn shape<'a>(shapes: &'a leash_llm::CommandShapes, name: &str) -> &'a ProgramShape {
    shapes
        .programs
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not offered"))
}

fn spellings(words: &WordsShape) -> Vec<&str> {
    words.options.iter().map(|o| o.spelling.as_str()).collect()
}

#[test]
fn options_are_the_programs_own_and_operands_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    let names: Vec<String> = ["ls", "cat", "head", "env", "git", "grep", "find"]
        .map(String::from)
        .to_vec();
    let p = policy(&ws, Some(names.clone()));
    let shapes = command_shapes(&p, &names, vec![".".into()], vec![".".into()]);

    let ls = shape(&shapes, "ls");
    assert!(
        spellings(&ls.words).contains(&"-l"),
        "{:?}",
        spellings(&ls.words)
    );
    assert!(spellings(&ls.words).contains(&"--all"));
    assert!(!spellings(&ls.words).contains(&"--help"));
    assert_eq!(ls.words.rest, Some(WordKind::Existing));

    // The class of made-up options (`cat -l`): only cat's real ones.
    let cat = shape(&shapes, "cat");
    assert!(
        !spellings(&cat.words).contains(&"-l"),
        "{:?}",
        spellings(&cat.words)
    );
    assert!(spellings(&cat.words).contains(&"-n"));

    let head = shape(&shapes, "head");
    let lines = head
        .words
        .options
        .iter()
        .find(|o| o.spelling == "-n")
        .unwrap();
    // Its value is a word of the kind the policy gives it, never a path.
    assert!(
        matches!(lines.value, Some(WordKind::Number | WordKind::Text)),
        "{lines:?}"
    );

    // grep: the pattern first, then files that exist.
    let grep = shape(&shapes, "grep");
    assert_eq!(grep.words.leading, vec![WordKind::Text], "{:?}", grep.words);
    assert_eq!(grep.words.rest, Some(WordKind::Existing));

    // find: paths before the expression.
    assert!(shape(&shapes, "find").words.operands_first);

    // git: subcommands with their own options; options that run programs are left out.
    let git = shape(&shapes, "git");
    let log = git.subcommands.iter().find(|s| s.name == "log").unwrap();
    assert!(
        spellings(&log.words).contains(&"-n"),
        "{:?}",
        spellings(&log.words)
    );
    assert!(
        git.words
            .options
            .iter()
            .all(|o| o.spelling != "--exec-path" || o.value.is_none())
    );

    // Wrappers run other programs: the model runs the inner one directly.
    assert!(shapes.programs.iter().all(|p| p.name != "env"));
}

#[test]
fn whitelisted_subcommands_narrow_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    let whitelist: Vec<String> = ["git status", "git log"].map(String::from).to_vec();
    let p = policy(&ws, Some(whitelist));
    let shapes = command_shapes(&p, &["git".to_string()], vec![], vec![]);
    let mut subs: Vec<&str> = shape(&shapes, "git")
        .subcommands
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    subs.sort();
    assert_eq!(subs, ["log", "status"]);
}

#[test]
fn workspace_entries_are_real_bounded_and_skip_git_and_leash() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    std::fs::create_dir_all(ws.join("logs/old")).unwrap();
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    std::fs::create_dir_all(ws.join(".leash/trash")).unwrap();
    std::fs::write(ws.join("logs/app.log"), "x").unwrap();
    std::fs::write(ws.join("notes.txt"), "x").unwrap();
    std::os::unix::fs::symlink("/etc", ws.join("etc-link")).unwrap();
    let (entries, dirs) = workspace_entries(ws);
    assert_eq!(
        entries,
        [
            ".",
            "etc-link",
            "logs",
            "notes.txt",
            "logs/app.log",
            "logs/old"
        ]
    );
    assert_eq!(
        dirs,
        [".", "logs", "logs/old"],
        "a symlink is never followed"
    );

    let big = tempfile::tempdir().unwrap();
    for i in 0..(MAX_ENTRIES + 50) {
        std::fs::write(big.path().join(format!("f{i:04}")), "").unwrap();
    }
    let (entries, _) = workspace_entries(big.path());
    assert_eq!(entries.len(), MAX_ENTRIES);
}
