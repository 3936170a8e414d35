//! Turns the built-in rules documents (`src/rules/*.yaml`, written by people)
//! into compact JSON at build time, so that loading the policy parses JSON —
//! many times faster than YAML — instead of YAML on every CLI call.
//!
//! The conversion reads each document with the policy's own document types
//! (`src/rules/format.rs`, included here), so YAML's typing (`n` is a string
//! where the type says string) is applied exactly as at run time;
//! `rules::tests::precompiled_builtins_equal_the_yaml` checks that every
//! document reads the same either way, and the built-in examples are checked
//! by `rules::tests::every_builtin_example_holds` (so a built-in rule whose
//! example fails cannot ship). A document that does not read is a build error.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    clippy::print_stdout,
    dead_code
)]

use std::path::Path;

// The document types and what they use, as in the crate (`crate::Decision`).
#[path = "src/decision.rs"]
mod decision;
#[path = "src/rules/format.rs"]
mod format;
use decision::Decision;

/// The built-in documents, in load order (file name under `src/rules/`).
const SOURCES: &[&str] = &[
    "programs_core.yaml",
    "programs_text.yaml",
    "programs_files.yaml",
    "programs_git.yaml",
    "programs_dev.yaml",
    "programs_system.yaml",
    "builtin.yaml",
];

/// The files the precompiled table (`src/rules/builtin.table`) is made from:
/// the documents and the code that compiles and stores them. Their
/// fingerprint goes into the binary; a table with another one is not read.
const TABLE_INPUTS: &[&str] = &[
    "src/rules/compile.rs",
    "src/rules/condition.rs",
    "src/rules/format.rs",
    "src/rules/lazy_regex.rs",
    "src/rules/mod.rs",
    "src/rules/table.rs",
    "src/spec.rs",
    "src/options.rs",
    "src/decision.rs",
];

/// FNV-1a (64 bit) over each input's name, length and bytes: a fingerprint
/// of the sources, not a defence against anyone (who can change the binary
/// can change the table with it), so a simple hash is enough.
fn fingerprint() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let documents = SOURCES.iter().map(|n| format!("src/rules/{n}"));
    for path in documents.chain(TABLE_INPUTS.iter().map(|p| (*p).to_owned())) {
        println!("cargo::rerun-if-changed={path}");
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
        feed(path.as_bytes());
        feed(&(bytes.len() as u64).to_le_bytes());
        feed(&bytes);
    }
    format!("{hash:016x}")
}

fn main() {
    println!(
        "cargo::rustc-env=LEASH_POLICY_SOURCES_FINGERPRINT={}",
        fingerprint()
    );
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in SOURCES {
        let path = Path::new("src/rules").join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        println!("cargo::rerun-if-changed=src/rules/format.rs");
        println!("cargo::rerun-if-changed=src/decision.rs");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        let doc: format::RulesDocument = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not a rules document: {err}", path.display()));
        let json = serde_json::to_string(&doc).expect("a rules document serializes");
        let target = Path::new(&out_dir).join(name.replace(".yaml", ".json"));
        std::fs::write(&target, json)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", target.display()));
    }
}
