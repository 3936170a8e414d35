//! The typed shapes of the `run` actions a model may propose, filled from the
//! policy's command grammars (`leash_policy::Policy::grammar`) and the
//! workspace's real entries, for the grammar and the schema the backends
//! constrain the model with (`leash_llm::CommandShapes`).
//!
//! What is offered, per program that can run (the whitelist's programs, as
//! the system prompt lists them):
//! - a program whose grammar is complete: its options (the option's value of
//!   its type, as the next word), its subcommands that are complete (only the
//!   ones the whitelist names, when its entries name subcommands), operands of
//!   their type; a program without a complete grammar: its bare name (any
//!   argument would ask);
//! - left out: wrappers (they run other programs: the model runs the inner
//!   one directly), options whose value is a program, options whose value is
//!   a URL while the network is off, `--help`;
//! - paths that are read come from [`workspace_entries`]: the workspace's
//!   entries, breadth first, at most [`MAX_ENTRIES`] (a large workspace
//!   offers its upper levels), plus the paths the job has already created.

use std::collections::VecDeque;
use std::path::Path;

use leash_llm::{CommandShapes, OptionShape, ProgramShape, SubcommandShape, WordKind, WordsShape};
use leash_policy::{ArgType, ArgsGrammar, OptionGrammar, Policy, ProgramGrammar, Style};

/// At most this many workspace entries are offered as existing paths.
pub const MAX_ENTRIES: usize = 200;
/// Entries deeper than this are not listed.
const MAX_DEPTH: usize = 4;

/// The word kind of a typed argument; `None` for what is never offered.
fn word_kind(kind: ArgType, network: bool) -> Option<WordKind> {
    match kind {
        ArgType::ReadPath | ArgType::ArgumentFile => Some(WordKind::Existing),
        ArgType::Directory => Some(WordKind::Directory),
        ArgType::WritePath | ArgType::Destination => Some(WordKind::NewPath),
        ArgType::Text
        | ArgType::Pattern
        | ArgType::Format
        | ArgType::Keyword
        | ArgType::BackupSuffix => Some(WordKind::Text),
        ArgType::Number => Some(WordKind::Number),
        ArgType::Url => network.then_some(WordKind::Text),
        ArgType::Program => None,
    }
}

fn options(option: &OptionGrammar, style: Style, network: bool) -> Vec<OptionShape> {
    let value = match &option.value {
        None => None,
        // An optional value is only ever attached: offer the bare option.
        Some(v) if !v.required => None,
        Some(v) if v.extra_words != Some(0) => return Vec::new(),
        Some(v) => match word_kind(v.kind, network) {
            Some(kind) => Some(kind),
            None => return Vec::new(),
        },
    };
    let dashes = match style {
        Style::Dashlong | Style::Find => "-",
        Style::Getopt | Style::Posix | Style::Tar => "--",
    };
    let shorts = option.short.iter().map(|c| format!("-{c}"));
    let longs = option
        .long
        .iter()
        .filter(|name| !matches!(name.as_str(), "help" | "usage"))
        .map(|name| format!("{dashes}{name}"));
    shorts
        .chain(longs)
        .map(|spelling| OptionShape { spelling, value })
        .collect()
}

/// One level's words; `None` when an operand would have to be a program.
fn words(args: &ArgsGrammar, style: Style, network: bool) -> Option<WordsShape> {
    let operands = &args.operands;
    let max = operands.max.unwrap_or(usize::MAX);
    let words_kind = word_kind(operands.kind_of_words, network);
    let mut leading = Vec::new();
    for _ in 0..operands.leading.min(max) {
        leading.push(words_kind?);
    }
    let rest = match operands.rest {
        Some(kind) => word_kind(kind, network),
        None => words_kind,
    };
    Some(WordsShape {
        options: args
            .options
            .iter()
            .flat_map(|o| options(o, style, network))
            .collect(),
        leading,
        first: operands.first.and_then(|k| word_kind(k, network)),
        rest,
        last: operands.last.and_then(|k| word_kind(k, network)),
        max_operands: max.saturating_sub(operands.leading),
        operands_first: style == Style::Find,
    })
}

