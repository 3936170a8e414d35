//! The verbs of a file chore and the words that say them. A request says a
//! verb ("rename", "how many lines", "where is") and names paths; leash
//! turns each verb into typed actions over those paths (see
//! [`super::plan()`]). The verbs are closed: each is one action shape whose
//! operands have a type (an existing file, a folder, a new path, a word to
//! search for, text to write).
//!
//! Written by hand: these are the everyday phrasings of a handful of file
//! chores, not a grammar any crate reads; each is pinned by a test.

/// One chore verb. Closed; the order of [`Verb::ALL`] is the priority when a
/// clause says several ("make a copy" is a copy, not a new folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    /// `tar -czf NEW SRC`.
    Archive,
    /// `write_file PATH TEXT`.
    Write,
    /// `wc -l FILE`.
    CountLines,
    /// `find DIR -type f [-name *.EXT]`; leash counts what it prints.
    CountFiles,
    /// `du -sh PATH`.
    Size,
    /// `grep -r -l -F -e WORD DIR`.
    Search,
    /// `find . -name NAME`.
    Find,
    /// `copy FROM TO`.
    Copy,
    /// `move FROM TO` (rename, or into a folder).
    Move,
    /// `mkdir NEW`.
    MakeDir,
    /// `delete PATH` (to leash's trash).
    Delete,
    /// `ls -1p DIR`.
    List,
    /// `cat FILE`.
    Read,
}

impl Verb {
    /// Every verb, highest priority first.
    pub const ALL: [Verb; 13] = [
        Verb::Archive,
        Verb::Write,
        Verb::CountLines,
        Verb::CountFiles,
        Verb::Size,
        Verb::Search,
        Verb::Find,
        Verb::Copy,
        Verb::Move,
        Verb::MakeDir,
        Verb::Delete,
        Verb::List,
        Verb::Read,
    ];

    /// Phrases that say this verb: each phrase's words must follow each
    /// other in the clause, each as the start of a word ("renam" covers
    /// "rename", "renaming"). A phrase of one word is just a keyword.
    fn phrases(self) -> &'static [&'static [&'static str]] {
        match self {
            Verb::Archive => &[&["archive"], &["tar"], &["compress"], &["pack"]],
            Verb::Write => &[&["write"], &["jot"], &["note", "that"], &["note", "saying"]],
            Verb::CountLines => &[
                &["how", "many", "lines"],
                &["count", "the", "lines"],
                &["line", "count"],
                &["number", "of", "lines"],
            ],
            Verb::CountFiles => &[&["how", "many"], &["count", "the"], &["number", "of"]],
            Verb::Size => &[
                &["how", "much", "space"],
                &["how", "much", "disk"],
                &["how", "big"],
                &["how", "large"],
                &["size", "of"],
                &["disk", "usage"],
                &["space", "does"],
                &["disk", "space"],
            ],
            Verb::Search => &[
                &["mention"],
                &["contain"],
                &["search", "for"],
                &["with", "the", "word"],
                &["grep"],
            ],
            Verb::Find => &[&["where"], &["find"], &["locate"], &["look", "for"]],
            Verb::Copy => &[&["copy"], &["back", "up"], &["backup"]],
            Verb::Move => &[&["renam"], &["move"], &["mv"]],
            Verb::MakeDir => &[&["mkdir"]],
            Verb::Delete => &[
                &["delet"],
                &["remov"],
                &["eras"],
                &["trash"],
                &["get", "rid"],
            ],
            Verb::List => &[
                &["list"],
                &["files", "in"],
                &["files", "are", "in"],
                &["what", "is", "in"],
                &["what's", "in"],
                &["whats", "in"],
                &["show", "the", "files"],
                &["show", "me", "the", "files"],
            ],
            Verb::Read => &[
                &["what", "does"],
                &["read"],
                &["show"],
                &["print"],
                &["display"],
                &["contents", "of"],
                &["cat"],
                &["open"],
            ],
        }
    }

