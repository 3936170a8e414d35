//! Process containment through cgroup v2: one cgroup per command, killed whole
//! with `cgroup.kill` and removed afterwards.
//!
//! Why: the process-group kill misses any descendant that left the group
//! (`setsid`/`setpgid`, possible whenever the seccomp layer is missing) or
//! was daemonized by a helper; a cgroup cannot be left by an unprivileged
//! process, so `cgroup.kill` reaches every descendant. Where the parent cgroup
//! enables the `pids`, `memory` and `cpu` controllers in its
//! `cgroup.subtree_control`, the command's cgroup also gets `pids.max`,
//! `memory.max` and `cpu.max` — limits that, unlike rlimits, hold for the
//! command as a whole and also when leash runs as root.
//!
//! The hierarchy is found, never assumed: the `cgroup2` mount from
//! `/proc/self/mountinfo` (pure v2 at `/sys/fs/cgroup`, or hybrid systems'
//! `/sys/fs/cgroup/unified`, which usually has no controllers because they are
//! bound to v1) and leash's own cgroup from the `0::` line of
//! `/proc/self/cgroup`. Command cgroups are made directly under leash's own
//! cgroup, so this works wherever that cgroup is writable: root, a systemd
//! unit or scope with `Delegate=yes`, or another delegated subtree.
//!
//! Placement: the parent opens the new cgroup's `cgroup.procs`; the child
//! writes `0` to it (which moves the writer itself) as its first step after
//! `fork`, before any uid or capability change and long before `exec`, so the
//! program never runs outside its cgroup. A failed write stops the child.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::limits::Limits;

const MIB: u64 = 1024 * 1024;
/// `cpu.max` period in microseconds (the kernel's default period).
const CPU_PERIOD_US: u64 = 100_000;
/// How long removing a killed cgroup may wait for its tasks to exit.
const REMOVE_WAIT: Duration = Duration::from_secs(2);

/// Command cgroups made by this process, numbered so names never repeat.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A resource controller leash sets a limit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    /// `pids.max` from `max_processes`.
    Pids,
    /// `memory.max` from `memory_mb`.
    Memory,
    /// `cpu.max` from `cpu_percent`.
    Cpu,
}

impl Controller {
    pub(crate) const ALL: [Controller; 3] = [Controller::Pids, Controller::Memory, Controller::Cpu];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Controller::Pids => "pids",
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
        }
    }
}

/// Where command cgroups are made and which limits they can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// The cgroup2 mount point.
    pub(crate) mount: PathBuf,
    /// leash's own cgroup directory: the parent of every command cgroup.
    pub(crate) parent: PathBuf,
    /// The controllers of [`Controller::ALL`] enabled in the parent's
    /// `cgroup.subtree_control`.
    pub(crate) controllers: Vec<Controller>,
}

