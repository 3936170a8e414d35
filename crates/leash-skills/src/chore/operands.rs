//! The operands a chore's clause names, typed by what is in the workspace:
//! existing files, existing folders (or folders an earlier clause makes),
//! new paths, plus the word to search for, the text to write and the
//! extension to count. Names come from the person's words only
//! ([`leash_core::agent::named_paths`]), never from a payload or an output.

use std::path::Path;

/// Words that stand for the workspace itself.
const HERE: [&[&str]; 5] = [
    &["this", "folder"],
    &["this", "directory"],
    &["current", "folder"],
    &["current", "directory"],
    &["here"],
];

/// Words that refer back to what the previous clause made ("move x into it").
const BACK_REFERENCES: [&str; 3] = ["it", "there", "that"];

/// What a clause names, in the order named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operands {
    /// Existing files (a bare name that exists deeper is that file).
    pub files: Vec<String>,
    /// Existing folders, and folders an earlier clause makes.
    pub dirs: Vec<String>,
    /// Named paths that do not exist (and are not made earlier).
    pub new: Vec<String>,
    /// Every name as the person said it (for `find -name`).
    pub said: Vec<String>,
    /// Every operand in the order named (files, dirs and new paths).
    pub order: Vec<String>,
    /// The clause says "this folder", "here"…
    pub here: bool,
}

