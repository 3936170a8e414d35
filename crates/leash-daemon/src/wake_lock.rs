//! Keeping the phone awake while a job runs: on Termux, `termux-wake-lock`
//! when the first job starts and `termux-wake-unlock` when the last one ends
//! (a count, so concurrent jobs share one lock), and at daemon stop.
//!
//! Termux has one wake lock per app, held by the Termux app's service rather
//! than by leash's process: a leash killed while holding it would leave the
//! phone awake. So the lock is marked by a file in the state directory while
//! held, and a daemon that starts and finds the mark releases the lock a
//! crashed one left. The commands are Termux's own, run from `$PREFIX/bin` by
//! absolute path (never looked up on a PATH); their failures are logged and
//! never stop a job. Off Termux, or with `device.wake_lock: false`, this does
//! nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use leash_config::LoadedConfig;

/// How long one `termux-wake-lock`/`-unlock` may take before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The mark left in the state directory while leash holds the lock.
const HELD_MARK: &str = "wake-lock.held";

/// The daemon's wake lock (see the module documentation).
#[derive(Debug)]
pub struct WakeLock {
    /// `None`: not on Termux, or turned off.
    commands: Option<Commands>,
    holders: Mutex<usize>,
}

#[derive(Debug)]
struct Commands {
    lock: PathBuf,
    unlock: PathBuf,
    mark: PathBuf,
}

/// Held while a job runs; the last one dropped releases the lock.
#[derive(Debug)]
pub struct WakeHold<'a> {
    lock: &'a WakeLock,
}

impl Drop for WakeHold<'_> {
    fn drop(&mut self) {
        self.lock.leave();
    }
}

impl WakeLock {
    /// From the config and the process's Termux detection.
    pub fn from_config(loaded: &LoadedConfig) -> WakeLock {
        let prefix = leash_system_paths::termux_prefix().filter(|_| loaded.config.device.wake_lock);
        WakeLock::new(prefix.as_deref(), &loaded.paths.state_dir)
    }

    /// On Termux at `termux_prefix` (or nowhere, for `None`), marking the held
    /// lock in `state_dir`.
    pub fn new(termux_prefix: Option<&Path>, state_dir: &Path) -> WakeLock {
        WakeLock {
            commands: termux_prefix.map(|prefix| Commands {
                lock: prefix.join("bin/termux-wake-lock"),
                unlock: prefix.join("bin/termux-wake-unlock"),
                mark: state_dir.join(HELD_MARK),
            }),
            holders: Mutex::new(0),
        }
    }

    /// Whether this lock does anything here.
    pub fn active(&self) -> bool {
        self.commands.is_some()
    }

    /// Holds the lock until the returned value is dropped.
    pub fn hold(&self) -> WakeHold<'_> {
        let mut holders = self.holders();
        *holders += 1;
        if *holders == 1
            && let Some(commands) = &self.commands
        {
            if let Err(err) = std::fs::write(&commands.mark, b"") {
                tracing::warn!(path = %commands.mark.display(), error = %err, "wake lock: cannot mark it held");
            }
            run(&commands.lock);
        }
        WakeHold { lock: self }
    }

    fn leave(&self) {
        let mut holders = self.holders();
        // Zero already: `release_all` at stop released it for this holder.
        if *holders == 0 {
            return;
        }
        *holders -= 1;
        if *holders == 0 {
            self.release(&holders);
        }
    }

    /// At daemon stop: releases the lock whatever still holds it (a job the
    /// worker could not stop in time).
    pub fn release_all(&self) {
        let mut holders = self.holders();
        if *holders > 0 {
            *holders = 0;
            self.release(&holders);
        }
    }

    /// At daemon start: releases a lock a killed daemon left held.
    pub fn recover_after_crash(&self) {
        let holders = self.holders();
        if let Some(commands) = &self.commands
            && commands.mark.exists()
        {
            tracing::info!("wake lock: released the one a stopped daemon left held");
            self.release(&holders);
        }
    }

    fn release(&self, _held_under: &MutexGuard<'_, usize>) {
        if let Some(commands) = &self.commands {
            run(&commands.unlock);
            if let Err(err) = std::fs::remove_file(&commands.mark)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %commands.mark.display(), error = %err, "wake lock: cannot clear the held mark");
            }
        }
    }

    fn holders(&self) -> MutexGuard<'_, usize> {
        // A poisoned count is still a count: keep going.
        self.holders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs one Termux wake-lock command; failure is logged, never returned.
