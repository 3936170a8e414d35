//! Remote inference: the messages one device sends to use a model another
//! device offers, and how the offering device judges such a request.
//!
//! Plain NATS request/stream (no JetStream): an answer that is lost is simply
//! asked for again, or answered by the local model, so there is nothing to
//! keep durably. The requester publishes an [`InferRequest`] on
//! `leash.<from>.direct.<to>.infer`; the offering device answers with
//! [`InferReply`]s on `leash.<to>.direct.<from>.infer_reply` (accepted, text
//! chunks as they are generated, then the whole answer or a refusal); the
//! requester may cancel with an [`InferCancel`] on
//! `leash.<from>.direct.<to>.infer_cancel`.
//! Every subject starts with its publisher's device, so each side checks who
//! really sent a message ([`crate::envelope::check_sender`]).
//!
//! The answer is only text: the requester parses it and its policy judges
//! every action, exactly as for a local model (a remote model is as untrusted
//! as a local one).

use leash_config::FleetConfig;
use leash_llm::{AnswerShape, ChatMessage, CommandShapes, Generation, OutputFormat};
use serde::{Deserialize, Serialize};

use crate::envelope::{PROTOCOL_VERSION, SenderMismatch, check_sender, decode};

/// Limits the offering device enforces whatever the requester sends: a
/// hostile (or broken) requester cannot make it chew on an unbounded
/// conversation or grammar. `fleet.serve_max_tokens` bounds the answer.
pub const MAX_MESSAGES: usize = 256;
/// Total bytes of the conversation's contents.
pub const MAX_CONVERSATION_BYTES: usize = 256 * 1024;
/// Bytes of a shaped answer's grammar and schema.
pub const MAX_SHAPE_BYTES: usize = 64 * 1024;
/// Bytes of the program choice (typed command shapes become a grammar here).
pub const MAX_PROGRAMS_BYTES: usize = 256 * 1024;

/// The answer's shape, as sent ([`OutputFormat`] without the `Arc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireFormat {
    /// leash's actions JSON (the agent loop's answer).
    Actions,
    /// Free text (a summary, a reply to the person).
    Text,
    /// A skill's answer, under the grammar and schema the requester built.
    Shaped {
        /// The shape's name (for logs and audit).
        name: String,
        /// The grammar the offering device's model is constrained by.
        gbnf: String,
        /// The JSON schema (for backends that take a schema, not a grammar).
        schema: serde_json::Value,
    },
}

/// The programs a `run` action may name ([`leash_llm::ProgramChoice`],
/// owned). The requester's policy and workspace decide it: the actions will
/// run there, so its shapes are the right ones to narrow the remote model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WirePrograms {
    /// Any program (the requester's policy still judges each action).
    Any,
    /// Only these programs (the requester's whitelist).
    OneOf {
        /// The program names.
        names: Vec<String>,
    },
    /// Typed command shapes: the grammar names programs and their options.
    Typed {
        /// The requester's command shapes (options and operands per program).
        shapes: Box<CommandShapes>,
    },
}

impl WireFormat {
    /// The wire form of the requester's output format.
    pub fn from_format(format: &OutputFormat) -> WireFormat {
        match format {
            OutputFormat::Actions => WireFormat::Actions,
            OutputFormat::Text => WireFormat::Text,
            OutputFormat::Shaped(shape) => WireFormat::Shaped {
                name: shape.name.clone(),
                gbnf: shape.gbnf.clone(),
                schema: shape.schema.clone(),
            },
        }
    }

    /// The output format the offering device generates under.
    pub fn to_format(&self) -> OutputFormat {
        match self {
            WireFormat::Actions => OutputFormat::Actions,
            WireFormat::Text => OutputFormat::Text,
            WireFormat::Shaped { name, gbnf, schema } => {
                OutputFormat::Shaped(std::sync::Arc::new(AnswerShape {
                    name: name.clone(),
                    gbnf: gbnf.clone(),
                    schema: schema.clone(),
                }))
            }
        }
    }
}

impl WirePrograms {
    /// The wire form of the requester's program choice.
    pub fn from_choice(choice: leash_llm::ProgramChoice<'_>) -> WirePrograms {
        match choice {
            leash_llm::ProgramChoice::Any => WirePrograms::Any,
            leash_llm::ProgramChoice::OneOf(names) => WirePrograms::OneOf {
                names: names.to_vec(),
            },
            leash_llm::ProgramChoice::Typed(shapes) => WirePrograms::Typed {
                shapes: Box::new(shapes.clone()),
            },
        }
    }

