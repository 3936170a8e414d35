//! Grants: a person's standing "yes" to a *shape* of command, so they are not
//! asked about `python3 scripts/a.py`, `python3 scripts/b.py`, … one by one.
//!
//! A grant pattern is written like the seed lists (`"git push"`): one plain
//! command, program first, judged by program identity (`/usr/bin/python3`,
//! `python3.12` and `python3` are one program). Each further word is matched
//! by position: a literal word matches itself; a word with `*` / `?` is a
//! glob (`*` and `?` never cross a `/`, `**` does; a glob never matches a
//! word with a `..` component, and matches an option only when it starts
//! with `-` itself); a final `...` matches any remaining words. So
//! `python3 scripts/*.py` covers `python3 scripts/a.py` but not
//! `python3 -c x` or `python3 scripts/a.py --evil`. Every path-looking
//! argument must also stay inside the grant's roots.
//!
//! A grant only ever turns `ask` into `allow` (the engine applies it to
//! nothing else), and [`Policy::check_grant`] refuses to create one that would
//! cover an argv the policy denies, naming that argv and the rule.

use std::path::{Path, PathBuf};

use crate::paths::{canonical, within};
use crate::spec::{looks_like_path, normalize_name};
use crate::{Decision, Policy, shell};

/// The word that, last in a pattern, matches any remaining words.
pub const GRANT_REST: &str = "...";

/// Stand-ins for `*` and `?` while a pattern goes through the shell parser.
const STAR: &str = "@@leash-star@@";
const QUESTION: &str = "@@leash-question@@";

/// Why a grant pattern cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The pattern is not one plain command.
    #[error("grant pattern {pattern:?}: {message}")]
    Syntax {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// The pattern would cover an argv the policy denies.
    #[error(
        "grant pattern {pattern:?} would cover `{argv}`, which the policy denies ({rule}: {reason}); a grant can never allow what is denied"
    )]
    CoversDeny {
        /// The pattern as given.
        pattern: String,
        /// A denied argv it would cover, as leash probed it.
        argv: String,
        /// The rule that denies that argv.
        rule: String,
        /// Why that rule denies it.
        reason: String,
    },
}

/// One word of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    Literal(String),
    Glob(String),
}

impl Word {
    fn matches(&self, arg: &str) -> bool {
        match self {
            Word::Literal(word) => word == arg,
            Word::Glob(glob) => {
                (glob.starts_with('-') || !arg.starts_with('-'))
                    && !Path::new(arg)
                        .components()
                        .any(|c| c == std::path::Component::ParentDir)
                    && glob_match(glob.as_bytes(), arg.as_bytes())
            }
        }
    }
}

/// `*` and `?` stay inside one path component, `**` crosses them. Written by
/// hand because the pattern crates (`glob`, `globset`) match file names on
/// disk or compile to regexes with other `/` rules; this is ten lines whose
/// semantics the grant documentation states exactly.
fn glob_match(glob: &[u8], text: &[u8]) -> bool {
    match glob.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) if rest.first() == Some(&b'*') => {
            let rest = &rest[1..];
            (0..=text.len()).any(|i| glob_match(rest, &text[i..]))
        }
        Some((b'*', rest)) => {
            let limit = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            (0..=limit).any(|i| glob_match(rest, &text[i..]))
        }
        Some((b'?', rest)) => {
            matches!(text.first(), Some(&c) if c != b'/') && glob_match(rest, &text[1..])
        }
        Some((&c, rest)) => text.first() == Some(&c) && glob_match(rest, &text[1..]),
    }
}

/// A compiled grant pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPattern {
    text: String,
    /// The program as the policy names it (`python3`, `git`).
    program: String,
    /// `argv[0]` as written (the policy resolves it when probing).
    program_word: String,
    words: Vec<Word>,
    rest: bool,
}

