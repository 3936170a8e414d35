//! Connecting a device to the fleet: the config's URLs, its credentials file
//! and TLS settings, then the JetStream streams every device relies on
//! (declared idempotently by whoever connects first).

use std::time::Duration;

use async_nats::jetstream::consumer::{self, pull};
use async_nats::jetstream::{self, stream};
use leash_config::FleetConfig;

use crate::credentials::Credentials;
use crate::error::FleetError;
use crate::subjects;

/// A connected device.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The `fleet:` section it connected with (device name, trust, offers).
    pub config: FleetConfig,
    /// The NATS connection (plain messages, request/reply).
    pub client: async_nats::Client,
    /// JetStream on that connection (the job, result and device streams).
    pub js: jetstream::Context,
}

/// How long a `Nats-Msg-Id` is remembered by the job and result streams: a
/// sender retrying a publish within this window is stored once. (The
/// receiver's own store de-duplicates forever.)
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Connects (failing when no server answers within `timeout`) and declares
/// the streams.
pub async fn connect(config: &FleetConfig, timeout: Duration) -> Result<Fleet, FleetError> {
    subjects::device(&config.device)?;
    let credentials = Credentials::load(&config.credentials)?;
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("leash {}", config.device))
        // Replies (JetStream acks, pulled messages) come to this device's own
        // inbox prefix, so the server can let it subscribe there only: with a
        // shared `_INBOX.>` any device could read another's deliveries.
        .custom_inbox_prefix(subjects::inbox_prefix(&config.device))
        .connection_timeout(timeout)
        .require_tls(config.tls.require);
    options = match credentials {
        Credentials::UserPassword { user, password } => options.user_and_password(user, password),
        Credentials::NkeySeed(seed) => options.nkey(seed),
    };
    if let Some(ca) = &config.tls.ca {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let urls = config.urls.join(", ");
    let client = tokio::time::timeout(timeout, options.connect(config.urls.clone()))
        .await
        .map_err(|_| FleetError::Connect {
            urls: urls.clone(),
            detail: format!("no answer within {timeout:?}"),
        })?
        .map_err(|e| FleetError::Connect {
            urls,
            detail: e.to_string(),
        })?;
    let js = jetstream::new(client.clone());
    declare_streams(&js).await?;
    Ok(Fleet {
        config: config.clone(),
        client,
        js,
    })
}

/// The four streams; `get_or_create` leaves an existing one as it is.
async fn declare_streams(js: &jetstream::Context) -> Result<(), FleetError> {
    let configs = [
        stream::Config {
            name: subjects::DEVICES_STREAM.to_owned(),
            subjects: vec!["leash.*.offer".to_owned()],
            max_messages_per_subject: 1,
            storage: stream::StorageType::File,
            ..Default::default()
        },
        stream::Config {
            name: subjects::JOBS_STREAM.to_owned(),
            subjects: vec!["leash.*.job.*".to_owned()],
            duplicate_window: DUPLICATE_WINDOW,
            max_age: Duration::from_secs(7 * 24 * 3600),
            storage: stream::StorageType::File,
            ..Default::default()
        },
        stream::Config {
            name: subjects::RESULTS_STREAM.to_owned(),
            subjects: vec!["leash.*.result.*".to_owned()],
            duplicate_window: DUPLICATE_WINDOW,
            max_age: Duration::from_secs(7 * 24 * 3600),
            storage: stream::StorageType::File,
            ..Default::default()
        },
        stream::Config {
            name: crate::notices::APPROVALS_STREAM.to_owned(),
            subjects: vec![crate::notices::ALL_SUBJECTS.to_owned()],
            // The last notice per request is its current state.
            max_messages_per_subject: 1,
            duplicate_window: crate::notices::NOTICE_MAX_AGE,
            max_age: crate::notices::NOTICE_MAX_AGE,
            storage: stream::StorageType::File,
            ..Default::default()
        },
    ];
    for config in configs {
        let name = config.name.clone();
        js.get_or_create_stream(config)
            .await
            .map_err(|e| FleetError::js(format!("declaring stream {name}"), e))?;
    }
    Ok(())
}

impl Fleet {
    /// The messages of durable pull consumer `name` on `stream` (created when
    /// missing) for `filter`, acked explicitly within [`crate::jobs::ACK_WAIT`].
    pub(crate) async fn durable_messages(
        &self,
        stream: &str,
        name: String,
        filter: String,
    ) -> Result<pull::Stream, FleetError> {
        let stream = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| FleetError::js(format!("opening stream {stream}"), e))?;
        let consumer: consumer::Consumer<pull::Config> = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: filter,
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: crate::jobs::ACK_WAIT,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| FleetError::js(format!("creating consumer {name}"), e))?;
        consumer
            .messages()
            .await
            .map_err(|e| FleetError::js(format!("pulling from {name}"), e))
    }

    /// Publishes into a stream with `Nats-Msg-Id` = `msg_id` and waits until
    /// it is stored (`duplicate` in the ack: the id was already there).
    pub(crate) async fn publish_once(
        &self,
        subject: &str,
        payload: bytes::Bytes,
        msg_id: &str,
    ) -> Result<jetstream::publish::PublishAck, FleetError> {
        self.js
            .send_publish(
                subject.to_owned(),
                jetstream::message::PublishMessage::build()
                    .payload(payload)
                    .message_id(msg_id),
            )
            .await
            .map_err(|e| FleetError::js(format!("publishing {subject}"), e))?
            .await
            .map_err(|e| FleetError::js(format!("storing {subject}"), e))
    }
}
