//! The fallback chain: a dead server, then the next backend.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use leash_llm::{
    Backend, BackendError, BackendSwitch, FallbackChain, OpenAiBackend, OpenAiConfig,
    ReplayBackend, ReplayStep, Transcript, parse_response,
};

use crate::replay::{request, user};
use crate::server::{Reply, TestServer};

fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v1")
}

fn replay(texts: &[&str]) -> ReplayBackend {
    ReplayBackend::from_transcript(Transcript {
        description: None,
        play: Default::default(),
        responses: texts
            .iter()
            .map(|text| ReplayStep {
                text: (*text).into(),
                reasoning: None,
                expect: None,
                delay_ms: None,
                finish: None,
                piece_delay_ms: None,
            })
            .collect(),
    })
}

#[test]
fn dead_server_falls_back_to_the_next_backend_and_reports_the_switch() {
    let dead = OpenAiBackend::new(OpenAiConfig::new("dead", dead_url(), "m", None, true)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::<BackendSwitch>::new()));
    let observer_seen = seen.clone();
    let mut chain = FallbackChain::new(vec![
        Box::new(dead),
        Box::new(replay(&[r#"{"actions": [], "done": true}"#])),
    ])
    .with_observer(Box::new(move |switch| {
        observer_seen.lock().unwrap().push(switch.clone())
    }));
    assert_eq!(chain.name(), "openai:dead > replay");

    let generation = chain.generate(request(&user("x"), None)).unwrap();
    assert_eq!(generation.backend, "replay");
    assert!(parse_response(&generation.text, None).unwrap().plan.done);

    let switches = chain.take_switches();
    assert_eq!(switches.len(), 1);
    assert_eq!(switches[0].from, "openai:dead");
    assert_eq!(switches[0].to, "replay");
    assert!(
        switches[0].error.contains("cannot connect"),
        "{}",
        switches[0].error
    );
    assert_eq!(*seen.lock().unwrap(), switches);
    assert!(chain.take_switches().is_empty(), "taken once");
}

#[test]
fn errors_that_another_backend_would_not_fix_do_not_fall_back() {
    let server = TestServer::start(vec![Reply::Status {
        status: 401,
        body: "bad key".into(),
        retry_after: None,
    }]);
    let unauthorized = OpenAiBackend::new(OpenAiConfig::new(
        "auth",
        server.base_url(),
        "m",
        None,
        true,
    ))
    .unwrap();
    let mut chain = FallbackChain::new(vec![Box::new(unauthorized), Box::new(replay(&["never"]))]);
    let error = chain.generate(request(&user("x"), None)).unwrap_err();
    assert!(
        matches!(error, BackendError::Http { status: 401, .. }),
        "{error}"
    );
    assert!(chain.take_switches().is_empty());
}

#[test]
fn every_backend_failing_returns_the_last_error_with_every_switch() {
    let first = OpenAiBackend::new(OpenAiConfig::new("a", dead_url(), "m", None, true)).unwrap();
    let second = OpenAiBackend::new(OpenAiConfig::new("b", dead_url(), "m", None, true)).unwrap();
    let mut chain = FallbackChain::new(vec![Box::new(first), Box::new(second)]);
    let error = chain.generate(request(&user("x"), None)).unwrap_err();
    assert!(error.to_string().starts_with("openai:b"), "{error}");
    let switches = chain.take_switches();
    assert_eq!(switches.len(), 1);
    assert_eq!(
        (switches[0].from.as_str(), switches[0].to.as_str()),
        ("openai:a", "openai:b")
    );

    let mut empty = FallbackChain::new(Vec::new());
    assert!(empty.is_empty());
    assert!(empty.generate(request(&user("x"), None)).is_err());
}
