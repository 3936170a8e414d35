//! `security.run_as`: whom commands run as when leash runs as root.
//!
//! As root, every command runs as the configured unprivileged user (uid and
//! primary gid from the password database, supplementary groups cleared by the
//! sandbox), or not at all: a uid-0 child, even without capabilities, owns
//! every root-owned file on the machine. Not as root, `run_as` may only name
//! leash's own user (switching needs privileges leash does not have).

use leash_sandbox::RunAs;
use nix::unistd::{Uid, User};

/// The key, for messages.
pub(crate) const RUN_AS_KEY: &str = "security.run_as";

/// Who commands run as, or why none may run. Computed once per engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAsDecision {
    /// Run as leash's own user (leash is not root).
    Inherit,
    /// Switch to this user before exec.
    Switch {
        /// The user's name (`security.run_as`).
        user: String,
        /// Its uid, gid and supplementary groups.
        ids: RunAs,
        /// The user's home directory (the child's `HOME`).
        home: std::path::PathBuf,
    },
    /// Refuse every command, with this reason (names the key).
    Refuse(String),
}

impl RunAsDecision {
    /// Decides for the current process and the configured value.
    pub fn decide(configured: Option<&str>) -> RunAsDecision {
        decide_for(Uid::effective(), configured)
    }

    /// The ids to switch to, or the refusal.
    pub fn ids(&self) -> Result<Option<RunAs>, String> {
        match self {
            RunAsDecision::Inherit => Ok(None),
            RunAsDecision::Switch { ids, .. } => Ok(Some(*ids)),
            RunAsDecision::Refuse(why) => Err(why.clone()),
        }
    }
}

fn lookup(name: &str) -> Result<User, String> {
    let found = match name.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(name),
    };
    match found {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(format!(
            "{RUN_AS_KEY}: no user `{name}` in the password database (create it, e.g. `useradd --system --create-home {name}`, or run `leash init` as root)"
        )),
        Err(e) => Err(format!("{RUN_AS_KEY}: looking up `{name}`: {e}")),
    }
}

fn decide_for(euid: Uid, configured: Option<&str>) -> RunAsDecision {
    if !euid.is_root() {
        return match configured {
            None => RunAsDecision::Inherit,
            Some(name) => match lookup(name) {
                Ok(user) if user.uid == euid => RunAsDecision::Inherit,
                Ok(user) => RunAsDecision::Refuse(format!(
                    "{RUN_AS_KEY} is `{name}` (uid {}), but leash runs as uid {euid}, not root, and cannot switch users; unset it or run leash as that user",
                    user.uid
                )),
                Err(why) => RunAsDecision::Refuse(why),
            },
        };
    }
    let Some(name) = configured else {
        return RunAsDecision::Refuse(format!(
            "leash runs as root and {RUN_AS_KEY} is not set: commands never run as root; set {RUN_AS_KEY} to an unprivileged user (`leash init` as root creates `leash-run`)"
        ));
    };
    match lookup(name) {
        Ok(user) if user.uid.is_root() || user.gid.as_raw() == 0 => RunAsDecision::Refuse(format!(
            "{RUN_AS_KEY} is `{name}`, which is root (uid {} gid {}): commands never run as root; name an unprivileged user",
            user.uid, user.gid
        )),
        Ok(user) => RunAsDecision::Switch {
            user: user.name,
            home: user.dir,
            ids: RunAs {
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
            },
        },
        Err(why) => RunAsDecision::Refuse(why),
    }
}

/// Gives `dir` (recursively, without following symlinks) to `ids` and makes
/// every ancestor directory traversable (`o+x`), so a `run_as` user can work
/// in a workspace that root made, e.g. under a 0700 temp dir or `/root`. Used
/// by `leash init` as root and by tests that run as root.
pub fn hand_over(dir: &std::path::Path, ids: RunAs) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    chown_tree(dir, ids)?;
    for ancestor in dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(ancestor, std::fs::Permissions::from_mode(mode | 0o001))?;
        }
    }
    Ok(())
}

fn chown_tree(path: &std::path::Path, ids: RunAs) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(ids.uid), Some(ids.gid))?;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), ids)?;
        }
    }
    Ok(())
}

/// When leash runs as root: looks `user` up and hands each of `dirs` over to
/// it ([`hand_over`]), returning the user's name, which then belongs in
/// `security.run_as`. Not root: does nothing and returns `None`. The one place
/// `leash init` and every test that runs commands as root prepare a workspace.
pub fn hand_over_if_root(user: &str, dirs: &[&std::path::Path]) -> Result<Option<String>, String> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let found = lookup(user)?;
    if found.uid.is_root() {
        return Err(format!("{RUN_AS_KEY}: `{user}` is root"));
    }
    let ids = RunAs {
        uid: found.uid.as_raw(),
        gid: found.gid.as_raw(),
    };
    for dir in dirs {
        hand_over(dir, ids).map_err(|e| format!("giving {} to {user}: {e}", dir.display()))?;
    }
    Ok(Some(found.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_without_run_as_refuses_and_names_the_key() {
        let d = decide_for(Uid::from_raw(0), None);
        let RunAsDecision::Refuse(why) = d else {
            panic!("{d:?}")
        };
        assert!(why.contains("security.run_as"), "{why}");
    }

    #[test]
    fn root_with_root_run_as_refuses() {
        for name in ["root", "0"] {
            let d = decide_for(Uid::from_raw(0), Some(name));
            assert!(matches!(d, RunAsDecision::Refuse(_)), "{name}: {d:?}");
        }
    }

    #[test]
    fn root_with_an_unprivileged_user_switches() {
        let d = decide_for(Uid::from_raw(0), Some("65534"));
        match d {
            RunAsDecision::Switch { ids, .. } => assert_eq!(ids.uid, 65534),
            RunAsDecision::Refuse(why) => {
                eprintln!("no uid 65534 in this machine's password database: {why}");
                assert!(why.contains("security.run_as"));
            }
            RunAsDecision::Inherit => panic!("root never inherits"),
        }
    }

    #[test]
    fn unknown_user_refuses() {
        let d = decide_for(Uid::from_raw(0), Some("no-such-user-leash-test"));
        assert!(
            matches!(d, RunAsDecision::Refuse(ref w) if w.contains("no user")),
            "{d:?}"
        );
    }

    #[test]
    fn not_root_without_run_as_inherits() {
        assert_eq!(
            decide_for(Uid::from_raw(1000), None),
            RunAsDecision::Inherit
        );
    }
}
