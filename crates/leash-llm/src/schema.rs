//! The JSON schema of an [`crate::ActionPlan`] for servers' `response_format`
//! (`{"type": "json_schema", "json_schema": {"name", "strict", "schema"}}`),
//! generated from the same action table as the grammar.
//!
//! Written for OpenAI's *strict* mode, which llama-server, LM Studio and
//! Ollama also understand: every object lists all its keys as required and
//! forbids others, and optional keys (`thought`, `cwd`) are required but
//! nullable — the parser reads `null` as absent. Variants are `anyOf` (strict
//! mode has no `oneOf`); each variant has exactly one action key, so at most
//! one alternative can match anyway. The schema cannot say "the first argv
//! element is non-empty" — nor "the first argv element is one of the policy's
//! programs" — in a way every server understands (`prefixItems` next to
//! `items` is ignored by llama.cpp's schema converter, which llama-server,
//! LM Studio and Ollama share), so the parser and the policy check those; a
//! policy that allows no program at all drops the `run` variant, as the
//! grammar does. With typed shapes ([`ProgramChoice::Typed`]) `cwd` and the
//! paths that must exist (sources of `move`, `copy`, `delete`) are an `enum`
//! of the workspace's entries; argv words stay plain strings (per-position
//! schemas are what the servers ignore), and the policy judges them. The length caps are the grammar's ([`StringRole::max_chars`],
//! [`MAX_ARGV_ITEMS`], [`MAX_ACTIONS_PER_ANSWER`]).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use crate::action::{
    ActionKind, MAX_ACTIONS_PER_ANSWER, MAX_ARGV_ITEM_CHARS, MAX_ARGV_ITEMS, Payload,
    ProgramChoice, SiblingKey, StringRole,
};
use crate::command_shapes::CommandShapes;

/// The name sent as `json_schema.name`.
pub const ACTIONS_SCHEMA_NAME: &str = "leash_action_plan";

/// A JSON value whose object keys keep their order when serialized.
///
/// `serde_json::Map` sorts keys (the workspace does not enable
/// `preserve_order`, and must not: other crates hash canonical JSON), but key
/// order matters here: servers generate keys in schema order, and the model
/// should write its `thought` before its `actions`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedJson(Node);

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Leaf(Value),
}

impl Node {
    fn to_value(&self) -> Value {
        match self {
            Node::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(key, node)| (key.clone(), node.to_value()))
                    .collect(),
            ),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Leaf(value) => value.clone(),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, node) in members {
                    map.serialize_entry(key, node)?;
                }
                map.end()
            }
            Node::Array(items) => items.serialize(serializer),
            Node::Leaf(value) => value.serialize(serializer),
        }
    }
}

impl Serialize for OrderedJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl OrderedJson {
    /// As a plain value (object keys then sort alphabetically).
    pub fn to_value(&self) -> Value {
        self.0.to_value()
    }
}

fn string_schema(role: StringRole) -> Node {
    let max = role.max_chars();
    Node::Leaf(match role {
        StringRole::Path => json!({"type": "string", "minLength": 1, "maxLength": max}),
        StringRole::Message | StringRole::Text => json!({"type": "string", "maxLength": max}),
    })
}

fn nullable(role: StringRole) -> Node {
    let max = role.max_chars();
    Node::Leaf(match role {
        StringRole::Path => json!({"type": ["string", "null"], "minLength": 1, "maxLength": max}),
        StringRole::Message | StringRole::Text => {
            json!({"type": ["string", "null"], "maxLength": max})
        }
    })
}

fn object(members: Vec<(&str, Node)>) -> Node {
    Node::Object(
        members
            .into_iter()
            .map(|(key, node)| (key.to_string(), node))
            .collect(),
    )
}

/// An object schema listing every property as required and no others.
fn closed_object(properties: Vec<(String, Node)>) -> Node {
    let required = properties
        .iter()
        .map(|(key, _)| Value::String(key.clone()))
        .collect();
    object(vec![
        ("type", Node::Leaf(json!("object"))),
        ("properties", Node::Object(properties)),
        ("required", Node::Leaf(Value::Array(required))),
        ("additionalProperties", Node::Leaf(json!(false))),
    ])
}

/// In a typed schema, a path that must exist is one of the workspace's
/// entries (the sources of `move`, `copy`, `delete`) and `cwd` one of its
/// directories: `enum`, which every server's converter honours.
fn typed_field(
    kind: ActionKind,
    field: &str,
    shapes: Option<&CommandShapes>,
) -> Option<Vec<Value>> {
    let shapes = shapes?;
    let entries = match (kind, field) {
        (ActionKind::Move | ActionKind::Copy, "from") | (ActionKind::Delete, _) => &shapes.existing,
        (ActionKind::Run, "cwd") => &shapes.directories,
        _ => return None,
    };
    let mut values: Vec<Value> = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_empty()) {
        let value = Value::String(entry.clone());
        if !values.contains(&value) {
            values.push(value);
        }
    }
    if values.is_empty() {
        values.push(json!("."));
    }
    Some(values)
}

fn field_schema(
    kind: ActionKind,
    field: &str,
    role: StringRole,
    shapes: Option<&CommandShapes>,
    nullable_field: bool,
) -> Node {
    match typed_field(kind, field, shapes) {
        Some(mut values) => {
            if nullable_field {
                values.push(Value::Null);
            }
            Node::Leaf(json!({ "enum": values }))
        }
        None if nullable_field => nullable(role),
        None => string_schema(role),
    }
}