fn program(
    grammar: &ProgramGrammar,
    name: &str,
    subs: Option<&[&str]>,
    network: bool,
) -> ProgramShape {
    let bare = ProgramShape {
        name: name.to_string(),
        words: WordsShape::default(),
        subcommands: Vec::new(),
    };
    if !grammar.complete || grammar.wrapper {
        return bare;
    }
    let Some(own) = words(&grammar.global, grammar.style, network) else {
        return bare;
    };
    let subcommands = grammar
        .subcommands
        .iter()
        .filter(|s| s.complete)
        .filter(|s| subs.is_none_or(|names| names.contains(&s.name.as_str())))
        .filter_map(|s| {
            Some(SubcommandShape {
                name: s.name.clone(),
                words: words(&s.args, Style::Getopt, network)?,
            })
        })
        .collect::<Vec<_>>();
    let words = if grammar.subcommands.is_empty() {
        own
    } else {
        // Before a subcommand only options (`git -C dir log`).
        WordsShape {
            options: own.options,
            ..WordsShape::default()
        }
    };
    ProgramShape {
        name: name.to_string(),
        words,
        subcommands,
    }
}

/// The subcommands the whitelist names for `program` (`git status`, `git
/// log`), or `None` when an entry allows the program with any subcommand.
fn whitelisted_subcommands<'a>(whitelist: &'a [String], program: &str) -> Option<Vec<&'a str>> {
    let mut subs = Vec::new();
    for entry in whitelist {
        let mut words = entry.split_whitespace();
        if words.next() != Some(program) {
            continue;
        }
        match words.next() {
            None => return None,
            Some(word) if word.starts_with('-') => return None,
            Some(word) => subs.push(word),
        }
    }
    Some(subs)
}

/// The shapes for `programs` (the runnable programs), with `entries` and
/// `directories` as the existing paths.
pub fn command_shapes(
    policy: &Policy,
    programs: &[String],
    entries: Vec<String>,
    directories: Vec<String>,
) -> CommandShapes {
    let grammar = policy.grammar();
    let settings = policy.settings();
    let shapes = programs
        .iter()
        .filter_map(|name| {
            let bare = ProgramShape {
                name: name.clone(),
                words: WordsShape::default(),
                subcommands: Vec::new(),
            };
            let Some(g) = grammar.program(name) else {
                return Some(bare);
            };
            if g.wrapper {
                return None;
            }
            let subs = whitelisted_subcommands(&settings.whitelist, name);
            Some(program(g, name, subs.as_deref(), settings.network))
        })
        .collect();
    CommandShapes {
        programs: shapes,
        existing: entries,
        directories,
        named: Vec::new(),
        read_only: false,
        actions_required: false,
    }
}

/// The workspace's entries (relative paths, breadth first, `.` first) and its
/// directories, at most [`MAX_ENTRIES`] entries, without `.git`, leash's own
/// `.leash` and what is inside them. Symlinks are listed, never followed.
pub fn workspace_entries(workspace: &Path) -> (Vec<String>, Vec<String>) {
    let mut entries = vec![".".to_string()];
    let mut directories = vec![".".to_string()];
    let mut queue: VecDeque<(std::path::PathBuf, String, usize)> = VecDeque::new();
    queue.push_back((workspace.to_path_buf(), String::new(), 0));
    while let Some((dir, prefix, depth)) = queue.pop_front() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<(String, bool)> = read
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let is_dir = e.file_type().ok()?.is_dir();
                Some((name, is_dir))
            })
            .filter(|(name, _)| name != ".git" && name != ".leash")
            .collect();
        names.sort();
        for (name, is_dir) in names {
            if entries.len() >= MAX_ENTRIES {
                return (entries, directories);
            }
            let relative = format!("{prefix}{name}");
            if is_dir {
                directories.push(relative.clone());
                if depth + 1 < MAX_DEPTH {
                    queue.push_back((dir.join(&name), format!("{relative}/"), depth + 1));
                }
            }
            entries.push(relative);
        }
    }
    (entries, directories)
}

#[cfg(test)]
#[path = "run_shapes_tests.rs"]
mod tests;
