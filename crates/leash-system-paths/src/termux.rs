//! Termux: whether leash runs there, and which programs it may trust there.
//!
//! One detector for every crate (the policy, the sandbox, the config's paths,
//! the daemon and `leash doctor` used to carry four slightly different ones):
//! leash runs on Termux when `$PREFIX` is an absolute path and either a
//! component of it is `com.termux` (the app's data directory, for any Android
//! user: `/data/data/com.termux/files/usr`, `/data/user/10/com.termux/...`) or
//! `$TERMUX_VERSION` is set (the Termux app sets it in every session since
//! 0.107; it also lets tests on Linux stand up a fake Termux in a temporary
//! `$PREFIX`).
//!
//! On Termux, Android's own programs (`/system/bin/*`, toybox, Android's
//! `mksh` as `/system/bin/sh`) and whatever sits in `/bin` or `/usr/bin` are
//! not Termux's: they run without termux-exec, parse shell differently, and
//! are not what the person installed. Programs are trusted there only under
//! Termux's program roots, `$PREFIX/bin` and `$PREFIX/libexec`.

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

/// The Linux program roots (the default fixed search path, in order).
pub const LINUX_PROGRAM_ROOTS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Android's shells: never trusted as a shell (or as anything else), on any
/// platform. Android's `sh` is `mksh`, whose syntax is not the one leash's
/// shell parser judges, and which runs without termux-exec.
pub const ANDROID_SHELLS: &[&str] = &["/system/bin/sh", "/system/bin/mksh", "/system/xbin/sh"];

/// Directories under `$PREFIX` whose programs are trusted on Termux.
const TERMUX_PROGRAM_DIRS: &[&str] = &["bin", "libexec"];

/// The oldest Termux:API (app and `termux-api` package) leash relies on:
/// `termux-notification --button1-action` and `termux-speech-to-text` as
/// leash uses them.
pub const MIN_TERMUX_API_VERSION: (u32, u32) = (0, 52);

/// Termux's `$PREFIX` when leash runs on Termux (see the module
/// documentation), from explicit values so tests can inject any environment.
pub fn detect_termux(prefix: Option<&OsStr>, termux_version: Option<&OsStr>) -> Option<PathBuf> {
    let prefix = PathBuf::from(prefix.filter(|p| !p.is_empty())?);
    if !prefix.is_absolute() {
        return None;
    }
    let in_termux_app = prefix
        .components()
        .any(|c| c == Component::Normal(OsStr::new("com.termux")));
    let app_says_so = termux_version.is_some_and(|v| !v.is_empty());
    (in_termux_app || app_says_so).then_some(prefix)
}

/// Termux's `$PREFIX` from this process's environment (`$PREFIX`,
/// `$TERMUX_VERSION`), or `None` off Termux.
pub fn termux_prefix() -> Option<PathBuf> {
    detect_termux(
        std::env::var_os("PREFIX").as_deref(),
        std::env::var_os("TERMUX_VERSION").as_deref(),
    )
}

/// The directories programs are trusted in: Termux's program roots under
/// `prefix` on Termux, else [`LINUX_PROGRAM_ROOTS`]. The first entry of each
/// is where programs are looked up first.
pub fn program_roots(termux_prefix: Option<&Path>) -> Vec<PathBuf> {
    match termux_prefix {
        Some(prefix) => TERMUX_PROGRAM_DIRS.iter().map(|d| prefix.join(d)).collect(),
        None => LINUX_PROGRAM_ROOTS.iter().map(PathBuf::from).collect(),
    }
}

/// The default fixed search path: `$PREFIX/bin` on Termux, else
/// [`LINUX_PROGRAM_ROOTS`].
pub fn default_search_path(termux_prefix: Option<&Path>) -> Vec<PathBuf> {
    match termux_prefix {
        Some(prefix) => vec![prefix.join("bin")],
        None => program_roots(None),
    }
}

