//! Recording control files and comparing two recordings.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::targets::Root;

/// Files larger than this are compared by stat only and cannot be restored
/// (no control file is anywhere near it).
const MAX_SAVED_BYTES: u64 = 4 * 1024 * 1024;

/// How deep a recursive root (`hooks/`, `info/`) is followed.
const MAX_DEPTH: usize = 6;

/// At most this many entries per recursive root.
const MAX_ENTRIES: usize = 4096;

/// What identifies a version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl StatKey {
    fn of(meta: &std::fs::Metadata) -> StatKey {
        StatKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
        }
    }
}

/// One path as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A root that did not exist.
    Absent,
    /// A regular file; `content` is `None` when it was too large to keep.
    File {
        key: StatKey,
        content: Option<Arc<Vec<u8>>>,
    },
    Dir {
        key: StatKey,
    },
    Symlink {
        key: StatKey,
        target: PathBuf,
    },
    /// A socket, FIFO or device node: never legitimate here.
    Other {
        key: StatKey,
    },
}

impl Entry {
    fn key(&self) -> Option<StatKey> {
        match self {
            Entry::Absent => None,
            Entry::File { key, .. }
            | Entry::Dir { key }
            | Entry::Symlink { key, .. }
            | Entry::Other { key } => Some(*key),
        }
    }

    /// Same content, type and permissions (ownership and times may differ).
    fn same_as(&self, other: &Entry) -> bool {
        if std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.key().is_some()
            && self.key() == other.key()
        {
            return true; // not even touched
        }
        let perms = |e: &Entry| e.key().map(|k| k.mode & 0o7777);
        match (self, other) {
            (Entry::Absent, Entry::Absent) => true,
            (Entry::File { content: a, .. }, Entry::File { content: b, .. }) => {
                perms(self) == perms(other) && a.is_some() && a == b
            }
            (Entry::Dir { .. }, Entry::Dir { .. }) => perms(self) == perms(other),
            (Entry::Symlink { target: a, .. }, Entry::Symlink { target: b, .. }) => a == b,
            _ => false,
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            Entry::Absent => "absent",
            Entry::File { .. } => "file",
            Entry::Dir { .. } => "directory",
            Entry::Symlink { .. } => "symlink",
            Entry::Other { .. } => "special file",
        }
    }
}

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// It did not exist before the command.
    Created,
    /// Its content, mode or link target changed.
    Modified,
    /// It existed before and is gone.
    Deleted,
    /// A file became a directory or symlink, or the other way round.
    TypeChanged,
}

impl ChangeKind {
    /// The spelling in audit records and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
            ChangeKind::TypeChanged => "type changed",
        }
    }
}

/// One changed path with both recordings.
#[derive(Debug, Clone)]
pub struct Change {
    /// The path.
    pub path: PathBuf,
    /// What happened to it.
    pub kind: ChangeKind,
    pub(crate) before: Entry,
    pub(crate) after: Entry,
    /// The root the path was found under after the command.
    pub(crate) root: Option<Root>,
}

impl Change {
    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.after, Entry::Dir { .. })
    }

    /// The new content as text, when it is a file.
    pub(crate) fn after_text(&self) -> Option<String> {
        match &self.after {
            Entry::File {
                content: Some(c), ..
            } => Some(String::from_utf8_lossy(c).into_owned()),
            _ => None,
        }
    }

    /// A short human summary of the difference.
    pub fn summary(&self) -> String {
        match (&self.before, &self.after) {
            (
                Entry::File {
                    key: kb,
                    content: Some(b),
                },
                Entry::File {
                    key: ka,
                    content: Some(a),
                },
            ) => {
                let (added, removed) = line_diff(b, a);
                let mut s = format!(
                    "+{added}/-{removed} lines, {} -> {} bytes",
                    b.len(),
                    a.len()
                );
                if kb.mode & 0o7777 != ka.mode & 0o7777 {
                    s.push_str(&format!(
                        ", mode {:o} -> {:o}",
                        kb.mode & 0o7777,
                        ka.mode & 0o7777
                    ));
                }
                s
            }
            (Entry::Absent, Entry::File { content, key }) => format!(
                "new file, {} bytes, mode {:o}",
                content.as_ref().map_or(0, |c| c.len()),
                key.mode & 0o7777
            ),
            (Entry::Absent, Entry::Symlink { target, .. }) => {
                format!("new symlink -> {}", target.display())
            }
            (before, after) => format!("{} -> {}", before.kind_name(), after.kind_name()),
        }
    }
}

/// Lines only in `a` / only in `b`, as multisets (enough for a summary).
fn line_diff(before: &[u8], after: &[u8]) -> (usize, usize) {
    let mut counts: HashMap<&[u8], i64> = HashMap::new();
    for line in before.split(|b| *b == b'\n') {
        *counts.entry(line).or_default() -= 1;
    }
    for line in after.split(|b| *b == b'\n') {
        *counts.entry(line).or_default() += 1;
    }
    let added = counts
        .values()
        .filter(|v| **v > 0)
        .map(|v| *v as usize)
        .sum();
    let removed = counts
        .values()
        .filter(|v| **v < 0)
        .map(|v| (-*v) as usize)
        .sum();
    (added, removed)
}

