//! A path in its final form: the file the program will really open.
//!
//! `std::fs::canonicalize` stops at the first missing component, so a dangling
//! symlink (`out -> .git/config` before `.git/config` exists, or a link to a
//! file the write would create) would be judged at the link's own name. Here
//! every symlink is followed, dangling ones included, the way the kernel
//! follows them when the program opens the path for writing. Paths the child
//! sees differently from leash (`/proc/self/…`, `/dev/fd/N`) are rewritten to
//! what they mean *in the child*: its cwd is the command's cwd, its standard
//! streams are `/dev/null` and pipes, and every other descriptor is closed.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::paths::lexical_absolute;

/// How many symlinks are followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// The child's view of the special process paths, as a path leash can judge.
/// `None` when the path is not special.
fn special(lexical: &Path, cwd: &Path) -> Option<PathBuf> {
    let mut parts = lexical.components().skip(1);
    let first = parts.next()?.as_os_str().to_str()?;
    let second = parts.next().and_then(|c| c.as_os_str().to_str());
    let rest: PathBuf = parts.collect();
    match (first, second) {
        ("proc", Some("self" | "thread-self")) => {
            let mut inner = rest.components();
            let what = inner.next().and_then(|c| c.as_os_str().to_str());
            let tail: PathBuf = inner.collect();
            match what {
                Some("cwd") => Some(lexical_absolute(&tail, cwd)),
                Some("root") => Some(lexical_absolute(&tail, Path::new("/"))),
                Some("fd") => Some(descriptor(&tail)),
                // Other entries (exe, environ, mem, maps, ...) are judged as
                // they are: outside every root, secrets by the denied globs.
                Some(_) | None => None,
            }
        }
        ("dev", Some("fd")) => Some(descriptor(&rest)),
        ("dev", Some("stdin" | "stdout" | "stderr")) if rest.as_os_str().is_empty() => {
            Some(PathBuf::from("/dev/null"))
        }
        _ => None,
    }
}

/// `/dev/fd/N`: 0 is `/dev/null` and 1, 2 are output pipes in the child; any
/// other descriptor is closed there, so the path names nothing leash allows.
fn descriptor(rest: &Path) -> PathBuf {
    let mut parts = rest.components();
    let n = parts.next().and_then(|c| c.as_os_str().to_str());
    match (n, parts.next()) {
        (Some("0" | "1" | "2"), None) => PathBuf::from("/dev/null"),
        _ => PathBuf::from("/dev/fd/closed").join(rest),
    }
}

/// The final form of `path` run in `cwd`: absolute, every symlink followed
/// (dangling ones to their target), `..` folded after links like the kernel.
pub(crate) fn final_path(path: &Path, cwd: &Path) -> PathBuf {
    let lexical = lexical_absolute(path, cwd);
    let start = special(&lexical, cwd).unwrap_or_else(|| {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            cwd.join(path)
        }
    });
    if let Ok(resolved) = canonicalize(&start) {
        return resolved;
    }
    follow(&start)
}

/// `std::fs::canonicalize`, asking the kernel for its own resolution first:
/// one `open(O_PATH)` and one `readlink` of its `/proc/self/fd` entry,
/// whatever the depth — where `canonicalize` (glibc `realpath`) pays a
/// `readlink` per component, which was a fifth of a policy decision. Every
/// symlink is followed either way. A path that does not open fails at once
/// (realpath would fail on it too); when `/proc` cannot answer, or answers
/// something that is not a plain absolute path (the file vanished in
/// between: `… (deleted)`), this is `std::fs::canonicalize`.
pub(crate) fn canonicalize(path: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(path)?;
    match std::fs::read_link(format!("/proc/self/fd/{}", handle.as_raw_fd())) {
        Ok(resolved)
            if resolved.is_absolute()
                && !resolved
                    .as_os_str()
                    .as_encoded_bytes()
                    .ends_with(b" (deleted)") =>
        {
            Ok(resolved)
        }
        Ok(_) | Err(_) => std::fs::canonicalize(path),
    }
}

/// Walks `path` component by component, following symlinks even when their
/// target does not exist.
fn follow(path: &Path) -> PathBuf {
    let mut pending: Vec<OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    let mut out = PathBuf::from("/");
    let mut links = 0;
    // Once a component is missing, nothing below it can be a link.
    let mut exists = true;
    while let Some(part) = pending.pop() {
        if part == ".." {
            out.pop();
            continue;
        }
        out.push(&part);
        if !exists {
            continue;
        }
        match std::fs::symlink_metadata(&out) {
            Ok(meta) if meta.file_type().is_symlink() && links < MAX_LINKS => {
                links += 1;
                let Ok(target) = std::fs::read_link(&out) else {
                    continue;
                };
                out.pop();
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(p) => pending.push(p.to_os_string()),
                        Component::ParentDir => pending.push(OsString::from("..")),
                        Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                    }
                }
            }
            Ok(_) => {}
            Err(_) => exists = false,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn dangling_links_are_judged_at_their_target() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        symlink(".git/commondir", root.join("link")).unwrap();
        symlink("link", root.join("link2")).unwrap();
        symlink(root.join("missing/dir"), root.join("abs")).unwrap();
        assert_eq!(
            final_path(Path::new("link"), &root),
            root.join(".git/commondir")
        );
        assert_eq!(
            final_path(Path::new("link2"), &root),
            root.join(".git/commondir")
        );
        assert_eq!(
            final_path(Path::new("abs/x/../y"), &root),
            root.join("missing/dir/y")
        );
    }

    /// The kernel's answer and `canonicalize`'s agree, through links to
    /// directories, links to files, chains and `..` after a link.
    #[test]
    fn the_kernel_resolution_agrees_with_canonicalize() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::fs::write(root.join("real/sub/file"), "x").unwrap();
        symlink(root.join("real"), root.join("dirlink")).unwrap();
        symlink("sub/file", root.join("real/filelink")).unwrap();
        symlink("../../dirlink/filelink", root.join("real/sub/chain")).unwrap();
        for path in [
            "real/sub/file",
            "dirlink/sub/file",
            "dirlink/filelink",
            "real/sub/chain",
            "dirlink/sub/../filelink",
            "dirlink",
        ] {
            let start = root.join(path);
            assert_eq!(
                canonicalize(&start).unwrap(),
                std::fs::canonicalize(&start).unwrap(),
                "{path}"
            );
            assert_eq!(
                final_path(Path::new(path), &root),
                std::fs::canonicalize(&start).unwrap()
            );
        }
        assert!(canonicalize(&root.join("missing")).is_err());
    }

    #[test]
    fn process_paths_mean_what_they_mean_in_the_child() {
        let cwd = Path::new("/work/ws");
        assert_eq!(
            special(Path::new("/proc/self/cwd/.git/config"), cwd),
            Some(PathBuf::from("/work/ws/.git/config"))
        );
        assert_eq!(
            special(Path::new("/proc/thread-self/root/etc/shadow"), cwd),
            Some(PathBuf::from("/etc/shadow"))
        );
        assert_eq!(
            special(Path::new("/dev/fd/1"), cwd),
            Some(PathBuf::from("/dev/null"))
        );
        assert_eq!(
            special(Path::new("/proc/self/fd/7"), cwd),
            Some(PathBuf::from("/dev/fd/closed/7"))
        );
        assert_eq!(special(Path::new("/proc/self/environ"), cwd), None);
    }
}
