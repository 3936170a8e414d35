//! Turns the built-in rules documents (`src/rules/*.yaml`, written by people)
//! into compact JSON at build time, so that loading the policy parses JSON —
//! many times faster than YAML — instead of YAML on every CLI call.
//!
//! The conversion goes through `serde_json::Value` and does not know the
//! document types; `rules::tests::precompiled_builtins_equal_the_yaml` checks
//! that every document reads the same either way, and the built-in examples
//! are checked by `rules::tests::every_builtin_example_holds` (so a built-in
//! rule whose example fails cannot ship).
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used, clippy::print_stdout)]

use std::path::Path;

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

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for name in SOURCES {
        let path = Path::new("src/rules").join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        let value: serde_json::Value = serde_saphyr::from_str(&text)
            .unwrap_or_else(|err| panic!("{} is not valid YAML: {err}", path.display()));
        let json = serde_json::to_string(&value).expect("a JSON value serializes");
        let target = Path::new(&out_dir).join(name.replace(".yaml", ".json"));
        std::fs::write(&target, json)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", target.display()));
    }
}