    /// The program choice the offering device constrains its model with.
    pub fn as_choice(&self) -> leash_llm::ProgramChoice<'_> {
        match self {
            WirePrograms::Any => leash_llm::ProgramChoice::Any,
            WirePrograms::OneOf { names } => leash_llm::ProgramChoice::OneOf(names),
            WirePrograms::Typed { shapes } => leash_llm::ProgramChoice::Typed(shapes),
        }
    }
}

/// A request for one generation from a model another device offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferRequest {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The requesting device (checked against the subject).
    pub from: String,
    /// The offering device.
    pub to: String,
    /// 128 random bits, hex: ties the replies and a cancel to this request.
    pub request_id: String,
    /// The model's name in the offering device's `fleet.offer_models`.
    pub model: String,
    /// The conversation so far (at most [`MAX_CONVERSATION_BYTES`]).
    pub messages: Vec<ChatMessage>,
    /// The answer's shape.
    pub format: WireFormat,
    /// The programs a `run` action may name.
    pub programs: WirePrograms,
    /// The most tokens to generate (the offering device may cap it lower).
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// When it was sent (the requester's clock, RFC 3339).
    pub sent_at: String,
}

/// One message of the answer stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferReply {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The offering device (checked against the subject).
    pub from: String,
    /// The requesting device.
    pub to: String,
    /// The request answered.
    pub request_id: String,
    /// What it says.
    pub body: ReplyBody,
}

/// What a reply says. Closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyBody {
    /// Queued behind `ahead` other requests.
    Accepted {
        /// Requests ahead of this one.
        ahead: usize,
    },
    /// Generated text, in order (`seq` from 0).
    Chunk {
        /// Position in the stream, from 0.
        seq: u64,
        /// The text generated since the previous chunk.
        text: String,
    },
    /// The whole answer (its text is authoritative; chunks are for display).
    Done {
        /// The answer and its token counts.
        generation: Generation,
    },
    /// Not served (a closed [`InferRefusal::code`]).
    Refused {
        /// The closed code.
        code: String,
        /// Why, for the person.
        reason: String,
    },
    /// Served but the model failed; `falls_back`: whether another backend
    /// would do better (the offering backend's own judgement).
    Failed {
        /// What the model or backend said.
        reason: String,
        /// Whether another backend would do better.
        falls_back: bool,
    },
}

/// A requester giving up on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferCancel {
    /// [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The requesting device (checked against the subject).
    pub from: String,
    /// The offering device.
    pub to: String,
    /// The request given up on.
    pub request_id: String,
}

/// Why an inference request is not served. Closed; strictest first.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferRefusal {
    /// The message does not parse; holds the parser's complaint.
    #[error("unreadable request: {0}")]
    Malformed(String),
    /// Another protocol version; holds it.
    #[error("protocol version {0} (this device speaks {PROTOCOL_VERSION})")]
    Version(u32),
    /// The claimed sender is not the publisher.
    #[error(transparent)]
    Sender(SenderMismatch),
    /// Addressed to another device; holds that name.
    #[error("addressed to {0:?}, not this device")]
    NotForMe(String),
    /// The requester is not in `fleet.trusted`; holds its name.
    #[error("{0:?} is not in fleet.trusted")]
    Untrusted(String),
    /// The model is not offered here; holds its name.
    #[error("model {0:?} is not in fleet.offer_models")]
    NotOffered(String),
    /// A part of the request is over its limit.
    #[error("{what} is {size}, more than the {limit} this device serves")]
    TooLarge {
        /// Which part (the conversation, the answer's grammar and schema, the
        /// program choice).
        what: &'static str,
        /// Its size, in bytes.
        size: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The queue is full; holds how many wait.
    #[error("busy: {0} requests already waiting")]
    Busy(usize),
}

impl InferRefusal {
    /// A stable code for the audit log and the requester.
    pub fn code(&self) -> &'static str {
        match self {
            InferRefusal::Malformed(_) => "malformed",
            InferRefusal::Version(_) => "version",
            InferRefusal::Sender(_) => "sender_mismatch",
            InferRefusal::NotForMe(_) => "not_for_me",
            InferRefusal::Untrusted(_) => "untrusted",
            InferRefusal::NotOffered(_) => "not_offered",
            InferRefusal::TooLarge { .. } => "too_large",
            InferRefusal::Busy(_) => "busy",
        }
    }

    /// Whether the sender's identity checked out, so that telling it is
    /// telling the device that asked (a forged or misrouted request gets no
    /// answer).
    pub fn answerable(&self) -> bool {
        match self {
            InferRefusal::Malformed(_) | InferRefusal::Sender(_) | InferRefusal::NotForMe(_) => {
                false
            }
            InferRefusal::Version(_)
            | InferRefusal::Untrusted(_)
            | InferRefusal::NotOffered(_)
            | InferRefusal::TooLarge { .. }
            | InferRefusal::Busy(_) => true,
        }
    }
}

