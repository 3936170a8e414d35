//! `leash listen [--mode M]`: one job from what the person says. Runs the
//! speech-to-text program (`device.listen_command`, default Termux:API's
//! `termux-speech-to-text`, which prints partial matches line by line and the
//! final one last), takes its last non-empty line as the prompt, and queues it
//! with the running daemon exactly as `leash submit PROMPT` does.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use crate::cmd::submit::{self, SubmitArgs};
use crate::global::GlobalArgs;
use crate::load_config::load_config_or_exit;

/// How long listening may take (the recogniser stops on silence itself).
const LISTEN_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Execution mode for this job, as for `leash submit`.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
}

pub fn run(global: &GlobalArgs, args: ListenArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_config_or_exit(global, global.overrides.clone()) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let listener = leash_daemon::voice::listener(&loaded);
    let Some((program, rest)) = listener.argv.split_first().filter(|_| listener.found) else {
        bail!(
            "no speech-to-text program: `{}` is not installed (Termux: `pkg install termux-api` and the Termux:API app; elsewhere set device.listen_command)",
            listener.argv.first().map_or("", String::as_str)
        );
    };
    eprintln!("leash: listening…");
    let mut child = std::process::Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= LISTEN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{program} did not finish within {LISTEN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut out)
            .with_context(|| format!("cannot read what {program} heard"))?;
    }
    if !status.success() {
        bail!("{program} failed ({status})");
    }
    let Some(heard) = last_line(&out) else {
        bail!("heard nothing: {program} printed no text");
    };
    eprintln!("leash: heard: {heard}");
    submit::run(
        global,
        SubmitArgs {
            mode: args.mode,
            priority: None,
            dedup_key: None,
            on: None,
            prompt: vec![heard],
        },
    )
}

/// The final recognition: the last non-empty line.
fn last_line(out: &str) -> Option<String> {
    out.lines()
        .map(str::trim)
        .rev()
        .find(|line| !line.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_match_is_the_last_non_empty_line() {
        assert_eq!(
            last_line("check\ncheck the\ncheck the battery\n\n").as_deref(),
            Some("check the battery")
        );
        assert_eq!(last_line(" \n\n"), None);
    }
}
