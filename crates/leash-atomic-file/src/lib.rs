//! leash-atomic-file: the one way leash replaces a file, so that a crash
//! leaves the old file or the new one, never half of either, and so that a
//! name planted beside the target cannot make leash write somewhere else.
//!
//! [`write()`] and [`write_with`] follow the same steps:
//!
//! 1. the temp file is `.<name>.tmp-<pid>-<n>` in the target's own
//!    directory (a rename is only atomic within one file system);
//! 2. whatever is already at that name is removed first — a crash's leftover,
//!    or a symlink planted there to redirect the write (unlinking a symlink
//!    never touches its target);
//! 3. the temp file is created with `O_CREAT | O_EXCL` (`create_new`), which
//!    never follows a symlink: a name planted between steps 2 and 3 fails the
//!    write instead of being written through;
//! 4. it is filled, fsynced (unless the caller syncs it itself, see
//!    [`Options::caller_syncs`]), and renamed over the target — a symlink at
//!    the target is replaced, never followed;
//! 5. the directory is fsynced, so the rename itself survives a power loss.
//!
//! On any error the temp file is removed. The crate sits at the bottom of the
//! workspace (std, `thiserror`, `tracing`) so every crate that writes a file
//! uses these steps instead of its own variant of them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A write that did not replace the target, with the step that failed and
/// the path it failed on. The target is untouched.
#[derive(Debug, thiserror::Error)]
#[error("cannot {step} {}: {source}", path.display())]
pub struct AtomicWriteError {
    /// What was being done ("create the temp file", "rename over", …).
    pub step: &'static str,
    /// The path the step was acting on (the temp file or the target).
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

impl AtomicWriteError {
    fn at(step: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AtomicWriteError {
        let path = path.to_path_buf();
        move |source| AtomicWriteError { step, path, source }
    }
}

/// How the new file is made. The default is private (mode 0600) and synced
/// here.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    mode: u32,
    caller_syncs: bool,
    stable_suffix: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: 0o600,
            caller_syncs: false,
            stable_suffix: None,
        }
    }
}

impl Options {
    /// The mode the temp file is created with (the umask may narrow it; the
    /// fill step can set it exactly). Default 0600.
    pub fn mode(mut self, mode: u32) -> Options {
        self.mode = mode;
        self
    }

    /// The fill step makes the file durable itself (for example one fsync
    /// shared with a journal entry); [`write_with`] then does not fsync the
    /// file again. The directory is still fsynced after the rename.
    pub fn caller_syncs(mut self) -> Options {
        self.caller_syncs = true;
        self
    }

    /// The temp file is `.<name><suffix>`, the same for every write of this
    /// target, instead of a per-process name: a writer that runs again after
    /// being killed mid-write (undo) then removes its own leftover in step 2
    /// instead of leaving it beside the target. Only for writers that never
    /// write one target from two threads at once.
    pub fn stable_temp_name(mut self, suffix: &'static str) -> Options {
        self.stable_suffix = Some(suffix);
        self
    }
}

/// Replaces `target` with `contents`, created with mode 0600. See the crate
/// documentation for the steps.
pub fn write(target: &Path, contents: &[u8]) -> Result<(), AtomicWriteError> {
    write_with(target, Options::default(), |file| file.write_all(contents))
}

/// Replaces `target` with a file that `fill` writes (content, permissions,
/// times: anything done through the open handle). See the crate
/// documentation for the steps.
pub fn write_with(
    target: &Path,
    options: Options,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), AtomicWriteError> {
    let (dir, tmp) = temp_path(target, options.stable_suffix)?;
    let result = replace_via(&tmp, target, options, fill);
    if result.is_err() {
        // Best effort: the temp file is garbage either way, and removing a
        // name planted in our way is what step 2 does anyway.
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    // The rename is durable only once its directory is.
    File::open(&dir)
        .and_then(|handle| handle.sync_all())
        .map_err(AtomicWriteError::at("fsync the directory", &dir))
}

fn replace_via(
    tmp: &Path,
    target: &Path,
    options: Options,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), AtomicWriteError> {
    match std::fs::remove_file(tmp) {
        Ok(()) => {
            tracing::warn!(path = %tmp.display(), "removed an unexpected entry at a temp name")
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(AtomicWriteError::at("remove what is at", tmp)(err)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(options.mode)
        .open(tmp)
        .map_err(AtomicWriteError::at("create the temp file", tmp))?;
    fill(&mut file).map_err(AtomicWriteError::at("write", tmp))?;
    if !options.caller_syncs {
        file.sync_all()
            .map_err(AtomicWriteError::at("fsync", tmp))?;
    }
    drop(file);
    std::fs::rename(tmp, target).map_err(AtomicWriteError::at("rename over", target))
}

/// Counts temp names within this process, so two writers of one target (two
/// threads) never share a temp file.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(
    target: &Path,
    stable_suffix: Option<&str>,
) -> Result<(PathBuf, PathBuf), AtomicWriteError> {
    let no_name = || AtomicWriteError {
        step: "find the directory and file name of",
        path: target.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    };
    let name = target.file_name().ok_or_else(no_name)?;
    let dir = match target.parent() {
        Some(parent) if parent.as_os_str().is_empty() => PathBuf::from("."),
        Some(parent) => parent.to_path_buf(),
        None => return Err(no_name()),
    };
    let tmp = match stable_suffix {
        Some(suffix) => {
            let mut stable = std::ffi::OsString::from(".");
            stable.push(name);
            stable.push(suffix);
            dir.join(stable)
        }
        None => dir.join(temp_name(name, COUNTER.fetch_add(1, Ordering::Relaxed))),
    };
    Ok((dir, tmp))
}

fn temp_name(name: &std::ffi::OsStr, n: u64) -> String {
    format!(".{}.tmp-{}-{n}", name.to_string_lossy(), std::process::id())
}

/// The temp names the next `count` writes of this process to `target` may
/// use, in order. The names are predictable by design (what matters is that a
/// name planted there is never written through); tests plant symlinks at
/// them to show it.
pub fn next_temp_names(target: &Path, count: u64) -> Vec<PathBuf> {
    let (Some(name), Some(dir)) = (target.file_name(), target.parent()) else {
        return Vec::new();
    };
    let next = COUNTER.load(Ordering::Relaxed);
    (next..next + count)
        .map(|n| dir.join(temp_name(name, n)))
        .collect()
}
