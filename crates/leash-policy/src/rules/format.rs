//! The rules document format (YAML), as written by people and by leash itself
//! (learned rules). The built-in argument knowledge, config `security.rules` and
//! the learned-rules file all use it.
//!
//! ```yaml
//! programs:                    # how a program's argv is read
//!   - name: sort
//!     aliases: [gsort]         # other identities judged as this program
//!     style: getopt            # getopt | posix | find | tar
//!     options:
//!       - { name: output, short: o, long: [output], value: required, path: write }
//!     operands: read           # none | read | write
//!     leading: 0               # leading operands that are not paths (patterns, modes)
//!     leading_unless: []       # ...unless one of these options supplies it
//!     last: write              # role of the last operand when there are two or more
//!     write_when: [in-place]   # operands become writes when one of these is given
//!     script: { options: [expression], operand: true, analyzer: sed }
//!     wrapper: { kind: command, skip: 1 }
//!     subcommands: { push: { options: [...], aliases: [...] } }
//! rules:
//!   - id: builtin.sort.output
//!     program: sort            # or programs: [a, b]
//!     when: { options: [output] }
//!     decision: ask            # allow | ask | deny
//!     network: false           # true: deny while security.network is off, else ask
//!     reason: "sort -o writes a file"
//!     hint: "write results to stdout"
//!     match: ["sort -o out.txt in.txt"]
//!     not_match: ["sort in.txt"]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Decision;

/// One rules document.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesDocument {
    #[serde(default)]
    pub programs: Vec<ProgramDoc>,
    #[serde(default)]
    pub rules: Vec<RuleDoc>,
}

/// How a program parses its arguments.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ParseStyle {
    /// GNU getopt_long: options may follow operands; `--` ends options.
    #[default]
    Getopt,
    /// POSIX: the first operand ends the options (wrappers, `find` before paths).
    Posix,
    /// `find`: leading `-H -L -P`, then paths, then an expression of primaries.
    Find,
    /// `tar`: like getopt, but a first word without `-` is a bundle of options.
    Tar,
    /// Long options spelled with one dash (`sqlite3 -cmd`, `find`-like tools).
    Dashlong,
}

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ValueDoc {
    #[default]
    None,
    Required,
    Optional,
    /// Two values, the second being the one that matters (`jq --rawfile NAME FILE`).
    Pair,
}

/// What a path-valued argument does with the path.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PathRoleDoc {
    #[default]
    None,
    Read,
    Write,
    /// A directory the program changes into (`-C DIR`): read, or written when
    /// the owning option set says so.
    Cwd,
    /// A destination that may be a directory (`cp SRC... DEST`, `-t DIR`):
    /// when it is one, what gets written is `DEST/basename(SRC)`.
    Dest,
}

