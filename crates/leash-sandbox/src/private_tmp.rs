//! The per-run private temporary directory: created (mode 0700) under the
//! spec's `tmp_base`, given to the child as `TMPDIR` and as a Landlock write
//! root, removed with everything in it when the run ends.

use std::io;
use std::path::{Path, PathBuf};

use crate::spec::RunAs;

/// An existing private tmp; dropping it removes the directory tree.
#[derive(Debug)]
pub struct PrivateTmp {
    path: PathBuf,
}

impl PrivateTmp {
    /// Creates `base/leash-run-XXXXXX` with `mkdtemp` (unique, mode 0700), owned
    /// by `run_as` when given.
    pub fn create(base: &Path, run_as: Option<RunAs>) -> io::Result<PrivateTmp> {
        let path = nix::unistd::mkdtemp(&base.join("leash-run-XXXXXX")).map_err(io::Error::from)?;
        let tmp = PrivateTmp { path };
        if let Some(owner) = run_as {
            std::os::unix::fs::chown(&tmp.path, Some(owner.uid), Some(owner.gid))?;
        }
        Ok(tmp)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateTmp {
    fn drop(&mut self) {
        // remove_dir_all does not follow symlinks the child may have planted.
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "removing the private tmp failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_and_removed_on_drop() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let tmp = PrivateTmp::create(base.path(), None).unwrap();
        let path = tmp.path().to_path_buf();
        assert!(path.starts_with(base.path()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::create_dir(path.join("sub")).unwrap();
        std::fs::write(path.join("sub/f"), b"x").unwrap();
        drop(tmp);
        assert!(!path.exists());
    }

    #[test]
    fn missing_base_is_an_error() {
        let base = tempfile::tempdir().unwrap();
        assert!(PrivateTmp::create(&base.path().join("nope"), None).is_err());
    }
}
