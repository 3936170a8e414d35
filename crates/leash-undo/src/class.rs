//! Reversibility, decided before an action runs and shown to the person who
//! approves it.

use serde::{Deserialize, Serialize};

/// Whether `leash undo` can take an action back. Closed: match every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reversibility {
    /// Every write target is journaled.
    Reversible,
    /// Some targets are journaled; the action may write others too.
    PartlyReversible,
    /// Its effects can't be known or kept (network, no grammar, too big).
    Irreversible,
}

impl Reversibility {
    /// The spelling stored in the journal and shown in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Reversibility::Reversible => "reversible",
            Reversibility::PartlyReversible => "partly-reversible",
            Reversibility::Irreversible => "irreversible",
        }
    }

    /// Reads [`Reversibility::as_str`]'s spelling back; `None` for anything else,
    /// so a caller that cannot tell treats the entry as not undoable.
    pub fn parse(text: &str) -> Option<Reversibility> {
        match text {
            "reversible" => Some(Reversibility::Reversible),
            "partly-reversible" => Some(Reversibility::PartlyReversible),
            "irreversible" => Some(Reversibility::Irreversible),
            _ => None,
        }
    }

    /// The line an approval prompt shows.
    pub fn prompt_line(self) -> &'static str {
        match self {
            Reversibility::Reversible => {
                "undo: reversible (`leash undo` restores every file it writes)"
            }
            Reversibility::PartlyReversible => {
                "undo: PARTLY reversible (some of what it writes cannot be undone)"
            }
            Reversibility::Irreversible => "undo: IRREVERSIBLE (this cannot be undone)",
        }
    }
}
