//! Why a policy could not be built. Every variant names what it is about: the
//! rules source, the rule id, the seed list and index, the example.

use thiserror::Error;

/// A policy that fails to load is never used: the caller must fail closed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// A rules document is not valid YAML or does not have the rules format.
    #[error("rules source `{source_name}`: {message}")]
    RulesSyntax {
        /// The document's name (usually its path).
        source_name: String,
        /// What the YAML reader said, with the line.
        message: String,
    },
    /// A rule is well-formed YAML but meaningless (unknown program, bad regex, ...).
    #[error("rules source `{source_name}`, rule `{rule}`: {message}")]
    InvalidRule {
        /// The document's name.
        source_name: String,
        /// The rule's id.
        rule: String,
        /// What is wrong with it.
        message: String,
    },
    /// A program description in a rules document is inconsistent.
    #[error("rules source `{source_name}`, program `{program}`: {message}")]
    InvalidProgram {
        /// The document's name.
        source_name: String,
        /// The program's name.
        program: String,
        /// What is inconsistent.
        message: String,
    },
    /// Two rules share an id.
    #[error("rules source `{source_name}`: duplicate rule id `{rule}`")]
    DuplicateRule {
        /// The document's name.
        source_name: String,
        /// The id used twice.
        rule: String,
    },
    /// A rule's `match` / `not_match` example does not hold.
    #[error("rule `{rule}` (from `{source_name}`): example `{example}` {problem}")]
    ExampleFailed {
        /// The document's name.
        source_name: String,
        /// The rule's id.
        rule: String,
        /// The example command line.
        example: String,
        /// How it failed (matched where it must not, or the reverse).
        problem: String,
    },
    /// A seed list entry (`whitelist`, `blacklist`, `require_approval_for`) is not a
    /// usable argv pattern.
    #[error("security.{list}[{index}] `{pattern}`: {message}")]
    SeedPattern {
        /// Which list (`whitelist`, `blacklist`, `require_approval_for`).
        list: String,
        /// The entry's position in the list, from 0.
        index: usize,
        /// The entry as written.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A configured path (root, denied path, search path entry) is unusable.
    #[error("path setting `{setting}` entry `{path}`: {message}")]
    PathSetting {
        /// Which setting (`workspace`, `denied path`, ...).
        setting: String,
        /// The entry as written.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}