/// A request as judged: refused (with the request when it could be read),
/// or admitted with its limits brought within this device's.
pub type Judged = Result<InferRequest, (Option<Box<InferRequest>>, InferRefusal)>;

/// Judges a request that arrived on `subject`, strictest first: readable →
/// version → the claimed sender is the subject's publisher → addressed here
/// → sender in `fleet.trusted` → model offered → sizes within the limits.
/// An admitted request's `max_tokens` is cut to `fleet.serve_max_tokens` and
/// its temperature to 0..=2.
pub fn judge(config: &FleetConfig, subject: &str, payload: &[u8]) -> Judged {
    let mut request: InferRequest =
        decode(subject, payload).map_err(|e| (None, InferRefusal::Malformed(e.to_string())))?;
    let refuse = |request: &InferRequest, refusal| Err((Some(Box::new(request.clone())), refusal));
    if request.v != PROTOCOL_VERSION {
        return refuse(&request, InferRefusal::Version(request.v));
    }
    if let Err(mismatch) = check_sender(subject, &request.from) {
        return refuse(&request, InferRefusal::Sender(mismatch));
    }
    if request.to != config.device {
        return refuse(&request, InferRefusal::NotForMe(request.to.clone()));
    }
    if !config.trusted.iter().any(|t| t == &request.from) {
        return refuse(&request, InferRefusal::Untrusted(request.from.clone()));
    }
    if !config.offer_models.iter().any(|m| m == &request.model) {
        return refuse(&request, InferRefusal::NotOffered(request.model.clone()));
    }
    let conversation: usize = request.messages.iter().map(|m| m.content.len()).sum();
    let shape = match &request.format {
        WireFormat::Shaped { gbnf, schema, .. } => gbnf.len() + schema.to_string().len(),
        WireFormat::Actions | WireFormat::Text => 0,
    };
    let programs = serde_json::to_vec(&request.programs).map_or(usize::MAX, |v| v.len());
    for (what, size, limit) in [
        (
            "the number of messages",
            request.messages.len(),
            MAX_MESSAGES,
        ),
        (
            "the conversation (bytes)",
            conversation,
            MAX_CONVERSATION_BYTES,
        ),
        (
            "the answer's grammar and schema (bytes)",
            shape,
            MAX_SHAPE_BYTES,
        ),
        ("the program choice (bytes)", programs, MAX_PROGRAMS_BYTES),
    ] {
        if size > limit {
            return refuse(&request, InferRefusal::TooLarge { what, size, limit });
        }
    }
    request.max_tokens = request.max_tokens.clamp(1, config.serve_max_tokens.max(1));
    request.temperature = if request.temperature.is_finite() {
        request.temperature.clamp(0.0, 2.0)
    } else {
        0.7
    };
    Ok(request)
}

