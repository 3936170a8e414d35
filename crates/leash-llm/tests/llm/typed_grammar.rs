//! The typed grammar ([`ProgramChoice::Typed`]) checked with the GBNF oracle:
//! only offered programs, only each program's own options (per subcommand),
//! values of the option's kind, paths that must exist from the real entries,
//! `cwd` only existing directories, bounded argv. Everything it accepts parses.

use leash_llm::{
    CommandShapes, MAX_OPERANDS, MAX_OPTIONS_PER_LEVEL, OptionShape, ProgramChoice, ProgramShape,
    SubcommandShape, WordKind, WordsShape, actions_gbnf, parse_response,
};
use rstest::rstest;

use crate::gbnf::Grammar;

fn option(spelling: &str, value: Option<WordKind>) -> OptionShape {
    OptionShape {
        spelling: spelling.into(),
        value,
    }
}

fn shapes() -> CommandShapes {
    let read = |options: Vec<OptionShape>| WordsShape {
        options,
        rest: Some(WordKind::Existing),
        max_operands: 100,
        ..WordsShape::default()
    };
    CommandShapes {
        programs: vec![
            ProgramShape {
                name: "ls".into(),
                words: read(vec![
                    option("-l", None),
                    option("-a", None),
                    option("--all", None),
                ]),
                subcommands: vec![],
            },
            ProgramShape {
                name: "cat".into(),
                words: read(vec![option("-n", None)]),
                subcommands: vec![],
            },
            ProgramShape {
                name: "tail".into(),
                words: read(vec![option("-n", Some(WordKind::Number))]),
                subcommands: vec![],
            },
            ProgramShape {
                name: "grep".into(),
                words: WordsShape {
                    leading: vec![WordKind::Text],
                    ..read(vec![option("-n", None), option("-i", None)])
                },
                subcommands: vec![],
            },
            ProgramShape {
                name: "cp".into(),
                words: WordsShape {
                    last: Some(WordKind::NewPath),
                    ..read(vec![])
                },
                subcommands: vec![],
            },
            ProgramShape {
                name: "find".into(),
                words: WordsShape {
                    operands_first: true,
                    ..read(vec![option("-name", Some(WordKind::Text))])
                },
                subcommands: vec![],
            },
            ProgramShape {
                name: "git".into(),
                words: WordsShape {
                    options: vec![option("-C", Some(WordKind::Directory))],
                    ..WordsShape::default()
                },
                subcommands: vec![SubcommandShape {
                    name: "log".into(),
                    words: WordsShape {
                        options: vec![
                            option("-n", Some(WordKind::Number)),
                            option("--oneline", None),
                        ],
                        ..WordsShape::default()
                    },
                }],
            },
            ProgramShape {
                name: "date".into(),
                words: WordsShape::default(),
                subcommands: vec![],
            },
        ],
        existing: vec![
            ".".into(),
            "logs".into(),
            "notes.txt".into(),
            "logs/app.log".into(),
        ],
        directories: vec![".".into(), "logs".into()],
        // The names the person used in the task.
        named: vec![
            "notes.bak".into(),
            "n.txt".into(),
            "b".into(),
            "new".into(),
            "archive".into(),
            "reports/summary.txt".into(),
        ],
        read_only: false,
        actions_required: false,
    }
}

