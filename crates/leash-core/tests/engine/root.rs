//! Root: commands run as `security.run_as` or not at all.

use leash_core::CommandStatus;
use leash_core::approval::NoApprover;
use leash_core::{CommandRequest, Engine};

use crate::{Fixture, run_allowed, running_as_root};

#[test]
fn as_root_without_run_as_nothing_runs_and_the_error_names_the_key() {
    let fx = Fixture::new();
    let marker = fx.workspace().join("ran");
    let engine = Engine::open(&fx.load("  whitelist: [touch]\n", false), &fx.workspace()).unwrap();
    let approver = NoApprover { why: "test".into() };
    let report = engine
        .runner(&engine.default_params(), &approver)
        .run(&CommandRequest {
            argv: vec!["touch".into(), marker.to_str().unwrap().into()],
            cwd: engine.workspace.clone(),
            job_id: None,
        })
        .unwrap();
    if running_as_root() {
        assert!(
            matches!(report.status, CommandStatus::Failed { .. }),
            "{report:?}"
        );
        let error = report.error().unwrap().to_owned();
        assert!(error.contains("security.run_as"), "{error}");
        assert!(!marker.exists(), "a command ran as root");
    } else {
        eprintln!("not root here: leash runs commands as its own user, which this checks instead");
        assert!(report.outcome().is_some(), "{report:?}");
    }
}

#[test]
fn as_root_with_run_as_the_child_is_that_user_without_capabilities() {
    let fx = Fixture::new();
    let engine = fx.engine("");
    let report = run_allowed(&engine, "/bin/cat", &["cat", "/proc/self/status"]);
    let status = String::from_utf8_lossy(&report.outcome().unwrap().stdout.bytes).into_owned();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(field("CapEff:"), "0000000000000000", "{status}");
    assert_eq!(field("CapPrm:"), "0000000000000000", "{status}");
    if running_as_root() {
        let nobody = nix::unistd::User::from_name(crate::TEST_RUN_AS)
            .unwrap()
            .unwrap();
        assert!(
            field("Uid:").starts_with(&nobody.uid.to_string()),
            "{status}"
        );
        assert_eq!(field("CapBnd:"), "0000000000000000", "{status}");
        assert_eq!(field("Groups:"), "", "{status}");
    } else {
        eprintln!("not root here: the uid switch is not exercised");
    }
}