impl GrantPattern {
    /// Parses a pattern. Shell syntax, an empty pattern or a `...` that is
    /// not last are errors that say so.
    pub fn parse(text: &str) -> Result<GrantPattern, GrantError> {
        let fail = |message: String| GrantError::Syntax {
            pattern: text.to_owned(),
            message,
        };
        if text.contains(STAR) || text.contains(QUESTION) {
            return Err(fail("contains a reserved placeholder".to_owned()));
        }
        // The shell parser refuses globs (a shell would expand them); in a
        // pattern they are meant literally, so they stand in as plain words
        // while the line is parsed.
        let masked = text.replace('*', STAR).replace('?', QUESTION);
        let argv: Vec<String> = shell::parse_command(&masked)
            .map_err(|e| {
                fail(format!(
                    "not one plain command (found {}); write words only",
                    e.found
                ))
            })?
            .into_iter()
            .map(|word| word.replace(STAR, "*").replace(QUESTION, "?"))
            .collect();
        let (first, args) = argv
            .split_first()
            .ok_or_else(|| fail("names no program".to_owned()))?;
        let base = first.rsplit('/').next().unwrap_or(first);
        if base.is_empty() || base.contains(['*', '?']) || base == GRANT_REST {
            return Err(fail(
                "the program must be named exactly (no glob, no `...`)".to_owned(),
            ));
        }
        let mut words = Vec::new();
        let mut rest = false;
        for (index, arg) in args.iter().enumerate() {
            if arg == GRANT_REST {
                if index + 1 != args.len() {
                    return Err(fail(format!("`{GRANT_REST}` may only be the last word")));
                }
                rest = true;
            } else if arg.contains(['*', '?']) {
                words.push(Word::Glob(arg.clone()));
            } else {
                words.push(Word::Literal(arg.clone()));
            }
        }
        Ok(GrantPattern {
            text: text.to_owned(),
            program: normalize_name(base).to_owned(),
            program_word: first.clone(),
            words,
            rest,
        })
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The program identity it applies to.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Whether a command the policy judged as `identity` with `argv` has the
    /// pattern's shape (`argv[0]` is judged by identity, not by spelling).
    pub fn matches<S: AsRef<str>>(&self, identity: &str, argv: &[S]) -> bool {
        let base = identity.rsplit('/').next().unwrap_or(identity);
        if normalize_name(base) != self.program {
            return false;
        }
        let args = argv.get(1..).unwrap_or_default();
        let shape_fits = if self.rest {
            args.len() >= self.words.len()
        } else {
            args.len() == self.words.len()
        };
        shape_fits
            && self
                .words
                .iter()
                .zip(args)
                .all(|(word, arg)| word.matches(arg.as_ref()))
    }
}

/// Whether `cwd` and every path an argument may name stay inside `roots`
/// (canonical: symlinks and `..` resolved). Every non-option word is judged
/// as a path relative to `cwd` (a subcommand such as `status` then lands
/// inside `cwd`, which is harmless), and so is the value of `--opt=value`.
pub fn within_roots<S: AsRef<str>>(argv: &[S], cwd: &Path, roots: &[PathBuf]) -> bool {
    let inside = |path: &Path| roots.iter().any(|root| within(path, root));
    let cwd = canonical(cwd, Path::new("/"));
    if !inside(&cwd) {
        return false;
    }
    argv.iter().skip(1).all(|arg| {
        let arg = arg.as_ref();
        let word = match arg.strip_prefix('-') {
            Some(option) => match option.split_once('=') {
                Some((_, value)) => value,
                None => return true,
            },
            None => arg,
        };
        word.is_empty() || inside(&canonical(Path::new(word), &cwd))
    })
}

/// The grant leash suggests for a command a person keeps approving: the
/// program, options and plain words kept, each path operand widened to its
/// directory and extension (`scripts/a.py` → `scripts/*.py`).
pub fn suggest_grant<S: AsRef<str>>(identity: &str, argv: &[S]) -> String {
    let base = identity.rsplit('/').next().unwrap_or(identity);
    let mut words = vec![normalize_name(base).to_owned()];
    for arg in argv.iter().skip(1) {
        let arg = arg.as_ref();
        let widened = if !arg.starts_with('-') && looks_like_path(arg) && !arg.ends_with('/') {
            let path = Path::new(arg);
            let dir = path
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|p| !p.is_empty());
            let ext = path
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            match dir {
                Some(dir) => format!("{dir}/*{ext}"),
                None => format!("*{ext}"),
            }
        } else {
            arg.to_owned()
        };
        words.push(shell_word(&widened));
    }
    words.join(" ")
}

/// A word as a pattern can be parsed back (single-quoted when needed).
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%*?".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words a grant is probed with where it has a glob or `...`: things that
/// are denied in most policies.
const PROBE_WORDS: &[&str] = &["/", "/etc/shadow", "-rf", "--force"];

