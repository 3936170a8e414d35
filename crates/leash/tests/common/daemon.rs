//! A real `leash daemon` child process for end-to-end tests: started with a
//! config, waited for until it prints its ready line, stopped with SIGTERM or
//! killed with SIGKILL; plus reading job and approval rows straight from its
//! SQLite file (as a person with `sqlite3` would).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::TestHome;

/// A running daemon.
pub struct DaemonProcess {
    pub child: Child,
    pub listen: String,
    stderr_log: PathBuf,
}

/// A free loopback port (bound and released; a small race accepted in tests).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl DaemonProcess {
    /// Starts `leash --json --config CONFIG [ARGS…] daemon` in the home's
    /// environment and waits (up to 60 s) for its ready line.
    pub fn start(home: &TestHome, config: &Path, args: &[&str]) -> DaemonProcess {
        let stderr_log = home.root().join(format!("daemon-{}.stderr", rand_suffix()));
        let mut cmd: Command = home.leash();
        cmd.arg("--json")
            .arg("--config")
            .arg(config)
            .args(args)
            .arg("daemon")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_log).unwrap());
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.trim().is_empty() => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the daemon did not get ready ({other:?}); stderr:\n{}",
                    std::fs::read_to_string(&stderr_log).unwrap_or_default()
                );
            }
        };
        let ready: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(ready["ready"], true, "{line}");
        DaemonProcess {
            child,
            listen: ready["listen"].as_str().unwrap().to_owned(),
            stderr_log,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// What the daemon wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// SIGTERM, then waits (up to 60 s) for a graceful exit; returns its code.
    pub fn stop(mut self) -> i32 {
        unsafe_kill(self.pid(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not stop on SIGTERM; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: a crash.
    pub fn kill9(mut self) {
        unsafe_kill(self.pid(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn rand_suffix() -> u128 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u128::from(u64::from_le_bytes(bytes))
}

fn unsafe_kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Polls `check` every 50 ms until it is true or `timeout` passes.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The state database of this home.
pub fn database(home: &TestHome) -> PathBuf {
    home.home().join(".local/state/leash/leash.db")
}

/// A read-only connection to this home's state database, once it exists.
fn read_only(home: &TestHome) -> Option<rusqlite::Connection> {
    let db = database(home);
    if !db.exists() {
        return None;
    }
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    Some(conn)
}

/// `(id, state)` of every job, in id order.
pub fn job_states(home: &TestHome) -> Vec<(i64, String)> {
    let Some(conn) = read_only(home) else {
        return Vec::new();
    };
    let mut stmt = conn
        .prepare("SELECT id, state FROM jobs ORDER BY id")
        .unwrap();
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Ids of pending approvals.
pub fn pending_approvals(home: &TestHome) -> Vec<i64> {
    let Some(conn) = read_only(home) else {
        return Vec::new();
    };
    let mut stmt = conn
        .prepare("SELECT id FROM approvals WHERE state = 'pending' ORDER BY id")
        .unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Whether a job state is one it will not leave (interrupted counts when it
/// was not re-queued: it is a row in that state at rest).
pub fn is_terminal(state: &str) -> bool {
    matches!(state, "done" | "failed" | "cancelled" | "interrupted")
}

/// Copies an example directory (`examples/NAME`) into `dest`.
pub fn copy_example(name: &str, dest: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    copy_dir(&source, dest);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
