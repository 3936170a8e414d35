//! Option-spelling normalisation: turns the many ways of spelling the same
//! options (`-rf`, `-r -f`, `-Rf`, `--recursive --force`, `--rec`, `-oFILE`,
//! `--output=FILE`, options after operands) into one list of canonical options
//! and operands, using the per-program knowledge from the rules data.
//!
//! When the knowledge is incomplete the parse errs towards seeing *more*
//! options: an unknown short option is read as a flag (so a following dangerous
//! option in the same bundle is still seen), an abbreviation matching several
//! long options counts as all of them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::rules::format::{ParseStyle, PathRoleDoc, ValueDoc, ValueTypeDoc};

/// Index of an option within one [`ArgsSpec`].
pub(crate) type OptId = u16;

/// Which argument layout an option belongs to: the program's own (global)
/// options, or those of subcommand number `n`.
pub(crate) type Level = Option<u16>;

/// One known option of a program or subcommand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OptionSpec {
    pub name: String,
    pub value: ValueDoc,
    pub path: PathRoleDoc,
    /// The path value is a write when one of these options (same level) is present.
    pub write_when: Vec<OptId>,
    /// Giving this option makes the program read directories recursively.
    pub recursive: bool,
    /// What the value means.
    pub kind: ValueTypeDoc,
    /// Words after the value that belong to the option; `-1`: up to `;`/`+`.
    pub extra: i8,
}

/// Options and operand roles of a program or of one of its subcommands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ArgsSpec {
    pub options: Vec<OptionSpec>,
    #[serde(serialize_with = "crate::rules::table::sorted_map")]
    short: HashMap<char, OptId>,
    /// Long option spellings, sorted, for exact and unique-prefix lookup.
    long: Vec<(String, OptId)>,
    pub operands: PathRoleDoc,
    pub leading: usize,
    pub leading_unless: Vec<OptId>,
    pub first: PathRoleDoc,
    pub last: PathRoleDoc,
    pub last_unless: Vec<OptId>,
    pub write_when: Vec<OptId>,
    pub max_operands: Option<usize>,
    pub operand_type: ValueTypeDoc,
}

impl ArgsSpec {
    /// Adds an option; returns an error message if a spelling is taken twice.
    pub fn add_option(
        &mut self,
        spec: OptionSpec,
        short: &str,
        long: &[String],
    ) -> Result<OptId, String> {
        let id = OptId::try_from(self.options.len()).map_err(|_| "too many options".to_string())?;
        for c in short.chars() {
            if self.short.insert(c, id).is_some() {
                return Err(format!("short option `-{c}` is listed twice"));
            }
        }
        for name in long {
            let name = name.trim_start_matches('-');
            // Kept sorted by inserting in place: a binary search finds both a
            // duplicate and the slot (sorting after every insert made loading
            // a program with n long options O(n² log n)).
            match self.long.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(_) => return Err(format!("long option `--{name}` is empty or listed twice")),
                Err(_) if name.is_empty() => {
                    return Err(format!("long option `--{name}` is empty or listed twice"));
                }
                Err(slot) => self.long.insert(slot, (name.to_string(), id)),
            }
        }
        self.options.push(spec);
        Ok(id)
    }

    /// The option called `name` (its canonical name).
    pub fn option_id(&self, name: &str) -> Option<OptId> {
        self.options
            .iter()
            .position(|o| o.name == name)
            .and_then(|i| OptId::try_from(i).ok())
    }

    pub fn option(&self, id: OptId) -> Option<&OptionSpec> {
        self.options.get(usize::from(id))
    }

    /// The option a short letter spells.
    pub fn short(&self, c: char) -> Option<OptId> {
        self.short.get(&c).copied()
    }

    /// The option an exact long name spells.
    pub fn long_exact(&self, name: &str) -> Option<OptId> {
        let slot = self
            .long
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        self.long.get(slot).map(|(_, id)| *id)
    }

    /// Every long spelling and the option it names, sorted.
    pub fn long_spellings(&self) -> impl Iterator<Item = (&str, OptId)> {
        self.long.iter().map(|(n, id)| (n.as_str(), *id))
    }

    /// Every short letter and the option it names.
    pub fn short_spellings(&self) -> impl Iterator<Item = (char, OptId)> + '_ {
        self.short.iter().map(|(c, id)| (*c, *id))
    }

    /// Long options `spelled` may mean: the exact name, else (with
    /// abbreviations) every option it is a prefix of.
    fn long_candidates(&self, spelled: &str, abbreviations: bool, out: &mut Vec<OptId>) {
        out.clear();
        let start = self.long.partition_point(|(n, _)| n.as_str() < spelled);
        for (name, id) in &self.long[start..] {
            if name == spelled {
                out.clear();
                out.push(*id);
                return;
            }
            if !name.starts_with(spelled) {
                break;
            }
            if abbreviations && !out.contains(id) {
                out.push(*id);
            }
        }
    }
}

