//! Git repositories by meaning, not by name.
//!
//! git runs code from a repository's `config` (`core.fsmonitor`,
//! `core.pager`, aliases, hooks), and it accepts as a repository not only a
//! `.git` directory but any directory holding `HEAD`, `objects/` and `refs/`
//! (a bare repository) and any `.git` *file* saying `gitdir: PATH`. A
//! model that can write ordinary files can build such a directory; these
//! functions find them so the policy can refuse to write into them and refuse
//! to run git in one that is not the user's real repository.

use std::path::{Path, PathBuf};

/// The files that make a directory a repository to git.
const REPO_MARKERS: [&str; 3] = ["HEAD", "objects", "refs"];

/// Names inside a repository directory that configure git or run code.
pub(crate) const REPO_CONTROL: [&str; 9] = [
    "HEAD",
    "objects",
    "refs",
    "config",
    "hooks",
    "commondir",
    "info",
    "gitdir",
    "packed-refs",
];

/// Whether git would accept `dir` itself as a (bare) repository.
pub(crate) fn is_repository_dir(dir: &Path) -> bool {
    dir.join("HEAD").exists() && dir.join("objects").is_dir() && dir.join("refs").is_dir()
}

/// The repository git would find starting in `dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// `WORKTREE/.git`, a directory.
    Dotgit(PathBuf),
    /// `WORKTREE/.git` is a file pointing elsewhere (`gitdir: TARGET`).
    Linked { file: PathBuf, target: PathBuf },
    /// A directory that is itself a repository (bare, or a lookalike).
    Bare(PathBuf),
    /// None up to `/`.
    Nothing,
}

/// Git's discovery: from `dir` upwards, the first `.git` (directory or
/// `gitdir:` file) or bare repository directory.
pub(crate) fn discover(dir: &Path) -> Found {
    for candidate in dir.ancestors() {
        let dotgit = candidate.join(".git");
        if dotgit.is_dir() {
            return Found::Dotgit(dotgit);
        }
        if dotgit.is_file() {
            let target = std::fs::read_to_string(&dotgit)
                .ok()
                .and_then(|text| {
                    text.lines()
                        .next()
                        .and_then(|l| l.strip_prefix("gitdir:"))
                        .map(|t| PathBuf::from(t.trim()))
                })
                .map(|t| crate::resolve::final_path(&t, candidate))
                .unwrap_or_default();
            return Found::Linked {
                file: dotgit,
                target,
            };
        }
        if is_repository_dir(candidate) {
            return Found::Bare(candidate.to_path_buf());
        }
    }
    Found::Nothing
}

/// Why writing `path` (final form) would create or change a repository's
/// control files, if it would: inside a directory git accepts as a repository,
/// or completing one (`HEAD` next to `objects/` and `refs/`).
///
/// Only ancestors for which `inside` holds are looked at: writes outside the
/// writable roots are refused anyway, and each look is a `stat`.
pub(crate) fn write_touches_repository(
    path: &Path,
    inside: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    for ancestor in path.ancestors().skip(1) {
        if ancestor == Path::new("/") || !inside(ancestor) {
            break;
        }
        if is_repository_dir(ancestor) {
            return Some(ancestor.to_path_buf());
        }
    }
    // Creating a marker (or anything below one: `mkdir -p half/refs/heads`)
    // next to another marker completes a lookalike step by step.
    for node in path.ancestors() {
        let (Some(name), Some(parent)) = (node.file_name().and_then(|n| n.to_str()), node.parent())
        else {
            continue;
        };
        let marker = REPO_MARKERS.contains(&name);
        let control = node == path && REPO_CONTROL.contains(&name);
        if !marker && !control {
            continue;
        }
        if !inside(parent) {
            break;
        }
        let others = REPO_MARKERS
            .iter()
            .filter(|m| **m != name && parent.join(m).symlink_metadata().is_ok())
            .count();
        if marker && others >= 1 {
            return Some(parent.to_path_buf());
        }
        if control && others >= 2 {
            return Some(parent.to_path_buf());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookalike(dir: &Path) {
        std::fs::create_dir_all(dir.join("objects")).unwrap();
        std::fs::create_dir_all(dir.join("refs")).unwrap();
        std::fs::write(dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    }

    #[test]
    fn a_bare_lookalike_built_from_ordinary_files_is_a_repository() {
        let tmp = tempfile::tempdir().unwrap();
        let evil = tmp.path().join("evil");
        lookalike(&evil);
        assert!(is_repository_dir(&evil));
        assert_eq!(discover(&evil), Found::Bare(evil.clone()));
        assert_eq!(
            write_touches_repository(&evil.join("config"), |_| true),
            Some(evil.clone())
        );
    }

    #[test]
    fn completing_a_lookalike_is_a_repository_write() {
        let tmp = tempfile::tempdir().unwrap();
        let half = tmp.path().join("half");
        std::fs::create_dir_all(half.join("objects")).unwrap();
        assert_eq!(
            write_touches_repository(&half.join("HEAD"), |_| true),
            Some(half.clone())
        );
        assert_eq!(
            write_touches_repository(&half.join("notes.txt"), |_| true),
            None
        );
    }

    #[test]
    fn a_gitdir_file_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let wt = tmp.path().join("wt");
        std::fs::create_dir_all(wt.join("sub")).unwrap();
        std::fs::write(wt.join(".git"), "gitdir: ../elsewhere\n").unwrap();
        match discover(&wt.join("sub")) {
            Found::Linked { target, .. } => assert!(target.ends_with("elsewhere")),
            other => panic!("{other:?}"),
        }
    }
}
