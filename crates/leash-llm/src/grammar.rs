//! The llama.cpp GBNF grammar for an [`crate::ActionPlan`], generated from the
//! action table in [`crate::action`] so that it cannot drift from the parser or
//! the JSON schema.
//!
//! The grammar is deliberately a *subset* of what the parser accepts: keys in a
//! fixed order (`thought`, `actions`, `done`), whitespace bounded (a blank or
//! two, or one newline plus indentation, between tokens — a small model cannot
//! loop on spaces forever), strings, argv and the action list bounded
//! ([`StringRole::max_chars`], [`MAX_ARGV_ITEMS`], [`MAX_ACTIONS_PER_ANSWER`]),
//! `\u` escapes limited to non-NUL, non-surrogate code points (so every escape
//! the grammar allows is one serde_json decodes), path strings non-empty, and
//! the program (`argv[0]`) one of the policy's names when a [`ProgramChoice`]
//! says so. Everything the grammar admits therefore parses; the integration
//! tests check that with a small GBNF matcher, and the `llama` backend's tests
//! exercise it with the real model.
//!
//! The grammar is also *unambiguous*: every text it admits has one
//! derivation (no `ws ws` adjacencies, no optional item that a repetition
//! could also produce). llama.cpp tracks every derivation still alive as a
//! separate stack, and checking a token costs time per stack.
//!
//! With `allow_think`, an optional `<think>…</think>` section may come first
//! (DeepSeek-R1 distills reason there). Its body may not contain `</think>`,
//! nor a `<` directly followed by another `<` (the price of expressing "not
//! `</think>`" without lookahead).

use std::fmt::Write as _;

use crate::action::{
    ActionKind, MAX_ACTIONS_PER_ANSWER, MAX_ARGV_ITEM_CHARS, MAX_ARGV_ITEMS, Payload,
    ProgramChoice, StringRole,
};
use crate::grammar_run::{typed_path_rules, typed_rules};

/// Rule name for an action kind's object, e.g. `action-write-file`.
fn rule_name(kind: ActionKind) -> String {
    format!("action-{}", kind.key().replace('_', "-"))
}

/// A GBNF literal matching `text` exactly.
pub(crate) fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A GBNF literal matching the JSON string `"key"`.
fn key_literal(key: &str) -> String {
    literal(&format!("\"{key}\""))
}

/// The rule of a string of this role.
fn string_rule(role: StringRole) -> &'static str {
    match role {
        StringRole::Path => "path-string",
        StringRole::Message => "message-string",
        StringRole::Text => "text-string",
    }
}

/// `"key" ws ":" ws value`
fn member(key: &str, value: &str) -> String {
    format!("{} ws \":\" ws {value}", key_literal(key))
}

/// The rule of the string field `field` of `kind`: in a typed grammar the
/// paths that must exist (the sources of `move`, `copy`, `delete`) are chosen
/// from the workspace's entries, `cwd` from its directories, and the paths
/// that may be new (written, made, targets) from the names the person used
/// and the existing entries (`new-path`).
fn field_rule(kind: ActionKind, field: &str, role: StringRole, typed: bool) -> &'static str {
    if !typed {
        return string_rule(role);
    }
    match (kind, field) {
        (ActionKind::Move | ActionKind::Copy, "from") | (ActionKind::Delete, _) => "existing-path",
        (ActionKind::Run, "cwd") => "dir-path",
        (ActionKind::Move | ActionKind::Copy, "to")
        | (ActionKind::WriteFile, "path")
        | (ActionKind::Mkdir, _) => "new-path",
        _ => string_rule(role),
    }
}

fn payload_rule(kind: ActionKind, typed: bool) -> String {
    match kind.payload() {
        Payload::Argv => "argv".to_string(),
        Payload::String(role) => field_rule(kind, kind.key(), role, typed).to_string(),
        Payload::Fields(fields) => {
            let members = fields
                .iter()
                .map(|(name, role)| member(name, field_rule(kind, name, *role, typed)))
                .collect::<Vec<_>>()
                .join(" ws \",\" ws ");
            format!("\"{{\" ws {members} ws \"}}\"")
        }
    }
}

/// `"\"" char{min,max} "\""`: one rule per bounded string, alone in its
/// sequence (llama.cpp caps the product of the repetitions in one sequence at
/// 2,000).
fn bounded_string(name: &str, min: usize, max: usize) -> String {
    format!("{name} ::= \"\\\"\" char{{{min},{max}}} \"\\\"\"\n")
}

