//! The fixed environment every child gets. Nothing from leash's own environment
//! passes through, with one Termux exception (termux-exec's `LD_PRELOAD`, without
//! which Termux programs cannot exec each other), and only when it points at
//! Termux's own library.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

/// What the scrub needs to know about a Termux parent: its `$PREFIX` and the
/// `LD_PRELOAD` value leash itself was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermuxEnv {
    /// Termux's `$PREFIX`, e.g. `/data/data/com.termux/files/usr`.
    pub prefix: PathBuf,
    /// The parent's `LD_PRELOAD`, if any.
    pub ld_preload: Option<OsString>,
}

impl TermuxEnv {
    /// Reads `$PREFIX` and `$LD_PRELOAD` from this process when it runs under
    /// Termux ([`leash_system_paths::termux_prefix`]); `None`
    /// elsewhere.
    pub fn from_process_env() -> Option<TermuxEnv> {
        // The one Termux detector every crate shares.
        leash_system_paths::termux_prefix().map(|prefix| TermuxEnv {
            prefix,
            ld_preload: std::env::var_os("LD_PRELOAD"),
        })
    }

    /// The `LD_PRELOAD` value to keep: exactly one absolute path directly in
    /// `$PREFIX/lib` named `libtermux-exec*.so`, with no `.`/`..` components.
    /// Lists (space or colon separated), relative paths and anything else are
    /// dropped.
    pub fn trusted_ld_preload(&self) -> Option<&OsStr> {
        let value = self.ld_preload.as_deref()?;
        let text = value.to_str()?;
        if text.is_empty() || text.contains([' ', ':', '\t', '\n']) {
            return None;
        }
        let path = Path::new(text);
        let plain = path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !path.is_absolute() || !plain || !self.prefix.is_absolute() {
            return None;
        }
        let name = path.file_name()?.to_str()?;
        let in_prefix_lib = path.parent() == Some(self.prefix.join("lib").as_path());
        (in_prefix_lib && name.starts_with("libtermux-exec") && name.ends_with(".so"))
            .then_some(value)
    }
}

/// The complete environment of a child: `PATH`, `HOME`, `LANG=C.UTF-8`,
/// `TMPDIR`, `TERM=dumb`, plus termux-exec's `LD_PRELOAD` when `termux` says it is
/// trustworthy. `LD_*`, `GIT_*`, `PAGER`, `LESSOPEN`, `PYTHON*`, `NODE_OPTIONS`,
/// `BASH_ENV` and everything else never pass: the executor clears the
/// environment and sets exactly this list. (The executor replaces `TMPDIR` by
/// the run's private tmp.)
pub fn scrubbed_env(
    home: &Path,
    tmpdir: &Path,
    path: &OsStr,
    termux: Option<&TermuxEnv>,
) -> Vec<(OsString, OsString)> {
    let mut env = vec![
        (OsString::from("PATH"), path.to_owned()),
        (OsString::from("HOME"), home.as_os_str().to_owned()),
        (OsString::from("LANG"), OsString::from("C.UTF-8")),
        (OsString::from("TMPDIR"), tmpdir.as_os_str().to_owned()),
        (OsString::from("TERM"), OsString::from("dumb")),
    ];
    if let Some(preload) = termux.and_then(TermuxEnv::trusted_ld_preload) {
        env.push((OsString::from("LD_PRELOAD"), preload.to_owned()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const PREFIX: &str = "/data/data/com.termux/files/usr";

    fn termux(ld_preload: Option<&str>) -> TermuxEnv {
        TermuxEnv {
            prefix: PathBuf::from(PREFIX),
            ld_preload: ld_preload.map(OsString::from),
        }
    }

    fn value<'a>(env: &'a [(OsString, OsString)], key: &str) -> Option<&'a OsStr> {
        env.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_os_str())
    }

    #[test]
    fn fixed_keys_only_off_termux() {
        let env = scrubbed_env(
            Path::new("/home/u"),
            Path::new("/tmp/x"),
            OsStr::new("/usr/bin:/bin"),
            None,
        );
        let keys: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(keys, ["PATH", "HOME", "LANG", "TMPDIR", "TERM"]);
        assert_eq!(value(&env, "LANG"), Some(OsStr::new("C.UTF-8")));
        assert_eq!(value(&env, "TERM"), Some(OsStr::new("dumb")));
        assert_eq!(value(&env, "HOME"), Some(OsStr::new("/home/u")));
    }

    #[rstest]
    #[case::termux_exec_classic("/data/data/com.termux/files/usr/lib/libtermux-exec.so", true)]
    #[case::termux_exec_ld_preload_variant(
        "/data/data/com.termux/files/usr/lib/libtermux-exec-ld-preload.so",
        true
    )]
    #[case::foreign_library("/tmp/evil.so", false)]
    #[case::dotdot_escape_from_prefix_lib(
        "/data/data/com.termux/files/usr/lib/../../evil/libtermux-exec.so",
        false
    )]
    #[case::subdirectory_of_prefix_lib(
        "/data/data/com.termux/files/usr/lib/sub/libtermux-exec.so",
        false
    )]
    #[case::colon_list_smuggling_a_second_library(
        "/data/data/com.termux/files/usr/lib/libtermux-exec.so:/tmp/evil.so",
        false
    )]
    #[case::space_list_smuggling_a_second_library(
        "/data/data/com.termux/files/usr/lib/libtermux-exec.so /tmp/evil.so",
        false
    )]
    #[case::relative_path("lib/libtermux-exec.so", false)]
    #[case::wrong_name_in_prefix_lib("/data/data/com.termux/files/usr/lib/libc++_shared.so", false)]
    #[case::name_prefix_but_not_a_shared_object(
        "/data/data/com.termux/files/usr/lib/libtermux-exec.so.evil",
        false
    )]
    #[case::empty("", false)]
    fn termux_ld_preload_kept_only_for_termux_exec(#[case] preload: &str, #[case] kept: bool) {
        let t = termux(Some(preload));
        let env = scrubbed_env(
            Path::new("/data/data/com.termux/files/home"),
            Path::new("/data/data/com.termux/files/home/.cache/t"),
            OsStr::new("/data/data/com.termux/files/usr/bin"),
            Some(&t),
        );
        let expected = kept.then_some(OsStr::new(preload));
        assert_eq!(
            value(&env, "LD_PRELOAD"),
            expected,
            "LD_PRELOAD={preload:?}"
        );
    }

    #[test]
    fn termux_without_ld_preload_adds_nothing() {
        let t = termux(None);
        let env = scrubbed_env(Path::new("/h"), Path::new("/t"), OsStr::new("/b"), Some(&t));
        assert_eq!(value(&env, "LD_PRELOAD"), None);
        assert_eq!(env.len(), 5);
    }

    #[test]
    fn relative_prefix_is_never_trusted() {
        let t = TermuxEnv {
            prefix: PathBuf::from("usr"),
            ld_preload: Some(OsString::from("usr/lib/libtermux-exec.so")),
        };
        assert_eq!(t.trusted_ld_preload(), None);
    }
}
