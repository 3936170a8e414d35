//! leash-undo against real files, real programs (`cp`, `mv`, `tee`, `sed`,
//! `touch`, `tar`, `sort`, `mkdir` from the system search path), a real
//! SQLite journal and a real audit chain. The write targets come from a real
//! policy, exactly as the engine gets them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash;
mod gc;
mod hostile;
mod linked;
mod round_trips;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use leash_policy::{Policy, PolicySettings};
use leash_store::{AuditLog, AuditOptions};
use leash_undo::{
    EntryContext, Journal, Plan, Reversibility, Selection, UndoError, UndoOptions, UndoReport,
    UndoSettings, WriteMode,
};
use sha2::{Digest, Sha256};

#[allow(missing_debug_implementations)]
/// A workspace with its journal, audit log and policy; the state dir is
/// outside the workspace, as in a real installation.
pub struct Ws {
    _dir: Option<tempfile::TempDir>,
    pub root: PathBuf,
    pub ws: PathBuf,
    pub state: PathBuf,
    pub journal: Journal,
    pub audit: AuditLog,
    pub policy: Policy,
}

impl Default for Ws {
    fn default() -> Self {
        Ws::new()
    }
}

impl Ws {
    pub fn new() -> Ws {
        Ws::with(UndoSettings::default())
    }

    pub fn with(settings: UndoSettings) -> Ws {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        Ws::at(Some(dir), root, settings)
    }

    pub fn at(dir: Option<tempfile::TempDir>, root: PathBuf, settings: UndoSettings) -> Ws {
        let ws = root.join("ws");
        let state = root.join("state");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        let db = state.join("leash.db");
        let journal = Journal::open(&db, &state.join("undo"), settings).unwrap();
        let audit = AuditLog::open(&db, AuditOptions::default()).unwrap();
        let mut ps = PolicySettings::new(ws.clone(), root.join("home"));
        ps.search_path = vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")];
        let policy = Policy::load(ps).unwrap();
        Ws {
            _dir: dir,
            root,
            ws,
            state,
            journal,
            audit,
            policy,
        }
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.ws.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.p(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.p(rel)).unwrap()
    }

    /// The plan the engine would make for `argv`.
    pub fn plan(&self, argv: &[&str]) -> Plan {
        let writes = self.policy.write_targets(argv, &self.ws);
        let identity = argv[0].rsplit('/').next().unwrap();
        self.journal
            .plan_with(&writes, WriteMode::of_program(identity))
    }

    /// Journals and runs `argv` in the workspace as job `job`, like the engine.
    pub fn run(&self, job: i64, argv: &[&str]) -> Plan {
        let plan = self.plan(argv);
        let ctx = EntryContext {
            job_id: Some(job),
            step: Some(1),
            action: Some(0),
            summary: serde_json::json!({"run": argv}),
        };
        let pending = self.journal.begin(&ctx, &plan, &self.audit).unwrap();
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(&self.ws)
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{argv:?} failed");
        if let Some(p) = pending {
            self.journal.finish(p).unwrap();
        }
        plan
    }

    pub fn undo(&self, selection: Selection, force: bool) -> Result<UndoReport, UndoError> {
        leash_undo::undo(
            &self.journal,
            &self.audit,
            selection,
            &UndoOptions {
                dry_run: false,
                force,
                roots: vec![self.ws.clone()],
            },
        )
    }

    pub fn tree_hash(&self) -> String {
        tree_hash(&self.ws)
    }
}

/// A hash of a directory tree: every name (bytes), kind, mode, a file's
/// content and modification time, a directory's modification time, a
/// symlink's target.
pub fn tree_hash(root: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut stack = vec![PathBuf::new()];
    let mut lines = Vec::new();
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        for name in names {
            let child = rel.join(&name);
            let path = root.join(&child);
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mut line = child.as_os_str().as_bytes().to_vec();
            line.extend_from_slice(format!(" {:o}", meta.permissions().mode()).as_bytes());
            if meta.file_type().is_symlink() {
                line.extend_from_slice(std::fs::read_link(&path).unwrap().as_os_str().as_bytes());
            } else if meta.is_file() {
                line.extend_from_slice(&Sha256::digest(std::fs::read(&path).unwrap()));
                line.extend_from_slice(
                    format!(" {}.{}", meta.mtime(), meta.mtime_nsec()).as_bytes(),
                );
            } else if meta.is_dir() {
                line.extend_from_slice(
                    format!(" {}.{}", meta.mtime(), meta.mtime_nsec()).as_bytes(),
                );
                stack.push(child);
            }
            lines.push(line);
        }
    }
    lines.sort();
    for line in lines {
        hasher.update(&line);
        hasher.update(b"\0");
    }
    hex::encode(hasher.finalize())
}

pub fn reversible(plan: &Plan) {
    assert_eq!(plan.class, Reversibility::Reversible, "{plan:?}");
}
