//! A small WebDriver client for the web page's browser tests: it starts
//! Debian's `chromedriver` on a free loopback port and drives a real
//! headless Chromium over the W3C WebDriver protocol (plain JSON over HTTP
//! with the ureq the other tests use). Written by hand because the crates
//! for this (`fantoccini`, `thirtyfour`) pull in an async HTTP stack the
//! workspace otherwise does not need, for the dozen calls used here.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where Debian puts the browser and its driver (`scripts/setup.sh`
/// installs the packages `chromium` and `chromium-driver`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver with one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Why the browser tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    [CHROMIUM, CHROMEDRIVER]
        .iter()
        .find(|path| !std::path::Path::new(path).exists())
        .map(|path| {
            format!("{path} is missing (scripts/setup.sh installs chromium and chromium-driver)")
        })
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a phone-sized window.
    pub fn start(width: u32, height: u32) -> Browser {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            agent,
        };
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        let created = browser.call(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            }}})),
        );
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let answer = match method {
            "GET" => self.agent.get(&url).call(),
            "POST" => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
            other => panic!("method {other}"),
        };
        let mut answer = answer.unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        let text = answer.body_mut().read_to_string().unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
        doc["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element for `css`, if there is one now.
    pub fn find(&self, css: &str) -> Option<String> {
        let found = self.session_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits (without reloading) until `css` matches, up to `seconds`.
    pub fn wait_for(&self, css: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(element) = self.find(css) {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "{css} did not appear on {}: {}",
                self.url(),
                self.run("return document.documentElement.outerHTML.slice(0, 1500)")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks what `css` matches, finding it again if the live refresh
    /// replaced it in between (a stale element).
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let element = self.wait_for(css, 10);
            let answer = self.session_call("POST", &format!("/element/{element}/click"), None);
            if answer.get("error").is_none() {
                return;
            }
            assert!(Instant::now() < deadline, "cannot click {css}: {answer}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn text(&self, element: &str) -> String {
        self.session_call("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub fn run(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// A PNG screenshot, base64 as WebDriver gives it.
    pub fn screenshot_base64(&self) -> String {
        self.session_call("GET", "/screenshot", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}
