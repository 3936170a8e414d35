//! `agent:`, `approvals:` and `api:` — how the engine runs a job, waits for
//! people and listens for requests.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::yaml_tree::{Node, Value};

/// `agent:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Model turns per job before it stops. Default 8.
    pub max_steps: u32,
    /// Re-asks after unparseable model output before the job fails. Default 2.
    pub max_parse_retries: u32,
    /// Inference does not start unless this much memory (MiB, `MemAvailable`)
    /// is free; 0 turns the guard off. Default 256.
    pub min_free_memory_mb: u64,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            max_steps: 8,
            max_parse_retries: 2,
            min_free_memory_mb: 256,
        }
    }
}

impl AgentConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut a = AgentConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(&f, "max_steps", &mut a.max_steps, |r, n, k| {
            r.integer32(n, k, 1)
        });
        r.field(
            &f,
            "max_parse_retries",
            &mut a.max_parse_retries,
            |r, n, k| r.integer32(n, k, 0),
        );
        r.field(
            &f,
            "min_free_memory_mb",
            &mut a.min_free_memory_mb,
            |r, n, k| r.integer(n, k, 0),
        );
        a
    }
}

/// `approvals:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsConfig {
    /// Seconds a pending approval waits before it becomes a denial. Default 600.
    pub expiry_s: u64,
    /// Command run (as argv, never through a shell) to tell a person an approval
    /// is waiting. In YAML a single word (`termux-notification`) or a list
    /// (`[notify-send, leash]`); normalised to argv here. `None`: no notifier.
    pub notifier: Option<Vec<String>>,
    /// After this many approvals of one shape, leash suggests a grant for
    /// it. Default 3; 0 never suggests.
    pub suggest_after: u64,
    /// A person's reason for refusing goes back to the model, and a
    /// trigger's refused shapes are listed in its prompts. Default true.
    pub learn_from_refusals: bool,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            expiry_s: 600,
            notifier: None,
            suggest_after: 3,
            learn_from_refusals: true,
        }
    }
}

impl ApprovalsConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut a = ApprovalsConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(&f, "expiry_s", &mut a.expiry_s, |r, n, k| {
            r.integer(n, k, 1)
        });
        r.optional(&f, "notifier", &mut a.notifier, read_notifier);
        r.field(&f, "suggest_after", &mut a.suggest_after, |r, n, k| {
            r.integer(n, k, 0)
        });
        r.field(
            &f,
            "learn_from_refusals",
            &mut a.learn_from_refusals,
            Reader::boolean,
        );
        a
    }
}

fn read_notifier(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<Vec<String>> {
    let argv = match &node.value {
        Value::Seq(_) => r.list(node, key, Reader::nonempty_string)?,
        Value::Scalar(_) | Value::Map(_) => {
            let word = r.nonempty_string(node, key)?;
            if word.contains(char::is_whitespace) {
                r.error(
                    &node.origin,
                    key,
                    format!(
                        "a command with arguments must be a list (argv; no shell), e.g. {:?}",
                        word.split_whitespace().collect::<Vec<_>>()
                    ),
                );
                return None;
            }
            vec![word]
        }
    };
    if argv.is_empty() {
        r.error(&node.origin, key, "an empty argv; use null for no notifier");
        return None;
    }
    Some(argv)
}

/// `daemon:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// How many times a job interrupted by a crash is queued again. Default 1.
    pub requeue_interrupted: u32,
    /// Seconds a stopping daemon waits for the running step before it leaves
    /// the job to be recovered as interrupted. Default 30.
    pub shutdown_grace_s: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            requeue_interrupted: 1,
            shutdown_grace_s: 30,
        }
    }
}

impl DaemonConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut d = DaemonConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(
            &f,
            "requeue_interrupted",
            &mut d.requeue_interrupted,
            |r, n, k| r.integer32(n, k, 0),
        );
        r.field(
            &f,
            "shutdown_grace_s",
            &mut d.shutdown_grace_s,
            |r, n, k| r.integer(n, k, 0),
        );
        d
    }
}

/// `api:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address of the HTTP API. Default `127.0.0.1:8765`; always needs the token.
    pub listen: SocketAddr,
    /// Largest request body accepted (KiB); bigger ones get 413. Default 64.
    pub max_body_kb: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8765)),
            max_body_kb: 64,
        }
    }
}

impl ApiConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Self {
        let mut a = ApiConfig::default();
        let f = r.fields(node, key, Self::keys());
        r.field(&f, "max_body_kb", &mut a.max_body_kb, |r, n, k| {
            r.integer(n, k, 1)
        });
        r.field(&f, "listen", &mut a.listen, |r, n, k| {
            let text = r.nonempty_string(n, k)?;
            match text.parse::<SocketAddr>() {
                Ok(addr) => {
                    if !addr.ip().is_loopback() {
                        r.warn(&n.origin, k, format!("{addr} is reachable from other machines; the token is all that protects it"));
                    }
                    Some(addr)
                }
                Err(_) => {
                    r.error(&n.origin, k, format!("expected IP:PORT such as 127.0.0.1:8765, found {text:?}"));
                    None
                }
            }
        });
        a
    }
}
