//! The pre-image store: file contents kept content-addressed (sha256) in a
//! private directory of the state dir, so the same content is kept once
//! however many actions journal it. Files too big to copy are kept as a hard
//! link to the original inode instead (only where the action replaces the
//! file rather than rewriting it in place, so the linked inode keeps the old
//! content).
//!
//! A copy is made first and hashed second: the hash is of leash's own private
//! copy, so a writer racing the journal cannot make content and name disagree.
//!
//! Objects are not fsynced one by one: [`ObjectStore::sync`] makes everything
//! written so far durable with one `syncfs`, which the journal calls once per
//! action before it commits the entry (an fsync costs milliseconds on flash;
//! a file and its directory per pre-image would double the cost per target).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::UndoError;

/// Where pre-images live: `<dir>/ab/<sha256>` and `<dir>/links/<name>`.
#[derive(Debug)]
pub struct ObjectStore {
    dir: PathBuf,
    /// Bytes in the store, computed once and kept up to date by this process.
    usage: Mutex<Option<u64>>,
    counter: AtomicU64,
}

/// Whether an object name is a hard link (not content-addressed).
pub(crate) fn is_link_object(name: &str) -> bool {
    name.starts_with("links/")
}

/// Creates `dir` (and parents) with mode 0700, and makes it 0700 if it exists.
pub(crate) fn private_dir(dir: &Path) -> Result<(), UndoError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(UndoError::io("cannot create the directory", dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(UndoError::io("cannot make private", dir))
}

/// fsyncs a directory, so a rename or link in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), UndoError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(UndoError::io("cannot fsync the directory", dir))
}

