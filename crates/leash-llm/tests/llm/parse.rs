//! The response parser, table-driven: what models really write (DeepSeek
//! `<think>` blocks, fences, prose) and what they get wrong. Every error
//! message must name the problem, since it goes back to the model.

use std::time::Instant;

use leash_llm::{
    Action, MAX_RESPONSE_BYTES, ParseError, PlanSource, parse_response, reask_message,
};
use rstest::rstest;

const PLAN: &str = r#"{"thought": "look", "actions": [{"run": ["ls", "-la"]}], "done": false}"#;

fn ls() -> Vec<Action> {
    vec![Action::Run {
        argv: vec!["ls".into(), "-la".into()],
        cwd: None,
    }]
}

#[rstest]
#[case::bare_json(PLAN.to_string(), PlanSource::Json)]
#[case::deepseek_think_block(format!("<think>\nThe user wants files. I'll run ls.\n</think>\n\n{PLAN}"), PlanSource::Json)]
#[case::r1_distill_without_opening_tag(format!("The user wants files.\n</think>\n{PLAN}"), PlanSource::Json)]
#[case::fenced_json(format!("Here is my plan:\n```json\n{PLAN}\n```\n"), PlanSource::FencedJson)]
#[case::bare_fence_json(format!("```\n{PLAN}\n```"), PlanSource::FencedJson)]
#[case::trailing_prose(format!("{PLAN}\n\nThis lists the directory. Let me know!"), PlanSource::Json)]
#[case::json_inside_prose(format!("Sure! I will do this: {PLAN} and then report back."), PlanSource::Json)]
#[case::prose_with_braces_before(format!("Note {{this}} and {{\"a\": 1}} first. {PLAN}"), PlanSource::Json)]
#[case::same_plan_twice(format!("```json\n{PLAN}\n```\nAgain: {PLAN}"), PlanSource::FencedJson)]
#[case::think_contains_json(format!("<think>maybe {{\"actions\": [{{\"delete\": \"/\"}}], \"done\": true}}</think>{PLAN}"), PlanSource::Json)]
#[case::plan_before_unterminated_think(format!("{PLAN}\n<think>hmm, should I also"), PlanSource::Json)]
fn finds_the_plan(#[case] text: String, #[case] source: PlanSource) {
    let parsed = parse_response(&text, None).unwrap_or_else(|e| panic!("{e} in {text}"));
    assert_eq!(parsed.plan.actions, ls());
    assert_eq!(parsed.plan.thought.as_deref(), Some("look"));
    assert!(!parsed.plan.done);
    assert_eq!(parsed.source, source);
    assert!(parsed.shell_lines.is_empty());
}

#[test]
fn thinking_is_kept_from_tags_and_reasoning_content() {
    let text = format!("<think>step one</think>{PLAN}");
    let parsed = parse_response(&text, Some("server reasoning")).unwrap();
    let thinking = parsed.thinking.unwrap();
    assert!(thinking.contains("server reasoning"), "{thinking}");
    assert!(thinking.contains("step one"), "{thinking}");
    // The thinking's own JSON never becomes the plan.
    let parsed = parse_response(PLAN, None).unwrap();
    assert_eq!(parsed.thinking, None);
}

/// Regression class: think tags inside JSON strings must not cut the plan.
#[rstest]
#[case::leading_plan(
    r#"{"thought": "a </think> b <think>", "actions": [{"notify": "</think>"}], "done": true}"#
)]
#[case::after_a_think_section(r#"<think>x</think>{"thought": "a </think> b <think>", "actions": [{"notify": "</think>"}], "done": true}"#)]
fn think_tags_inside_json_strings(#[case] text: &str) {
    let parsed = parse_response(text, None).unwrap();
    assert_eq!(parsed.plan.thought.as_deref(), Some("a </think> b <think>"));
    assert_eq!(parsed.plan.actions, vec![Action::Notify("</think>".into())]);
}