fn run(program: &Path) {
    let started = Instant::now();
    let mut child = match Command::new(program)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            tracing::warn!(program = %program.display(), error = %err, "wake lock: command did not start");
            return;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return,
            Ok(Some(status)) => {
                tracing::warn!(program = %program.display(), %status, "wake lock: command failed");
                return;
            }
            Ok(None) if started.elapsed() >= COMMAND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(program = %program.display(), "wake lock: command timed out");
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(err) => {
                tracing::warn!(program = %program.display(), error = %err, "wake lock: cannot wait for command");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The `termux-wake-lock`/`-unlock` here are stand-ins for the real Termux
    //! commands (which need the Termux:API app): shell scripts in a fake
    //! `$PREFIX/bin` that append their name to a log.
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct FakeTermux {
        _dir: tempfile::TempDir,
        prefix: PathBuf,
        state: PathBuf,
        log: PathBuf,
    }

    fn fake_termux(exit: i32) -> FakeTermux {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("usr");
        let state = dir.path().join("state");
        let log = dir.path().join("calls.log");
        std::fs::create_dir_all(prefix.join("bin")).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        for name in ["termux-wake-lock", "termux-wake-unlock"] {
            let script = prefix.join("bin").join(name);
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\necho {name} >> '{}'\nexit {exit}\n",
                    log.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakeTermux {
            _dir: dir,
            prefix,
            state,
            log,
        }
    }

    fn calls(t: &FakeTermux) -> Vec<String> {
        std::fs::read_to_string(&t.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn concurrent_jobs_share_one_lock_released_after_the_last() {
        let t = fake_termux(0);
        let lock = WakeLock::new(Some(&t.prefix), &t.state);
        let first = lock.hold();
        assert!(t.state.join(HELD_MARK).exists());
        let second = lock.hold();
        drop(first);
        assert_eq!(
            calls(&t),
            ["termux-wake-lock"],
            "released while a job still runs"
        );
        drop(second);
        assert_eq!(calls(&t), ["termux-wake-lock", "termux-wake-unlock"]);
        assert!(!t.state.join(HELD_MARK).exists());
        let _third = lock.hold();
        assert_eq!(calls(&t).len(), 3, "a later job takes the lock again");
    }

    #[test]
    fn daemon_stop_releases_a_lock_still_held() {
        let t = fake_termux(0);
        let lock = WakeLock::new(Some(&t.prefix), &t.state);
        let stuck = lock.hold();
        lock.release_all();
        assert_eq!(calls(&t), ["termux-wake-lock", "termux-wake-unlock"]);
        drop(stuck);
        assert_eq!(calls(&t).len(), 2, "released twice");
    }

    #[test]
    fn a_lock_left_by_a_killed_daemon_is_released_at_the_next_start() {
        let t = fake_termux(0);
        let crashed = WakeLock::new(Some(&t.prefix), &t.state);
        std::mem::forget(crashed.hold()); // killed mid-job: nothing released
        let next = WakeLock::new(Some(&t.prefix), &t.state);
        next.recover_after_crash();
        assert_eq!(calls(&t), ["termux-wake-lock", "termux-wake-unlock"]);
        // A clean start (no mark) releases nothing (it may be the person's own lock).
        next.recover_after_crash();
        assert_eq!(calls(&t).len(), 2);
    }

    #[test]
    fn failing_or_missing_commands_never_stop_a_job() {
        let t = fake_termux(3);
        let lock = WakeLock::new(Some(&t.prefix), &t.state);
        drop(lock.hold());
        assert_eq!(calls(&t), ["termux-wake-lock", "termux-wake-unlock"]);
        let missing = WakeLock::new(Some(Path::new("/nonexistent/usr")), &t.state);
        drop(missing.hold());
        assert_eq!(*missing.holders(), 0);
    }

    #[test]
    fn off_termux_nothing_runs() {
        let t = fake_termux(0);
        let lock = WakeLock::new(None, &t.state);
        assert!(!lock.active());
        drop(lock.hold());
        lock.recover_after_crash();
        assert!(calls(&t).is_empty());
    }
}