/// An option as it appeared, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptName<'a> {
    /// A known option of the level it was parsed at.
    Known(OptId),
    /// An unknown short option letter.
    Short(char),
    /// An unknown long option (without dashes and value).
    Long(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedOption<'a> {
    pub level: Level,
    pub name: OptName<'a>,
    pub value: Option<&'a str>,
}

/// Something in an argv that a complete grammar does not admit, noticed while
/// parsing (unknown options are kept as [`OptName::Short`]/[`OptName::Long`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Oddity<'a> {
    /// `--o` could be several long options.
    Ambiguous(&'a str),
    /// A value-taking option at the end of the argv.
    MissingValue(&'a str),
    /// A word where `find` expects a primary or operator.
    StrayWord(&'a str),
    /// `-exec ...` without its closing `;` or `+`.
    Unterminated(&'a str),
}

/// The argv of one command (without `argv[0]`) read through a program's spec.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParsedArgs<'a> {
    /// Shapes outside the grammar seen while parsing.
    pub oddities: Vec<Oddity<'a>>,
    pub options: Vec<ParsedOption<'a>>,
    /// Operands in order (the subcommand word excluded).
    pub operands: Vec<&'a str>,
    /// Index (into the args) of the first operand, for wrappers.
    pub first_operand_at: Option<usize>,
    /// The subcommand word and its index in the program's subcommand table.
    pub subcommand: Option<(&'a str, Option<u16>)>,
    /// `find` expression words.
    pub expression: Vec<&'a str>,
}

impl<'a> ParsedArgs<'a> {
    /// Whether an option with this level and id was given.
    pub fn has(&self, level: Level, id: OptId) -> bool {
        self.options
            .iter()
            .any(|o| o.level == level && o.name == OptName::Known(id))
    }

    /// Values of the given option.
    pub fn values(&self, level: Level, id: OptId) -> impl Iterator<Item = &'a str> + '_ {
        self.options
            .iter()
            .filter(move |o| o.level == level && o.name == OptName::Known(id))
            .filter_map(|o| o.value)
    }

    /// The level of the parsed subcommand's options.
    pub fn sub_level(&self) -> Level {
        self.subcommand.and_then(|(_, idx)| idx)
    }
}

/// Parsing parameters of one level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelParse<'s> {
    pub spec: &'s ArgsSpec,
    pub level: Level,
    pub style: ParseStyle,
    pub abbreviations: bool,
    /// Stop at the first operand and return its index (subcommand, wrapped command).
    pub stop_at_operand: bool,
}

/// Parses `args[start..]` at one level into `out`. Returns the index of the
/// operand it stopped at when `stop_at_operand` is set.
pub(crate) fn parse_level<'a>(
    args: &[&'a str],
    start: usize,
    how: LevelParse<'_>,
    out: &mut ParsedArgs<'a>,
) -> Option<usize> {
    let mut candidates = Vec::new();
    let mut i = start;
    let mut options_ended = false;
    if how.style == ParseStyle::Tar && start < args.len() {
        let first = args[start];
        if !first.starts_with('-') && !first.is_empty() {
            i = parse_old_tar_bundle(args, start, how, out);
        }
    }
    while i < args.len() {
        let arg = args[i];
        i += 1;
        if options_ended || arg == "-" || !arg.starts_with('-') {
            if how.stop_at_operand {
                return Some(i - 1);
            }
            out.first_operand_at.get_or_insert(i - 1);
            out.operands.push(arg);
            continue;
        }
        if arg == "--" {
            options_ended = true;
            if how.stop_at_operand {
                // Everything after `--` is operands; the caller treats the next
                // word as the operand it stopped at.
                return (i < args.len()).then_some(i);
            }
            continue;
        }
        let long_spelling = match how.style {
            ParseStyle::Dashlong => arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')),
            ParseStyle::Getopt | ParseStyle::Posix | ParseStyle::Find | ParseStyle::Tar => {
                arg.strip_prefix("--")
            }
        };
        if let Some(long) = long_spelling {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            how.spec
                .long_candidates(name, how.abbreviations, &mut candidates);
            if candidates.is_empty() {
                out.options.push(ParsedOption {
                    level: how.level,
                    name: OptName::Long(name),
                    value: inline,
                });
                continue;
            }
            let mut value = inline;
            if candidates.len() > 1 {
                out.oddities.push(Oddity::Ambiguous(arg));
            }
            if candidates.len() == 1 {
                let kind = how
                    .spec
                    .option(candidates[0])
                    .map(|o| o.value)
                    .unwrap_or_default();
                match kind {
                    ValueDoc::Required if inline.is_none() && i < args.len() => {
                        value = Some(args[i]);
                        i += 1;
                    }
                    ValueDoc::Required if inline.is_none() => {
                        out.oddities.push(Oddity::MissingValue(arg));
                    }
                    ValueDoc::Pair => {
                        // `--opt NAME VALUE` or `--opt=NAME VALUE`.
                        let skip = usize::from(inline.is_none());
                        value = args.get(i + skip).copied();
                        i = (i + skip + 1).min(args.len());
                    }
                    ValueDoc::None | ValueDoc::Optional | ValueDoc::Required => {}
                }
            }
            for id in &candidates {
                out.options.push(ParsedOption {
                    level: how.level,
                    name: OptName::Known(*id),
                    value,
                });
            }
            continue;
        }
        // A bundle of short options: `-rf`, `-oFILE`, `-o FILE`, `-n5`.
        let bundle = &arg[1..];
        for (pos, c) in bundle.char_indices() {
            let Some(id) = how.spec.short(c) else {
                out.options.push(ParsedOption {
                    level: how.level,
                    name: OptName::Short(c),
                    value: None,
                });
                continue;
            };
            let kind = how.spec.option(id).map(|o| o.value).unwrap_or_default();
            let rest = &bundle[pos + c.len_utf8()..];
            let value = match kind {
                ValueDoc::None => None,
                ValueDoc::Optional => (!rest.is_empty()).then_some(rest),
                ValueDoc::Required if !rest.is_empty() => Some(rest),
                ValueDoc::Required if i < args.len() => {
                    i += 1;
                    Some(args[i - 1])
                }
                ValueDoc::Required => {
                    out.oddities.push(Oddity::MissingValue(arg));
                    None
                }
                ValueDoc::Pair => {
                    let skip = usize::from(rest.is_empty());
                    let v = args.get(i + skip).copied();
                    i = (i + skip + 1).min(args.len());
                    v
                }
            };
            out.options.push(ParsedOption {
                level: how.level,
                name: OptName::Known(id),
                value,
            });
            if kind != ValueDoc::None && value.is_some() {
                break;
            }
        }
    }
    None
}

/// Old-style tar: `tar xzfI archive.tar cmd` — every letter is an option and
/// value-taking letters consume the following words in order.
fn parse_old_tar_bundle<'a>(
    args: &[&'a str],
    start: usize,
    how: LevelParse<'_>,
    out: &mut ParsedArgs<'a>,
) -> usize {
    let mut next = start + 1;
    for c in args[start].chars() {
        match how.spec.short(c) {
            Some(id) => {
                let takes = how
                    .spec
                    .option(id)
                    .map(|o| matches!(o.value, ValueDoc::Required | ValueDoc::Pair))
                    .unwrap_or(false);
                let value = if takes && next < args.len() {
                    next += 1;
                    Some(args[next - 1])
                } else {
                    None
                };
                out.options.push(ParsedOption {
                    level: how.level,
                    name: OptName::Known(id),
                    value,
                });
            }
            None => out.options.push(ParsedOption {
                level: how.level,
                name: OptName::Short(c),
                value: None,
            }),
        }
    }
    next
}

/// `find [-H|-L|-P|-D x|-Olevel] [path...] [expression]`. The expression's
/// primaries are the spec's options (spelled with one dash, never
/// abbreviated): each is recorded with its first argument as the value, so
/// path-valued primaries (`-newer F`, `-fprint F`) are judged like options.
pub(crate) fn parse_find<'a>(args: &[&'a str], how: LevelParse<'_>, out: &mut ParsedArgs<'a>) {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        match arg {
            "-H" | "-L" | "-P" => i += 1,
            "-D" => i += 2,
            _ if arg.starts_with("-O") => i += 1,
            "--" => {
                i += 1;
                break;
            }
            _ => break,
        }
    }
    while i < args.len() {
        let arg = args[i];
        if arg.starts_with('-') || matches!(arg, "(" | ")" | "!" | ",") {
            break;
        }
        out.first_operand_at.get_or_insert(i);
        out.operands.push(arg);
        i += 1;
    }
    out.expression.extend_from_slice(&args[i..]);
    while i < args.len() {
        let word = args[i];
        i += 1;
        if matches!(word, "(" | ")" | "!" | ",") {
            continue;
        }
        let Some(name) = word.strip_prefix('-').filter(|n| !n.is_empty()) else {
            out.oddities.push(Oddity::StrayWord(word));
            continue;
        };
        let Some(id) = how.spec.long_exact(name) else {
            out.options.push(ParsedOption {
                level: how.level,
                name: OptName::Long(name),
                value: None,
            });
            continue;
        };
        let (kind, extra) = how
            .spec
            .option(id)
            .map(|o| (o.value, o.extra))
            .unwrap_or_default();
        let mut value = None;
        if matches!(kind, ValueDoc::Required | ValueDoc::Pair) {
            match args.get(i) {
                Some(v) => {
                    value = Some(*v);
                    i += 1;
                }
                None => out.oddities.push(Oddity::MissingValue(word)),
            }
        }
        if extra < 0 {
            // `-exec cmd args ;` / `+`: the command may itself be `;`-free.
            match args[i.min(args.len())..]
                .iter()
                .position(|w| *w == ";" || *w == "+")
            {
                Some(end) => i += end + 1,
                None => {
                    out.oddities.push(Oddity::Unterminated(word));
                    i = args.len();
                }
            }
        } else {
            let extra = usize::from(extra.unsigned_abs());
            if i + extra > args.len() {
                out.oddities.push(Oddity::MissingValue(word));
            }
            i = (i + extra).min(args.len());
        }
        out.options.push(ParsedOption {
            level: how.level,
            name: OptName::Known(id),
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn spec() -> ArgsSpec {
        let mut s = ArgsSpec::default();
        let opt = |name: &str, value| OptionSpec {
            name: name.into(),
            value,
            path: PathRoleDoc::None,
            write_when: vec![],
            recursive: false,
            kind: ValueTypeDoc::Text,
            extra: 0,
        };
        s.add_option(
            opt("recursive", ValueDoc::None),
            "rR",
            &["recursive".into()],
        )
        .unwrap();
        s.add_option(opt("force", ValueDoc::None), "f", &["force".into()])
            .unwrap();
        s.add_option(opt("output", ValueDoc::Required), "o", &["output".into()])
            .unwrap();
        s.add_option(
            opt("one-file-system", ValueDoc::None),
            "",
            &["one-file-system".into()],
        )
        .unwrap();
        s
    }

    fn names(args: &[&str]) -> (Vec<String>, Vec<String>) {
        let spec = spec();
        let mut out = ParsedArgs::default();
        let how = LevelParse {
            spec: &spec,
            level: None,
            style: ParseStyle::Getopt,
            abbreviations: true,
            stop_at_operand: false,
        };
        parse_level(args, 0, how, &mut out);
        let opts = out
            .options
            .iter()
            .map(|o| match o.name {
                OptName::Known(id) => {
                    let n = spec.option(id).unwrap().name.clone();
                    match o.value {
                        Some(v) => format!("{n}={v}"),
                        None => n,
                    }
                }
                OptName::Short(c) => format!("-{c}"),
                OptName::Long(l) => format!("--{l}"),
            })
            .collect();
        (opts, out.operands.iter().map(|s| s.to_string()).collect())
    }

    #[rstest]
    #[case::bundled(&["-rf", "x"], &["recursive", "force"], &["x"])]
    #[case::split(&["-r", "-f", "x"], &["recursive", "force"], &["x"])]
    #[case::upper(&["-Rf"], &["recursive", "force"], &[])]
    #[case::long(&["--recursive", "--force"], &["recursive", "force"], &[])]
    #[case::abbreviated(&["--rec", "--fo"], &["recursive", "force"], &[])]
    #[case::after_operand(&["build", "-rf"], &["recursive", "force"], &["build"])]
    #[case::double_dash(&["--", "-rf"], &[], &["-rf"])]
    #[case::attached_value(&["-oout.txt"], &["output=out.txt"], &[])]
    #[case::bundled_value(&["-foout.txt"], &["force", "output=out.txt"], &[])]
    #[case::split_value(&["-o", "out.txt", "in"], &["output=out.txt"], &["in"])]
    #[case::long_equals(&["--output=o", "in"], &["output=o"], &["in"])]
    #[case::long_split(&["--out", "o", "in"], &["output=o"], &["in"])]
    #[case::unknown_short_keeps_scanning(&["-vrf"], &["-v", "recursive", "force"], &[])]
    #[case::ambiguous_prefix_counts_all(&["--o"], &["one-file-system", "output"], &[])]
    #[case::dash_is_operand(&["-"], &[], &["-"])]
    fn spellings(#[case] args: &[&str], #[case] opts: &[&str], #[case] operands: &[&str]) {
        let (o, p) = names(args);
        assert_eq!(o, opts);
        assert_eq!(p, operands);
    }

    #[test]
    fn long_spellings_stay_sorted_and_unique_whatever_the_insert_order() {
        let mut s = spec();
        let spellings: Vec<&str> = s.long_spellings().map(|(n, _)| n).collect();
        let mut sorted = spellings.clone();
        sorted.sort_unstable();
        assert_eq!(spellings, sorted);
        assert_eq!(s.long_exact("output"), s.option_id("output"));
        assert_eq!(s.long_exact("outpu"), None);
        let twice = OptionSpec {
            name: "again".into(),
            ..s.options[0].clone()
        };
        let err = s.add_option(twice, "", &["--force".into()]).unwrap_err();
        assert!(err.contains("`--force`"), "{err}");
    }
}