/// What an option value or operand *means*, besides being a path (`path:`
/// says how a path is used). Checked by the grammar: a `number` that is not
/// one asks, a `program` is never run unasked.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ValueTypeDoc {
    /// Free text (a label, a name, a separator).
    #[default]
    Text,
    /// A count, size or duration: digits with an optional sign and unit suffix.
    Number,
    /// A regular expression or glob.
    Pattern,
    /// A format string (`printf`, `date +FMT`, `--format`).
    Format,
    /// A URL (network).
    Url,
    /// A program or command line the program runs: never allowed unasked.
    Program,
    /// A file whose contents are more arguments (`-files0-from`, `xargs -a`):
    /// read like any read path.
    Argfile,
    /// A choice from a fixed set (`--color=never`).
    Keyword,
    /// A backup suffix (`sed -i.bak`, `cp --suffix=.old`): every path the
    /// command writes, with this suffix, is a write path too (see `backup`).
    #[serde(rename = "backup-suffix")]
    BackupSuffix,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionDoc {
    pub name: String,
    #[serde(default)]
    pub short: String,
    #[serde(default)]
    pub long: Vec<String>,
    #[serde(default)]
    pub value: ValueDoc,
    #[serde(default)]
    pub path: PathRoleDoc,
    /// The path value becomes a write when one of these options is present.
    #[serde(default)]
    pub write_when: Vec<String>,
    /// Giving this option makes the program read directories recursively.
    #[serde(default)]
    pub recursive: bool,
    /// What the value means (default `text`; `path:` values are paths).
    #[serde(default, rename = "type")]
    pub kind: ValueTypeDoc,
    /// Words after the value that belong to the option too (`find -fprintf
    /// FILE FORMAT`: 1), or `-1`: every word up to `;` or `+` (`find -exec`).
    #[serde(default)]
    pub extra: i8,
    /// Command lines that give the option a value (`match`) and that do not
    /// (`not_match`), checked like a rule's examples; a `backup-suffix`
    /// option must have both (`sed -i 's/a/b/' f` is no suffix).
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub match_examples: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_match: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AnalyzerDoc {
    Sed,
    Awk,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScriptDoc {
    /// Options whose value is inline script text (`sed -e`, `awk` has none).
    #[serde(default)]
    pub options: Vec<String>,
    /// Options whose value names a script file (`sed -f`, `awk -f`).
    #[serde(default)]
    pub file_options: Vec<String>,
    /// The first operand is the script unless a script option was given.
    #[serde(default)]
    pub operand: bool,
    pub analyzer: Option<AnalyzerDoc>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WrapperKindDoc {
    /// Operands after `skip` leading ones are a command (`nice`, `timeout 5 cmd`).
    Command,
    /// `env`: `NAME=value` assignments, then a command.
    Env,
    /// `sh -c STRING`: the string is parsed as a shell command.
    Shell,
    /// `busybox APPLET ...`: the applet of the same binary.
    Multicall,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WrapperDoc {
    pub kind: WrapperKindDoc,
    #[serde(default)]
    pub skip: usize,
    /// Command run when none is named (`xargs` runs `echo`).
    #[serde(default)]
    pub default_command: Option<String>,
}

/// Argument layout shared by programs and subcommands.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgsDoc {
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub options: Vec<OptionDoc>,
    #[serde(default)]
    pub operands: PathRoleDoc,
    #[serde(default)]
    pub leading: usize,
    #[serde(default)]
    pub leading_unless: Vec<String>,
    /// Role of the first operand (after the leading ones) when there are any.
    #[serde(default)]
    pub first: PathRoleDoc,
    #[serde(default)]
    pub last: PathRoleDoc,
    #[serde(default)]
    pub last_unless: Vec<String>,
    #[serde(default)]
    pub write_when: Vec<String>,
    /// Value-less short options, as one string of letters (`"1aAlhR"`).
    #[serde(default)]
    pub flags: String,
    /// Value-less long options (`[all, human-readable]`).
    #[serde(default)]
    pub long_flags: Vec<String>,
    /// At most this many operands (more is a shape leash does not know).
    #[serde(default)]
    pub max_operands: Option<usize>,
    /// What non-path operands mean (after the `leading` ones).
    #[serde(default)]
    pub operand_type: ValueTypeDoc,
    /// A subcommand's grammar is complete (programs say it at their level).
    #[serde(default)]
    pub complete: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProgramDoc {
    pub name: String,
    #[serde(default)]
    pub style: ParseStyle,
    #[serde(default = "default_true")]
    pub abbreviations: bool,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub options: Vec<OptionDoc>,
    #[serde(default)]
    pub operands: PathRoleDoc,
    #[serde(default)]
    pub leading: usize,
    #[serde(default)]
    pub leading_unless: Vec<String>,
    /// Role of the first operand (after the leading ones) when there are any.
    #[serde(default)]
    pub first: PathRoleDoc,
    #[serde(default)]
    pub last: PathRoleDoc,
    #[serde(default)]
    pub last_unless: Vec<String>,
    #[serde(default)]
    pub write_when: Vec<String>,
    /// The program always reads directory operands recursively (`rg`).
    #[serde(default)]
    pub recursive: bool,
    /// Operands become writes when one of these words appears (`find -delete`).
    #[serde(default)]
    pub write_when_words: Vec<String>,
    #[serde(default)]
    pub script: Option<ScriptDoc>,
    #[serde(default)]
    pub wrapper: Option<WrapperDoc>,
    /// Subcommand name → its own options and operands. Options before the
    /// subcommand are the program's (global) options.
    #[serde(default)]
    pub subcommands: BTreeMap<String, ArgsDoc>,
    /// What an unlisted subcommand does: `allow` (parse generically), `ask` or
    /// `deny` (e.g. git aliases come from repo-controlled config).
    #[serde(default)]
    pub unknown_subcommand: Option<Decision>,
    /// Every option, subcommand and operand shape of the program is listed:
    /// anything else asks. Programs without it ask for any argument.
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub flags: String,
    #[serde(default)]
    pub long_flags: Vec<String>,
    #[serde(default)]
    pub max_operands: Option<usize>,
    #[serde(default)]
    pub operand_type: ValueTypeDoc,
    /// The program runs inside the git repository it discovers from its cwd
    /// (git): that repository must be a real one inside the roots.
    #[serde(default)]
    pub discovers_repository: bool,
    /// Management commands: `docker container run` is `docker run`. Group word
    /// → (its subcommand word → the program's subcommand it means).
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeMap<String, String>>,
}

impl ProgramDoc {
    /// The program-level (global) argument layout.
    pub fn args(&self) -> ArgsDoc {
        ArgsDoc {
            aliases: self.aliases.clone(),
            options: self.options.clone(),
            operands: self.operands,
            leading: self.leading,
            leading_unless: self.leading_unless.clone(),
            first: self.first,
            last: self.last,
            last_unless: self.last_unless.clone(),
            write_when: self.write_when.clone(),
            flags: self.flags.clone(),
            long_flags: self.long_flags.clone(),
            max_operands: self.max_operands,
            operand_type: self.operand_type,
            complete: self.complete,
        }
    }
}

fn default_true() -> bool {
    true
}

/// Conditions of a rule; all given ones must hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WhenDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcommand: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub global_options: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_options: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operand_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_values: Option<OptionValuesDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operands_min: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operands_max: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_unsafe: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_file: Option<bool>,
    /// The exact argv (learned rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
}

/// Some value of one of `options` matches `regex`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionValuesDoc {
    pub options: Vec<String>,
    pub regex: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    #[serde(default)]
    pub when: WhenDoc,
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub network: bool,
    pub reason: String,
    #[serde(default)]
    pub hint: String,
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub match_examples: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_match: Vec<String>,
}
