//! The grammar, the JSON schema and the parser come from one definition;
//! these tests check they agree. The invariants:
//! - everything the grammar accepts, the parser accepts (a grammar-constrained
//!   model always produces a usable answer);
//! - everything the schema accepts, the parser accepts;
//! - the invalid documents are refused by all three.
//!
//! The grammar and the schema are stricter than the parser in documented ways
//! (fixed key order and bounded whitespace; strict mode's required-but-nullable
//! keys), which the "subset" cases pin.

use leash_llm::{
    Action, ActionKind, ActionPlan, FileWrite, MAX_ACTIONS_PER_ANSWER, MAX_ACTIONS_PER_PLAN,
    MAX_ARGV_ITEM_CHARS, MAX_ARGV_ITEMS, ProgramChoice, StringRole, Transfer, actions_gbnf,
    actions_json_schema, parse_response,
};
use proptest::prelude::*;
use rstest::rstest;
use serde_json::Value;

use crate::gbnf::Grammar;
use crate::schema_check;

fn grammar(allow_think: bool) -> Grammar {
    Grammar::parse(&actions_gbnf(allow_think, ProgramChoice::Any))
}

fn schema_accepts(doc: &str) -> bool {
    match serde_json::from_str::<Value>(doc) {
        Ok(value) => schema_check::valid(&actions_json_schema(ProgramChoice::Any), &value),
        Err(_) => false,
    }
}

#[rstest]
// --- valid for all three -------------------------------------------------
#[case::minimal_done(r#"{"thought": "t", "actions": [], "done": true}"#, true, true, true)]
#[case::thought_null(r#"{"thought": null, "actions": [], "done": true}"#, false, true, true)]
#[case::run_with_cwd_sibling(
    r#"{"thought": "look", "actions": [{"run": ["ls", "-la"], "cwd": "src"}], "done": false}"#,
    true,
    true,
    true
)]
#[case::run_cwd_null(
    r#"{"thought": "t", "actions": [{"run": ["ls"], "cwd": null}], "done": false}"#,
    false,
    true,
    true
)]
#[case::write_file(
    r#"{"thought": "", "actions": [{"write_file": {"path": "a.txt", "content": "x\n\t\"q\" \u00e9 ✓"}}], "done": false}"#,
    true, true, true
)]
#[case::move_copy_mkdir_delete_notify(
    r#"{"thought": "t", "actions": [{"move": {"from": "a", "to": "b"}}, {"copy": {"from": "b", "to": "c"}}, {"mkdir": "d"}, {"delete": "a"}, {"notify": "ok"}], "done": true}"#,
    true, true, true
)]
#[case::pretty_printed(
    "{\n  \"thought\": \"plan\",\n  \"actions\": [\n    {\n      \"notify\": \"hi\"\n    }\n  ],\n  \"done\": false\n}",
    true,
    true,
    true
)]
#[case::unicode_everywhere(
    r#"{"thought": "日本語 🦀", "actions": [{"notify": "Grüße 🦀"}], "done": true}"#,
    true,
    true,
    true
)]
// --- stricter grammar/schema, parser still fine (documented subsets) -----
#[case::keys_out_of_order(r#"{"done": true, "actions": []}"#, false, false, true)]
#[case::thought_absent(r#"{"actions": [], "done": true}"#, true, false, true)]
#[case::cwd_absent_under_strict_schema(
    r#"{"thought": "t", "actions": [{"run": ["ls"]}], "done": false}"#,
    true,
    false,
    true
)]
#[case::long_whitespace_run(
    "{                              \"actions\": [], \"done\": true}",
    false,
    false,
    true
)]
// --- invalid for all three ------------------------------------------------
#[case::empty_argv(
    r#"{"thought": "t", "actions": [{"run": []}], "done": false}"#,
    false,
    false,
    false
)]
#[case::empty_program(
    r#"{"thought": "t", "actions": [{"run": [""]}], "done": false}"#,
    false,
    false,
    false
)]
#[case::unknown_action(
    r#"{"thought": "t", "actions": [{"shell": "ls"}], "done": false}"#,
    false,
    false,
    false
)]
#[case::two_action_keys(
    r#"{"thought": "t", "actions": [{"run": ["ls"], "delete": "x"}], "done": false}"#,
    false,
    false,
    false
)]
#[case::cwd_on_delete(
    r#"{"thought": "t", "actions": [{"delete": "x", "cwd": "y"}], "done": false}"#,
    false,
    false,
    false
)]
#[case::missing_done(r#"{"thought": "t", "actions": []}"#, false, false, false)]
#[case::done_as_string(
    r#"{"thought": "t", "actions": [], "done": "yes"}"#,
    false,
    false,
    false
)]
#[case::unknown_top_key(
    r#"{"thought": "t", "actions": [], "done": true, "extra": 1}"#,
    false,
    false,
    false
)]
#[case::argv_as_string(
    r#"{"thought": "t", "actions": [{"run": "ls -la"}], "done": false}"#,
    false,
    false,
    false
)]
#[case::empty_mkdir_path(
    r#"{"thought": "t", "actions": [{"mkdir": ""}], "done": false}"#,
    false,
    false,
    false
)]
#[case::write_file_missing_content(
    r#"{"thought": "t", "actions": [{"write_file": {"path": "a"}}], "done": false}"#,
    false,
    false,
    false
)]
#[case::transfer_extra_field(r#"{"thought": "t", "actions": [{"move": {"from": "a", "to": "b", "force": true}}], "done": false}"#, false, false, false)]
#[case::argv_number(
    r#"{"thought": "t", "actions": [{"run": ["ls", 3]}], "done": false}"#,
    false,
    false,
    false
)]
#[case::lone_surrogate_escape(
    r#"{"thought": "\ud800", "actions": [], "done": true}"#,
    false,
    false,
    false
)]
#[case::raw_control_character(
    "{\"thought\": \"a\u{1}b\", \"actions\": [], \"done\": true}",
    false,
    false,
    false
)]
fn grammar_schema_and_parser_agree(
    #[case] doc: &str,
    #[case] grammar_ok: bool,
    #[case] schema_ok: bool,
    #[case] parser_ok: bool,
) {
    let grammar_says = grammar(false).accepts(doc);
    let schema_says = schema_accepts(doc);
    let parser_says = parse_response(doc, None);
    assert_eq!(grammar_says, grammar_ok, "grammar on {doc}");
    assert_eq!(schema_says, schema_ok, "schema on {doc}");
    assert_eq!(
        parser_says.is_ok(),
        parser_ok,
        "parser on {doc}: {parser_says:?}"
    );
    // The invariants hold whatever the table says.
    if grammar_says || schema_says {
        assert!(
            parser_says.is_ok(),
            "accepted by grammar/schema, refused by parser: {doc}"
        );
    }
}

