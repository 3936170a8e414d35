//! The built-in rules, precompiled: the [`RuleSet`] compiled from the
//! built-in YAML documents (program grammars and rules), stored in
//! `builtin.table` with `postcard` and read back at load — no YAML or JSON
//! parsing, no grammar compiling, no example checking, no regex compiling on
//! the path of every CLI call.
//!
//! Why a checked-in file, not `build.rs`: the table is the output of this
//! crate's own compiler (`compile.rs` and everything it uses), which a build
//! script cannot run without building the crate inside itself. Why `postcard`:
//! a small, stable, documented binary serde format (no schema language, no
//! `unsafe` zero-copy layout to trust); reading it costs little next to the
//! allocations the rule set needs anyway.
//!
//! Two guards keep it honest:
//! - `rules::tests::precompiled_table_is_current` compiles the YAML (checking
//!   every built-in example and regex) and fails unless the table holds exactly
//!   that; `LEASH_UPDATE_POLICY_TABLE=1 cargo test -p leash-policy --lib
//!   precompiled_table_is_current` rewrites it. A built-in rule whose example
//!   fails therefore cannot ship.
//! - The table starts with a fingerprint of the sources it was made from
//!   (`build.rs` computes the same over the YAML and the compiler's sources).
//!   A table made from other sources — a merge that changed a rule but did
//!   not regenerate — is never read: the policy is compiled from the embedded
//!   documents instead, slower but exactly right.

use std::collections::{BTreeMap, HashMap};

use serde::{Serialize, Serializer};

use super::RuleSet;

/// The table as generated (see the module doc).
const TABLE: &[u8] = include_bytes!("builtin.table");

/// Fingerprint of the sources the table must have been made from (`build.rs`).
pub(crate) const SOURCES_FINGERPRINT: &str = env!("LEASH_POLICY_SOURCES_FINGERPRINT");

/// The precompiled built-in rule set, or `None` (with a warning) when the
/// table was made from other sources or does not read.
pub(crate) fn load() -> Option<RuleSet> {
    load_from(TABLE)
}

/// The table is the fingerprint followed by the rule set; the fingerprint is
/// read first, so a stale table is not decoded at all.
fn load_from(bytes: &[u8]) -> Option<RuleSet> {
    let read = postcard::take_from_bytes::<&str>(bytes).and_then(|(fingerprint, rest)| {
        if fingerprint != SOURCES_FINGERPRINT {
            return Ok(Err(fingerprint.to_owned()));
        }
        postcard::from_bytes::<RuleSet>(rest).map(Ok)
    });
    match read {
        Ok(Ok(mut set)) => {
            set.index();
            Some(set)
        }
        Ok(Err(fingerprint)) => {
            tracing::warn!(
                table = %fingerprint,
                sources = SOURCES_FINGERPRINT,
                "the precompiled built-in rules were made from other sources; compiling them instead \
                 (regenerate: LEASH_UPDATE_POLICY_TABLE=1 cargo test -p leash-policy --lib precompiled_table_is_current)"
            );
            None
        }
        Err(err) => {
            tracing::warn!(%err, "the precompiled built-in rules do not read; compiling them instead");
            None
        }
    }
}

/// The table for `set` (the tests write and check it).
#[cfg(test)]
pub(crate) fn encode(set: &RuleSet) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(&(SOURCES_FINGERPRINT, set))
}

/// The table this binary embeds.
#[cfg(test)]
pub(crate) fn embedded() -> &'static [u8] {
    TABLE
}

/// Reads `bytes` as a table (the tests' view of [`load`]).
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8]) -> Option<RuleSet> {
    load_from(bytes)
}

/// Serializes a hash map in key order, so the same rules always make the same
/// table bytes (and the currency test can compare bytes).
pub(crate) fn sorted_map<S, K, V>(map: &HashMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    K: Ord + Serialize,
    V: Serialize,
{
    let sorted: BTreeMap<&K, &V> = map.iter().collect();
    sorted.serialize(serializer)
}
