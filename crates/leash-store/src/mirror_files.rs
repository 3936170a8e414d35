//! The JSONL mirror on disk: the active file (`logging.audit_log`, e.g.
//! `audit.log`) and its rotated predecessors `audit.log.000001`,
//! `audit.log.000002`, … (numbered in rotation order, never deleted by leash).
//! Read in that order, then the active file, the lines form one chain.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{StoreError, io_error};

/// One file of the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MirrorFile {
    pub path: PathBuf,
    /// `Some(n)` for `audit.log.00000n`, `None` for the active file.
    pub rotation: Option<u64>,
}

/// The name of the `number`th rotated file next to `active`.
pub(crate) fn rotated_path(active: &Path, number: u64) -> PathBuf {
    let mut name = active.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{number:06}"));
    active.with_file_name(name)
}

/// The rotated files next to `active`, in rotation order (not including the
/// active file).
pub(crate) fn rotated_files(active: &Path) -> Result<Vec<MirrorFile>, StoreError> {
    let dir = match active.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(active_name) = active.file_name().and_then(|name| name.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{active_name}.");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(io_error("cannot list the audit mirror directory", &dir)(
                err,
            ));
        }
    };
    let mut rotated = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("cannot list the audit mirror directory", &dir))?;
        let name = entry.file_name();
        let Some(suffix) = name.to_str().and_then(|name| name.strip_prefix(&prefix)) else {
            continue;
        };
        if suffix.len() >= 6
            && suffix.bytes().all(|byte| byte.is_ascii_digit())
            && let Ok(number) = suffix.parse::<u64>()
        {
            rotated.push(MirrorFile {
                path: entry.path(),
                rotation: Some(number),
            });
        }
    }
    rotated.sort_by_key(|file| file.rotation);
    Ok(rotated)
}

/// Every file of the mirror in chain order: rotated files, then the active file
/// if it exists.
pub(crate) fn mirror_files(active: &Path) -> Result<Vec<MirrorFile>, StoreError> {
    let mut files = rotated_files(active)?;
    if active.exists() {
        files.push(MirrorFile {
            path: active.to_path_buf(),
            rotation: None,
        });
    }
    Ok(files)
}

/// One line of the mirror, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct MirrorLine {
    pub file: PathBuf,
    /// 1-based line number within `file`.
    pub line_no: u64,
    /// The bytes without the newline.
    pub bytes: Vec<u8>,
    /// False for a last line that has no newline (a torn write).
    pub complete: bool,
    /// Whether this is the very last line of the very last file.
    pub is_last: bool,
}

/// Reads every line of every mirror file in chain order, streaming.
pub(crate) fn read_lines(
    files: &[MirrorFile],
    mut visit: impl FnMut(MirrorLine) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut pending: Option<MirrorLine> = None;
    for file in files {
        let handle =
            File::open(&file.path).map_err(io_error("cannot open audit mirror", &file.path))?;
        let mut reader = BufReader::new(handle);
        let mut line_no = 0;
        loop {
            let mut bytes = Vec::new();
            let read = reader
                .read_until(b'\n', &mut bytes)
                .map_err(io_error("cannot read audit mirror", &file.path))?;
            if read == 0 {
                break;
            }
            line_no += 1;
            let complete = bytes.last() == Some(&b'\n');
            if complete {
                bytes.pop();
            }
            if let Some(previous) = pending.take() {
                visit(previous)?;
            }
            pending = Some(MirrorLine {
                file: file.path.clone(),
                line_no,
                bytes,
                complete,
                is_last: false,
            });
        }
    }
    if let Some(mut last) = pending {
        last.is_last = true;
        visit(last)?;
    }
    Ok(())
}

/// The end of one mirror file: where its complete lines end and its last
/// complete line, found by reading backwards (the file may be large).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileTail {
    /// File length in bytes.
    pub len: u64,
    /// Offset just past the last newline (0 if there is none): anything after it
    /// is a torn, partial line.
    pub complete_end: u64,
    /// The last complete line, without its newline.
    pub last_line: Option<Vec<u8>>,
}