/// The program rule: one of the given names as a JSON string, or any
/// non-empty bounded string.
fn program_rule(programs: ProgramChoice<'_>) -> String {
    match programs.names() {
        Some(names) => {
            let alternatives = names
                .iter()
                .filter_map(|name| serde_json::to_string(name).ok())
                .map(|json| literal(&json))
                .collect::<Vec<_>>()
                .join(" | ");
            format!("program ::= {alternatives}\n")
        }
        None => bounded_string("program", 1, MAX_ARGV_ITEM_CHARS),
    }
}

/// Generates the grammar. The start rule is `root`. `programs` narrows `argv[0]`
/// of `run` actions; with an empty list there is no `run` action at all (a
/// policy that allows no program leaves the model the other actions). Typed
/// shapes ([`ProgramChoice::Typed`]) narrow every argv word, `cwd` and the
/// paths of file actions that must exist (see `grammar_run`).
pub fn actions_gbnf(allow_think: bool, programs: ProgramChoice<'_>) -> String {
    let mut out = String::new();
    out.push_str("# leash action plan (generated from leash_llm::ActionKind; do not edit)\n");
    if allow_think {
        out.push_str("root ::= think? ws plan ws\n");
        out.push_str("think ::= \"<think>\" think-body \"</think>\"\n");
        out.push_str("think-body ::= ( [^<] | \"<\" think-lt )*\n");
        out.push_str(
            "think-lt ::= [^/<] | \"/\" ( [^t<] | \"t\" ( [^h<] | \"h\" ( [^i<] | \"i\" \
             ( [^n<] | \"n\" ( [^k<] | \"k\" [^><] ) ) ) ) )\n",
        );
    } else {
        out.push_str("root ::= ws plan ws\n");
    }
    let _ = writeln!(
        out,
        "plan ::= \"{{\" ws ( {} ws \",\" ws )? {} ws \",\" ws {} ws \"}}\"",
        member("thought", string_rule(StringRole::Message)),
        member("actions", "actions"),
        member("done", "boolean"),
    );
    let required = programs.shapes().is_some_and(|s| s.actions_required);
    let _ = writeln!(
        out,
        "actions ::= \"[\" ws ( action ws ( \",\" ws action ws ){{0,{}}} ){} \"]\"",
        MAX_ACTIONS_PER_ANSWER - 1,
        if required { "" } else { "?" }
    );
    let allows_run = programs.allows_run();
    let kinds: Vec<ActionKind> = ActionKind::ALL
        .into_iter()
        .filter(|kind| *kind != ActionKind::Run || allows_run)
        .filter(|kind| {
            !programs.shapes().is_some_and(|s| s.read_only)
                || matches!(kind, ActionKind::Run | ActionKind::Notify)
        })
        .collect();
    let alternatives = kinds
        .iter()
        .map(|kind| rule_name(*kind))
        .collect::<Vec<_>>()
        .join(" | ");
    let _ = writeln!(out, "action ::= {alternatives}");
    for kind in kinds {
        // Every member is followed by its blanks, so that after a value the
        // next character alone says what comes (`,` or `}`).
        let typed = programs.shapes().is_some();
        let mut body = format!("{} ws", member(kind.key(), &payload_rule(kind, typed)));
        for sibling in kind.siblings() {
            let _ = write!(
                body,
                " ( \",\" ws {} ws )?",
                member(
                    sibling.name,
                    field_rule(kind, sibling.name, sibling.role, typed)
                )
            );
        }
        let _ = writeln!(out, "{} ::= \"{{\" ws {body} \"}}\"", rule_name(kind));
    }
    match programs.shapes() {
        Some(shapes) if allows_run => typed_rules(shapes, &mut out),
        Some(shapes) => out.push_str(&typed_path_rules(shapes)),
        None if allows_run => {
            let _ = writeln!(
                out,
                "argv ::= \"[\" ws program ws ( \",\" ws argv-item ws ){{0,{}}} \"]\"",
                MAX_ARGV_ITEMS - 1
            );
            out.push_str(&program_rule(programs));
            out.push_str(&bounded_string("argv-item", 0, MAX_ARGV_ITEM_CHARS));
        }
        None => {}
    }
    out.push_str("boolean ::= \"true\" | \"false\"\n");
    for role in [StringRole::Path, StringRole::Message, StringRole::Text] {
        let min = match role {
            StringRole::Path => 1,
            StringRole::Message | StringRole::Text => 0,
        };
        out.push_str(&bounded_string(string_rule(role), min, role.max_chars()));
    }
    out.push_str("char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" escape\n");
    out.push_str("escape ::= [\"\\\\/bfnrt] | \"u\" code-point\n");
    // No \u0000 (NUL: no path or argv can hold it) and no \uD800-\uDFFF
    // (serde_json rejects lone surrogates; raw UTF-8 covers every character).
    out.push_str(
        "code-point ::= [1-9a-cA-Ce-fE-F] hex hex hex | \"0\" ( [1-9a-fA-F] hex hex | \"0\" \
         ( [1-9a-fA-F] hex | \"0\" [1-9a-fA-F] ) )\n",
    );
    out.push_str("hex ::= [0-9a-fA-F]\n");
    // Bounded: one or two blanks, or a newline and up to 16 blanks of
    // indentation (pretty-printed JSON), or nothing.
    out.push_str("ws ::= ( [ \\t] [ \\t]? | \"\\n\" [ \\t]{0,16} )?\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_kind_has_a_rule_and_an_alternative() {
        let grammar = actions_gbnf(false, ProgramChoice::Any);
        for kind in ActionKind::ALL {
            let rule = rule_name(kind);
            assert!(
                grammar.contains(&format!("\n{rule} ::= ")),
                "{rule} missing"
            );
            assert!(grammar.contains(&key_literal(kind.key())));
        }
        assert!(!grammar.contains("think"));
        assert!(actions_gbnf(true, ProgramChoice::Any).contains("root ::= think? ws plan ws"));
    }

    #[test]
    fn program_names_become_json_string_literals() {
        let names = vec!["ls".to_string(), "we\"ird\\".to_string(), "ls".to_string()];
        let grammar = actions_gbnf(false, ProgramChoice::OneOf(&names));
        assert!(
            grammar.contains(r#"program ::= "\"ls\"" | "\"we\\\"ird\\\\\"""#),
            "{grammar}"
        );
    }

    #[test]
    fn no_programs_means_no_run_action() {
        let grammar = actions_gbnf(false, ProgramChoice::OneOf(&[]));
        assert!(!grammar.contains("action-run"), "{grammar}");
        assert!(!grammar.contains("argv"), "{grammar}");
        assert!(grammar.contains("action ::= action-write-file | "));
    }

    #[test]
    fn typed_shapes_narrow_argv_cwd_and_sources_to_real_entries() {
        use crate::command_shapes::{CommandShapes, ProgramShape, WordKind, WordsShape};
        let shapes = CommandShapes {
            programs: vec![ProgramShape {
                name: "cat".into(),
                words: WordsShape {
                    rest: Some(WordKind::Existing),
                    max_operands: 4,
                    ..WordsShape::default()
                },
                subcommands: vec![],
            }],
            existing: vec![".".into(), "notes.txt".into()],
            directories: vec![".".into(), "logs".into()],
            named: vec!["archive".into()],
            read_only: false,
            actions_required: false,
        };
        let grammar = actions_gbnf(false, ProgramChoice::Typed(&shapes));
        assert!(!grammar.contains("argv-item"), "{grammar}");
        assert!(
            grammar.contains(r#"action-delete ::= "{" ws "\"delete\"" ws ":" ws existing-path"#),
            "{grammar}"
        );
        assert!(
            grammar.contains(r#""\"cwd\"" ws ":" ws dir-path"#),
            "{grammar}"
        );
        assert!(
            grammar.contains(r#""\"from\"" ws ":" ws existing-path"#),
            "{grammar}"
        );
        assert!(
            grammar.contains(r#""\"to\"" ws ":" ws new-path"#),
            "{grammar}"
        );
        assert!(
            grammar.contains(r#"dir-path ::= "\".\"" | "\"logs\"""#),
            "{grammar}"
        );
        // No program: no run action, the file actions still typed.
        let none = actions_gbnf(false, ProgramChoice::Typed(&CommandShapes::default()));
        assert!(!none.contains("action-run"), "{none}");
        assert!(none.contains("existing-path ::= "), "{none}");
        assert!(none.contains("{0,7} )? \"]\""), "{none}");
        let required = CommandShapes {
            actions_required: true,
            ..CommandShapes::default()
        };
        let grammar = actions_gbnf(false, ProgramChoice::Typed(&required));
        assert!(grammar.contains("{0,7} ) \"]\""), "{grammar}");
    }

    #[test]
    fn no_rule_puts_two_ws_side_by_side() {
        for grammar in [
            actions_gbnf(true, ProgramChoice::Any),
            actions_gbnf(false, ProgramChoice::OneOf(&["ls".to_string()])),
        ] {
            for line in grammar.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                assert!(
                    !words.windows(2).any(|w| w == ["ws", "ws"]),
                    "ambiguous blanks in: {line}"
                );
            }
        }
    }
}
