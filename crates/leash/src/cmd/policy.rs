//! `leash policy check|explain`: ask the policy about a command without running
//! it. The policy is the one `leash exec`/the daemon would use: the config from
//! `--config` (and `--set`), with the current directory as the workspace.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use leash_config::{LoadOptions, load};
use leash_policy::{Decision, Explanation, MAX_LINE_BYTES, Policy, Verdict};
use serde_json::{Value, json};

use crate::exit;
use crate::global::GlobalArgs;

/// Exit status when the policy allows the command.
pub const EXIT_ALLOW: u8 = 0;
/// Exit status when the policy asks for a person's approval.
pub const EXIT_ASK: u8 = 3;
/// Exit status when the policy denies the command.
pub const EXIT_DENY: u8 = 4;

const EXIT_HELP: &str = "\
Exit status: 0 allow, 3 ask, 4 deny; 2 bad arguments or an invalid config or rules file;
1 internal error. With --stdin: 0 once the whole input was processed, whatever the decisions.";

/// Longest prefix of an oversized or non-UTF-8 `--stdin` line echoed back as `input`.
const ECHO_LIMIT: usize = 256;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide one command without running it: prints decision, rule, reason and hint.
    ///
    /// `leash policy check -- git push` judges an argv (as the model's JSON gives
    /// it); `--shell` judges one shell-style string (as from a fenced block);
    /// `--json --stdin` judges one shell-style string per input line and prints
    /// one JSON object per line, {"input","decision","rule","reason","hint"}.
    #[command(after_help = EXIT_HELP)]
    Check(CheckArgs),
    /// Print every rule that matched a command, and why the winner won.
    #[command(after_help = EXIT_HELP)]
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Read one shell-style command string per line from standard input; write
    /// one result per line (JSON lines with --json) in input order. A line that
    /// is not UTF-8 or is longer than the policy's limit is a deny for that line.
    #[arg(long, conflicts_with_all = ["shell", "argv"])]
    pub stdin: bool,
    #[command(flatten)]
    pub command: CommandArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub command: CommandArgs,
}

#[derive(Debug, Args)]
pub struct CommandArgs {
    /// Judge the single ARGV word as a shell-style command string instead of an argv.
    #[arg(long)]
    pub shell: bool,
    /// The command to judge, after `--` (e.g. `-- rm -rf build`).
    #[arg(last = true, value_name = "ARGV")]
    pub argv: Vec<String>,
}

/// What is judged: an argv, or a shell-style string.
#[derive(Debug)]
enum Subject {
    Argv(Vec<String>),
    Shell(String),
}

impl Subject {
    fn from_args(args: CommandArgs) -> anyhow::Result<Subject> {
        if args.argv.is_empty() {
            anyhow::bail!(
                "no command given: put it after `--`, e.g. `leash policy check -- ls -la`"
            );
        }
        if args.shell {
            let [line]: [String; 1] = args.argv.try_into().map_err(|argv: Vec<String>| {
                anyhow::anyhow!(
                    "--shell takes exactly one string after `--` (got {} words); quote it: \
                     `leash policy check --shell -- 'ls | wc -l'`",
                    argv.len()
                )
            })?;
            return Ok(Subject::Shell(line));
        }
        Ok(Subject::Argv(args.argv))
    }

    fn input_json(&self) -> Value {
        match self {
            Subject::Argv(argv) => json!(argv),
            Subject::Shell(line) => json!(line),
        }
    }

    fn display(&self) -> String {
        match self {
            Subject::Argv(argv) => format!("{argv:?}"),
            Subject::Shell(line) => format!("{line:?} (shell string)"),
        }
    }
}

pub fn run(global: &GlobalArgs, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(global)? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    match command {
        PolicyCommand::Check(args) if args.stdin => check_stdin(&policy, global.json),
        PolicyCommand::Check(args) => {
            let subject = match Subject::from_args(args.command) {
                Ok(subject) => subject,
                Err(err) => return usage_error(err),
            };
            check_one(&policy, &subject, global.json)
        }
        PolicyCommand::Explain(args) => {
            let subject = match Subject::from_args(args.command) {
                Ok(subject) => subject,
                Err(err) => return usage_error(err),
            };
            explain_one(&policy, &subject, global.json)
        }
    }
}

fn usage_error(err: anyhow::Error) -> anyhow::Result<ExitCode> {
    eprintln!("leash: {err:#}");
    Ok(exit::usage())
}

