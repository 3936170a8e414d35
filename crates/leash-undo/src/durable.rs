//! One sync before the change: the pre-images (copies and hard links), the
//! journal entry (a SQLite WAL commit made without fsync) and the action's
//! own new file are made durable together, by one `syncfs` per filesystem
//! they live on — usually one, which costs what the single fsync of an
//! unjournaled atomic write costs. Per-file fsyncs would cost one jbd2
//! commit each (a file, its directory, the WAL: three on ext4).
//!
//! The trade-off: `syncfs` also flushes other dirty data on that filesystem.
//! On a device with a busy writer elsewhere on the same filesystem it can
//! take longer than an fsync of our few files; leash's own workload (small
//! files, one action at a time) is the case it is chosen for.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::UndoError;
use crate::journal::Journal;

/// How an action that writes its own file (leash's atomic `write_file`)
/// makes it durable: alone (`fsync`), or together with a journal entry that
/// must be durable before the file is renamed into place.
#[derive(Debug, Clone, Copy)]
pub struct Barrier<'a> {
    journal: Option<&'a Journal>,
}

impl Barrier<'static> {
    /// No journal: the file's own fsync.
    pub fn plain() -> Barrier<'static> {
        Barrier { journal: None }
    }
}

impl<'a> Barrier<'a> {
    /// The journal's entry and pre-images become durable with the file.
    pub fn journaled(journal: &'a Journal) -> Barrier<'a> {
        Barrier {
            journal: Some(journal),
        }
    }

    /// Makes `written` (a new file about to be renamed over a target)
    /// durable, and with it the journal entry describing the change. Call it
    /// before the rename; an error means the rename must not happen.
    pub fn sync(&self, written: &File) -> std::io::Result<()> {
        match self.journal {
            None => written.sync_all(),
            Some(journal) => journal
                .make_durable(Some(written))
                .map_err(std::io::Error::other),
        }
    }
}

fn syncfs(file: &File, path: &Path) -> Result<(), UndoError> {
    nix::unistd::syncfs(file).map_err(|errno| UndoError::Io {
        what: "cannot sync the filesystem of",
        path: path.to_path_buf(),
        source: std::io::Error::from(errno),
    })
}

impl Journal {
    /// Makes everything [`Journal::prepare`] wrote durable — pre-images,
    /// their directory entries and the entry's WAL commit — and `written`
    /// with them: one `syncfs` per filesystem involved. A `written` file on
    /// a filesystem of its own is fsynced alone rather than its whole
    /// filesystem synced.
    pub fn make_durable(&self, written: Option<&File>) -> Result<(), UndoError> {
        let objects_dir = self.objects.dir();
        let objects = File::open(objects_dir).map_err(UndoError::io("cannot open", objects_dir))?;
        let objects_dev = objects
            .metadata()
            .map_err(UndoError::io("cannot stat", objects_dir))?
            .dev();
        syncfs(&objects, objects_dir)?;
        // The database's WAL, if it lives elsewhere (a state dir split over
        // two filesystems is unusual, but must not lose the entry).
        let db_dev = std::fs::metadata(&self.db)
            .map_err(UndoError::io("cannot stat", &self.db))?
            .dev();
        if db_dev != objects_dev {
            let db = File::open(&self.db).map_err(UndoError::io("cannot open", &self.db))?;
            syncfs(&db, &self.db)?;
        }
        if let Some(file) = written {
            let dev = file
                .metadata()
                .map_err(UndoError::io("cannot stat", &self.db))?
                .dev();
            if dev != objects_dev && dev != db_dev {
                file.sync_all()
                    .map_err(UndoError::io("cannot fsync the new file for", &self.db))?;
            }
        }
        Ok(())
    }
}
