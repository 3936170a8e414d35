//! A snapshot of one write target: what was at the path (and, for a
//! recursive target, below it), never following a symlink. Names are kept as
//! hex bytes, so a name with a newline or invalid UTF-8 round-trips exactly.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::UndoError;
use crate::objects::{ObjectStore, hash_reader};

/// How a file's content is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// sha256 of the content; a pre-image keeps it in the object store.
    Hash(String),
    /// A hard link in the object store to the original inode (big files).
    Link(String),
    /// Identity without reading (big files, after-images): `dev:ino:size`.
    Stat(String),
}

/// What one path was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryState {
    /// Nothing was at the path (undo removes what the action created).
    Missing,
    /// A regular file.
    File {
        /// Permission bits (`st_mode & 0o7777`).
        mode: u32,
        /// Size in bytes.
        size: u64,
        /// Modification time, seconds since the epoch.
        mtime_s: i64,
        /// Modification time, nanoseconds within the second.
        mtime_ns: i64,
        /// Its content, or how it is identified.
        content: Content,
    },
    /// A directory (its entries are separate keys of the [`Snapshot`]).
    Dir {
        /// Permission bits.
        mode: u32,
        /// Modification time (s, ns), so undo can put back the time of a
        /// directory inside a recursive target (`tar -x`, `mv DIR`). Not
        /// compared: restoring entries below a directory changes it, and
        /// entries journaled before it was recorded have none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mtime: Option<(i64, i64)>,
    },
    /// A symbolic link, kept as its target text; never followed.
    Symlink {
        /// hex bytes of the link's target.
        target: String,
    },
    /// A fifo, socket or device: recorded, never restored.
    Other {
        /// The file-type and permission bits, to tell one special file from another.
        mode: u32,
    },
}

impl EntryState {
    fn kind(&self) -> &'static str {
        match self {
            EntryState::Missing => "missing",
            EntryState::File { .. } => "a file",
            EntryState::Dir { .. } => "a directory",
            EntryState::Symlink { .. } => "a symlink",
            EntryState::Other { .. } => "a special file",
        }
    }

    /// How `self` (what is there now) differs from `then`, if it does.
    pub fn differs_from(&self, then: &EntryState) -> Option<String> {
        match (then, self) {
            (
                EntryState::File {
                    mode: m1,
                    size: s1,
                    mtime_s: t1,
                    mtime_ns: n1,
                    content: c1,
                },
                EntryState::File {
                    mode: m2,
                    size: s2,
                    mtime_s: t2,
                    mtime_ns: n2,
                    content: c2,
                },
            ) => {
                if s1 != s2 || !same_content(c1, c2) {
                    Some(format!("content differs ({s1} bytes then, {s2} now)"))
                } else if m1 != m2 {
                    Some(format!("mode {m1:o} then, {m2:o} now"))
                } else if (t1, n1) != (t2, n2) {
                    Some("modification time differs (rewritten or recreated)".to_owned())
                } else {
                    None
                }
            }
            (EntryState::Dir { mode: m1, .. }, EntryState::Dir { mode: m2, .. }) => {
                (m1 != m2).then(|| format!("directory mode {m1:o} then, {m2:o} now"))
            }
            (EntryState::Symlink { target: a }, EntryState::Symlink { target: b }) => {
                (a != b).then(|| "the symlink points elsewhere".to_owned())
            }
            (EntryState::Other { mode: a }, EntryState::Other { mode: b }) => {
                (a != b).then(|| "a different special file".to_owned())
            }
            (EntryState::Missing, EntryState::Missing) => None,
            (then, now) => Some(format!("was {}, now {}", then.kind(), now.kind())),
        }
    }
}

fn same_content(a: &Content, b: &Content) -> bool {
    match (a, b) {
        (Content::Hash(x), Content::Hash(y)) | (Content::Stat(x), Content::Stat(y)) => x == y,
        (Content::Link(_), _) | (_, Content::Link(_)) => false,
        (Content::Hash(_), Content::Stat(_)) | (Content::Stat(_), Content::Hash(_)) => false,
    }
}

/// Everything at (and below) one target. `entries` is keyed by the hex bytes
/// of the path relative to the target (`""` is the target itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Each path's state, keyed as above.
    pub entries: BTreeMap<String, EntryState>,
    /// The modification time (s, ns) of the directory holding the target,
    /// so undo can put it back after recreating or removing the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_mtime: Option<(i64, i64)>,
}

/// How a capture treats file contents.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Capture<'a> {
    /// Save contents in the store (a pre-image); files over `max_file` are
    /// hard-linked when `link_ok`, else the capture fails. With `link_any`
    /// (the action writes a new inode over the file) a file that has no
    /// other name is hard-linked whatever its size: no copy, no hash.
    Save {
        objects: &'a ObjectStore,
        max_file: u64,
        link_ok: bool,
        link_any: bool,
    },
    /// Only identify contents (after-images, checks): hash files up to
    /// `max_file`, identify bigger ones by inode.
    Observe { max_file: u64 },
}

pub(crate) fn rel_key(rel: &Path) -> String {
    hex::encode(rel.as_os_str().as_bytes())
}

pub(crate) fn rel_path(key: &str) -> Result<PathBuf, hex::FromHexError> {
    hex::decode(key).map(|bytes| PathBuf::from(OsStr::from_bytes(&bytes)))
}

