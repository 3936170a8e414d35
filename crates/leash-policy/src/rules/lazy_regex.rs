//! A rule's regex as it is stored in the precompiled built-in table: its
//! source text, compiled on first use.
//!
//! Why lazy: compiling the ~60 built-in regexes is a large share of loading
//! the policy, and a CLI call judges one command, which touches a handful of
//! rules at most. The built-in sources are compiled when the table is made and
//! by the test that checks the table is current, so a built-in regex that does
//! not compile cannot ship; a person's rules compile theirs eagerly
//! ([`LazyRegex::compile`]), so their mistakes stay load errors naming the rule.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A regex kept as its source and compiled at most once.
pub(crate) struct LazyRegex {
    source: String,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// Compiles `source` now (a person's rule: a bad regex is a load error).
    pub fn compile(source: &str) -> Result<LazyRegex, regex::Error> {
        let regex = Regex::new(source)?;
        Ok(LazyRegex {
            source: source.to_owned(),
            compiled: OnceLock::from(Some(regex)),
        })
    }

    /// The regex as written.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the regex matches `text`. Every built-in rule with a regex
    /// asks or denies, and a regex narrows when its rule applies, so a source
    /// that does not compile (only possible for a table not made by this
    /// crate's own check) fails closed: it matches everything and the rule
    /// applies.
    pub fn is_match(&self, text: &str) -> bool {
        let compiled = self.compiled.get_or_init(|| match Regex::new(&self.source) {
            Ok(regex) => Some(regex),
            Err(err) => {
                tracing::error!(regex = %self.source, %err, "a built-in rule's regex does not compile; the rule applies to every command it names");
                None
            }
        });
        compiled.as_ref().is_none_or(|regex| regex.is_match(text))
    }
}

impl fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LazyRegex").field(&self.source).finish()
    }
}

impl Serialize for LazyRegex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for LazyRegex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(LazyRegex {
            source: String::deserialize(deserializer)?,
            compiled: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LazyRegex;

    #[test]
    fn a_stored_regex_matches_as_written_once_read_back() {
        let stored = serde_json::to_string(&LazyRegex::compile("^git@").unwrap()).unwrap();
        let read: LazyRegex = serde_json::from_str(&stored).unwrap();
        assert_eq!(read.as_str(), "^git@");
        assert!(read.is_match("git@example.org:x"));
        assert!(!read.is_match("https://example.org"));
    }

    /// The class: a stored regex that cannot compile must not narrow its
    /// (ask/deny) rule to nothing.
    #[test]
    fn a_stored_regex_that_does_not_compile_fails_closed() {
        let read: LazyRegex = serde_json::from_str("\"(unclosed\"").unwrap();
        assert!(read.is_match("anything"));
    }

    #[test]
    fn a_persons_bad_regex_is_an_error_at_once() {
        assert!(LazyRegex::compile("(unclosed").is_err());
    }
}
