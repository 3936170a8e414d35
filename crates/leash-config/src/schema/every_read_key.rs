//! Every key a section's `read` asks for is one of its struct's fields: a
//! misspelt read (`f.node("audit_lgo")`) would otherwise accept the key and
//! silently ignore it. [`Fields::node`](crate::reader::Fields::node) records
//! such a name and the load fails; these tests read every section (and every
//! trigger kind, whose keys are checked per kind) so a misspelt read anywhere
//! in the schema fails here.

use std::collections::BTreeMap;

use crate::env::EnvVars;
use crate::reader::{ReadContext, Reader};
use crate::yaml_tree::parse_file;

use super::Config;

/// The schema's errors (not the file's): those a misspelt read produces.
const SCHEMA_SOURCE: &str = "leash-config schema";

/// Runs `read` with a fresh reader (no file directory, a fixed `HOME`).
fn with_reader<T>(read: impl FnOnce(&mut Reader<'_>) -> T) -> T {
    let env = EnvVars::from_pairs([("HOME", "/home/test")]);
    let mut r = Reader::new(ReadContext {
        env: &env,
        file_name: "test.yaml",
        file_dir: None,
        cwd: None,
    });
    read(&mut r)
}

/// Read `text` and return every error, the schema's included.
fn read_errors(text: &str) -> Vec<crate::error::ConfigError> {
    let doc = parse_file(text).unwrap_or_else(|e| panic!("test YAML does not parse: {e:?}"));
    with_reader(|r| {
        let _ = Config::read(r, &doc.root);
        r.take_errors()
    })
}

/// A nested YAML mapping with every section of [`super::key_table`] present
/// (empty), one trigger of each kind and one named model, so every `read`
/// function runs and asks for each of its keys.
fn every_section_yaml() -> String {
    #[derive(Default)]
    struct Tree(BTreeMap<String, Tree>);
    let mut root = Tree::default();
    for (parent, _) in super::key_table() {
        if parent.is_empty() || parent.contains("[]") {
            continue;
        }
        let mut at = &mut root;
        for part in parent.split('.') {
            at = at.0.entry(part.to_owned()).or_default();
        }
    }
    fn render(tree: &Tree, indent: usize, out: &mut String) {
        for (key, child) in &tree.0 {
            out.push_str(&format!("{}{key}:\n", " ".repeat(indent)));
            render(child, indent + 2, out);
        }
    }
    let mut text = String::new();
    render(&root, 0, &mut text);
    text.push_str("models:\n  m:\n    backend: openai\n");
    text.push_str("triggers:\n");
    for kind in ["file", "schedule", "git", "watch"] {
        text.push_str(&format!("  - kind: {kind}\n"));
    }
    text
}

#[test]
fn every_key_the_schema_reads_is_a_field_of_its_section() {
    let text = every_section_yaml();
    // The YAML opens every mapping the key table names, so no section is skipped.
    for (parent, _) in super::key_table() {
        let last = parent
            .rsplit('.')
            .next()
            .unwrap_or(parent)
            .trim_end_matches("[]");
        assert!(
            text.contains(&format!("{last}:")),
            "the test YAML does not open `{parent}`:\n{text}"
        );
    }
    let misreads: Vec<_> = read_errors(&text)
        .into_iter()
        .filter(|e| e.source_name == SCHEMA_SOURCE)
        .collect();
    assert!(misreads.is_empty(), "misspelt reads: {misreads:#?}");
}

#[test]
fn a_misspelt_read_fails_the_load_naming_the_section_and_key() {
    let doc =
        parse_file("logging:\n  audit_log: /tmp/audit.jsonl\n").unwrap_or_else(|e| panic!("{e:?}"));
    let logging = match &doc.root.value {
        crate::yaml_tree::Value::Map(entries) => &entries[0].value,
        other => panic!("expected a mapping, got {other:?}"),
    };
    let errors = with_reader(|r| {
        let f = r.fields(logging, "logging", super::logging::LoggingConfig::keys());
        // The right spelling is found; the misspelt one finds nothing and is recorded.
        assert!(f.node("audit_log").is_some());
        assert!(f.node("audit_lgo").is_none());
        r.take_errors()
    });
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].key, "logging.audit_lgo");
    assert_eq!(errors[0].source_name, SCHEMA_SOURCE);
    assert!(
        errors[0].message.contains("`audit_lgo`") && errors[0].message.contains("`logging`"),
        "{}",
        errors[0].message
    );
}
