//! A daemon context in a temp dir: config, state, workspace, audit log — real
//! files and a real SQLite database.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use leash_config::{EnvVars, LoadOptions, LoadedConfig, load};
use leash_daemon::DaemonContext;
use leash_store::{AuditLog, AuditOptions, Store};

/// The unprivileged user commands run as when the tests run as root.
pub const TEST_RUN_AS: &str = "nobody";

/// A temp home with a config, a workspace and leash's directories.
pub struct TestDaemonHome {
    pub dir: tempfile::TempDir,
}

#[allow(dead_code)]
impl TestDaemonHome {
    pub fn new() -> TestDaemonHome {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        // As root (CI), commands run as `security.run_as` or not at all: the
        // workspace belongs to that user (see `env`).
        leash_core::hand_over_if_root(TEST_RUN_AS, &[&dir.path().join("ws")]).unwrap();
        TestDaemonHome { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The workspace directory (`security.workspace`).
    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    /// The environment the config is loaded with (XDG dirs inside the temp dir).
    pub fn env(&self) -> EnvVars {
        let root = self.dir.path();
        let s = |p: PathBuf| p.to_str().unwrap().to_owned();
        let mut pairs = vec![
            ("HOME", s(root.join("home"))),
            ("XDG_STATE_HOME", s(root.join("state"))),
            ("XDG_CONFIG_HOME", s(root.join("cfg"))),
            ("XDG_CACHE_HOME", s(root.join("cache"))),
            ("XDG_DATA_HOME", s(root.join("data"))),
        ];
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            pairs.push(("LEASH_SECURITY__RUN_AS", TEST_RUN_AS.to_owned()));
        }
        EnvVars::from_pairs(pairs)
    }

    /// Writes `config.yaml` (the workspace and a replay backend are filled in
    /// unless the text sets them) and loads it.
    pub fn load(&self, yaml: &str) -> LoadedConfig {
        std::fs::write(self.config_file(), yaml).unwrap();
        load(&LoadOptions {
            config_file: Some(self.config_file()),
            env: self.env(),
            overrides: Vec::new(),
            cwd: Some(self.workspace()),
        })
        .unwrap()
    }

    /// A daemon context over the loaded config (store and audit log opened in
    /// the state dir, a fixed token).
    pub fn context(&self, loaded: LoadedConfig) -> Arc<DaemonContext> {
        let db = loaded.paths.database_file();
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        let store = Store::open(&db).unwrap();
        let audit = AuditLog::open(&db, AuditOptions::default()).unwrap();
        DaemonContext::new(loaded, store, audit, "test-token".to_owned())
    }
}
