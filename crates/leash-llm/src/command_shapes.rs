//! What a `run` action may say, typed: the programs that can run, the options
//! each really has (per subcommand), the kind of each operand, and the
//! workspace entries that paths which must exist are chosen from. The grammar
//! for the embedded model ([`crate::actions_gbnf`]) and the JSON schema for
//! servers narrow the model's answers to these shapes.
//!
//! A neutral description: leash-llm does not know the policy (the layering
//! keeps the model side free of the security core); leash-core fills it from
//! `leash_policy::Policy::grammar()` and the workspace. The policy still
//! judges every action: the shapes only keep a small model from spending its
//! steps on options and files that do not exist.

/// The kind of one argv word after the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WordKind {
    /// A path that must exist: one of [`CommandShapes::existing`].
    Existing,
    /// A directory that must exist: one of [`CommandShapes::directories`].
    Directory,
    /// A path that may not exist yet (written, or a destination): an
    /// existing entry, a name the person used ([`CommandShapes::named`]), or
    /// such a base name under an existing or named directory.
    NewPath,
    /// Free text that does not start with `-` (a pattern, a format, a keyword).
    Text,
    /// A number, optionally signed, optionally with a one-letter unit (`5`, `-7`, `10M`).
    Number,
}

/// An option and the value it takes, if any (always as the next argv word).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OptionShape {
    /// As written in argv: `-l`, `--all`, `-name`.
    pub spelling: String,
    /// The kind of the word that follows it (`-n 5`); `None`: a flag alone.
    pub value: Option<WordKind>,
}

/// The words of one level: options first, then operands in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct WordsShape {
    /// The options the policy lets this program (or subcommand) take.
    pub options: Vec<OptionShape>,
    /// Operands that come first and are required (`grep PATTERN`).
    pub leading: Vec<WordKind>,
    /// The first operand after the leading ones, when it differs from `rest`.
    pub first: Option<WordKind>,
    /// The other operands; `None`: no more operands.
    pub rest: Option<WordKind>,
    /// The last operand when there are two or more (`cp`'s destination).
    pub last: Option<WordKind>,
    /// At most this many operands after the leading ones.
    pub max_operands: usize,
    /// Operands come before the options (`find PATH... EXPRESSION`).
    pub operands_first: bool,
}

/// A subcommand (`git log`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SubcommandShape {
    /// As written after the program (`log`).
    pub name: String,
    /// The options and operands it takes.
    pub words: WordsShape,
}

/// A program that can run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ProgramShape {
    /// The name a `run` action's argv starts with.
    pub name: String,
    /// The program's own words (before a subcommand).
    pub words: WordsShape,
    /// Its subcommands; when not empty, the program's own words are options
    /// only and a subcommand may follow.
    pub subcommands: Vec<SubcommandShape>,
}

/// Everything a `run` action may say, and the paths file actions may name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct CommandShapes {
    /// The programs the policy lets run, each with its words.
    pub programs: Vec<ProgramShape>,
    /// Workspace entries that exist (relative paths, `.` first), for operands
    /// that are read and for the sources of `move`, `copy` and `delete`.
    pub existing: Vec<String>,
    /// Directories that exist (relative, `.` first), for `cwd` and directory operands.
    pub directories: Vec<String>,
    /// Paths the person named in the task (relative, as written): with the
    /// existing directories, the only names a new path (a written file, a made
    /// directory, a move or copy target, a written operand) may take, also as
    /// a base name under an existing or named directory. A small model
    /// otherwise invents stray files (`file.txt`, `filename`, `ls -la`).
    pub named: Vec<String>,
    /// The task only asks for information ("what does motd.txt say?"): the
    /// answer may only run commands and notify, no file action (a small
    /// model otherwise writes over the very file it was asked to read).
    pub read_only: bool,
    /// The answer must propose at least one action (the job has done nothing
    /// yet: a small model otherwise says done at once, copying an example's
    /// final answer).
    pub actions_required: bool,
}

/// Most options one level may use in a `run` action of the grammar.
pub const MAX_OPTIONS_PER_LEVEL: usize = 4;
/// Most operands (after the leading ones) in a `run` action of the grammar.
pub const MAX_OPERANDS: usize = 6;
