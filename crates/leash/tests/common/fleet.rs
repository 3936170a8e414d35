//! Helpers of the fleet's end-to-end tests: a real nats-server (or why not),
//! a device's credentials and config, and its audit records of one kind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use leash_fleet::test_server::NatsServer;

use super::TestHome;

/// A nats-server with a user per `(device, password)`, or `None` (and why)
/// when there is no nats-server here and `LEASH_REQUIRE_NATS_SERVER` is unset.
pub fn nats(dir: &Path, devices: &[(&str, &str)]) -> Option<NatsServer> {
    let server = NatsServer::start(dir, devices).unwrap();
    if server.is_none() {
        eprintln!(
            "skipped: no nats-server here (apt-get install nats-server; LEASH_REQUIRE_NATS_SERVER=1 makes this a failure)"
        );
    }
    server
}

/// One device of a test fleet: what differs between the tests' configs.
pub struct Device<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub url: &'a str,
    /// The lines under `model:` (indented two spaces).
    pub model: &'a str,
    /// Extra lines under `security:` (indented two spaces).
    pub security: &'a str,
    pub max_steps: u32,
    /// Extra lines under `fleet:` (indented two spaces).
    pub fleet: &'a str,
    /// Extra top-level sections.
    pub extra: &'a str,
}

impl Device<'_> {
    /// Writes the device's 0600 credentials file and its config (auto-approve,
    /// `touch` allowed, heartbeat every second) into `home`.
    pub fn write(&self, home: &TestHome) -> PathBuf {
        let dir = home.config_file().parent().unwrap().to_path_buf();
        std::fs::create_dir_all(&dir).unwrap();
        let creds = dir.join("fleet.creds");
        std::fs::write(&creds, format!("{}:{}\n", self.name, self.password)).unwrap();
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        home.write_config(&format!(
            r#"model:
{model}
security:
  execution_mode: auto-approve
  workspace: {ws}
  whitelist: ["touch"]
{security}
agent:
  max_steps: {max_steps}
  min_free_memory_mb: 0
daemon:
  shutdown_grace_s: 5
logging:
  level: warn
api:
  listen: 127.0.0.1:{port}
fleet:
  device: {name}
  urls: ["{url}"]
  credentials: fleet.creds
  heartbeat_s: 1
{fleet}
{extra}"#,
            model = self.model,
            ws = home.workspace().display(),
            security = self.security,
            max_steps = self.max_steps,
            port = super::daemon::free_port(),
            name = self.name,
            url = self.url,
            fleet = self.fleet,
            extra = self.extra,
        ));
        home.config_file()
    }
}

/// A replay transcript in the config's directory whose every answer touches
/// `marker` (in the workspace of the device that runs the actions).
pub fn touch_transcript(home: &TestHome, file: &str, marker: &str) {
    let dir = home.config_file().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(file),
        format!(
            "play: by_expect\nresponses:\n  - text: '{{\"actions\": [{{\"run\": [\"touch\", \"{marker}\"]}}], \"done\": true}}'\n"
        ),
    )
    .unwrap();
}

/// A device whose replay model touches `ran-on-<name>`, trusting `trusted`,
/// with extra `security:` lines and top-level sections.
pub fn replay_device(
    home: &TestHome,
    (name, password): (&str, &str),
    url: &str,
    trusted: &[&str],
    security: &str,
    extra: &str,
) -> PathBuf {
    touch_transcript(home, "transcript.yaml", &format!("ran-on-{name}"));
    Device {
        name,
        password,
        url,
        model: "  backend: replay\n  transcript: transcript.yaml",
        security,
        max_steps: 2,
        fleet: &format!(
            "  accept_mode: auto-approve\n  trusted: [{}]",
            trusted.join(", ")
        ),
        extra,
    }
    .write(home)
}

/// The device's audit records of `kind`, in order.
pub fn records_of(home: &TestHome, kind: &str) -> Vec<serde_json::Value> {
    home.audit_records()
        .into_iter()
        .filter(|r| r["kind"] == kind)
        .collect()
}

/// A call on `home`'s daemon API with its token: `(status, JSON body)`.
pub fn api(
    home: &TestHome,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let token = std::fs::read_to_string(home.home().join(".local/state/leash/api.token")).unwrap();
    let config = std::fs::read_to_string(home.config_file()).unwrap();
    let listen = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("listen: "))
        .unwrap()
        .to_owned();
    let url = format!("http://{listen}{path}");
    let auth = format!("Bearer {}", token.trim());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        (_, body) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or_else(|| serde_json::json!({})).to_string()),
    }
    .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}
