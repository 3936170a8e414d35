//! Against a real nats-server with JetStream and per-device users: a job
//! travels once (Nats-Msg-Id), wrong credentials get nothing through, and a
//! device cannot publish on another device's subjects nor pass as it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use leash_config::{ExecutionMode, FleetConfig};
use leash_fleet::jobs::{Refusal, judge, new_msg_id};
use leash_fleet::test_server::NatsServer;
use leash_fleet::{Fleet, JobRequest, PROTOCOL_VERSION};

const DEVICES: &[(&str, &str)] = &[
    ("phone", "pw-phone"),
    ("laptop", "pw-laptop"),
    ("mallory", "pw-mallory"),
];

fn server(dir: &Path) -> Option<NatsServer> {
    let server = NatsServer::start(dir, DEVICES).unwrap();
    if server.is_none() {
        eprintln!(
            "skipped: no nats-server here (apt-get install nats-server; LEASH_REQUIRE_NATS_SERVER=1 makes this a failure)"
        );
    }
    server
}

fn config(dir: &Path, server: &NatsServer, device: &str, password: &str) -> FleetConfig {
    let creds = dir.join(format!("{device}-{password}.creds"));
    std::fs::write(&creds, format!("{device}:{password}\n")).unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    FleetConfig {
        device: device.into(),
        urls: vec![server.url()],
        credentials: creds,
        tls: Default::default(),
        trusted: vec!["laptop".into()],
        accept: true,
        accept_mode: ExecutionMode::Prompt,
        heartbeat_s: 60,
        offer_models: vec![],
        infer_timeout_s: 60,
        serve_max_tokens: 1024,
        serve_queue: 2,
    }
}

async fn join(dir: &Path, server: &NatsServer, device: &str) -> Fleet {
    let password = DEVICES.iter().find(|(d, _)| *d == device).unwrap().1;
    leash_fleet::connect(
        &config(dir, server, device, password),
        Duration::from_secs(10),
    )
    .await
    .unwrap()
}

fn request(from: &str, to: &str, msg_id: &str) -> JobRequest {
    JobRequest {
        v: PROTOCOL_VERSION,
        from: from.into(),
        to: to.into(),
        msg_id: msg_id.into(),
        prompt: "list the inbox".into(),
        mode: None,
        sent_at: leash_fleet::envelope::now(),
        payload: None,
    }
}

/// Whatever is waiting in `fleet`'s job inbox within `wait`.
async fn drain(fleet: &Fleet, wait: Duration) -> Vec<(String, Vec<u8>)> {
    let mut inbox = fleet.job_inbox().await.unwrap();
    let mut got = Vec::new();
    while let Ok(Some(next)) = tokio::time::timeout(wait, inbox.next()).await {
        let job = next.unwrap();
        got.push((job.subject.clone(), job.message.payload.to_vec()));
        job.ack().await.unwrap();
    }
    got
}

