//! A section's keys, read from its struct: the one place a key is spelled is
//! its field (with its `serde` rename, if any). The unknown-key check, the
//! "it belongs in X" hints and the documentation test all ask this module.
//!
//! serde's derive hands a struct's field names (as spelled in YAML) to the
//! deserializer it is given; [`struct_keys`] gives it one that only keeps
//! that list and stops. Written by hand because no maintained crate does
//! this small thing without pulling in a macro crate of its own.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The field names of `T`, as its `#[derive(Deserialize)]` spells them
/// (empty for a type that is not a plain struct).
pub(crate) fn struct_keys<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The deserializer always stops with `Stop`; only the recorded list matters.
    let _ = T::deserialize(FieldNames { out: &mut fields });
    fields
}

/// A deserializer that records the field list of the struct asked for.
struct FieldNames<'a> {
    out: &'a mut &'static [&'static str],
}

/// The only error [`FieldNames`] returns: "stop here".
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Stop {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Stop> {
        *self.out = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Example {
        plain: u32,
        #[serde(rename = "match")]
        matches: String,
    }

    #[test]
    fn the_keys_are_the_fields_as_yaml_spells_them() {
        assert_eq!(super::struct_keys::<Example>(), ["plain", "match"]);
    }

    #[test]
    fn a_type_that_is_no_struct_has_no_keys() {
        assert!(super::struct_keys::<u32>().is_empty());
        assert!(super::struct_keys::<Vec<String>>().is_empty());
    }
}
