//! Tasks that only ask for information ("what does motd.txt say?", "how
//! many lines does poem.txt have?", "list the files in docs"): their answer
//! grammar offers commands that read and `notify`, no file action and no
//! command that writes (`leash_llm::CommandShapes::read_only`). A small
//! model otherwise answers a question by writing over the file it was asked
//! about, or leaves a stray file named after it.
//!
//! Conservative on purpose: a task is read-only only when it starts like a
//! question or a request to show something AND says no word of change; any
//! doubt leaves the full grammar (the policy and approvals still judge).

use leash_llm::{CommandShapes, WordKind, WordsShape};

/// First words of a request for information.
const ASKING: &[&str] = &[
    "what", "where", "which", "who", "whom", "whose", "when", "why", "how", "is", "are", "was",
    "were", "does", "do", "did", "has", "have", "show", "list", "tell", "print", "display",
];

/// Word starts that say the person wants something changed (long enough not
/// to catch `notes` or `settings`).
const CHANGING_STEMS: &[&str] = &[
    "writ", "creat", "renam", "delet", "remov", "organi", "archiv", "compress", "record", "append",
    "mkdir", "backup", "deploy", "releas", "install", "chang", "updat", "replac", "generat",
    "export", "download", "upload", "trash", "overwrit",
];

/// Whole words that say the person wants something changed.
const CHANGING_WORDS: &[&str] = &[
    "save", "saved", "make", "made", "copy", "copies", "move", "moved", "put", "sort", "pack",
    "zip", "tar", "add", "touch", "back", "fix", "edit", "clean", "empty", "send", "run", "alert",
    "note", "store", "keep", "set", "build", "clear", "reset", "then", "and",
];

/// Does `task` only ask for information?
pub fn is_read_only(task: &str) -> bool {
    let lower = task.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let Some(first) = words.first() else {
        return false;
    };
    ASKING.contains(first)
        && !words.iter().any(|word| {
            CHANGING_WORDS.contains(word)
                || CHANGING_STEMS.iter().any(|stem| word.starts_with(stem))
        })
}

/// `words` without options whose value is written and without operands that
/// are written; `None` when a written operand is required.
fn reading(words: &WordsShape) -> Option<WordsShape> {
    let writes = |kind: &Option<WordKind>| *kind == Some(WordKind::NewPath);
    if words.leading.contains(&WordKind::NewPath) || writes(&words.last) {
        return None;
    }
    let mut out = words.clone();
    out.options.retain(|o| o.value != Some(WordKind::NewPath));
    if writes(&out.first) || writes(&out.rest) {
        out.first = None;
        out.rest = None;
        out.max_operands = 0;
    }
    Some(out)
}

/// Narrows `shapes` to a read-only task: file actions off, and only the
/// command shapes that write nothing they name.
pub fn read_only_shapes(shapes: &mut CommandShapes) {
    shapes.read_only = true;
    shapes.programs.retain_mut(|program| {
        program
            .subcommands
            .retain_mut(|sub| match reading(&sub.words) {
                Some(words) => {
                    sub.words = words;
                    true
                }
                None => false,
            });
        match reading(&program.words) {
            Some(words) => {
                program.words = words;
                true
            }
            None => false,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use leash_llm::{OptionShape, ProgramShape};
    use rstest::rstest;

    #[rstest]
    #[case::what_says("What does the file readme.md say?")]
    #[case::how_many("How many lines are in data.csv?")]
    #[case::where_is("Where is the file called taxes.pdf?")]
    #[case::list("List the files in the music folder.")]
    #[case::show("Show me the end of logs/web.log.")]
    #[case::which("Which file mentions banana?")]
    #[case::notes_folder("What is in the notes folder?")]
    #[case::settings_file("What does settings.ini say?")]
    fn questions_are_read_only(#[case] task: &str) {
        assert!(is_read_only(task), "{task}");
    }

    #[rstest]
    #[case::imperative("Delete the file scratch.tmp.")]
    #[case::question_that_writes("What changed? Write it to notes.md.")]
    #[case::can_you("Can you copy a.txt to b.txt?")]
    #[case::how_to_then_do("How about you rename x.txt to y.txt")]
    #[case::list_into_file("List the files and save the list in files.txt")]
    #[case::empty("")]
    fn requests_to_change_are_not(#[case] task: &str) {
        assert!(!is_read_only(task), "{task}");
    }

    #[test]
    fn writing_shapes_are_dropped() {
        let written = |kind| WordsShape {
            options: vec![
                OptionShape {
                    spelling: "-o".into(),
                    value: Some(WordKind::NewPath),
                },
                OptionShape {
                    spelling: "-n".into(),
                    value: None,
                },
            ],
            rest: Some(kind),
            max_operands: 3,
            ..WordsShape::default()
        };
        let mut shapes = CommandShapes {
            programs: vec![
                ProgramShape {
                    name: "sort".into(),
                    words: written(WordKind::Existing),
                    subcommands: vec![],
                },
                ProgramShape {
                    name: "touch".into(),
                    words: written(WordKind::NewPath),
                    subcommands: vec![],
                },
                ProgramShape {
                    name: "cp".into(),
                    words: WordsShape {
                        last: Some(WordKind::NewPath),
                        ..written(WordKind::Existing)
                    },
                    subcommands: vec![],
                },
            ],
            ..CommandShapes::default()
        };
        read_only_shapes(&mut shapes);
        assert!(shapes.read_only);
        let names: Vec<&str> = shapes.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["sort", "touch"]);
        assert_eq!(shapes.programs[0].words.options.len(), 1, "-o FILE dropped");
        assert_eq!(
            shapes.programs[1].words.max_operands, 0,
            "touch names nothing"
        );
    }
}
