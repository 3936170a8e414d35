//! A typed, read-only view of the command grammars the policy admits, for
//! tools that must agree with it: above all the generator of the model's
//! output grammar (GBNF), so the model can only propose shapes the policy
//! knows. Built from the same compiled rules data the policy judges with.
//!
//! ```
//! # let dir = std::env::temp_dir();
//! let policy = leash_policy::Policy::load(leash_policy::PolicySettings::new(dir.clone(), dir)).unwrap();
//! let grammar = policy.grammar();
//! let ls = grammar.program("ls").unwrap();
//! assert!(ls.complete);
//! assert!(ls.global.options.iter().any(|o| o.short.contains(&'l')));
//! ```

use serde::Serialize;

use crate::options::ArgsSpec;
use crate::rules::format::{ParseStyle, PathRoleDoc, ValueDoc, ValueTypeDoc};
use crate::spec::{Knowledge, ProgramSpec};

/// What an operand or an option value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgType {
    /// Free text.
    Text,
    /// A count, size or duration.
    Number,
    /// A regular expression or glob.
    Pattern,
    /// A format string.
    Format,
    /// A word from a fixed set (`never`, `auto`, ...).
    Keyword,
    /// A URL (the command reaches the network).
    Url,
    /// A program or command line to run: never allowed unasked.
    Program,
    /// A file whose contents are more arguments (a read path).
    ArgumentFile,
    /// A path that is read.
    ReadPath,
    /// A path that is written.
    WritePath,
    /// A directory the program changes into.
    Directory,
    /// A destination that may be a directory (`DIR/basename(SRC)` is written).
    Destination,
    /// A backup suffix: every written path with this suffix is written too.
    BackupSuffix,
}

fn arg_type(path: PathRoleDoc, kind: ValueTypeDoc) -> ArgType {
    match (path, kind) {
        (PathRoleDoc::Read, ValueTypeDoc::Argfile) => ArgType::ArgumentFile,
        (PathRoleDoc::Read, _) => ArgType::ReadPath,
        (PathRoleDoc::Write, _) => ArgType::WritePath,
        (PathRoleDoc::Cwd, _) => ArgType::Directory,
        (PathRoleDoc::Dest, _) => ArgType::Destination,
        (PathRoleDoc::None, ValueTypeDoc::Text) => ArgType::Text,
        (PathRoleDoc::None, ValueTypeDoc::Number) => ArgType::Number,
        (PathRoleDoc::None, ValueTypeDoc::Pattern) => ArgType::Pattern,
        (PathRoleDoc::None, ValueTypeDoc::Format) => ArgType::Format,
        (PathRoleDoc::None, ValueTypeDoc::Keyword) => ArgType::Keyword,
        (PathRoleDoc::None, ValueTypeDoc::Url) => ArgType::Url,
        (PathRoleDoc::None, ValueTypeDoc::Program) => ArgType::Program,
        (PathRoleDoc::None, ValueTypeDoc::Argfile) => ArgType::ArgumentFile,
        (PathRoleDoc::None, ValueTypeDoc::BackupSuffix) => ArgType::BackupSuffix,
    }
}

/// The value an option takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueGrammar {
    /// `false`: the value is optional and only ever attached (`--color=never`, `-d5`).
    pub required: bool,
    /// Extra words after the value that belong to the option (`find -fprintf
    /// FILE FORMAT`: 1), or `None` for "every word up to `;` or `+`".
    pub extra_words: Option<usize>,
    /// What the value is (a path that is written, a pattern, ...).
    pub kind: ArgType,
}

/// One option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionGrammar {
    /// Canonical name (rules refer to it).
    pub name: String,
    /// Short spellings (`-l`).
    pub short: Vec<char>,
    /// Long spellings without dashes (`all` for `--all`; one dash for
    /// programs whose style spells long options with one, see [`ProgramGrammar::style`]).
    pub long: Vec<String>,
    /// The value it takes; `None` for a flag.
    pub value: Option<ValueGrammar>,
}

/// Operands of a program or subcommand, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperandGrammar {
    /// Leading operands that are not paths (a pattern, a script, a mode).
    pub leading: usize,
    /// The type of the first operand after the leading ones, when it differs.
    pub first: Option<ArgType>,
    /// The type of the other operands (`None`: they are not paths and their
    /// type is `kind_of_words`).
    pub rest: Option<ArgType>,
    /// The type of the last operand when there are two or more (`cp`'s destination).
    pub last: Option<ArgType>,
    /// What non-path operands are.
    pub kind_of_words: ArgType,
    /// At most this many operands.
    pub max: Option<usize>,
}

/// Options and operands of one level (the program, or a subcommand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgsGrammar {
    /// Every option known at this level (anything else asks).
    pub options: Vec<OptionGrammar>,
    /// The operands' types, in order.
    pub operands: OperandGrammar,
}

/// One subcommand (`git log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubcommandGrammar {
    /// Its name (`log`).
    pub name: String,
    /// Other names for it (`ci` for `commit`).
    pub aliases: Vec<String>,
    /// Its grammar is complete; otherwise every use of it asks.
    pub complete: bool,
    /// Its own options and operands (the program's global options apply too).
    pub args: ArgsGrammar,
}