/// The policy for the current directory under the effective config, or the
/// exit status to leave with (after the errors were printed).
fn load_policy(global: &GlobalArgs) -> anyhow::Result<Result<Policy, ExitCode>> {
    let options = LoadOptions::from_process(global.config.clone(), global.overrides.clone());
    let loaded = match load(&options) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for error in errors.errors() {
                eprintln!("error: {error}");
            }
            eprintln!("leash: the config is invalid; see `leash config check`");
            return Ok(Err(exit::usage()));
        }
    };
    let workspace: PathBuf = std::env::current_dir()
        .context("cannot determine the current directory (the workspace)")?;
    let settings = match leash_core::policy_settings(&loaded, &workspace) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("leash: cannot build the policy: {err}");
            return Ok(Err(exit::usage()));
        }
    };
    match Policy::load(settings) {
        Ok(policy) => Ok(Ok(policy)),
        Err(err) => {
            eprintln!("leash: the policy does not load: {err}");
            Ok(Err(exit::usage()))
        }
    }
}

fn exit_for(decision: Decision) -> ExitCode {
    ExitCode::from(match decision {
        Decision::Allow => EXIT_ALLOW,
        Decision::Ask => EXIT_ASK,
        Decision::Deny => EXIT_DENY,
    })
}

fn judge(policy: &Policy, subject: &Subject) -> Verdict {
    match subject {
        Subject::Argv(argv) => policy.check_argv(argv),
        Subject::Shell(line) => policy.check_shell(line),
    }
}

fn verdict_json(input: Value, verdict: &Verdict) -> Value {
    let mut doc = json!({
        "input": input,
        "decision": verdict.decision.as_str(),
        "rule": verdict.rule,
        "reason": verdict.reason,
        "hint": verdict.hint,
    });
    if let (Some(command), Some(map)) = (&verdict.command, doc.as_object_mut()) {
        map.insert("program".into(), json!(command.program));
        map.insert("identity".into(), json!(command.identity));
    }
    doc
}

fn check_one(policy: &Policy, subject: &Subject, as_json: bool) -> anyhow::Result<ExitCode> {
    let verdict = judge(policy, subject);
    if as_json {
        println!("{}", verdict_json(subject.input_json(), &verdict));
    } else {
        println!("{}  {}", verdict.decision.as_str(), verdict.rule);
        println!("  reason: {}", verdict.reason);
        if !verdict.hint.is_empty() {
            println!("  hint:   {}", verdict.hint);
        }
        if let Some(command) = &verdict.command {
            println!(
                "  program: {} (judged as {})",
                command.program.display(),
                command.identity
            );
        }
    }
    Ok(exit_for(verdict.decision))
}

fn explain_one(policy: &Policy, subject: &Subject, as_json: bool) -> anyhow::Result<ExitCode> {
    let explanation: Explanation = match subject {
        Subject::Argv(argv) => policy.explain_argv(argv),
        Subject::Shell(line) => policy.explain_shell(line),
    };
    let verdict = &explanation.verdict;
    if as_json {
        let mut doc = verdict_json(subject.input_json(), verdict);
        if let Some(map) = doc.as_object_mut() {
            map.insert("matches".into(), json!(explanation.matches));
            map.insert("why".into(), json!(why_the_winner_won(&explanation)));
        }
        println!("{doc}");
        return Ok(exit_for(verdict.decision));
    }
    println!("command:  {}", subject.display());
    if let Some(command) = &verdict.command {
        println!(
            "program:  {} (judged as {})",
            command.program.display(),
            command.identity
        );
    }
    if explanation.matches.is_empty() {
        println!("matched rules: none");
    } else {
        println!("matched rules ({}):", explanation.matches.len());
        for m in &explanation.matches {
            let marker = if m.rule == verdict.rule { "*" } else { " " };
            println!(
                "  {marker} {:<5}  {}  — {}",
                m.decision.as_str(),
                m.rule,
                m.reason
            );
        }
    }
    println!(
        "decision: {} by {}",
        verdict.decision.as_str(),
        verdict.rule
    );
    println!("  why:    {}", why_the_winner_won(&explanation));
    println!("  reason: {}", verdict.reason);
    if !verdict.hint.is_empty() {
        println!("  hint:   {}", verdict.hint);
    }
    Ok(exit_for(verdict.decision))
}

/// One sentence on why the winning rule decided.
fn why_the_winner_won(explanation: &Explanation) -> String {
    let verdict = &explanation.verdict;
    let others = explanation
        .matches
        .iter()
        .filter(|m| m.rule != verdict.rule)
        .count();
    let asked = explanation
        .matches
        .iter()
        .any(|m| m.decision == Decision::Ask);
    match verdict.decision {
        Decision::Allow if asked => format!(
            "{} allows exactly this command, which turns an ask into allow \
             (an exact-argv allow never overrides a deny)",
            verdict.rule
        ),
        Decision::Allow | Decision::Ask | Decision::Deny if others == 0 => {
            format!("{} was the only rule that decided", verdict.rule)
        }
        Decision::Allow | Decision::Ask | Decision::Deny => format!(
            "the strictest matching rule wins (deny > ask > allow; among equals, the first): \
             {} over {others} other match{}",
            verdict.rule,
            if others == 1 { "" } else { "es" }
        ),
    }
}

