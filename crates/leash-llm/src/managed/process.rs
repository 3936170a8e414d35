//! One `llama-server` child: spawned on a free loopback port with a fresh API
//! key, waited for until `/health` says ok, stopped with SIGTERM (then
//! SIGKILL), and found again by pid file when a previous leash died without
//! stopping it.

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leash_secret::Secret;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::ManagedServerConfig;
use super::server_error;
use crate::backend::BackendError;

/// The server's log, truncated at each start: only the current life matters
/// for a diagnosis, and a phone must not fill up with logs.
const LOG_FILE: &str = "llama-server.log";
/// The pid of the running server, for cleaning up after a leash that died.
const PID_FILE: &str = "llama-server.pid";
/// The API key file handed to `--api-key-file` (mode 0600): other apps on
/// the phone can reach 127.0.0.1, and must not use leash's model slots.
const KEY_FILE: &str = "llama-server.key";
/// How long a stopping server gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// A running server.
#[derive(Debug)]
pub(super) struct ServerProcess {
    child: Child,
    pub(super) port: u16,
    pub(super) api_key: Secret,
    run_dir: PathBuf,
}

impl ServerProcess {
    /// Starts the server and waits until it answers `/health` with 200 (the
    /// model is loaded), or fails naming the binary and the end of its log.
    pub(super) fn start(
        config: &ManagedServerConfig,
        threads: u32,
        agent: &ureq::Agent,
    ) -> Result<Self, BackendError> {
        fs::create_dir_all(&config.run_dir).map_err(|error| {
            server_error(format!(
                "cannot create {}: {error}",
                config.run_dir.display()
            ))
        })?;
        fs::create_dir_all(config.slot_dir()).map_err(|error| {
            server_error(format!(
                "cannot create {}: {error}",
                config.slot_dir().display()
            ))
        })?;
        kill_stale(&config.run_dir);
        let api_key = random_key()?;
        let key_path = config.run_dir.join(KEY_FILE);
        write_private(&key_path, api_key.as_bytes())?;
        let port = free_port()?;
        let log_path = config.run_dir.join(LOG_FILE);
        let log = File::create(&log_path).map_err(|error| {
            server_error(format!("cannot create {}: {error}", log_path.display()))
        })?;
        let log_err = log
            .try_clone()
            .map_err(|error| server_error(format!("cannot share the log file: {error}")))?;
        let mut command = Command::new(&config.server_bin);
        command
            .arg("--model")
            .arg(&config.model_path)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--ctx-size", &config.context_size.to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--threads-batch", &config.batch_threads.to_string()])
            // One slot: leash sends one request at a time, and the slot
            // that is saved and restored is always slot 0.
            .args(["--parallel", "1"])
            .arg("--slot-save-path")
            .arg(config.slot_dir())
            .arg("--api-key-file")
            .arg(&key_path)
            .arg("--no-webui")
            // The model's own chat template, as the embedded backend uses.
            .arg("--jinja")
            // The raw text, `<think>` included: the same parser as for the
            // embedded backend strips it.
            .args(["--reasoning-format", "none"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        if let Some(batch) = config.batch_size {
            command.args(["--batch-size", &batch.to_string()]);
        }
        let child = command.spawn().map_err(|error| {
            server_error(format!(
                "cannot start {}: {error} (install llama.cpp's llama-server — on Termux `pkg install llama-cpp` — or set model.server_bin)",
                config.server_bin.display()
            ))
        })?;
        let _ = fs::write(config.run_dir.join(PID_FILE), child.id().to_string());
        let mut process = ServerProcess {
            child,
            port,
            api_key: Secret::new(api_key),
            run_dir: config.run_dir.clone(),
        };
        tracing::info!(pid = process.pid(), port, threads, "llama-server starting");
        process.wait_healthy(agent, config.start_timeout, &log_path)?;
        Ok(process)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `Some(status)` once the process has exited (it is reaped here).
    pub(super) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(error) => Some(format!("cannot wait for it: {error}")),
        }
    }

    /// Whether the process died, waiting up to `within` for the kernel to
    /// say so: a killed server closes its sockets a moment before the exit
    /// is visible to `waitpid`.
    pub(super) fn died_within(&mut self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_healthy(
        &mut self,
        agent: &ureq::Agent,
        timeout: Duration,
        log_path: &Path,
    ) -> Result<(), BackendError> {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/health", self.base_url());
        let mut pause = Duration::from_millis(20);
        loop {
            if let Some(status) = self.exited() {
                return Err(server_error(format!(
                    "llama-server exited while starting ({status}); its log ends with: {}",
                    log_tail(log_path)
                )));
            }
            // 503 while the model loads, 200 once it is ready.
            if let Ok(response) = agent.get(&url).call()
                && response.status().as_u16() == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(BackendError::Timeout {
                    backend: super::BACKEND_NAME.to_string(),
                    detail: format!(
                        "llama-server was not healthy within {timeout:?}; its log ends with: {}",
                        log_tail(log_path)
                    ),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// SIGTERM, a grace period, then SIGKILL; always reaped.
    pub(super) fn stop(&mut self) {
        if self.exited().is_none() {
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            if self.died_within(STOP_GRACE).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        let _ = fs::remove_file(self.run_dir.join(PID_FILE));
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Kills the server a previous leash left running (it was SIGKILLed, so it
/// could not stop its child): only when the pid file names a process whose
/// command line carries this run directory, so a recycled pid is never hit.
fn kill_stale(run_dir: &Path) {
    let pid_path = run_dir.join(PID_FILE);
    let Ok(text) = fs::read_to_string(&pid_path) else {
        return;
    };
    let _ = fs::remove_file(&pid_path);
    let Ok(pid) = text.trim().parse::<i32>() else {
        return;
    };
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return;
    };
    let marker = run_dir.as_os_str().as_encoded_bytes();
    if cmdline.windows(marker.len()).any(|w| w == marker) {
        tracing::warn!(pid, "stopping a llama-server left over by an earlier leash");
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// A port nobody listens on now. The server binds it a moment later; if
/// another process takes it first, the server exits and is started again on
/// another port.
fn free_port() -> Result<u16, BackendError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|error| server_error(format!("cannot find a free loopback port: {error}")))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|error| server_error(format!("cannot find a free loopback port: {error}")))
}

fn random_key() -> Result<String, BackendError> {
    let mut bytes = [0u8; 24];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|error| server_error(format!("cannot read /dev/urandom: {error}")))?;
    Ok(hex::encode(bytes))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackendError> {
    leash_atomic_file::write(path, bytes)
        .map_err(|error| server_error(format!("cannot write {}: {error}", path.display())))
}

/// The last lines of the server's log, for error messages.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    let tail: Vec<&str> = lines.into_iter().rev().collect();
    if tail.is_empty() {
        "(empty)".to_string()
    } else {
        tail.join(" | ")
    }
}
