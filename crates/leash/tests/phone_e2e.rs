//! leash on a fake Termux (issue 16, items 5 and 6), as real processes: a
//! temporary `$PREFIX` with `$TERMUX_VERSION` set is Termux to leash's one
//! detector. The `termux-*` programs and `dpkg-query` in that `$PREFIX/bin`
//! are stand-ins for the real Termux commands (which need Android and the
//! Termux:API app): shell scripts that record how they were called.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::TestHome;
use common::daemon::{free_port, job_states, wait_for};
use serde_json::Value;

/// A fake Termux beside a [`TestHome`]: `$PREFIX` outside `/tmp` (the policy
/// never trusts programs in world-writable directories by name).
struct FakeTermux {
    home: TestHome,
    _dir: tempfile::TempDir,
    prefix: PathBuf,
    log: PathBuf,
}

impl FakeTermux {
    fn new() -> FakeTermux {
        let home = TestHome::new();
        let dir = tempfile::Builder::new()
            .prefix("leash-fake-termux-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        let prefix = root.join("usr");
        let log = root.join("log");
        std::fs::create_dir_all(prefix.join("bin")).unwrap();
        std::fs::create_dir_all(prefix.join("tmp")).unwrap();
        std::fs::create_dir_all(&log).unwrap();
        // World-readable: as root the daemon's commands run as `nobody`.
        for dir in [&root, &prefix, &prefix.join("bin")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let t = FakeTermux {
            home,
            _dir: dir,
            prefix,
            log,
        };
        t.script("ls", "exit 0");
        t.script("termux-wake-lock", "echo lock >> \"$LOG/wake\"");
        t.script("termux-wake-unlock", "echo unlock >> \"$LOG/wake\"");
        t.script(
            "termux-tts-speak",
            "echo \"$#\" >> \"$LOG/tts-argc\"; cat >> \"$LOG/spoken\"",
        );
        t
    }

    fn script(&self, name: &str, body: &str) {
        let path = self.prefix.join("bin").join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\nLOG='{}'\n{body}\n", self.log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn logged(&self, name: &str) -> String {
        std::fs::read_to_string(self.log.join(name)).unwrap_or_default()
    }

    /// `leash` in the home's cleared environment, on this Termux.
    fn leash(&self) -> Command {
        let mut cmd = self.home.leash();
        cmd.env("PREFIX", &self.prefix)
            .env("TERMUX_VERSION", "0.118.0");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.leash().args(args).output().unwrap()
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            common::text(&out.stdout),
            common::text(&out.stderr)
        )
    })
}

