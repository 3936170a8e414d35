//! The sandbox holds where the policy is wrong (issue 15): each test runs a
//! program the policy would have let through and does the bad thing for real.

use std::os::fd::AsRawFd;
use std::path::Path;

use leash_sandbox::{ExitKind, Layer, RunAs};
use rstest::rstest;

use crate::{
    Scratch, executor, layer_active_or_say_skipped, report_without, running_as_root, text,
};

/// An unprivileged uid no other test uses (the fork-bomb test counts the
/// tasks of `nobody`), with no entry in the password database needed.
const UNPRIVILEGED: RunAs = RunAs {
    uid: 65532,
    gid: 65532,
};

/// Hands the scratch dir to an unprivileged uid when the test runs as root, so the
/// command can run as `run_as` there.
fn run_as_unprivileged_if_root(scratch: &Scratch) -> Option<RunAs> {
    if !running_as_root() {
        return None;
    }
    std::os::unix::fs::chown(
        &scratch.work,
        Some(UNPRIVILEGED.uid),
        Some(UNPRIVILEGED.gid),
    )
    .unwrap();
    Some(UNPRIVILEGED)
}

/// Duplicates `fd` to `target` without CLOEXEC: what a careless parent of
/// leash leaves open.
fn leak_fd(fd: i32, target: i32) {
    // SAFETY: dup2 on descriptors this test owns; `target` is a high number
    // no other part of the test process uses.
    assert_eq!(unsafe { libc::dup2(fd, target) }, target);
}

fn close_fd(fd: i32) {
    // SAFETY: closing the duplicate this test made.
    unsafe { libc::close(fd) };
}

