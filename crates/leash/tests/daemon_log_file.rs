//! `logging.file`: `leash daemon` writes its log lines to the configured file
//! (appended across restarts, created with mode 0600, parents created), not to
//! stderr; a log file that cannot be opened stops the start, naming it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::TestHome;
use common::daemon::{free_port, wait_for};
use rstest::rstest;

/// A home whose daemon logs at `info` to `log_file` (replay model, free port).
fn home_logging_to(log_file: &Path) -> TestHome {
    home_with(
        log_file,
        "responses:\n  - text: '{\"actions\": [], \"done\": true}'\n",
        "info",
        "",
    )
}

/// A home whose daemon plays `transcript`, logs at `level` to `log_file` and
/// has the extra `security:` lines `security`.
fn home_with(log_file: &Path, transcript: &str, level: &str, security: &str) -> TestHome {
    let home = TestHome::new();
    let transcript_file = home.root().join("transcript.yaml");
    std::fs::write(&transcript_file, transcript).unwrap();
    home.write_config(&format!(
        "model:\n  backend: replay\n  transcript: {}\n\
         security:\n  workspace: {}\n{security}\
         api:\n  listen: 127.0.0.1:{}\n\
         logging:\n  level: {level}\n  file: {}\n",
        transcript_file.display(),
        home.workspace().display(),
        free_port(),
        log_file.display()
    ));
    home
}

/// Starts `leash daemon` (with `logging.level` deciding, not `RUST_LOG`) and
/// waits until the log file holds `ready` ready lines: the daemon says it is
/// ready in its log, so the file is where the test looks.
fn start(home: &TestHome, log_file: &Path, stderr_file: &Path, ready: usize) -> Child {
    let mut child = home
        .leash()
        .env_remove("RUST_LOG")
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr_file).unwrap())
        .spawn()
        .unwrap();
    let is_ready = || std::fs::read_to_string(log_file).is_ok_and(|log| ready_lines(&log) == ready);
    if !wait_for(Duration::from_secs(60), is_ready) {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "no ready line in {} within 60 s; stderr:\n{}",
            log_file.display(),
            std::fs::read_to_string(stderr_file).unwrap_or_default()
        );
    }
    child
}

/// SIGTERM and wait for the graceful stop.
fn stop(mut child: Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "the daemon did not stop cleanly: {exit:?}");
}

fn ready_lines(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("leash daemon ready"))
        .count()
}

#[test]
fn daemon_log_lines_go_to_the_configured_file_appended_and_private() {
    let dir = tempfile::tempdir().unwrap();
    // A parent that does not exist yet: created, private.
    let log_file: PathBuf = dir.path().join("logs/daemon.log");
    let home = home_logging_to(&log_file);
    let stderr_file = home.root().join("daemon.stderr");

    stop(start(&home, &log_file, &stderr_file, 1));
    let first = std::fs::read_to_string(&log_file).unwrap();
    assert_eq!(ready_lines(&first), 1, "log file after one run:\n{first}");
    assert!(first.contains("SIGTERM: stopping"), "{first}");
    assert!(
        !first.contains('\u{1b}'),
        "no terminal colours in a file:\n{first:?}"
    );
    let mode = std::fs::metadata(&log_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "log file mode {mode:o}");
    let dir_mode = std::fs::metadata(log_file.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "log dir mode {dir_mode:o}");
    // The log lines went to the file, not to stderr.
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    assert!(
        !stderr.contains("leash daemon ready") && !stderr.contains("SIGTERM: stopping"),
        "log lines leaked to stderr:\n{stderr}"
    );

    // A restart appends: the first run's lines stay.
    stop(start(&home, &log_file, &stderr_file, 2));
    let second = std::fs::read_to_string(&log_file).unwrap();
    assert!(
        second.starts_with(&first),
        "the first run's lines were lost"
    );
    assert_eq!(
        ready_lines(&second),
        2,
        "log file after two runs:\n{second}"
    );
}

fn plant_symlink(at: &Path, target: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

fn plant_directory(at: &Path, _target: &Path) {
    std::fs::create_dir(at).unwrap();
}

/// Regression class `planted-log-path`: something that is not a regular file
/// at the log's name (a symlink, a directory) is refused, not followed or
/// written through, and the daemon does not start without its log.
#[rstest]
#[case::symlink(plant_symlink as fn(&Path, &Path))]
#[case::directory(plant_directory as fn(&Path, &Path))]
fn a_log_path_that_is_not_a_regular_file_stops_the_start_naming_it(
    #[case] plant: fn(&Path, &Path),
) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "not leash's\n").unwrap();
    let log_file = dir.path().join("daemon.log");
    plant(&log_file, &target);
    let home = home_logging_to(&log_file);
    let out = home
        .leash()
        .env_remove("RUST_LOG")
        .arg("daemon")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("logging.file") && stderr.contains(&log_file.display().to_string()),
        "the error names the key and the path: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not leash's\n",
        "the symlink's target was written"
    );
}

/// Tracing spans: a log line written while a job's command runs names the
/// job (its id, in the `job` span) and the command (`argv0`), so a daemon log
/// with several jobs can be read job by job.
#[test]
fn a_command_log_line_names_its_job_and_program() {
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("daemon.log");
    let home = home_with(
        &log_file,
        "responses:\n  - text: '{\"actions\": [{\"run\": [\"ls\"]}], \"done\": false}'\n  \
         - text: '{\"actions\": [], \"done\": true}'\n",
        "debug",
        "  execution_mode: auto-approve\n",
    );
    let stderr_file = home.root().join("daemon.stderr");
    let daemon = start(&home, &log_file, &stderr_file, 1);
    let out = home.run(&["submit", "list the files"]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let done = wait_for(Duration::from_secs(60), || {
        let states = common::daemon::job_states(&home);
        !states.is_empty() && states.iter().all(|(_, s)| common::daemon::is_terminal(s))
    });
    stop(daemon);
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert!(done, "the job did not end; log:\n{log}");
    let (job_id, _) = common::daemon::job_states(&home).remove(0);
    let line = log
        .lines()
        .find(|line| line.contains("sandboxed run finished"))
        .unwrap_or_else(|| panic!("no command ran; log:\n{log}"));
    assert!(
        line.contains(&format!("job{{id={job_id} ")),
        "the command's line names its job {job_id}: {line}"
    );
    assert!(
        line.contains("command{") && line.contains("argv0=ls"),
        "the command's line names its program: {line}"
    );
}