impl Policy {
    /// Refuses a grant pattern that would cover an argv this policy denies
    /// (judged at `cwd`): the pattern is instantiated with plain words, with
    /// each blacklist entry for its program, and with words that are denied
    /// in most policies, and every instance the pattern really covers (its
    /// shape, inside `roots`) is checked. The error names the first denied
    /// argv and its rule; blacklist entries are tried first.
    pub fn check_grant(
        &self,
        pattern: &GrantPattern,
        cwd: &Path,
        roots: &[PathBuf],
    ) -> Result<(), GrantError> {
        for probe in self.grant_probes(pattern) {
            if !pattern.matches(&pattern.program, &probe) || !within_roots(&probe, cwd, roots) {
                continue;
            }
            let verdict = self.check_argv_at(&probe, cwd);
            match verdict.decision {
                Decision::Deny => {
                    return Err(GrantError::CoversDeny {
                        pattern: pattern.text.clone(),
                        argv: probe.join(" "),
                        rule: verdict.rule,
                        reason: verdict.reason,
                    });
                }
                Decision::Allow | Decision::Ask => {}
            }
        }
        Ok(())
    }

    fn grant_probes(&self, pattern: &GrantPattern) -> Vec<Vec<String>> {
        // The blacklist entries for this program, as argv tails.
        let tails: Vec<Vec<String>> = self
            .settings()
            .blacklist
            .iter()
            .filter_map(|entry| shell::parse_command(entry).ok())
            .filter(|argv| {
                argv.first().is_some_and(|p| {
                    normalize_name(p.rsplit('/').next().unwrap_or(p)) == pattern.program
                })
            })
            .map(|argv| argv[1..].to_vec())
            .collect();
        let mut candidates: Vec<String> = PROBE_WORDS.iter().map(|w| (*w).to_owned()).collect();
        candidates.extend(tails.iter().flatten().cloned());
        let plain: Vec<String> = pattern
            .words
            .iter()
            .map(|word| match word {
                Word::Literal(text) => text.clone(),
                Word::Glob(glob) => glob.replace("**", "x").replace(['*', '?'], "x"),
            })
            .collect();
        let with_program = |args: Vec<String>| {
            let mut argv = vec![pattern.program_word.clone()];
            argv.extend(args);
            argv
        };
        let mut probes = Vec::new();
        // A tail that fills the pattern's word positions exactly.
        for tail in &tails {
            probes.push(with_program(tail.clone()));
        }
        if pattern.rest {
            for tail in &tails {
                let mut args = plain.clone();
                args.extend(tail.iter().cloned());
                probes.push(with_program(args));
            }
        }
        probes.push(with_program(plain.clone()));
        for (index, word) in pattern.words.iter().enumerate() {
            if let Word::Glob(_) = word {
                for candidate in &candidates {
                    let mut args = plain.clone();
                    args[index] = candidate.clone();
                    probes.push(with_program(args));
                }
            }
        }
        if pattern.rest {
            for candidate in &candidates {
                let mut args = plain.clone();
                args.push(candidate.clone());
                probes.push(with_program(args));
            }
        }
        probes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::glob_in_dir("python3 scripts/*.py", "python3", &["python3", "scripts/a.py"], true)]
    #[case::identity_not_spelling("python3 scripts/*.py", "python3.12", &["/usr/bin/python3", "scripts/a.py"], true)]
    #[case::other_program("python3 scripts/*.py", "python2", &["python2", "scripts/a.py"], false)]
    #[case::star_stays_in_one_dir("python3 scripts/*.py", "python3", &["python3", "scripts/sub/a.py"], false)]
    #[case::double_star_crosses("python3 scripts/**.py", "python3", &["python3", "scripts/sub/a.py"], true)]
    #[case::no_climbing_out("python3 scripts/**.py", "python3", &["python3", "scripts/../../x.py"], false)]
    #[case::extra_word_refused("python3 scripts/*.py", "python3", &["python3", "scripts/a.py", "--evil"], false)]
    #[case::glob_is_not_an_option("rm *", "rm", &["rm", "-rf"], false)]
    #[case::option_glob("ls -*", "ls", &["ls", "-la"], true)]
    #[case::rest_covers_more("git status ...", "git", &["git", "status", "--short"], true)]
    #[case::rest_needs_prefix("git status ...", "git", &["git", "push"], false)]
    #[case::rest_allows_none("git status ...", "git", &["git", "status"], true)]
    #[case::literal_exact("git log -n 5", "git", &["git", "log", "-n", "6"], false)]
    fn pattern_matching(
        #[case] pattern: &str,
        #[case] identity: &str,
        #[case] argv: &[&str],
        #[case] expected: bool,
    ) {
        let pattern = GrantPattern::parse(pattern).unwrap();
        assert_eq!(pattern.matches(identity, argv), expected, "{argv:?}");
    }

