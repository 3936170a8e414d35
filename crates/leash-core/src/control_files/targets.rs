//! Which paths are control files: every repository git would find in (or
//! above) the workspace, with the files that configure git or make it run
//! code; leash's own config, rules and token; `security.protected`.
//!
//! Objects, refs and the index are not control files: the git verbs the
//! policy allows write them.

use std::path::{Path, PathBuf};

/// How deep below a write root repositories are looked for.
const DISCOVERY_DEPTH: usize = 4;

/// At most this many directories are read per write root when discovering.
const DISCOVERY_BUDGET: usize = 20_000;

/// Directories never descended into while discovering (large and never the
/// place of a repository a person works in).
const SKIP_DIRS: &[&str] = &["node_modules", ".cache"];

/// One recorded path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The path (a file, or a directory when `recursive`).
    pub path: PathBuf,
    /// Record what is inside too (hooks/, info/).
    pub recursive: bool,
    /// Part of a repository's control files.
    pub repository: bool,
    /// The repository appeared during the command (set when comparing).
    pub new_repository: bool,
}

impl Root {
    fn file(path: PathBuf, repository: bool) -> Root {
        Root {
            path,
            recursive: false,
            repository,
            new_repository: false,
        }
    }

    fn tree(path: PathBuf, repository: bool) -> Root {
        Root {
            path,
            recursive: true,
            repository,
            new_repository: false,
        }
    }
}

/// Where to look, fixed for one engine.
#[derive(Debug, Clone, Default)]
pub struct ControlTargets {
    /// Directories commands may write (repositories are looked for inside).
    pub write_roots: Vec<PathBuf>,
    /// The workspace (repositories above it count too: git finds them).
    pub workspace: PathBuf,
    /// leash's config, rules files, learned rules, API token.
    pub leash_files: Vec<PathBuf>,
    /// `security.protected`, resolved (`~/` at home, relative in the workspace).
    pub protected: Vec<PathBuf>,
}

impl ControlTargets {
    /// Resolves `security.protected` entries: `~/x` under `home`, absolute as
    /// is, anything else inside `workspace`.
    pub fn resolve_protected(entries: &[String], home: &Path, workspace: &Path) -> Vec<PathBuf> {
        entries
            .iter()
            .map(|e| {
                if let Some(rest) = e.strip_prefix("~/") {
                    home.join(rest)
                } else if Path::new(e).is_absolute() {
                    PathBuf::from(e)
                } else {
                    workspace.join(e)
                }
            })
            .collect()
    }

    /// Every root to record now (repositories are discovered afresh).
    pub fn roots(&self) -> Vec<Root> {
        let mut roots: Vec<Root> = Vec::new();
        for path in self.leash_files.iter().chain(&self.protected) {
            roots.push(Root::tree(path.clone(), false));
        }
        for git in self.git_entries() {
            repository_roots(&git, &mut roots);
        }
        roots.sort_by(|a, b| a.path.cmp(&b.path));
        roots.dedup_by(|a, b| a.path == b.path);
        roots
    }

    /// `.git` entries (directories, `gitdir:` files, symlinks) and bare
    /// repositories in the write roots, and the first one above the workspace.
    pub fn git_entries(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for root in &self.write_roots {
            let mut budget = DISCOVERY_BUDGET;
            walk(root, 0, &mut budget, &mut found);
        }
        for dir in self.workspace.ancestors().skip(1) {
            let git = dir.join(".git");
            if std::fs::symlink_metadata(&git).is_ok() {
                found.push(git);
                break;
            }
        }
        found.sort();
        found.dedup();
        found
    }
}

fn walk(dir: &Path, depth: usize, budget: &mut usize, found: &mut Vec<PathBuf>) {
    if *budget == 0 {
        tracing::warn!(dir = %dir.display(), "repository discovery stopped: too many directories");
        return;
    }
    *budget -= 1;
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = Vec::new();
    let mut names = Vec::new();
    for item in read.flatten() {
        let name = item.file_name();
        let Ok(ft) = item.file_type() else { continue };
        if name == ".git" {
            found.push(item.path());
            continue;
        }
        names.push(name.clone());
        if ft.is_dir() && depth < DISCOVERY_DEPTH && !SKIP_DIRS.iter().any(|s| name == *s) {
            subdirs.push(item.path());
        }
    }
    // A bare repository (or a lookalike git would accept): HEAD, objects/, refs/.
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("HEAD") && has("objects") && has("refs") {
        found.push(dir.to_path_buf());
    }
    for sub in subdirs {
        walk(&sub, depth + 1, budget, found);
    }
}