#[rstest::rstest]
#[case::fhs_program_by_path("/usr/bin/ls")]
#[case::fhs_shell_by_path("/bin/sh")]
#[case::android_shell("/system/bin/sh")]
fn on_termux_programs_outside_the_prefix_are_never_trusted(#[case] program: &str) {
    let t = FakeTermux::new();
    let out = t.run(&["--json", "policy", "check", "--", program, "-c", "true"]);
    let verdict = json(&out);
    assert_eq!(verdict["decision"], "deny", "{verdict}");
    assert!(!out.status.success());
    if Path::new(program).exists() {
        // The same command off Termux is not refused for its location.
        let linux = t
            .home
            .leash()
            .args(["--json", "policy", "check", "--", program, "-c", "true"])
            .output()
            .unwrap();
        let linux = json(&linux);
        assert!(
            !linux["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("Termux"),
            "{linux}"
        );
        assert!(
            verdict["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("Termux"),
            "{verdict}"
        );
    }
}

#[test]
fn on_termux_the_prefix_programs_are_the_trusted_ones() {
    let t = FakeTermux::new();
    let out = t.run(&["--json", "policy", "check", "--", "ls"]);
    let verdict = json(&out);
    assert_eq!(verdict["decision"], "allow", "{verdict}");
}

#[rstest::rstest]
#[case::package_too_old(Some("0.51-1"), None, false)]
#[case::package_recent(Some("0.59.1-1"), None, true)]
#[case::app_version_wins(Some("0.51-1"), Some("0.52.0"), true)]
fn doctor_checks_the_termux_api_version(
    #[case] package: Option<&str>,
    #[case] app: Option<&str>,
    #[case] ok: bool,
) {
    let t = FakeTermux::new();
    if let Some(version) = package {
        t.script(
            "dpkg-query",
            &format!("[ \"$4\" = termux-api ] && echo '{version}'"),
        );
    }
    let mut cmd = t.leash();
    if let Some(app) = app {
        cmd.env("TERMUX_API_APP__VERSION_NAME", app);
    }
    let report = json(&cmd.args(["--json", "doctor"]).output().unwrap());
    let api = &report["phone"]["termux_api"];
    assert_eq!(api["recent_enough"], ok, "{report}");
    let problems = report["problems"].to_string();
    assert_eq!(problems.contains("Termux:API"), !ok, "{problems}");
}

#[test]
fn doctor_reports_leash_paths_in_prefix_tmp() {
    let t = FakeTermux::new();
    let ws = t.prefix.join("tmp/ws");
    std::fs::create_dir_all(&ws).unwrap();
    let mut cmd = t.leash();
    // XDG_CACHE_HOME in $PREFIX/tmp is ignored (Android wipes it); a
    // workspace there is the person's choice, and doctor says it is wrong.
    cmd.env("XDG_CACHE_HOME", t.prefix.join("tmp"))
        .arg("--json")
        .arg("--set")
        .arg(format!("security.workspace={}", ws.display()))
        .arg("doctor");
    let report = json(&cmd.output().unwrap());
    let uses = report["phone"]["prefix_tmp_uses"].as_array().unwrap();
    assert_eq!(uses.len(), 1, "{report}");
    assert_eq!(uses[0]["what"], "security.workspace");
    assert!(report["problems"].to_string().contains("$PREFIX/tmp"));
    let temp = report["phone"]["temp_dir"].as_str().unwrap();
    assert!(
        !temp.starts_with(t.prefix.join("tmp").to_str().unwrap()),
        "{temp}"
    );
}

/// The daemon on the fake Termux; returns it with its ready line read.
fn start_daemon(t: &FakeTermux, config: &Path, port: &str) -> std::process::Child {
    let mut child = t
        .leash()
        .arg("--json")
        .arg("--config")
        .arg(config)
        .args(["--set", port, "daemon"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("\"ready\":true"), "{line}");
    child
}

#[test]
fn listen_queues_what_was_heard_and_the_job_holds_the_wake_lock_and_speaks() {
    let t = FakeTermux::new();
    t.script(
        "termux-speech-to-text",
        "printf 'check\\ncheck the\\ncheck the battery\\n'",
    );
    let dir = t.home.root().join("phone");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("transcript.yaml"),
        "play: by_expect\nresponses:\n  - text: '{\"actions\": [{\"notify\": \"-w /tmp/pwned.wav battery fine\"}], \"done\": true}'\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        "model:\n  backend: replay\n  transcript: transcript.yaml\n\
         security:\n  execution_mode: auto-approve\n  workspace: .\n\
         agent:\n  max_steps: 2\n  min_free_memory_mb: 0\n\
         device:\n  governor: false\n  speak: true\n\
         logging:\n  level: warn\n",
    )
    .unwrap();
    let config = dir.join("config.yaml");
    let port = format!("api.listen=127.0.0.1:{}", free_port());
    let mut daemon = start_daemon(&t, &config, &port);

    let out = t
        .leash()
        .arg("--config")
        .arg(&config)
        .args(["--set", &port, "listen"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("heard: check the battery"));
    assert!(
        wait_for(Duration::from_secs(30), || {
            job_states(&t.home).iter().any(|(_, s)| s == "done")
        }),
        "the heard job did not finish: {:?}",
        job_states(&t.home)
    );
    assert!(
        wait_for(Duration::from_secs(10), || !t.logged("spoken").is_empty()),
        "the notify was not spoken"
    );
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    daemon.wait().unwrap();

    let jobs = t.home.run(&[
        "--config",
        config.to_str().unwrap(),
        "audit",
        "export",
        "--json",
    ]);
    let audit = common::text(&jobs.stdout);
    assert!(
        audit.contains("check the battery"),
        "the job's prompt is what was heard"
    );
    assert!(audit.contains("notify.spoken"), "{audit}");
    assert_eq!(
        t.logged("wake"),
        "lock\nunlock\n",
        "wake lock around the job"
    );
    // The message went to the speaker's input, never its arguments.
    assert_eq!(t.logged("tts-argc"), "0\n", "no arguments");
    assert!(
        t.logged("spoken")
            .contains("-w /tmp/pwned.wav battery fine")
    );
}
