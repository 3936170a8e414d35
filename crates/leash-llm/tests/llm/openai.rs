//! The OpenAI-compatible backend against a real HTTP server on 127.0.0.1.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use leash_llm::{
    Backend, BackendError, FinishReason, GenerateRequest, OpenAiBackend, OpenAiConfig,
    OpenAiTimeouts, OutputFormat, ProgramChoice, RetryPolicy, api_key_from_env, openai_preset,
    parse_response,
};
use serde_json::json;

use crate::replay::{request, user};
use crate::server::{Reply, TestServer, text_chunks};

const PLAN: &str = r#"{"thought": "look", "actions": [{"run": ["ls"]}], "done": false}"#;

fn fast_config(base_url: String) -> OpenAiConfig {
    let mut config = OpenAiConfig::new("test", base_url, "test-model", None, true);
    config.timeouts = OpenAiTimeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_secs(5),
        total: Duration::from_secs(20),
    };
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    };
    config
}

fn backend(server: &TestServer) -> OpenAiBackend {
    OpenAiBackend::new(fast_config(server.base_url())).unwrap()
}

#[test]
fn streaming_answer_is_streamed_and_collected() {
    let server = TestServer::start(vec![Reply::Stream(text_chunks(PLAN))]);
    let mut backend = backend(&server);
    let mut pieces = Vec::new();
    let mut sink = |piece: &str| pieces.push(piece.to_string());
    let messages = user("list the files");
    let generation = backend
        .generate(request(&messages, Some(&mut sink)))
        .unwrap();
    assert_eq!(generation.text, PLAN);
    assert!(pieces.len() > 3);
    assert_eq!(pieces.concat(), PLAN);
    assert_eq!(generation.finish, FinishReason::Stop);
    assert_eq!(generation.backend, "openai:test");
    assert_eq!(
        (
            generation.prompt_tokens,
            generation.prompt_tokens_reused,
            generation.generated_tokens
        ),
        (42, 40, 9)
    );
    assert_eq!(generation.reasoning, None);
    assert!(parse_response(&generation.text, None).is_ok());

    let received = server.received();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "list the files"})
    );
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        leash_llm::actions_json_schema(ProgramChoice::Any)
    );
    assert_eq!(received[0].authorization, None);
}

#[test]
fn whole_json_answer_from_a_server_that_ignores_streaming() {
    let server = TestServer::start(vec![Reply::Whole(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": PLAN}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5}
    }))]);
    let mut pieces = String::new();
    let mut sink = |piece: &str| pieces.push_str(piece);
    let generation = backend(&server)
        .generate(request(&user("x"), Some(&mut sink)))
        .unwrap();
    assert_eq!(generation.text, PLAN);
    assert_eq!(pieces, PLAN);
    assert_eq!(generation.finish, FinishReason::Length);
    assert_eq!(generation.generated_tokens, 5);
}

#[test]
fn text_format_sends_no_response_format() {
    let server = TestServer::start(vec![Reply::Stream(text_chunks("hello"))]);
    let messages = user("x");
    let request = GenerateRequest {
        messages: &messages,
        format: OutputFormat::Text,
        max_tokens: 8,
        temperature: 0.5,
        programs: ProgramChoice::Any,
        on_text: None,
    };
    let generation = backend(&server).generate(request).unwrap();
    assert_eq!(generation.text, "hello");
    let body = &server.received()[0].body;
    assert!(body.get("response_format").is_none());
    assert_eq!(body["max_tokens"], 8);
}

#[test]
fn reasoning_content_is_collected_apart_from_the_answer() {
    let mut chunks = vec![
        json!({"choices": [{"delta": {"reasoning_content": "The user wants "}}]}),
        json!({"choices": [{"delta": {"reasoning_content": "a listing."}}]}),
    ];
    chunks.extend(text_chunks(PLAN));
    let server = TestServer::start(vec![Reply::Stream(chunks)]);
    let mut shown = String::new();
    let mut sink = |piece: &str| shown.push_str(piece);
    let generation = backend(&server)
        .generate(request(&user("x"), Some(&mut sink)))
        .unwrap();
    assert_eq!(
        generation.reasoning.as_deref(),
        Some("The user wants a listing.")
    );
    assert_eq!(generation.text, PLAN);
    assert_eq!(shown, PLAN, "reasoning is not streamed as the answer");
    let parsed = parse_response(&generation.text, generation.reasoning.as_deref()).unwrap();
    assert_eq!(
        parsed.thinking.as_deref(),
        Some("The user wants a listing.")
    );
}

#[test]
fn too_many_requests_then_success_is_retried() {
    let server = TestServer::start(vec![
        Reply::Status {
            status: 429,
            body: "slow down".into(),
            retry_after: Some(0),
        },
        Reply::Status {
            status: 503,
            body: "loading model".into(),
            retry_after: None,
        },
        Reply::Stream(text_chunks(PLAN)),
    ]);
    let generation = backend(&server)
        .generate(request(&user("x"), None))
        .unwrap();
    assert_eq!(generation.text, PLAN);
    assert_eq!(
        server.received().len(),
        3,
        "two retries observed by the server"
    );
}

