//! `leash submit|jobs|approvals|approve|deny` against a real `leash daemon`
//! child process (replay backend, a temp home, a free loopback port), plus
//! the error every one of them gives when no daemon runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{TestHome, text};
use rstest::rstest;
use serde_json::Value;

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A home whose daemon listens on `port` and plays one model turn that runs
/// `ls` (which, in `prompt` mode, waits for a person), then a turn that says
/// done (a model that ran something must see its results before `done`).
fn home_on_port(port: u16) -> TestHome {
    replay_home(
        port,
        "prompt",
        "ls",
        "responses:\n  - text: '{\"actions\": [{\"run\": [\"ls\"]}], \"done\": true}'\n  - text: '{\"actions\": [], \"done\": true}'\n",
    )
}

/// A home whose daemon listens on `port`, runs in `mode` with `whitelist`
/// (one YAML flow-list item or several) allowed, and plays `transcript` (a
/// replay transcript, YAML).
fn replay_home(port: u16, mode: &str, whitelist: &str, transcript: &str) -> TestHome {
    let home = TestHome::new();
    let file = home.root().join("transcript.yaml");
    std::fs::write(&file, transcript).unwrap();
    home.write_config(&format!(
        r#"
model:
  backend: replay
  transcript: {}
security:
  execution_mode: {mode}
  workspace: {}
  whitelist: [{whitelist}]
api:
  listen: 127.0.0.1:{port}
logging:
  level: warn
"#,
        file.display(),
        home.workspace().display()
    ));
    home
}

/// A running `leash daemon`, stopped with SIGTERM when dropped.
struct Daemon {
    child: Child,
}