impl Operands {
    /// Reads `clause` against `workspace` and its `entries` (relative paths,
    /// from [`leash_core::agent::workspace_entries`]); `made` are folders
    /// earlier clauses make, `made.last()` what "it" refers to.
    pub fn read(clause: &str, workspace: &Path, entries: &[String], made: &[String]) -> Operands {
        let mut ops = Operands::default();
        let words = super::verbs::words_of(clause);
        ops.here = HERE.iter().any(|phrase| {
            words
                .windows(phrase.len())
                .any(|w| w.iter().zip(phrase.iter()).all(|(a, b)| a == b))
        });
        let joined = names_with_blanks(clause, workspace);
        let mut names: Vec<String> = joined.clone();
        for name in leash_core::agent::named_paths(clause) {
            let piece_of_joined = joined.iter().any(|j| j.contains(name.as_str()));
            let exists = workspace.join(&name).exists();
            if piece_of_joined && !exists {
                continue;
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // Keep the order the person said them in.
        names.sort_by_key(|name| clause.find(name.as_str()).unwrap_or(usize::MAX));
        let refers_back = words.iter().any(|w| BACK_REFERENCES.contains(&w.as_str()));
        for name in names {
            ops.said.push(name.clone());
            let full = workspace.join(&name);
            if full.is_dir() || made.contains(&name) {
                ops.dirs.push(name.clone());
            } else if full.exists() {
                ops.files.push(name.clone());
            } else if let Some(found) = found_deeper(&name, entries) {
                if workspace.join(&found).is_dir() {
                    ops.dirs.push(found.clone());
                } else {
                    ops.files.push(found.clone());
                }
                ops.order.push(found);
                continue;
            } else {
                ops.new.push(name.clone());
            }
            ops.order.push(name);
        }
        if refers_back
            && let Some(last) = made.last()
            && !ops.dirs.contains(last)
        {
            ops.dirs.push(last.clone());
            ops.order.push(last.clone());
        }
        ops
    }

    /// Folders named, else the workspace (`.`) when the clause says "this
    /// folder" or names no existing file either (a name that does not exist
    /// is no place to look in).
    pub fn dirs_or_here(&self) -> Vec<String> {
        if !self.dirs.is_empty() {
            return self.dirs.clone();
        }
        if self.here || self.files.is_empty() {
            return vec![".".to_owned()];
        }
        Vec::new()
    }

    /// Where `name` comes in the order named (unnamed: last).
    pub fn position(&self, name: &str) -> usize {
        self.order
            .iter()
            .position(|n| n == name)
            .unwrap_or(usize::MAX)
    }
}

/// The one entry deeper in the workspace whose file name is `name` (a bare
/// name with no `/`); none when there are several or none.
fn found_deeper(name: &str, entries: &[String]) -> Option<String> {
    if name.contains('/') {
        return None;
    }
    let mut found = entries
        .iter()
        .filter(|e| e.contains('/') && e.rsplit('/').next() == Some(name));
    let first = found.next()?;
    match found.next() {
        Some(_) => None,
        None => Some(first.clone()),
    }
}

/// Names with blanks that exist in the workspace, written without quotes
/// ("inbox/report (1).pdf"): runs of two to four words whose join exists.
fn names_with_blanks(clause: &str, workspace: &Path) -> Vec<String> {
    let raw: Vec<&str> = clause.split_whitespace().collect();
    let mut found = Vec::new();
    for start in 0..raw.len() {
        for len in (2..=4).rev() {
            let Some(run) = raw.get(start..start + len) else {
                continue;
            };
            let joined = run.join(" ");
            let name = joined
                .trim_start_matches(['"', '\'', '`', '('])
                .trim_end_matches(['.', ',', '?', '!', ':', ';', '"', '\'', '`']);
            if name.is_empty() || name.starts_with('/') || name.split('/').any(|p| p == "..") {
                continue;
            }
            if workspace.join(name).exists() && !found.iter().any(|f: &String| f == name) {
                found.push(name.to_owned());
                break;
            }
        }
    }
    found
}

/// The word a search looks for: quoted text, else the first plain word
/// after "mentions", "contains", "for", "word".
pub fn search_term(clause: &str) -> Option<String> {
    if let Some(quoted) = clause.split('"').nth(1).filter(|q| !q.trim().is_empty()) {
        return Some(quoted.trim().to_owned());
    }
    let raw: Vec<&str> = clause.split_whitespace().collect();
    let lower: Vec<String> = raw.iter().map(|w| w.to_lowercase()).collect();
    let at = lower.iter().position(|w| {
        ["mention", "contain", "for", "word"]
            .iter()
            .any(|s| w.starts_with(s))
    })?;
    raw.iter()
        .skip(at + 1)
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_'))
        .find(|w| {
            !w.is_empty()
                && !["the", "a", "an", "word", "text"].contains(&w.to_lowercase().as_str())
        })
        .filter(|w| !w.starts_with('-'))
        .map(str::to_owned)
}

/// The text to write: after the first `:`, else after "says", "saying",
/// "reads", "with the text"; quotes around it dropped.
pub fn text_to_write(clause: &str) -> Option<String> {
    let after = match clause.split_once(": ") {
        Some((_, after)) => after,
        None => {
            let lower = clause.to_lowercase();
            let at = ["that says ", "saying ", "that reads ", "with the text "]
                .iter()
                .find_map(|marker| lower.find(marker).map(|i| i + marker.len()))?;
            clause.get(at..)?
        }
    };
    let text = after.trim().trim_matches(['"', '\'']).trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The extension a count is about: `.txt`, `*.txt`, or a word before
/// "files" that some entry of the workspace ends with (`pdf files`).
pub fn extension(clause: &str, entries: &[String]) -> Option<String> {
    let words: Vec<String> = clause
        .split_whitespace()
        .map(|w| w.trim_end_matches(['?', ',', '!']).to_lowercase())
        .collect();
    for (i, word) in words.iter().enumerate() {
        let bare = word.trim_start_matches('*');
        if let Some(ext) = bare.strip_prefix('.')
            && !ext.is_empty()
            && ext.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Some(ext.to_owned());
        }
        let before_files = words
            .get(i + 1)
            .is_some_and(|next| next.starts_with("file"));
        if before_files
            && word.len() <= 5
            && word.chars().all(|c| c.is_ascii_alphanumeric())
            && entries.iter().any(|e| e.ends_with(&format!(".{word}")))
        {
            return Some(word.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(files: &[&str], dirs: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in dirs {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        dir
    }

    #[test]
    fn existing_files_dirs_and_new_paths_are_typed_by_the_workspace() {
        let ws = workspace(&["draft.txt"], &["docs"]);
        let ops = Operands::read(
            "Rename draft.txt to final.txt in docs/",
            ws.path(),
            &[],
            &[],
        );
        assert_eq!(ops.files, ["draft.txt"]);
        assert_eq!(ops.new, ["final.txt"]);
        assert_eq!(ops.dirs, ["docs"]);
        assert!(ops.position("draft.txt") < ops.position("final.txt"));
    }

    #[test]
    fn a_bare_name_that_exists_once_deeper_is_that_file() {
        let ws = workspace(&["inbox/todo.txt"], &[]);
        let entries = vec!["inbox".to_owned(), "inbox/todo.txt".to_owned()];
        let ops = Operands::read("What does todo.txt say?", ws.path(), &entries, &[]);
        assert_eq!(ops.files, ["inbox/todo.txt"]);
        assert!(ops.new.is_empty());
    }

    #[test]
    fn names_with_blanks_that_exist_are_one_operand() {
        let ws = workspace(&["inbox/report (1).pdf", "inbox/report.pdf"], &[]);
        let ops = Operands::read(
            "inbox/report (1).pdf is a duplicate of inbox/report.pdf.",
            ws.path(),
            &[],
            &[],
        );
        assert_eq!(ops.files, ["inbox/report (1).pdf", "inbox/report.pdf"]);
        assert!(ops.new.is_empty(), "{:?}", ops.new);
    }

    #[test]
    fn it_refers_to_the_folder_an_earlier_clause_makes() {
        let ws = workspace(&["old-notes.txt"], &[]);
        let ops = Operands::read(
            "move old-notes.txt into it",
            ws.path(),
            &[],
            &["archive".to_owned()],
        );
        assert_eq!(ops.files, ["old-notes.txt"]);
        assert_eq!(ops.dirs, ["archive"]);
    }

    #[test]
    fn this_folder_is_the_workspace() {
        let ws = workspace(&[], &[]);
        let ops = Operands::read("show the files in this folder", ws.path(), &[], &[]);
        assert_eq!(ops.dirs_or_here(), ["."]);
    }

    #[test]
    fn search_terms_texts_and_extensions_are_read_from_the_words() {
        assert_eq!(
            search_term("Which file mentions kiwi?").as_deref(),
            Some("kiwi")
        );
        assert_eq!(
            search_term("find the file that contains \"red apples\"").as_deref(),
            Some("red apples")
        );
        assert_eq!(
            text_to_write("Write a note in notes/todo.txt that says: buy milk.").as_deref(),
            Some("buy milk.")
        );
        assert_eq!(
            text_to_write("write hello world to a.txt saying hi there").as_deref(),
            Some("hi there")
        );
        assert_eq!(text_to_write("write a.txt"), None);
        assert_eq!(
            extension("How many .txt files are in notes?", &[]).as_deref(),
            Some("txt")
        );
        let entries = vec!["x/a.pdf".to_owned()];
        assert_eq!(
            extension("how many pdf files are there", &entries).as_deref(),
            Some("pdf")
        );
        assert_eq!(extension("how many big files are there", &entries), None);
    }
}