fn run_doc(argv: &[String]) -> String {
    format!(
        r#"{{"actions": [{{"run": {}}}], "done": false}}"#,
        serde_json::to_string(argv).unwrap()
    )
}

fn words(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// The caps (argv items, string lengths) and the program choice narrow the
/// grammar and the schema only: the parser still reads such answers (a server
/// that ignores the schema is judged by the policy), so the "subset"
/// invariant holds.
#[rstest]
#[case::program_in_the_list(words(&["ls", "-la"]), true)]
#[case::program_prefix_of_a_name(words(&["l"]), false)]
#[case::program_not_in_the_list(words(&["listing files here"]), false)]
#[case::program_extends_a_name(words(&["lsblk"]), false)]
#[case::second_name(words(&["sha256sum", "a"]), true)]
#[case::max_argv_items(std::iter::once("ls".to_string()).chain((1..MAX_ARGV_ITEMS).map(|i| i.to_string())).collect(), true)]
#[case::too_many_argv_items(std::iter::once("ls".to_string()).chain((0..MAX_ARGV_ITEMS).map(|i| i.to_string())).collect(), false)]
#[case::longest_argv_item(vec!["ls".to_string(), "x".repeat(MAX_ARGV_ITEM_CHARS)], true)]
#[case::argv_item_too_long(vec!["ls".to_string(), "x".repeat(MAX_ARGV_ITEM_CHARS + 1)], false)]
fn program_choice_and_argv_caps(#[case] argv: Vec<String>, #[case] grammar_ok: bool) {
    let names = words(&["ls", "cat", "sha1sum", "sha256sum"]);
    let doc = run_doc(&argv);
    let narrowed = Grammar::parse(&actions_gbnf(false, ProgramChoice::OneOf(&names)));
    assert_eq!(narrowed.accepts(&doc), grammar_ok, "{doc}");
    assert!(parse_response(&doc, None).is_ok(), "{doc}");
    // The caps hold for any program; the names only with a list.
    let within_caps = argv.len() <= MAX_ARGV_ITEMS
        && argv
            .iter()
            .all(|a| a.chars().count() <= MAX_ARGV_ITEM_CHARS);
    assert_eq!(grammar(false).accepts(&doc), within_caps, "{doc}");
    let mut value: Value = serde_json::from_str(&doc).unwrap();
    value["thought"] = Value::Null;
    value["actions"][0]["cwd"] = Value::Null;
    assert_eq!(
        schema_check::valid(&actions_json_schema(ProgramChoice::Any), &value),
        within_caps,
        "{doc}"
    );
}

#[rstest]
#[case::path(r#"{"mkdir": "PATH"}"#, StringRole::Path)]
#[case::notify(r#"{"notify": "PATH"}"#, StringRole::Message)]
#[case::content(
    r#"{"write_file": {"path": "a", "content": "PATH"}}"#,
    StringRole::Text
)]
fn string_caps(#[case] action: &str, #[case] role: StringRole) {
    let at_cap = "é".repeat(role.max_chars());
    for (text, ok) in [(at_cap.clone(), true), (format!("{at_cap}x"), false)] {
        let doc = format!(
            r#"{{"actions": [{}], "done": false}}"#,
            action.replace("PATH", &text)
        );
        assert_eq!(grammar(false).accepts(&doc), ok, "{role:?} {}", text.len());
        assert!(parse_response(&doc, None).is_ok());
        let mut value: Value = serde_json::from_str(&doc).unwrap();
        value["thought"] = Value::Null;
        assert_eq!(
            schema_check::valid(&actions_json_schema(ProgramChoice::Any), &value),
            ok
        );
    }
    // An escape counts as one character, as serde_json decodes it.
    let escaped = "\\n".repeat(role.max_chars());
    let doc = format!(
        r#"{{"actions": [{}], "done": false}}"#,
        action.replace("PATH", &escaped)
    );
    assert!(grammar(false).accepts(&doc), "{role:?} escapes");
}

