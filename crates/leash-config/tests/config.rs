//! leash-config against real files in temp dirs: the seed config, rejection
//! cases with key paths and lines, layering, expansion and the init text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use leash_config::{
    Backend, Config, ConfigChoice, ConfigErrors, EnvVars, ExecutionMode, LoadOptions, LoadedConfig,
    LogLevel, LoggingConfig, ModelConfig, MonitoringConfig, SecurityConfig, TriggerKind,
    default_config_yaml, load, render_yaml,
};
use rstest::rstest;
use tempfile::TempDir;

/// The seed's example config, verbatim (examples/seed-config.yaml).
const SEED: &str = include_str!("../../../examples/seed-config.yaml");

/// A temp home with a config file in it; nothing outside the temp dir is read.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn env(&self) -> EnvVars {
        EnvVars::from_pairs([("HOME", self.root().to_str().unwrap())])
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.root().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn options(&self, file: Option<PathBuf>, env: EnvVars, overrides: &[&str]) -> LoadOptions {
        LoadOptions {
            config_file: file,
            env,
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
            cwd: Some(self.root().join("cwd")),
        }
    }

    fn load_text(&self, text: &str) -> Result<LoadedConfig, ConfigErrors> {
        let file = self.write("conf/config.yaml", text);
        load(&self.options(Some(file), self.env(), &[]))
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn seed_config_loads_and_means_what_it_says() {
    let fx = Fixture::new();
    let loaded = fx.load_text(SEED).unwrap();
    let expected = Config {
        model: ModelConfig {
            path: Some(PathBuf::from("/path/to/model.gguf")),
            ..ModelConfig::default()
        },
        security: SecurityConfig {
            execution_mode: ExecutionMode::Prompt,
            whitelist: Some(strings(&["ls", "cat", "echo"])),
            blacklist: strings(&["rm -rf", "dd"]),
            require_approval_for: strings(&["docker", "git push"]),
            ..SecurityConfig::default()
        },
        monitoring: MonitoringConfig {
            watch_directories: vec![PathBuf::from("/home/ubuntu/triggers")],
            watch_patterns: strings(&["*.flag", "*.task"]),
            poll_interval_s: None,
            prompt: None,
            max_content_kb: 16,
            settle_ms: 500,
        },
        logging: LoggingConfig {
            audit_log: Some(PathBuf::from("/var/log/deepseek_audit.log")),
            level: LogLevel::Info,
            ..LoggingConfig::default()
        },
        ..Config::default()
    };
    assert_eq!(loaded.config, expected);
    assert_eq!(loaded.config.model.backend, Backend::Llama);
    assert_eq!(loaded.config.model.context_size, 2048);
    assert_eq!(
        loaded.source.as_deref(),
        Some(fx.root().join("conf/config.yaml").as_path())
    );
    // The model file and the watched directory do not exist here: warnings with lines.
    let model_warning = loaded
        .warnings
        .iter()
        .find(|w| w.key == "model.path")
        .unwrap();
    assert_eq!(model_warning.line, Some(2));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.key == "monitoring.watch_directories[0]" && w.line == Some(21))
    );
}

