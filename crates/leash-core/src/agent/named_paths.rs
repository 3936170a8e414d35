//! The paths a person named in a task ("write notes/todo.txt", "a folder
//! called archive", "`report final.md`"): with the workspace's existing
//! entries, the only names a new path in the model's answer may take
//! (`leash_llm::CommandShapes::named`). A small model otherwise writes stray
//! files named after whatever is in its context (`file.txt`, `filename`, an
//! example's `photos`, a command's text `ls -la`).
//!
//! Taken from the person's words only (the task), never from a trigger's
//! payload or a command's output: those are untrusted data, and a name in
//! them must not become a place the model can write to. Over-inclusion is
//! cheap (a name the person said, that the policy still judges); leaving a
//! name out means the model cannot do what was asked, so every word that
//! looks like a path counts, and plain words count next to "folder",
//! "called", "named" and their kin.

/// Words after which (or before which, for the nouns) a plain word is a name:
/// "a folder called archive", "the reports folder", "named backup".
const NAMING_WORDS: &[&str] = &[
    "called",
    "named",
    "folder",
    "folders",
    "directory",
    "directories",
    "dir",
    "file",
    "files",
    "into",
    "to",
];

/// Plain words that are never a name even next to a naming word (nor are
/// the naming words themselves).
const NOT_NAMES: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "its", "new", "old",
    "empty", "same", "other", "each", "every", "all", "one", "it", "them", "there", "here", "in",
    "of", "for", "from", "with", "and", "or", "says", "say", "which", "is", "are", "be", "then",
    "please", "copy", "move", "make", "create", "write", "put", "rename", "delete", "sort", "text",
    "note",
];

/// Most names taken from one task (bounds the grammar).
const MAX_NAMES: usize = 32;
/// Longest name taken (a path, not a paragraph).
const MAX_NAME_CHARS: usize = 200;

/// `word` without the punctuation around it (quotes, brackets, a sentence's
/// final `.`, `,`, `:`…) and without a leading `./` or a trailing `/`.
fn trimmed(word: &str) -> &str {
    let word = word.trim_matches(|c: char| {
        matches!(
            c,
            '"' | '\''
                | '`'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | ','
                | ';'
                | ':'
                | '!'
                | '?'
                | '<'
                | '>'
                | '*'
        )
    });
    // A sentence's final dot (`final.txt.`), or an ellipsis.
    let word = word.trim_end_matches('.');
    let word = word.strip_prefix("./").unwrap_or(word);
    word.trim_end_matches('/')
}

/// Does `word` look like a path on its own: a `/` in it, or an extension
/// (`a.txt`, `reports.tar.gz`, `.env`)?
fn looks_like_path(word: &str) -> bool {
    if word.contains("://") {
        return false;
    }
    if word.contains('/') {
        return word.chars().any(char::is_alphanumeric);
    }
    match word.rsplit_once('.') {
        Some((stem, ext)) => {
            !ext.is_empty()
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic())
                && (stem.is_empty() || stem.chars().any(char::is_alphanumeric))
        }
        None => false,
    }
}

/// Could `word` be a plain name (`archive`, `2026`, `old-notes`)?
fn plain_name(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !word.starts_with('-')
        && !NOT_NAMES.contains(&word.to_lowercase().as_str())
        && !NAMING_WORDS.contains(&word.to_lowercase().as_str())
}

fn push(names: &mut Vec<String>, name: &str) {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with('-')
        && !name.split('/').any(|part| part == "..")
        && !name.chars().any(char::is_control);
    if ok && names.len() < MAX_NAMES && !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

/// The names in `task`, in the order the person said them.
pub fn named_paths(task: &str) -> Vec<String> {
    let mut names = Vec::new();
    // Quoted or back-ticked names may hold blanks (`"report final.md"`).
    for quote in ['`', '"'] {
        for (i, part) in task.split(quote).enumerate() {
            let part = part.trim();
            if i % 2 == 1 && !part.is_empty() && !part.contains('\n') && looks_like_path(part) {
                push(&mut names, trimmed(part));
            }
        }
    }
    let raw: Vec<&str> = task.split_whitespace().collect();
    let words: Vec<&str> = raw.iter().map(|w| trimmed(w)).collect();
    for (i, word) in words.iter().enumerate() {
        // `inbox/`: a trailing slash says it is a directory.
        let said_dir = raw[i].contains('/') && plain_name(word);
        if looks_like_path(word) || said_dir {
            push(&mut names, word);
            continue;
        }
        let after_naming = i > 0 && NAMING_WORDS.contains(&words[i - 1].to_lowercase().as_str());
        let before_noun = words.get(i + 1).is_some_and(|next| {
            matches!(
                next.to_lowercase().as_str(),
                "folder" | "directory" | "dir" | "file"
            )
        });
        if (after_naming || before_noun) && plain_name(word) {
            push(&mut names, word);
        }
    }
    names
}

/// The names of `named` that may be new paths, given the workspace's
/// `existing` entries: a bare name that exists deeper in the workspace
/// (`budget.xlsx` at `docs/2026/budget.xlsx`) refers to that file, so it is
/// not offered as a new file at the top (where the model would make a copy
/// or an empty stray).
///
/// A named file that exists is offered only when the task says to write
/// (`writes`): "delete scratch.tmp" names a file that must not be written
/// over first.
pub fn new_names(
    named: &[String],
    existing: &[String],
    directories: &[String],
    writes: bool,
) -> Vec<String> {
    named
        .iter()
        .filter(|name| {
            let exists = existing.iter().any(|e| e == *name);
            let is_dir = directories.iter().any(|d| d == *name);
            if exists {
                return is_dir || writes;
            }
            name.contains('/')
                || !existing
                    .iter()
                    .any(|e| e.rsplit('/').next() == Some(name.as_str()))
        })
        .cloned()
        .collect()
}

/// Word starts that say the person wants a file written (over).
const WRITING: &[&str] = &[
    "writ", "overwrit", "append", "updat", "edit", "replac", "record", "save", "add", "fill",
    "put", "chang", "set", "store", "log",
];

/// Does `task` say to write into a file?
pub fn says_write(task: &str) -> bool {
    task.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| WRITING.iter().any(|stem| word.starts_with(stem)))
}