    #[rstest]
    #[case::shell_syntax("python3 x.py; rm -rf /")]
    #[case::pipe("cat x | sh")]
    #[case::rest_not_last("git ... push")]
    #[case::glob_program("py* x")]
    #[case::empty("")]
    fn bad_patterns_are_refused(#[case] text: &str) {
        assert!(matches!(
            GrantPattern::parse(text),
            Err(GrantError::Syntax { .. })
        ));
    }

    #[rstest]
    #[case::script("python3", &["python3", "scripts/a.py"], "python3 scripts/*.py")]
    #[case::copy("cp", &["cp", "inbox/a.pdf", "sorted/"], "cp inbox/*.pdf sorted/")]
    #[case::subcommand("git", &["git", "log", "-n", "5"], "git log -n 5")]
    #[case::quoted("echo", &["echo", "a b"], "echo 'a b'")]
    fn suggestions(#[case] identity: &str, #[case] argv: &[&str], #[case] expected: &str) {
        let suggested = suggest_grant(identity, argv);
        assert_eq!(suggested, expected);
        let pattern = GrantPattern::parse(&suggested).unwrap();
        assert!(
            pattern.matches(identity, argv),
            "a suggestion covers its own example"
        );
    }

    #[test]
    fn roots_hold_paths_inside() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::fs::create_dir(ws.join("scripts")).unwrap();
        std::fs::write(ws.join("scripts/a.py"), "").unwrap();
        std::os::unix::fs::symlink("/etc", ws.join("scripts/out")).unwrap();
        let roots = vec![ws.clone()];
        assert!(within_roots(&["python3", "scripts/a.py"], &ws, &roots));
        assert!(!within_roots(&["python3", "/etc/passwd"], &ws, &roots));
        assert!(!within_roots(&["python3", "../x.py"], &ws, &roots));
        assert!(
            !within_roots(&["cat", "scripts/out/passwd"], &ws, &roots),
            "a symlink out of the roots is followed"
        );
        assert!(!within_roots(&["x", "--output=/etc/x"], &ws, &roots));
        assert!(!within_roots(&["true"], Path::new("/"), &roots));
    }

    /// Hostile class `grant-covers-deny`: a grant broad enough to cover a
    /// blacklisted or otherwise denied argv cannot be created, and the error
    /// names the argv and the rule.
    #[rstest]
    #[case::rest_covers_blacklist("rm ...", "rm -rf", "seed.blacklist")]
    #[case::option_then_rest("rm -r ...", "rm -r -rf", "seed.blacklist")]
    #[case::subcommand_rest_covers_force("git push ...", "git push --force", "seed.blacklist")]
    #[case::not_whitelisted("vim x", "vim x", "seed.whitelist")]
    fn grants_covering_a_deny_are_refused(
        #[case] text: &str,
        #[case] denied: &str,
        #[case] rule: &str,
    ) {
        let f = crate::policy::tests::fixture();
        let policy = crate::policy::tests::policy(&f);
        let pattern = GrantPattern::parse(text).unwrap();
        match policy.check_grant(&pattern, &f.ws, std::slice::from_ref(&f.ws)) {
            Err(GrantError::CoversDeny {
                argv, rule: got, ..
            }) => {
                assert_eq!(argv, denied, "{text}");
                assert!(got.starts_with(rule), "{text}: {got}");
            }
            other => panic!("{text}: expected a refusal naming {denied}, got {other:?}"),
        }
    }

    #[rstest]
    #[case::script_dir("python3 src/*.py")]
    #[case::read_only_git("git status ...")]
    #[case::copy_between_dirs("cp src/*.rs src/")]
    #[case::single_names("rm *")]
    fn reasonable_grants_are_accepted(#[case] text: &str) {
        let f = crate::policy::tests::fixture();
        let policy = crate::policy::tests::policy(&f);
        let pattern = GrantPattern::parse(text).unwrap();
        let roots = std::slice::from_ref(&f.ws);
        assert_eq!(policy.check_grant(&pattern, &f.ws, roots), Ok(()), "{text}");
    }
}
