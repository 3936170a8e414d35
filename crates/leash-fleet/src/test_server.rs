//! A real `nats-server` with JetStream for tests (feature `test-server`):
//! started on 127.0.0.1 on a free port with a temporary store, one user per
//! device with the permissions of `contrib/nats/leash-fleet.conf`. When the
//! binary is missing, [`NatsServer::start`] says so and returns `None`, except
//! under `LEASH_REQUIRE_NATS_SERVER=1` (scripts/test.sh, after setup.sh
//! installed it), where that is an error: a fleet test never skips silently
//! where it should run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed when dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    /// The client port on 127.0.0.1.
    pub port: u16,
    /// Its temporary directory (config and JetStream store).
    pub dir: PathBuf,
    binary: PathBuf,
}

/// The server binary: `LEASH_TEST_NATS_SERVER`, else `nats-server` on PATH or
/// in /usr/sbin (Debian's package puts it there).
pub fn find_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LEASH_TEST_NATS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
}

/// The permissions block of one device (as in contrib/nats/leash-fleet.conf).
pub fn device_user(device: &str, password: &str) -> String {
    let d = device;
    format!(
        r#"{{ user: {d}, password: "{password}", permissions: {{
  publish: {{ allow: [
    "leash.{d}.>", "$JS.API.INFO",
    "$JS.API.STREAM.INFO.LEASH_DEVICES", "$JS.API.STREAM.INFO.LEASH_JOBS", "$JS.API.STREAM.INFO.LEASH_RESULTS",
    "$JS.API.STREAM.CREATE.LEASH_DEVICES", "$JS.API.STREAM.CREATE.LEASH_JOBS", "$JS.API.STREAM.CREATE.LEASH_RESULTS",
    "$JS.API.CONSUMER.INFO.LEASH_JOBS.jobs-{d}",
    "$JS.API.CONSUMER.CREATE.LEASH_JOBS.jobs-{d}.leash.*.job.{d}",
    "$JS.API.CONSUMER.MSG.NEXT.LEASH_JOBS.jobs-{d}", "$JS.ACK.LEASH_JOBS.jobs-{d}.>",
    "$JS.API.CONSUMER.INFO.LEASH_RESULTS.results-{d}",
    "$JS.API.CONSUMER.CREATE.LEASH_RESULTS.results-{d}.leash.*.result.{d}",
    "$JS.API.CONSUMER.MSG.NEXT.LEASH_RESULTS.results-{d}", "$JS.ACK.LEASH_RESULTS.results-{d}.>",
    "$JS.API.CONSUMER.CREATE.LEASH_DEVICES", "$JS.API.CONSUMER.MSG.NEXT.LEASH_DEVICES.*",
    "$JS.API.STREAM.INFO.LEASH_APPROVALS", "$JS.API.STREAM.CREATE.LEASH_APPROVALS",
    "$JS.API.CONSUMER.CREATE.LEASH_APPROVALS", "$JS.API.CONSUMER.CREATE.LEASH_APPROVALS.>",
    "$JS.API.CONSUMER.MSG.NEXT.LEASH_APPROVALS.*", "$JS.ACK.LEASH_APPROVALS.>"
  ] }},
  subscribe: {{ allow: [ "_INBOX_{d}.>", "leash.*.direct.{d}.>" ] }}
}} }}"#
    )
}

impl NatsServer {
    /// Starts a server in `dir` with a user per `(device, password)`.
    pub fn start(dir: &Path, devices: &[(&str, &str)]) -> Result<Option<NatsServer>, String> {
        let Some(binary) = find_binary() else {
            if std::env::var("LEASH_REQUIRE_NATS_SERVER").as_deref() == Ok("1") {
                return Err("LEASH_REQUIRE_NATS_SERVER=1 but no nats-server was found (apt-get install nats-server; scripts/setup.sh does)".to_owned());
            }
            return Ok(None);
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let users: Vec<String> = devices.iter().map(|(d, p)| device_user(d, p)).collect();
        let conf = format!(
            "listen: 127.0.0.1:{port}\njetstream {{ store_dir: \"{}\" }}\nauthorization {{ users = [\n{}\n] }}\n",
            dir.join("js").display(),
            users.join(",\n")
        );
        std::fs::write(dir.join("nats.conf"), conf).map_err(|e| e.to_string())?;
        let mut server = NatsServer {
            child: None,
            port,
            dir: dir.to_path_buf(),
            binary,
        };
        server.restart()?;
        Ok(Some(server))
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: no goodbye to clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again (same port, same store) and waits until it listens.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(self.dir.join("nats.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "nats-server did not listen on {} within 20 s; log: {}",
            self.port,
            std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default()
        ))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
