use super::*;
use rstest::rstest;

/// A workspace with these files (parents made) and folders.
fn workspace(files: &[(&str, &str)], dirs: &[&str]) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    for d in dirs {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    for (f, text) in files {
        let path = dir.path().join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let (entries, _) = leash_core::agent::workspace_entries(dir.path());
    (dir, entries)
}

fn labels(request: &str, files: &[&str], dirs: &[&str]) -> Vec<Vec<String>> {
    let files: Vec<(&str, &str)> = files.iter().map(|f| (*f, "x")).collect();
    let (ws, entries) = workspace(&files, dirs);
    plan(request, ws.path(), &entries)
        .unwrap_or_default()
        .into_iter()
        .map(|step| step.candidates.into_iter().map(|c| c.label).collect())
        .collect()
}

#[rstest]
#[case::rename("Rename draft.txt to final.txt.", &["draft.txt"], &[], "move draft.txt to final.txt")]
#[case::copy_called("Make a copy of settings.ini called settings.ini.bak.", &["settings.ini"], &[], "copy settings.ini to settings.ini.bak")]
#[case::move_into_folder("Move a.txt into docs/", &["a.txt"], &["docs"], "move a.txt to docs/a.txt")]
#[case::delete("Delete the file scratch.tmp.", &["scratch.tmp", "keep.txt"], &[], "delete scratch.tmp")]
#[case::make_folder("Make a folder called projects/2026.", &[], &[], "mkdir projects/2026")]
#[case::count_lines("How many lines does poem.txt have?", &["poem.txt"], &[], "wc -l poem.txt")]
#[case::read("What does the file motd.txt say?", &["motd.txt"], &[], "cat motd.txt")]
#[case::read_found_deeper("What does todo.txt say?", &["inbox/todo.txt"], &[], "cat inbox/todo.txt")]
#[case::list_named("List the files in the docs folder.", &["docs/a.md"], &[], "ls -1p docs")]
#[case::list_here("show the files in this folder", &["todo.txt"], &["inbox"], "ls -1p .")]
#[case::find("Where is the file called budget.xlsx?", &["docs/2026/budget.xlsx"], &[], "find . -name budget.xlsx")]
#[case::count_files("How many .txt files are in the notes folder?", &["notes/a.txt"], &[], "find notes -type f -name *.txt")]
#[case::size("How much disk space does the photos folder use?", &["photos/a.jpg"], &[], "du -sh photos")]
#[case::search("Which file mentions kiwi?", &["fruit/a.txt"], &[], "grep -r -l -F -e kiwi .")]
#[case::archive("Make a tar.gz archive of the reports folder, named reports.tar.gz.", &["reports/q1.txt"], &[], "tar -czf reports.tar.gz reports")]
#[case::write("Write a note in notes/todo.txt that says: buy milk.", &[], &["notes"], "write notes/todo.txt")]
fn a_chore_becomes_one_typed_action(
    #[case] request: &str,
    #[case] files: &[&str],
    #[case] dirs: &[&str],
    #[case] expected: &str,
) {
    let steps = labels(request, files, dirs);
    assert_eq!(steps, vec![vec![expected.to_owned()]], "{request}");
}

#[test]
fn make_a_folder_then_move_into_it_is_two_steps() {
    let steps = labels(
        "Create a folder called archive and move old-notes.txt into it.",
        &["old-notes.txt", "current.txt"],
        &[],
    );
    assert_eq!(
        steps,
        vec![
            vec!["mkdir archive".to_owned()],
            vec!["move old-notes.txt to archive/old-notes.txt".to_owned()]
        ]
    );
}

#[test]
fn of_two_identical_files_the_one_named_as_a_copy_is_the_duplicate() {
    let (ws, entries) = workspace(
        &[
            ("inbox/report.pdf", "PDF report"),
            ("inbox/report (1).pdf", "PDF report"),
        ],
        &[],
    );
    let steps = plan(
        "inbox/report (1).pdf is a duplicate of inbox/report.pdf. Delete the duplicate.",
        ws.path(),
        &entries,
    )
    .unwrap();
    let only: Vec<&str> = steps
        .iter()
        .flat_map(|s| s.candidates.iter().map(|c| c.label.as_str()))
        .collect();
    assert_eq!(only, ["delete inbox/report (1).pdf"]);
}

#[test]
fn files_that_differ_are_never_deleted_as_duplicates() {
    let (ws, entries) = workspace(&[("a.txt", "one"), ("a (1).txt", "two")], &[]);
    assert_eq!(
        plan(
            "a (1).txt is a duplicate of a.txt. Delete the duplicate.",
            ws.path(),
            &entries
        ),
        None
    );
}

#[rstest]
#[case::no_verb("Is it going to rain today?")]
#[case::rename_nothing_named("Rename it to something nicer.")]
#[case::delete_what_is_not_there("Delete ghost.txt.")]
#[case::read_a_missing_file("What does missing.txt say?")]
fn requests_that_name_nothing_valid_go_to_the_open_loop(#[case] request: &str) {
    assert_eq!(
        labels(request, &["keep.txt"], &[]),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn a_move_never_goes_into_itself_or_backwards() {
    let steps = labels("Move docs into docs/old", &[], &["docs/old"]);
    assert!(
        steps.iter().flatten().all(|l| !l.contains("docs to docs/")),
        "{steps:?}"
    );
}

#[test]
fn several_valid_targets_are_all_offered_for_the_model_to_pick() {
    let steps = labels("Delete a.tmp and b.tmp", &["a.tmp", "b.tmp"], &[]);
    assert_eq!(
        steps,
        vec![vec!["delete a.tmp".to_owned(), "delete b.tmp".to_owned()]]
    );
}
