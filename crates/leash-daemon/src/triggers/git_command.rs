//! leash's own git calls, for git triggers. The repository path is trusted
//! config, but what is in the repository (its config, hooks, attributes,
//! commit contents) may not be, so every call:
//! - runs the `git` found in the fixed search path (`security.search_path`,
//!   else the platform's), never the caller's `$PATH`;
//! - passes `--no-pager --no-optional-locks -c core.fsmonitor=false
//!   -c core.hooksPath=/dev/null -c log.showSignature=false` (no fsmonitor
//!   helper, no hook, no gpg) and, for diffs, `--no-ext-diff --no-textconv`
//!   (no `diff.external`, no textconv driver from `.gitattributes`);
//! - gets a scrubbed environment (`PATH` fixed, `HOME`, `LANG`, `TMPDIR`,
//!   `TERM=dumb`; every `GIT_*`, `LD_*`, `PAGER` dropped; termux-exec's
//!   `LD_PRELOAD` kept on Termux), stdin `/dev/null`, its own process group;
//! - is killed (the whole group) after [`GIT_TIMEOUT`], and its output is
//!   capped.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leash_config::LoadedConfig;
use leash_sandbox::{TermuxEnv, scrubbed_env};

/// How long one git call may take.
pub(crate) const GIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Options that keep a git call from running anything the repository names.
const SAFE_OPTIONS: &[&str] = &[
    "--no-pager",
    "--no-optional-locks",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "log.showSignature=false",
    "-c",
    "color.ui=false",
];

/// `safe.directory=<repo>` (honoured on the command line).
fn safe_directory(repo: &Path) -> OsString {
    let mut value = OsString::from("safe.directory=");
    value.push(repo.as_os_str());
    value
}

/// The output of one git call.
#[derive(Debug, Clone)]
pub(crate) struct GitOutput {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    /// Bytes of stdout beyond the cap, dropped.
    pub(crate) stdout_dropped: u64,
    pub(crate) stderr: String,
}

/// Why a git call produced no output.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("cannot run {git}: {source}")]
    Spawn {
        git: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("git {args} timed out after {timeout:?}")]
    Timeout { args: String, timeout: Duration },
}

/// A git binary and the environment it runs with.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Git {
    /// Finds `git` in the fixed search path; `Err` says where it looked.
    pub(crate) fn locate(loaded: &LoadedConfig) -> Result<Git, String> {
        let search_path: Vec<PathBuf> = if loaded.config.security.search_path.is_empty() {
            leash_policy::Platform::from_process_env().default_search_path()
        } else {
            loaded.config.security.search_path.clone()
        };
        let program = search_path
            .iter()
            .map(|dir| dir.join("git"))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(|| {
                format!(
                    "git not found in the search path {}",
                    search_path
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                )
            })?;
        let path_var = std::env::join_paths(&search_path).unwrap_or_default();
        let termux = TermuxEnv::from_process_env();
        // leash's own temp dir, never the system one: on Termux that is
        // `$PREFIX/tmp`, which other apps' sessions share.
        let env = scrubbed_env(
            &loaded.paths.home,
            &loaded.paths.cache_dir.join("tmp"),
            &path_var,
            termux.as_ref(),
        );
        Ok(Git { program, env })
    }

    /// Runs `git -C <repo> <safe options> <args>`, keeping at most `cap` bytes
    /// of stdout (and 4 KiB of stderr).
    pub(crate) fn run(
        &self,
        repo: &Path,
        args: &[&str],
        cap: usize,
    ) -> Result<GitOutput, GitError> {
        let mut command = Command::new(&self.program);
        command
            .arg("-C")
            .arg(repo)
            .args(SAFE_OPTIONS)
            // As root, the repository belongs to security.run_as, and git
            // refuses a repository another user owns ("dubious ownership").
            // The path is trusted config and nothing the repository names
            // runs (above), so its ownership need not be trusted too.
            .arg("-c")
            .arg(safe_directory(repo))
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(repo)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().map_err(|source| GitError::Spawn {
            git: self.program.clone(),
            source,
        })?;
        let stdout = child
            .stdout
            .take()
            .map(|pipe| read_capped_in_thread(pipe, cap));
        let stderr = child
            .stderr
            .take()
            .map(|pipe| read_capped_in_thread(pipe, 4096));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() < GIT_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) | Err(_) => {
                    kill_group(&child);
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let (out, dropped) = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
        let (err, _) = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        let Some(status) = status else {
            return Err(GitError::Timeout {
                args: args.join(" "),
                timeout: GIT_TIMEOUT,
            });
        };
        Ok(GitOutput {
            success: status.success(),
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stdout_dropped: dropped,
            stderr: String::from_utf8_lossy(&err).trim().to_owned(),
        })
    }
}

/// Reads a pipe to the end in a thread, keeping `cap` bytes and counting the
/// rest (the child never blocks on a full pipe).
fn read_capped_in_thread(
    mut pipe: impl std::io::Read + Send + 'static,
    cap: usize,
) -> std::thread::JoinHandle<(Vec<u8>, u64)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut dropped = 0u64;
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len()).min(n);
                    kept.extend_from_slice(&buf[..room]);
                    dropped += (n - room) as u64;
                }
            }
        }
        (kept, dropped)
    })
}

fn kill_group(child: &std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
