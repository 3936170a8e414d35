//! Appending lines to the JSONL mirror, with size-based rotation.
//!
//! Every method is called with the database's write lock held (inside
//! `BEGIN IMMEDIATE`), so only one writer in any process touches the files at a
//! time. Another process may have rotated the active file since our last append,
//! so each append first checks that our open handle is still the file at the
//! active path (same device and inode) and reopens it if not.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::durability::{BATCH_INTERVAL, BATCH_RECORDS, Durability};
use crate::error::{StoreError, io_error};
use crate::mirror_files::{rotated_files, rotated_path};

/// The writer of one mirror.
#[derive(Debug)]
pub(crate) struct MirrorWriter {
    path: PathBuf,
    rotate_bytes: u64,
    durability: Durability,
    open: Option<OpenMirror>,
    unsynced: u32,
    last_sync: Instant,
}

#[derive(Debug)]
struct OpenMirror {
    file: File,
    dev: u64,
    ino: u64,
}

/// Enough to take back a line whose database insert failed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MirrorUndo {
    dev: u64,
    ino: u64,
    len_before: u64,
}

impl MirrorWriter {
    /// A writer for the mirror at `path`; `rotate_bytes == 0` never rotates.
    pub(crate) fn new(path: PathBuf, rotate_bytes: u64, durability: Durability) -> MirrorWriter {
        MirrorWriter {
            path,
            rotate_bytes,
            durability,
            open: None,
            unsynced: 0,
            last_sync: Instant::now(),
        }
    }

    /// The active file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (without its newline); see [`MirrorWriter::append_lines`].
    pub(crate) fn append(&mut self, line: &str) -> Result<MirrorUndo, StoreError> {
        self.append_lines(std::slice::from_ref(&line))
    }

    /// Appends lines (each without its newline) in a single write, rotating
    /// first if the active file would grow past the limit — once, so the lines
    /// of one group always land in one file. Nothing is fsynced here: the
    /// caller calls [`MirrorWriter::before_commit`] once for the whole group,
    /// before its database commit.
    pub(crate) fn append_lines<S: AsRef<str>>(
        &mut self,
        lines: &[S],
    ) -> Result<MirrorUndo, StoreError> {
        let total: usize = lines.iter().map(|line| line.as_ref().len() + 1).sum();
        let mut bytes = Vec::with_capacity(total);
        for line in lines {
            bytes.extend_from_slice(line.as_ref().as_bytes());
            bytes.push(b'\n');
        }
        self.ensure_current()?;
        let mut len_before = self.current_len()?;
        if self.rotate_bytes > 0
            && len_before > 0
            && len_before.saturating_add(bytes.len() as u64) > self.rotate_bytes
        {
            self.rotate()?;
            len_before = 0;
        }
        let path = self.path.clone();
        let open = self.open_mut()?;
        let undo = MirrorUndo {
            dev: open.dev,
            ino: open.ino,
            len_before,
        };
        if let Err(err) = open.file.write_all(&bytes) {
            // Take back a partial line so the file never holds half a record
            // that we know about.
            let _ = open.file.set_len(len_before);
            return Err(io_error("cannot append to audit mirror", &path)(err));
        }
        self.unsynced = self
            .unsynced
            .saturating_add(u32::try_from(lines.len()).unwrap_or(u32::MAX));
        Ok(undo)
    }

    /// Called once per transaction, after its lines are written and before the
    /// database commit: in `Fsync` mode the lines are on stable storage when
    /// this returns (so the mirror can only ever be *ahead* of the database).
    pub(crate) fn before_commit(&mut self) -> Result<(), StoreError> {
        match self.durability {
            Durability::Fsync if self.unsynced > 0 => self.sync(),
            Durability::Fsync | Durability::Batched => Ok(()),
        }
    }