/// Every recorded path, parents before children.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    entries: BTreeMap<PathBuf, Entry>,
    roots: BTreeMap<PathBuf, Root>,
}

impl Snapshot {
    /// Records `roots`, reusing the content of files whose stat key matches
    /// `known`.
    pub(crate) fn take(roots: &[Root], known: &HashMap<PathBuf, Entry>) -> Snapshot {
        let mut s = Snapshot::default();
        let lookup = |p: &Path| known.get(p).cloned();
        for root in roots {
            s.capture_root(root, &lookup);
        }
        s
    }

    /// Records `roots` after a command, reading only files whose stat key
    /// differs from `before`.
    pub(crate) fn take_after(roots: &[Root], before: &Snapshot) -> Snapshot {
        let mut s = Snapshot::default();
        let lookup = |p: &Path| before.entries.get(p).cloned();
        for root in roots {
            let mut root = root.clone();
            if !before.roots.contains_key(&root.path) && root.repository {
                root.new_repository = true;
            }
            s.capture_root(&root, &lookup);
        }
        s
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&PathBuf, &Entry)> {
        self.entries.iter()
    }

    fn capture_root(&mut self, root: &Root, known: &dyn Fn(&Path) -> Option<Entry>) {
        let mut budget = MAX_ENTRIES;
        let entry = capture(&root.path, known);
        let is_dir = matches!(entry, Entry::Dir { .. });
        self.roots.insert(root.path.clone(), root.clone());
        self.entries.insert(root.path.clone(), entry);
        if is_dir && root.recursive {
            self.capture_dir(&root.path, root, known, 1, &mut budget);
        }
    }

    fn capture_dir(
        &mut self,
        dir: &Path,
        root: &Root,
        known: &dyn Fn(&Path) -> Option<Entry>,
        depth: usize,
        budget: &mut usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for item in read.flatten() {
            if *budget == 0 {
                tracing::warn!(root = %root.path.display(), "control-file walk stopped at {MAX_ENTRIES} entries");
                return;
            }
            *budget -= 1;
            let path = item.path();
            let entry = capture(&path, known);
            let is_dir = matches!(entry, Entry::Dir { .. });
            self.entries.insert(path.clone(), entry);
            if is_dir {
                self.capture_dir(&path, root, known, depth + 1, budget);
            }
        }
    }

    /// The root a recorded path belongs to (the longest root prefix).
    fn root_of(&self, path: &Path) -> Option<Root> {
        self.roots
            .iter()
            .filter(|(r, _)| path.starts_with(r))
            .max_by_key(|(r, _)| r.as_os_str().len())
            .map(|(_, root)| root.clone())
    }

    /// Every path whose recording differs between `self` (before) and `after`,
    /// parents before children. Deletions whose parent directory is gone as
    /// well are left out: nothing is left there that could run.
    pub(crate) fn changes(&self, after: &Snapshot) -> Vec<Change> {
        let mut paths: Vec<&PathBuf> = self.entries.keys().chain(after.entries.keys()).collect();
        paths.sort();
        paths.dedup();
        let mut out = Vec::new();
        for path in paths {
            let before = self.entries.get(path).cloned().unwrap_or(Entry::Absent);
            let now = after.entries.get(path).cloned().unwrap_or(Entry::Absent);
            if before.same_as(&now) {
                continue;
            }
            let kind = match (&before, &now) {
                (Entry::Absent, _) => ChangeKind::Created,
                (_, Entry::Absent) => ChangeKind::Deleted,
                (Entry::File { .. }, Entry::File { .. })
                | (Entry::Dir { .. }, Entry::Dir { .. })
                | (Entry::Symlink { .. }, Entry::Symlink { .. }) => ChangeKind::Modified,
                _ => ChangeKind::TypeChanged,
            };
            if kind == ChangeKind::Deleted
                && (matches!(before, Entry::Dir { .. })
                    || path.parent().is_some_and(|p| !p.is_dir()))
            {
                continue;
            }
            out.push(Change {
                path: path.clone(),
                kind,
                before,
                after: now,
                root: after.root_of(path).or_else(|| self.root_of(path)),
            });
        }
        out
    }
}

/// Records one path; the content of a regular file is reused from `known`
/// when its stat key is unchanged, else read.
fn capture(path: &Path, known: &dyn Fn(&Path) -> Option<Entry>) -> Entry {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Entry::Absent;
    };
    let key = StatKey::of(&meta);
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(path).unwrap_or_default();
        return Entry::Symlink { key, target };
    }
    if ft.is_dir() {
        return Entry::Dir { key };
    }
    if !ft.is_file() {
        return Entry::Other { key };
    }
    if let Some(old @ Entry::File { key: old_key, .. }) = known(path)
        && old_key == key
    {
        return old;
    }
    let content = if meta.len() <= MAX_SAVED_BYTES {
        read_no_follow(path).ok().map(Arc::new)
    } else {
        None
    };
    Entry::File { key, content }
}

/// Reads a file without following a symlink swapped in after the `lstat`.
fn read_no_follow(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    Ok(buf)
}
