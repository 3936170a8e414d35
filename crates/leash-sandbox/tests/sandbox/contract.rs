//! What the executor promises about argv, env, cwd, stdin, exit statuses, the
//! private tmp and required layers.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use leash_sandbox::{ExitKind, Layer, SandboxError};
use rstest::rstest;

use crate::{REPORT, Scratch, executor, report_without, text};

/// Arguments full of shell metacharacters: each must reach the program as one
/// literal argv element.
const HOSTILE_ARGS: &[&str] = &[
    "a;b",
    "$(x)",
    "*",
    "two words",
    "'single' \"double\"",
    "line\nbreak",
    "`id`",
    "| tee /tmp/x",
    "> out",
    "",
];

/// Environment a careless parent might pass on.
const HOSTILE_ENV: &[(&str, &str)] = &[
    ("LD_PRELOAD", "/nonexistent/evil.so"),
    ("LD_LIBRARY_PATH", "/nonexistent"),
    ("GIT_DIR", "/nonexistent/evil.git"),
    ("GIT_SSH_COMMAND", "touch /tmp/pwned"),
    ("PAGER", "touch /tmp/pwned"),
    ("LESSOPEN", "|touch /tmp/pwned"),
    ("BASH_ENV", "/nonexistent/evil.sh"),
    ("PYTHONPATH", "/nonexistent"),
    ("NODE_OPTIONS", "--require /nonexistent/evil.js"),
    ("SECRET_TOKEN", "hunter2"),
];

const ROLE_VAR: &str = "LEASH_SANDBOX_TEST_ROLE";
const OUT_VAR: &str = "LEASH_SANDBOX_TEST_OUT";

fn split_nul(bytes: &[u8]) -> Vec<Vec<u8>> {
    let trimmed = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    trimmed.split(|b| *b == 0).map(<[u8]>::to_vec).collect()
}

/// The probe: `/bin/sh` prints its own exact argv (`/proc/$$/cmdline`) on stdout
/// and its exact initial environment (`/proc/$$/environ`) on stderr. The
/// hostile arguments are positional parameters the script never expands.
fn run_probe(scratch: &Scratch) -> leash_sandbox::ExecOutcome {
    let mut argv = vec![
        "probe-argv0",
        "-c",
        "cat /proc/$$/cmdline; cat /proc/$$/environ >&2; :",
        "sh",
    ];
    argv.extend_from_slice(HOSTILE_ARGS);
    executor().run(&scratch.spec("/bin/sh", &argv)).unwrap()
}

/// Runs in a copy of this test binary started with [`HOSTILE_ENV`]; writes the
/// probe's stdout, stderr and tmp base into the directory `$LEASH_SANDBOX_TEST_OUT`.
fn probe_under_hostile_parent_env() {
    for (key, value) in HOSTILE_ENV {
        assert_eq!(
            std::env::var(key).as_deref(),
            Ok(*value),
            "the parent role must have set {key}"
        );
    }
    let scratch = Scratch::new();
    let outcome = run_probe(&scratch);
    assert_eq!(
        outcome.status,
        ExitKind::Exited(0),
        "{}",
        text(&outcome.stderr.bytes)
    );
    let out = PathBuf::from(std::env::var_os(OUT_VAR).unwrap());
    std::fs::write(out.join("cmdline"), &outcome.stdout.bytes).unwrap();
    std::fs::write(out.join("environ"), &outcome.stderr.bytes).unwrap();
    std::fs::write(
        out.join("tmp_base"),
        scratch.tmp_base.as_os_str().as_bytes(),
    )
    .unwrap();
}