fn payload_schema(kind: ActionKind, shapes: Option<&CommandShapes>) -> Node {
    match kind.payload() {
        Payload::Argv => object(vec![
            ("type", Node::Leaf(json!("array"))),
            ("minItems", Node::Leaf(json!(1))),
            ("maxItems", Node::Leaf(json!(MAX_ARGV_ITEMS))),
            (
                "items",
                Node::Leaf(json!({"type": "string", "maxLength": MAX_ARGV_ITEM_CHARS})),
            ),
        ]),
        Payload::String(role) => field_schema(kind, kind.key(), role, shapes, false),
        Payload::Fields(fields) => closed_object(
            fields
                .iter()
                .map(|(name, role)| {
                    (
                        (*name).to_string(),
                        field_schema(kind, name, *role, shapes, false),
                    )
                })
                .collect(),
        ),
    }
}

fn action_schema(kind: ActionKind, shapes: Option<&CommandShapes>) -> Node {
    let mut properties = vec![(kind.key().to_string(), payload_schema(kind, shapes))];
    for SiblingKey { name, role } in kind.siblings() {
        properties.push((
            (*name).to_string(),
            field_schema(kind, name, *role, shapes, true),
        ));
    }
    closed_object(properties)
}

fn plan_schema(programs: ProgramChoice<'_>) -> Node {
    let shapes = programs.shapes();
    let variants = ActionKind::ALL
        .into_iter()
        .filter(|kind| *kind != ActionKind::Run || programs.allows_run())
        .map(|kind| action_schema(kind, shapes))
        .collect();
    let mut actions = vec![
        ("type", Node::Leaf(json!("array"))),
        ("maxItems", Node::Leaf(json!(MAX_ACTIONS_PER_ANSWER))),
        ("items", object(vec![("anyOf", Node::Array(variants))])),
    ];
    if shapes.is_some_and(|s| s.actions_required) {
        actions.insert(1, ("minItems", Node::Leaf(json!(1))));
    }
    let actions = object(actions);
    closed_object(vec![
        ("thought".into(), nullable(StringRole::Message)),
        ("actions".into(), actions),
        ("done".into(), Node::Leaf(json!({"type": "boolean"}))),
    ])
}

/// The schema of one answer: `{"thought", "actions", "done"}`, as a plain
/// value (keys sorted; send [`actions_response_format`] to keep their order).
pub fn actions_json_schema(programs: ProgramChoice<'_>) -> Value {
    plan_schema(programs).to_value()
}

/// The whole `response_format` value for a Chat Completions request, with the
/// schema's keys in their intended order.
pub fn actions_response_format(programs: ProgramChoice<'_>) -> OrderedJson {
    OrderedJson(object(vec![
        ("type", Node::Leaf(json!("json_schema"))),
        (
            "json_schema",
            object(vec![
                ("name", Node::Leaf(json!(ACTIONS_SCHEMA_NAME))),
                ("strict", Node::Leaf(json!(true))),
                ("schema", plan_schema(programs)),
            ]),
        ),
    ]))
}

impl OrderedJson {
    /// A document whose member order does not matter (or is already the
    /// order `serde_json` keeps): e.g. a skill's answer shape.
    pub fn from_value(value: Value) -> Self {
        OrderedJson(Node::Leaf(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_format_keeps_thought_before_actions() {
        let text = serde_json::to_string(&actions_response_format(ProgramChoice::Any)).unwrap();
        let thought = text.find("\"thought\"").unwrap();
        let actions = text.find("\"actions\"").unwrap();
        assert!(thought < actions, "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["json_schema"]["schema"],
            actions_json_schema(ProgramChoice::Any)
        );
    }

    #[test]
    fn typed_shapes_make_cwd_and_sources_enums_of_real_entries() {
        let shapes = CommandShapes {
            programs: vec![],
            existing: vec![".".into(), "a.txt".into(), "a.txt".into()],
            directories: vec![".".into(), "logs".into()],
            named: vec![],
            read_only: false,
            actions_required: false,
        };
        let schema = actions_json_schema(ProgramChoice::Typed(&shapes));
        let variants = schema["properties"]["actions"]["items"]["anyOf"]
            .as_array()
            .unwrap();
        let find = |key: &str| {
            variants
                .iter()
                .find(|v| v["properties"].get(key).is_some())
                .unwrap()
                .clone()
        };
        assert_eq!(
            find("delete")["properties"]["delete"]["enum"],
            json!([".", "a.txt"])
        );
        assert_eq!(
            find("move")["properties"]["move"]["properties"]["from"]["enum"],
            json!([".", "a.txt"])
        );
        assert_eq!(
            find("move")["properties"]["move"]["properties"]["to"]["type"],
            json!("string")
        );
        assert!(
            variants
                .iter()
                .all(|v| v["properties"].get("run").is_none())
        );
    }

    #[test]
    fn no_programs_drops_the_run_variant() {
        let variants = |programs| {
            actions_json_schema(programs)["properties"]["actions"]["items"]["anyOf"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(variants(ProgramChoice::Any), ActionKind::ALL.len());
        let ls = ["ls".to_string()];
        assert_eq!(variants(ProgramChoice::OneOf(&ls)), ActionKind::ALL.len());
        assert_eq!(
            variants(ProgramChoice::OneOf(&[])),
            ActionKind::ALL.len() - 1
        );
    }
}
