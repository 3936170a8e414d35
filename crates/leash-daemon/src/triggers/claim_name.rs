//! The names trigger files get inside `.leash/`: always valid UTF-8 and short
//! enough for every suffix leash adds later.
//!
//! A job records its file's path as text. A non-UTF-8 name stored lossily
//! (`\xff` → `�`) points nowhere, and two such names can point at the same
//! place, so the claimed name spells every byte that is not UTF-8 as `%XX`
//! (`%` is allowed on every file system leash meets, `\` is not on Android
//! shared storage). Control characters and invisible ones (bidi overrides,
//! zero-width characters) are spelled the same way, and chat-template token
//! spellings are broken up, so the path the prompt shows the model is the
//! file's real path and reads as what it is. And a name near the 255-byte limit leaves no room for
//! `-1` (claim collisions), `.job-42-2` (finish collisions), `.result.json`
//! and the result file's temp name: renaming or writing those would fail with
//! "file name too long" — which stopped the worker. So claimed names are cut
//! to [`MAX_CLAIM_NAME`] bytes, keeping the extension and adding a short hash
//! of the whole name so that two long names stay apart.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;

use sha2::{Digest as _, Sha256};

use crate::triggers::prompt_template::defuse_special_tokens;

/// The longest claimed name. The largest later form is
/// `.<name>.job-<i64>-<u32>.result.json.tmp-<pid>-<n>` (the shared atomic
/// writer's temp name): 180 + 1 + 35 + 12 + at most 26 bytes, under the 255
/// that Linux (and Android) allow.
pub(crate) const MAX_CLAIM_NAME: usize = 180;

/// Extensions longer than this are not kept apart when a name is cut.
const MAX_KEPT_EXTENSION: usize = 16;

/// The name a trigger file named `name` is claimed under (see the module
/// documentation). Names that are UTF-8, contain no `%` escape ambiguity
/// worth caring about and are short enough come back unchanged.
pub(crate) fn claim_name(name: &OsStr) -> OsString {
    let mut text = String::with_capacity(name.len());
    for chunk in name.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || is_invisible(c) {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(text, "%{byte:02X}");
                }
            } else {
                text.push(c);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(text, "%{byte:02X}");
        }
    }
    let text = defuse_special_tokens(&text);
    if text.len() <= MAX_CLAIM_NAME {
        return OsString::from(text);
    }
    let digest = Sha256::digest(name.as_bytes());
    let tag = format!("~{}", hex::encode(&digest[..4]));
    let extension = text
        .rfind('.')
        .map(|dot| &text[dot..])
        .filter(|ext| ext.len() > 1 && ext.len() <= MAX_KEPT_EXTENSION)
        .unwrap_or("");
    let mut keep = MAX_CLAIM_NAME - tag.len() - extension.len();
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    OsString::from(format!("{}{tag}{extension}", &text[..keep]))
}

/// Characters that change how text around them reads without showing:
/// bidi embeddings, overrides, isolates and marks, zero-width characters, the
/// byte-order mark and the soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt as _;

    #[test]
    fn ordinary_names_are_unchanged() {
        assert_eq!(
            claim_name(OsStr::new("a b-1.task")),
            OsString::from("a b-1.task")
        );
    }

    #[test]
    fn non_utf8_bytes_are_spelled_out_and_stay_apart() {
        let a = claim_name(&OsString::from_vec(b"x\xff.task".to_vec()));
        let b = claim_name(&OsString::from_vec(b"x\xfe.task".to_vec()));
        assert_eq!(a, OsString::from("x%FF.task"));
        assert_ne!(a, b);
    }

    #[test]
    fn control_and_invisible_characters_are_spelled_out() {
        assert_eq!(
            claim_name(OsStr::new("a\nb\u{202e}c\u{200b}.task")),
            OsString::from("a%0Ab%E2%80%AEc%E2%80%8B.task")
        );
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension_and_a_distinguishing_tag() {
        let long_a = format!("{}a.task", "é".repeat(120));
        let long_b = format!("{}b.task", "é".repeat(120));
        let a = claim_name(OsStr::new(&long_a));
        let b = claim_name(OsStr::new(&long_b));
        assert!(a.len() <= MAX_CLAIM_NAME, "{}", a.len());
        assert!(a.to_str().unwrap().ends_with(".task"));
        assert_ne!(a, b);
    }
}