#[test]
fn probe_sees_exact_argv_and_only_the_scrubbed_env_even_with_a_hostile_parent_env() {
    if std::env::var_os(ROLE_VAR).is_some() {
        probe_under_hostile_parent_env();
        return;
    }
    // Re-run this very test in a child process whose environment carries the
    // hostile variables, so the parent env is really polluted without touching
    // this multi-threaded process's own environment.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "contract::probe_sees_exact_argv_and_only_the_scrubbed_env_even_with_a_hostile_parent_env",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(HOSTILE_ENV.iter().copied())
        .env(ROLE_VAR, "hostile-parent")
        .env(OUT_VAR, out)
        .status()
        .unwrap();
    assert!(status.success(), "child role failed: {status}");
    let cmdline = std::fs::read(out.join("cmdline")).unwrap();
    let environ = std::fs::read(out.join("environ")).unwrap();
    let tmp_base = PathBuf::from(OsString::from_vec(
        std::fs::read(out.join("tmp_base")).unwrap(),
    ));

    // argv: exactly what was given, argv[0] included, every element literal.
    let mut expected: Vec<Vec<u8>> = [
        "probe-argv0",
        "-c",
        "cat /proc/$$/cmdline; cat /proc/$$/environ >&2; :",
        "sh",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    expected.extend(HOSTILE_ARGS.iter().map(|s| s.as_bytes().to_vec()));
    assert_eq!(split_nul(&cmdline), expected);

    // env: exactly the five fixed keys; TMPDIR is the run's private tmp.
    let env: Vec<(String, String)> = split_nul(&environ)
        .into_iter()
        .map(|kv| {
            let kv = String::from_utf8(kv).unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mut keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["HOME", "LANG", "PATH", "TERM", "TMPDIR"],
        "child env: {env:?}"
    );
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(get("PATH"), Some("/usr/bin:/bin"));
    assert_eq!(get("LANG"), Some("C.UTF-8"));
    assert_eq!(get("TERM"), Some("dumb"));
    let tmpdir = PathBuf::from(get("TMPDIR").unwrap());
    assert!(
        tmpdir.starts_with(&tmp_base),
        "TMPDIR {tmpdir:?} not under {tmp_base:?}"
    );
    for (key, _) in HOSTILE_ENV {
        assert_eq!(get(key), None, "{key} leaked into the child");
    }
}

#[rstest]
#[case::exit_status("exit 7", ExitKind::Exited(7))]
#[case::success("true", ExitKind::Exited(0))]
#[case::own_signal("kill -SEGV $$", ExitKind::Signaled { signal: libc::SIGSEGV, name: "SIGSEGV".into() })]
#[case::stdin_is_dev_null_so_cat_ends_at_once("cat; exit 3", ExitKind::Exited(3))]
fn exit_kinds(#[case] script: &str, #[case] expected: ExitKind) {
    let scratch = Scratch::new();
    let outcome = executor().run(&scratch.sh(script)).unwrap();
    assert_eq!(
        outcome.status,
        expected,
        "stderr: {}",
        text(&outcome.stderr.bytes)
    );
    assert_eq!(outcome.limit_hit, None);
    assert_eq!(outcome.layers_active, REPORT.active_layers());
}

#[test]
fn cwd_is_fixed_and_stdin_reads_nothing() {
    let scratch = Scratch::new();
    let outcome = executor()
        .run(&scratch.sh("pwd; wc -c < /dev/stdin; ls -l /proc/self/fd/0"))
        .unwrap();
    let out = text(&outcome.stdout.bytes);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(scratch.work.to_str().unwrap()));
    assert_eq!(lines.next(), Some("0"));
    assert!(lines.next().unwrap().ends_with("-> /dev/null"), "{out}");
}

#[test]
fn private_tmp_is_writable_and_removed_afterwards() {
    let scratch = Scratch::new();
    let outcome = executor()
        .run(
            &scratch
                .sh("echo data > \"$TMPDIR/f\" && cat \"$TMPDIR/f\" >&2 && printf %s \"$TMPDIR\""),
        )
        .unwrap();
    assert_eq!(
        outcome.status,
        ExitKind::Exited(0),
        "{}",
        text(&outcome.stderr.bytes)
    );
    assert_eq!(text(&outcome.stderr.bytes), "data\n");
    let tmpdir = PathBuf::from(text(&outcome.stdout.bytes));
    assert!(tmpdir.starts_with(&scratch.tmp_base), "{tmpdir:?}");
    assert!(!tmpdir.exists(), "private tmp {tmpdir:?} survived the run");
    assert_eq!(std::fs::read_dir(&scratch.tmp_base).unwrap().count(), 0);
}

/// Control for the table below: without the requirement the same spec runs
/// and creates the marker, so "marker absent" really means "nothing ran".
#[test]
fn marker_spec_runs_when_nothing_is_required() {
    let scratch = Scratch::new();
    let marker = scratch.work.join("marker");
    let spec = scratch.sh(&format!("touch {}", marker.display()));
    let outcome = leash_sandbox::Executor::new(report_without(&[Layer::Landlock]))
        .run(&spec)
        .unwrap();
    assert_eq!(outcome.status, ExitKind::Exited(0));
    assert!(marker.exists());
}

#[rstest]
#[case::landlock(Layer::Landlock)]
#[case::seccomp(Layer::Seccomp)]
#[case::no_new_privs(Layer::NoNewPrivs)]
#[case::rlimits(Layer::Rlimits)]
#[case::process_group(Layer::ProcessGroup)]
#[case::cgroup(Layer::Cgroup)]
fn required_layer_missing_spawns_nothing(#[case] layer: Layer) {
    let scratch = Scratch::new();
    let marker = scratch.work.join("marker");
    let mut spec = scratch.sh(&format!("touch {}", marker.display()));
    spec.required = vec![Layer::Exec, layer];
    let err = leash_sandbox::Executor::new(report_without(&[layer]))
        .run(&spec)
        .unwrap_err();
    match err {
        SandboxError::RequiredLayerMissing {
            layer: missing,
            why,
        } => {
            assert_eq!(missing, layer);
            assert_eq!(why, "disabled by the test");
        }
        other => panic!("expected RequiredLayerMissing, got {other:?}"),
    }
    assert!(
        !marker.exists(),
        "the program ran although {layer} was missing"
    );
    assert_eq!(
        std::fs::read_dir(&scratch.tmp_base).unwrap().count(),
        0,
        "a private tmp was created although nothing may run"
    );
}

#[test]
fn relative_program_is_refused_never_searched_in_path() {
    let scratch = Scratch::new();
    let spec = scratch.spec("sh", &["sh", "-c", "true"]);
    let err = executor().run(&spec).unwrap_err();
    assert!(matches!(err, SandboxError::InvalidSpec { .. }), "{err:?}");
    assert!(err.to_string().contains("`sh`"), "{err}");
}

#[test]
fn missing_program_is_a_spawn_error_naming_it() {
    let scratch = Scratch::new();
    let spec = scratch.spec("/nonexistent/prog", &["prog"]);
    let err = executor().run(&spec).unwrap_err();
    match &err {
        SandboxError::Spawn { program, source } => {
            assert_eq!(program, &PathBuf::from("/nonexistent/prog"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
}