/// Reads the tail of `path`; `None` if the file does not exist.
pub(crate) fn file_tail(path: &Path) -> Result<Option<FileTail>, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error("cannot open audit mirror", path)(err)),
    };
    let len = file
        .metadata()
        .map_err(io_error("cannot stat audit mirror", path))?
        .len();
    const CHUNK: u64 = 8192;
    // `window` holds the file's bytes from `start` to `len`.
    let mut window: Vec<u8> = Vec::new();
    let mut start = len;
    loop {
        let newlines: Vec<usize> = window
            .iter()
            .enumerate()
            .filter(|(_, byte)| **byte == b'\n')
            .map(|(index, _)| index)
            .collect();
        let found_both = newlines.len() >= 2;
        let found_last_and_at_start = newlines.len() == 1 && start == 0;
        if found_both || found_last_and_at_start || start == 0 {
            let tail = match newlines.as_slice() {
                [] => FileTail {
                    len,
                    complete_end: 0,
                    last_line: None,
                },
                [.., before, last] => FileTail {
                    len,
                    complete_end: start + *last as u64 + 1,
                    last_line: Some(window[before + 1..*last].to_vec()),
                },
                [last] => FileTail {
                    len,
                    complete_end: start + *last as u64 + 1,
                    last_line: Some(window[..*last].to_vec()),
                },
            };
            return Ok(Some(tail));
        }
        let step = CHUNK.min(start);
        start -= step;
        file.seek(SeekFrom::Start(start))
            .map_err(io_error("cannot seek in audit mirror", path))?;
        let mut chunk = vec![0u8; usize::try_from(step).unwrap_or(0)];
        file.read_exact(&mut chunk)
            .map_err(io_error("cannot read audit mirror", path))?;
        chunk.extend_from_slice(&window);
        window = chunk;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::empty(b"" as &[u8], 0, None)]
    #[case::only_torn(b"abc", 0, None)]
    #[case::one_line(b"abc\n", 4, Some(&b"abc"[..]))]
    #[case::two_lines(b"a\nbc\n", 5, Some(&b"bc"[..]))]
    #[case::torn_after_lines(b"a\nbc\nde", 5, Some(&b"bc"[..]))]
    fn tail_of_small_files(
        #[case] content: &[u8],
        #[case] complete_end: u64,
        #[case] last: Option<&[u8]>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, content).unwrap();
        let tail = file_tail(&path).unwrap().unwrap();
        assert_eq!(tail.len, content.len() as u64);
        assert_eq!(tail.complete_end, complete_end);
        assert_eq!(tail.last_line.as_deref(), last);
    }

    #[test]
    fn tail_of_a_file_larger_than_one_chunk_with_long_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let long = "x".repeat(20_000);
        let content = format!("{long}\n{long}y\ntorn");
        std::fs::write(&path, &content).unwrap();
        let tail = file_tail(&path).unwrap().unwrap();
        assert_eq!(tail.complete_end, (content.len() - 4) as u64);
        assert_eq!(tail.last_line.unwrap(), format!("{long}y").into_bytes());
    }

    #[test]
    fn rotated_files_sort_numerically_and_ignore_strangers() {
        let dir = tempfile::tempdir().unwrap();
        let active = dir.path().join("audit.log");
        for name in [
            "audit.log.000010",
            "audit.log.000002",
            "audit.log.bak",
            "audit.log.1",
            "other.000001",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let numbers: Vec<_> = rotated_files(&active)
            .unwrap()
            .into_iter()
            .map(|f| f.rotation)
            .collect();
        assert_eq!(numbers, vec![Some(2), Some(10)]);
        assert_eq!(
            rotated_path(&active, 3),
            dir.path().join("audit.log.000003")
        );
    }
}
