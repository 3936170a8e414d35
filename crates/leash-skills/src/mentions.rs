//! What the person's request names: paths in the workspace (existing files,
//! existing folders, new paths), commands in backticks, and "copy X to Y"
//! transfers. Read from the request only — never from a trigger's payload,
//! which is untrusted data — so a skill's inputs come from the person.
//!
//! Written by hand: the request is a sentence, not a grammar any parser
//! crate reads; the rules are few and each is tested.

use std::path::Path;

/// One path the request names, relative to the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The path as written, relative to the workspace.
    pub path: String,
    /// What is there now.
    pub what: Existing,
    /// The word before it (lowercase), e.g. `in`, `from`, `into`.
    pub after: String,
}

/// What a mentioned path is now. Closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// A file (or anything not a directory).
    File,
    /// A directory.
    Dir,
    /// Nothing there yet.
    New,
}

/// Everything the request names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Paths in the workspace, in the order the request names them.
    pub paths: Vec<Mention>,
    /// Text in backticks, in order.
    pub commands: Vec<String>,
    /// `(from, to)` for "copy/deploy/move X to|into|over Y".
    pub transfers: Vec<(String, String)>,
}

/// Words that join a source to a destination.
const CONNECTORS: [&str; 4] = ["to", "into", "over", "onto"];
/// Words that may stand between a connector and the destination.
const FILLERS: [&str; 6] = ["the", "a", "folder", "directory", "dir", "current"];

impl Mentions {
    /// Reads `request`, checking each path-like word against `workspace`.
    pub fn read(request: &str, workspace: &Path) -> Mentions {
        let mut mentions = Mentions::default();
        let mut words: Vec<String> = Vec::new();
        for (n, part) in request.split('`').enumerate() {
            if n % 2 == 1 {
                mentions.commands.push(part.trim().to_owned());
                words.push("<command>".to_owned());
            } else {
                words.extend(part.split_whitespace().map(str::to_owned));
            }
        }
        // Word index → path, for the transfers.
        let mut at: Vec<Option<String>> = vec![None; words.len()];
        for (i, word) in words.iter().enumerate() {
            let Some(path) = path_like(word) else {
                continue;
            };
            let full = workspace.join(&path);
            let what = if full.is_dir() {
                Existing::Dir
            } else if full.exists() {
                Existing::File
            } else {
                Existing::New
            };
            let after = i
                .checked_sub(1)
                .and_then(|j| words.get(j))
                .map(|w| w.to_lowercase())
                .unwrap_or_default();
            at[i] = Some(path.clone());
            if !mentions.paths.iter().any(|m| m.path == path) {
                mentions.paths.push(Mention { path, what, after });
            }
        }
        for (i, from) in at.iter().enumerate() {
            let Some(from) = from else { continue };
            let Some(Mention { what, .. }) = mentions.paths.iter().find(|m| &m.path == from) else {
                continue;
            };
            if *what == Existing::New {
                continue;
            }
            let Some(connector) = words.get(i + 1) else {
                continue;
            };
            if !CONNECTORS.contains(&connector.to_lowercase().as_str()) {
                continue;
            }
            let mut j = i + 2;
            while words
                .get(j)
                .is_some_and(|w| FILLERS.contains(&w.to_lowercase().as_str()))
            {
                j += 1;
            }
            if let Some(Some(to)) = at.get(j) {
                mentions.transfers.push((from.clone(), to.clone()));
            }
        }
        mentions
    }

    /// Existing files, in the order named.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.of(Existing::File)
    }

    /// Existing folders, in the order named.
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.of(Existing::Dir)
    }

    /// Paths that do not exist yet, in the order named.
    pub fn new_paths(&self) -> impl Iterator<Item = &str> {
        self.of(Existing::New)
    }

    fn of(&self, what: Existing) -> impl Iterator<Item = &str> {
        self.paths
            .iter()
            .filter(move |m| m.what == what)
            .map(|m| m.path.as_str())
    }
}

/// The workspace-relative path a word names, if it looks like one: it has a
/// `/` or a file extension, no scheme, no `..`, and is not absolute.
fn path_like(word: &str) -> Option<String> {
    let trimmed = word
        .trim_start_matches(['(', '"', '\'', '['])
        .trim_end_matches([',', ';', ':', '!', '?', ')', '"', '\'', ']', '.']);
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    if trimmed.is_empty()
        || trimmed.starts_with('/')
        || trimmed.starts_with('~')
        || trimmed.starts_with('-')
        || trimmed.contains("://")
        || trimmed.split('/').any(|c| c == "..")
        || !trimmed
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+@".contains(c))
    {
        return None;
    }
    let has_extension = trimmed.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && (1..=5).contains(&ext.len())
            && ext.chars().all(|c| c.is_ascii_alphanumeric())
            && ext.chars().any(|c| c.is_ascii_alphabetic())
    });
    if !trimmed.contains('/') && !has_extension {
        return None;
    }
    let path = trimmed.trim_end_matches('/');
    (!path.is_empty()).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rstest::rstest;

    use super::*;

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in ["inbox", "images", "build"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("build/index.html"), "x").unwrap();
        std::fs::write(dir.path().join("inbox/a.jpg"), "x").unwrap();
        dir
    }

    #[rstest]
    #[case::folder_with_slash("inbox/", Some("inbox"))]
    #[case::file_with_extension("review.md.", Some("review.md"))]
    #[case::nested("notes/last-commit.txt", Some("notes/last-commit.txt"))]
    #[case::plain_word("images", None)]
    #[case::version_number("1.4.2", None)]
    #[case::url("https://example.com/x", None)]
    #[case::absolute("/etc/passwd", None)]
    #[case::home("~/.ssh/id_rsa", None)]
    #[case::parent("../outside.txt", None)]
    #[case::option("--force", None)]
    #[case::quoted("\"deploy.log\",", Some("deploy.log"))]
    fn path_like_words(#[case] word: &str, #[case] path: Option<&str>) {
        assert_eq!(path_like(word).as_deref(), path);
    }

    #[test]
    fn paths_are_classified_against_the_workspace() {
        let ws = workspace();
        let m = Mentions::read(
            "Sort the files in inbox/ into images/ and documents/.",
            ws.path(),
        );
        assert_eq!(m.dirs().collect::<Vec<_>>(), ["inbox", "images"]);
        assert_eq!(m.new_paths().collect::<Vec<_>>(), ["documents"]);
        assert_eq!(m.paths[0].after, "in");
    }

    #[test]
    fn copy_x_into_the_folder_y_is_a_transfer() {
        let ws = workspace();
        let m = Mentions::read(
            "Deploy: copy build/index.html into the folder deploy/ now",
            ws.path(),
        );
        assert_eq!(
            m.transfers,
            [("build/index.html".to_owned(), "deploy".to_owned())]
        );
    }

    #[test]
    fn a_transfer_needs_an_existing_source() {
        let ws = workspace();
        let m = Mentions::read("copy missing.txt to out/", ws.path());
        assert!(m.transfers.is_empty(), "{m:?}");
    }

    #[test]
    fn backticks_are_commands_not_paths() {
        let ws = workspace();
        let m = Mentions::read("Deploy the site with `make deploy`.", ws.path());
        assert_eq!(m.commands, ["make deploy"]);
        assert!(m.paths.is_empty(), "{m:?}");
    }
}
