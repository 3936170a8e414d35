//! leash-secret: a value that must never reach a log line, a `{:?}`, an
//! error message or a JSON document by accident — the daemon's API token, an
//! approval's nonce, a model server's API key.
//!
//! [`Secret`]'s `Debug` prints `Secret(<redacted>)` and its `Serialize`
//! writes `"<redacted>"`, so deriving either on a struct that holds one is
//! safe. It has no `Display`: code that needs the value calls
//! [`Secret::expose`], which reads as what it is at every use. Its equality
//! does not stop at the first differing byte (to check a secret someone
//! presents, the daemon also hides the length: it compares digests).
//!
//! At the bottom of the workspace (no leash dependencies) so that every crate
//! that holds a secret can use the one type.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

use serde::{Serialize, Serializer};

/// What `Debug` and `Serialize` show instead of the value.
pub const REDACTED: &str = "<redacted>";

/// A secret string. See the crate documentation.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must use it (a header, a
    /// file, an argument to the notifier).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Compares every byte of the longer input (the shorter one padded with
/// zeros), folding the differences and the length difference into one value,
/// so the time taken does not say where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "tok-3f9a2c71e5d04b8a";

    #[derive(Debug, Serialize)]
    struct Holder {
        id: u32,
        token: Secret,
    }

    #[test]
    fn debug_of_a_holder_shows_everything_but_the_secret() {
        let holder = Holder {
            id: 7,
            token: Secret::new(VALUE),
        };
        for text in [format!("{holder:?}"), format!("{holder:#?}")] {
            assert!(!text.contains(VALUE), "leaked: {text}");
            assert!(text.contains("id: 7"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
    }

    #[test]
    fn serializing_a_holder_writes_the_marker_not_the_secret() {
        let holder = Holder {
            id: 7,
            token: Secret::new(VALUE),
        };
        let json = serde_json::to_value(&holder).unwrap();
        assert_eq!(json, serde_json::json!({"id": 7, "token": REDACTED}));
        assert!(!serde_json::to_string(&holder).unwrap().contains(VALUE));
    }

    #[test]
    fn expose_gives_the_value_back() {
        assert_eq!(Secret::new(VALUE).expose(), VALUE);
        assert_eq!(Secret::from(VALUE.to_owned()).expose(), VALUE);
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
        assert_ne!(Secret::new("a"), Secret::new("a\0"));
        assert_ne!(Secret::new(""), Secret::new("\0"));
        assert!(Secret::default().is_empty());
    }
}