fn mode_of(meta: &Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

fn stat_id(meta: &Metadata) -> String {
    format!("{}:{}:{}", meta.dev(), meta.ino(), meta.len())
}

fn entry(path: &Path, meta: &Metadata, how: Capture<'_>) -> Result<EntryState, UndoError> {
    let ft = meta.file_type();
    Ok(if ft.is_symlink() {
        let target =
            std::fs::read_link(path).map_err(UndoError::io("cannot read the link", path))?;
        EntryState::Symlink {
            target: hex::encode(target.as_os_str().as_bytes()),
        }
    } else if ft.is_dir() {
        EntryState::Dir {
            mode: mode_of(meta),
            mtime: Some((meta.mtime(), meta.mtime_nsec())),
        }
    } else if ft.is_file() {
        let content = match how {
            Capture::Save {
                objects,
                max_file,
                link_ok,
                link_any,
            } => {
                // A second name (nlink > 1) could write the inode later, so
                // only a sole name is kept by link; a link that fails (another
                // filesystem after all) falls back to the copy.
                let linked = (link_any && meta.nlink() == 1)
                    .then(|| objects.link_file(path))
                    .and_then(Result::ok);
                if let Some(name) = linked {
                    Content::Link(name)
                } else if meta.len() <= max_file {
                    Content::Hash(objects.put_file(path)?)
                } else if link_ok {
                    Content::Link(objects.link_file(path)?)
                } else {
                    return Err(UndoError::Io {
                        what: "is too big to journal (undo.max_file_mb):",
                        path: path.to_path_buf(),
                        source: std::io::Error::from(std::io::ErrorKind::FileTooLarge),
                    });
                }
            }
            Capture::Observe { max_file } if meta.len() <= max_file => {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags_nofollow()
                    .open(path)
                    .map_err(UndoError::io("cannot open", path))?;
                Content::Hash(hash_reader(file).map_err(UndoError::io("cannot hash", path))?)
            }
            Capture::Observe { .. } => Content::Stat(stat_id(meta)),
        };
        EntryState::File {
            mode: mode_of(meta),
            size: meta.len(),
            mtime_s: meta.mtime(),
            mtime_ns: meta.mtime_nsec(),
            content,
        }
    } else {
        EntryState::Other { mode: meta.mode() }
    })
}

trait NoFollow {
    fn custom_flags_nofollow(&mut self) -> &mut Self;
}

impl NoFollow for std::fs::OpenOptions {
    fn custom_flags_nofollow(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
    }
}

/// Captures `target` (and everything below it when `recursive` and it is a
/// directory), never following a symlink.
pub(crate) fn capture(
    target: &Path,
    recursive: bool,
    how: Capture<'_>,
) -> Result<Snapshot, UndoError> {
    let mut snap = Snapshot {
        parent_mtime: target
            .parent()
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .filter(Metadata::is_dir)
            .map(|m| (m.mtime(), m.mtime_nsec())),
        ..Snapshot::default()
    };
    let meta = match std::fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            snap.entries.insert(String::new(), EntryState::Missing);
            return Ok(snap);
        }
        Err(err) => {
            return Err(UndoError::Io {
                what: "cannot stat the target",
                path: target.to_path_buf(),
                source: err,
            });
        }
    };
    snap.entries
        .insert(String::new(), entry(target, &meta, how)?);
    if recursive && meta.file_type().is_dir() {
        walk(target, Path::new(""), how, &mut snap)?;
    }
    Ok(snap)
}

fn walk(root: &Path, rel: &Path, how: Capture<'_>, snap: &mut Snapshot) -> Result<(), UndoError> {
    let dir = root.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(UndoError::io("cannot list", &dir))?;
    for item in entries {
        let item = item.map_err(UndoError::io("cannot list", &dir))?;
        let child_rel = rel.join(item.file_name());
        let path = root.join(&child_rel);
        let meta = std::fs::symlink_metadata(&path).map_err(UndoError::io("cannot stat", &path))?;
        snap.entries
            .insert(rel_key(&child_rel), entry(&path, &meta, how)?);
        if meta.file_type().is_dir() {
            walk(root, &child_rel, how, snap)?;
        }
    }
    Ok(())
}

/// Bytes a pre-image of `target` would add (regular files up to `max_file`),
/// and the files over it.
pub(crate) fn estimate(
    target: &Path,
    recursive: bool,
    max_file: u64,
) -> Result<(u64, Vec<PathBuf>), UndoError> {
    let mut bytes = 0u64;
    let mut big = Vec::new();
    let mut visit = |path: &Path, meta: &Metadata| {
        if meta.file_type().is_file() {
            if meta.len() <= max_file {
                bytes = bytes.saturating_add(meta.len());
            } else {
                big.push(path.to_path_buf());
            }
        }
    };
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok((0, big));
    };
    visit(target, &meta);
    if recursive && meta.file_type().is_dir() {
        let mut stack = vec![target.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for item in std::fs::read_dir(&dir).map_err(UndoError::io("cannot list", &dir))? {
                let item = item.map_err(UndoError::io("cannot list", &dir))?;
                let path = item.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                visit(&path, &meta);
                if meta.file_type().is_dir() {
                    stack.push(path);
                }
            }
        }
    }
    Ok((bytes, big))
}
