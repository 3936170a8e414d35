//! Wrappers (`env`, `nice`, `nohup`, `timeout`, `xargs`, `stdbuf`, `busybox`,
//! `sh -c`, `bash -c`) are judged by what they run: this module finds the
//! inner command (or the reason there is none that can be judged).

use crate::Decision;
use crate::options::ParsedArgs;
use crate::rules::format::WrapperKindDoc;
use crate::spec::{ProgramSpec, WrapperSpec};

/// Environment variables a command may set through `env NAME=value`: locale,
/// time zone and display width. Everything else can change what code runs
/// (`LD_PRELOAD`, `GIT_*`, `PAGER`, `BASH_ENV`, `PYTHONPATH`, `HOME`, `PATH`...).
fn is_safe_env_name(name: &str) -> bool {
    matches!(
        name,
        "LANG"
            | "LANGUAGE"
            | "TZ"
            | "COLUMNS"
            | "LINES"
            | "NO_COLOR"
            | "CLICOLOR"
            | "FORCE_COLOR"
            | "RUST_BACKTRACE"
            | "CI"
    ) || (name.starts_with("LC_")
        && name[3..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_'))
}

/// What a wrapper runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InnerRun<'a> {
    /// A command resolved through the search path like any other.
    Argv(Vec<&'a str>),
    /// An applet of the same multi-call binary.
    Applet(Vec<&'a str>),
    /// A shell string (`sh -c STRING`), to be parsed and checked.
    Shell(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WrapperFinding {
    pub rule: &'static str,
    pub decision: Decision,
    pub reason: String,
    pub hint: &'static str,
}

#[derive(Debug, Default)]
pub(crate) struct Wrapped<'a> {
    pub findings: Vec<WrapperFinding>,
    pub run: Option<InnerRun<'a>>,
}

pub(crate) fn unwrap<'a>(
    wrapper: &'a WrapperSpec,
    spec: &ProgramSpec,
    parsed: &ParsedArgs<'a>,
) -> Wrapped<'a> {
    let mut out = Wrapped::default();
    let operands = parsed.operands.as_slice();
    match wrapper.kind {
        WrapperKindDoc::Command => {
            let inner = operands.get(wrapper.skip..).unwrap_or_default();
            if !inner.is_empty() {
                out.run = Some(InnerRun::Argv(inner.to_vec()));
            } else if let Some(default) = &wrapper.default_command {
                out.run = Some(InnerRun::Argv(vec![default.as_str()]));
            }
        }
        WrapperKindDoc::Env => {
            let mut rest = operands;
            while let Some((first, tail)) = rest.split_first() {
                let Some((name, _)) = first.split_once('=') else {
                    break;
                };
                if !is_safe_env_name(name) {
                    out.findings.push(WrapperFinding {
                        rule: "env.injection",
                        decision: Decision::Deny,
                        reason: format!(
                            "`env` sets `{name}`, which can change what code runs (only locale, TZ and width variables may be set)"
                        ),
                        hint: "run the command without changing its environment",
                    });
                }
                rest = tail;
            }
            if !rest.is_empty() {
                out.run = Some(InnerRun::Argv(rest.to_vec()));
            }
        }
        WrapperKindDoc::Shell => {
            let command = spec.global.option_id("command");
            let has_c = command.is_some_and(|id| parsed.has(None, id));
            if has_c {
                match operands.first() {
                    Some(script) => out.run = Some(InnerRun::Shell(script)),
                    None => out.findings.push(WrapperFinding {
                        rule: "wrapper.shell",
                        decision: Decision::Deny,
                        reason: "`-c` without a command string".to_string(),
                        hint: "propose the command itself as an argv",
                    }),
                }
            }
        }
        WrapperKindDoc::Multicall => {
            if !operands.is_empty() {
                out.run = Some(InnerRun::Applet(operands.to_vec()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("LANG", true)]
    #[case("LC_ALL", true)]
    #[case("TZ", true)]
    #[case("LD_PRELOAD", false)]
    #[case("GIT_SSH_COMMAND", false)]
    #[case("PAGER", false)]
    #[case("BASH_ENV", false)]
    #[case("PATH", false)]
    #[case("HOME", false)]
    #[case("LC_x", false)]
    fn env_names(#[case] name: &str, #[case] safe: bool) {
        assert_eq!(is_safe_env_name(name), safe);
    }
}
