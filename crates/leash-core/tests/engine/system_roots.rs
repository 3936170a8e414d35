//! The policy and the sandbox read one list of system read roots
//! (`leash_system_paths::SYSTEM_READ_ROOTS`). They agree when a command the
//! policy lets read a root also can read it inside the sandbox (with
//! Landlock, where the kernel has it), and a directory outside every root is
//! not readable without a person's approval.

use leash_core::CommandRequest;
use leash_core::approval::NoApprover;
use leash_policy::Decision;
use leash_sandbox::{ExitKind, Layer};
use leash_system_paths::SYSTEM_READ_ROOTS;

use crate::Fixture;

#[test]
fn every_system_read_root_is_allowed_by_the_policy_and_readable_in_the_sandbox() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    let approver = NoApprover {
        why: "the test answers no question".into(),
    };
    let job = engine.default_params();
    let runner = engine.runner(&job, &approver);
    let mut checked = 0;
    for root in SYSTEM_READ_ROOTS {
        let path = std::path::Path::new(root);
        // The policy narrows /proc and /sys to a few summaries (programs
        // read /proc/self themselves, a command naming /proc/1 asks); the
        // sandbox opens them for the programs' own use.
        if path.starts_with("/proc") || path.starts_with("/sys") {
            continue;
        }
        if !path.is_dir() {
            eprintln!("{root}: not on this machine, not checked here");
            continue;
        }
        // A root with a secret inside (/etc) is opened per entry, without
        // the secrets: its files are readable, but the directory itself is
        // not listed (`ls /etc` fails in the sandbox although the policy
        // allows it; a known gap, failing closed). Read one of its files;
        // list the other roots.
        let argv: Vec<String> = if leash_system_paths::leads_to_secret(path) {
            let file = std::fs::read_dir(path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.is_file()
                        && !leash_system_paths::is_secret(p)
                        && std::fs::File::open(p).is_ok()
                        && engine
                            .policy
                            .check_argv(&["cat", p.to_str().unwrap()])
                            .decision
                            == Decision::Allow
                })
                .unwrap_or_else(|| panic!("no readable file in {root}"));
            vec!["cat".into(), file.to_str().unwrap().to_owned()]
        } else {
            vec!["ls".into(), (*root).to_owned()]
        };
        let shown = argv.join(" ");
        let report = runner
            .run(&CommandRequest {
                argv,
                cwd: engine.workspace.clone(),
                job_id: None,
            })
            .unwrap();
        assert_eq!(
            report.verdict.decision,
            Decision::Allow,
            "the policy does not let `{shown}` run: {}",
            report.verdict.rule
        );
        let outcome = report
            .outcome()
            .unwrap_or_else(|| panic!("`{shown}` did not run: {:?}", report.status));
        assert_eq!(
            outcome.status,
            ExitKind::Exited(0),
            "the sandbox did not let `{shown}` read it (layers {:?}): {}",
            outcome.layers_active,
            String::from_utf8_lossy(&outcome.stderr.bytes)
        );
        if !outcome.layers_active.contains(&Layer::Landlock) {
            eprintln!(
                "{root}: Landlock is not active here; the sandbox side is checked without it"
            );
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} system roots exist here");
}

#[test]
fn a_directory_outside_every_system_root_is_not_readable_without_approval() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    for outside in ["/var/lib", "/root", "/opt"] {
        assert!(
            !SYSTEM_READ_ROOTS
                .iter()
                .any(|root| std::path::Path::new(outside).starts_with(root)),
            "{outside} is inside a system root: pick another example"
        );
        let verdict = engine.policy.check_argv(&["ls", outside]);
        assert_ne!(
            verdict.decision,
            Decision::Allow,
            "`ls {outside}` is allowed without approval ({})",
            verdict.rule
        );
    }
}
