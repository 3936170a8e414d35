//! Path rules: read roots, write roots and denied paths.
//!
//! Every path argument is made absolute (relative to the command's cwd) and
//! canonicalized — symlinks of the longest existing prefix resolved, `..`
//! folded — before it is compared, component by component (`/a/b-evil` is not
//! inside `/a/b`). Denied paths are checked on both the lexical and the
//! canonical form, so neither a symlink into `~/.ssh` nor a symlinked `~/.ssh`
//! gets through.

use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::Decision;
use crate::error::PolicyError;
use crate::spec::Access;

/// A path rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathFinding {
    pub rule: &'static str,
    pub decision: Decision,
    pub reason: String,
    pub hint: &'static str,
}

#[derive(Debug)]
pub(crate) struct PathRules {
    read_roots: Vec<PathBuf>,
    write_roots: Vec<PathBuf>,
    denied: Vec<PathBuf>,
    denied_globs: GlobSet,
    allowed: Vec<PathBuf>,
    /// Literal prefixes of the denied globs, with the globs' components.
    glob_prefixes: Vec<(PathBuf, Vec<String>)>,
    /// Never written (read is fine): start-up files, leash's own files.
    write_protected: Vec<PathBuf>,
    home: PathBuf,
}

/// Whether `path` is `root` or inside it, compared by components. Both must be
/// normalised absolute paths (no `.`, `..`, `//` or trailing `/`), which is
/// what [`lexical_absolute`] and [`canonical`] produce; comparing bytes at a
/// component boundary is then exact and much cheaper than `Path::starts_with`.
pub(crate) fn within(path: &Path, root: &Path) -> bool {
    let (p, r) = (path.as_os_str().as_bytes(), root.as_os_str().as_bytes());
    p.starts_with(r) && (p.len() == r.len() || r == b"/" || p.get(r.len()) == Some(&b'/'))
}

