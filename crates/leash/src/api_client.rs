//! The CLI's client of the daemon's HTTP API (`leash submit`, `jobs`,
//! `approvals`, `approve`, `deny`): the address from `api.listen`, the bearer
//! token from the state directory's token file, JSON in and out.
//!
//! Blocking `ureq` with short timeouts: these commands make one or two
//! requests to loopback, so a runtime would only add start-up time. Failures
//! say what to do: a daemon that is not running is named with its address,
//! and an error answer is reported with the server's own `detail`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use leash_config::LoadedConfig;
use serde_json::Value;

/// How long to wait for the daemon to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take in all (the daemon answers from SQLite).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to the daemon's API.
#[derive(Debug)]
pub struct ApiClient {
    listen: SocketAddr,
    token: String,
    agent: ureq::Agent,
}

impl ApiClient {
    /// Reads the token file named by the config. A missing file means the
    /// daemon never ran here (it creates the token at its first start).
    pub fn from_config(loaded: &LoadedConfig) -> anyhow::Result<ApiClient> {
        let listen = loaded.config.api.listen;
        let token_file: PathBuf = loaded.paths.api_token_file();
        let token = match std::fs::read_to_string(&token_file) {
            Ok(text) => text.trim().to_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(anyhow!(
                    "the leash daemon is not running at {listen} and has never run here: there \
                     is no API token at {} (start it with `leash daemon`)",
                    token_file.display()
                ));
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("cannot read the API token {}", token_file.display())
                });
            }
        };
        if token.is_empty() {
            return Err(anyhow!(
                "the API token file {} is empty (delete it and restart `leash daemon`)",
                token_file.display()
            ));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .max_redirects(0)
            .build()
            .into();
        Ok(ApiClient {
            listen,
            token,
            agent,
        })
    }

    /// `GET path`, the answer's JSON.
    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        let request = self
            .agent
            .get(self.url(path))
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        self.answer(path, request.call())
    }

    /// `POST path` with `body` as JSON (or no body), the answer's JSON.
    pub fn post(&self, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let request = self
            .agent
            .post(self.url(path))
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        let sent = match body {
            Some(body) => request
                .header("Content-Type", "application/json")
                .send(body.to_string()),
            None => request.send_empty(),
        };
        self.answer(path, sent)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listen)
    }

    fn authorization(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Turns the HTTP outcome into the answer's JSON or an error that names
    /// the problem.
    fn answer(
        &self,
        path: &str,
        outcome: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Value> {
        let mut response = outcome.map_err(|err| self.transport_error(&err))?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the daemon's answer to {path}"))?;
        let doc: Value = serde_json::from_str(&text).with_context(|| {
            format!("the daemon's answer to {path} (HTTP {status}) is not JSON: {text:.200}")
        })?;
        if status.is_success() {
            return Ok(doc);
        }
        let detail = doc["detail"].as_str().unwrap_or(text.as_str());
        let code = doc["error"].as_str().unwrap_or("error");
        Err(anyhow!("{detail} (HTTP {}, {code})", status.as_u16()))
    }

    fn transport_error(&self, err: &ureq::Error) -> anyhow::Error {
        let refused = match err {
            ureq::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            ),
            ureq::Error::ConnectionFailed => true,
            _ => false,
        };
        if refused {
            anyhow!(
                "the leash daemon is not running at {} (start it with `leash daemon`)",
                self.listen
            )
        } else {
            anyhow!("cannot reach the leash daemon at {}: {err}", self.listen)
        }
    }
}

/// Who is answering, for the audit log: `<channel>:<user>`.
pub fn answered_by(channel: &str) -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{channel}:{user}")
}
