//! The llama.cpp GBNF grammar for an [`crate::ActionPlan`], generated from the
//! action table in [`crate::action`] so that it cannot drift from the parser or
//! the JSON schema.
//!
//! The grammar is deliberately a *subset* of what the parser accepts: keys in a
//! fixed order (`thought`, `actions`, `done`), whitespace bounded (a blank or
//! two, or one newline plus indentation, between tokens — a small model cannot
//! loop on spaces forever), `\u` escapes limited to non-NUL, non-surrogate code
//! points (so every escape the grammar allows is one serde_json decodes), path
//! strings and the program name non-empty. Everything the grammar admits
//! therefore parses; the integration tests check that with a small GBNF
//! matcher, and the `llama` backend's tests exercise it with the real model.
//!
//! With `allow_think`, an optional `<think>…</think>` section may come first
//! (DeepSeek-R1 distills reason there). Its body may not contain `</think>`,
//! nor a `<` directly followed by another `<` (the price of expressing "not
//! `</think>`" without lookahead).

use std::fmt::Write as _;

use crate::action::{ActionKind, Payload, StringRole};

/// Rule name for an action kind's object, e.g. `action-write-file`.
fn rule_name(kind: ActionKind) -> String {
    format!("action-{}", kind.key().replace('_', "-"))
}

/// A GBNF literal matching the JSON string `"key"`.
fn key_literal(key: &str) -> String {
    format!("\"\\\"{key}\\\"\"")
}

fn string_rule(role: StringRole) -> &'static str {
    match role {
        StringRole::Path => "nonempty-string",
        StringRole::Text => "string",
    }
}

/// `"key" ws ":" ws value`
fn member(key: &str, value: &str) -> String {
    format!("{} ws \":\" ws {value}", key_literal(key))
}

fn payload_rule(payload: Payload) -> String {
    match payload {
        Payload::Argv => "argv".to_string(),
        Payload::String(role) => string_rule(role).to_string(),
        Payload::Fields(fields) => {
            let members = fields
                .iter()
                .map(|(name, role)| member(name, string_rule(*role)))
                .collect::<Vec<_>>()
                .join(" ws \",\" ws ");
            format!("\"{{\" ws {members} ws \"}}\"")
        }
    }
}

/// Generates the grammar. The start rule is `root`.
pub fn actions_gbnf(allow_think: bool) -> String {
    let mut out = String::new();
    out.push_str("# leash action plan (generated from leash_llm::ActionKind; do not edit)\n");
    if allow_think {
        out.push_str("root ::= think? ws plan ws\n");
        out.push_str("think ::= \"<think>\" think-body \"</think>\" ws\n");
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
        member("thought", "string"),
        member("actions", "actions"),
        member("done", "boolean"),
    );
    out.push_str("actions ::= \"[\" ws ( action ( ws \",\" ws action )* ws )? \"]\"\n");
    let alternatives = ActionKind::ALL
        .iter()
        .map(|kind| rule_name(*kind))
        .collect::<Vec<_>>()
        .join(" | ");
    let _ = writeln!(out, "action ::= {alternatives}");
    for kind in ActionKind::ALL {
        let mut body = member(kind.key(), &payload_rule(kind.payload()));
        for sibling in kind.siblings() {
            let _ = write!(
                body,
                " ( ws \",\" ws {} )?",
                member(sibling.name, string_rule(sibling.role))
            );
        }
        let _ = writeln!(out, "{} ::= \"{{\" ws {body} ws \"}}\"", rule_name(kind));
    }
    out.push_str("argv ::= \"[\" ws nonempty-string ( ws \",\" ws string )* ws \"]\"\n");
    out.push_str("boolean ::= \"true\" | \"false\"\n");
    out.push_str("string ::= \"\\\"\" char* \"\\\"\"\n");
    out.push_str("nonempty-string ::= \"\\\"\" char+ \"\\\"\"\n");
    out.push_str("char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" escape\n");
    out.push_str("escape ::= [\"\\\\/bfnrt] | \"u\" code-point\n");
    // No \u0000 (NUL: no path or argv can hold it) and no \uD800-\uDFFF
    // (serde_json rejects lone surrogates; raw UTF-8 covers every character).
    out.push_str(
        "code-point ::= [1-9a-cA-Ce-fE-F] hex hex hex | \"0\" ( [1-9a-fA-F] hex hex | \"0\" \
         ( [1-9a-fA-F] hex | \"0\" [1-9a-fA-F] ) )\n",
    );
    out.push_str("hex ::= [0-9a-fA-F]\n");
    out.push_str("ws ::= ( [ \\t] [ \\t]? | \"\\n\" [ \\t]{0,16} )?\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_kind_has_a_rule_and_an_alternative() {
        let grammar = actions_gbnf(false);
        for kind in ActionKind::ALL {
            let rule = rule_name(kind);
            assert!(
                grammar.contains(&format!("\n{rule} ::= ")),
                "{rule} missing"
            );
            assert!(grammar.contains(&key_literal(kind.key())));
        }
        assert!(!grammar.contains("think"));
        assert!(actions_gbnf(true).contains("root ::= think? ws plan ws"));
    }
}
