//! Heartbeats and `leash fleet status`. A device publishes its [`Offer`] on
//! `leash.<device>.offer` into a stream that keeps the last one per device, so
//! a device that just joined (or the CLI) sees every device's last word and
//! when it was heard, without anyone having to be listening at the time.

use std::time::Duration;

use async_nats::jetstream::consumer::{self, DeliverPolicy};
use futures_util::StreamExt;
use serde::Serialize;

use crate::connection::Fleet;
use crate::envelope::{self, Offer, PROTOCOL_VERSION, check_sender};
use crate::error::FleetError;
use crate::subjects;

/// One device as the fleet last heard from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSeen {
    /// The device's name.
    pub device: String,
    /// When the server stored its last offer (RFC 3339, the server's clock).
    pub last_heard: String,
    /// Seconds since then (by this device's clock).
    pub age_s: i64,
    /// What it last offered.
    pub offer: Offer,
}

impl Fleet {
    /// Publishes this device's offer and waits for the stream to store it.
    pub async fn publish_offer(&self, offer: &Offer) -> Result<(), FleetError> {
        let subject = subjects::offer(&self.config.device);
        let payload = envelope::encode(&subject, offer)?;
        self.js
            .publish(subject.clone(), payload)
            .await
            .map_err(|e| FleetError::js(format!("publishing {subject}"), e))?
            .await
            .map_err(|e| FleetError::js(format!("storing {subject}"), e))?;
        Ok(())
    }

    /// Every device's last offer, sorted by name. Offers whose claimed device
    /// is not the publisher are left out (and logged): they are forgeries the
    /// server's permissions should have stopped.
    pub async fn devices(&self) -> Result<Vec<DeviceSeen>, FleetError> {
        let mut stream = self
            .js
            .get_stream(subjects::DEVICES_STREAM)
            .await
            .map_err(|e| FleetError::js("opening the devices stream", e))?;
        let count = stream
            .info()
            .await
            .map_err(|e| FleetError::js("reading the devices stream", e))?
            .state
            .messages;
        if count == 0 {
            return Ok(Vec::new());
        }
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: DeliverPolicy::LastPerSubject,
                filter_subject: "leash.*.offer".to_owned(),
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|e| FleetError::js("reading the devices stream", e))?;
        let batch = usize::try_from(count).unwrap_or(usize::MAX).min(10_000);
        let mut messages = consumer
            .fetch()
            .max_messages(batch)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .map_err(|e| FleetError::js("reading the devices stream", e))?;
        let now = jiff::Timestamp::now();
        let mut seen = Vec::new();
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| FleetError::js("reading an offer", e))?;
            let subject = message.subject.to_string();
            let offer: Offer = match envelope::decode(&subject, &message.payload) {
                Ok(offer) => offer,
                Err(err) => {
                    tracing::warn!(%err, "unreadable offer skipped");
                    continue;
                }
            };
            if offer.v != PROTOCOL_VERSION {
                tracing::warn!(%subject, v = offer.v, "offer of another protocol version skipped");
                continue;
            }
            if let Err(err) = check_sender(&subject, &offer.device) {
                tracing::warn!(%err, "forged offer skipped");
                continue;
            }
            let published = message
                .info()
                .map(|info| info.published.unix_timestamp_nanos())
                .ok()
                .and_then(|nanos| jiff::Timestamp::from_nanosecond(nanos).ok())
                .unwrap_or(now);
            let pending = message.info().map(|i| i.pending).unwrap_or(0);
            seen.push(DeviceSeen {
                device: offer.device.clone(),
                last_heard: published.to_string(),
                age_s: now.duration_since(published).as_secs(),
                offer,
            });
            if pending == 0 {
                break;
            }
        }
        seen.sort_by(|a, b| a.device.cmp(&b.device));
        Ok(seen)
    }
}
