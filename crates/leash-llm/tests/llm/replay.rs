//! The replay backend plays a transcript in order, checks `expect`, and says
//! when it runs out.

use std::path::PathBuf;

use leash_llm::{
    Backend, BackendError, ChatMessage, FinishReason, GenerateRequest, OutputFormat, ProgramChoice,
    ReplayBackend, Role, Transcript, parse_response,
};

pub fn example_transcript() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/replay-example.yaml")
}

pub fn user(content: &str) -> Vec<ChatMessage> {
    vec![
        ChatMessage {
            role: Role::System,
            content: "You are leash's model.".into(),
        },
        ChatMessage {
            role: Role::User,
            content: content.into(),
        },
    ]
}

pub fn request<'a>(
    messages: &'a [ChatMessage],
    on_text: Option<&'a mut dyn FnMut(&str)>,
) -> GenerateRequest<'a> {
    GenerateRequest {
        messages,
        format: OutputFormat::Actions,
        max_tokens: 256,
        temperature: 0.0,
        programs: ProgramChoice::Any,
        on_text,
    }
}

#[test]
fn plays_the_example_in_order_and_streams_in_pieces() {
    let mut backend = ReplayBackend::from_file(&example_transcript()).unwrap();
    assert_eq!(backend.remaining(), 2);
    let messages = user("please list the files here");
    let mut pieces = Vec::new();
    let mut sink = |piece: &str| pieces.push(piece.to_string());
    let first = backend
        .generate(request(&messages, Some(&mut sink)))
        .unwrap();
    assert!(pieces.len() > 5, "streamed in {} pieces", pieces.len());
    assert_eq!(pieces.concat(), first.text);
    assert_eq!(first.backend, "replay");
    let parsed = parse_response(&first.text, first.reasoning.as_deref()).unwrap();
    assert!(!parsed.plan.done);
    assert!(parsed.thinking.unwrap().contains("listing"));

    let second = backend
        .generate(request(&user("results: ..."), None))
        .unwrap();
    assert_eq!(
        second.reasoning.as_deref(),
        Some("The listing came back; nothing else to do.")
    );
    assert_eq!(second.finish, FinishReason::Stop);
    assert!(second.time_to_first_token.as_millis() >= 5);
    assert!(parse_response(&second.text, None).unwrap().plan.done);
    assert_eq!(backend.remaining(), 0);

    let error = backend.generate(request(&messages, None)).unwrap_err();
    assert!(matches!(error, BackendError::Transcript { .. }), "{error}");
    assert!(
        error.to_string().contains("no response left for call 3"),
        "{error}"
    );
    assert!(!error.falls_back());
}

#[test]
fn expect_mismatch_names_the_step_and_does_not_advance() {
    let mut backend = ReplayBackend::from_file(&example_transcript()).unwrap();
    let error = backend
        .generate(request(&user("delete everything"), None))
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, BackendError::Transcript { .. }),
        "{message}"
    );
    assert!(message.contains("step 1"), "{message}");
    assert!(message.contains("list the files"), "{message}");
    assert!(message.contains("delete everything"), "{message}");
    assert_eq!(backend.remaining(), 2);
}

#[test]
fn json_transcripts_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("t.json");
    std::fs::write(
        &json,
        r#"{"responses": [{"text": "{\"actions\": [], \"done\": true}"}]}"#,
    )
    .unwrap();
    let mut backend = ReplayBackend::from_file(&json).unwrap();
    let generation = backend.generate(request(&user("x"), None)).unwrap();
    assert!(parse_response(&generation.text, None).unwrap().plan.done);

    let unknown_key = dir.path().join("bad.yaml");
    std::fs::write(&unknown_key, "responses:\n  - text: hi\n    answer: oops\n").unwrap();
    let error = ReplayBackend::from_file(&unknown_key)
        .unwrap_err()
        .to_string();
    assert!(error.contains("answer"), "{error}");

    let txt = dir.path().join("t.txt");
    std::fs::write(&txt, "").unwrap();
    let error = ReplayBackend::from_file(&txt).unwrap_err().to_string();
    assert!(error.contains(".yaml"), "{error}");

    let missing = dir.path().join("missing.yaml");
    let error = ReplayBackend::from_file(&missing).unwrap_err();
    assert!(matches!(error, BackendError::Load { .. }), "{error}");
    assert!(error.to_string().contains("missing.yaml"));
}

#[test]
fn by_expect_answers_every_job_from_the_same_transcript() {
    let transcript: leash_llm::Transcript = serde_json::from_str(
        r#"{"play": "by_expect", "responses": [
            {"expect": "RESULTS", "text": "second"},
            {"expect": "deploy", "text": "first"}
        ]}"#,
    )
    .unwrap();
    assert_eq!(transcript.play, leash_llm::ReplayOrder::ByExpect);
    let mut backend = ReplayBackend::from_transcript(transcript);
    let mut ask = |content: &str| {
        let messages = user(content);
        backend.generate(request(&messages, None)).map(|g| g.text)
    };
    for _ in 0..3 {
        assert_eq!(ask("please deploy").unwrap(), "first");
        assert_eq!(ask("RESULTS of step 1").unwrap(), "second");
    }
    let error = ask("something else").unwrap_err();
    assert!(error.to_string().contains("no response"), "{error}");
}

/// Cancellation class: a generation cancelled while it streams stops at the
/// next piece with a typed `Cancelled` (counting what was generated), not at
/// the end of its text; the backend then answers the next request whole.
#[test]
fn a_cancelled_generation_stops_at_the_next_piece_and_the_backend_serves_on() {
    let long = "x".repeat(800);
    let transcript: Transcript = serde_json::from_value(serde_json::json!({
        "play": "by_expect",
        "responses": [{"text": long, "piece_delay_ms": 5}],
    }))
    .unwrap();
    let mut backend = ReplayBackend::from_transcript(transcript);
    let token = leash_llm::CancelToken::new();
    backend.set_cancel(Some(token.clone()));
    let messages = user("go");
    let mut pieces = 0;
    let mut on_text = |_: &str| {
        pieces += 1;
        if pieces == 3 {
            token.cancel();
        }
    };
    let started = std::time::Instant::now();
    let error = backend
        .generate(request(&messages, Some(&mut on_text)))
        .unwrap_err();
    match error {
        // 3 pieces of 8 bytes: 6 estimated tokens of the 200 the text holds.
        BackendError::Cancelled {
            generated_tokens, ..
        } => assert_eq!(generated_tokens, 6),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(!error_falls_back(), "a cancel must not fall back");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    backend.set_cancel(None);
    let whole = backend.generate(request(&messages, None)).unwrap();
    assert_eq!(whole.text.len(), 800);
}

fn error_falls_back() -> bool {
    BackendError::Cancelled {
        backend: "replay".into(),
        generated_tokens: 0,
    }
    .falls_back()
}