    /// Removes the lines `append_lines` wrote, after their database insert failed.
    pub(crate) fn undo(&mut self, undo: MirrorUndo) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if open.dev != undo.dev || open.ino != undo.ino {
            return;
        }
        if let Err(err) = open.file.set_len(undo.len_before) {
            tracing::error!(
                mirror = %self.path.display(),
                error = %err,
                "could not take back an audit mirror line whose database insert failed; \
                 the next open will adopt or report it"
            );
        }
    }

    /// Called after the database commit: in `Batched` mode, fsyncs when enough
    /// records or time have gone by.
    pub(crate) fn committed(&mut self) -> Result<(), StoreError> {
        match self.durability {
            Durability::Fsync => Ok(()),
            Durability::Batched => {
                if self.unsynced >= BATCH_RECORDS || self.last_sync.elapsed() >= BATCH_INTERVAL {
                    self.sync()
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Fsyncs whatever has been written.
    pub(crate) fn sync(&mut self) -> Result<(), StoreError> {
        if let Some(open) = self.open.as_mut() {
            open.file
                .sync_data()
                .map_err(io_error("cannot fsync audit mirror", &self.path))?;
        }
        self.unsynced = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Makes `self.open` the file currently at `self.path`, creating it (and its
    /// directory, mode 0700) if needed.
    fn ensure_current(&mut self) -> Result<(), StoreError> {
        let on_disk = match std::fs::metadata(&self.path) {
            Ok(meta) => Some((meta.dev(), meta.ino())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => return Err(io_error("cannot stat audit mirror", &self.path)(err)),
        };
        if let (Some(open), Some((dev, ino))) = (&self.open, on_disk)
            && open.dev == dev
            && open.ino == ino
        {
            return Ok(());
        }
        // Our handle is stale (rotated or removed by someone else) or absent.
        if let Some(mut stale) = self.open.take() {
            let _ = stale.file.flush();
            let _ = stale.file.sync_data();
        }
        let created = on_disk.is_none();
        if created && let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io_error("cannot create audit mirror directory", parent))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(io_error("cannot open audit mirror", &self.path))?;
        let meta = file
            .metadata()
            .map_err(io_error("cannot stat audit mirror", &self.path))?;
        self.open = Some(OpenMirror {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
        });
        if created {
            self.sync_directory()?;
        }
        Ok(())
    }

    fn open_mut(&mut self) -> Result<&mut OpenMirror, StoreError> {
        let path = self.path.clone();
        self.open.as_mut().ok_or_else(|| StoreError::Io {
            action: "audit mirror is not open",
            path,
            source: std::io::Error::other("no handle"),
        })
    }

    fn current_len(&mut self) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let open = self.open_mut()?;
        Ok(open
            .file
            .metadata()
            .map_err(io_error("cannot stat audit mirror", &path))?
            .len())
    }

    /// Renames the active file to the next rotation number and starts a new one.
    /// The old file is fsynced first so the chain across files is durable.
    fn rotate(&mut self) -> Result<(), StoreError> {
        self.sync()?;
        let next = rotated_files(&self.path)?
            .last()
            .and_then(|file| file.rotation)
            .unwrap_or(0)
            + 1;
        let target = rotated_path(&self.path, next);
        std::fs::rename(&self.path, &target)
            .map_err(io_error("cannot rotate audit mirror", &self.path))?;
        tracing::info!(mirror = %self.path.display(), rotated_to = %target.display(), "rotated audit mirror");
        self.open = None;
        self.sync_directory()?;
        self.ensure_current()
    }

    /// Makes a create or rename in the mirror's directory durable.
    fn sync_directory(&self) -> Result<(), StoreError> {
        let dir = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)
            .and_then(|handle| handle.sync_all())
            .map_err(io_error("cannot fsync audit mirror directory", &dir))
    }
}

impl Drop for MirrorWriter {
    fn drop(&mut self) {
        if self.unsynced > 0
            && let Err(err) = self.sync()
        {
            tracing::warn!(error = %err, "could not fsync the audit mirror on close");
        }
    }
}