impl Hierarchy {
    /// Finds the cgroup2 mount and leash's own v2 cgroup, or says what is
    /// missing. Does not check writability (see [`Hierarchy::check_writable`]).
    pub(crate) fn discover() -> Result<Hierarchy, String> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("reading /proc/self/mountinfo: {e}"))?;
        let (mount_root, mount) = cgroup2_mount(&mountinfo).ok_or_else(|| {
            "no cgroup2 file system is mounted (/proc/self/mountinfo lists none): cgroup v1 only"
                .to_owned()
        })?;
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("reading /proc/self/cgroup: {e}"))?;
        let path = v2_path(&own).ok_or_else(|| {
            "/proc/self/cgroup has no `0::` line: this process is in no cgroup v2".to_owned()
        })?;
        let parent = own_dir(&mount_root, &mount, &path).ok_or_else(|| {
            format!(
                "leash's cgroup `{path}` is outside the cgroup2 mount at {} (root `{mount_root}`)",
                mount.display()
            )
        })?;
        let enabled = fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
        let controllers = Controller::ALL
            .into_iter()
            .filter(|c| enabled.split_whitespace().any(|name| name == c.as_str()))
            .collect();
        Ok(Hierarchy {
            mount,
            parent,
            controllers,
        })
    }

    /// Makes and removes a probe cgroup: the parent must be writable and the
    /// kernel must offer `cgroup.kill` (Linux 5.14+).
    pub(crate) fn check_writable(&self) -> Result<(), String> {
        let probe = self
            .parent
            .join(format!("leash-probe-{}", std::process::id()));
        fs::create_dir(&probe).map_err(|e| {
            format!(
                "cannot create a cgroup in {} ({e}): not delegated to this user; run leash as \
                 root, in a systemd unit with Delegate=yes, or under \
                 `systemd-run --user --scope -p Delegate=yes`",
                self.parent.display()
            )
        })?;
        let has_kill = probe.join("cgroup.kill").exists();
        let removed = fs::remove_dir(&probe);
        if !has_kill {
            return Err(format!(
                "the kernel has no cgroup.kill (Linux 5.14+ needed) under {}",
                self.parent.display()
            ));
        }
        removed.map_err(|e| format!("removing the probe cgroup {}: {e}", probe.display()))
    }

    /// The controllers of [`Controller::ALL`] that are not enabled, with the
    /// sentence `leash doctor` prints; `None` when all limits can be set.
    pub(crate) fn missing_limits(&self) -> Option<String> {
        let missing: Vec<&str> = Controller::ALL
            .into_iter()
            .filter(|c| !self.controllers.contains(c))
            .map(Controller::as_str)
            .collect();
        if missing.is_empty() {
            return None;
        }
        Some(format!(
            "controller {} not available in the cgroup v2 hierarchy (not enabled in {}{}): \
             {} not set, rlimits still apply",
            missing.join("/"),
            self.parent.join("cgroup.subtree_control").display(),
            if self.parent == self.mount {
                "; on a hybrid system the controllers are bound to cgroup v1"
            } else {
                ""
            },
            Controller::ALL
                .into_iter()
                .filter(|c| !self.controllers.contains(c))
                .map(|c| format!("{}.max", c.as_str()))
                .collect::<Vec<_>>()
                .join("/")
        ))
    }

    /// Makes a command cgroup with the limits the enabled controllers allow.
    pub(crate) fn create(&self, limits: &Limits) -> io::Result<CommandCgroup> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .parent
            .join(format!("leash-{}-{id}", std::process::id()));
        fs::create_dir(&dir)?;
        // From here on the directory is removed on every path, errors included.
        let cgroup = CommandCgroup { dir, killed: false };
        for controller in &self.controllers {
            let (file, value) = match controller {
                Controller::Pids => ("pids.max", limits.max_processes.max(1).to_string()),
                Controller::Memory => (
                    "memory.max",
                    limits.memory_mb.saturating_mul(MIB).to_string(),
                ),
                Controller::Cpu => (
                    "cpu.max",
                    format!(
                        "{} {CPU_PERIOD_US}",
                        limits
                            .cpu_percent
                            .max(1)
                            .saturating_mul(CPU_PERIOD_US / 100)
                    ),
                ),
            };
            write_file(&cgroup.dir.join(file), &value)?;
        }
        Ok(cgroup)
    }
}

/// One command's cgroup. Dropping it kills whatever is left in it and removes
/// the directory, so no path out of the executor leaves processes behind.
#[derive(Debug)]
pub(crate) struct CommandCgroup {
    dir: PathBuf,
    killed: bool,
}

impl CommandCgroup {
    /// The cgroup's `cgroup.procs`, opened for writing (close-on-exec): the
    /// child writes `0` to it to move itself in.
    pub(crate) fn open_procs(&self) -> io::Result<OwnedFd> {
        let file = OpenOptions::new()
            .write(true)
            .open(self.dir.join("cgroup.procs"))?;
        Ok(OwnedFd::from(file))
    }

    /// The cgroup's directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// SIGKILLs every task in the cgroup, wherever it is in the process tree.
    pub(crate) fn kill(&mut self) {
        if let Err(e) = write_file(&self.dir.join("cgroup.kill"), "1") {
            tracing::warn!(cgroup = %self.dir.display(), error = %e, "cgroup.kill failed");
        }
        self.killed = true;
    }

    /// True when no task is left (`populated 0` in `cgroup.events`).
    fn is_empty(&self) -> bool {
        fs::read_to_string(self.dir.join("cgroup.events"))
            .map(|events| events.lines().any(|l| l.trim() == "populated 0"))
            .unwrap_or(true)
    }
}

