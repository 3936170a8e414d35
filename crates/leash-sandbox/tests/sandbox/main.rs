//! The sandbox, tested by doing the bad thing for real in temp dirs.
//!
//! Each test says in its output when it cannot check something here (a layer
//! the kernel lacks, root exemptions) instead of passing silently.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr,
    clippy::new_without_default
)]

mod cgroup;
mod containment;
mod contract;
mod policy_wrong;
mod walls;

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use leash_sandbox::{
    Executor, Layer, LayerReport, LayerStatus, Limits, SandboxSpec, probe, scrubbed_env,
};
use tempfile::TempDir;

/// The probed report, once per test binary.
pub static REPORT: LazyLock<LayerReport> = LazyLock::new(|| {
    let report = probe();
    eprintln!("probed layers: {report:#?}");
    report
});

/// An executor with every layer the kernel offers.
pub fn executor() -> Executor {
    Executor::new(REPORT.clone())
}

/// The real report with `layers` marked unavailable (to exercise one layer alone
/// or a missing required layer).
pub fn report_without(layers: &[Layer]) -> LayerReport {
    let mut report = REPORT.clone();
    for status in &mut report.layers {
        if layers.contains(&status.layer) {
            *status = LayerStatus::unavailable(status.layer, "disabled by the test");
        }
    }
    report
}

/// True (and says so) when `layer` is active; otherwise prints why the calling
/// test cannot check it here.
pub fn layer_active_or_say_skipped(layer: Layer, test: &str) -> bool {
    let status = REPORT.status(layer);
    if status.is_active() {
        true
    } else {
        eprintln!(
            "skipped: {test}: {layer} unavailable on this kernel: {:?}",
            status.state
        );
        false
    }
}

/// True when this test process runs as root.
pub fn running_as_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// A temp dir with a writable `work` (the cwd and write root) and `tmp` (the
/// private tmp base), traversable by other uids for `run_as` tests.
#[derive(Debug)]
pub struct Scratch {
    pub dir: TempDir,
    pub work: PathBuf,
    pub tmp_base: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let work = dir.path().join("work");
        let tmp_base = dir.path().join("tmp");
        std::fs::create_dir(&work).unwrap();
        std::fs::create_dir(&tmp_base).unwrap();
        std::fs::set_permissions(&tmp_base, std::fs::Permissions::from_mode(0o755)).unwrap();
        Scratch {
            dir,
            work,
            tmp_base,
        }
    }

    /// A spec running `program` with `argv` (argv[0] included) in `work`, with
    /// the default limits, no network, and every layer optional.
    pub fn spec(&self, program: &str, argv: &[&str]) -> SandboxSpec {
        SandboxSpec {
            program: PathBuf::from(program),
            argv: argv.iter().map(OsString::from).collect(),
            cwd: self.work.clone(),
            env: scrubbed_env(
                &self.work,
                Path::new("/replaced-by-the-executor"),
                OsStr::new("/usr/bin:/bin"),
                None,
            ),
            limits: Limits {
                timeout: Duration::from_secs(30),
                ..Limits::default()
            },
            write_roots: vec![self.work.clone()],
            read_roots: Vec::new(),
            network: false,
            required: Vec::new(),
            tmp_base: self.tmp_base.clone(),
            run_as: None,
        }
    }

    /// A `/bin/sh -c SCRIPT` spec.
    pub fn sh(&self, script: &str) -> SandboxSpec {
        self.spec("/bin/sh", &["sh", "-c", script])
    }
}

/// Text of a captured stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
