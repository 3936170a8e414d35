//! Why a policy could not be built. Every variant names what it is about: the
//! rules source, the rule id, the seed list and index, the example.

use thiserror::Error;

/// A policy that fails to load is never used: the caller must fail closed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// A rules document is not valid YAML or does not have the rules format.
    #[error("rules source `{source_name}`: {message}")]
    RulesSyntax {
        source_name: String,
        message: String,
    },
    /// A rule is well-formed YAML but meaningless (unknown program, bad regex, ...).
    #[error("rules source `{source_name}`, rule `{rule}`: {message}")]
    InvalidRule {
        source_name: String,
        rule: String,
        message: String,
    },
    /// A program description in a rules document is inconsistent.
    #[error("rules source `{source_name}`, program `{program}`: {message}")]
    InvalidProgram {
        source_name: String,
        program: String,
        message: String,
    },
    /// Two rules share an id.
    #[error("rules source `{source_name}`: duplicate rule id `{rule}`")]
    DuplicateRule { source_name: String, rule: String },
    /// A rule's `match` / `not_match` example does not hold.
    #[error("rule `{rule}` (from `{source_name}`): example `{example}` {problem}")]
    ExampleFailed {
        source_name: String,
        rule: String,
        example: String,
        problem: String,
    },
    /// A seed list entry (`whitelist`, `blacklist`, `require_approval_for`) is not a
    /// usable argv pattern.
    #[error("security.{list}[{index}] `{pattern}`: {message}")]
    SeedPattern {
        list: String,
        index: usize,
        pattern: String,
        message: String,
    },
    /// A configured path (root, denied path, search path entry) is unusable.
    #[error("path setting `{setting}` entry `{path}`: {message}")]
    PathSetting {
        setting: String,
        path: String,
        message: String,
    },
}