/// The control files of the repository whose `.git` entry (or bare directory)
/// is `git`.
fn repository_roots(git: &Path, roots: &mut Vec<Root>) {
    let is_bare_dir = git.file_name().is_some_and(|n| n != ".git");
    if !is_bare_dir {
        roots.push(Root::file(git.to_path_buf(), true));
    }
    let gitdir = match std::fs::symlink_metadata(git) {
        Ok(meta) if meta.is_dir() => git.to_path_buf(),
        Ok(meta) if meta.is_file() => match gitdir_of_file(git) {
            Some(dir) => dir,
            None => return,
        },
        _ => return,
    };
    gitdir_roots(&gitdir, roots, 0);
}

/// `gitdir: PATH` in a `.git` file, resolved against the file's directory.
fn gitdir_of_file(file: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(file).ok()?;
    let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    let base = file.parent()?;
    Some(base.join(target))
}

fn gitdir_roots(gitdir: &Path, roots: &mut Vec<Root>, depth: usize) {
    for name in ["config", "config.worktree", "commondir", "gitdir"] {
        roots.push(Root::file(gitdir.join(name), true));
    }
    for name in ["hooks", "info"] {
        roots.push(Root::tree(gitdir.join(name), true));
    }
    if depth > 3 {
        return;
    }
    // A linked worktree's common directory holds the shared config and hooks.
    if let Ok(common) = std::fs::read_to_string(gitdir.join("commondir")) {
        let common = gitdir.join(common.trim());
        if common != gitdir {
            gitdir_roots(&common, roots, depth + 1);
        }
    }
    // Submodules' and worktrees' own git directories.
    for sub in ["modules", "worktrees"] {
        let mut found = Vec::new();
        nested_gitdirs(&gitdir.join(sub), 0, &mut found);
        for dir in found {
            for name in ["config", "config.worktree", "commondir", "gitdir"] {
                roots.push(Root::file(dir.join(name), true));
            }
            for name in ["hooks", "info"] {
                roots.push(Root::tree(dir.join(name), true));
            }
        }
    }
}

/// Directories under `dir` that hold a `HEAD` (module names may contain `/`).
fn nested_gitdirs(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > 4 {
        return;
    }
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for item in read.flatten() {
        if !item.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = item.path();
        if path.join("HEAD").is_file() {
            found.push(path.clone());
            nested_gitdirs(&path.join("modules"), depth + 1, found);
        } else {
            nested_gitdirs(&path, depth + 1, found);
        }
    }
}

/// Whether a git config text sets a key that makes git run a program or read
/// another config (checked in repositories that appear during a command).
pub(crate) fn config_runs_code(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let mut section = String::new();
    for line in lower.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('[') {
            section = rest.split([']', ' ', '"']).next().unwrap_or("").to_owned();
            continue;
        }
        let key = line.split('=').next().unwrap_or("").trim();
        let dangerous = match section.as_str() {
            "core" => matches!(
                key,
                "fsmonitor"
                    | "hookspath"
                    | "sshcommand"
                    | "pager"
                    | "editor"
                    | "askpass"
                    | "gitproxy"
                    | "alternaterefscommand"
            ),
            "include" | "includeif" | "filter" | "diff" | "merge" | "credential" | "uploadpack"
            | "sequence" | "gpg" => true,
            "alias" => line.contains("= !") || line.contains("=!"),
            _ => key == "command" || key.ends_with("cmd") || key.ends_with("command"),
        };
        if dangerous {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_that_run_code_are_seen() {
        assert!(config_runs_code("[core]\n\tfsmonitor = /tmp/x\n"));
        assert!(config_runs_code("[core]\n  hooksPath = ../h\n"));
        assert!(config_runs_code("[alias]\n\tst = !sh -c id\n"));
        assert!(config_runs_code("[filter \"lfs\"]\n\tclean = x\n"));
        assert!(config_runs_code("[includeIf \"gitdir:/\"]\n\tpath = /x\n"));
        assert!(!config_runs_code(
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
        ));
        assert!(!config_runs_code(
            "[user]\n\tname = A\n[alias]\n\tst = status\n"
        ));
    }
}
