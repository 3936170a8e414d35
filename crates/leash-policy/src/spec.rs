//! Compiled per-program knowledge: how a program's argv is read (options,
//! subcommands, operands), which arguments are paths and how they are used,
//! where its script is, and whether it wraps another command.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::Decision;
use crate::options::{
    ArgsSpec, Level, LevelParse, OptId, OptName, ParsedArgs, parse_find, parse_level,
};
use crate::rules::format::{AnalyzerDoc, ParseStyle, PathRoleDoc, ValueTypeDoc, WrapperKindDoc};

/// Where a program's script text comes from (`sed -e`, `awk 'prog'`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ScriptSpec {
    pub inline: Vec<OptId>,
    pub files: Vec<OptId>,
    pub operand: bool,
    pub analyzer: Option<AnalyzerDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WrapperSpec {
    pub kind: WrapperKindDoc,
    pub skip: usize,
    pub default_command: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SubcommandSpec {
    pub name: String,
    pub args: ArgsSpec,
    /// Its grammar is complete; otherwise any use of it asks.
    pub complete: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ProgramSpec {
    pub name: String,
    pub style: ParseStyle,
    pub abbreviations: bool,
    pub recursive: bool,
    pub write_when_words: Vec<String>,
    /// Created only because a rule names the program: nothing is known about
    /// its arguments, so path-looking ones are checked as for unknown programs.
    pub implicit: bool,
    pub global: ArgsSpec,
    pub subcommands: Vec<SubcommandSpec>,
    #[serde(serialize_with = "crate::rules::table::sorted_map")]
    pub sub_index: HashMap<String, u16>,
    pub unknown_subcommand: Option<Decision>,
    /// Every option, subcommand and operand shape is known: others ask.
    pub complete: bool,
    /// Runs in the git repository it discovers (see `repo`).
    pub discovers_repository: bool,
    /// Management commands: (group word, its subcommand word) → subcommand.
    #[serde(serialize_with = "crate::rules::table::sorted_map")]
    pub groups: HashMap<(String, String), u16>,
    pub group_words: Vec<String>,
    pub script: Option<ScriptSpec>,
    pub wrapper: Option<WrapperSpec>,
}

/// How a path argument is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Read, and directories are read recursively.
    ReadRecursive,
    Write,
    /// Written, and directories are written (changed, removed) recursively.
    WriteRecursive,
}

/// A path-valued argument found in a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathArg<'a> {
    pub text: &'a str,
    pub access: Access,
    /// A directory the program changes into; later relative paths resolve there.
    pub changes_dir: bool,
    /// A destination that may be a directory: then `DIR/basename(SRC)` is
    /// what gets written, for every source operand.
    pub dest: bool,
}

/// A program name without its variant or version suffix: `python3.12` →
/// `python3`, `vim.basic` → `vim`, `which.debianutils` → `which`.
pub(crate) fn normalize_name(name: &str) -> &str {
    match name.split_once('.') {
        Some((head, _)) if !head.is_empty() => head,
        Some(_) | None => name,
    }
}

/// Whether an argument of a program we know nothing about looks like a path.
pub(crate) fn looks_like_path(arg: &str) -> bool {
    arg.contains('/') || arg == "." || arg == ".." || arg.starts_with('~')
}

impl ProgramSpec {
    pub fn has_subcommands(&self) -> bool {
        !self.subcommands.is_empty()
    }

    pub fn args_spec(&self, level: Level) -> &ArgsSpec {
        match level {
            Some(i) => self
                .subcommands
                .get(usize::from(i))
                .map(|s| &s.args)
                .unwrap_or(&self.global),
            None => &self.global,
        }
    }