#[rstest]
#[case::bad_enum_value(
    "security:\n  execution_mode: yolo\n",
    "security.execution_mode",
    2,
    "expected one of: auto-approve, prompt, dry-run, audit-only"
)]
#[case::misspelt_enum_value(
    "security:\n  execution_mode: dryrun\n",
    "security.execution_mode",
    2,
    "did you mean \"dry-run\""
)]
#[case::unknown_section("modle:\n  path: /m.gguf\n", "modle", 1, "did you mean \"model\"")]
#[case::unknown_key(
    "model:\n  contxt_size: 10\n",
    "model.contxt_size",
    2,
    "did you mean \"context_size\""
)]
#[case::key_in_wrong_section(
    "security:\n  audit_log: /x.log\n",
    "security.audit_log",
    2,
    "it belongs in logging.audit_log"
)]
#[case::string_for_integer(
    "model:\n  context_size: \"big\"\n",
    "model.context_size",
    2,
    "expected a whole number, found a string"
)]
#[case::quoted_number(
    "model:\n  context_size: \"60\"\n",
    "model.context_size",
    2,
    "found a string (quoted values are strings)"
)]
#[case::string_for_boolean(
    "security:\n  network: \"yes\"\n",
    "security.network",
    2,
    "expected true or false"
)]
#[case::empty_model_path("model:\n  path: \"\"\n", "model.path", 2, "empty model path")]
#[case::relative_search_path(
    "security:\n  search_path:\n    - /usr/bin\n    - bin\n",
    "security.search_path[1]",
    4,
    "must be an absolute path"
)]
#[case::duplicate_key(
    "logging:\n  level: info\n  level: debug\n",
    "logging.level",
    3,
    "duplicate key \"level\" (first at line 2)"
)]
#[case::invalid_yaml_syntax("model:\n  path: [/a\nsecurity: {}\n", "", 3, "invalid YAML")]
#[case::zero_limit(
    "security:\n  limits:\n    timeout_s: 0\n",
    "security.limits.timeout_s",
    3,
    "must be greater than 0"
)]
#[case::negative_steps(
    "agent:\n  max_steps: -1\n",
    "agent.max_steps",
    2,
    "must be greater than 0"
)]
#[case::bad_glob(
    "monitoring:\n  watch_patterns:\n    - \"a[b\"\n",
    "monitoring.watch_patterns[0]",
    3,
    "invalid glob"
)]
#[case::bad_listen_address("api:\n  listen: localhost\n", "api.listen", 2, "expected IP:PORT")]
#[case::bad_log_level("logging:\n  level: LOUD\n", "logging.level", 2, "unknown log level")]
#[case::unset_variable(
    "logging:\n  audit_log: $LEASH_TEST_UNSET/a.log\n",
    "logging.audit_log",
    2,
    "$LEASH_TEST_UNSET is not set"
)]
#[case::schedule_without_cron(
    "triggers:\n  - name: t\n    kind: schedule\n    prompt: hi\n",
    "triggers[0].cron",
    2,
    "required for kind schedule"
)]
#[case::duplicate_trigger_name(
    "triggers:\n  - {name: a, kind: file, pattern: \"*.x\"}\n  - {name: a, kind: file, pattern: \"*.y\"}\n",
    "triggers[1].name",
    3,
    "duplicate trigger name"
)]
#[case::foreign_trigger_key(
    "triggers:\n  - name: a\n    kind: file\n    pattern: \"*.x\"\n    cron: \"* * * * *\"\n",
    "triggers[0].cron",
    5,
    "not used by kind file"
)]
#[case::bad_cron(
    "triggers:\n  - name: a\n    kind: schedule\n    prompt: p\n    cron: \"every day\"\n",
    "triggers[0].cron",
    5,
    "invalid cron"
)]
#[case::unknown_sandbox_layer(
    "security:\n  sandbox:\n    require: [landlock, apparmor]\n",
    "security.sandbox.require[1]",
    3,
    "unknown sandbox layer"
)]
#[case::temperature_out_of_range(
    "model:\n  temperature: 5\n",
    "model.temperature",
    2,
    "from 0 to 2"
)]
#[case::section_not_a_mapping("security: [1]\n", "security", 1, "expected a mapping")]
#[case::pattern_list_not_a_list(
    "security:\n  whitelist: ls\n",
    "security.whitelist",
    2,
    "expected a list"
)]
#[case::null_list(
    "security:\n  blacklist:\n",
    "security.blacklist",
    2,
    "write [] for an empty list"
)]
#[case::openai_without_url(
    "model:\n  backend: openai\n",
    "model.base_url",
    2,
    "required when the backend is openai"
)]
#[case::api_key_in_config(
    "model:\n  backend: openai\n  base_url: http://127.0.0.1:1/v1\n  api_key_env: sk-123\n",
    "model.api_key_env",
    4,
    "name of an environment variable"
)]
#[case::notifier_as_shell_string(
    "approvals:\n  notifier: notify-send leash\n",
    "approvals.notifier",
    2,
    "must be a list"
)]
#[case::bad_durability(
    "logging:\n  audit_durability: sometimes\n",
    "logging.audit_durability",
    2,
    "fsync, batched"
)]
#[case::unknown_undo_key(
    "undo:\n  max_mb: 5\n  keep_dayz: 3\n",
    "undo.keep_dayz",
    3,
    "did you mean \"keep_days\""
)]
#[case::undo_flag_not_boolean(
    "undo:\n  approve_irreversible: sure\n",
    "undo.approve_irreversible",
    2,
    ""
)]
#[case::unknown_tag("model:\n  path: !secret x\n", "model.path", 2, "unsupported YAML tag")]
#[case::second_document("model: {}\n---\nmodel: {}\n", "", 2, "exactly one YAML document")]
#[case::fallback_without_backend(
    "model:\n  fallbacks:\n    - name: x\n",
    "model.fallbacks[0].backend",
    3,
    "required"
)]
fn rejects(#[case] yaml: &str, #[case] key: &str, #[case] line: usize, #[case] message: &str) {
    let fx = Fixture::new();
    let errors = fx.load_text(yaml).unwrap_err();
    let error = errors
        .errors()
        .iter()
        .find(|e| e.key == key)
        .unwrap_or_else(|| panic!("no error for {key:?} in:\n{errors}"));
    assert_eq!(error.line, Some(line), "{error}");
    assert!(error.message.contains(message), "{error}");
    let text = errors.to_string();
    let file = fx.root().join("conf/config.yaml");
    let located = format!("{}:{line}:", file.display());
    assert!(text.contains(&located), "{text}");
    assert!(text.contains(key), "{text}");
}