impl Daemon {
    /// Starts the daemon and waits for its ready line. `None` (after saying
    /// why) when this build has no `leash daemon` yet.
    fn start(home: &TestHome) -> Option<Daemon> {
        let help = home.run(&["daemon", "--help"]);
        if !help.status.success() {
            eprintln!(
                "skipped: `leash daemon` is not a subcommand of this build: {}",
                text(&help.stderr)
            );
            return None;
        }
        let mut child = home
            .leash()
            .arg("daemon")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.contains("daemon ready") => return Some(Daemon { child }),
                Ok(line) => seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the daemon did not get ready:\n{}", seen.join("\n"));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn failed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// Waits until `leash approvals --json` lists a pending request; its id.
fn wait_for_approval(home: &TestHome) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let doc = json_of(&home.run(&["approvals", "--json"]));
        if let Some(first) = doc["approvals"].as_array().and_then(|a| a.first()) {
            assert!(
                first.get("nonce").is_none(),
                "lists carry no nonce: {first}"
            );
            return first["id"].as_i64().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no approval request appeared");
}

/// Waits until job `id` is in `state`.
fn wait_for_job_state(home: &TestHome, id: i64, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = json_of(&home.run(&["jobs", "show", &id.to_string(), "--json"]));
        if last["job"]["state"] == state {
            return last;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("job {id} never became {state}: {last}");
}

#[rstest]
#[case::submit(&["submit", "hello"])]
#[case::jobs(&["jobs"])]
#[case::jobs_show(&["jobs", "show", "1"])]
#[case::approvals(&["approvals"])]
#[case::approve(&["approve", "1"])]
#[case::deny(&["deny", "1", "--nonce", "n"])]
fn without_a_daemon_every_client_says_so(#[case] args: &[&str]) {
    let port = free_port();
    let home = home_on_port(port);
    // Never started here: no token file either.
    let stderr = failed(&home.run(args));
    assert!(
        stderr.contains(&format!("not running at 127.0.0.1:{port}"))
            && stderr.contains("leash daemon"),
        "{stderr}"
    );
    // Started before (a token exists) but not running now.
    let token = home.home().join(".local/state/leash/api.token");
    std::fs::create_dir_all(token.parent().unwrap()).unwrap();
    std::fs::write(&token, "abc\n").unwrap();
    let stderr = failed(&home.run(args));
    assert!(
        stderr.contains(&format!(
            "the leash daemon is not running at 127.0.0.1:{port} (start it with `leash daemon`)"
        )),
        "{stderr}"
    );
}

#[test]
fn submit_list_approve_and_the_job_finishes() {
    let home = home_on_port(free_port());
    let Some(daemon) = Daemon::start(&home) else {
        return;
    };
    let id: i64 = ok(&home.run(&["submit", "list", "the", "files"]))
        .trim()
        .parse()
        .unwrap();
    let listed = ok(&home.run(&["jobs"]));
    assert!(listed.contains("list the files"), "{listed}");

    let approval = wait_for_approval(&home);
    let table = ok(&home.run(&["approvals"]));
    assert!(table.contains("ls"), "{table}");

    // A notification button with a stale nonce: refused, exit 1, audited.
    let stderr = failed(&home.run(&["approve", &approval.to_string(), "--nonce", "stale"]));
    assert!(stderr.contains("nonce does not match"), "{stderr}");

    let answer = ok(&home.run(&["approve", &approval.to_string()]));
    assert!(answer.contains("approved"), "{answer}");
    let stderr = failed(&home.run(&["approve", &approval.to_string()]));
    assert!(stderr.contains("already approved"), "{stderr}");

    let job = wait_for_job_state(&home, id, "done");
    assert_eq!(job["job"]["result"]["executed"], 1, "{job}");
    let shown = ok(&home.run(&["jobs", "show", &id.to_string()]));
    assert!(shown.contains("state         done"), "{shown}");

    drop(daemon);
    let records = home.audit_records();
    let refused = records
        .iter()
        .find(|r| r["kind"] == "approval.nonce_refused")
        .expect("the stale nonce is audited");
    assert_eq!(refused["payload"]["channel"], "termux");
    home.assert_audit_verifies();
}

#[test]
fn deny_with_the_notification_nonce_and_json_output() {
    let home = home_on_port(free_port());
    let Some(_daemon) = Daemon::start(&home) else {
        return;
    };
    let submitted = json_of(&home.run(&["submit", "--json", "--priority", "-3", "list"]));
    assert_eq!(submitted["duplicate"], false);
    assert_eq!(submitted["job"]["priority"], -3);
    let id = submitted["job"]["id"].as_i64().unwrap();
    let approval = wait_for_approval(&home);

    // The nonce, as the notifier gets it (the token holder may read it).
    let token_file = home.home().join(".local/state/leash/api.token");
    let token = std::fs::read_to_string(token_file).unwrap();
    let config = std::fs::read_to_string(home.config_file()).unwrap();
    let listen = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("listen: "))
        .unwrap()
        .to_owned();
    let shown: Value = ureq::get(format!("http://{listen}/v1/approvals/{approval}"))
        .header("Authorization", format!("Bearer {}", token.trim()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let nonce = shown["approval"]["nonce"].as_str().unwrap().to_owned();

    let denied = json_of(&home.run(&["deny", &approval.to_string(), "--nonce", &nonce, "--json"]));
    assert_eq!(denied["approval"]["state"], "denied");
    assert_eq!(denied["approval"]["channel"], "termux");
    assert!(
        denied["approval"]["decided_by"]
            .as_str()
            .unwrap()
            .starts_with("notification:")
    );
    let job = wait_for_job_state(&home, id, "done");
    assert_eq!(job["job"]["result"]["executed"], 0, "{job}");
}

#[test]
fn server_errors_are_reported_with_their_detail() {
    let home = home_on_port(free_port());
    let Some(_daemon) = Daemon::start(&home) else {
        return;
    };
    let stderr = failed(&home.run(&["submit", "--mode", "auto-approve", "deploy"]));
    assert!(stderr.contains("`mode` auto-approve is looser"), "{stderr}");
    let stderr = failed(&home.run(&["jobs", "--state", "finished"]));
    assert!(
        stderr.contains("`state`") && stderr.contains("finished"),
        "{stderr}"
    );
    let stderr = failed(&home.run(&["jobs", "show", "4242"]));
    assert!(stderr.contains("job 4242 does not exist"), "{stderr}");
    let stderr = failed(&home.run(&["deny", "4242"]));
    assert!(stderr.contains("approval 4242 does not exist"), "{stderr}");
    let listed = json_of(&home.run(&["jobs", "--json", "--limit", "5"]));
    assert_eq!(listed["jobs"], serde_json::json!([]));
}

#[test]
fn deny_with_a_reason_is_recorded_and_listed_escaped() {
    let home = home_on_port(free_port());
    let Some(daemon) = Daemon::start(&home) else {
        return;
    };
    let id: i64 = ok(&home.run(&["submit", "list"])).trim().parse().unwrap();
    let approval = wait_for_approval(&home);
    // What the person sees before answering: the grant shape.
    let table = ok(&home.run(&["approvals"]));
    assert!(table.contains("a grant would read: ls"), "{table}");

    let stderr = failed(&home.run(&["approve", &approval.to_string(), "--reason", "x"]));
    assert!(
        stderr.contains("--reason goes with `leash deny`"),
        "{stderr}"
    );
    let reason = "not now\u{1b}[2J <b>really</b>";
    let answer = ok(&home.run(&["deny", &approval.to_string(), "--reason", reason]));
    assert!(answer.contains("denied"), "{answer}");
    let listed = ok(&home.run(&["approvals", "--state", "denied"]));
    assert!(listed.contains("refused: not now"), "{listed}");
    assert!(
        !listed.contains('\u{1b}'),
        "the terminal escape is shown, not sent: {listed:?}"
    );
    wait_for_job_state(&home, id, "done");
    drop(daemon);
    let records = home.audit_records();
    let answered = records
        .iter()
        .find(|r| r["kind"] == "approval.answered")
        .expect("the answer is audited");
    assert_eq!(answered["payload"]["reason"], reason, "{answered}");
    home.assert_audit_verifies();
}

/// Stand-ins for Termux:API (there is no phone here): `termux-notification`
/// records its arguments (NUL-separated, one file per notification id), and
/// `termux-dialog` answers OK with a typed reason, as the real ones do.
fn fake_termux(home: &TestHome) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = home.root().join("termux-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let scripts = [
        (
            "termux-notification",
            "#!/bin/sh\nout=\"$(dirname \"$0\")/$2.args\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out.tmp\"\nmv \"$out.tmp\" \"$out\"\n",
        ),
        (
            "termux-dialog",
            "#!/bin/sh\n[ \"$1\" = text ] || exit 2\nprintf '%s\\n' '{\"code\": -1, \"text\": \"too risky <b>\"}'\n",
        ),
    ];
    for (name, body) in scripts {
        let path = bin.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// The notification's arguments for approval `id`, once the daemon ran it.
fn notification_of(bin: &std::path::Path, id: i64) -> Vec<String> {
    let file = bin.join(format!("leash-approval-{id}.args"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !file.exists() {
        assert!(Instant::now() < deadline, "no notification for {id}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let bytes = std::fs::read(&file).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8(w.to_vec()).unwrap())
        .collect()
}

/// Presses a button as Termux does: its action string through `sh -c`,
/// without the person's PATH (only the system's; no termux-* on it).
fn press(home: &TestHome, args: &[String], button: &str) {
    let at = args.iter().position(|a| a == button).unwrap();
    let action = &args[at + 1];
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(action).env_clear();
    for (key, value) in home.leash().get_envs() {
        if let Some(value) = value {
            sh.env(key, value);
        }
    }
    sh.env("PATH", "/usr/bin:/bin");
    ok(&sh.output().unwrap());
}

/// Class `phone-approval-choices`: the built-in Termux notifier offers the
/// page's three choices. "Grant for this job" approves and makes a job-scoped
/// grant; "Deny…" asks for a reason in `termux-dialog` and sends it. Each is
/// recorded as channel `termux`; the model's command is only the
/// notification's text, never part of an action string.
#[test]
fn the_termux_notification_approves_grants_and_denies_with_a_reason() {
    let home = home_on_port(free_port());
    let bin = fake_termux(&home);
    let transcript = home.root().join("transcript.yaml");
    std::fs::write(
        &transcript,
        "responses:\n  - text: '{\"actions\": [{\"run\": [\"ls\"]}], \"done\": true}'\n  - text: '{\"actions\": [], \"done\": true}'\n  - text: '{\"actions\": [{\"run\": [\"ls\"]}], \"done\": true}'\n  - text: '{\"actions\": [], \"done\": true}'\n",
    )
    .unwrap();
    let config = home.home().join(".config/leash/config.yaml");
    let mut yaml = std::fs::read_to_string(&config).unwrap();
    yaml.push_str(&format!(
        "approvals:\n  notifier: [{}]\n",
        bin.join("termux-notification").display()
    ));
    std::fs::write(&config, yaml).unwrap();
    let Some(daemon) = Daemon::start(&home) else {
        return;
    };

    let first: i64 = ok(&home.run(&["submit", "list"])).trim().parse().unwrap();
    let approval = wait_for_approval(&home);
    let args = notification_of(&bin, approval);
    let content = &args[args.iter().position(|a| a == "--content").unwrap() + 1];
    assert!(content.contains("ls"), "{args:?}");
    for button in ["--button1", "--button2", "--button3"] {
        assert!(args.iter().any(|a| a == button), "{args:?}");
    }
    for action in args.iter().filter(|a| a.contains("--nonce")) {
        assert!(!action.contains(content.as_str()), "{action}");
        assert!(action.contains("'--via' 'termux'"), "{action}");
    }
    press(&home, &args, "--button2-action");
    wait_for_job_state(&home, first, "done");
    let grants = json_of(&home.run(&["--json", "grants"]));
    assert_eq!(grants["grants"][0]["scope"]["kind"], "job", "{grants}");

    let second: i64 = ok(&home.run(&["submit", "list"])).trim().parse().unwrap();
    let approval = wait_for_approval(&home);
    let args = notification_of(&bin, approval);
    press(&home, &args, "--button3-action");
    wait_for_job_state(&home, second, "done");
    drop(daemon);
    let records = home.audit_records();
    let answers: Vec<&Value> = records
        .iter()
        .filter(|r| r["kind"] == "approval.answered")
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    for answered in &answers {
        assert_eq!(answered["payload"]["channel"], "termux", "{answered}");
    }
    assert_eq!(answers[1]["payload"]["reason"], "too risky <b>");
    home.assert_audit_verifies();
}

/// A home whose daemon listens on a free port, runs in `auto-approve` with
/// `touch` allowed, and plays `transcript`.
fn touch_home(transcript: &str) -> TestHome {
    replay_home(free_port(), "auto-approve", "touch", transcript)
}

/// Regression class `job-params-leak-across-jobs`: the daemon keeps one
/// engine per workspace and runs job after job on it, so each job's mode
/// must be its own. On the same workspace: a job in the configured
/// `auto-approve` runs `touch` at once; the next job, submitted with
/// `--mode prompt`, still asks (and, refused, creates nothing); the job
/// after that runs at once again.
#[test]
fn a_prompt_job_after_an_auto_approve_job_on_the_same_workspace_still_asks() {
    let turn = |file: &str| {
        format!(
            "  - text: '{{\"actions\": [{{\"run\": [\"touch\", \"{file}\"]}}], \"done\": false}}'\n  - text: '{{\"actions\": [], \"done\": true}}'\n"
        )
    };
    let home = touch_home(&format!(
        "responses:\n{}{}{}",
        turn("first"),
        turn("second"),
        turn("third")
    ));
    let Some(_daemon) = Daemon::start(&home) else {
        return;
    };
    let submit = |args: &[&str]| -> i64 {
        let mut all = vec!["submit"];
        all.extend_from_slice(args);
        ok(&home.run(&all)).trim().parse().unwrap()
    };

    let first = submit(&["make", "the", "first"]);
    let job = wait_for_job_state(&home, first, "done");
    assert_eq!(job["job"]["result"]["executed"], 1, "{job}");
    assert!(home.workspace().join("first").exists());

    let second = submit(&["--mode", "prompt", "make", "the", "second"]);
    let approval = wait_for_approval(&home);
    let table = ok(&home.run(&["approvals"]));
    assert!(table.contains("second"), "the prompt job asks: {table}");
    ok(&home.run(&["deny", &approval.to_string()]));
    let job = wait_for_job_state(&home, second, "done");
    assert_eq!(job["job"]["result"]["executed"], 0, "{job}");
    assert!(!home.workspace().join("second").exists());

    let third = submit(&["make", "the", "third"]);
    let job = wait_for_job_state(&home, third, "done");
    assert_eq!(job["job"]["result"]["executed"], 1, "{job}");
    assert!(home.workspace().join("third").exists());
    let pending = json_of(&home.run(&["approvals", "--json"]));
    assert_eq!(pending["approvals"], serde_json::json!([]), "{pending}");
}

/// Regression class `unknown-spelling-runs`, through a real daemon: a queued
/// job whose row names a trigger kind leash does not know (written by hand,
/// by a newer leash, or damaged) is never run; the worker ends it as failed,
/// naming the value, and goes on with the queue: the next job runs.
#[test]
fn a_queued_job_with_an_unknown_trigger_kind_fails_unrun_and_the_queue_goes_on() {
    let home = touch_home(
        "play: by_expect\nresponses:\n  - text: '{\"actions\": [{\"run\": [\"touch\", \"ran\"]}], \"done\": false}'\n    expect: make the marker\n  - text: '{\"actions\": [], \"done\": true}'\n",
    );
    let Some(daemon) = Daemon::start(&home) else {
        return;
    };
    // Queued behind the daemon's back, first in line (higher priority).
    let db = common::daemon::database(&home);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute(
        "INSERT INTO jobs (created_at, updated_at, state, trigger_kind, priority, prompt) \
         VALUES ('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'queued', 'carrier-pigeon', 10, 'make the marker')",
        [],
    )
    .unwrap();
    let odd = conn.last_insert_rowid();

    let next: i64 = ok(&home.run(&["submit", "make", "the", "marker", "please"]))
        .trim()
        .parse()
        .unwrap();
    let job = wait_for_job_state(&home, next, "done");
    assert_eq!(job["job"]["result"]["executed"], 1, "{job}");

    let (state, result): (String, String) = conn
        .query_row(
            "SELECT state, result FROM jobs WHERE id = ?1",
            [odd],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "failed", "ended, never run: {result}");
    assert!(
        result.contains("carrier-pigeon") && result.contains(&format!("jobs row {odd}")),
        "{result}"
    );
    drop(daemon);
    let records = home.audit_records();
    assert!(
        !records
            .iter()
            .any(|r| r["job_id"] == odd && r["kind"] == "command.started"),
        "the odd job started nothing"
    );
    assert!(
        records.iter().any(|r| r["job_id"] == odd
            && r["kind"] == "job.state"
            && r["payload"]["to"] == "failed"),
        "its end is audited"
    );
    home.assert_audit_verifies();
}