impl Drop for CommandCgroup {
    fn drop(&mut self) {
        if !self.killed || !self.is_empty() {
            self.kill();
        }
        // Killed tasks leave the cgroup when they exit, a moment after the
        // signal; rmdir fails with EBUSY until then.
        let started = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            match fs::remove_dir(&self.dir) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(e) if started.elapsed() >= REMOVE_WAIT => {
                    tracing::warn!(cgroup = %self.dir.display(), error = %e,
                        "command cgroup could not be removed");
                    return;
                }
                Err(_) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
            }
        }
    }
}

fn write_file(path: &Path, value: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(value.as_bytes()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("writing `{value}` to {}: {e}", path.display()),
        )
    })
}

/// The root and mount point of the first `cgroup2` mount in a mountinfo text.
fn cgroup2_mount(mountinfo: &str) -> Option<(String, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = left.split_whitespace();
        let root = unescape(fields.nth(3)?);
        let mount = unescape(fields.next()?);
        Some((root, PathBuf::from(mount)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal `\NNN`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path of the `0::` (cgroup v2) line of a `/proc/self/cgroup` text.
fn v2_path(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(|path| path.trim_end_matches(" (deleted)").to_owned())
}

/// The directory of cgroup `path` under a cgroup2 mount whose root is
/// `mount_root`; `None` when the cgroup is not visible through that mount.
fn own_dir(mount_root: &str, mount: &Path, path: &str) -> Option<PathBuf> {
    let root = mount_root.trim_end_matches('/');
    let rest = path.strip_prefix(root)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None; // `/a/bc` is not inside `/a/b`
    }
    let rest = rest.trim_start_matches('/');
    if rest.split('/').any(|part| part == "..") {
        return None;
    }
    Some(if rest.is_empty() {
        mount.to_path_buf()
    } else {
        mount.join(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_cgroup2_mount_not_the_v1_ones() {
        assert_eq!(
            cgroup2_mount(HYBRID),
            Some(("/".to_owned(), PathBuf::from("/sys/fs/cgroup/unified")))
        );
        let v1_only = "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        assert_eq!(cgroup2_mount(v1_only), None);
        let escaped = "41 31 0:38 /a\\040b /mnt/c\\040g rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount(escaped),
            Some(("/a b".to_owned(), PathBuf::from("/mnt/c g")))
        );
    }

    #[test]
    fn reads_only_the_v2_line() {
        let text = "4:memory:/process_api/x\n1:cpu:/\n0::/user.slice/leash.scope\n";
        assert_eq!(v2_path(text).as_deref(), Some("/user.slice/leash.scope"));
        assert_eq!(v2_path("4:memory:/x\n"), None);
    }

    #[test]
    fn own_dir_is_relative_to_the_mount_root() {
        let mount = Path::new("/sys/fs/cgroup");
        assert_eq!(own_dir("/", mount, "/"), Some(mount.to_path_buf()));
        assert_eq!(
            own_dir("/", mount, "/system.slice/leash.service"),
            Some(mount.join("system.slice/leash.service"))
        );
        assert_eq!(
            own_dir("/system.slice", mount, "/system.slice/leash.service"),
            Some(mount.join("leash.service"))
        );
        assert_eq!(own_dir("/system.slice", mount, "/system.slicex/a"), None);
        assert_eq!(own_dir("/", mount, "/a/../../etc"), None);
    }

    #[test]
    fn missing_limits_names_each_missing_controller() {
        let h = Hierarchy {
            mount: PathBuf::from("/sys/fs/cgroup/unified"),
            parent: PathBuf::from("/sys/fs/cgroup/unified"),
            controllers: vec![Controller::Memory],
        };
        let text = h.missing_limits().unwrap();
        assert!(
            text.starts_with("controller pids/cpu not available in the cgroup v2 hierarchy"),
            "{text}"
        );
        assert!(text.contains("bound to cgroup v1"), "{text}");
        let full = Hierarchy {
            controllers: Controller::ALL.to_vec(),
            ..h
        };
        assert_eq!(full.missing_limits(), None);
    }
}
