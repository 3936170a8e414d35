//! leash-system-paths: the system paths leash's policy and its sandbox must
//! agree on, in one place.
//!
//! - [`SYSTEM_READ_ROOTS`]: directories every program may read and execute from
//!   (ordinary Linux, then Android's system partitions);
//! - [`SYSTEM_SECRETS`]: paths under those roots that nothing leash runs may
//!   read or write, even where the root around them is readable (the sandbox
//!   grants read access per entry, leaving these out; the policy denies them);
//! - [`READABLE_DEVICES`] and [`WRITABLE_DEVICES`]: device files any program may
//!   read or write.
//!
//! [`is_secret`] and [`leads_to_secret`] answer the two questions a per-entry
//! walk needs: "leave this out?" and "look inside this directory?".
//!
//! [`termux_prefix`] is the one Termux detector every crate uses;
//! [`program_roots`] and [`untrusted_program`] say where programs are trusted
//! (on Termux only under `$PREFIX`, never Android's `/system/bin/sh`).
//!
//! Patterns are absolute paths whose components may contain `*`, which matches
//! any run of characters within one component (never a `/`). No dependencies
//! beyond std, so the security core can share the list without sharing code.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod pattern;
mod termux;

pub use pattern::{is_secret, leads_to_secret};
pub use termux::{
    ANDROID_SHELLS, LINUX_PROGRAM_ROOTS, MIN_TERMUX_API_VERSION, default_search_path,
    detect_termux, parse_version, program_roots, termux_prefix, untrusted_program,
};

/// Directories every program may read and execute from, when they exist.
/// `/etc` is read per entry, without [`SYSTEM_SECRETS`]; `/proc` is needed by
/// ordinary programs (`/proc/self/...`), leash itself is made non-dumpable so
/// its own `/proc/<pid>` files stay closed to its children.
pub const SYSTEM_READ_ROOTS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/sys/devices/system/cpu",
    "/system",
    "/apex",
    "/vendor",
    "/product",
    "/odm",
    "/linkerconfig",
];

/// System secrets: never read or written by anything leash runs. The union of
/// the policy's historical list and the files issue 15 names (password and
/// group shadows and their backups, sudo rules, SSH host keys, TLS private
/// keys, Wi-Fi and VPN credentials, Kerberos keytabs, kernel memory).
pub const SYSTEM_SECRETS: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers*",
    "/etc/security/opasswd",
    "/etc/ssh/ssh_host_*_key",
    "/etc/ssl/private",
    "/etc/NetworkManager/system-connections",
    "/etc/wpa_supplicant",
    "/proc/*/environ",
    "/proc/*/mem",
    "/proc/kcore",
    "/dev/mem",
    "/dev/kmem",
    "/dev/port",
];

/// Device files any program may read.
pub const READABLE_DEVICES: &[&str] = &["/dev/zero", "/dev/urandom", "/dev/random"];

/// Device files any program may write (and read).
pub const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/full"];
