//! Backend `fleet`: a model another device offers, used like any backend.
//!
//! leash's backends are blocking and owned by the worker thread, while NATS
//! lives on the daemon's async runtime. [`FleetModel::generate`] therefore
//! spawns one task on that runtime per request (subscribe to the answer
//! stream, publish the request, forward each reply over a std channel) and
//! waits on the channel with `fleet.infer_timeout_s` as the longest silence
//! it accepts. Any way out of `generate` (answer, refusal, timeout, error)
//! stops the task; unless the answer was complete, the task tells the
//! offering device to cancel.
//!
//! Errors are mapped so that the fallback chain does the right thing: an
//! unreachable fleet, no device answering, a refusal (untrusted, busy, model
//! not offered) and silence all fall back to the next backend (audited as
//! `backend.switch`); a reply that breaks the protocol does not.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use leash_llm::{Backend, BackendError, GenerateRequest, Generation};

use crate::envelope::{PROTOCOL_VERSION, check_sender, decode, encode, now};
use crate::infer::{InferCancel, InferReply, InferRequest, ReplyBody, WireFormat, WirePrograms};
use crate::subjects;

/// How this process reaches the fleet's models: the connection (set once the
/// daemon has joined; until then every fleet backend falls back), the async
/// runtime that drives it, and this device's name.
#[derive(Debug, Clone)]
pub struct FleetLink {
    client: Arc<OnceLock<async_nats::Client>>,
    handle: tokio::runtime::Handle,
    me: String,
    timeout: Duration,
}

impl FleetLink {
    /// A link for device `me`, not joined yet; `timeout`: the longest silence
    /// from an offering device before its request counts as lost.
    pub fn new(me: String, handle: tokio::runtime::Handle, timeout: Duration) -> Self {
        FleetLink {
            client: Arc::new(OnceLock::new()),
            handle,
            me,
            timeout,
        }
    }

    /// The fleet is joined: requests go through `client` from now on.
    pub fn joined(&self, client: async_nats::Client) {
        if self.client.set(client).is_err() {
            tracing::debug!("fleet link already joined");
        }
    }

    /// A backend for `model` as offered by `device`.
    pub fn model(&self, device: &str, model: &str) -> FleetModel {
        FleetModel {
            link: self.clone(),
            device: device.to_owned(),
            model: model.to_owned(),
            cancel: None,
        }
    }
}

/// A model offered by another device (see the module docs).
#[derive(Debug)]
pub struct FleetModel {
    link: FleetLink,
    device: String,
    model: String,
    /// Checked while waiting: a cancelled job stops waiting at once, and the
    /// offering device is told to stop generating.
    cancel: Option<leash_llm::CancelToken>,
}

/// How often the wait checks the cancel token.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// What the stream task reports.
enum Event {
    /// A reply from the offering device.
    Reply(ReplyBody),
    /// The server says no one listens on the request subject.
    NoResponders,
    /// The stream ended or failed; holds why.
    Broken(String),
}

impl Backend for FleetModel {
    fn name(&self) -> String {
        format!("fleet:{}/{}", self.device, self.model)
    }

    fn set_cancel(&mut self, cancel: Option<leash_llm::CancelToken>) {
        self.cancel = cancel;
    }