fn doc(action: &str) -> String {
    format!(r#"{{"actions": [{action}], "done": false}}"#)
}

#[rstest]
#[case::bare_program(r#"{"run": ["date"]}"#, true)]
#[case::real_options_and_entries(r#"{"run": ["ls", "-l", "-a", "logs"]}"#, true)]
#[case::option_value_of_its_kind(r#"{"run": ["tail", "-n", "20", "logs/app.log"]}"#, true)]
#[case::pattern_then_files(
    r#"{"run": ["grep", "-i", "error", "logs/app.log", "notes.txt"]}"#,
    true
)]
#[case::copy_to_a_new_name(r#"{"run": ["cp", "notes.txt", "notes.bak"]}"#, true)]
#[case::find_paths_first(r#"{"run": ["find", ".", "-name", "*.log"]}"#, true)]
#[case::subcommand_options(
    r#"{"run": ["git", "-C", "logs", "log", "-n", "3", "--oneline"]}"#,
    true
)]
#[case::cwd_existing_dir(r#"{"run": ["ls"], "cwd": "logs"}"#, true)]
#[case::file_actions_on_real_sources(r#"{"move": {"from": "notes.txt", "to": "logs/n.txt"}}, {"copy": {"from": "logs", "to": "b"}}, {"delete": "logs/app.log"}, {"mkdir": "new"}"#, true)]
#[case::named_new_paths(r#"{"write_file": {"path": "reports/summary.txt", "content": "x"}}, {"mkdir": "archive"}, {"move": {"from": "notes.txt", "to": "archive"}}"#, true)]
#[case::existing_base_under_a_named_dir(
    r#"{"move": {"from": "notes.txt", "to": "archive/notes.txt"}}"#,
    true
)]
#[case::named_base_under_an_existing_dir(
    r#"{"write_file": {"path": "logs/n.txt", "content": ""}}"#,
    true
)]
#[case::overwrite_a_named_file(
    r#"{"write_file": {"path": "reports/summary.txt", "content": "x"}}"#,
    true
)]
#[case::overwrite_a_file_nobody_named(
    r#"{"write_file": {"path": "notes.txt", "content": "x"}}"#,
    false
)]
#[case::copy_over_a_file_nobody_named(r#"{"run": ["cp", "logs/app.log", "notes.txt"]}"#, false)]
// --- made-up new paths (stray files a small model invents) ----------------------
#[case::made_up_written_file(r#"{"write_file": {"path": "file.txt", "content": "x"}}"#, false)]
#[case::command_text_as_a_file_name(r#"{"write_file": {"path": "ls -la", "content": "x"}}"#, false)]
#[case::made_up_directory(r#"{"mkdir": "photos"}"#, false)]
#[case::made_up_move_target(r#"{"move": {"from": "notes.txt", "to": "old"}}"#, false)]
#[case::made_up_copy_target(r#"{"copy": {"from": "notes.txt", "to": "copy"}}"#, false)]
#[case::made_up_command_destination(r#"{"run": ["cp", "notes.txt", "filename"]}"#, false)]
#[case::named_base_under_a_made_up_dir(
    r#"{"write_file": {"path": "tmp/n.txt", "content": ""}}"#,
    false
)]
#[case::directory_under_a_directory(r#"{"mkdir": "logs/logs"}"#, false)]
#[case::named_file_used_as_a_dir(
    r#"{"write_file": {"path": "n.txt/notes.txt", "content": ""}}"#,
    false
)]
// --- the classes the issue saw from a 135M model -------------------------------
#[case::made_up_option(r#"{"run": ["cat", "-l", "notes.txt"]}"#, false)]
#[case::option_of_another_program(r#"{"run": ["ls", "-n"]}"#, false)]
#[case::file_that_does_not_exist(r#"{"run": ["cat", "log.txt"]}"#, false)]
#[case::made_up_cwd(r#"{"run": ["ls"], "cwd": "true"}"#, false)]
#[case::nested_made_up_cwd(r#"{"run": ["ls"], "cwd": "logs/logs"}"#, false)]
#[case::program_repeated_as_argument(r#"{"run": ["git", "git", "git-push"]}"#, false)]
#[case::unknown_subcommand(r#"{"run": ["git", "push"]}"#, false)]
#[case::option_of_the_wrong_level(r#"{"run": ["git", "--oneline", "log"]}"#, false)]
#[case::number_value_not_a_number(r#"{"run": ["tail", "-n", "many", "logs/app.log"]}"#, false)]
#[case::missing_source_for_move(r#"{"move": {"from": "draft.md", "to": "docs"}}"#, false)]
#[case::missing_delete(r#"{"delete": "old.log"}"#, false)]
#[case::copy_needs_two_operands(r#"{"run": ["cp", "notes.txt"]}"#, false)]
#[case::operand_that_looks_like_an_option(r#"{"run": ["cp", "notes.txt", "-rf"]}"#, false)]
#[case::program_not_offered(r#"{"run": ["rm", "notes.txt"]}"#, false)]
fn typed_grammar_admits_only_real_shapes(#[case] action: &str, #[case] accepted: bool) {
    let shapes = shapes();
    let grammar = Grammar::parse(&actions_gbnf(false, ProgramChoice::Typed(&shapes)));
    let text = doc(action);
    assert_eq!(grammar.accepts(&text), accepted, "{text}");
    if accepted {
        assert!(parse_response(&text, None).is_ok(), "{text}");
    }
}

/// A question ("what does notes.txt say?") gets commands and notify only.
#[rstest]
#[case::write(r#"{"write_file": {"path": "notes.txt", "content": "x"}}"#, false)]
#[case::delete(r#"{"delete": "notes.txt"}"#, false)]
#[case::mkdir(r#"{"mkdir": "new"}"#, false)]
#[case::moving(r#"{"move": {"from": "notes.txt", "to": "b"}}"#, false)]
#[case::read(r#"{"run": ["cat", "notes.txt"]}"#, true)]
#[case::tell(r#"{"notify": "it says hi"}"#, true)]
fn a_read_only_task_offers_no_file_action(#[case] action: &str, #[case] accepted: bool) {
    let shapes = CommandShapes {
        read_only: true,
        ..shapes()
    };
    let grammar = Grammar::parse(&actions_gbnf(false, ProgramChoice::Typed(&shapes)));
    let text = doc(action);
    assert_eq!(grammar.accepts(&text), accepted, "{text}");
}

#[test]
fn options_and_operands_are_bounded() {
    let shapes = shapes();
    let grammar = Grammar::parse(&actions_gbnf(false, ProgramChoice::Typed(&shapes)));
    let options = |n: usize| {
        let words: Vec<String> = std::iter::repeat_n("\"-l\"".to_string(), n).collect();
        doc(&format!(r#"{{"run": ["ls", {}]}}"#, words.join(", ")))
    };
    assert!(grammar.accepts(&options(MAX_OPTIONS_PER_LEVEL - 1)));
    assert!(
        !grammar.accepts(&options(MAX_OPTIONS_PER_LEVEL.min(3) + 1)),
        "ls has 3 options: at most 3"
    );
    let operands = |n: usize| {
        let words: Vec<String> = std::iter::repeat_n("\"notes.txt\"".to_string(), n).collect();
        doc(&format!(r#"{{"run": ["cat", {}]}}"#, words.join(", ")))
    };
    assert!(grammar.accepts(&operands(MAX_OPERANDS)));
    assert!(!grammar.accepts(&operands(MAX_OPERANDS + 1)));
}