#[test]
fn no_program_allowed_means_no_run_action() {
    let none = Grammar::parse(&actions_gbnf(true, ProgramChoice::OneOf(&[])));
    assert!(!none.accepts(&run_doc(&words(&["ls"]))));
    assert!(none.accepts(r#"{"actions": [{"notify": "nothing may run"}], "done": true}"#));
    let value: Value = serde_json::from_str(
        r#"{"thought": null, "actions": [{"run": ["ls"], "cwd": null}], "done": false}"#,
    )
    .unwrap();
    assert!(!schema_check::valid(
        &actions_json_schema(ProgramChoice::OneOf(&[])),
        &value
    ));
}

/// The grammar and the schema cap the actions of one answer lower than the
/// parser does (a subset again); past the parser's limit all three refuse.
#[rstest]
#[case::at_the_answer_cap(MAX_ACTIONS_PER_ANSWER, true, true)]
#[case::over_the_answer_cap(MAX_ACTIONS_PER_ANSWER + 1, false, true)]
#[case::at_the_parser_limit(MAX_ACTIONS_PER_PLAN, false, true)]
#[case::over_the_parser_limit(MAX_ACTIONS_PER_PLAN + 1, false, false)]
fn action_count_caps(#[case] count: usize, #[case] capped_ok: bool, #[case] parser_ok: bool) {
    let actions = vec![r#"{"notify": "x"}"#; count].join(", ");
    let text = format!(r#"{{"thought": null, "actions": [{actions}], "done": true}}"#);
    assert_eq!(schema_accepts(&text), capped_ok, "{count}");
    let text = text.replace(r#""thought": null, "#, "");
    assert_eq!(grammar(false).accepts(&text), capped_ok, "{count}");
    assert_eq!(parse_response(&text, None).is_ok(), parser_ok, "{count}");
}

#[rstest]
#[case::think_then_plan(
    "<think>I should look first. a < b, x</y></think>\n{\"actions\": [], \"done\": true}",
    true
)]
#[case::tags_in_plan_strings(
    "<think>x</think>{\"thought\": \"</think> <think>\", \"actions\": [], \"done\": true}",
    true
)]
#[case::no_think(r#"{"actions": [], "done": true}"#, true)]
#[case::think_must_close("<think>never closed {\"actions\": [], \"done\": true}", false)]
#[case::nested_close_tag_is_the_end(
    "<think>a</think></think>{\"actions\": [], \"done\": true}",
    false
)]
fn think_section_grammar(#[case] doc: &str, #[case] grammar_ok: bool) {
    let think_grammar = grammar(true);
    assert_eq!(think_grammar.accepts(doc), grammar_ok, "{doc}");
    if grammar_ok {
        let parsed = parse_response(doc, None).expect("grammar-accepted answers parse");
        assert!(parsed.plan.done);
    }
    assert!(!grammar(false).accepts(&format!("<think>x</think>{doc}")));
}

