//! How a program writes the files it changes, which decides what a faithful
//! pre-image costs: a hard link to the old inode (no copy, no hash) is only
//! faithful when nothing writes that inode afterwards.

/// How an action writes its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// It writes into the existing file (`cp`, `tee`, `sort -o`): only a
    /// copy keeps the old content.
    InPlace,
    /// It moves the file or changes only its metadata (`mv`, `touch`): the
    /// old inode stays reachable under some name and may be written later,
    /// so a hard link is used only for files too big to copy (as before).
    SameInode,
    /// It writes a new file and renames it over the old one (`sed -i`,
    /// leash's own `write_file`): afterwards the journal's link is the old
    /// inode's only name, so it is kept by hard link whatever its size — an
    /// O(1) pre-image.
    NewInode,
}

impl WriteMode {
    /// The mode of a program, by its canonical identity.
    pub fn of_program(identity: &str) -> WriteMode {
        match identity {
            // GNU and busybox `sed -i` write a temp file and rename it.
            "sed" => WriteMode::NewInode,
            "mv" | "touch" => WriteMode::SameInode,
            _ => WriteMode::InPlace,
        }
    }

    /// Whether a file over `undo.max_file_mb` may be kept by hard link.
    pub(crate) fn links_big_files(self) -> bool {
        match self {
            WriteMode::SameInode | WriteMode::NewInode => true,
            WriteMode::InPlace => false,
        }
    }
}

/// Whether a program replaces the files it writes (rename) or only changes
/// their metadata, so a hard link can keep a big file's old content.
pub fn replaces_files(identity: &str) -> bool {
    WriteMode::of_program(identity).links_big_files()
}