/// sha256 of everything `reader` yields, as hex.
pub(crate) fn hash_reader(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl ObjectStore {
    /// Opens (creating, mode 0700) the store at `dir`.
    pub fn open(dir: &Path) -> Result<ObjectStore, UndoError> {
        private_dir(dir)?;
        private_dir(&dir.join("links"))?;
        Ok(ObjectStore {
            dir: dir.to_path_buf(),
            usage: Mutex::new(None),
            counter: AtomicU64::new(0),
        })
    }

    /// The store's directory (mode 0700).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding object `name`.
    pub fn path_of(&self, name: &str) -> PathBuf {
        if is_link_object(name) {
            return self.dir.join(name);
        }
        let prefix = name.get(..2).unwrap_or("00");
        self.dir.join(prefix).join(name)
    }

    /// The device the store is on (a hard link only works within one).
    pub fn device(&self) -> Result<u64, UndoError> {
        std::fs::metadata(&self.dir)
            .map(|m| m.dev())
            .map_err(UndoError::io("cannot stat", &self.dir))
    }

    fn temp_name(&self, what: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join(format!(".{what}-{}-{n}.tmp", std::process::id()))
    }

    /// Copies the regular file at `path` into the store; returns its hash.
    /// Durable (file and directory fsynced) when this returns.
    pub fn put_file(&self, path: &Path) -> Result<String, UndoError> {
        let tmp = self.temp_name("put");
        let result = self.put_file_via(path, &tmp);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn put_file_via(&self, path: &Path, tmp: &Path) -> Result<String, UndoError> {
        let mut src = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(UndoError::io("cannot open the target", path))?;
        let is_file = src
            .metadata()
            .map_err(UndoError::io("cannot stat the target", path))?
            .is_file();
        if !is_file {
            return Err(UndoError::Io {
                what: "is no longer a regular file:",
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        let mut copy = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
            .map_err(UndoError::io("cannot create a pre-image", tmp))?;
        // `io::copy` between files uses copy_file_range: in-kernel, and a
        // reflink on filesystems that share extents.
        let bytes = std::io::copy(&mut src, &mut copy)
            .map_err(UndoError::io("cannot copy the pre-image of", path))?;
        let hash = {
            let reader = File::open(tmp).map_err(UndoError::io("cannot reopen", tmp))?;
            hash_reader(reader).map_err(UndoError::io("cannot hash", tmp))?
        };
        let dest = self.path_of(&hash);
        if dest.exists() {
            // Deduplicated: the same content is already kept.
            std::fs::remove_file(tmp).map_err(UndoError::io("cannot remove", tmp))?;
            return Ok(hash);
        }
        let parent = dest.parent().unwrap_or(&self.dir).to_path_buf();
        private_dir(&parent)?;
        std::fs::rename(tmp, &dest).map_err(UndoError::io("cannot store the pre-image", &dest))?;
        self.add_usage(bytes);
        Ok(hash)
    }

    /// Keeps the inode of `path` by a hard link in the store (no copy).
    pub fn link_file(&self, path: &Path) -> Result<String, UndoError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let stamp = jiff::Timestamp::now().as_nanosecond();
        let name = format!("links/{stamp}-{}-{n}", std::process::id());
        let dest = self.dir.join(&name);
        std::fs::hard_link(path, &dest).map_err(UndoError::io("cannot hard-link", path))?;
        // link(2) does not follow a symlink at `path`: if one was swapped in
        // after the caller's lstat, the store now holds the symlink itself.
        // Keep only a regular file (the file the caller saw, by inode).
        let linked =
            std::fs::symlink_metadata(&dest).map_err(UndoError::io("cannot stat", &dest))?;
        let expected = std::fs::symlink_metadata(path).ok();
        let same = linked.is_file()
            && expected.is_some_and(|m| m.dev() == linked.dev() && m.ino() == linked.ino());
        if !same {
            let _ = std::fs::remove_file(&dest);
            return Err(UndoError::Io {
                what: "changed while it was journaled:",
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
            });
        }
        self.add_usage(linked.len());
        Ok(name)
    }

    /// Turns a small pre-image kept by hard link into a content-addressed
    /// one (hash later, off the action's path): returns its hash. The link
    /// must still hold `size` bytes as a regular file — a link whose inode
    /// was written through another name no longer holds the pre-image.
    pub fn hash_link(&self, name: &str, size: u64) -> Result<String, UndoError> {
        let path = self.path_of(name);
        let meta = std::fs::symlink_metadata(&path).map_err(|source| {
            self.object_error("cannot stat the pre-image", name, &path, source)
        })?;
        if !meta.is_file() || meta.len() != size {
            return Err(UndoError::Io {
                what: "a pre-image kept by hard link was changed since:",
                path,
                source: std::io::Error::from(std::io::ErrorKind::InvalidData),
            });
        }
        self.put_file(&path)
    }

    /// A missing object is named as such; any other failure as I/O.
    fn object_error(
        &self,
        what: &'static str,
        name: &str,
        path: &Path,
        source: std::io::Error,
    ) -> UndoError {
        if source.kind() == std::io::ErrorKind::NotFound {
            UndoError::MissingObject {
                hash: name.to_owned(),
                dir: self.dir.clone(),
            }
        } else {
            UndoError::Io {
                what,
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// Opens object `name` for reading.
    pub fn open_object(&self, name: &str) -> Result<File, UndoError> {
        let path = self.path_of(name);
        File::open(&path)
            .map_err(|source| self.object_error("cannot open the pre-image", name, &path, source))
    }

    fn add_usage(&self, bytes: u64) {
        if let Ok(mut usage) = self.usage.lock()
            && let Some(total) = usage.as_mut()
        {
            *total = total.saturating_add(bytes);
        }
    }

    /// Bytes the store holds (content objects; links share their inode with
    /// a file that was replaced, and are counted too).
    pub fn usage(&self) -> Result<u64, UndoError> {
        let mut usage = self.usage.lock().map_err(|_| UndoError::Poisoned)?;
        if let Some(total) = *usage {
            return Ok(total);
        }
        let total = self
            .list()?
            .iter()
            .map(|(_, size)| *size)
            .fold(0u64, u64::saturating_add);
        *usage = Some(total);
        Ok(total)
    }

    /// Every object: (name, size).
    pub fn list(&self) -> Result<Vec<(String, u64)>, UndoError> {
        let mut out = Vec::new();
        let entries =
            std::fs::read_dir(&self.dir).map_err(UndoError::io("cannot list", &self.dir))?;
        for entry in entries {
            let entry = entry.map_err(UndoError::io("cannot list", &self.dir))?;
            let sub = entry.path();
            let Some(prefix) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !sub.is_dir() || prefix.starts_with('.') {
                continue;
            }
            for object in std::fs::read_dir(&sub).map_err(UndoError::io("cannot list", &sub))? {
                let object = object.map_err(UndoError::io("cannot list", &sub))?;
                let Some(name) = object.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let size = object.metadata().map(|m| m.len()).unwrap_or(0);
                let full = if prefix == "links" {
                    format!("links/{name}")
                } else {
                    name
                };
                out.push((full, size));
            }
        }
        Ok(out)
    }

    /// When object `name` was last written or linked (its inode's change
    /// time), or `None` when it cannot be read.
    pub fn changed_at(&self, name: &str) -> Option<std::time::SystemTime> {
        let meta = std::fs::symlink_metadata(self.path_of(name)).ok()?;
        let secs = u64::try_from(meta.ctime()).ok()?;
        let nanos = u32::try_from(meta.ctime_nsec()).ok()?;
        std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
    }

    /// Removes object `name` (pruning).
    pub fn remove(&self, name: &str) -> Result<u64, UndoError> {
        let path = self.path_of(name);
        let size = std::fs::symlink_metadata(&path)
            .map(|m| m.len())
            .unwrap_or(0);
        std::fs::remove_file(&path).map_err(UndoError::io("cannot remove", &path))?;
        if let Ok(mut usage) = self.usage.lock()
            && let Some(total) = usage.as_mut()
        {
            *total = total.saturating_sub(size);
        }
        Ok(size)
    }

    /// Makes every object written so far durable (one `syncfs` of the
    /// store's filesystem: contents and directory entries alike).
    pub fn sync(&self) -> Result<(), UndoError> {
        let dir = File::open(&self.dir).map_err(UndoError::io("cannot open", &self.dir))?;
        nix::unistd::syncfs(&dir).map_err(|errno| UndoError::Io {
            what: "cannot sync the filesystem of",
            path: self.dir.clone(),
            source: std::io::Error::from(errno),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_is_kept_once_in_a_private_dir() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(&dir.path().join("objects")).unwrap();
        let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(dir.path().join("a"), "same").unwrap();
        std::fs::write(dir.path().join("b"), "same").unwrap();
        let a = store.put_file(&dir.path().join("a")).unwrap();
        let b = store.put_file(&dir.path().join("b")).unwrap();
        assert_eq!(a, b);
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(std::fs::read(store.path_of(&a)).unwrap(), b"same");
        let mode = std::fs::metadata(store.path_of(&a))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_symlink_is_never_followed_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(&dir.path().join("objects")).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink("secret", dir.path().join("link")).unwrap();
        assert!(store.put_file(&dir.path().join("link")).is_err());
    }
}
