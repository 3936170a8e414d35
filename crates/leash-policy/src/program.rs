//! Program identity: which file `argv[0]` runs and what it is judged as.
//!
//! `argv[0]` is resolved through the fixed search path from the settings (never
//! the caller's `$PATH`) to a canonical file, symlinks resolved. The identity is
//! that file's name (`/bin/rm`, `/usr/bin/rm` and a symlink to rm are all `rm`),
//! except for multi-call binaries (busybox, toybox, coreutils) which pick their
//! behaviour from the name they were called by. A program that lives in, or is
//! reached through, a directory the model can write is never trusted by name.
//!
//! Successful resolutions are cached: the cached entry holds the canonical file
//! that was judged, and that exact file is what the executor runs, so a stale
//! entry can only make a command fail, never run something that was not judged.
//! Failures are not cached, so a program installed after load resolves.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Names of binaries that act as many programs, chosen by `argv[0]`.
const MULTI_CALL: &[&str] = &["busybox", "busybox.static", "toybox", "coreutils"];

/// Most entries kept in the resolution cache (it is cleared when full).
const CACHE_LIMIT: usize = 4096;

/// A resolved program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// Canonical absolute path of the file that runs.
    pub program: PathBuf,
    /// The raw identity: the canonical file name, or for multi-call binaries the
    /// name it was called by.
    pub identity: String,
    /// Whether the file is a multi-call binary.
    pub multi_call: bool,
}

/// Why a program was not resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResolveError {
    /// Not found, not executable, or not a plausible program name.
    Unknown(String),
    /// Found, but in (or through) a location the model may write.
    Untrusted(String),
}

#[derive(Debug)]
pub(crate) struct ProgramResolver {
    search_path: Vec<PathBuf>,
    canonical_search_dirs: Vec<PathBuf>,
    untrusted_roots: Vec<PathBuf>,
    shared_roots: Vec<PathBuf>,
    /// Termux's `$PREFIX` on Termux: programs outside its program roots (and
    /// the configured search path) are Android's, never trusted.
    termux_prefix: Option<PathBuf>,
    /// The directories a person chose or that are Termux's, as given and
    /// canonical (`/data/data` is a symlink to `/data/user/0` on many
    /// phones): [`leash_system_paths::untrusted_program`]'s extra roots.
    listed_roots: Vec<PathBuf>,
    cache: RwLock<HashMap<String, Arc<Resolved>>>,
}

/// Whether a program name is plausible: portable filename characters only, so
/// a look-alike (Cyrillic `а`, fullwidth letters) never resolves.
fn plausible_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'/'))
}