    /// Reads `args` (argv without `argv[0]`).
    pub fn parse<'a>(&self, args: &[&'a str]) -> ParsedArgs<'a> {
        let mut out = ParsedArgs::default();
        let global = LevelParse {
            spec: &self.global,
            level: None,
            style: self.style,
            abbreviations: self.abbreviations,
            stop_at_operand: false,
        };
        if self.style == ParseStyle::Find {
            parse_find(args, global, &mut out);
            return out;
        }
        if self.has_subcommands() {
            let stop = parse_level(
                args,
                0,
                LevelParse {
                    stop_at_operand: true,
                    ..global
                },
                &mut out,
            );
            if let Some(mut at) = stop {
                let mut word = args[at];
                let mut index = self.sub_index.get(word).copied();
                if self.group_words.iter().any(|g| g == word)
                    && let Some(next) = args.get(at + 1)
                    && let Some(i) = self.groups.get(&(word.to_string(), (*next).to_string()))
                {
                    // `docker container run` is `docker run`.
                    at += 1;
                    word = next;
                    index = Some(*i);
                }
                out.subcommand = Some((word, index));
                let empty = ArgsSpec::default();
                let spec = match index {
                    Some(i) => self.args_spec(Some(i)),
                    None => &empty,
                };
                let sub = LevelParse {
                    spec,
                    level: index,
                    style: ParseStyle::Getopt,
                    abbreviations: self.abbreviations,
                    stop_at_operand: false,
                };
                parse_level(args, at + 1, sub, &mut out);
            }
            return out;
        }
        if self.style == ParseStyle::Posix || self.wrapper.is_some() {
            if let Some(at) = parse_level(
                args,
                0,
                LevelParse {
                    stop_at_operand: true,
                    ..global
                },
                &mut out,
            ) {
                out.first_operand_at = Some(at);
                out.operands.extend_from_slice(&args[at..]);
            }
            return out;
        }
        parse_level(args, 0, global, &mut out);
        out
    }

    /// Inline script texts and whether a script file was named.
    pub fn scripts<'a>(&self, parsed: &ParsedArgs<'a>) -> (Vec<&'a str>, bool) {
        let Some(script) = &self.script else {
            return (Vec::new(), false);
        };
        let mut texts: Vec<&'a str> = script
            .inline
            .iter()
            .flat_map(|id| parsed.values(None, *id))
            .collect();
        let has_file = script.files.iter().any(|id| parsed.has(None, *id));
        if script.operand
            && texts.is_empty()
            && !has_file
            && let Some(first) = parsed.operands.first()
        {
            texts.push(first);
        }
        (texts, has_file)
    }

    /// Every path argument and how it is used. Programs without knowledge get
    /// their path-looking operands and option values treated as reads.
    pub fn path_args<'a>(&self, parsed: &ParsedArgs<'a>, known: bool, out: &mut Vec<PathArg<'a>>) {
        if !known {
            for operand in &parsed.operands {
                if looks_like_path(operand) {
                    out.push(PathArg {
                        text: operand,
                        access: Access::Read,
                        changes_dir: false,
                        dest: false,
                    });
                }
            }
            for option in &parsed.options {
                if let Some(value) = option.value.filter(|v| looks_like_path(v)) {
                    out.push(PathArg {
                        text: value,
                        access: Access::Read,
                        changes_dir: false,
                        dest: false,
                    });
                }
            }
            return;
        }
        let recursive_flag = self.recursive
            || parsed.options.iter().any(|o| match o.name {
                OptName::Known(id) => self.is_recursive_option(o.level, id),
                OptName::Short(_) | OptName::Long(_) => false,
            });
        let (read, write) = if recursive_flag {
            (Access::ReadRecursive, Access::WriteRecursive)
        } else {
            (Access::Read, Access::Write)
        };
        for option in &parsed.options {
            let (OptName::Known(id), Some(value)) = (option.name, option.value) else {
                continue;
            };
            let spec = self.args_spec(option.level);
            let Some(opt) = spec.option(id) else { continue };
            let writes = opt.write_when.iter().any(|w| parsed.has(option.level, *w));
            let access = match opt.path {
                // A value the grammar types as text but that looks like a
                // path is read-checked anyway: if an implementation reads it
                // as a file after all, it still may not reach a secret. A
                // backup suffix is no path: the backups it names are judged
                // as writes (`backup`).
                PathRoleDoc::None
                    if looks_like_path(value)
                        && !matches!(
                            opt.kind,
                            ValueTypeDoc::Url | ValueTypeDoc::Program | ValueTypeDoc::BackupSuffix
                        ) =>
                {
                    Access::Read
                }
                PathRoleDoc::None => continue,
                PathRoleDoc::Read | PathRoleDoc::Cwd if writes => write,
                PathRoleDoc::Read | PathRoleDoc::Cwd => read,
                PathRoleDoc::Write => Access::Write,
                PathRoleDoc::Dest => write,
            };
            out.push(PathArg {
                text: value,
                access,
                changes_dir: opt.path == PathRoleDoc::Cwd,
                dest: opt.path == PathRoleDoc::Dest,
            });
        }
        let level = parsed.sub_level();
        let args = if parsed.subcommand.is_some() && level.is_none() {
            // An unknown subcommand: nothing is known about its operands.
            for operand in parsed.operands.iter().filter(|o| looks_like_path(o)) {
                out.push(PathArg {
                    text: operand,
                    access: Access::Read,
                    changes_dir: false,
                    dest: false,
                });
            }
            return;
        } else {
            self.args_spec(level)
        };
        let has_any = |ids: &[OptId]| ids.iter().any(|id| parsed.has(level, *id));
        let operands = &parsed.operands;
        let skip = if has_any(&args.leading_unless) {
            0
        } else {
            args.leading
        };
        let rest = operands.get(skip..).unwrap_or_default();
        let word_writes = !self.write_when_words.is_empty()
            && parsed
                .expression
                .iter()
                .chain(&parsed.operands)
                .any(|w| self.write_when_words.iter().any(|x| x == w));
        let role_all = if has_any(&args.write_when) || word_writes {
            PathRoleDoc::Write
        } else {
            args.operands
        };
        let last_special =
            args.last != PathRoleDoc::None && rest.len() >= 2 && !has_any(&args.last_unless);
        for (i, operand) in rest.iter().enumerate() {
            let role = if last_special && i + 1 == rest.len() {
                args.last
            } else if i == 0 && args.first != PathRoleDoc::None {
                args.first
            } else {
                role_all
            };
            let access = match role {
                PathRoleDoc::None => continue,
                PathRoleDoc::Read | PathRoleDoc::Cwd => read,
                PathRoleDoc::Write | PathRoleDoc::Dest => write,
            };
            out.push(PathArg {
                text: operand,
                access,
                changes_dir: false,
                dest: role == PathRoleDoc::Dest,
            });
        }
    }

    fn is_recursive_option(&self, level: Level, id: OptId) -> bool {
        self.args_spec(level)
            .option(id)
            .map(|o| o.recursive)
            .unwrap_or(false)
    }
}