/// One bounded line of input: its bytes (at most `limit + 1`) and its full length.
struct Line {
    bytes: Vec<u8>,
    length: usize,
}

/// Reads the next line without ever holding more than `limit + 1` bytes of it:
/// the rest of an oversized line is skipped, only counted. `None` at EOF.
fn read_bounded_line(reader: &mut impl BufRead, limit: usize) -> io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let mut length = 0usize;
    let mut saw_any = false;
    loop {
        let (consumed, done) = {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            length += chunk.len();
            let room = (limit + 1).saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            (chunk.len() + usize::from(done), done)
        };
        reader.consume(consumed);
        if done {
            break;
        }
    }
    if !saw_any {
        return Ok(None);
    }
    // `\r\n` line ends count as line ends.
    if length <= limit + 1 && bytes.last() == Some(&b'\r') {
        bytes.pop();
        length -= 1;
    }
    Ok(Some(Line { bytes, length }))
}

fn echo_prefix(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(ECHO_LIMIT)]);
    if bytes.len() > ECHO_LIMIT {
        format!("{text}…")
    } else {
        text.into_owned()
    }
}

/// A deny for a line that never reached the policy.
fn refused_line(input: String, rule: &str, reason: String) -> Value {
    json!({
        "input": input,
        "decision": Decision::Deny.as_str(),
        "rule": rule,
        "reason": reason,
        "hint": "send one command per line, as UTF-8 text, under the size limit",
    })
}

fn check_stdin(policy: &Policy, as_json: bool) -> anyhow::Result<ExitCode> {
    let stdin = io::stdin();
    let mut reader = io::BufReader::new(stdin.lock());
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut number = 0usize;
    loop {
        // Flush before a read that may block, so an interactive caller sees
        // each answer as soon as its line is judged.
        if reader.buffer().is_empty() {
            out.flush().context("cannot write to standard output")?;
        }
        let Some(line) =
            read_bounded_line(&mut reader, MAX_LINE_BYTES).context("cannot read standard input")?
        else {
            break;
        };
        number += 1;
        let doc = if line.length > MAX_LINE_BYTES {
            refused_line(
                echo_prefix(&line.bytes),
                "cli.line-too-long",
                format!(
                    "line {number} is {} bytes; the limit is {MAX_LINE_BYTES} (input is never truncated)",
                    line.length
                ),
            )
        } else {
            match std::str::from_utf8(&line.bytes) {
                Ok(text) => verdict_json(json!(text), &policy.check_shell(text)),
                Err(err) => refused_line(
                    echo_prefix(&line.bytes),
                    "cli.not-utf8",
                    format!(
                        "line {number} is not valid UTF-8 (invalid byte at offset {})",
                        err.valid_up_to()
                    ),
                ),
            }
        };
        if as_json {
            serde_json::to_writer(&mut out, &doc).context("cannot write to standard output")?;
            out.write_all(b"\n")
                .context("cannot write to standard output")?;
        } else {
            writeln!(
                out,
                "{}\t{}\t{}",
                doc["decision"].as_str().unwrap_or_default(),
                doc["rule"].as_str().unwrap_or_default(),
                doc["input"].as_str().unwrap_or_default()
            )
            .context("cannot write to standard output")?;
        }
    }
    out.flush().context("cannot write to standard output")?;
    Ok(exit::success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: usize) -> Vec<(Vec<u8>, usize)> {
        let mut reader = io::BufReader::with_capacity(4, input);
        let mut out = Vec::new();
        while let Some(line) = read_bounded_line(&mut reader, limit).unwrap() {
            out.push((line.bytes, line.length));
        }
        out
    }

    #[test]
    fn bounded_lines_split_on_newlines_and_keep_empty_ones() {
        assert_eq!(
            lines(b"ls\n\ncat a\r\nlast", 100),
            vec![
                (b"ls".to_vec(), 2),
                (Vec::new(), 0),
                (b"cat a".to_vec(), 5),
                (b"last".to_vec(), 4)
            ]
        );
    }

    #[test]
    fn an_oversized_line_is_measured_but_not_held() {
        let mut input = vec![b'a'; 50];
        input.extend_from_slice(b"\nok\n");
        let got = lines(&input, 10);
        assert_eq!(got[0].0.len(), 11, "holds at most limit + 1 bytes");
        assert_eq!(got[0].1, 50, "but knows the full length");
        assert_eq!(got[1], (b"ok".to_vec(), 2));
    }

    #[test]
    fn no_input_means_no_lines() {
        assert!(lines(b"", 10).is_empty());
    }
}