/// Why the program file at `path` (absolute, as found or canonical) is not
/// trusted, or `None` when its location is acceptable. `extra_roots` are
/// directories the person configured (the search path): accepted too, except
/// that Android's shells are never trusted and, on Termux, nothing outside
/// `$PREFIX` that Android owns (`/system`, `/vendor`, `/apex`, `/bin`,
/// `/usr/bin`, ...) is trusted unless the person listed that directory.
pub fn untrusted_program(
    path: &Path,
    termux_prefix: Option<&Path>,
    extra_roots: &[PathBuf],
) -> Option<String> {
    if ANDROID_SHELLS.iter().any(|shell| path == Path::new(shell)) {
        return Some(format!(
            "`{}` is Android's shell (mksh, without termux-exec): never trusted",
            path.display()
        ));
    }
    let prefix = termux_prefix?;
    let roots = program_roots(Some(prefix));
    let trusted = roots
        .iter()
        .chain(extra_roots)
        .any(|root| path.starts_with(root));
    if trusted {
        return None;
    }
    Some(format!(
        "`{}` is outside Termux's program roots ({}): on Termux only Termux's own programs are trusted, not Android's",
        path.display(),
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Parses a `major.minor[.patch][-suffix]` version (Termux:API app
/// `0.52.0`, `termux-api` package `0.59.1-1`).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let core = text.trim().split(['-', '+', '~', ' ']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(prefix: Option<&str>, version: Option<&str>) -> Option<PathBuf> {
        detect_termux(prefix.map(OsStr::new), version.map(OsStr::new))
    }

    #[test]
    fn termux_is_detected_by_its_app_directory_or_its_version_variable() {
        let real = "/data/data/com.termux/files/usr";
        assert_eq!(detect(Some(real), None), Some(PathBuf::from(real)));
        let other_user = "/data/user/10/com.termux/files/usr";
        assert_eq!(
            detect(Some(other_user), None),
            Some(PathBuf::from(other_user))
        );
        assert_eq!(
            detect(Some("/tmp/fake/usr"), Some("0.118.0")),
            Some(PathBuf::from("/tmp/fake/usr"))
        );
    }

    #[test]
    fn lookalike_or_missing_prefixes_are_not_termux() {
        assert_eq!(detect(None, Some("0.118.0")), None);
        assert_eq!(detect(Some(""), Some("0.118.0")), None);
        assert_eq!(detect(Some("usr"), Some("0.118.0")), None);
        assert_eq!(detect(Some("/usr/local"), None), None);
        assert_eq!(detect(Some("/opt/com.termux.evil/usr"), None), None);
        assert_eq!(detect(Some("/usr/local"), Some("")), None);
    }

    #[test]
    fn on_termux_android_and_fhs_programs_are_not_trusted() {
        let prefix = Path::new("/data/data/com.termux/files/usr");
        for path in [
            "/system/bin/sh",
            "/system/bin/toybox",
            "/usr/bin/env",
            "/bin/sh",
            "/vendor/bin/sh",
            "/data/data/com.termux/files/usr/tmp/x",
            "/data/data/com.termux/files/usr/binx/y",
        ] {
            assert!(
                untrusted_program(Path::new(path), Some(prefix), &[]).is_some(),
                "{path} must not be trusted on Termux"
            );
        }
        for path in [
            "/data/data/com.termux/files/usr/bin/sh",
            "/data/data/com.termux/files/usr/bin/rm",
            "/data/data/com.termux/files/usr/libexec/coreutils/x",
        ] {
            assert_eq!(untrusted_program(Path::new(path), Some(prefix), &[]), None);
        }
    }

    #[test]
    fn android_shell_is_never_trusted_even_when_its_directory_is_listed() {
        let prefix = Path::new("/data/data/com.termux/files/usr");
        let listed = [PathBuf::from("/system/bin")];
        assert!(untrusted_program(Path::new("/system/bin/sh"), Some(prefix), &listed).is_some());
        assert!(untrusted_program(Path::new("/system/bin/sh"), None, &[]).is_some());
        // A directory the person listed is their choice (except the shell).
        assert_eq!(
            untrusted_program(Path::new("/system/bin/getprop"), Some(prefix), &listed),
            None
        );
    }

    #[test]
    fn off_termux_locations_are_left_to_the_policy() {
        assert_eq!(
            untrusted_program(Path::new("/usr/bin/env"), None, &[]),
            None
        );
    }

    #[test]
    fn search_path_and_program_roots_follow_the_platform() {
        let prefix = Path::new("/p/usr");
        assert_eq!(
            default_search_path(Some(prefix)),
            vec![PathBuf::from("/p/usr/bin")]
        );
        assert!(!program_roots(Some(prefix)).contains(&PathBuf::from("/usr/bin")));
        assert!(default_search_path(None).contains(&PathBuf::from("/usr/bin")));
    }

    #[test]
    fn versions_of_the_app_and_the_package_parse() {
        assert_eq!(parse_version("0.52.0"), Some((0, 52)));
        assert_eq!(parse_version("0.59.1-1\n"), Some((0, 59)));
        assert_eq!(parse_version("0.51"), Some((0, 51)));
        assert_eq!(parse_version("1"), Some((1, 0)));
        assert_eq!(parse_version("x.1"), None);
        assert_eq!(parse_version(""), None);
    }
}