/// All program specs, looked up by identity.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Knowledge {
    pub specs: Vec<ProgramSpec>,
    #[serde(serialize_with = "crate::rules::table::sorted_map")]
    by_name: HashMap<String, usize>,
    generic: ProgramSpec,
}

impl Knowledge {
    pub fn new() -> Self {
        Knowledge {
            specs: Vec::new(),
            by_name: HashMap::new(),
            generic: ProgramSpec {
                abbreviations: true,
                ..ProgramSpec::default()
            },
        }
    }

    /// Every name registered for spec `index`.
    pub fn names_of(&self, index: usize) -> impl Iterator<Item = &str> {
        self.by_name
            .iter()
            .filter(move |(_, i)| **i == index)
            .map(|(n, _)| n.as_str())
    }

    pub fn index_of_name(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Registers `name` for spec `index`; false if the name is taken.
    pub fn register(&mut self, name: &str, index: usize) -> bool {
        match self.by_name.get(name) {
            Some(existing) => *existing == index,
            None => {
                self.by_name.insert(name.to_string(), index);
                true
            }
        }
    }

    /// The spec for an identity: the exact name, else the name without a
    /// version suffix (`python3.12` → `python3`, `gcc-12` → `gcc`).
    pub fn lookup(&self, identity: &str) -> Option<usize> {
        if let Some(i) = self.by_name.get(identity) {
            return Some(*i);
        }
        let name = normalize_name(identity);
        if let Some(i) = self.by_name.get(name) {
            return Some(*i);
        }
        let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let trimmed = trimmed.strip_suffix('-').unwrap_or(trimmed);
        if trimmed.is_empty() || trimmed == name {
            return None;
        }
        self.by_name.get(trimmed).copied()
    }

    pub fn spec(&self, index: Option<usize>) -> &ProgramSpec {
        index
            .and_then(|i| self.specs.get(i))
            .unwrap_or(&self.generic)
    }
}