#[test]
fn every_error_is_reported_not_only_the_first() {
    let fx = Fixture::new();
    let yaml =
        "model:\n  context_size: 0\nsecurity:\n  execution_mode: yolo\nlogging:\n  levle: info\n";
    let errors = fx.load_text(yaml).unwrap_err();
    let found: Vec<(&str, Option<usize>)> = errors
        .errors()
        .iter()
        .map(|e| (e.key.as_str(), e.line))
        .collect();
    assert_eq!(
        found,
        vec![
            ("model.context_size", Some(2)),
            ("security.execution_mode", Some(4)),
            ("logging.levle", Some(6))
        ]
    );
    assert_eq!(errors.to_string().lines().count(), 3);
}

#[test]
fn environment_beats_file_and_flags_beat_environment() {
    let fx = Fixture::new();
    let file = fx.write(
        "conf/config.yaml",
        "security:\n  execution_mode: prompt\n  limits:\n    timeout_s: 10\n",
    );
    let env = fx
        .env()
        .with("LEASH_SECURITY__EXECUTION_MODE", "dry-run")
        .with("LEASH_SECURITY__LIMITS__TIMEOUT_S", "20");

    let by_env = load(&fx.options(Some(file.clone()), env.clone(), &[])).unwrap();
    assert_eq!(by_env.config.security.execution_mode, ExecutionMode::DryRun);
    assert_eq!(by_env.config.security.limits.timeout_s, 20);
    assert_eq!(
        by_env.config.security.limits.cpu_s, 60,
        "untouched keys keep their defaults"
    );

    let by_flag = load(&fx.options(
        Some(file),
        env,
        &[
            "security.execution_mode=audit-only",
            "security.whitelist=[ls, cat]",
            "model.temperature=0.2",
        ],
    ))
    .unwrap();
    assert_eq!(
        by_flag.config.security.execution_mode,
        ExecutionMode::AuditOnly
    );
    assert_eq!(by_flag.config.security.limits.timeout_s, 20);
    assert_eq!(
        by_flag.config.security.whitelist,
        Some(strings(&["ls", "cat"]))
    );
    assert_eq!(by_flag.config.model.temperature, 0.2);
}

