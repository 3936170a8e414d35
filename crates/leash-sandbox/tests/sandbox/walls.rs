//! The kernel walls: Landlock (file system, TCP) and seccomp, each tested by
//! trying to get through for real.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use leash_sandbox::{Executor, ExitKind, Layer};
use rstest::rstest;

use crate::{Scratch, executor, layer_active_or_say_skipped, report_without, text};

#[test]
fn write_outside_the_write_roots_fails_under_landlock() {
    if !layer_active_or_say_skipped(Layer::Landlock, "write outside the write roots") {
        return;
    }
    let scratch = Scratch::new();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("escaped.txt");
    let spec = scratch.sh(&format!(
        "echo inside > inside.txt; echo outside > {}; echo $? >&2",
        target.display()
    ));
    let outcome = executor().run(&spec).unwrap();
    let stderr = text(&outcome.stderr.bytes);
    eprintln!("landlock write: {stderr}");
    assert_eq!(
        std::fs::read_to_string(scratch.work.join("inside.txt")).unwrap(),
        "inside\n"
    );
    assert!(!target.exists(), "wrote outside the write roots");
    assert!(stderr.contains("Permission denied"), "{stderr}");

    // Control: the same spec without Landlock does write there.
    let control = Executor::new(report_without(&[Layer::Landlock]))
        .run(&spec)
        .unwrap();
    assert_eq!(control.status, ExitKind::Exited(0));
    assert!(
        target.exists(),
        "control run could not write: {}",
        text(&control.stderr.bytes)
    );
}

#[test]
fn read_outside_the_read_roots_fails_under_landlock() {
    if !layer_active_or_say_skipped(Layer::Landlock, "read outside the read roots") {
        return;
    }
    let scratch = Scratch::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "hunter2").unwrap();
    let spec = scratch.sh(&format!("cat {}", secret.display()));
    let outcome = executor().run(&spec).unwrap();
    assert_ne!(outcome.status, ExitKind::Exited(0));
    assert!(!text(&outcome.stdout.bytes).contains("hunter2"));
    assert!(text(&outcome.stderr.bytes).contains("Permission denied"));

    // Listed as a read root, the same file is readable.
    let mut allowed = spec.clone();
    allowed.read_roots.push(outside.path().to_path_buf());
    let outcome = executor().run(&allowed).unwrap();
    assert_eq!(text(&outcome.stdout.bytes), "hunter2");
}

/// python3 connects to `port` on 127.0.0.1 and says "connected".
const CONNECT: &str = "import socket, sys\n\
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n\
s.sendall(b'hi')\n\
print('connected')";

/// A listener on loopback that reports whether anybody connected.
fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn accepted(listener: &TcpListener) -> bool {
    match listener.accept() {
        Ok((mut stream, _)) => {
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let mut buf = [0u8; 2];
            stream.read_exact(&mut buf).is_ok() && &buf == b"hi"
        }
        Err(_) => false,
    }
}

#[rstest]
#[case::all_layers(&[])]
#[case::landlock_alone(&[Layer::Seccomp])]
#[case::seccomp_alone(&[Layer::Landlock])]
fn tcp_connect_to_loopback_is_refused_when_network_is_off(#[case] disabled: &[Layer]) {
    let report = report_without(disabled);
    let walls: Vec<Layer> = [Layer::Landlock, Layer::Seccomp]
        .into_iter()
        .filter(|l| report.is_active(*l))
        .collect();
    if walls.is_empty() {
        eprintln!(
            "skipped: TCP refusal with {disabled:?} disabled: neither Landlock nor seccomp is active here"
        );
        return;
    }
    let scratch = Scratch::new();
    let (listener, port) = listener();
    let port_arg = port.to_string();
    let spec = scratch.spec("/usr/bin/python3", &["python3", "-c", CONNECT, &port_arg]);
    assert!(!spec.network);
    let outcome = Executor::new(report).run(&spec).unwrap();
    let stderr = text(&outcome.stderr.bytes);
    eprintln!(
        "network off, walls {walls:?}: {:?} {}",
        outcome.status,
        stderr.lines().last().unwrap_or("")
    );
    assert_ne!(outcome.status, ExitKind::Exited(0));
    assert!(!text(&outcome.stdout.bytes).contains("connected"));
    assert!(
        stderr.contains("PermissionError") || stderr.contains("Permission denied"),
        "{stderr}"
    );
    assert!(!accepted(&listener), "the listener got a connection");
}

#[test]
fn tcp_connect_to_loopback_succeeds_when_network_is_on() {
    let scratch = Scratch::new();
    let (listener, port) = listener();
    let port_arg = port.to_string();
    let mut spec = scratch.spec("/usr/bin/python3", &["python3", "-c", CONNECT, &port_arg]);
    spec.network = true;
    let outcome = executor().run(&spec).unwrap();
    assert_eq!(
        outcome.status,
        ExitKind::Exited(0),
        "{}",
        text(&outcome.stderr.bytes)
    );
    assert_eq!(text(&outcome.stdout.bytes), "connected\n");
    assert!(accepted(&listener));
}

#[rstest]
#[case::setsid_leaves_the_process_group(&["/usr/bin/setsid", "setsid", "--wait", "sh", "-c", "echo escaped"])]
#[case::setpgid_leaves_the_process_group(&["/usr/bin/python3", "python3", "-c", "import os; os.setpgid(0, 0); print('escaped')"])]
#[case::user_namespace(&["/usr/bin/unshare", "unshare", "--user", "echo", "escaped"])]
#[case::mount_namespace(&["/usr/bin/unshare", "unshare", "--mount", "echo", "escaped"])]
#[case::ptrace(&["/usr/bin/python3", "python3", "-c", "import ctypes, sys; r = ctypes.CDLL(None).ptrace(0, 0, 0, 0); print('escaped' if r == 0 else 'denied')"])]
fn seccomp_denies_escape_hatches(#[case] argv: &[&str]) {
    if !layer_active_or_say_skipped(Layer::Seccomp, "seccomp escape hatches") {
        return;
    }
    let scratch = Scratch::new();
    let (program, rest) = argv.split_first().unwrap();
    let spec = scratch.spec(program, rest);
    let outcome = executor().run(&spec).unwrap();
    let stdout = text(&outcome.stdout.bytes);
    eprintln!(
        "{argv:?}: {:?} {} {}",
        outcome.status,
        stdout.trim(),
        text(&outcome.stderr.bytes).trim()
    );
    assert!(
        !stdout.contains("escaped"),
        "{argv:?} got through: {stdout}"
    );

    // Control: without the seccomp layer the same call succeeds (as root here),
    // so the filter is what stopped it. Skipped when this uid could not do it
    // anyway.
    let control = Executor::new(report_without(&[Layer::Seccomp, Layer::Landlock]))
        .run(&spec)
        .unwrap();
    let control_out = text(&control.stdout.bytes);
    if control_out.contains("escaped") {
        eprintln!("  control without seccomp: escaped, as expected");
    } else {
        eprintln!(
            "  control without seccomp did not escape either (uid lacks the privilege): {}",
            text(&control.stderr.bytes).trim()
        );
    }
}