    /// Does `words` (a clause's lowercase words) say this verb?
    pub fn said_in(self, words: &[String]) -> bool {
        let said = self.phrases().iter().any(|phrase| {
            words.windows(phrase.len()).any(|window| {
                window
                    .iter()
                    .zip(phrase.iter())
                    .all(|(word, start)| word.starts_with(start))
            })
        });
        // A new folder is "make/create/add … folder|directory".
        if self == Verb::MakeDir && !said {
            let makes = words.iter().any(|w| {
                ["make", "creat", "add", "new"]
                    .iter()
                    .any(|s| w.starts_with(s))
            });
            let folder = words.iter().any(|w| {
                ["folder", "folders", "directory", "directories", "dir"].contains(&w.as_str())
            });
            return makes && folder;
        }
        // "how many" counts lines when it says lines, files otherwise.
        if self == Verb::CountFiles && said {
            return !Verb::CountLines.said_in(words);
        }
        said
    }

    /// The verb's name in reports and in the pick question.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Archive => "archive",
            Verb::Write => "write",
            Verb::CountLines => "count_lines",
            Verb::CountFiles => "count_files",
            Verb::Size => "size",
            Verb::Search => "search",
            Verb::Find => "find",
            Verb::Copy => "copy",
            Verb::Move => "move",
            Verb::MakeDir => "make_dir",
            Verb::Delete => "delete",
            Verb::List => "list",
            Verb::Read => "read",
        }
    }
}

/// A clause's words, lowercase, without the punctuation around them.
pub fn words_of(clause: &str) -> Vec<String> {
    clause
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '.')
                .trim_end_matches('.')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The verbs `clause` says, highest priority first.
pub fn verbs_in(clause: &str) -> Vec<Verb> {
    let words = words_of(clause);
    Verb::ALL
        .into_iter()
        .filter(|verb| verb.said_in(&words))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::rename("Rename notes.md to old-notes.md.", Verb::Move)]
    #[case::move_into("move a.txt into it", Verb::Move)]
    #[case::copy_called("Make a copy of app.conf called app.conf.orig.", Verb::Copy)]
    #[case::back_up("Back up config.ini as config.ini.old", Verb::Copy)]
    #[case::count_lines("How many lines does essay.txt have?", Verb::CountLines)]
    #[case::count_files("How many .md files are in docs?", Verb::CountFiles)]
    #[case::read_say("What does readme.txt say?", Verb::Read)]
    #[case::show_file("Show me todo.txt", Verb::Read)]
    #[case::make_folder("Make a folder called music/2024.", Verb::MakeDir)]
    #[case::create_directory("Create a new directory named x", Verb::MakeDir)]
    #[case::archive("Make a tar.gz archive of the photos folder", Verb::Archive)]
    #[case::find("Where is the file called taxes.pdf?", Verb::Find)]
    #[case::delete("Delete the file cache.tmp.", Verb::Delete)]
    #[case::remove("Remove old.log please", Verb::Delete)]
    #[case::list("List the files in the docs folder.", Verb::List)]
    #[case::show_files("show the files in this folder", Verb::List)]
    #[case::search("Which file mentions kiwi?", Verb::Search)]
    #[case::size("How much disk space does the photos folder use?", Verb::Size)]
    #[case::write("Write a note in notes/todo.txt that says: buy milk.", Verb::Write)]
    fn the_first_verb_is_the_chore(#[case] clause: &str, #[case] verb: Verb) {
        assert_eq!(verbs_in(clause).first(), Some(&verb), "{clause}");
    }

    #[rstest]
    #[case::question_without_verb("Is it going to rain today?")]
    #[case::greeting("Hello there")]
    fn sentences_without_a_chore_say_no_verb(#[case] clause: &str) {
        assert_eq!(verbs_in(clause), Vec::<Verb>::new(), "{clause}");
    }
}
