//! Approval on the controlling terminal.
//!
//! Reads the answer from `/dev/tty`, not stdin, so that `leash exec` in a
//! pipeline still asks the person at the keyboard, and so that the child's
//! input can never answer for them. Waits with `poll(2)` so the request
//! expires even if nobody types.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::request::{ApprovalAnswer, ApprovalOutcome, ApprovalRequest, Approver};
use super::visible::{has_hidden_characters, visible_arg, visible_argv, visible_text};

/// Longest answer line read; anything longer is not an answer.
const MAX_ANSWER_LEN: usize = 64;
/// How many unrecognised answers before the request counts as "no".
const MAX_ATTEMPTS: usize = 3;

/// Asks on the controlling terminal.
#[derive(Debug)]
pub struct TtyApprover {
    tty: File,
    who: String,
}

impl TtyApprover {
    /// Opens `/dev/tty`. Fails when the process has no controlling terminal
    /// (a service, CI, a pipe from cron): the caller then uses another channel
    /// or denies.
    pub fn open() -> io::Result<TtyApprover> {
        let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
        if !tty.is_terminal() {
            return Err(io::Error::other("/dev/tty is not a terminal"));
        }
        let who = std::env::var("USER").unwrap_or_else(|_| format!("uid {}", current_uid()));
        Ok(TtyApprover { tty, who })
    }
}

fn current_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

impl Approver for TtyApprover {
    fn ask(&self, request: &ApprovalRequest) -> ApprovalOutcome {
        let reader = TimedReader {
            file: &self.tty,
            deadline: Instant::now() + request.expires_in,
        };
        let writer = &self.tty;
        match converse(request, io::BufReader::new(reader), writer) {
            Ok(Some(answer)) => ApprovalOutcome::Answered {
                answer,
                channel: "tty".to_owned(),
                by: self.who.clone(),
                reason: None,
            },
            Ok(None) => ApprovalOutcome::Expired {
                channel: "tty".to_owned(),
            },
            Err(err) => ApprovalOutcome::Unavailable {
                why: format!("terminal error: {err}"),
            },
        }
    }
}

/// Renders the request for a person.
pub fn render_request(request: &ApprovalRequest) -> String {
    let mut text = String::new();
    text.push_str("\nleash: approval needed\n");
    text.push_str(&format!("  command: {}\n", visible_argv(&request.argv)));
    if let Some(program) = &request.program {
        text.push_str(&format!(
            "  program: {}\n",
            visible_arg(&program.to_string_lossy())
        ));
    }
    text.push_str(&format!(
        "  cwd:     {}\n",
        visible_arg(&request.cwd.to_string_lossy())
    ));
    text.push_str(&format!(
        "  policy:  {} ({})\n",
        request.decision.as_str(),
        visible_arg(&request.rule)
    ));
    text.push_str(&format!("  reason:  {}\n", visible_text(&request.reason)));
    if let Some(shape) = &request.grant_shape {
        text.push_str(&format!(
            "  no grant covers it; a grant would read: {}\n",
            visible_text(shape)
        ));
    }
    if request.argv.iter().any(|a| has_hidden_characters(a)) {
        text.push_str(
            "  WARNING: the command contains invisible or control characters (shown as \\u{..})\n",
        );
    }
    text.push_str(&format!(
        "  expires in {}s (then denied)\n",
        request.expires_in.as_secs()
    ));
    text
}

const QUESTION: &str =
    "Run it? [y]es once / [n]o / [a]lways this exact command / ne[v]er this exact command: ";

/// Parses one answer line. Only the listed words count; anything else is no
/// answer (asked again), never a yes.
pub fn parse_answer(line: &str) -> Option<ApprovalAnswer> {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(ApprovalAnswer::Yes),
        "n" | "no" => Some(ApprovalAnswer::No),
        "a" | "always" => Some(ApprovalAnswer::Always),
        "v" | "never" => Some(ApprovalAnswer::Never),
        _ => None,
    }
}

