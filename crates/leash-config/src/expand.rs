//! `~` and `$VAR` / `${VAR}` expansion, and turning relative paths into absolute ones.
//!
//! Expansion is done by leash, never by a shell: only a leading `~` or `~/`, and
//! variables named `[A-Za-z_][A-Za-z0-9_]*`. `$$` is a literal `$`; a `$` not
//! followed by a name is kept as is. An unset variable is an error, not an empty
//! string: `$UNSET/models` silently becoming `/models` would be a surprise.

use std::path::{Component, Path, PathBuf};

use crate::env::EnvVars;

/// Why a path could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// `$NAME` or `${NAME}` names a variable that is not set.
    #[error("environment variable ${0} is not set (or not valid UTF-8)")]
    UnsetVariable(String),
    /// `~` without `$HOME` to expand it to.
    #[error("`~` needs $HOME, which is not set")]
    NoHome,
    /// `~user`: another user's home is never looked up.
    #[error("`~user` is not supported; write the absolute path")]
    OtherUsersHome,
    /// `${` without its closing brace.
    #[error("unterminated `${{` in {0:?}")]
    Unterminated(String),
}

/// Expand `~` and environment variables in `text`.
pub fn expand_path_text(text: &str, env: &EnvVars) -> Result<String, ExpandError> {
    if text == "~" || text.starts_with("~/") {
        let home = env.get_nonempty("HOME").ok_or(ExpandError::NoHome)?;
        let expanded = format!(
            "{}{}",
            home.trim_end_matches('/'),
            expand_vars(&text[1..], env)?
        );
        return Ok(if expanded.is_empty() {
            "/".to_string()
        } else {
            expanded
        });
    }
    if text.starts_with('~') {
        return Err(ExpandError::OtherUsersHome);
    }
    expand_vars(text, env)
}

fn expand_vars(text: &str, env: &EnvVars) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|&(_, c)| c) {
            Some('$') => {
                chars.next();
                out.push('$');
            }
            Some('{') => {
                let start = i + 2;
                let Some(len) = text[start..].find('}') else {
                    return Err(ExpandError::Unterminated(text.to_string()));
                };
                let name = &text[start..start + len];
                out.push_str(lookup(name, env)?);
                // Skip `{`, the name and `}`.
                for _ in 0..name.chars().count() + 2 {
                    chars.next();
                }
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let start = i + 1;
                let len = text[start..]
                    .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                    .unwrap_or(text.len() - start);
                let name = &text[start..start + len];
                out.push_str(lookup(name, env)?);
                for _ in 0..len {
                    chars.next();
                }
            }
            _ => out.push('$'),
        }
    }
    Ok(out)
}

fn lookup<'e>(name: &str, env: &'e EnvVars) -> Result<&'e str, ExpandError> {
    env.get(name)
        .ok_or_else(|| ExpandError::UnsetVariable(name.to_string()))
}

/// `path` joined onto `base` when relative, with `.` components removed
/// (`..` is kept: removing it lexically would be wrong across symlinks).
pub fn absolutize(path: &Path, base: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn env() -> EnvVars {
        EnvVars::from_pairs([("HOME", "/home/u"), ("DATA", "/srv/data"), ("EMPTY", "")])
    }

    #[rstest]
    #[case("~", "/home/u")]
    #[case("~/models/m.gguf", "/home/u/models/m.gguf")]
    #[case("$DATA/x", "/srv/data/x")]
    #[case("${DATA}x", "/srv/datax")]
    #[case("~/$DATA", "/home/u//srv/data")]
    #[case("/a/$$b", "/a/$b")]
    #[case("/a/$/b", "/a/$/b")]
    #[case("/a/${EMPTY}b", "/a/b")]
    #[case("rel/~/x", "rel/~/x")]
    fn expands(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(expand_path_text(input, &env()).unwrap(), expected);
    }

    #[rstest]
    #[case("$NOPE/x", ExpandError::UnsetVariable("NOPE".into()))]
    #[case("${NOPE}", ExpandError::UnsetVariable("NOPE".into()))]
    #[case("~root/x", ExpandError::OtherUsersHome)]
    #[case("${DATA", ExpandError::Unterminated("${DATA".into()))]
    fn refuses(#[case] input: &str, #[case] expected: ExpandError) {
        assert_eq!(expand_path_text(input, &env()).unwrap_err(), expected);
    }

    #[test]
    fn tilde_without_home_is_an_error() {
        assert_eq!(
            expand_path_text("~/x", &EnvVars::default()).unwrap_err(),
            ExpandError::NoHome
        );
    }

    #[test]
    fn absolutize_resolves_against_base_and_drops_dots() {
        assert_eq!(
            absolutize(Path::new("./a/./b"), Path::new("/cfg")),
            PathBuf::from("/cfg/a/b")
        );
        assert_eq!(
            absolutize(Path::new("."), Path::new("/cfg")),
            PathBuf::from("/cfg")
        );
        assert_eq!(
            absolutize(Path::new("/x/../y"), Path::new("/cfg")),
            PathBuf::from("/x/../y")
        );
    }
}