#[test]
fn server_errors_exhaust_the_retries() {
    let server = TestServer::start(vec![
        Reply::Status {
            status: 500,
            body: "boom 1".into(),
            retry_after: None,
        },
        Reply::Status {
            status: 500,
            body: "boom 2".into(),
            retry_after: None,
        },
        Reply::Status {
            status: 500,
            body: "boom 3".into(),
            retry_after: None,
        },
        Reply::Stream(text_chunks("never reached")),
    ]);
    let error = backend(&server)
        .generate(request(&user("x"), None))
        .unwrap_err();
    match &error {
        BackendError::Http { status, detail, .. } => {
            assert_eq!(*status, 500);
            assert!(detail.contains("boom 3"), "{detail}");
            assert!(detail.contains("after 3 attempts"), "{detail}");
        }
        other => panic!("expected Http, got {other:?}"),
    }
    assert!(error.falls_back());
    assert_eq!(server.received().len(), 3);
}

#[test]
fn client_errors_are_not_retried() {
    let server = TestServer::start(vec![
        Reply::Status {
            status: 401,
            body: "bad key".into(),
            retry_after: None,
        },
        Reply::Stream(text_chunks("never reached")),
    ]);
    let error = backend(&server)
        .generate(request(&user("x"), None))
        .unwrap_err();
    assert!(
        matches!(error, BackendError::Http { status: 401, .. }),
        "{error}"
    );
    assert!(!error.falls_back());
    assert_eq!(server.received().len(), 1);
}

#[test]
fn rejected_response_format_is_dropped_and_remembered() {
    let server = TestServer::start(vec![
        Reply::RejectResponseFormat(PLAN.into()),
        Reply::RejectResponseFormat(PLAN.into()),
        Reply::RejectResponseFormat(PLAN.into()),
    ]);
    let mut backend = backend(&server);
    let generation = backend.generate(request(&user("x"), None)).unwrap();
    assert_eq!(generation.text, PLAN);
    assert!(backend.response_format_rejected());
    backend.generate(request(&user("y"), None)).unwrap();
    let received = server.received();
    assert_eq!(received.len(), 3);
    assert!(received[0].body.get("response_format").is_some());
    assert!(received[1].body.get("response_format").is_none());
    assert!(
        received[2].body.get("response_format").is_none(),
        "remembered"
    );
}

#[test]
fn api_key_is_sent_as_bearer_from_the_named_variable() {
    let var = "LEASH_TEST_OPENAI_KEY_5";
    // SAFETY: this test is the only user of this variable name.
    unsafe { std::env::set_var(var, "sk-test-123") };
    let key = api_key_from_env(var).unwrap();
    assert_eq!(key.as_deref(), Some("sk-test-123"));
    assert_eq!(
        api_key_from_env("LEASH_TEST_UNSET_VARIABLE_5").unwrap(),
        None
    );

    let server = TestServer::start(vec![Reply::Stream(text_chunks(PLAN))]);
    let mut config = fast_config(server.base_url());
    config.api_key = key;
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("sk-test-123"),
        "the key never shows in Debug: {debug}"
    );
    OpenAiBackend::new(config)
        .unwrap()
        .generate(request(&user("x"), None))
        .unwrap();
    assert_eq!(
        server.received()[0].authorization.as_deref(),
        Some("Bearer sk-test-123")
    );
}

#[test]
fn closed_port_is_a_connection_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut backend =
        OpenAiBackend::new(fast_config(format!("http://127.0.0.1:{port}/v1"))).unwrap();
    let error = backend.generate(request(&user("x"), None)).unwrap_err();
    assert!(
        matches!(error, BackendError::Connection { .. }),
        "{error:?}"
    );
    assert!(error.falls_back());
}

#[test]
fn stalled_server_times_out() {
    let server = TestServer::start(vec![Reply::Stall(Duration::from_secs(10))]);
    let mut config = fast_config(server.base_url());
    config.timeouts.read = Duration::from_millis(300);
    let started = Instant::now();
    let error = OpenAiBackend::new(config)
        .unwrap()
        .generate(request(&user("x"), None))
        .unwrap_err();
    assert!(matches!(error, BackendError::Timeout { .. }), "{error:?}");
    assert!(error.falls_back());
    eprintln!("stall detected after {:?}", started.elapsed());
}

#[test]
fn total_timeout_bounds_a_slow_trickle() {
    let server = TestServer::start(vec![Reply::Stall(Duration::from_secs(10))]);
    let mut config = fast_config(server.base_url());
    config.timeouts.total = Duration::from_millis(400);
    let error = OpenAiBackend::new(config)
        .unwrap()
        .generate(request(&user("x"), None))
        .unwrap_err();
    assert!(matches!(error, BackendError::Timeout { .. }), "{error:?}");
}

#[test]
fn presets_and_their_defaults() {
    let deepseek = openai_preset("deepseek").unwrap();
    assert_eq!(deepseek.base_url, "https://api.deepseek.com/v1");
    assert!(!deepseek.supports_response_format);
    let config =
        OpenAiConfig::from_preset(&deepseek, Some("deepseek-reasoner"), Some("k".into())).unwrap();
    assert_eq!(config.model, "deepseek-reasoner");
    assert!(!config.use_response_format);
    let error = OpenAiConfig::from_preset(&deepseek, None, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("DEEPSEEK_API_KEY"), "{error}");
    for (name, url) in [
        ("lmstudio", "http://127.0.0.1:1234/v1"),
        ("ollama", "http://127.0.0.1:11434/v1"),
        ("llama-server", "http://127.0.0.1:8080/v1"),
    ] {
        let preset = openai_preset(name).unwrap();
        assert_eq!(preset.base_url, url);
        let error = OpenAiConfig::from_preset(&preset, None, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("model name"), "{error}");
    }
    assert!(openai_preset("openai-but-misspelled").is_none());
    let error =
        OpenAiBackend::new(OpenAiConfig::new("x", "ftp://host", "m", None, false)).unwrap_err();
    assert!(error.to_string().contains("http://"), "{error}");
}