/// The conversation, independent of where the bytes come from (tests drive it
/// with buffers). `Ok(None)` means the request expired.
pub fn converse<R: BufRead, W: Write>(
    request: &ApprovalRequest,
    mut input: R,
    mut output: W,
) -> io::Result<Option<ApprovalAnswer>> {
    output.write_all(render_request(request).as_bytes())?;
    for _ in 0..MAX_ATTEMPTS {
        output.write_all(QUESTION.as_bytes())?;
        output.flush()?;
        let mut line = String::new();
        let read = match (&mut input)
            .take(MAX_ANSWER_LEN as u64)
            .read_line(&mut line)
        {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                output.write_all(b"\nleash: approval expired: denied\n")?;
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        if read == 0 {
            // End of input: nobody can answer any more.
            output.write_all(b"\nleash: no answer: denied\n")?;
            return Ok(Some(ApprovalAnswer::No));
        }
        if !line.ends_with('\n') && read >= MAX_ANSWER_LEN {
            // An overlong line is no answer; its tail must not be read as the
            // next one (a `y` hidden after 100 spaces is not a yes).
            if !discard_rest_of_line(&mut input)? {
                output.write_all(b"\nleash: no answer: denied\n")?;
                return Ok(Some(ApprovalAnswer::No));
            }
        } else if let Some(answer) = parse_answer(&line) {
            return Ok(Some(answer));
        }
        output.write_all(b"leash: please answer y, n, a or v\n")?;
    }
    output.write_all(b"leash: no valid answer: denied\n")?;
    Ok(Some(ApprovalAnswer::No))
}

/// Skips input up to and including the next newline, reading at most a few KiB.
/// Returns false when the input ended or was too long to be a typed line.
fn discard_rest_of_line<R: BufRead>(input: &mut R) -> io::Result<bool> {
    let mut skipped = Vec::new();
    let n = input.take(4096).read_until(b'\n', &mut skipped)?;
    Ok(n > 0 && skipped.ends_with(b"\n"))
}

/// A reader that fails with `TimedOut` once the deadline passes.
struct TimedReader<'a> {
    file: &'a File,
    deadline: Instant,
}

impl Read for TimedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        let timeout = PollTimeout::try_from(left.as_millis().max(1)).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Err(errno) => Err(io::Error::from(errno)),
            Ok(0) => Err(io::Error::from(io::ErrorKind::TimedOut)),
            Ok(_) => (&mut &*self.file).read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leash_policy::Decision;
    use rstest::rstest;
    use std::path::PathBuf;
    use std::time::Duration;

    fn request(argv: &[&str]) -> ApprovalRequest {
        ApprovalRequest {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            program: Some(PathBuf::from("/usr/bin/git")),
            cwd: PathBuf::from("/work/ws"),
            decision: Decision::Ask,
            rule: "seed.require_approval_for".into(),
            reason: "git push needs approval".into(),
            expires_in: Duration::from_secs(600),
            binding: None,
            suggested_grant: None,
            reversibility: None,
            grant_shape: Some("git push ...".into()),
        }
    }

    #[rstest]
    #[case::yes("y\n", Some(ApprovalAnswer::Yes))]
    #[case::yes_word("YES\n", Some(ApprovalAnswer::Yes))]
    #[case::no("n\n", Some(ApprovalAnswer::No))]
    #[case::always("a\n", Some(ApprovalAnswer::Always))]
    #[case::never("never\n", Some(ApprovalAnswer::Never))]
    #[case::retry_then_yes("maybe\ny\n", Some(ApprovalAnswer::Yes))]
    #[case::three_bad_answers_deny("x\nx\nx\ny\n", Some(ApprovalAnswer::No))]
    #[case::eof_denies("", Some(ApprovalAnswer::No))]
    #[case::overlong_line_is_not_yes(&format!("{}y\n", " ".repeat(100)), Some(ApprovalAnswer::No))]
    fn conversation_answers(#[case] typed: &str, #[case] expected: Option<ApprovalAnswer>) {
        let mut shown = Vec::new();
        let got = converse(&request(&["git", "push"]), typed.as_bytes(), &mut shown).unwrap();
        assert_eq!(got, expected);
        let shown = String::from_utf8(shown).unwrap();
        assert!(shown.contains("command: git push"), "{shown}");
        assert!(shown.contains("seed.require_approval_for"), "{shown}");
        assert!(shown.contains("cwd:     /work/ws"), "{shown}");
    }

    #[test]
    fn hidden_characters_are_shown_and_warned_about() {
        let text = render_request(&request(&["rm", "-rf", "\u{202e}txt.exe"]));
        assert!(text.contains("\\u{202e}"), "{text}");
        assert!(text.contains("WARNING"), "{text}");
        assert!(
            !text.contains('\u{202e}'),
            "raw bidi override must not reach the terminal"
        );
    }
}
