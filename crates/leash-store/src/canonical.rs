//! The canonical JSON serialization the audit hash is computed over.
//!
//! The bytes must be the same on every machine and every future build, so they
//! are written here by hand rather than left to `serde_json`'s map ordering
//! (which depends on its `preserve_order` feature, and any crate in the build can
//! turn that on). The rules:
//!
//! * objects: members sorted by key, compared as UTF-8 bytes, at every depth;
//! * no whitespace anywhere; `,` and `:` as separators;
//! * strings: `"` and `\` escaped with a backslash, the control characters
//!   U+0000–U+001F as `\b \t \n \f \r` or `\u00XX` (lower-case hex), everything
//!   else as literal UTF-8 (no `\uXXXX` for non-ASCII, `/` not escaped);
//! * numbers: as `serde_json` prints a `Number` — integers in plain decimal,
//!   floats in the shortest form that reads back to the same `f64`
//!   (the crate enables `float_roundtrip` so reading back is exact);
//! * `true`, `false`, `null` as themselves.
//!
//! This is close to, but not claimed to be, RFC 8785 (which sorts keys by UTF-16
//! code units and formats numbers the ECMAScript way).

use std::fmt::Write as _;

use serde_json::Value;

/// Serializes `value` canonically (see the module documentation).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            // `Number`'s Display is infallible into a String.
            let _ = write!(out, "{number}");
        }
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (index, (key, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, member);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::canonical_json;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case::keys_sorted_at_every_depth(
        json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": null}}),
        r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#
    )]
    #[case::keys_sorted_bytewise_not_by_locale(json!({"b": 1, "B": 2, "é": 3, "a": 4}), r#"{"B":2,"a":4,"b":1,"é":3}"#)]
    #[case::control_characters_escaped(json!("a\u{1}\n\t\"\\/é"), "\"a\\u0001\\n\\t\\\"\\\\/é\"")]
    #[case::numbers_as_written(json!([1, -2, 1.5, 1.0, 1e300, u64::MAX]), "[1,-2,1.5,1.0,1e+300,18446744073709551615]")]
    #[case::literals(json!([true, false, null, [], {}]), "[true,false,null,[],{}]")]
    fn canonical_form(#[case] value: serde_json::Value, #[case] expected: &str) {
        assert_eq!(canonical_json(&value), expected);
    }

    #[test]
    fn canonical_text_reads_back_to_the_same_value() {
        let value = json!({"f": 0.1, "g": 2.2250738585072014e-308, "s": "\u{7f}\u{1f}x", "n": [1, {"k": "v"}]});
        let text = canonical_json(&value);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert_eq!(canonical_json(&back), text);
    }
}