#[tokio::test(flavor = "current_thread")]
async fn a_job_published_twice_with_one_msg_id_is_delivered_once_and_admitted() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = server(dir.path()) else {
        return;
    };
    let laptop = join(dir.path(), &server, "laptop").await;
    let phone = join(dir.path(), &server, "phone").await;
    let id = new_msg_id().unwrap();
    let first = laptop
        .send_job(&request("laptop", "phone", &id))
        .await
        .unwrap();
    let again = laptop
        .send_job(&request("laptop", "phone", &id))
        .await
        .unwrap();
    assert!(!first.duplicate);
    assert!(
        again.duplicate,
        "the stream must drop a re-sent Nats-Msg-Id"
    );
    let got = drain(&phone, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let admit = judge(&phone.config, &got[0].0, &got[0].1).unwrap();
    assert_eq!(admit.request.msg_id, id);
    assert_eq!(admit.mode, ExecutionMode::Prompt);

    // And the offers: both devices listed by `fleet status`.
    for fleet in [&laptop, &phone] {
        let offer = leash_fleet::Offer {
            v: PROTOCOL_VERSION,
            device: fleet.config.device.clone(),
            models: vec![],
            programs: vec!["ls".into()],
            person_reachable: false,
            accepts_jobs: true,
            accept_mode: "prompt".into(),
            version: "test".into(),
            sent_at: leash_fleet::envelope::now(),
        };
        fleet.publish_offer(&offer).await.unwrap();
    }
    let seen: Vec<String> = phone
        .devices()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.device)
        .collect();
    assert_eq!(seen, ["laptop", "phone"]);
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_credentials_get_no_connection() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = server(dir.path()) else {
        return;
    };
    for (device, password) in [("phone", "pw-laptop"), ("nobody", "x")] {
        let err = leash_fleet::connect(
            &config(dir.path(), &server, device, password),
            Duration::from_secs(3),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("fleet.urls"), "{err}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_device_cannot_publish_as_another_nor_read_its_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let Some(server) = server(dir.path()) else {
        return;
    };
    let phone = join(dir.path(), &server, "phone").await;
    let mallory = join(dir.path(), &server, "mallory").await;

    // 1. Publishing on the laptop's subject: the server refuses it, so the
    //    stream never stores it (the publish gets no ack).
    let forged = request("laptop", "phone", &new_msg_id().unwrap());
    let payload = serde_json::to_vec(&forged).unwrap();
    let published = tokio::time::timeout(Duration::from_secs(3), async {
        mallory
            .js
            .publish("leash.laptop.job.phone", payload.into())
            .await?
            .await
            .map_err(async_nats::Error::from)
    })
    .await;
    assert!(
        !matches!(published, Ok(Ok(_))),
        "a forged subject was stored: {published:?}"
    );

    // 2. Publishing on its own subject while claiming to be the laptop: the
    //    stream stores it, the phone refuses it as forged.
    let forged = request("laptop", "phone", &new_msg_id().unwrap());
    let payload = serde_json::to_vec(&forged).unwrap();
    mallory
        .js
        .publish("leash.mallory.job.phone", payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
    // 3. Mallory as itself: stored, but refused as untrusted.
    mallory
        .send_job(&request("mallory", "phone", &new_msg_id().unwrap()))
        .await
        .unwrap();

    let got = drain(&phone, Duration::from_secs(2)).await;
    let verdicts: Vec<&str> = got
        .iter()
        .map(|(subject, payload)| judge(&phone.config, subject, payload).unwrap_err().1.code())
        .collect();
    assert_eq!(verdicts, ["sender_mismatch", "untrusted"]);
    assert!(matches!(
        judge(&phone.config, &got[1].0, &got[1].1).unwrap_err().1,
        Refusal::Untrusted(_)
    ));

    // 4. Mallory cannot read the phone's jobs: its consumer is not hers.
    let mut as_phone = mallory.clone();
    as_phone.config.device = "phone".into();
    let stolen = tokio::time::timeout(Duration::from_secs(5), as_phone.job_inbox()).await;
    assert!(
        !matches!(stolen, Ok(Ok(_))),
        "mallory opened the phone's job inbox"
    );
}

/// Stream rights, hostile: a device may create the fleet's streams when
/// missing (`get_or_create`) and read what its permissions allow, but it
/// cannot delete, purge or reconfigure any of them (that would drop other
/// devices' jobs, ends and approval notices), nor store a notice under
/// another device's subject.
#[tokio::test(flavor = "current_thread")]
async fn a_device_cannot_delete_purge_or_reconfigure_the_fleets_streams() {
    use leash_fleet::notices::APPROVALS_STREAM;
    use leash_fleet::subjects::{DEVICES_STREAM, JOBS_STREAM, RESULTS_STREAM};

    let dir = tempfile::tempdir().unwrap();
    let Some(server) = server(dir.path()) else {
        return;
    };
    let phone = join(dir.path(), &server, "phone").await;
    phone
        .send_job(&request("phone", "laptop", &new_msg_id().unwrap()))
        .await
        .unwrap();
    let mallory = join(dir.path(), &server, "mallory").await;
    let wait = Duration::from_secs(3);
    for name in [
        DEVICES_STREAM,
        JOBS_STREAM,
        RESULTS_STREAM,
        APPROVALS_STREAM,
    ] {
        let deleted = tokio::time::timeout(wait, mallory.js.delete_stream(name)).await;
        assert!(!matches!(deleted, Ok(Ok(_))), "{name} deleted");
        let purged = tokio::time::timeout(wait, async {
            let stream = mallory
                .js
                .get_stream(name)
                .await
                .map_err(async_nats::Error::from)?;
            stream.purge().await.map_err(async_nats::Error::from)
        })
        .await;
        assert!(!matches!(purged, Ok(Ok(_))), "{name} purged: {purged:?}");
        let updated = tokio::time::timeout(
            wait,
            mallory
                .js
                .update_stream(async_nats::jetstream::stream::Config {
                    name: name.to_owned(),
                    subjects: vec!["leash.mallory.>".to_owned()],
                    ..Default::default()
                }),
        )
        .await;
        assert!(
            !matches!(updated, Ok(Ok(_))),
            "{name} reconfigured: {updated:?}"
        );
    }
    // Everything is still there for the phone: its job waits in the stream.
    let mut jobs = phone.js.get_stream(JOBS_STREAM).await.unwrap();
    assert_eq!(jobs.info().await.unwrap().state.messages, 1);
    let mut approvals = phone.js.get_stream(APPROVALS_STREAM).await.unwrap();
    let subjects = &approvals.info().await.unwrap().config.subjects;
    assert_eq!(subjects, &["leash.*.approval.*".to_owned()]);

    // A notice under the phone's subject is not stored.
    let forged = tokio::time::timeout(wait, async {
        mallory
            .js
            .publish("leash.phone.approval.1", "{}".into())
            .await?
            .await
            .map_err(async_nats::Error::from)
    })
    .await;
    assert!(
        !matches!(forged, Ok(Ok(_))),
        "forged notice stored: {forged:?}"
    );
}