#[test]
fn inherited_descriptors_on_a_secret_and_an_outside_file_are_unusable() {
    let scratch = Scratch::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("id_rsa");
    std::fs::write(&secret, "PRIVATE KEY MATERIAL\n").unwrap();
    let target = outside.path().join("outside.txt");
    std::fs::write(&target, "untouched\n").unwrap();
    let read = std::fs::File::open(&secret).unwrap();
    let write = std::fs::OpenOptions::new()
        .append(true)
        .open(&target)
        .unwrap();
    leak_fd(read.as_raw_fd(), 47);
    leak_fd(write.as_raw_fd(), 48);

    // Python, because dash cannot name descriptors above 9 (and low numbers
    // may belong to other tests running in this process).
    let probe = [
        "import os, sys",
        "for fd, op in ((47, 'read'), (48, 'write')):",
        "    try:",
        "        data = os.read(fd, 100) if op == 'read' else os.write(fd, b'leaked')",
        "        print(op, 'OK', data)",
        "    except OSError as e:",
        "        print(op, 'refused', e.strerror, file=sys.stderr)",
    ]
    .join("\n");
    let probe = probe.as_str();
    let mut spec = scratch.spec("/usr/bin/python3", &["python3", "-c", probe]);
    spec.run_as = run_as_unprivileged_if_root(&scratch);
    // Even with Landlock off (a kernel without it), the descriptors are gone.
    let outcome = executor().run(&spec).unwrap();
    let control = leash_sandbox::Executor::new(report_without(&[Layer::Landlock]))
        .run(&spec)
        .unwrap();
    close_fd(47);
    close_fd(48);
    for run in [&outcome, &control] {
        let stdout = text(&run.stdout.bytes);
        let stderr = text(&run.stderr.bytes);
        eprintln!("inherited fds: stdout {stdout:?} stderr {stderr:?}");
        assert!(!stdout.contains("PRIVATE"), "read the secret: {stdout}");
        assert!(!stdout.contains("OK"), "an inherited fd worked: {stdout}");
        assert!(
            stderr.contains("read refused Bad file descriptor"),
            "{stderr}"
        );
        assert!(
            stderr.contains("write refused Bad file descriptor"),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");
}

fn status_field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

#[rstest]
#[case::with_run_as(true)]
#[case::uid_0_without_run_as(false)]
fn the_child_holds_no_capability(#[case] with_run_as: bool) {
    let scratch = Scratch::new();
    let mut spec = scratch.spec("/bin/cat", &["cat", "/proc/self/status"]);
    if with_run_as {
        spec.run_as = run_as_unprivileged_if_root(&scratch);
    }
    let outcome = executor().run(&spec).unwrap();
    let status = text(&outcome.stdout.bytes);
    assert_eq!(outcome.status, ExitKind::Exited(0), "{status}");
    let zero = "0000000000000000";
    for field in ["CapInh:", "CapPrm:", "CapEff:", "CapAmb:"] {
        assert_eq!(status_field(&status, field), zero, "{field}\n{status}");
    }
    if running_as_root() {
        // Only a privileged leash can empty the bounding set (and only it
        // needs to: an unprivileged child cannot gain what it never had).
        assert_eq!(status_field(&status, "CapBnd:"), zero, "{status}");
        let uid = status_field(&status, "Uid:");
        let groups = status_field(&status, "Groups:");
        if with_run_as {
            assert!(uid.starts_with("65532"), "{uid}");
            assert!(groups.is_empty(), "supplementary groups kept: {groups}");
        } else {
            assert!(uid.starts_with('0'), "{uid}");
        }
    } else {
        eprintln!(
            "the_child_holds_no_capability: not root here, so the bounding set and the \
             uid switch are not exercised (the effective/permitted/inheritable checks are)"
        );
    }
}

#[rstest]
#[case::char_device("c")]
#[case::block_device("b")]
fn device_nodes_cannot_be_made(#[case] kind: &str) {
    if !layer_active_or_say_skipped(Layer::Seccomp, "device nodes cannot be made") {
        return;
    }
    let scratch = Scratch::new();
    // /dev/kvm is c 10 232, /dev/sda b 8 0: reached through a node in the
    // workspace, Landlock's path rules would not apply.
    let (major, minor) = if kind == "c" { (10, 232) } else { (8, 0) };
    let spec = scratch.sh(&format!(
        "mknod node {kind} {major} {minor}; echo \"mknod=$?\" >&2; mkfifo fifo; echo \"mkfifo=$?\" >&2"
    ));
    let outcome = executor().run(&spec).unwrap();
    let stderr = text(&outcome.stderr.bytes);
    eprintln!(
        "mknod {kind} as uid {}: {stderr}",
        if running_as_root() { 0 } else { 1 }
    );
    assert!(
        !scratch.work.join("node").exists(),
        "device node made: {stderr}"
    );
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(stderr.contains("mkfifo=0"), "FIFOs stay allowed: {stderr}");
}

/// A process that makes itself non-dumpable and waits, standing in for leash
/// (the test process cannot harden itself without closing the harness's fds).
struct NonDumpable {
    pid: libc::pid_t,
}

impl NonDumpable {
    fn start() -> NonDumpable {
        // SAFETY: the child only makes system calls (prctl, pause, _exit).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: as above.
            unsafe {
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                libc::pause();
                libc::_exit(0);
            }
        }
        // Give it a moment to become non-dumpable.
        std::thread::sleep(std::time::Duration::from_millis(50));
        NonDumpable { pid }
    }
}

impl Drop for NonDumpable {
    fn drop(&mut self) {
        // SAFETY: signalling and reaping the child this test forked.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

#[test]
fn a_non_dumpable_parent_s_environ_is_unreadable() {
    let scratch = Scratch::new();
    let leash = NonDumpable::start();
    let mut spec = scratch.sh(&format!(
        "cat /proc/{pid}/environ | head -c 64; echo \"environ=$?\" >&2; cat /proc/{pid}/maps >/dev/null; echo \"maps=$?\" >&2",
        pid = leash.pid
    ));
    spec.run_as = run_as_unprivileged_if_root(&scratch);
    let outcome = executor().run(&spec).unwrap();
    let stdout = text(&outcome.stdout.bytes);
    let stderr = text(&outcome.stderr.bytes);
    eprintln!("environ of a non-dumpable leash: {stderr}");
    assert!(stdout.is_empty(), "read leash's environment: {stdout:?}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
}

#[test]
fn etc_secrets_unreadable_while_the_rest_of_etc_is() {
    if !layer_active_or_say_skipped(Layer::Landlock, "etc secrets unreadable") {
        return;
    }
    let scratch = Scratch::new();
    let secret_files: Vec<&str> = ["/etc/shadow", "/etc/gshadow"]
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    assert!(!secret_files.is_empty(), "no /etc/shadow on this machine");
    let script = format!(
        "cat /etc/hostname >/dev/null && echo hostname-ok; cat /etc/passwd >/dev/null && echo passwd-ok; \
         for f in {}; do cat $f >/dev/null 2>&1 && echo \"READ $f\"; done; \
         ls /etc/ssl/private >/dev/null 2>&1 && echo 'LISTED ssl/private'; \
         cat /etc/ssl/certs/ca-certificates.crt >/dev/null 2>&1 && echo certs-ok; true",
        secret_files.join(" ")
    );
    let spec = scratch.sh(&script);
    let outcome = executor().run(&spec).unwrap();
    let stdout = text(&outcome.stdout.bytes);
    eprintln!("/etc from inside (root: {}): {stdout}", running_as_root());
    assert!(stdout.contains("passwd-ok"), "{stdout}");
    if Path::new("/etc/hostname").exists() {
        assert!(stdout.contains("hostname-ok"), "{stdout}");
    }
    assert!(!stdout.contains("READ "), "a secret was readable: {stdout}");
    assert!(!stdout.contains("LISTED"), "{stdout}");
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        assert!(
            stdout.contains("certs-ok"),
            "per-entry walk lost ssl/certs: {stdout}"
        );
    }
    if running_as_root() {
        // Control: without Landlock, a uid-0 child (no capabilities, but the
        // owner) reads /etc/shadow; the wall above is what stopped it.
        let control = leash_sandbox::Executor::new(report_without(&[Layer::Landlock]))
            .run(&spec)
            .unwrap();
        let control_out = text(&control.stdout.bytes);
        assert!(control_out.contains("READ /etc/shadow"), "{control_out}");
    }
}
