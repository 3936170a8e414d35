//! What an approval is bound to: a person approves *what will run*, not a
//! string. Recorded when the request is made and compared again just before
//! the child is spawned: the argv, the canonical cwd, the program file and
//! its content hash, the child's environment (hashed), and the content hash
//! of every argument that names an existing regular file (a superset of the
//! scripts and programs an interpreter will run: `python3 x.py`,
//! `make -f M`, `sh s.sh`). Anything different means the approval is void
//! and nothing runs.
//!
//! The window between this last check and `execve` is not closed (that
//! would need `fexecve` of an already-open, hashed file); it is
//! microseconds instead of the minutes a person takes to answer.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Files larger than this are bound by size and modification time, not content.
const MAX_HASHED_BYTES: u64 = 64 * 1024 * 1024;
/// At most this many argument files are bound (the rest of a huge argv is
/// still bound by its text).
const MAX_BOUND_FILES: usize = 64;

/// One file an approval covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundFile {
    /// Canonical path.
    pub path: PathBuf,
    /// `sha256:HEX`, or `size:N,mtime:NS` for very large files, or
    /// `unreadable` (which never equals a later readable state).
    pub digest: String,
}

/// Everything one approval covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalBinding {
    /// The argv as approved.
    pub argv: Vec<String>,
    /// The working directory, canonical.
    pub cwd: PathBuf,
    /// The resolved program file, canonical.
    pub program: PathBuf,
    /// The program file's digest (as [`BoundFile::digest`]).
    pub program_digest: String,
    /// sha256 of the sorted `NAME=VALUE` list the child gets.
    pub env_sha256: String,
    /// Scripts and other files the command reads as code, with their digests.
    pub files: Vec<BoundFile>,
}

impl ApprovalBinding {
    /// Binds `argv` run as `program` in `cwd` with `env`.
    pub fn bind(
        argv: &[String],
        cwd: &Path,
        program: &Path,
        env: &[(OsString, OsString)],
    ) -> ApprovalBinding {
        let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
        let mut files: Vec<BoundFile> = Vec::new();
        for arg in argv.iter().skip(1) {
            if files.len() >= MAX_BOUND_FILES {
                break;
            }
            let word = match arg.split_once('=') {
                Some((option, value)) if option.starts_with('-') => value,
                Some(_) | None => arg.as_str(),
            };
            if word.is_empty() {
                continue;
            }
            let Ok(path) = std::fs::canonicalize(cwd.join(word)) else {
                continue;
            };
            if path.is_file() && !files.iter().any(|f| f.path == path) {
                let digest = file_digest(&path);
                files.push(BoundFile { path, digest });
            }
        }
        let mut pairs: Vec<Vec<u8>> = env
            .iter()
            .map(|(k, v)| {
                let mut pair = k.as_encoded_bytes().to_vec();
                pair.push(b'=');
                pair.extend_from_slice(v.as_encoded_bytes());
                pair
            })
            .collect();
        pairs.sort();
        let mut hasher = Sha256::new();
        for pair in &pairs {
            hasher.update(pair);
            hasher.update([0u8]);
        }
        ApprovalBinding {
            argv: argv.to_vec(),
            cwd,
            program: program.to_path_buf(),
            program_digest: file_digest(program),
            env_sha256: hex::encode(hasher.finalize()),
            files,
        }
    }

    /// What differs between the approved binding (`self`) and `now`, in
    /// words a person can read; empty when they are the same.
    pub fn changes(&self, now: &ApprovalBinding) -> Vec<String> {
        let mut changes = Vec::new();
        if self.argv != now.argv {
            changes.push("the argv changed".to_owned());
        }
        if self.cwd != now.cwd {
            changes.push(format!(
                "the working directory now resolves to {}",
                now.cwd.display()
            ));
        }
        if self.program != now.program || self.program_digest != now.program_digest {
            changes.push(format!(
                "the program file {} changed",
                now.program.display()
            ));
        }
        if self.env_sha256 != now.env_sha256 {
            changes.push("the environment the child gets changed".to_owned());
        }
        for file in &self.files {
            match now.files.iter().find(|f| f.path == file.path) {
                Some(later) if later.digest == file.digest => {}
                Some(_) => changes.push(format!("the file {} changed", file.path.display())),
                None => changes.push(format!(
                    "the file {} is gone or no longer a file",
                    file.path.display()
                )),
            }
        }
        for file in &now.files {
            if !self.files.iter().any(|f| f.path == file.path) {
                changes.push(format!(
                    "an argument now names the file {}",
                    file.path.display()
                ));
            }
        }
        changes
    }
}

/// The digest of one file (see [`BoundFile::digest`]).
fn file_digest(path: &Path) -> String {
    let Ok(meta) = std::fs::metadata(path) else {
        return "unreadable".to_owned();
    };
    if meta.len() > MAX_HASHED_BYTES {
        use std::os::unix::fs::MetadataExt;
        return format!(
            "size:{},mtime:{}.{},ino:{}",
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ino()
        );
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return "unreadable".to_owned();
    };
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(_) => return "unreadable".to_owned(),
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// Class `approval-binding-drift`: each thing an approval covers, changed
    /// after the approval, is noticed and named.
    #[test]
    fn every_bound_part_is_compared() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::fs::write(ws.join("s.py"), "print('hi')").unwrap();
        std::fs::write(ws.join("prog"), "v1").unwrap();
        let env = vec![(OsString::from("PATH"), OsString::from("/usr/bin"))];
        let args = argv(&["python3", "s.py"]);
        let bound = ApprovalBinding::bind(&args, &ws, &ws.join("prog"), &env);
        assert_eq!(bound.files.len(), 1);
        assert!(
            bound
                .changes(&ApprovalBinding::bind(&args, &ws, &ws.join("prog"), &env))
                .is_empty()
        );

        std::fs::write(ws.join("s.py"), "import os; os.system('evil')").unwrap();
        let now = ApprovalBinding::bind(&args, &ws, &ws.join("prog"), &env);
        assert!(bound.changes(&now).iter().any(|c| c.contains("s.py")));
        std::fs::write(ws.join("s.py"), "print('hi')").unwrap();

        std::fs::write(ws.join("prog"), "v2").unwrap();
        let now = ApprovalBinding::bind(&args, &ws, &ws.join("prog"), &env);
        assert!(bound.changes(&now).iter().any(|c| c.contains("program")));
        std::fs::write(ws.join("prog"), "v1").unwrap();

        let other_env = vec![(OsString::from("PATH"), OsString::from("/tmp"))];
        let now = ApprovalBinding::bind(&args, &ws, &ws.join("prog"), &other_env);
        assert!(
            bound
                .changes(&now)
                .iter()
                .any(|c| c.contains("environment"))
        );

        std::fs::remove_file(ws.join("s.py")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", ws.join("s.py")).unwrap();
        let now = ApprovalBinding::bind(&args, &ws, &ws.join("prog"), &env);
        assert!(!bound.changes(&now).is_empty(), "a swap to a symlink");
    }
}