/// A fresh request id: 128 random bits, hex.
pub fn request_id() -> Result<String, crate::FleetError> {
    crate::jobs::new_msg_id()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leash_config::ExecutionMode;
    use leash_llm::Role;
    use rstest::rstest;

    fn config() -> FleetConfig {
        FleetConfig {
            device: "srv".into(),
            urls: vec!["nats://127.0.0.1:4222".into()],
            credentials: "/x".into(),
            tls: Default::default(),
            trusted: vec!["phone".into()],
            accept: true,
            accept_mode: ExecutionMode::Prompt,
            heartbeat_s: 60,
            offer_models: vec!["big".into()],
            infer_timeout_s: 60,
            serve_max_tokens: 512,
            serve_queue: 2,
        }
    }

    fn request(from: &str, to: &str, model: &str) -> InferRequest {
        InferRequest {
            v: PROTOCOL_VERSION,
            from: from.into(),
            to: to.into(),
            request_id: "r1".into(),
            model: model.into(),
            messages: vec![ChatMessage {
                role: Role::User,
                content: "hello".into(),
            }],
            format: WireFormat::Actions,
            programs: WirePrograms::OneOf {
                names: vec!["ls".into()],
            },
            max_tokens: 100,
            temperature: 0.5,
            sent_at: String::new(),
        }
    }

    fn code(subject: &str, request: &InferRequest) -> &'static str {
        let bytes = serde_json::to_vec(request).unwrap();
        match judge(&config(), subject, &bytes) {
            Ok(_) => "admitted",
            Err((_, refusal)) => refusal.code(),
        }
    }

    #[rstest]
    #[case::trusted_sender_offered_model(
        "leash.phone.direct.srv.infer",
        request("phone", "srv", "big"),
        "admitted"
    )]
    #[case::claimed_sender_is_not_the_publisher(
        "leash.mallory.direct.srv.infer",
        request("phone", "srv", "big"),
        "sender_mismatch"
    )]
    #[case::untrusted_sender(
        "leash.mallory.direct.srv.infer",
        request("mallory", "srv", "big"),
        "untrusted"
    )]
    #[case::addressed_elsewhere(
        "leash.phone.direct.srv.infer",
        request("phone", "laptop", "big"),
        "not_for_me"
    )]
    #[case::model_not_offered(
        "leash.phone.direct.srv.infer",
        request("phone", "srv", "default"),
        "not_offered"
    )]
    #[case::old_protocol("leash.phone.direct.srv.infer", InferRequest { v: 0, ..request("phone", "srv", "big") }, "version")]
    #[case::too_many_messages("leash.phone.direct.srv.infer", InferRequest { messages: vec![ChatMessage { role: Role::User, content: "x".into() }; MAX_MESSAGES + 1], ..request("phone", "srv", "big") }, "too_large")]
    #[case::conversation_too_long("leash.phone.direct.srv.infer", InferRequest { messages: vec![ChatMessage { role: Role::User, content: "x".repeat(MAX_CONVERSATION_BYTES + 1) }], ..request("phone", "srv", "big") }, "too_large")]
    #[case::grammar_too_long("leash.phone.direct.srv.infer", InferRequest { format: WireFormat::Shaped { name: "s".into(), gbnf: "x".repeat(MAX_SHAPE_BYTES + 1), schema: serde_json::Value::Null }, ..request("phone", "srv", "big") }, "too_large")]
    #[case::program_choice_too_long("leash.phone.direct.srv.infer", InferRequest { programs: WirePrograms::OneOf { names: vec!["x".repeat(1024); MAX_PROGRAMS_BYTES / 1024 + 1] }, ..request("phone", "srv", "big") }, "too_large")]
    fn inference_requests_are_judged_strictest_first(
        #[case] subject: &str,
        #[case] request: InferRequest,
        #[case] expected: &str,
    ) {
        assert_eq!(code(subject, &request), expected);
    }

    #[test]
    fn unreadable_requests_are_refused_unanswered() {
        let Err((request, refusal)) =
            judge(&config(), "leash.phone.direct.srv.infer", b"{not json")
        else {
            panic!("admitted garbage");
        };
        assert!(request.is_none());
        assert_eq!(refusal.code(), "malformed");
        assert!(!refusal.answerable());
    }

    #[test]
    fn a_requester_cannot_ask_for_more_tokens_than_the_device_serves() {
        let hostile = InferRequest {
            max_tokens: 1_000_000,
            temperature: 50.0,
            ..request("phone", "srv", "big")
        };
        let bytes = serde_json::to_vec(&hostile).unwrap();
        let admitted = judge(&config(), "leash.phone.direct.srv.infer", &bytes).unwrap();
        assert_eq!(admitted.max_tokens, 512);
        assert_eq!(admitted.temperature, 2.0);
    }

    #[test]
    fn formats_and_program_choices_survive_the_wire() {
        let shape = OutputFormat::Shaped(std::sync::Arc::new(AnswerShape {
            name: "pick".into(),
            gbnf: "root ::= \"a\"".into(),
            schema: serde_json::json!({"type": "string"}),
        }));
        for format in [OutputFormat::Actions, OutputFormat::Text, shape] {
            let wire = WireFormat::from_format(&format);
            let back: WireFormat =
                serde_json::from_slice(&serde_json::to_vec(&wire).unwrap()).unwrap();
            assert_eq!(back.to_format(), format);
        }
        let shapes = CommandShapes {
            existing: vec![".".into(), "notes.txt".into()],
            ..Default::default()
        };
        let wire = WirePrograms::from_choice(leash_llm::ProgramChoice::Typed(&shapes));
        let back: WirePrograms =
            serde_json::from_slice(&serde_json::to_vec(&wire).unwrap()).unwrap();
        assert!(matches!(back.as_choice(), leash_llm::ProgramChoice::Typed(s) if *s == shapes));
    }
}