#[test]
fn override_errors_name_the_variable_or_flag() {
    let fx = Fixture::new();
    let env = fx
        .env()
        .with("LEASH_SECURITY__EXECUTION_MODE", "yolo")
        .with("LEASH_LOGGING_LEVEL", "debug")
        .with("LEASH_CONFIG_UNRELATED", "ignored");
    let errors =
        load(&fx.options(None, env, &["security.netwrk=true", "no-equals-sign"])).unwrap_err();
    let text = errors.to_string();
    assert_eq!(errors.len(), 4, "{text}");
    assert!(text.contains("LEASH_SECURITY__EXECUTION_MODE: security.execution_mode: unknown execution mode \"yolo\""), "{text}");
    assert!(
        text.contains("LEASH_LOGGING_LEVEL: logging.level: not an override"),
        "{text}"
    );
    assert!(text.contains("--set security.netwrk=true: security.netwrk: unknown key \"netwrk\" in security (did you mean \"network\"?)"), "{text}");
    assert!(
        text.contains("--set no-equals-sign: expected KEY=VALUE"),
        "{text}"
    );
    assert!(errors.errors().iter().all(|e| e.line.is_none()));
}

#[test]
fn relative_paths_follow_their_layer() {
    let fx = Fixture::new();
    let file = fx.write(
        "conf/config.yaml",
        "security:\n  workspace: ./work\n  rules: [rules/extra.yaml]\n",
    );
    let loaded = load(&fx.options(Some(file.clone()), fx.env(), &[])).unwrap();
    assert_eq!(
        loaded.config.security.workspace,
        Some(fx.root().join("conf/work"))
    );
    assert_eq!(
        loaded.config.security.rules,
        vec![fx.root().join("conf/rules/extra.yaml")]
    );

    let env = fx.env().with("LEASH_SECURITY__WORKSPACE", "here");
    let loaded = load(&fx.options(Some(file), env, &["model.path=m.gguf"])).unwrap();
    assert_eq!(
        loaded.config.security.workspace,
        Some(fx.root().join("cwd/here"))
    );
    assert_eq!(loaded.config.model.path, Some(fx.root().join("cwd/m.gguf")));
}

#[test]
fn tilde_and_variables_expand_in_paths() {
    let fx = Fixture::new();
    let env = fx.env().with("LOGS", "/var/log/leash");
    let file = fx.write(
        "conf/config.yaml",
        "model:\n  path: ~/models/m.gguf\nlogging:\n  audit_log: ${LOGS}/audit.jsonl\n  file: $LOGS/d.log\n",
    );
    let loaded = load(&fx.options(Some(file), env, &[])).unwrap();
    assert_eq!(
        loaded.config.model.path,
        Some(fx.root().join("models/m.gguf"))
    );
    assert_eq!(
        loaded.config.logging.audit_log,
        Some(PathBuf::from("/var/log/leash/audit.jsonl"))
    );
    assert_eq!(
        loaded.config.logging.file,
        Some(PathBuf::from("/var/log/leash/d.log"))
    );
}

#[test]
fn config_location_flag_then_env_then_default() {
    let fx = Fixture::new();
    let named = fx.write("elsewhere.yaml", "agent:\n  max_steps: 3\n");
    let env = fx.env().with("LEASH_CONFIG", named.to_str().unwrap());
    let loaded = load(&fx.options(None, env.clone(), &[])).unwrap();
    assert_eq!(loaded.location.chosen_by, ConfigChoice::Environment);
    assert_eq!(loaded.config.agent.max_steps, 3);

    let missing = fx.root().join("missing.yaml");
    let errors = load(&fx.options(Some(missing.clone()), env, &[])).unwrap_err();
    assert_eq!(
        errors.errors()[0].source_name,
        missing.display().to_string()
    );
    assert!(errors.errors()[0].message.contains("not found"));

    // No file anywhere: built-in defaults, and the default location is reported.
    let loaded = load(&fx.options(None, fx.env(), &[])).unwrap();
    assert_eq!(loaded.source, None);
    assert_eq!(loaded.location.chosen_by, ConfigChoice::Default);
    assert_eq!(
        loaded.location.path,
        fx.root().join(".config/leash/config.yaml")
    );
    assert_eq!(loaded.config, Config::default());
}