/// How a program reads its argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// GNU getopt_long: options may follow operands; `--` ends options.
    Getopt,
    /// The first operand ends the options.
    Posix,
    /// `find`: paths, then an expression of one-dash primaries.
    Find,
    /// `tar`: a first word without `-` is a bundle of option letters.
    Tar,
    /// Long options spelled with one dash.
    Dashlong,
}

/// One program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramGrammar {
    /// The identity the policy judges it as (`rm` for `/bin/rm`).
    pub name: String,
    /// Other names judged as this program.
    pub aliases: Vec<String>,
    /// Every option, subcommand and operand shape is listed; when `false`,
    /// any argument other than `--version` asks.
    pub complete: bool,
    /// How it reads its argv.
    pub style: Style,
    /// GNU-style abbreviations of long options are accepted.
    pub abbreviations: bool,
    /// It runs another command (its operands are a command line).
    pub wrapper: bool,
    /// Options and operands before (or without) a subcommand.
    pub global: ArgsGrammar,
    /// Its subcommands; empty for a program that has none.
    pub subcommands: Vec<SubcommandGrammar>,
}

/// Every program grammar the policy knows, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandGrammar {
    /// Every program the rules data gives a grammar, in the order of the
    /// rules documents.
    pub programs: Vec<ProgramGrammar>,
}

impl CommandGrammar {
    /// The grammar of the program called `name` (or one of its aliases).
    pub fn program(&self, name: &str) -> Option<&ProgramGrammar> {
        self.programs
            .iter()
            .find(|p| p.name == name || p.aliases.iter().any(|a| a == name))
    }

    pub(crate) fn build(knowledge: &Knowledge) -> CommandGrammar {
        let programs = knowledge
            .specs
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.implicit)
            .map(|(i, s)| program(knowledge, i, s))
            .collect();
        CommandGrammar { programs }
    }
}

fn program(knowledge: &Knowledge, index: usize, spec: &ProgramSpec) -> ProgramGrammar {
    let mut aliases: Vec<String> = knowledge
        .names_of(index)
        .filter(|n| *n != spec.name)
        .map(str::to_string)
        .collect();
    aliases.sort();
    let subcommands = spec
        .subcommands
        .iter()
        .enumerate()
        .map(|(i, sub)| {
            let mut aliases: Vec<String> = spec
                .sub_index
                .iter()
                .filter(|(word, idx)| usize::from(**idx) == i && **word != sub.name)
                .map(|(word, _)| word.clone())
                .collect();
            aliases.sort();
            SubcommandGrammar {
                name: sub.name.clone(),
                aliases,
                complete: sub.complete,
                args: args(&sub.args),
            }
        })
        .collect();
    ProgramGrammar {
        name: spec.name.clone(),
        aliases,
        complete: spec.complete,
        style: match spec.style {
            ParseStyle::Getopt => Style::Getopt,
            ParseStyle::Posix => Style::Posix,
            ParseStyle::Find => Style::Find,
            ParseStyle::Tar => Style::Tar,
            ParseStyle::Dashlong => Style::Dashlong,
        },
        abbreviations: spec.abbreviations,
        wrapper: spec.wrapper.is_some(),
        global: args(&spec.global),
        subcommands,
    }
}

fn args(spec: &ArgsSpec) -> ArgsGrammar {
    let options = spec
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let id = u16::try_from(i).unwrap_or(u16::MAX);
            let mut short: Vec<char> = spec
                .short_spellings()
                .filter(|(_, oid)| *oid == id)
                .map(|(c, _)| c)
                .collect();
            short.sort_unstable();
            let long = spec
                .long_spellings()
                .filter(|(_, oid)| *oid == id)
                .map(|(n, _)| n.to_string())
                .collect();
            let value = match o.value {
                ValueDoc::None => None,
                ValueDoc::Required | ValueDoc::Pair | ValueDoc::Optional => Some(ValueGrammar {
                    required: o.value != ValueDoc::Optional,
                    extra_words: match o.extra {
                        e if e < 0 => None,
                        e => Some(
                            usize::from(e.unsigned_abs()) + usize::from(o.value == ValueDoc::Pair),
                        ),
                    },
                    kind: arg_type(o.path, o.kind),
                }),
            };
            OptionGrammar {
                name: o.name.clone(),
                short,
                long,
                value,
            }
        })
        .collect();
    let role = |r: PathRoleDoc| match r {
        PathRoleDoc::None => None,
        PathRoleDoc::Read | PathRoleDoc::Write | PathRoleDoc::Cwd | PathRoleDoc::Dest => {
            Some(arg_type(r, ValueTypeDoc::Text))
        }
    };
    ArgsGrammar {
        options,
        operands: OperandGrammar {
            leading: spec.leading,
            first: role(spec.first),
            rest: role(spec.operands),
            last: role(spec.last),
            kind_of_words: arg_type(PathRoleDoc::None, spec.operand_type),
            max: spec.max_operands,
        },
    }
}
