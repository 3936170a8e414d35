//! `security.run_as` and `security.protected`: the two keys that make the
//! sandbox hold where the policy is wrong (issue 15). Kept apart from
//! `security.rs` so that they read as one concept.
//!
//! - `run_as`: the user commands run as when leash runs as root (a name from
//!   the password database or a numeric uid). Without it, leash refuses to run
//!   commands as root at all.
//! - `protected`: files that make programs run code later (shell start-up
//!   files, `.envrc`, editor and tool configs). Leash records them before each
//!   command and reverts changes the command was not approved to make. `~/`
//!   starts at the home directory; a relative entry is inside the workspace.
//!   Unset: [`DEFAULT_PROTECTED`]; `[]` protects none beyond git's control
//!   files and leash's own, which are always protected.

use crate::reader::{Fields, Reader};

/// Files protected when `security.protected` is unset.
pub const DEFAULT_PROTECTED: &[&str] = &[
    "~/.profile",
    "~/.bashrc",
    "~/.bash_profile",
    "~/.bash_login",
    "~/.bash_logout",
    "~/.zshrc",
    "~/.zshenv",
    "~/.zprofile",
    "~/.zlogin",
    "~/.config/fish/config.fish",
    "~/.inputrc",
    "~/.gitconfig",
    "~/.config/git/config",
    "~/.vimrc",
    "~/.exrc",
    "~/.config/nvim/init.vim",
    "~/.config/nvim/init.lua",
    "~/.npmrc",
    "~/.termux/boot",
    ".envrc",
    ".env",
    ".exrc",
    ".vimrc",
    ".nvim.lua",
    ".nvimrc",
    ".vscode/settings.json",
    ".vscode/tasks.json",
    ".npmrc",
    ".pre-commit-config.yaml",
    ".gitattributes",
];

/// The two keys' values, read from `security:`.
#[derive(Debug, Default)]
pub(crate) struct Hardening {
    pub(crate) run_as: Option<String>,
    pub(crate) protected: Option<Vec<String>>,
}

impl Hardening {
    pub(crate) fn read(r: &mut Reader<'_>, f: &Fields<'_>) -> Hardening {
        let mut h = Hardening::default();
        r.optional(f, "run_as", &mut h.run_as, Reader::nonempty_string);
        r.optional(f, "protected", &mut h.protected, |r, n, k| {
            r.list(n, k, Reader::nonempty_string)
        });
        h
    }
}
