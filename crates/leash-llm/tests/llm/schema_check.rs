//! A JSON-schema validator for exactly the keywords leash's schema uses
//! (`type` as a name or list, `properties`, `required`,
//! `additionalProperties: false`, `items`, `anyOf`, `minItems`, `maxItems`,
//! `minLength`, `maxLength`).
//! Any other keyword makes it panic, so the schema cannot quietly grow
//! beyond what this oracle checks.

use serde_json::Value;

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("schema_check: unsupported type {other}"),
    }
}

pub fn valid(schema: &Value, value: &Value) -> bool {
    let schema = schema.as_object().expect("a schema is an object");
    for (keyword, argument) in schema {
        let ok = match keyword.as_str() {
            "type" => match argument {
                Value::String(name) => type_matches(name, value),
                Value::Array(names) => names
                    .iter()
                    .any(|n| type_matches(n.as_str().unwrap(), value)),
                other => panic!("schema_check: bad type {other}"),
            },
            "properties" => match value.as_object() {
                Some(object) => argument
                    .as_object()
                    .unwrap()
                    .iter()
                    .all(|(key, sub)| object.get(key).is_none_or(|v| valid(sub, v))),
                None => true,
            },
            "required" => match value.as_object() {
                Some(object) => argument
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|key| object.contains_key(key.as_str().unwrap())),
                None => true,
            },
            "additionalProperties" => {
                assert_eq!(argument, &Value::Bool(false));
                match value.as_object() {
                    Some(object) => {
                        let properties = schema["properties"].as_object().unwrap();
                        object.keys().all(|key| properties.contains_key(key))
                    }
                    None => true,
                }
            }
            "items" => match value.as_array() {
                Some(items) => items.iter().all(|item| valid(argument, item)),
                None => true,
            },
            "anyOf" => argument
                .as_array()
                .unwrap()
                .iter()
                .any(|sub| valid(sub, value)),
            "minItems" => value
                .as_array()
                .is_none_or(|items| items.len() as u64 >= argument.as_u64().unwrap()),
            "maxItems" => value
                .as_array()
                .is_none_or(|items| items.len() as u64 <= argument.as_u64().unwrap()),
            "maxLength" => value
                .as_str()
                .is_none_or(|text| text.chars().count() as u64 <= argument.as_u64().unwrap()),
            "minLength" => value
                .as_str()
                .is_none_or(|text| text.chars().count() as u64 >= argument.as_u64().unwrap()),
            other => panic!("schema_check: unsupported keyword {other}"),
        };
        if !ok {
            return false;
        }
    }
    true
}
