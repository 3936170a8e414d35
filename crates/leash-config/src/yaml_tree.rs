//! A YAML document as a tree whose every node remembers where it came from.
//!
//! Built directly from saphyr-parser's events rather than through a generic YAML
//! value type, so that (a) every node and every key keeps its line and column,
//! (b) every duplicate key is reported rather than only the first, and (c) plain
//! scalars are typed by the YAML 1.2 core schema while quoted scalars always stay
//! strings (`"60"` is a string, `60` an integer, `no` a string, not `false`).

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput, Tag};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;
/// Nodes that aliases may copy in, in total (defends against "billion laughs").
const ALIAS_BUDGET: usize = 10_000;

/// Where a node came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    /// The config file, 1-based line and column.
    File { line: usize, column: usize },
    /// A layer above the file: an environment variable or a `--set` flag, named by `label`.
    Override { label: Rc<str> },
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: Value,
    pub(crate) origin: Origin,
}

/// The shapes a node can have.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A scalar's text as written, and its core-schema type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    pub(crate) kind: ScalarKind,
}

/// Core-schema type of a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScalarKind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

/// One `key: value` pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_origin: Origin,
    pub(crate) value: Node,
}

/// A problem found while building the tree: `key` is the dotted path of the
/// node it concerns (empty for the document).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TreeProblem {
    pub(crate) key: String,
    pub(crate) origin: Origin,
    pub(crate) message: String,
}

/// A parsed document and the non-fatal problems (duplicate keys) found in it.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) root: Node,
    pub(crate) problems: Vec<TreeProblem>,
}

impl Node {
    /// A null node (an absent document, an empty value).
    pub(crate) fn null(origin: Origin) -> Node {
        Node {
            value: Value::Scalar(Scalar {
                text: String::new(),
                kind: ScalarKind::Null,
            }),
            origin,
        }
    }

    /// Whether this is a null scalar (`~`, `null`, or nothing at all).
    pub(crate) fn is_null(&self) -> bool {
        matches!(
            &self.value,
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            })
        )
    }

    /// What the node is, for "expected X, found Y" messages.
    pub(crate) fn describe(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar(s) => match s.kind {
                ScalarKind::Null => "nothing (null)",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int(_) => "an integer",
                ScalarKind::Float(_) => "a number",
                ScalarKind::Str => "a string",
            },
        }
    }
}

/// Parse a whole config file. `Err` is a YAML syntax error (fatal: nothing after
/// it can be trusted).
pub(crate) fn parse_file(text: &str) -> Result<Document, TreeProblem> {
    Builder::new(text, None).document()
}

/// Parse the value of an override (`--set key=VALUE`, `LEASH_X=VALUE`) as a YAML
/// document; every node is attributed to `label`.
pub(crate) fn parse_override(text: &str, label: Rc<str>) -> Result<Document, TreeProblem> {
    Builder::new(text, Some(label)).document()
}

struct Builder<'i> {
    parser: Parser<'i, StrInput<'i>>,
    label: Option<Rc<str>>,
    anchors: HashMap<usize, Node>,
    alias_budget: usize,
    problems: Vec<TreeProblem>,
}

impl<'i> Builder<'i> {
    fn new(text: &'i str, label: Option<Rc<str>>) -> Self {
        Builder {
            parser: Parser::new_from_str(text),
            label,
            anchors: HashMap::new(),
            alias_budget: ALIAS_BUDGET,
            problems: Vec::new(),
        }
    }

    fn origin(&self, span: &Span) -> Origin {
        match &self.label {
            Some(label) => Origin::Override {
                label: Rc::clone(label),
            },
            None => Origin::File {
                line: span.start.line(),
                column: span.start.col() + 1,
            },
        }
    }

    fn problem(&self, key: &str, span: &Span, message: impl Into<String>) -> TreeProblem {
        TreeProblem {
            key: key.to_string(),
            origin: self.origin(span),
            message: message.into(),
        }
    }

