//! What one execution produced: how it ended, bounded output, resource use.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::layer::Layer;
use crate::limits::LimitKind;

/// How the child ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitKind {
    /// Exited on its own with this status.
    Exited(i32),
    /// Killed by a signal it did not get from leash's timeout (e.g. SIGXCPU,
    /// SIGXFSZ, SIGSEGV, SIGSYS from a seccomp filter, or one it sent itself).
    Signaled {
        /// The signal number.
        signal: i32,
        /// Its name, e.g. "SIGXFSZ".
        name: String,
    },
    /// The wall-clock timeout expired and leash killed the process group.
    TimedOut,
}

impl ExitKind {
    /// The signal name for a number ("SIG?" + number when unknown).
    pub fn signal_name(signal: i32) -> String {
        nix::sys::signal::Signal::try_from(signal)
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|_| format!("SIG{signal}"))
    }

    /// True for `Exited(0)`.
    pub fn success(&self) -> bool {
        matches!(self, ExitKind::Exited(0))
    }
}

/// One captured stream: at most the cap is kept, everything is counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Captured {
    /// The first bytes the child wrote, at most the cap.
    pub bytes: Vec<u8>,
    /// How many bytes the child really wrote to the stream.
    pub total_bytes: u64,
    /// True when `total_bytes > bytes.len()`.
    pub truncated: bool,
}

impl Captured {
    /// The truncation marker, when the stream was cut.
    pub fn truncation_marker(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "[leash: output truncated: {} bytes written, {} kept]",
                self.total_bytes,
                self.bytes.len()
            )
        })
    }

    /// The kept bytes as text (invalid UTF-8 replaced), followed by the
    /// truncation marker on a line of its own when the stream was cut.
    pub fn render_text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        if let Some(marker) = self.truncation_marker() {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&marker);
        }
        text
    }
}

/// Everything one execution produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// How the child ended.
    pub status: ExitKind,
    /// Wall-clock time from spawn to reaping the child.
    pub duration: Duration,
    /// Captured stdout.
    pub stdout: Captured,
    /// Captured stderr.
    pub stderr: Captured,
    /// Peak resident set of the child or of the largest descendant it waited
    /// for (`wait4`'s `ru_maxrss`), in KiB.
    pub max_rss_kb: u64,
    /// User + system CPU time of the child and every descendant it waited for
    /// (`wait4`'s rusage). Descendants left running when the child exited are
    /// killed with the group but not counted.
    pub cpu_time: Duration,
    /// The layers applied to this child, in application order.
    pub layers_active: Vec<Layer>,
    /// The first limit the run hit, as far as leash can tell.
    pub limit_hit: Option<LimitKind>,
    /// The run was cancelled through its [`crate::CancelHandle`] and killed
    /// whole (`status` then shows the SIGKILL).
    pub cancelled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_text_appends_marker_only_when_truncated() {
        let whole = Captured {
            bytes: b"hello\n".to_vec(),
            total_bytes: 6,
            truncated: false,
        };
        assert_eq!(whole.render_text(), "hello\n");
        let cut = Captured {
            bytes: b"ab".to_vec(),
            total_bytes: 104_857_600,
            truncated: true,
        };
        assert_eq!(
            cut.render_text(),
            "ab\n[leash: output truncated: 104857600 bytes written, 2 kept]"
        );
    }

    #[test]
    fn signal_names() {
        assert_eq!(ExitKind::signal_name(9), "SIGKILL");
        assert_eq!(ExitKind::signal_name(25), "SIGXFSZ");
        assert_eq!(ExitKind::signal_name(1000), "SIG1000");
    }
}
