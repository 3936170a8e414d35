//! The question's answer shape, from one definition: the GBNF grammar the
//! embedded model is sampled under, the JSON schema for servers, and the
//! parser of the answer. Every literal the model may choose comes from leash
//! (file names from the listing, folder names, the fixed verdicts), so the
//! model can only pick among valid options; free text is bounded.

use std::sync::Arc;

use leash_llm::AnswerShape;
use serde_json::{Value, json};

/// What the model is asked to produce. Closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// `{"<item>": "<option>", …}` with every item, in order.
    PerItem {
        /// The items to place (file names), in order.
        items: Vec<String>,
        /// Where each may go (the skill's folders, or `leave`).
        options: Vec<String>,
    },
    /// `{"reason": "<text>", "verdict": "<one of verdicts>"}`.
    Verdict {
        /// The skill's verdicts; the first is the "all is well" one.
        verdicts: Vec<String>,
        /// Longest reason, in characters.
        reason_chars: usize,
        /// Whether the reason is one line.
        one_line: bool,
    },
}

/// A parsed answer. Closed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// `(item, option)` for every item, in order.
    Placed(Vec<(String, String)>),
    /// One of the skill's verdicts and why.
    Verdict {
        /// The verdict (one of the skill's `verdicts`).
        verdict: String,
        /// The model's reason, shown to the person.
        reason: String,
    },
}

/// The literal for a JSON string, as GBNF: `"\"text\""` with JSON escapes.
fn json_string_literal(text: &str) -> String {
    let json = Value::String(text.to_owned()).to_string();
    let mut out = String::with_capacity(json.len() + 8);
    out.push('"');
    for c in json.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Question {
    /// The grammar and schema for this question.
    pub fn shape(&self, name: &str) -> Arc<AnswerShape> {
        let mut gbnf = String::new();
        let schema = match self {
            Question::PerItem { items, options } => {
                let choices: Vec<String> = options.iter().map(|o| json_string_literal(o)).collect();
                let members: Vec<String> = items
                    .iter()
                    .map(|item| format!("{} ws \":\" ws choice", json_string_literal(item)))
                    .collect();
                gbnf.push_str(&format!(
                    "root ::= \"{{\" ws {} ws \"}}\"\n",
                    members.join(" \",\" ws ")
                ));
                gbnf.push_str(&format!("choice ::= {}\n", choices.join(" | ")));
                let properties: serde_json::Map<String, Value> = items
                    .iter()
                    .map(|item| (item.clone(), json!({"type": "string", "enum": options})))
                    .collect();
                json!({
                    "type": "object",
                    "properties": properties,
                    "required": items,
                    "additionalProperties": false,
                })
            }
            Question::Verdict {
                verdicts,
                reason_chars,
                one_line,
            } => {
                let choices: Vec<String> =
                    verdicts.iter().map(|v| json_string_literal(v)).collect();
                gbnf.push_str(
                    "root ::= \"{\" ws \"\\\"reason\\\"\" ws \":\" ws reason ws \",\" ws \"\\\"verdict\\\"\" ws \":\" ws verdict ws \"}\"\n",
                );
                gbnf.push_str(&format!("verdict ::= {}\n", choices.join(" | ")));
                gbnf.push_str(&format!(
                    "reason ::= \"\\\"\" char{{1,{reason_chars}}} \"\\\"\"\n"
                ));
                if *one_line {
                    gbnf.push_str("char ::= [^\"\\\\\\x00-\\x1F]\n");
                } else {
                    gbnf.push_str("char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\n\"\n");
                }
                json!({
                    "type": "object",
                    "properties": {
                        "reason": {"type": "string", "maxLength": reason_chars},
                        "verdict": {"type": "string", "enum": verdicts},
                    },
                    "required": ["reason", "verdict"],
                    "additionalProperties": false,
                })
            }
        };
        gbnf.push_str("ws ::= [ \\t\\n]{0,3}\n");
        Arc::new(AnswerShape {
            name: name.to_owned(),
            gbnf,
            schema,
        })
    }

    /// Reads the model's answer (the first `{` to the last `}`), holding it
    /// to the question: unknown options or verdicts are errors, a missing
    /// item is left where it is.
    pub fn parse(&self, text: &str) -> Result<Answer, String> {
        let start = text.find('{').ok_or("the answer has no JSON object")?;
        let end = text.rfind('}').ok_or("the answer has no JSON object")?;
        let object: serde_json::Map<String, Value> = serde_json::from_str(&text[start..=end])
            .map_err(|err| format!("the answer is not a JSON object: {err}"))?;
        match self {
            Question::PerItem { items, options } => {
                let mut placed = Vec::with_capacity(items.len());
                for item in items {
                    let choice = match object.get(item) {
                        Some(Value::String(choice)) if options.contains(choice) => choice.clone(),
                        Some(other) => {
                            return Err(format!("{item}: {other} is not one of {options:?}"));
                        }
                        None => continue,
                    };
                    placed.push((item.clone(), choice));
                }
                Ok(Answer::Placed(placed))
            }
            Question::Verdict { verdicts, .. } => {
                let verdict = object
                    .get("verdict")
                    .and_then(Value::as_str)
                    .filter(|v| verdicts.iter().any(|known| known == v))
                    .ok_or_else(|| format!("the verdict is not one of {verdicts:?}"))?;
                let reason = object
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                Ok(Answer::Verdict {
                    verdict: verdict.to_owned(),
                    reason,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn per_item_grammar_names_each_item_once_with_only_the_options() {
        let q = Question::PerItem {
            items: vec!["a \"b\".jpg".into(), "c.txt".into()],
            options: vec!["images".into(), "leave".into()],
        };
        let shape = q.shape("sort");
        assert!(
            shape.gbnf.contains(r#""\"a \\\"b\\\".jpg\"""#),
            "{}",
            shape.gbnf
        );
        assert!(
            shape
                .gbnf
                .contains(r#"choice ::= "\"images\"" | "\"leave\"""#),
            "{}",
            shape.gbnf
        );
        assert_eq!(shape.schema["required"], json!(["a \"b\".jpg", "c.txt"]));
    }

    #[test]
    fn an_option_outside_the_set_is_refused() {
        let q = Question::PerItem {
            items: vec!["a.jpg".into()],
            options: vec!["images".into(), "leave".into()],
        };
        assert!(q.parse(r#"{"a.jpg": "/etc"}"#).is_err());
        assert_eq!(
            q.parse(r#"{"a.jpg": "images"}"#).unwrap(),
            Answer::Placed(vec![("a.jpg".into(), "images".into())])
        );
    }

    #[test]
    fn a_verdict_outside_the_set_is_refused() {
        let q = Question::Verdict {
            verdicts: vec!["go".into(), "hold".into()],
            reason_chars: 80,
            one_line: true,
        };
        assert!(q.parse(r#"{"reason": "x", "verdict": "yolo"}"#).is_err());
        assert_eq!(
            q.parse(r#"<think>hm</think>{"reason": "tests failed", "verdict": "hold"}"#)
                .unwrap(),
            Answer::Verdict {
                verdict: "hold".into(),
                reason: "tests failed".into()
            }
        );
    }
}
