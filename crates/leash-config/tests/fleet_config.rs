//! `fleet:` (issue 13): a full section loads; every mistake is an error that
//! names its key and line; absent, there is no fleet.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use leash_config::{ConfigErrors, EnvVars, ExecutionMode, LoadOptions, LoadedConfig, load};
use rstest::rstest;

fn load_text(dir: &std::path::Path, text: &str) -> Result<LoadedConfig, ConfigErrors> {
    let file = dir.join("conf/config.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    load(&LoadOptions {
        config_file: Some(file),
        env: EnvVars::from_pairs([("HOME", dir.to_str().unwrap())]),
        overrides: Vec::new(),
        cwd: Some(dir.join("cwd")),
    })
}

const FULL: &str = "fleet:
  device: phone-1
  urls: [nats://10.0.0.2:4222, tls://srv:4222]
  credentials: fleet.creds
  tls: { require: true, ca: ca.pem }
  trusted: [laptop, srv]
  accept: true
  accept_mode: dry-run
  heartbeat_s: 30
  offer_models: [small]
";

#[test]
fn a_full_fleet_section_loads_with_paths_beside_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = load_text(dir.path(), FULL).unwrap().config.fleet.unwrap();
    assert_eq!(fleet.device, "phone-1");
    assert_eq!(fleet.urls.len(), 2);
    assert_eq!(fleet.credentials, dir.path().join("conf/fleet.creds"));
    assert_eq!(fleet.tls.ca, Some(dir.path().join("conf/ca.pem")));
    assert!(fleet.tls.require);
    assert_eq!(fleet.trusted, ["laptop", "srv"]);
    assert_eq!(fleet.accept_mode, ExecutionMode::DryRun);
    assert_eq!(fleet.heartbeat_s, 30);
}

#[test]
fn without_a_fleet_section_there_is_no_fleet_and_the_defaults_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        load_text(dir.path(), "model: {}\n")
            .unwrap()
            .config
            .fleet
            .is_none()
    );
    let minimal = "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\n";
    let fleet = load_text(dir.path(), minimal)
        .unwrap()
        .config
        .fleet
        .unwrap();
    assert_eq!(fleet.accept_mode, ExecutionMode::Prompt);
    assert!(fleet.trusted.is_empty(), "no device is trusted by default");
}

#[rstest]
#[case::missing_device(
    "fleet:\n  urls: [nats://h:1]\n  credentials: c\n",
    "fleet.device",
    2,
    "required"
)]
#[case::missing_credentials(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n",
    "fleet.credentials",
    2,
    "required"
)]
#[case::device_with_a_dot(
    "fleet:\n  device: a.b\n  urls: [nats://h:1]\n  credentials: c\n",
    "fleet.device",
    2,
    "not a device name"
)]
#[case::device_wildcard(
    "fleet:\n  device: '>'\n  urls: [nats://h:1]\n  credentials: c\n",
    "fleet.device",
    2,
    "not a device name"
)]
#[case::trusted_wildcard(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\n  trusted: ['*']\n",
    "fleet.trusted[0]",
    5,
    "not a device name"
)]
#[case::not_a_nats_url(
    "fleet:\n  device: a\n  urls: [http://h:1]\n  credentials: c\n",
    "fleet.urls[0]",
    3,
    "not a NATS URL"
)]
#[case::no_urls(
    "fleet:\n  device: a\n  urls: []\n  credentials: c\n",
    "fleet.urls",
    3,
    "at least one"
)]
#[case::unknown_mode(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\n  accept_mode: yolo\n",
    "fleet.accept_mode",
    5,
    ""
)]
#[case::secret_in_the_yaml(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\n  password: hunter2\n",
    "fleet.password",
    5,
    "unknown key"
)]
#[case::cert_without_key(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\n  tls:\n    cert: c.pem\n",
    "fleet.tls",
    6,
    "go together"
)]
#[case::fleet_model_without_a_device(
    "model:\n  backend: fleet\n  name: big\n",
    "model.name",
    3,
    "DEVICE/MODEL"
)]
#[case::fleet_model_without_a_name("model:\n  backend: fleet\n", "model.name", 2, "DEVICE/MODEL")]
#[case::fleet_fallback_with_a_wildcard_device(
    "model:\n  backend: replay\n  transcript: t.yaml\n  fallbacks:\n    - backend: fleet\n      name: '*/big'\n",
    "model.fallbacks[0].name",
    6,
    "DEVICE/MODEL"
)]
#[case::negative_serve_limit(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\n  serve_max_tokens: 0\n",
    "fleet.serve_max_tokens",
    5,
    ""
)]
#[case::trigger_on_without_a_fleet(
    "triggers:\n  - name: t\n    kind: schedule\n    cron: '@daily'\n    prompt: p\n    on: laptop\n",
    "triggers[0].on",
    2,
    "fleet:"
)]
#[case::trigger_on_a_wildcard(
    "fleet:\n  device: a\n  urls: [nats://h:1]\n  credentials: c\ntriggers:\n  - name: t\n    kind: schedule\n    cron: '@daily'\n    prompt: p\n    on: '>'\n",
    "triggers[0].on",
    10,
    "not a device name"
)]
fn fleet_mistakes_name_their_key_and_line(
    #[case] yaml: &str,
    #[case] key: &str,
    #[case] line: usize,
    #[case] message: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let errors = load_text(dir.path(), yaml).unwrap_err();
    let error = errors
        .errors()
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no error for {key:?} in:\n{errors}"));
    assert_eq!(error.line, Some(line), "{error}");
    assert!(error.message.contains(message), "{error}");
}

#[test]
fn a_fleet_model_in_the_backend_chain_and_the_serving_limits_load() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "model:\n  backend: fleet\n  name: laptop/big\n  fallbacks:\n    - backend: replay\n      transcript: t.yaml\nfleet:\n  device: phone\n  urls: [nats://h:1]\n  credentials: c\n  offer_models: [default]\n  infer_timeout_s: 5\n  serve_max_tokens: 256\n  serve_queue: 0\ntriggers:\n  - name: t\n    kind: schedule\n    cron: '@daily'\n    prompt: p\n    on: laptop\n";
    let config = load_text(dir.path(), yaml).unwrap().config;
    assert_eq!(config.model.backend, leash_config::Backend::Fleet);
    assert_eq!(
        leash_config::split_fleet_model(config.model.name.as_deref().unwrap()),
        Some(("laptop", "big"))
    );
    let fleet = config.fleet.unwrap();
    assert_eq!(fleet.infer_timeout_s, 5);
    assert_eq!(fleet.serve_max_tokens, 256);
    assert_eq!(fleet.serve_queue, 0);
    assert_eq!(config.triggers[0].on.as_deref(), Some("laptop"));
}