    fn generate(&mut self, request: GenerateRequest<'_>) -> Result<Generation, BackendError> {
        let backend = self.name();
        let connection = |detail: &str| BackendError::Connection {
            backend: backend.clone(),
            detail: detail.to_owned(),
        };
        let client = self
            .link
            .client
            .get()
            .cloned()
            .ok_or_else(|| connection("this device has not joined the fleet (yet)"))?;
        if client.connection_state() != async_nats::connection::State::Connected {
            return Err(connection("the NATS server is not reachable"));
        }
        let request_id = crate::infer::request_id().map_err(|e| connection(&e.to_string()))?;
        let wire = InferRequest {
            v: PROTOCOL_VERSION,
            from: self.link.me.clone(),
            to: self.device.clone(),
            request_id: request_id.clone(),
            model: self.model.clone(),
            messages: request.messages.to_vec(),
            format: WireFormat::from_format(&request.format),
            programs: WirePrograms::from_choice(request.programs),
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            sent_at: now(),
        };
        let subject = subjects::direct(&self.link.me, &self.device, subjects::kind::INFER);
        let payload = encode(&subject, &wire).map_err(|e| BackendError::Protocol {
            backend: backend.clone(),
            detail: e.to_string(),
        })?;
        let (events, received) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let started = Instant::now();
        self.link.handle.spawn(stream(
            client,
            Exchange {
                me: self.link.me.clone(),
                device: self.device.clone(),
                request_id,
            },
            payload,
            events,
            stopped,
        ));
        // Dropping `stop` without sending (every early return) cancels.
        let mut stop = Some(stop);
        let mut on_text = request.on_text;
        let mut first_text: Option<Duration> = None;
        let mut next_seq = 0u64;
        let mut last_word = Instant::now();
        loop {
            if leash_llm::cancelled(self.cancel.as_ref()) {
                // Returning drops `stop`: the offering device is told.
                return Err(BackendError::Cancelled {
                    backend,
                    generated_tokens: u32::try_from(next_seq).unwrap_or(u32::MAX),
                });
            }
            let event = match received.recv_timeout(CANCEL_CHECK.min(self.link.timeout)) {
                Ok(event) => {
                    last_word = Instant::now();
                    event
                }
                Err(mpsc::RecvTimeoutError::Timeout) if last_word.elapsed() < self.link.timeout => {
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(BackendError::Timeout {
                        backend,
                        detail: format!("no word from {} for {:?}", self.device, self.link.timeout),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(connection("the fleet connection closed"));
                }
            };
            match event {
                Event::NoResponders => {
                    return Err(connection(&format!(
                        "{} is not in the fleet now (no one listens for its requests)",
                        self.device
                    )));
                }
                Event::Broken(detail) => return Err(connection(&detail)),
                Event::Reply(ReplyBody::Accepted { ahead }) => {
                    tracing::debug!(device = %self.device, ahead, "fleet model: request queued");
                }
                Event::Reply(ReplyBody::Chunk { seq, text }) => {
                    if seq != next_seq {
                        return Err(BackendError::Protocol {
                            backend,
                            detail: format!("chunk {seq} arrived where {next_seq} was due"),
                        });
                    }
                    next_seq += 1;
                    first_text.get_or_insert_with(|| started.elapsed());
                    if let Some(sink) = on_text.as_deref_mut() {
                        sink(&text);
                    }
                }
                Event::Reply(ReplyBody::Done { generation }) => {
                    if let Some(stop) = stop.take() {
                        let _ = stop.send(true);
                    }
                    let total_time = started.elapsed();
                    return Ok(Generation {
                        backend: format!("{backend}({})", generation.backend),
                        time_to_first_token: first_text.unwrap_or(total_time),
                        total_time,
                        ..generation
                    });
                }
                Event::Reply(ReplyBody::Refused { code, reason }) => {
                    // Refused for who we are, for load or for the model: the
                    // next backend may well answer.
                    return Err(BackendError::Load {
                        backend,
                        detail: format!("{} refused the request ({code}): {reason}", self.device),
                    });
                }
                Event::Reply(ReplyBody::Failed { reason, falls_back }) => {
                    let detail = format!("{}: {reason}", self.device);
                    return Err(if falls_back {
                        BackendError::Load { backend, detail }
                    } else {
                        BackendError::Inference { backend, detail }
                    });
                }
            }
        }
    }
}

/// Who talks about which request.
struct Exchange {
    me: String,
    device: String,
    request_id: String,
}

/// Subscribes to the answer stream, publishes the request, and forwards the
/// replies that are really from `device` about this request until `stopped`
/// fires (`Ok(true)`: the answer is complete) or is dropped (cancel).
async fn stream(
    client: async_nats::Client,
    exchange: Exchange,
    payload: bytes::Bytes,
    events: mpsc::Sender<Event>,
    mut stopped: tokio::sync::oneshot::Receiver<bool>,
) {
    let Exchange {
        me,
        device,
        request_id,
    } = exchange;
    let reply_subject = subjects::direct(&device, &me, subjects::kind::INFER_REPLY);
    let mut replies = match client.subscribe(reply_subject.clone()).await {
        Ok(replies) => replies,
        Err(err) => {
            let _ = events.send(Event::Broken(format!("subscribing {reply_subject}: {err}")));
            return;
        }
    };
    // The reply subject doubles as the request's reply address, so the
    // server answers "no responders" there when the device is gone.
    if let Err(err) = client
        .publish_with_reply(
            subjects::direct(&me, &device, subjects::kind::INFER),
            reply_subject,
            payload,
        )
        .await
    {
        let _ = events.send(Event::Broken(format!("publishing the request: {err}")));
        return;
    }
    let complete = loop {
        tokio::select! {
            done = &mut stopped => break matches!(done, Ok(true)),
            message = replies.next() => {
                let Some(message) = message else {
                    let _ = events.send(Event::Broken("the answer stream closed".to_owned()));
                    break false;
                };
                if message.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                    let _ = events.send(Event::NoResponders);
                    continue;
                }
                match decode::<InferReply>(&message.subject, &message.payload) {
                    Ok(reply)
                        if reply.request_id == request_id
                            && reply.to == me
                            && check_sender(&message.subject, &reply.from).is_ok_and(|d| d == device) =>
                    {
                        if events.send(Event::Reply(reply.body)).is_err() {
                            break false;
                        }
                    }
                    Ok(_) => {}
                    Err(err) => tracing::debug!(%err, "fleet model: unreadable reply ignored"),
                }
            }
        }
    };
    let _ = replies.unsubscribe().await;
    if !complete {
        let cancel = InferCancel {
            v: PROTOCOL_VERSION,
            from: me.clone(),
            to: device.clone(),
            request_id,
        };
        let subject = subjects::direct(&me, &device, subjects::kind::INFER_CANCEL);
        match encode(&subject, &cancel) {
            Ok(bytes) => {
                if let Err(err) = client.publish(subject, bytes).await {
                    tracing::debug!(%err, "fleet model: cancel not sent");
                }
            }
            Err(err) => tracing::debug!(%err, "fleet model: cancel not encoded"),
        }
    }
}