#[cfg(test)]
mod tests {
    use super::{named_paths, new_names};

    #[test]
    fn a_bare_name_that_exists_deeper_is_not_a_new_path() {
        let existing: Vec<String> = ["docs", "docs/budget.xlsx", "motd.txt"]
            .map(String::from)
            .to_vec();
        let named: Vec<String> = ["budget.xlsx", "motd.txt", "new.txt", "docs/budget.xlsx"]
            .map(String::from)
            .to_vec();
        let dirs: Vec<String> = vec!["docs".into()];
        assert_eq!(
            new_names(&named, &existing, &dirs, true),
            ["motd.txt", "new.txt", "docs/budget.xlsx"]
        );
    }

    #[test]
    fn a_named_file_that_exists_is_written_only_when_the_task_says_write() {
        let existing: Vec<String> = vec!["scratch.tmp".into(), "docs".into()];
        let dirs: Vec<String> = vec!["docs".into()];
        let named: Vec<String> = vec!["scratch.tmp".into(), "docs".into()];
        assert!(!super::says_write("Delete the file scratch.tmp."));
        assert_eq!(new_names(&named, &existing, &dirs, false), ["docs"]);
        assert!(super::says_write("Append a line to scratch.tmp"));
        assert_eq!(new_names(&named, &existing, &dirs, true), named);
    }
    use rstest::rstest;

    #[rstest]
    #[case::file_with_extension_at_sentence_end("Rename draft.txt to final.txt.", &["draft.txt", "final.txt"])]
    #[case::nested_path("Write a note in notes/todo.txt that says: buy milk.", &["notes/todo.txt"])]
    #[case::double_extension("Pack it as site.tar.gz, please", &["site.tar.gz"])]
    #[case::folder_called("Create a folder called archive and move a.txt into it.", &["archive", "a.txt"])]
    #[case::noun_before_folder("How big is the backups folder?", &["backups"])]
    #[case::named_with_slash("Make a directory named pics/2025/", &["pics/2025"])]
    #[case::quoted_name_with_blank("Open \"my report.md\" now", &["my report.md", "report.md"])]
    #[case::dot_file("Show .env", &[".env"])]
    #[case::trailing_slash_dir("Sort inbox/ into images/ and documents/.", &["inbox", "images", "documents"])]
    fn names_the_person_used_are_found(#[case] task: &str, #[case] expected: &[&str]) {
        let names = named_paths(task);
        for name in expected {
            assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
        }
    }

    #[rstest]
    #[case::plain_sentence("How much disk space is free?")]
    #[case::url("Fetch https://example.com/x.txt")]
    #[case::parent_escape("Write ../outside.txt")]
    #[case::option_like("Run it with -rf.txt")]
    #[case::articles_next_to_folder("Make a new folder for the files")]
    #[case::numbers_are_not_extensions("Version 1.2 is out")]
    fn words_that_are_not_names_are_left_out(#[case] task: &str) {
        let names = named_paths(task);
        for bad in [
            "https://example.com/x.txt",
            "../outside.txt",
            "-rf.txt",
            "a",
            "new",
            "the",
            "files",
            "1.2",
            "disk",
            "free",
        ] {
            assert!(!names.iter().any(|n| n == bad), "{bad} in {names:?}");
        }
    }

    #[test]
    fn names_are_bounded() {
        let task = (0..100)
            .map(|i| format!("f{i}.txt"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(named_paths(&task).len(), super::MAX_NAMES);
    }
}