/// Folds `.` and `..` without touching the file system.
pub(crate) fn lexical_absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined;
    let path = if path.is_absolute() {
        path
    } else {
        joined = cwd.join(path);
        &joined
    };
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Canonical form: the longest existing prefix canonicalized (symlinks
/// resolved), the rest appended with `..` folded.
pub(crate) fn canonical(path: &Path, cwd: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    if let Ok(c) = crate::resolve::canonicalize(&absolute) {
        return c;
    }
    let components: Vec<Component<'_>> = absolute.components().collect();
    for split in (1..components.len()).rev() {
        let prefix: PathBuf = components[..split].iter().collect();
        if let Ok(base) = crate::resolve::canonicalize(&prefix) {
            let rest: PathBuf = components[split..].iter().collect();
            return lexical_absolute(&rest, &base);
        }
    }
    lexical_absolute(&absolute, Path::new("/"))
}

/// Canonical form of a configured root (it may not exist yet).
fn root(path: &Path) -> PathBuf {
    canonical(path, Path::new("/"))
}

impl PathRules {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        workspace: &Path,
        home: &Path,
        read_roots: &[PathBuf],
        write_roots: &[PathBuf],
        deny_paths: &[PathBuf],
        allow_paths: &[PathBuf],
        protected_paths: &[PathBuf],
        search_path: &[PathBuf],
    ) -> Result<PathRules, PolicyError> {
        for (setting, list) in [
            ("read_roots", read_roots),
            ("write_roots", write_roots),
            ("deny_paths", deny_paths),
            ("allow_paths", allow_paths),
            ("protected_paths", protected_paths),
        ] {
            if let Some(bad) = list.iter().find(|p| !p.is_absolute()) {
                return Err(PolicyError::PathSetting {
                    setting: setting.to_string(),
                    path: bad.display().to_string(),
                    message: "must be an absolute path".to_string(),
                });
            }
        }
        if !workspace.is_absolute() {
            return Err(PolicyError::PathSetting {
                setting: "workspace".to_string(),
                path: workspace.display().to_string(),
                message: "must be an absolute path".to_string(),
            });
        }
        let mut writes: Vec<PathBuf> = std::iter::once(workspace)
            .chain(write_roots.iter().map(PathBuf::as_path))
            .map(root)
            .collect();
        let sinks = crate::defaults::system_write_sinks();
        let mut reads: Vec<PathBuf> = writes.clone();
        reads.extend(read_roots.iter().map(|p| root(p)));
        reads.extend(crate::defaults::system_read_roots().iter().map(|p| root(p)));
        for dir in search_path {
            reads.push(root(dir));
            if let Some(parent) = dir.parent().filter(|p| *p != Path::new("/")) {
                reads.push(root(parent));
            }
        }
        writes.extend(sinks.iter().map(|p| root(p)));
        let mut denied: Vec<PathBuf> = Vec::new();
        for p in crate::defaults::home_denied_paths(home)
            .iter()
            .chain(deny_paths)
            .chain(protected_paths)
        {
            denied.push(lexical_absolute(p, Path::new("/")));
            denied.push(root(p));
        }
        let mut globs = GlobSetBuilder::new();
        let mut glob_prefixes = Vec::new();
        for pattern in crate::defaults::system_denied_paths() {
            let parts: Vec<String> = pattern
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            let literal: PathBuf = std::iter::once("/".to_string())
                .chain(
                    parts
                        .iter()
                        .take_while(|p| !p.contains(['*', '?', '[', '{']))
                        .cloned(),
                )
                .collect();
            glob_prefixes.push((literal, parts));
            let glob = Glob::new(&pattern).map_err(|e| PolicyError::PathSetting {
                setting: "denied path".to_string(),
                path: pattern.clone(),
                message: e.to_string(),
            })?;
            globs.add(glob);
        }
        let denied_globs = globs.build().map_err(|e| PolicyError::PathSetting {
            setting: "denied path".to_string(),
            path: String::new(),
            message: e.to_string(),
        })?;
        // Allow paths re-enable defaults only; protected paths stay denied.
        let allowed = allow_paths
            .iter()
            .filter(|a| {
                !protected_paths
                    .iter()
                    .any(|p| a.starts_with(p) || p.starts_with(a))
            })
            .map(|p| root(p))
            .collect();
        let mut write_protected: Vec<PathBuf> = Vec::new();
        if !home.as_os_str().is_empty() {
            for p in crate::defaults::home_write_protected(home) {
                write_protected.push(lexical_absolute(&p, Path::new("/")));
                write_protected.push(root(&p));
            }
        }
        for list in [&mut reads, &mut writes, &mut denied, &mut write_protected] {
            list.sort();
            list.dedup();
        }
        Ok(PathRules {
            read_roots: reads,
            write_roots: writes,
            denied,
            denied_globs,
            allowed,
            glob_prefixes,
            write_protected,
            home: home.to_path_buf(),
        })
    }

    fn is_denied(&self, path: &Path) -> Option<PathBuf> {
        if self.allowed.iter().any(|a| within(path, a)) {
            return None;
        }
        if let Some(d) = self.denied.iter().find(|d| within(path, d)) {
            return Some(d.clone());
        }
        path.ancestors()
            .find(|a| self.denied_globs.is_match(a))
            .map(Path::to_path_buf)
    }

    /// A denied path inside `dir` (for recursive reads and writes), the
    /// denied globs included: `/etc` holds `/etc/shadow`, `/proc/1` holds
    /// `/proc/*/environ`.
    fn contains_denied(&self, dir: &Path) -> Option<PathBuf> {
        if let Some(d) = self
            .denied
            .iter()
            .find(|d| within(d, dir) && !self.allowed.iter().any(|a| within(d, a)))
        {
            return Some(d.clone());
        }
        let depth = dir.components().count().saturating_sub(1);
        for (prefix, parts) in &self.glob_prefixes {
            if within(prefix, dir) {
                return Some(prefix.clone());
            }
            if within(dir, prefix) && parts.len() > depth {
                // Put the directory's own components in place of the glob's
                // first ones: does what remains below it match?
                let below: PathBuf = dir.join(parts[depth..].join("/"));
                let mut probe = String::new();
                for (i, c) in below.components().skip(1).enumerate() {
                    probe.push('/');
                    match parts.get(i) {
                        Some(p) if i >= depth => probe.push_str(p),
                        Some(_) | None => probe.push_str(&c.as_os_str().to_string_lossy()),
                    }
                }
                if self.denied_globs.is_match(&probe) {
                    return Some(PathBuf::from(probe));
                }
            }
        }
        None
    }

    /// Why a write to `path` (final form) would change something that runs
    /// code or belongs to leash, if it would.
    fn write_protection(&self, path: &Path, recursive: bool) -> Option<String> {
        if let Some(p) = self.write_protected.iter().find(|p| within(path, p)) {
            return Some(format!(
                "`{}` makes programs run code later (start-up or tool configuration)",
                p.display()
            ));
        }
        if path.components().any(|c| {
            crate::defaults::CODE_BEARING_NAMES.contains(&c.as_os_str().to_str().unwrap_or(""))
        }) {
            return Some(
                "it is inside a `.git` directory or names a file that runs code (`.git`, `.envrc`)"
                    .to_string(),
            );
        }
        let inside = |p: &Path| self.write_roots.iter().any(|r| within(p, r));
        if let Some(repo) = crate::repo::write_touches_repository(path, inside) {
            return Some(format!(
                "`{}` is (or would become) a directory git accepts as a repository, whose files run code",
                repo.display()
            ));
        }
        if recursive {
            if let Some(p) = self.write_protected.iter().find(|p| within(p, path)) {
                return Some(format!("it holds `{}`", p.display()));
            }
            for name in crate::defaults::CODE_BEARING_NAMES {
                if path.join(name).symlink_metadata().is_ok() {
                    return Some(format!("it holds `{}`", path.join(name).display()));
                }
            }
            if crate::repo::is_repository_dir(path) {
                return Some("it is a repository directory".to_string());
            }
        }
        None
    }

    /// The repository git would use when run in `cwd` (or at `git_dir`), if it
    /// is not a real repository inside the roots: a bare lookalike, a `.git`
    /// file pointing somewhere that is not one, a `--git-dir` that is not a
    /// `.git` directory inside the writable roots.
    pub fn repository(&self, cwd: &Path, git_dir: Option<&str>) -> Option<PathFinding> {
        let deny = |reason: String| PathFinding {
            rule: "paths.not-a-repository",
            decision: Decision::Deny,
            reason,
            hint: "run git only in the workspace's own repository",
        };
        let inside = |p: &Path| self.write_roots.iter().any(|r| within(p, r));
        if let Some(dir) = git_dir {
            let target = crate::resolve::final_path(Path::new(dir), cwd);
            let real = target.file_name().is_some_and(|n| n == ".git")
                && target.is_dir()
                && inside(&target);
            return (!real).then(|| {
                deny(format!(
                    "`--git-dir {dir}` is not a `.git` directory of a repository inside the roots"
                ))
            });
        }
        match crate::repo::discover(&crate::resolve::final_path(cwd, Path::new("/"))) {
            crate::repo::Found::Dotgit(_) | crate::repo::Found::Nothing => None,
            crate::repo::Found::Linked { file, target } => {
                let real = crate::repo::is_repository_dir(&target) && inside(&target);
                (!real).then(|| {
                    deny(format!(
                        "`{}` points git at `{}`, which is not a real repository inside the roots",
                        file.display(),
                        target.display()
                    ))
                })
            }
            crate::repo::Found::Bare(dir) => Some(deny(format!(
                "git would use `{}` as a repository: a directory with HEAD, objects/ and refs/ that is not a `.git` directory (its config could run code)",
                dir.display()
            ))),
        }
    }

    /// Checks one path argument; `None` when it is fine.
    pub fn check(&self, arg: &str, cwd: &Path, access: Access) -> Option<PathFinding> {
        let path = Path::new(arg);
        let lexical = lexical_absolute(path, cwd);
        let canonical = crate::resolve::final_path(path, cwd);
        // `~/x` is literal for the program, but some programs expand it.
        let home_form = arg
            .strip_prefix("~/")
            .map(|rest| lexical_absolute(Path::new(rest), &self.home));
        for form in [Some(&lexical), Some(&canonical), home_form.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Some(denied) = self.is_denied(form) {
                return Some(PathFinding {
                    rule: "paths.denied",
                    decision: Decision::Deny,
                    reason: format!(
                        "`{arg}` is inside `{}`, which is never read or written",
                        denied.display()
                    ),
                    hint: "do not touch secrets or leash's own files; work inside the workspace",
                });
            }
        }
        match access {
            Access::Write | Access::WriteRecursive => {
                if canonical.components().any(|c| c.as_os_str() == ".git")
                    || lexical.components().any(|c| c.as_os_str() == ".git")
                {
                    return Some(PathFinding {
                        rule: "paths.git-internal",
                        decision: Decision::Deny,
                        reason: format!(
                            "`{arg}` is inside a `.git` directory (hooks and config there run code)"
                        ),
                        hint: "change repository files through git commands, not by writing into .git",
                    });
                }
                let recursive = access == Access::WriteRecursive;
                if recursive && let Some(secret) = self.contains_denied(&canonical) {
                    return Some(PathFinding {
                        rule: "paths.denied",
                        decision: Decision::Deny,
                        reason: format!(
                            "changing `{arg}` recursively would change `{}`, which is never written",
                            secret.display()
                        ),
                        hint: "work on a narrower directory",
                    });
                }
                let forms: &[&PathBuf] = if canonical == lexical {
                    &[&canonical]
                } else {
                    &[&canonical, &lexical]
                };
                for form in forms {
                    if let Some(why) = self.write_protection(form, recursive) {
                        return Some(PathFinding {
                            rule: "paths.protected",
                            decision: Decision::Deny,
                            reason: format!("`{arg}` is never written by a command: {why}"),
                            hint: "do not change files that configure git, shells or leash; work on ordinary files in the workspace",
                        });
                    }
                }
                if !self.write_roots.iter().any(|r| within(&canonical, r)) {
                    return Some(PathFinding {
                        rule: "paths.write-outside-roots",
                        decision: Decision::Deny,
                        reason: format!(
                            "`{arg}` (resolves to `{}`) is outside the writable roots",
                            canonical.display()
                        ),
                        hint: "write only inside the workspace",
                    });
                }
            }
            Access::Read | Access::ReadRecursive => {
                if access == Access::ReadRecursive
                    && let Some(secret) = self.contains_denied(&canonical)
                {
                    let secret = &secret;
                    return Some(PathFinding {
                        rule: "paths.denied",
                        decision: Decision::Deny,
                        reason: format!(
                            "reading `{arg}` recursively would include `{}`, which is never read",
                            secret.display()
                        ),
                        hint: "search a narrower directory that holds no secrets",
                    });
                }
                if !self.read_roots.iter().any(|r| within(&canonical, r)) {
                    return Some(PathFinding {
                        rule: "paths.read-outside-roots",
                        decision: Decision::Ask,
                        reason: format!(
                            "`{arg}` (resolves to `{}`) is outside the readable roots",
                            canonical.display()
                        ),
                        hint: "read files inside the workspace, or ask the person to add a read root",
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _tmp: tempfile::TempDir,
        ws: PathBuf,
        rules: PathRules,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let ws = root.join("ws");
        let home = root.join("home");
        std::fs::create_dir_all(ws.join("src")).unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::create_dir_all(root.join("ws-evil")).unwrap();
        std::fs::write(home.join(".ssh/id_rsa"), "secret").unwrap();
        symlink(home.join(".ssh"), ws.join("keys")).unwrap();
        symlink("/etc", ws.join("etc-link")).unwrap();
        let protected = vec![root.join("state")];
        let rules = PathRules::new(&ws, &home, &[], &[], &[], &[], &protected, &[]).unwrap();
        Fixture {
            _tmp: tmp,
            ws,
            rules,
        }
    }

    #[rstest]
    #[case::workspace_file("src/main.rs", Access::Read, None)]
    #[case::workspace_write("out.txt", Access::Write, None)]
    #[case::new_nested_write("new/dir/file", Access::Write, None)]
    #[case::system_read("/etc/hostname", Access::Read, None)]
    #[case::dev_null_write("/dev/null", Access::Write, None)]
    #[case::dotdot_escape_write("../ws-evil/x", Access::Write, Some("paths.write-outside-roots"))]
    #[case::sibling_prefix_is_not_inside(
        "../ws-evil/x",
        Access::Read,
        Some("paths.read-outside-roots")
    )]
    #[case::symlink_into_secret("keys/id_rsa", Access::Read, Some("paths.denied"))]
    #[case::symlink_escape_write(
        "etc-link/passwd",
        Access::Write,
        Some("paths.write-outside-roots")
    )]
    #[case::nonexistent_dotdot(
        "nope/../../../../etc/x",
        Access::Write,
        Some("paths.write-outside-roots")
    )]
    #[case::shadow("/etc/shadow", Access::Read, Some("paths.denied"))]
    #[case::proc_environ("/proc/self/environ", Access::Read, Some("paths.denied"))]
    #[case::proc_pid_mem("/proc/1/mem", Access::Read, Some("paths.denied"))]
    #[case::git_hooks_write(".git/hooks/pre-commit", Access::Write, Some("paths.git-internal"))]
    #[case::git_config_write("sub/.git/config", Access::Write, Some("paths.git-internal"))]
    #[case::git_config_read(".git/config", Access::Read, None)]
    #[case::outside_read("/var/log/syslog", Access::Read, Some("paths.read-outside-roots"))]
    fn path_checks(#[case] arg: &str, #[case] access: Access, #[case] rule: Option<&str>) {
        let f = fixture();
        let got = f.rules.check(arg, &f.ws, access).map(|p| p.rule);
        assert_eq!(got, rule, "{arg}");
    }

    #[test]
    fn secrets_and_protected_paths_are_denied_by_absolute_path() {
        let f = fixture();
        let home = f.ws.parent().unwrap().join("home");
        let key = home.join(".ssh/id_rsa");
        assert_eq!(
            f.rules
                .check(key.to_str().unwrap(), &f.ws, Access::Read)
                .unwrap()
                .rule,
            "paths.denied"
        );
        let state = f.ws.parent().unwrap().join("state/leash.db");
        assert_eq!(
            f.rules
                .check(state.to_str().unwrap(), &f.ws, Access::Write)
                .unwrap()
                .rule,
            "paths.denied"
        );
        assert_eq!(
            f.rules
                .check(home.to_str().unwrap(), &f.ws, Access::ReadRecursive)
                .unwrap()
                .rule,
            "paths.denied"
        );
    }
}
