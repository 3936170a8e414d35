//! `undo:` the rollback journal — how much it keeps, for how long, and
//! whether an action that cannot be undone always needs a person.

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::yaml_tree::Node;

/// `undo:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UndoConfig {
    /// The most the pre-image store may hold (MiB). An action whose
    /// pre-images would not fit is classed irreversible before it runs.
    /// Default 512.
    pub max_mb: u64,
    /// Journal entries older than this many days are pruned (`leash undo
    /// --gc`, and the daemon at start). Default 14.
    pub keep_days: u64,
    /// Files bigger than this (MiB) are journaled by hard link where the
    /// action replaces the file, else the action is irreversible. Default 16.
    pub max_file_mb: u64,
    /// Every irreversible action needs a person's approval, whatever the
    /// execution mode. Default false.
    pub approve_irreversible: bool,
}

impl Default for UndoConfig {
    fn default() -> Self {
        UndoConfig {
            max_mb: 512,
            keep_days: 14,
            max_file_mb: 16,
            approve_irreversible: false,
        }
    }
}

impl UndoConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut u = UndoConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(&f, "max_mb", &mut u.max_mb, |r, n, k| r.integer(n, k, 0));
        r.field(&f, "keep_days", &mut u.keep_days, |r, n, k| {
            r.integer(n, k, 0)
        });
        r.field(&f, "max_file_mb", &mut u.max_file_mb, |r, n, k| {
            r.integer(n, k, 0)
        });
        r.field(
            &f,
            "approve_irreversible",
            &mut u.approve_irreversible,
            Reader::boolean,
        );
        u
    }
}
