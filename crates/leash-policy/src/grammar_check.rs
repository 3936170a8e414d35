//! Admit known-safe shapes: an argv is judged against its program's complete
//! grammar, and every option, subcommand, operand count or value the grammar
//! does not admit makes the decision at least `ask`, with a reason naming it.
//!
//! This is the inverse of listing dangerous options: an option nobody wrote
//! down (`awk -W exec`, `git --output`, `tar --to-command`) is not let through
//! because no rule objected, it is stopped because no grammar admits it.

use crate::Decision;
use crate::options::{Oddity, OptName, ParsedArgs};
use crate::rules::format::ValueTypeDoc;
use crate::spec::ProgramSpec;

/// A shape the grammar does not admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrammarFinding {
    pub rule: &'static str,
    pub decision: Decision,
    pub reason: String,
    pub hint: &'static str,
}

const HINT: &str = "use only the common options of the program (see its --help), or ask the person to approve this exact command";

fn ask(rule: &'static str, reason: String) -> GrammarFinding {
    GrammarFinding {
        rule,
        decision: Decision::Ask,
        reason,
        hint: HINT,
    }
}

/// A count, size, duration or offset: `5`, `-3`, `+10`, `1.5`, `10K`, `2h`, `50%`.
pub(crate) fn is_number(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = body.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%');
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    let suffix = &body[digits.len()..];
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()))
        && suffix.len() <= 3
}

/// Whether argv (without `argv[0]`) only asks the program for its version: the
/// one shape every program leash can run admits, grammar or not.
fn version_only(args: &[&str]) -> bool {
    matches!(args, ["--version"])
}

/// Every shape of `args` that `spec`'s grammar does not admit. `known` is
/// false when the program has no knowledge entry at all.
pub(crate) fn check(
    spec: &ProgramSpec,
    known: bool,
    judged: &str,
    args: &[&str],
    parsed: &ParsedArgs<'_>,
    out: &mut Vec<GrammarFinding>,
) {
    if !known || !spec.complete {
        if !version_only(args) {
            out.push(ask(
                "grammar.unknown-program",
                format!(
                    "leash has no complete grammar for `{judged}`, so it cannot tell what these arguments do"
                ),
            ));
        }
        return;
    }
    let context =
        |level: Option<u16>| match level.and_then(|i| spec.subcommands.get(usize::from(i))) {
            Some(sub) => format!("`{judged} {}`", sub.name),
            None => format!("`{judged}`"),
        };
    for oddity in &parsed.oddities {
        let reason = match oddity {
            Oddity::Ambiguous(word) => {
                format!("`{word}` abbreviates several options of `{judged}`; spell the option out")
            }
            Oddity::MissingValue(word) => format!("`{word}` needs a value"),
            Oddity::StrayWord(word) => {
                format!("`{word}` is not a primary or operator leash knows for `{judged}`")
            }
            Oddity::Unterminated(word) => format!("`{word}` is not closed by `;` or `+`"),
        };
        out.push(ask("grammar.shape", reason));
    }
    match parsed.subcommand {
        Some((word, None)) => {
            out.push(ask(
                "grammar.unknown-subcommand",
                format!("`{word}` is not a subcommand leash knows for `{judged}`"),
            ));
            return;
        }
        Some((_, Some(i))) => {
            if let Some(sub) = spec.subcommands.get(usize::from(i))
                && !sub.complete
            {
                out.push(ask(
                    "grammar.unknown-subcommand",
                    format!(
                        "leash knows `{judged} {}` only by name, so it cannot tell what its arguments do",
                        sub.name
                    ),
                ));
                return;
            }
        }
        None => {}
    }
    for option in &parsed.options {
        let spelled = match option.name {
            OptName::Short(c) => format!("-{c}"),
            OptName::Long(name) => {
                let dashes = if spec.style == crate::rules::format::ParseStyle::Find {
                    "-"
                } else {
                    "--"
                };
                format!("{dashes}{name}")
            }
            OptName::Known(id) => {
                let Some(opt) = spec.args_spec(option.level).option(id) else {
                    continue;
                };
                let Some(value) = option.value else { continue };
                match opt.kind {
                    ValueTypeDoc::Number if !is_number(value) => out.push(ask(
                        "grammar.value",
                        format!(
                            "`{value}` is not a number, which the `{}` option of {} takes",
                            opt.name,
                            context(option.level)
                        ),
                    )),
                    ValueTypeDoc::Program => out.push(GrammarFinding {
                        rule: "grammar.runs-program",
                        decision: Decision::Deny,
                        reason: format!(
                            "the `{}` option of {} runs `{value}` as a program",
                            opt.name,
                            context(option.level)
                        ),
                        hint: "propose the command you want to run as its own action",
                    }),
                    ValueTypeDoc::Number
                    | ValueTypeDoc::Text
                    | ValueTypeDoc::Pattern
                    | ValueTypeDoc::Format
                    | ValueTypeDoc::Url
                    | ValueTypeDoc::Argfile
                    | ValueTypeDoc::Keyword
                    | ValueTypeDoc::BackupSuffix => {}
                }
                continue;
            }
        };
        out.push(ask(
            "grammar.unknown-option",
            format!(
                "`{spelled}` is not an option leash knows for {}",
                context(option.level)
            ),
        ));
    }
    let level = parsed.sub_level();
    let args_spec = spec.args_spec(level);
    if let Some(max) = args_spec.max_operands
        && parsed.operands.len() > max
    {
        out.push(ask(
            "grammar.operands",
            format!(
                "{} takes at most {max} operand(s) in the shapes leash knows; got {}",
                context(level),
                parsed.operands.len()
            ),
        ));
    }
    let typed = parsed.operands.get(args_spec.leading..).unwrap_or_default();
    match args_spec.operand_type {
        ValueTypeDoc::Number => {
            if let Some(bad) = typed.iter().find(|o| !is_number(o)) {
                out.push(ask(
                    "grammar.value",
                    format!("`{bad}` is not a number, which {} takes", context(level)),
                ));
            }
        }
        ValueTypeDoc::Program => {
            if let Some(first) = typed.first() {
                out.push(GrammarFinding {
                    rule: "grammar.runs-program",
                    decision: Decision::Deny,
                    reason: format!("{} runs `{first}` as a program", context(level)),
                    hint: "propose the command you want to run as its own action",
                });
            }
        }
        ValueTypeDoc::Text
        | ValueTypeDoc::Pattern
        | ValueTypeDoc::Format
        | ValueTypeDoc::Url
        | ValueTypeDoc::Argfile
        | ValueTypeDoc::Keyword
        | ValueTypeDoc::BackupSuffix => {}
    }
}

#[cfg(test)]
mod tests {
    use super::is_number;
    use rstest::rstest;

    #[rstest]
    #[case("5", true)]
    #[case("-3", true)]
    #[case("+10", true)]
    #[case("1.5", true)]
    #[case("10K", true)]
    #[case("2h", true)]
    #[case("50%", true)]
    #[case("", false)]
    #[case("abc", false)]
    #[case("5;id", false)]
    #[case("1e", true)]
    #[case("exec", false)]
    fn numbers(#[case] text: &str, #[case] want: bool) {
        assert_eq!(is_number(text), want, "{text}");
    }
}