#[test]
fn the_init_config_loads_to_exactly_the_defaults() {
    let fx = Fixture::new();
    let loaded = fx.load_text(&default_config_yaml()).unwrap();
    assert_eq!(loaded.config, Config::default());
}

#[test]
fn the_init_config_documents_every_key() {
    let text = default_config_yaml();
    let keys = [
        "backend",
        "path",
        "context_size",
        "temperature",
        "threads",
        "batch_size",
        "max_tokens",
        "base_url",
        "name",
        "api_key_env",
        "transcript",
        "fallbacks",
        "execution_mode",
        "whitelist",
        "blacklist",
        "require_approval_for",
        "workspace",
        "paths",
        "read",
        "write",
        "deny",
        "allow",
        "network",
        "limits",
        "timeout_s",
        "cpu_s",
        "memory_mb",
        "file_size_mb",
        "max_output_kb",
        "max_processes",
        "cpu_percent",
        "sandbox",
        "require",
        "search_path",
        "rules",
        "learned_rules",
        "run_as",
        "protected",
        "watch_directories",
        "watch_patterns",
        "poll_interval_s",
        "audit_log",
        "level",
        "file",
        "audit_durability",
        "audit_rotate_mb",
        "max_steps",
        "max_parse_retries",
        "expiry_s",
        "notifier",
        "listen",
        "triggers",
        "kind",
        "pattern",
        "cron",
        "repo",
        "branch",
        "prompt",
        "mode",
        "max_mb",
        "keep_days",
        "max_file_mb",
        "approve_irreversible",
    ];
    for key in keys {
        assert!(
            text.contains(&format!("{key}:")),
            "{key} is not documented in the init config"
        );
    }
}

#[test]
fn rendered_config_loads_back_to_the_same_value() {
    let fx = Fixture::new();
    let rich = format!(
        "{SEED}triggers:\n  - name: inbox\n    kind: file\n    pattern: \"*.task\"\n    mode: dry-run\n    prompt: \"say \\\"hi\\\"\\n\"\n\
         approvals:\n  notifier: [notify-send, leash]\napi:\n  listen: \"[::1]:9000\"\n\
         security_extra_placeholder: 1\n"
    )
    .replace("security_extra_placeholder: 1\n", "agent:\n  max_parse_retries: 0\n");
    let loaded = fx.load_text(&rich).unwrap();
    assert_eq!(loaded.config.triggers[0].kind, TriggerKind::File);
    assert_eq!(
        loaded.config.api.listen,
        "[::1]:9000".parse::<SocketAddr>().unwrap()
    );
    let rendered = render_yaml(&loaded.config).unwrap();
    let again = fx.load_text(&rendered).unwrap();
    assert_eq!(again.config, loaded.config, "rendered:\n{rendered}");
    let json = serde_json::to_string(&loaded.config).unwrap();
    let back: Config = serde_json::from_str(&json).unwrap();
    assert_eq!(back, loaded.config);
}

#[test]
fn quoted_numbers_are_strings_and_plain_words_are_not_booleans() {
    let fx = Fixture::new();
    let loaded = fx
        .load_text("security:\n  whitelist: [no, 7z, \"true\"]\n")
        .unwrap();
    assert_eq!(
        loaded.config.security.whitelist,
        Some(strings(&["no", "7z", "true"]))
    );
    let errors = fx
        .load_text("security:\n  whitelist: [ls, true]\n")
        .unwrap_err();
    assert_eq!(errors.errors()[0].key, "security.whitelist[1]");
}
