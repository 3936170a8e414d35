//! The defaults a careful user would choose, in one place so they can be read
//! and argued about: which programs may run at all, which system locations are
//! readable, which secrets are never touched.

use std::path::{Path, PathBuf};

/// Programs an assistant may run at all when the config names no whitelist.
///
/// Chosen as "what a careful user runs without thinking": read-only inspection
/// tools, text tools, file tools confined by the path rules, archivers, git, and
/// the interpreters/build tools a developer uses. Being on this list is not a
/// free pass: the built-in argument knowledge still denies exec-capable options,
/// asks before interpreters run scripts or build tools run recipes, and the path
/// rules confine reads and writes. Wrappers (`env`, `nice`, `timeout`, `nohup`,
/// `xargs`, `sh`, `bash`, `stdbuf`) are listed because they are judged by the
/// command they run, which must itself be whitelisted. Deliberately absent:
/// privilege tools (`sudo`, `su`, `doas`), raw disk tools (`dd`, `mkfs`),
/// `chown`, editors that need a terminal (`vim`, `nano`), container and cluster
/// tools (`docker`, `podman`, `kubectl`), `systemctl`, `crontab`, `ssh`/`scp`/
/// `rsync` (add them to the whitelist to use them; network rules still apply).
pub fn default_whitelist() -> Vec<String> {
    const PROGRAMS: &[&str] = &[
        // inspection and text
        "ls",
        "cat",
        "head",
        "tail",
        "wc",
        "sort",
        "uniq",
        "cut",
        "tr",
        "diff",
        "cmp",
        "comm",
        "stat",
        "file",
        "du",
        "df",
        "date",
        "uname",
        "basename",
        "dirname",
        "realpath",
        "readlink",
        "which",
        "whoami",
        "id",
        "hostname",
        "pwd",
        "echo",
        "printf",
        "true",
        "false",
        "sleep",
        "seq",
        "expr",
        "test",
        "grep",
        "egrep",
        "fgrep",
        "rg",
        "find",
        "tree",
        "nl",
        "fold",
        "fmt",
        "column",
        "paste",
        "join",
        "tac",
        "rev",
        "od",
        "xxd",
        "hexdump",
        "strings",
        "md5sum",
        "sha1sum",
        "sha224sum",
        "sha256sum",
        "sha384sum",
        "sha512sum",
        "b2sum",
        "cksum",
        "base32",
        "base64",
        "jq",
        "less",
        "more",
        "cal",
        "printenv",
        "nproc",
        "free",
        "uptime",
        "locale",
        "getconf",
        "numfmt",
        "shuf",
        "sed",
        "awk",
        // files (confined by the path rules)
        "cp",
        "mv",
        "rm",
        "mkdir",
        "rmdir",
        "touch",
        "ln",
        "chmod",
        "tee",
        "patch",
        // archives
        "tar",
        "gzip",
        "gunzip",
        "zcat",
        "bzip2",
        "bunzip2",
        "bzcat",
        "xz",
        "unxz",
        "xzcat",
        "zstd",
        "unzstd",
        "zip",
        "unzip",
        // version control
        "git",
        // interpreters and build tools (ask before running code)
        "make",
        "python",
        "python3",
        "perl",
        "ruby",
        "node",
        "npm",
        "npx",
        "pip",
        "pip3",
        "cargo",
        "rustc",
        "sqlite3",
        // network clients (denied while `network: false`)
        "curl",
        "wget",
        // wrappers, judged by what they run
        "env",
        "nice",
        "nohup",
        "timeout",
        "xargs",
        "stdbuf",
        "sh",
        "bash",
    ];
    PROGRAMS.iter().map(|p| (*p).to_string()).collect()
}

/// System locations readable by default, besides the workspace and write roots:
/// the sandbox's own system read roots (`leash_system_paths`, so the policy
/// never allows a read the sandbox refuses), narrowed where the policy is
/// stricter. `/etc` is readable (configuration an assistant legitimately
/// inspects) except for the secrets in [`system_denied_paths`]; `/proc` only
/// for a few harmless summary files (the sandbox must open all of `/proc` for
/// programs to start); `/sys`, `/root`, `/home`, `/var` and `/run` are not
/// readable without approval.
pub(crate) fn system_read_roots() -> Vec<PathBuf> {
    const PROC_SUMMARIES: &[&str] = &[
        "/proc/cpuinfo",
        "/proc/meminfo",
        "/proc/loadavg",
        "/proc/uptime",
        "/proc/version",
    ];
    leash_system_paths::SYSTEM_READ_ROOTS
        .iter()
        // Component-wise (`Path::starts_with`): `/system` is not under `/sys`.
        .filter(|root| {
            let root = Path::new(root);
            !root.starts_with("/proc") && !root.starts_with("/sys")
        })
        .chain(PROC_SUMMARIES)
        .chain(leash_system_paths::READABLE_DEVICES)
        .chain(leash_system_paths::WRITABLE_DEVICES)
        .map(PathBuf::from)
        .collect()
}

