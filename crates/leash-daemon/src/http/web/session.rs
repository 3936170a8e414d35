//! Web sessions: a person logs in once (by pasting the API token, or with a
//! one-time link from `leash web-login`) and gets a random session id in an
//! `HttpOnly; SameSite=Strict` cookie, plus a per-session CSRF token that
//! every state-changing form carries. Sessions live in memory only: a
//! daemon restart logs everyone out, which is the safe direction.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};

use crate::secret::secrets_match;

/// The cookie's name.
pub(crate) const COOKIE: &str = "leash_session";
/// How long a session lasts.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// How long a one-time login link works.
const CODE_TTL: Duration = Duration::from_secs(120);
/// At most this many sessions (and as many codes); the oldest go first.
const MAX_ENTRIES: usize = 64;

#[derive(Debug)]
struct Session {
    id: String,
    csrf: String,
    expires: Instant,
}

/// The daemon's web sessions and unused login codes.
#[derive(Debug, Default)]
pub struct WebSessions {
    sessions: Mutex<Vec<Session>>,
    codes: Mutex<HashMap<String, Instant>>,
}

/// 32 random bytes, hex. `None` when the system has no randomness to give
/// (then nobody logs in: fail closed).
fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

impl WebSessions {
    /// A new one-time login code.
    pub fn new_login_code(&self) -> Option<String> {
        let code = random_hex()?;
        let mut codes = self.codes.lock().ok()?;
        let now = Instant::now();
        codes.retain(|_, expires| *expires > now);
        if codes.len() >= MAX_ENTRIES {
            return None;
        }
        codes.insert(code.clone(), now + CODE_TTL);
        Some(code)
    }

    /// Uses up a login code; true when it was valid.
    pub fn redeem_code(&self, given: &str) -> bool {
        let Ok(mut codes) = self.codes.lock() else {
            return false;
        };
        let now = Instant::now();
        let found = codes
            .iter()
            .find(|(code, expires)| **expires > now && secrets_match(code, given))
            .map(|(code, _)| code.clone());
        match found {
            Some(code) => {
                codes.remove(&code);
                true
            }
            None => false,
        }
    }

    /// Opens a session: its id (for the cookie).
    pub fn open(&self) -> Option<String> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let mut sessions = self.sessions.lock().ok()?;
        let now = Instant::now();
        sessions.retain(|s| s.expires > now);
        if sessions.len() >= MAX_ENTRIES {
            sessions.remove(0);
        }
        sessions.push(Session {
            id: id.clone(),
            csrf,
            expires: now + SESSION_TTL,
        });
        Some(id)
    }

    /// The CSRF token of the live session `id`.
    pub fn csrf_of(&self, id: &str) -> Option<String> {
        let sessions = self.sessions.lock().ok()?;
        let now = Instant::now();
        sessions
            .iter()
            .find(|s| s.expires > now && secrets_match(&s.id, id))
            .map(|s| s.csrf.clone())
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.retain(|s| !secrets_match(&s.id, id));
        }
    }
}

/// The session id in the request's cookies.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for session `id`.
pub(crate) fn cookie_for(id: &str) -> String {
    format!(
        "{COOKIE}={id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that ends the session in the browser.
pub(crate) fn cleared_cookie() -> String {
    format!("{COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn codes_work_once_and_sessions_carry_csrf() {
        let web = WebSessions::default();
        let code = web.new_login_code().unwrap();
        assert!(!web.redeem_code("nope"));
        assert!(web.redeem_code(&code));
        assert!(!web.redeem_code(&code), "a login link works once");
        let id = web.open().unwrap();
        let csrf = web.csrf_of(&id).unwrap();
        assert_eq!(csrf.len(), 64);
        assert!(web.csrf_of("other").is_none());
        web.close(&id);
        assert!(web.csrf_of(&id).is_none());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; leash_session=abc; b=2"),
        );
        assert_eq!(session_id(&headers).as_deref(), Some("abc"));
        assert!(cookie_for("x").contains("HttpOnly; SameSite=Strict"));
    }
}
