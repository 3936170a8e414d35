//! Closed enums spelled as YAML scalars: one trait gives every config enum the same
//! parsing, the same "expected one of" message and the same suggestions.

use crate::suggest::closest;

/// A closed set of values written as one word in YAML (`execution_mode: dry-run`).
pub trait YamlEnum: Sized + Copy + 'static {
    /// What the value is, for messages ("execution mode").
    const WHAT: &'static str;
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// The spelling in YAML.
    fn yaml_name(&self) -> &'static str;
    /// Whether the spelling is case-insensitive (only the log level: the seed writes `INFO`).
    const CASE_INSENSITIVE: bool = false;
}

/// A word that is none of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; expected one of: {allowed}{hint}")]
pub struct UnknownVariant {
    /// What kind of value was expected ("execution mode").
    pub what: &'static str,
    /// The word as written.
    pub given: String,
    /// The allowed spellings, comma-separated.
    pub allowed: String,
    /// ` (did you mean "x"?)` or empty.
    pub hint: String,
}

/// Parses one spelling of `E` as people write it (an unknown word gets the
/// allowed spellings and a "did you mean"): the `--mode` of the CLI and the
/// HTTP API, and every config enum.
pub fn parse_enum<E: YamlEnum>(text: &str) -> Result<E, UnknownVariant> {
    parse_variant(text)
}

/// Parse one spelling of `E`.
pub(crate) fn parse_variant<E: YamlEnum>(text: &str) -> Result<E, UnknownVariant> {
    let found = E::ALL.iter().copied().find(|v| {
        if E::CASE_INSENSITIVE {
            v.yaml_name().eq_ignore_ascii_case(text)
        } else {
            v.yaml_name() == text
        }
    });
    match found {
        Some(v) => Ok(v),
        None => {
            let names: Vec<&str> = E::ALL.iter().map(YamlEnum::yaml_name).collect();
            let lowered = text.to_ascii_lowercase().replace('_', "-");
            let hint = closest(&lowered, names.iter().copied())
                .map(|n| format!(" (did you mean {n:?}?)"))
                .unwrap_or_default();
            Err(UnknownVariant {
                what: E::WHAT,
                given: text.to_string(),
                allowed: names.join(", "),
                hint,
            })
        }
    }
}