pub(crate) fn is_multi_call(file_name: &str) -> bool {
    MULTI_CALL.contains(&file_name)
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

impl ProgramResolver {
    /// `untrusted_roots` are canonical directories the model can write
    /// (workspace, write roots): never trusted. `shared_roots` (temp dirs, the
    /// home directory) are writable by other programs: untrusted too, except
    /// for search path entries inside them that the user configured.
    pub fn new(
        search_path: &[PathBuf],
        untrusted_roots: Vec<PathBuf>,
        shared_roots: Vec<PathBuf>,
    ) -> Self {
        let canonical_search_dirs = search_path
            .iter()
            .filter_map(|d| std::fs::canonicalize(d).ok())
            .collect();
        ProgramResolver {
            search_path: search_path.to_vec(),
            canonical_search_dirs,
            untrusted_roots,
            shared_roots,
            termux_prefix: None,
            listed_roots: Vec::new(),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// On Termux (`Some($PREFIX)`), trusts programs only under Termux's program
    /// roots and the configured search path (see
    /// [`leash_system_paths::untrusted_program`]).
    pub fn on_termux(mut self, termux_prefix: Option<PathBuf>) -> Self {
        let termux_roots = leash_system_paths::program_roots(termux_prefix.as_deref());
        let canonical_roots = termux_roots
            .iter()
            .filter_map(|d| std::fs::canonicalize(d).ok());
        self.listed_roots = self
            .search_path
            .iter()
            .chain(&self.canonical_search_dirs)
            .cloned()
            .chain(canonical_roots)
            .collect();
        self.termux_prefix = termux_prefix;
        self
    }

    /// Resolves `argv0`.
    pub fn resolve(&self, argv0: &str) -> Result<Arc<Resolved>, ResolveError> {
        if let Ok(cache) = self.cache.read()
            && let Some(hit) = cache.get(argv0)
        {
            return Ok(Arc::clone(hit));
        }
        let resolved = Arc::new(self.resolve_uncached(argv0)?);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(argv0.to_string(), Arc::clone(&resolved));
        }
        Ok(resolved)
    }

    fn resolve_uncached(&self, argv0: &str) -> Result<Resolved, ResolveError> {
        if !plausible_name(argv0) || argv0.ends_with('/') {
            return Err(ResolveError::Unknown(format!(
                "`{argv0}` is not a plain program name (only ASCII letters, digits and . _ - + / are used in program names)"
            )));
        }
        let (called_as, file) = if argv0.contains('/') {
            if !argv0.starts_with('/') {
                return Err(ResolveError::Untrusted(format!(
                    "`{argv0}` is a relative path: a program the model could have written is never run by name"
                )));
            }
            let given = PathBuf::from(argv0);
            if let Some(parent) = given.parent() {
                let parent = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
                self.check_location(&parent, argv0)?;
            }
            (given.clone(), given)
        } else {
            let found = self
                .search_path
                .iter()
                .map(|dir| dir.join(argv0))
                .find(|candidate| is_executable_file(candidate));
            match found {
                Some(found) => (found.clone(), found),
                None => {
                    return Err(ResolveError::Unknown(format!(
                        "`{argv0}` is not an executable program in the search path"
                    )));
                }
            }
        };
        if !is_executable_file(&file) {
            return Err(ResolveError::Unknown(format!(
                "`{argv0}` is not an executable file"
            )));
        }
        let canonical = crate::resolve::canonicalize(&file)
            .map_err(|e| ResolveError::Unknown(format!("`{argv0}` cannot be resolved: {e}")))?;
        self.check_location(&canonical, argv0)?;
        let canonical_name = file_name(&canonical).unwrap_or_default().to_string();
        let multi_call = is_multi_call(&canonical_name);
        let identity = if multi_call {
            file_name(&called_as).unwrap_or_default().to_string()
        } else {
            canonical_name
        };
        if identity.is_empty() {
            return Err(ResolveError::Unknown(format!("`{argv0}` has no file name")));
        }
        Ok(Resolved {
            program: canonical,
            identity,
            multi_call,
        })
    }

    /// Refuses files (or the directories they were reached through) that the
    /// model could have written.
    fn check_location(&self, path: &Path, argv0: &str) -> Result<(), ResolveError> {
        if let Some(reason) = leash_system_paths::untrusted_program(
            path,
            self.termux_prefix.as_deref(),
            &self.listed_roots,
        ) {
            return Err(ResolveError::Untrusted(format!("`{argv0}`: {reason}")));
        }
        if let Some(root) = self.untrusted_roots.iter().find(|r| path.starts_with(r)) {
            return Err(ResolveError::Untrusted(format!(
                "`{argv0}` resolves into `{}`, a writable location: programs there are never trusted by name",
                root.display()
            )));
        }
        let in_search_dir = self
            .canonical_search_dirs
            .iter()
            .any(|d| path.starts_with(d));
        if let Some(root) = self.shared_roots.iter().find(|r| path.starts_with(r))
            && !in_search_dir
        {
            return Err(ResolveError::Untrusted(format!(
                "`{argv0}` resolves into `{}` (temporary files or the home directory), outside the configured search path",
                root.display()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn exe(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/true\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        bin: PathBuf,
        ws: PathBuf,
        resolver: ProgramResolver,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let bin = root.join("bin");
        let ws = root.join("ws");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&ws).unwrap();
        exe(&bin, "rm");
        exe(&bin, "busybox");
        exe(&bin, "python3.12");
        symlink(bin.join("python3.12"), bin.join("python3")).unwrap();
        symlink(bin.join("busybox"), bin.join("ls")).unwrap();
        symlink("rm", bin.join("del")).unwrap();
        std::fs::write(bin.join("notexec"), "x").unwrap();
        exe(&ws, "evil");
        symlink(bin.join("busybox"), ws.join("cat")).unwrap();
        let resolver = ProgramResolver::new(
            std::slice::from_ref(&bin),
            vec![ws.clone()],
            vec![root.join("shared")],
        );
        Fixture {
            _tmp: tmp,
            bin,
            ws,
            resolver,
        }
    }

    #[test]
    fn names_paths_and_symlinks_resolve_to_the_canonical_file() {
        let f = fixture();
        let by_name = f.resolver.resolve("rm").unwrap();
        assert_eq!(by_name.identity, "rm");
        assert_eq!(by_name.program, f.bin.join("rm"));
        let abs = f
            .resolver
            .resolve(f.bin.join("rm").to_str().unwrap())
            .unwrap();
        assert_eq!(abs.program, by_name.program);
        assert_eq!(f.resolver.resolve("del").unwrap().identity, "rm");
        assert_eq!(
            f.resolver.resolve("python3").unwrap().identity,
            "python3.12"
        );
    }

    #[test]
    fn multi_call_binaries_are_judged_by_the_called_name() {
        let f = fixture();
        let ls = f.resolver.resolve("ls").unwrap();
        assert!(ls.multi_call);
        assert_eq!(ls.identity, "ls");
        assert_eq!(ls.program, f.bin.join("busybox"));
        assert_eq!(f.resolver.resolve("busybox").unwrap().identity, "busybox");
    }

    #[rstest::rstest]
    #[case::dot_slash("./evil")]
    #[case::relative_with_slash("ws/evil")]
    #[case::parent("../bin/rm")]
    fn relative_paths_are_untrusted(#[case] argv0: &str) {
        let f = fixture();
        assert!(matches!(
            f.resolver.resolve(argv0),
            Err(ResolveError::Untrusted(_))
        ));
    }

    #[test]
    fn programs_in_writable_roots_are_untrusted() {
        let f = fixture();
        let evil = f.ws.join("evil");
        assert!(matches!(
            f.resolver.resolve(evil.to_str().unwrap()),
            Err(ResolveError::Untrusted(_))
        ));
        // A multi-call symlink in the workspace would be trusted by its name.
        let cat = f.ws.join("cat");
        assert!(matches!(
            f.resolver.resolve(cat.to_str().unwrap()),
            Err(ResolveError::Untrusted(_))
        ));
    }

    #[rstest::rstest]
    #[case::missing("nosuchprogram")]
    #[case::not_executable("notexec")]
    #[case::cyrillic_a("c\u{0430}t")]
    #[case::fullwidth("\u{FF52}m")]
    #[case::option_like("-rf")]
    #[case::trailing_slash("/usr/bin/")]
    fn unknown_programs_do_not_resolve(#[case] argv0: &str) {
        let f = fixture();
        assert!(matches!(
            f.resolver.resolve(argv0),
            Err(ResolveError::Unknown(_))
        ));
    }

    #[test]
    fn a_program_installed_after_the_first_lookup_resolves() {
        let f = fixture();
        assert!(f.resolver.resolve("newtool").is_err());
        exe(&f.bin, "newtool");
        assert_eq!(f.resolver.resolve("newtool").unwrap().identity, "newtool");
    }

    /// A fake Termux: `$PREFIX` in a temp dir with its own `bin/sh`, the
    /// resolver told it runs there (as `PolicySettings` does when
    /// `$TERMUX_VERSION` and `$PREFIX` say so).
    fn fake_termux() -> (tempfile::TempDir, PathBuf, ProgramResolver) {
        let tmp = tempfile::tempdir().unwrap();
        let prefix = std::fs::canonicalize(tmp.path()).unwrap().join("usr");
        let bin = prefix.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        exe(&bin, "sh");
        symlink("/usr/bin/env", bin.join("env")).unwrap();
        let resolver = ProgramResolver::new(std::slice::from_ref(&bin), Vec::new(), Vec::new())
            .on_termux(Some(prefix.clone()));
        (tmp, prefix, resolver)
    }

    #[rstest::rstest]
    #[case::fhs_program_by_path("/usr/bin/env")]
    #[case::fhs_shell_by_path("/bin/sh")]
    #[case::prefix_name_leading_to_an_android_program("env")]
    fn on_termux_programs_outside_the_prefix_are_untrusted(#[case] argv0: &str) {
        if !Path::new("/usr/bin/env").exists() || !Path::new("/bin/sh").exists() {
            eprintln!(
                "skipped: this machine has no /usr/bin/env or /bin/sh to stand in for Android's programs"
            );
            return;
        }
        let (_tmp, _prefix, resolver) = fake_termux();
        let refused = resolver.resolve(argv0);
        assert!(
            matches!(&refused, Err(ResolveError::Untrusted(why)) if why.contains("Termux")),
            "{argv0}: {refused:?}"
        );
        // The same file is trusted off Termux: the refusal is Termux's rule.
        let linux = ProgramResolver::new(&[PathBuf::from("/usr/bin")], Vec::new(), Vec::new());
        assert!(linux.resolve("/usr/bin/env").is_ok());
    }

    #[test]
    fn on_termux_the_prefix_shell_is_trusted_and_android_shell_never() {
        let (_tmp, prefix, resolver) = fake_termux();
        assert_eq!(
            resolver.resolve("sh").unwrap().program,
            prefix.join("bin/sh")
        );
        assert!(resolver.resolve("/system/bin/sh").is_err());
    }
}
