//! The commented config `leash init` writes documents exactly the keys the
//! schema implements: each key is spelled once, in its struct, and this test
//! holds the documentation to it in both directions.
//!
//! A key counts as documented when it appears in `default_config.yaml` as a
//! YAML key, set or commented out (`# key: value`), at its place in the tree
//! (`- key:` under a list opens an item of it, `triggers[]`). Maps keyed by
//! names the person chooses (`models`, whose entries have `model:`'s keys)
//! are documented by their own key. So prose in the file never starts a line
//! with a lone lower-case word and a colon: that reads as a key.

use std::collections::BTreeSet;

/// Maps whose keys are the person's names, not the schema's.
const NAMED_ENTRY_MAPS: &[&str] = &["models"];

/// The dotted keys the schema implements (`security.limits.timeout_s`,
/// `triggers[].name`).
fn implemented() -> BTreeSet<String> {
    super::key_table()
        .into_iter()
        .flat_map(|(parent, keys)| {
            keys.iter().map(move |key| {
                if parent.is_empty() {
                    (*key).to_owned()
                } else {
                    format!("{parent}.{key}")
                }
            })
        })
        .collect()
}

/// The dotted keys `text` shows, set or commented out.
fn documented(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // (indent, dotted path) of the keys that enclose the current line.
    let mut stack: Vec<(usize, String)> = Vec::new();
    for raw in text.lines() {
        // A commented-out key reads as the key itself: "  # path: x" is
        // "  path: x", "  #   read: []" is "    read: []".
        let line = match raw.trim_start().strip_prefix('#') {
            Some(rest) => {
                let before = raw.len() - raw.trim_start().len();
                format!(
                    "{}{}",
                    " ".repeat(before),
                    rest.strip_prefix(' ').unwrap_or(rest)
                )
            }
            None => raw.to_owned(),
        };
        let mut indent = line.len() - line.trim_start().len();
        let mut body = line.trim_start();
        let mut item = false;
        if let Some(rest) = body.strip_prefix("- ") {
            item = true;
            indent += 2;
            body = rest;
        }
        let Some((key, _)) = body.split_once(':') else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        // A list item's first key closes the previous item (which sits one
        // column left of its keys) and opens a new one.
        let closes = if item { indent - 1 } else { indent };
        while stack.last().is_some_and(|(i, _)| *i >= closes) {
            stack.pop();
        }
        if item {
            let list = stack.last().map(|(_, p)| p.clone()).unwrap_or_default();
            stack.push((indent - 1, format!("{list}[]")));
        }
        let parent = stack.last().map(|(_, p)| p.clone());
        if parent
            .as_deref()
            .is_some_and(|p| NAMED_ENTRY_MAPS.contains(&p))
        {
            continue;
        }
        let path = match parent {
            Some(p) => format!("{p}.{key}"),
            None => key.to_owned(),
        };
        found.insert(path.clone());
        stack.push((indent, path));
    }
    found
}

#[test]
fn every_implemented_key_is_documented_and_every_documented_key_is_implemented() {
    let implemented = implemented();
    let documented = documented(include_str!("../default_config.yaml"));
    let undocumented: Vec<_> = implemented.difference(&documented).collect();
    let unimplemented: Vec<_> = documented.difference(&implemented).collect();
    assert!(
        undocumented.is_empty(),
        "keys the schema reads but default_config.yaml does not show: {undocumented:?}"
    );
    assert!(
        unimplemented.is_empty(),
        "keys default_config.yaml shows but the schema does not read: {unimplemented:?}"
    );
}

#[test]
fn the_reader_finds_set_commented_nested_and_list_item_keys() {
    let text = "a:\n  b: 1\n  # c: 2\n  # d:\n  #   e: []\nl:\n#   - name: x\n#     kind: y\n";
    let found: Vec<String> = documented(text).into_iter().collect();
    assert_eq!(
        found,
        [
            "a", "a.b", "a.c", "a.d", "a.d.e", "l", "l[].kind", "l[].name"
        ]
    );
}
