//! `fleet:` joining a fleet of devices over NATS JetStream (issue 13). Absent:
//! nothing of the fleet starts and nothing listens.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mode::ExecutionMode;
use crate::reader::{PathRule, Reader};
use crate::yaml_tree::Node;

/// `fleet:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// This device's name in the fleet: it names the NATS subjects the device
    /// may publish on (`leash.<device>.>`), so only `a-z`, `0-9`, `-`, `_`.
    pub device: String,
    /// NATS server URLs (`nats://host:4222`, `tls://host:4222`); at least one.
    pub urls: Vec<String>,
    /// A file (mode 0600, never in the YAML) holding either `USER:PASSWORD`
    /// on one line or an nkey user seed (`SU…`).
    pub credentials: PathBuf,
    /// TLS to the NATS server.
    pub tls: FleetTls,
    /// Devices whose jobs this device admits. Others are refused and audited.
    pub trusted: Vec<String>,
    /// `false`: refuse every job from the fleet. Default true.
    pub accept: bool,
    /// The loosest mode a fleet job may ask for; a job asking for a looser
    /// one is refused. Default `prompt`.
    pub accept_mode: ExecutionMode,
    /// Seconds between heartbeats (the device's offer). Default 60.
    pub heartbeat_s: u64,
    /// Model names this device offers to the fleet (announced in the offer
    /// and served to `trusted` devices): a name in `models:`, or `default`
    /// for the `model:` section.
    pub offer_models: Vec<String>,
    /// A fleet model (backend `fleet`) that stays silent this long (no
    /// token, no answer) counts as unreachable: the request is cancelled and
    /// the next backend of the chain answers. Default 60.
    pub infer_timeout_s: u64,
    /// The most tokens this device generates for one fleet request, whatever
    /// the requester asks. Default 1024.
    pub serve_max_tokens: u32,
    /// Fleet requests waiting behind the one being served; more are refused
    /// `busy` (the requester falls back). Default 2.
    pub serve_queue: usize,
}

/// `fleet.tls:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetTls {
    /// Require TLS even for `nats://` URLs. Default false.
    pub require: bool,
    /// A PEM file of CA certificates to trust for the server.
    pub ca: Option<PathBuf>,
    /// A client certificate (PEM), for servers that verify clients.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

impl FleetConfig {
    /// This section's keys: its struct's fields (see `schema::keys`).
    pub(crate) fn keys() -> &'static [&'static str] {
        super::keys::struct_keys::<Self>()
    }

    pub(crate) fn read(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<Self> {
        let f = r.fields(node, key, Self::keys());
        let mut c = FleetConfig {
            device: String::new(),
            urls: Vec::new(),
            credentials: PathBuf::new(),
            tls: FleetTls::default(),
            trusted: Vec::new(),
            accept: true,
            accept_mode: ExecutionMode::Prompt,
            heartbeat_s: 60,
            offer_models: Vec::new(),
            infer_timeout_s: 60,
            serve_max_tokens: 1024,
            serve_queue: 2,
        };
        let mut missing = Vec::new();
        match f.node("device") {
            Some(n) => {
                if let Some(name) = r.nonempty_string(n, &f.key("device"))
                    && check_device_name(r, n, &f.key("device"), &name)
                {
                    c.device = name;
                }
            }
            None => missing.push("device"),
        }
        match f.node("urls") {
            Some(n) => {
                let k = f.key("urls");
                if let Some(urls) = r.list(n, &k, read_url) {
                    if urls.is_empty() {
                        r.error(&n.origin, &k, "at least one NATS URL is needed");
                    }
                    c.urls = urls;
                }
            }
            None => missing.push("urls"),
        }
        match f.node("credentials") {
            Some(n) => {
                if let Some(p) = r.path(n, &f.key("credentials"), PathRule::RelativeToConfig) {
                    c.credentials = p;
                }
            }
            None => missing.push("credentials"),
        }
        if let Some(n) = f.node("tls") {
            let k = f.key("tls");
            let t = r.fields(n, &k, super::keys::struct_keys::<FleetTls>());
            r.field(&t, "require", &mut c.tls.require, Reader::boolean);
            for (name, slot) in [
                ("ca", &mut c.tls.ca),
                ("cert", &mut c.tls.cert),
                ("key", &mut c.tls.key),
            ] {
                r.optional(&t, name, slot, |r, n, k| {
                    r.path(n, k, PathRule::RelativeToConfig)
                });
            }
            if c.tls.cert.is_some() != c.tls.key.is_some() {
                r.error(
                    t.origin(),
                    &k,
                    "tls.cert and tls.key go together: give both or neither",
                );
            }
        }
        r.field(&f, "trusted", &mut c.trusted, |r, n, k| {
            r.list(n, k, |r, n, k| {
                let name = r.nonempty_string(n, k)?;
                check_device_name(r, n, k, &name).then_some(name)
            })
        });
        r.field(&f, "accept", &mut c.accept, Reader::boolean);
        r.field(&f, "accept_mode", &mut c.accept_mode, Reader::enumeration);
        r.field(&f, "heartbeat_s", &mut c.heartbeat_s, |r, n, k| {
            r.integer(n, k, 1)
        });
        r.field(&f, "offer_models", &mut c.offer_models, |r, n, k| {
            r.list(n, k, Reader::nonempty_string)
        });
        r.field(&f, "infer_timeout_s", &mut c.infer_timeout_s, |r, n, k| {
            r.integer(n, k, 1)
        });
        r.field(
            &f,
            "serve_max_tokens",
            &mut c.serve_max_tokens,
            |r, n, k| r.integer32(n, k, 1),
        );
        r.field(&f, "serve_queue", &mut c.serve_queue, |r, n, k| {
            r.integer(n, k, 0).and_then(|q| usize::try_from(q).ok())
        });
        if !missing.is_empty() {
            for name in missing {
                r.error(
                    f.origin(),
                    &f.key(name),
                    "is required in `fleet:` (device, urls, credentials)",
                );
            }
            return None;
        }
        Some(c)
    }
}

/// Whether `name` can be a device name (a single NATS subject token that is
/// not a wildcard). Records an error naming `key` when not.
pub(crate) fn check_device_name(r: &mut Reader<'_>, node: &Node, key: &str, name: &str) -> bool {
    if is_device_name(name) {
        return true;
    }
    r.error(
        &node.origin,
        key,
        format!(
            "{name:?} is not a device name: 1 to 63 of a-z, 0-9, '-', '_' (it becomes a NATS subject token)"
        ),
    );
    false
}

/// 1 to 63 characters of `a-z 0-9 - _`: no dots, wildcards or spaces, so a
/// device name is exactly one NATS subject token.
pub fn is_device_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn read_url(r: &mut Reader<'_>, node: &Node, key: &str) -> Option<String> {
    let url = r.nonempty_string(node, key)?;
    let ok = ["nats://", "tls://", "ws://", "wss://"]
        .iter()
        .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
    if !ok {
        r.error(
            &node.origin,
            key,
            format!("{url:?} is not a NATS URL (nats://HOST:PORT or tls://HOST:PORT)"),
        );
        return None;
    }
    Some(url)
}
