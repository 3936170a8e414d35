//! The effective config as YAML text, for `leash config check`.
//!
//! The config is serialized to JSON (which keeps the schema's field order),
//! read back with this crate's YAML tree (JSON is YAML's flow style), and
//! written out in block style. Strings are always double-quoted with JSON
//! escapes, which YAML accepts, so the output loads back to the same config.

use crate::schema::Config;
use crate::yaml_tree::{Node, ScalarKind, Value, parse_file};

/// Why the config could not be rendered (only a path that is not valid UTF-8).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// serde_json could not serialize the config.
    #[error("cannot serialize the config: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The serialized config did not read back as YAML.
    #[error("cannot re-read the serialized config: {0}")]
    Reparse(String),
}

/// Render `config` as block-style YAML, sections in schema order.
pub fn render_yaml(config: &Config) -> Result<String, RenderError> {
    let json = serde_json::to_string(config)?;
    let doc = parse_file(&json).map_err(|p| RenderError::Reparse(p.message))?;
    let mut out = String::new();
    match &doc.root.value {
        Value::Map(_) => write_map(&doc.root, 0, false, &mut out)?,
        Value::Scalar(_) | Value::Seq(_) => {
            return Err(RenderError::Reparse("not a mapping".into()));
        }
    }
    Ok(out)
}

fn pad(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_map(
    node: &Node,
    indent: usize,
    first_inline: bool,
    out: &mut String,
) -> Result<(), RenderError> {
    let Value::Map(entries) = &node.value else {
        return Ok(());
    };
    for (i, entry) in entries.iter().enumerate() {
        if !(first_inline && i == 0) {
            pad(indent, out);
        }
        out.push_str(&entry.key);
        out.push(':');
        write_value(&entry.value, indent, out)?;
    }
    Ok(())
}

/// A value after `key:` or `-`: nested block collections on the next lines,
/// everything else on the same line.
fn write_value(node: &Node, indent: usize, out: &mut String) -> Result<(), RenderError> {
    match &node.value {
        Value::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(node, indent + 2, false, out)
        }
        Value::Seq(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                pad(indent + 2, out);
                out.push('-');
                match &item.value {
                    Value::Map(entries) if !entries.is_empty() => {
                        out.push(' ');
                        write_map(item, indent + 4, true, out)?;
                    }
                    Value::Map(_) | Value::Seq(_) | Value::Scalar(_) => {
                        write_value(item, indent + 2, out)?
                    }
                }
            }
            Ok(())
        }
        Value::Map(_) => {
            out.push_str(" {}\n");
            Ok(())
        }
        Value::Seq(_) => {
            out.push_str(" []\n");
            Ok(())
        }
        Value::Scalar(scalar) => {
            out.push(' ');
            match scalar.kind {
                ScalarKind::Str => out.push_str(&serde_json::to_string(&scalar.text)?),
                ScalarKind::Null => out.push_str("null"),
                ScalarKind::Bool(_) | ScalarKind::Int(_) | ScalarKind::Float(_) => {
                    out.push_str(&scalar.text)
                }
            }
            out.push('\n');
            Ok(())
        }
    }
}