#[test]
fn cwd_is_a_sibling_key_of_run() {
    let parsed = parse_response(
        r#"{"actions": [{"run": ["make", "test"], "cwd": "build"}], "done": false}"#,
        None,
    )
    .unwrap();
    assert_eq!(
        parsed.plan.actions,
        vec![Action::Run {
            argv: vec!["make".into(), "test".into()],
            cwd: Some("build".into())
        }]
    );
}

#[test]
fn unicode_survives() {
    let parsed = parse_response(
        r#"Voilà: {"thought": "日本語 🦀", "actions": [{"write_file": {"path": "ü.txt", "content": "Grüße\n🦀"}}], "done": true}"#,
        None,
    )
    .unwrap();
    assert_eq!(parsed.plan.thought.as_deref(), Some("日本語 🦀"));
    match &parsed.plan.actions[0] {
        Action::WriteFile(write) => {
            assert_eq!(write.path.to_str(), Some("ü.txt"));
            assert_eq!(write.content, "Grüße\n🦀");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[rstest]
#[case::sh_block("I'd run:\n```sh\nls -la\n# then\ngit status\n```\n", &["ls -la", "git status"])]
#[case::bash_block_with_prompt("```bash\n$ df -h\n```", &["df -h"])]
#[case::bare_block("```\nuptime\n```", &["uptime"])]
#[case::continuation("```sh\ngrep -r \\\n  TODO src\n```", &["grep -r  TODO src"])]
#[case::shell_syntax_kept_for_the_policy("```sh\nls | rm -rf /\n```", &["ls | rm -rf /"])]
#[case::after_think("<think>use a shell</think>\n```shell\nls\n```", &["ls"])]
fn falls_back_to_fenced_shell_lines(#[case] text: &str, #[case] lines: &[&str]) {
    let parsed = parse_response(text, None).unwrap();
    assert_eq!(parsed.source, PlanSource::FencedShell);
    assert_eq!(parsed.shell_lines, lines);
    assert!(parsed.plan.actions.is_empty());
    assert!(!parsed.plan.done);
}

#[test]
fn a_json_fence_without_a_plan_is_not_shell() {
    let error = parse_response("```json\n{\"a\": 1}\n```", None).unwrap_err();
    assert_eq!(error, ParseError::NoPlan);
}

/// Each error and the words its message must contain.
#[rstest]
#[case::empty("   \n ", "empty")]
#[case::only_thinking("<think>hmm</think>\n", "only thinking")]
#[case::unterminated_think(
    "<think>I will now think forever {\"actions\": [], \"done\": true}",
    "never closed"
)]
#[case::invalid_json(r#"{"actions": [{"run": ["ls"]}], "done": fals}"#, "not valid JSON")]
#[case::truncated_json(r#"{"actions": [{"run": ["ls""#, "EOF")]
#[case::single_quotes("{'actions': [], 'done': true}", "no JSON object")]
#[case::leading_plan_then_another(
    r#"{"actions": [], "done": true} and also {"actions": [{"mkdir": "x"}], "done": false}"#,
    "2 different"
)]
#[case::two_different_objects(
    r#"{"actions": [], "done": true} {"actions": [{"run": ["ls"]}], "done": false}"#,
    "2 different"
)]
#[case::wrong_type_done(
    r#"{"actions": [], "done": "yes"}"#,
    "done: expected true or false, found a string"
)]
#[case::wrong_type_actions(
    r#"{"actions": {"run": ["ls"]}, "done": false}"#,
    "actions: expected a list"
)]
#[case::unknown_action(
    r#"{"actions": [{"shell": "ls -la"}], "done": false}"#,
    "unknown action \"shell\""
)]
#[case::empty_argv(
    r#"{"actions": [{"run": []}], "done": false}"#,
    "actions[0].run: the argv is empty"
)]
#[case::empty_program(
    r#"{"actions": [{"run": ["", "x"]}], "done": false}"#,
    "actions[0].run[0]: the program name"
)]
#[case::argv_string(
    r#"{"actions": [{"run": "ls -la"}], "done": false}"#,
    "expected a list of strings"
)]
#[case::two_action_keys(
    r#"{"actions": [{"run": ["ls"], "delete": "x"}], "done": false}"#,
    "several actions (\"delete\", \"run\")"
)]
#[case::unknown_sibling(
    r#"{"actions": [{"run": ["ls"], "timeout": 5}], "done": false}"#,
    "unknown key \"timeout\" (allowed here: run, cwd)"
)]
#[case::cwd_without_run(r#"{"actions": [{"cwd": "x"}], "done": false}"#, "no action key")]
#[case::unknown_top_key(
    r#"{"actions": [], "done": true, "confidence": 0.9}"#,
    "unknown key \"confidence\""
)]
#[case::missing_done(r#"{"actions": []}"#, "\"done\" is missing")]
#[case::missing_field(
    r#"{"actions": [{"move": {"from": "a"}}], "done": false}"#,
    "actions[0].move: the required key \"to\""
)]
#[case::nul_in_path(r#"{"actions": [{"delete": "a\u0000b"}], "done": false}"#, "NUL")]
#[case::bare_action(r#"{"run": ["ls"]}"#, "\"run\" action on its own")]
#[case::prose_only("I think you should list the files.", "no JSON object")]
#[case::too_many_actions(&format!(r#"{{"actions": [{}], "done": false}}"#, vec![r#"{"mkdir": "d"}"#; 65].join(",")), "65 actions is too many")]
#[case::too_many_shell_lines(&format!("```sh\n{}```", "ls\n".repeat(65)), "65 commands")]
fn errors_name_the_problem(#[case] text: &str, #[case] words: &str) {
    let error = parse_response(text, None).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(words), "{message:?} lacks {words:?}");
    let reask = reask_message(&error);
    assert!(
        reask.starts_with("Your last answer was not valid: "),
        "{reask}"
    );
    assert!(reask.contains(&message));
    assert!(reask.contains("Answer with exactly one JSON object"));
    assert!(reask.contains(r#"{"run": ["ls", "-la"], "cwd": "src"}"#));
}

#[test]
fn invalid_json_points_at_the_place() {
    let error = parse_response(
        "Plan:\n{\"actions\": [\n  {\"run\": [\"ls\"]}\n], \"done\": nope}",
        None,
    )
    .unwrap_err();
    match error {
        ParseError::InvalidJson {
            line, column, near, ..
        } => {
            assert_eq!(line, 3);
            assert!(column > 1);
            assert!(near.contains("nope"), "{near}");
        }
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn oversized_input_is_refused_unread() {
    let text = " ".repeat(MAX_RESPONSE_BYTES + 1);
    assert_eq!(
        parse_response(&text, None).unwrap_err(),
        ParseError::TooLarge {
            bytes: MAX_RESPONSE_BYTES + 1,
            limit: MAX_RESPONSE_BYTES
        }
    );
}

/// Hostile shapes just under the limit finish (bounded candidates, no
/// quadratic rescans that would make this hang); the time is printed, not
/// asserted.
#[rstest]
#[case::open_braces("{".repeat(MAX_RESPONSE_BYTES - 1))]
#[case::open_strings("{\"actions\": \"".repeat(MAX_RESPONSE_BYTES / 14))]
#[case::deep_nesting(format!("{}{}", "[".repeat(MAX_RESPONSE_BYTES / 2 - 1), "]".repeat(MAX_RESPONSE_BYTES / 2 - 1)))]
#[case::many_fences("```sh\n```\n".repeat(MAX_RESPONSE_BYTES / 10))]
#[case::many_thinks("<think>a</think>".repeat(MAX_RESPONSE_BYTES / 16))]
#[case::many_close_tags_then_open(format!("{}<think>", "</think>".repeat(MAX_RESPONSE_BYTES / 8 - 1)))]
fn huge_hostile_input_terminates_with_an_error(#[case] text: String) {
    assert!(text.len() <= MAX_RESPONSE_BYTES);
    let started = Instant::now();
    let result = parse_response(&text, None);
    let took = started.elapsed();
    eprintln!(
        "{} bytes: {:?} in {took:?}",
        text.len(),
        result.as_ref().map(|_| ()).map_err(ToString::to_string)
    );
    assert!(result.is_err());
}
