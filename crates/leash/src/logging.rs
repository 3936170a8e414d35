//! Logging for the binary: `tracing` to stderr (never stdout, which belongs to
//! `--json` output). The level is `warn` until the config is loaded, then
//! `logging.level`; `RUST_LOG`, when set, overrides both.

use std::sync::OnceLock;

use leash_config::LogLevel;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

static RELOAD: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

fn rust_log_is_set() -> bool {
    std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty())
}

/// Installs the subscriber. Called once, first thing in `main`.
pub fn init() {
    let filter = if rust_log_is_set() {
        EnvFilter::from_default_env()
    } else {
        EnvFilter::new("warn")
    };
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = RELOAD.set(handle);
    }
}

/// llama.cpp's own log lines (target `llama-cpp-2`, dozens per model load)
/// are shown from this level up unless `logging.level` is `trace`: at `info`
/// they would bury leash's own messages. The binding's own complaints about
/// llama.cpp's log framing (target `llama_cpp_2`) only from `error`.
const LLAMA_CPP_DIRECTIVES: &str = "llama-cpp-2=warn,llama_cpp_2=error";

/// The filter for `logging.level`.
fn config_filter(level: LogLevel) -> String {
    match level {
        LogLevel::Trace => level.as_str().to_owned(),
        LogLevel::Debug | LogLevel::Info | LogLevel::Warn | LogLevel::Error => {
            format!("{},{LLAMA_CPP_DIRECTIVES}", level.as_str())
        }
    }
}

/// Applies the config's `logging.level`, unless `RUST_LOG` decides.
pub fn apply_config_level(level: LogLevel) {
    if rust_log_is_set() {
        return;
    }
    if let Some(handle) = RELOAD.get() {
        let _ = handle.modify(|filter| *filter = EnvFilter::new(config_filter(level)));
    }
}