/// Sinks every command may write to although they are outside the roots.
pub(crate) fn system_write_sinks() -> Vec<PathBuf> {
    vec![PathBuf::from("/dev/null")]
}

/// System secrets, never read or written (globs: `*` matches within a name).
/// The list is `leash_system_paths::SYSTEM_SECRETS`, the one the sandbox
/// leaves out of its Landlock read roots, so the two layers cannot disagree.
pub(crate) fn system_denied_paths() -> Vec<String> {
    leash_system_paths::SYSTEM_SECRETS
        .iter()
        .map(|s| (*s).to_string())
        .collect()
}

/// Secrets under the home directory, never read or written unless re-allowed.
pub(crate) fn home_denied_paths(home: &Path) -> Vec<PathBuf> {
    [
        ".ssh",
        ".aws",
        ".gnupg",
        ".config/gcloud",
        ".kube",
        ".netrc",
        ".docker/config.json",
        ".git-credentials",
        ".config/gh",
        ".password-store",
        ".pgpass",
        ".pypirc",
        ".npmrc",
        ".cargo/credentials",
        ".cargo/credentials.toml",
        ".azure",
        ".local/share/keyrings",
    ]
    .iter()
    .map(|rel| home.join(rel))
    .collect()
}

/// Directories anyone (and so the model, through an earlier action) can write:
/// a program found there is never trusted by name.
pub(crate) fn temp_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .map(PathBuf::from)
        .collect();
    dirs.push(std::env::temp_dir());
    dirs
}

/// Files under the home directory that make programs run code later (shell
/// start-up files, git's and other tools' user config, boot scripts): readable,
/// never written by a command.
pub(crate) fn home_write_protected(home: &Path) -> Vec<PathBuf> {
    [
        ".profile",
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".bash_logout",
        ".bash_aliases",
        ".zshrc",
        ".zshenv",
        ".zprofile",
        ".zlogin",
        ".zlogout",
        ".kshrc",
        ".mkshrc",
        ".shrc",
        ".inputrc",
        ".config/fish",
        ".gitconfig",
        ".config/git",
        ".termux",
        ".config/autostart",
        ".config/systemd",
        ".local/bin",
        ".ssh/rc",
        ".vimrc",
        ".config/nvim",
        ".npmrc",
        ".pythonrc",
        ".config/pip",
        ".cargo/config",
        ".cargo/config.toml",
        ".cargo/bin",
    ]
    .iter()
    .map(|rel| home.join(rel))
    .collect()
}

/// File names that make a program run code when it starts in (or below) the
/// directory that holds them, wherever they are.
pub(crate) const CODE_BEARING_NAMES: &[&str] = &[".envrc", ".git"];

#[cfg(test)]
mod agreement_with_the_sandbox {
    use std::path::Path;

    /// The policy never allows a system read the sandbox would refuse: each of
    /// its system read roots lies inside one of the sandbox's (or is one of
    /// the device files the sandbox opens), and none is a system secret.
    #[test]
    fn policy_read_roots_lie_inside_the_sandbox_read_roots() {
        for root in super::system_read_roots() {
            let inside_sandbox_root = leash_system_paths::SYSTEM_READ_ROOTS
                .iter()
                .chain(leash_system_paths::READABLE_DEVICES)
                .chain(leash_system_paths::WRITABLE_DEVICES)
                .any(|s| root.starts_with(Path::new(s)));
            assert!(
                inside_sandbox_root,
                "{} is readable by the policy, not by the sandbox",
                root.display()
            );
            assert!(
                !leash_system_paths::is_secret(&root),
                "{} is a secret",
                root.display()
            );
        }
    }

    #[test]
    fn the_policy_denies_exactly_the_shared_secrets() {
        let denied = super::system_denied_paths();
        let shared: Vec<String> = leash_system_paths::SYSTEM_SECRETS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(denied, shared);
    }
}
