//! The worked-example library: checked against the policy at load, chosen
//! by similarity to the task.

use std::path::Path;

use leash_policy::{Policy, PolicySettings};

use super::*;

fn policy(ws: &Path, whitelist: Option<Vec<String>>) -> Policy {
    let mut settings = PolicySettings::new(ws.to_path_buf(), ws.join("home"));
    if let Some(list) = whitelist {
        settings.whitelist = list;
    }
    Policy::load(settings).unwrap()
}

#[test]
fn the_builtin_library_loads_under_the_default_policy() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    let library = ExampleLibrary::builtin(&policy(&ws, None), &ws);
    assert!(library.examples.len() >= 12, "{:?}", library.rejected);
    assert!(library.rejected.is_empty(), "{:?}", library.rejected);
}

#[test]
fn examples_the_policy_refuses_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    // Only `ls` may run: examples running df, wc, cat... are left out; the
    // file-action examples stay (they need no program on the whitelist).
    let library = ExampleLibrary::builtin(&policy(&ws, Some(vec!["ls".into()])), &ws);
    assert!(
        library.rejected.iter().any(|r| r.task.contains("disk")),
        "{:?}",
        library.rejected
    );
    assert!(
        library
            .examples
            .iter()
            .any(|e| e.task.contains("folder named"))
    );
    assert!(library.examples.iter().all(|e| !e.task.contains("disk")));
}

#[test]
fn a_library_with_a_denied_action_loses_that_example() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    let text = r#"
examples:
  - task: wipe the repository hooks
    steps:
      - answer: '{"actions": [{"write_file": {"path": ".git/hooks/pre-commit", "content": "x"}}], "done": true}'
  - task: make a folder
    steps:
      - answer: '{"actions": [{"mkdir": "photos"}], "done": true}'
"#;
    let library = ExampleLibrary::load(text, &policy(&ws, None), &ws);
    assert_eq!(library.examples.len(), 1);
    assert_eq!(library.rejected.len(), 1);
    assert!(
        library.rejected[0].why.contains("deny"),
        "{:?}",
        library.rejected
    );
}

#[rstest::rstest]
#[case::disk("how much disk space is left?", "disk")]
#[case::lines("count the lines in data.csv", "lines")]
#[case::move_("put the pdf files into the docs folder", "invoice")]
#[case::delete("remove the old backup", "remove")]
#[case::git("what changed in the latest commit?", "commit")]
#[case::nothing_shared("xyzzy", "what files")]
fn examples_are_chosen_by_similarity(#[case] task: &str, #[case] expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap();
    let library = ExampleLibrary::builtin(&policy(&ws, None), &ws);
    let chosen = library.choose(task);
    assert!(!chosen.is_empty() && chosen.len() <= MAX_EXAMPLES_PER_TASK);
    assert!(
        chosen[0].task.contains(expected),
        "{task}: {:?}",
        chosen.iter().map(|e| &e.task).collect::<Vec<_>>()
    );
    let text = render_examples(&chosen);
    assert!(
        text.starts_with("Example (another task, other files):\nTask: "),
        "{text}"
    );
}