#[test]
fn every_example_is_accepted_by_all_three() {
    for kind in ActionKind::ALL {
        let doc = format!(
            r#"{{"thought": "t", "actions": [{}], "done": false}}"#,
            kind.example()
        );
        assert!(grammar(false).accepts(&doc), "grammar refuses {doc}");
        let parsed = parse_response(&doc, None).unwrap();
        assert_eq!(parsed.plan.actions[0].kind(), kind);
        // Strict schema: the nullable siblings must be present.
        let value: Value = serde_json::from_str(&doc).unwrap();
        let mut value = value;
        for sibling in kind.siblings() {
            value["actions"][0]
                .as_object_mut()
                .unwrap()
                .entry(sibling.name)
                .or_insert(Value::Null);
        }
        assert!(
            schema_check::valid(&actions_json_schema(ProgramChoice::Any), &value),
            "schema refuses {value}"
        );
    }
}

fn path_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./ -]{1,12}"
}

fn any_text() -> impl Strategy<Value = String> {
    // Any character but NUL (which the grammar excludes): quotes, backslashes,
    // control characters and non-ASCII included, to exercise escaping.
    proptest::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('\u{7f}'),
            Just('\u{1b}'),
            Just('é'),
            Just('🦀'),
            proptest::char::range('\u{20}', '\u{7e}'),
        ],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (
            path_text(),
            proptest::collection::vec(any_text(), 0..4),
            proptest::option::of(path_text())
        )
            .prop_map(|(program, rest, cwd)| {
                let mut argv = vec![program];
                argv.extend(rest);
                Action::Run {
                    argv,
                    cwd: cwd.map(Into::into),
                }
            }),
        (path_text(), any_text()).prop_map(|(path, content)| Action::WriteFile(FileWrite {
            path: path.into(),
            content
        })),
        (path_text(), path_text()).prop_map(|(from, to)| Action::Move(Transfer {
            from: from.into(),
            to: to.into()
        })),
        (path_text(), path_text()).prop_map(|(from, to)| Action::Copy(Transfer {
            from: from.into(),
            to: to.into()
        })),
        path_text().prop_map(|path| Action::Mkdir(path.into())),
        path_text().prop_map(|path| Action::Delete(path.into())),
        any_text().prop_map(Action::Notify),
    ]
}

fn plan() -> impl Strategy<Value = ActionPlan> {
    (
        proptest::option::of(any_text()),
        proptest::collection::vec(action(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(thought, actions, done)| ActionPlan {
            thought,
            actions,
            done,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Serialized plans (compact and pretty) are in the grammar and parse
    /// back to the same plan.
    #[test]
    fn serialized_plans_are_in_the_grammar_and_round_trip(plan in plan()) {
        let grammar = grammar(true);
        for doc in [serde_json::to_string(&plan).unwrap(), serde_json::to_string_pretty(&plan).unwrap()] {
            prop_assert!(grammar.accepts(&doc), "grammar refuses {}", doc);
            let parsed = parse_response(&doc, None).unwrap();
            prop_assert_eq!(&parsed.plan, &plan);
        }
    }
}
