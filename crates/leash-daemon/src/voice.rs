//! Voice, where the device has it: the model's `notify` messages spoken aloud
//! (`device.speak`) and `leash listen`'s speech-to-text program.
//!
//! Both programs are the person's own (Termux:API's `termux-tts-speak` and
//! `termux-speech-to-text` on Termux, `espeak-ng` on Linux, or the config's
//! `device.speak_command`/`device.listen_command`); they run directly, not
//! through the policy, like the approval notifier. The text to speak goes to
//! the speaker's standard input, never its arguments: a message the model
//! wrote (from untrusted data, perhaps) must not become an option such as
//! espeak-ng's `-w FILE`. A missing voice is reported, never an error: the
//! notify itself has already happened.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leash_config::LoadedConfig;
use serde::Serialize;

/// How long one spoken message may take before the speaker is killed.
const SPEAK_TIMEOUT: Duration = Duration::from_secs(60);

/// A voice program as leash would run it, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoiceProgram {
    /// The argv (`argv[0]` absolute when found).
    pub argv: Vec<String>,
    /// Whether `argv[0]` is an executable file.
    pub found: bool,
}

/// The speaker for `device.speak`: the configured argv, else
/// `termux-tts-speak` on Termux, else `espeak-ng --stdin`.
pub fn speaker(loaded: &LoadedConfig) -> VoiceProgram {
    let termux = leash_system_paths::termux_prefix();
    let default = match termux {
        Some(_) => vec!["termux-tts-speak".to_owned()],
        None => vec!["espeak-ng".to_owned(), "--stdin".to_owned()],
    };
    program(
        loaded
            .config
            .device
            .speak_command
            .clone()
            .unwrap_or(default),
        termux.as_deref(),
    )
}

/// The speech-to-text program for `leash listen`: the configured argv, else
/// `termux-speech-to-text`.
pub fn listener(loaded: &LoadedConfig) -> VoiceProgram {
    let termux = leash_system_paths::termux_prefix();
    let default = vec!["termux-speech-to-text".to_owned()];
    program(
        loaded
            .config
            .device
            .listen_command
            .clone()
            .unwrap_or(default),
        termux.as_deref(),
    )
}

/// Resolves `argv[0]`: an absolute path as is; a name in the platform's
/// program roots (`$PREFIX/bin` on Termux), then the daemon's `PATH`.
fn program(mut argv: Vec<String>, termux: Option<&Path>) -> VoiceProgram {
    let Some(first) = argv.first().cloned() else {
        return VoiceProgram { argv, found: false };
    };
    let found = if first.contains('/') {
        Some(PathBuf::from(&first)).filter(|p| p.is_absolute() && is_executable(p))
    } else {
        let path_dirs = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        leash_system_paths::program_roots(termux)
            .into_iter()
            .chain(path_dirs)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(&first))
            .find(|candidate| is_executable(candidate))
    };
    if let (Some(path), Some(slot)) = (&found, argv.first_mut()) {
        *slot = path.display().to_string();
    }
    VoiceProgram {
        argv,
        found: found.is_some(),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What speaking one message did, for the log and the audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "spoke")]
pub enum Spoken {
    /// The speaker ran and exited (with this status).
    Yes {
        /// The speaker's exit status (`None`: killed by a signal).
        exit: Option<i32>,
    },
    /// No voice here: the notify happened without it.
    NoVoice {
        /// Why (no speaker program, voice off).
        why: String,
    },
    /// The speaker failed to start or was killed after the timeout.
    Failed {
        /// What went wrong.
        why: String,
    },
}

/// Speaks `text` with `speaker`, waiting up to a minute. Never fails: the
/// outcome is returned (and logged) instead.
pub fn speak(speaker: &VoiceProgram, text: &str) -> Spoken {
    let outcome = speak_inner(speaker, text);
    match &outcome {
        Spoken::Yes { .. } => tracing::debug!(?outcome, "notify spoken"),
        Spoken::NoVoice { .. } | Spoken::Failed { .. } => {
            tracing::warn!(?outcome, "notify not spoken (the notify itself happened)");
        }
    }
    outcome
}

fn speak_inner(speaker: &VoiceProgram, text: &str) -> Spoken {
    let Some((program, args)) = speaker.argv.split_first().filter(|_| speaker.found) else {
        return Spoken::NoVoice {
            why: format!(
                "no speaking program: `{}` is not installed (Termux: `pkg install termux-api` and the Termux:API app; Linux: `apt-get install espeak-ng`; or set device.speak_command)",
                speaker.argv.first().map_or("", String::as_str)
            ),
        };
    };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            return Spoken::Failed {
                why: format!("{program} did not start: {err}"),
            };
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A speaker that exits early closes its input: not our failure.
        let _ = stdin.write_all(text.as_bytes());
        let _ = stdin.write_all(b"\n");
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Spoken::Yes {
                    exit: status.code(),
                };
            }
            Ok(None) if started.elapsed() >= SPEAK_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Spoken::Failed {
                    why: format!("{program} took longer than {SPEAK_TIMEOUT:?}"),
                };
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => {
                return Spoken::Failed {
                    why: format!("cannot wait for {program}: {err}"),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! `fake-speak` is a stand-in for `termux-tts-speak`/`espeak-ng`: a
    //! script that records its argv and its input.
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_speaker(dir: &Path) -> VoiceProgram {
        let script = dir.join("fake-speak");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/argv'\ncat > '{0}/heard'\n",
                dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        program(vec![script.display().to_string(), "--stdin".into()], None)
    }

    #[test]
    fn the_message_goes_to_standard_input_never_to_the_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let speaker = fake_speaker(dir.path());
        let hostile = "-w /tmp/leash-voice-pwned.wav --stdout";
        assert_eq!(speak(&speaker, hostile), Spoken::Yes { exit: Some(0) });
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert_eq!(argv, "--stdin\n");
        let heard = std::fs::read_to_string(dir.path().join("heard")).unwrap();
        assert_eq!(heard, format!("{hostile}\n"));
    }

    #[test]
    fn a_missing_voice_is_reported_not_an_error() {
        let speaker = program(vec!["leash-no-such-speaker-program".into()], None);
        assert!(!speaker.found);
        assert!(matches!(
            speak(&speaker, "hello"),
            Spoken::NoVoice { why } if why.contains("leash-no-such-speaker-program")
        ));
    }

    #[test]
    fn on_termux_the_speaker_is_found_in_the_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tts = bin.join("termux-tts-speak");
        std::fs::write(&tts, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tts, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = program(vec!["termux-tts-speak".into()], Some(dir.path()));
        assert!(found.found);
        assert_eq!(found.argv, [tts.display().to_string()]);
    }

    #[test]
    fn real_espeak_ng_speaks_without_writing_a_file_named_by_the_message() {
        let speaker = program(vec!["espeak-ng".into(), "--stdin".into()], None);
        if !speaker.found {
            eprintln!("skipped: espeak-ng is not installed here (scripts/setup.sh installs it)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("pwned.wav");
        let mut quiet = speaker.clone();
        // No sound card in CI: espeak-ng writes the audio to stdout (null).
        quiet.argv.push("--stdout".into());
        let spoken = speak(&quiet, &format!("-w {}", target.display()));
        assert_eq!(spoken, Spoken::Yes { exit: Some(0) });
        assert!(!target.exists(), "the message became an option");
    }
}
