//! A real HTTP server on 127.0.0.1 for the OpenAI backend's tests: an axum
//! app on its own tokio runtime thread, answering `/v1/chat/completions`
//! from a script of canned replies and recording every request it got.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

/// One canned reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An SSE stream of these `data:` payloads, then `[DONE]`.
    Stream(Vec<Value>),
    /// One JSON body (a server ignoring `stream: true`).
    Whole(Value),
    /// An error status with a body and optional Retry-After.
    Status {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// Say nothing for this long (the client must time out first).
    Stall(Duration),
    /// 400 if the request has `response_format`, else stream this text.
    RejectResponseFormat(String),
}

/// What the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Value,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Script {
    replies: Vec<Reply>,
    received: Vec<Received>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    _runtime: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start(replies: Vec<Reply>) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let script = Arc::new(Mutex::new(Script {
            replies,
            received: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(script.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer {
            addr,
            script,
            _runtime: runtime,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

/// Stream chunks that spell `text` in a few pieces, with a finish reason
/// and usage at the end.
pub fn text_chunks(text: &str) -> Vec<Value> {
    let mut chunks: Vec<Value> = text
        .as_bytes()
        .chunks(7)
        .map(|piece| json!({"choices": [{"index": 0, "delta": {"content": String::from_utf8_lossy(piece)}}]}))
        .collect();
    chunks.insert(
        0,
        json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
    );
    chunks.push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}));
    chunks.push(json!({"choices": [], "usage": {"prompt_tokens": 42, "completion_tokens": 9, "prompt_tokens_details": {"cached_tokens": 40}}}));
    chunks
}

fn sse(chunks: &[Value]) -> Response {
    let mut body = String::from(": keep-alive\n\n");
    for chunk in chunks {
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from(body))
        .unwrap()
}

async fn handle(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let reply = {
        let mut script = script.lock().unwrap();
        script.received.push(Received {
            body: body.clone(),
            authorization: headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_string()),
        });
        if script.replies.is_empty() {
            Reply::Status {
                status: 599,
                body: "script exhausted".into(),
                retry_after: None,
            }
        } else {
            script.replies.remove(0)
        }
    };
    match reply {
        Reply::Stream(chunks) => sse(&chunks),
        Reply::Whole(value) => Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(value.to_string()))
            .unwrap(),
        Reply::Status {
            status,
            body,
            retry_after,
        } => {
            let mut builder = Response::builder().status(StatusCode::from_u16(status).unwrap());
            if let Some(seconds) = retry_after {
                builder = builder.header("retry-after", seconds.to_string());
            }
            builder.body(Body::from(body)).unwrap()
        }
        Reply::Stall(duration) => {
            tokio::time::sleep(duration).await;
            sse(&text_chunks("too late"))
        }
        Reply::RejectResponseFormat(text) => {
            if body.get("response_format").is_some() {
                Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .body(Body::from(r#"{"error": {"message": "response_format type json_schema is not supported"}}"#))
                    .unwrap()
            } else {
                sse(&text_chunks(&text))
            }
        }
    }
}