    fn next(&mut self) -> Result<(Event<'i>, Span), TreeProblem> {
        match self.parser.next() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(scan)) => {
                let marker = scan.marker();
                let origin = match &self.label {
                    Some(label) => Origin::Override {
                        label: Rc::clone(label),
                    },
                    None => Origin::File {
                        line: marker.line(),
                        column: marker.col() + 1,
                    },
                };
                Err(TreeProblem {
                    key: String::new(),
                    origin,
                    message: format!("invalid YAML: {}", scan.info()),
                })
            }
            None => Err(TreeProblem {
                key: String::new(),
                origin: self.origin(&Span::empty(saphyr_parser::Marker::new(0, 1, 0))),
                message: "invalid YAML: unexpected end of input".into(),
            }),
        }
    }

    fn document(mut self) -> Result<Document, TreeProblem> {
        let (first, span) = self.next()?;
        if first != Event::StreamStart {
            return Err(self.problem("", &span, "invalid YAML: missing stream start"));
        }
        let (event, span) = self.next()?;
        let root = match event {
            Event::StreamEnd => {
                return Ok(Document {
                    root: Node::null(self.origin(&span)),
                    problems: self.problems,
                });
            }
            Event::DocumentStart(_) => {
                let (event, span) = self.next()?;
                self.node(event, span, "", 0)?
            }
            other => {
                return Err(self.problem("", &span, format!("invalid YAML: unexpected {other:?}")));
            }
        };
        let (end, span) = self.next()?;
        if end != Event::DocumentEnd {
            return Err(self.problem("", &span, "invalid YAML: document does not end"));
        }
        let (after, span) = self.next()?;
        match after {
            Event::StreamEnd => Ok(Document {
                root,
                problems: self.problems,
            }),
            _ => Err(self.problem(
                "",
                &span,
                "a config holds exactly one YAML document; found a second one (`---`)",
            )),
        }
    }

    fn node(
        &mut self,
        event: Event<'i>,
        span: Span,
        path: &str,
        depth: usize,
    ) -> Result<Node, TreeProblem> {
        if depth > MAX_DEPTH {
            return Err(self.problem(
                path,
                &span,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let origin = self.origin(&span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let kind = self.scalar_kind(&text, style, tag.as_deref(), path, &span)?;
                (
                    Node {
                        value: Value::Scalar(Scalar {
                            text: text.into_owned(),
                            kind,
                        }),
                        origin,
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "seq", path, &span)?;
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if event == Event::SequenceEnd {
                        break;
                    }
                    let item_path = format!("{path}[{}]", items.len());
                    items.push(self.node(event, span, &item_path, depth + 1)?);
                }
                (
                    Node {
                        value: Value::Seq(items),
                        origin,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                self.check_collection_tag(tag.as_deref(), "map", path, &span)?;
                (
                    Node {
                        value: Value::Map(self.mapping_entries(path, depth)?),
                        origin,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(self.problem(path, &span, "alias to an unknown anchor"));
                };
                let size = count_nodes(&target);
                if size > self.alias_budget {
                    return Err(self.problem(path, &span, "aliases expand to too many nodes"));
                }
                self.alias_budget -= size;
                return Ok(Node {
                    value: target.value,
                    origin,
                });
            }
            other => {
                return Err(self.problem(
                    path,
                    &span,
                    format!("invalid YAML: unexpected {other:?}"),
                ));
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping_entries(&mut self, path: &str, depth: usize) -> Result<Vec<Entry>, TreeProblem> {
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            let (event, key_span) = self.next()?;
            if event == Event::MappingEnd {
                return Ok(entries);
            }
            let key_node = self.node(event, key_span, path, depth + 1)?;
            let key = match &key_node.value {
                Value::Scalar(s) if !matches!(s.kind, ScalarKind::Null) => s.text.clone(),
                _ => {
                    return Err(self.problem(
                        path,
                        &key_span,
                        format!("a key must be a plain word, found {}", key_node.describe()),
                    ));
                }
            };
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let (event, span) = self.next()?;
            let value = self.node(event, span, &child_path, depth + 1)?;
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                let first_at = match &first.key_origin {
                    Origin::File { line, .. } => format!(" (first at line {line})"),
                    Origin::Override { .. } => String::new(),
                };
                self.problems.push(TreeProblem {
                    key: child_path,
                    origin: key_node.origin.clone(),
                    message: format!("duplicate key {key:?}{first_at}"),
                });
                continue;
            }
            entries.push(Entry {
                key,
                key_origin: key_node.origin,
                value,
            });
        }
    }

    fn scalar_kind(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        path: &str,
        span: &Span,
    ) -> Result<ScalarKind, TreeProblem> {
        match tag {
            None => Ok(if style == ScalarStyle::Plain {
                resolve_plain(text)
            } else {
                ScalarKind::Str
            }),
            Some(tag) if is_core(tag, "str") => Ok(ScalarKind::Str),
            Some(tag)
                if ["int", "float", "bool", "null"]
                    .iter()
                    .any(|s| is_core(tag, s)) =>
            {
                Ok(resolve_plain(text))
            }
            Some(tag) => Err(self.problem(path, span, format!("unsupported YAML tag {tag}"))),
        }
    }

    fn check_collection_tag(
        &self,
        tag: Option<&Tag>,
        suffix: &str,
        path: &str,
        span: &Span,
    ) -> Result<(), TreeProblem> {
        match tag {
            None => Ok(()),
            Some(tag) if is_core(tag, suffix) => Ok(()),
            Some(tag) => Err(self.problem(path, span, format!("unsupported YAML tag {tag}"))),
        }
    }
}

fn is_core(tag: &Tag, suffix: &str) -> bool {
    (tag.is_yaml_core_schema() || tag.handle == "!!") && tag.suffix == suffix
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar(_) => 0,
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|e| count_nodes(&e.value)).sum(),
    }
}

/// The YAML 1.2 core schema's resolution of a plain scalar.
pub(crate) fn resolve_plain(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" => return ScalarKind::Bool(true),
        "false" | "False" | "FALSE" => return ScalarKind::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return ScalarKind::Float(f64::NAN),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return ScalarKind::Float(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(v) = i128::from_str_radix(hex, 16)
    {
        return ScalarKind::Int(v);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(v) = i128::from_str_radix(oct, 8)
    {
        return ScalarKind::Int(v);
    }
    if !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v) = text.parse::<i128>()
    {
        return ScalarKind::Int(v);
    }
    if is_core_float(unsigned)
        && let Ok(v) = text.parse::<f64>()
    {
        return ScalarKind::Float(v);
    }
    ScalarKind::Str
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, sign already removed.
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit()))
                && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("", ScalarKind::Null)]
    #[case("~", ScalarKind::Null)]
    #[case("true", ScalarKind::Bool(true))]
    #[case("FALSE", ScalarKind::Bool(false))]
    #[case("no", ScalarKind::Str)]
    #[case("60", ScalarKind::Int(60))]
    #[case("-3", ScalarKind::Int(-3))]
    #[case("0x1f", ScalarKind::Int(31))]
    #[case("0.7", ScalarKind::Float(0.7))]
    #[case("1e3", ScalarKind::Float(1000.0))]
    #[case(".5", ScalarKind::Float(0.5))]
    #[case("1.2.3", ScalarKind::Str)]
    #[case("127.0.0.1:8765", ScalarKind::Str)]
    #[case("prompt", ScalarKind::Str)]
    fn plain_scalars_follow_the_core_schema(#[case] text: &str, #[case] expected: ScalarKind) {
        assert_eq!(resolve_plain(text), expected);
    }

    #[test]
    fn quoted_scalars_stay_strings_and_nodes_keep_their_line() {
        let doc = parse_file("a:\n  b: \"60\"\n  c: 60\n").unwrap();
        let Value::Map(top) = &doc.root.value else {
            panic!("not a map")
        };
        let Value::Map(inner) = &top[0].value.value else {
            panic!("not a map")
        };
        assert_eq!(inner[0].value.describe(), "a string");
        assert_eq!(inner[1].value.describe(), "an integer");
        assert_eq!(inner[1].value.origin, Origin::File { line: 3, column: 6 });
    }

    #[test]
    fn every_duplicate_key_is_reported() {
        let doc = parse_file("a: 1\nb: 2\na: 3\nb: 4\n").unwrap();
        let keys: Vec<_> = doc
            .problems
            .iter()
            .map(|p| (p.key.as_str(), p.origin.clone()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a", Origin::File { line: 3, column: 1 }),
                ("b", Origin::File { line: 4, column: 1 }),
            ]
        );
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse_file("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(err.origin, Origin::File { .. }), "{err:?}");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn aliases_are_copied_and_bombs_refused() {
        let doc = parse_file("a: &x [1, 2]\nb: *x\n").unwrap();
        let Value::Map(top) = &doc.root.value else {
            panic!("not a map")
        };
        assert_eq!(top[1].value.value, top[0].value.value);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(parse_file(&bomb).is_err());
    }

    #[test]
    fn empty_input_is_a_null_document() {
        assert!(parse_file("").unwrap().root.is_null());
        assert!(parse_file("# only a comment\n").unwrap().root.is_null());
    }
}
