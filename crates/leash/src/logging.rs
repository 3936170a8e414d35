//! Logging for the binary: `tracing` to stderr (never stdout, which belongs to
//! `--json` output), or, for `leash daemon` with `logging.file` set, to that
//! file. The level is `warn` until the config is loaded, then
//! `logging.level`; `RUST_LOG`, when set, overrides both.
//!
//! The log file is opened for appending (a restarted daemon continues it),
//! created with mode 0600 (log lines name jobs, paths and commands), never
//! through a symlink planted at its name, and its missing parent directories
//! are created private (0700). Two output layers exist from the start, one
//! for stderr (coloured on a terminal) and one for the file (never coloured);
//! whether the file is set decides, per event, which one writes.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::sync::OnceLock;

use leash_config::LogLevel;
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::fmt::writer::EitherWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

static RELOAD: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// `logging.file`, once `leash daemon` has opened it.
static LOG_FILE: OnceLock<File> = OnceLock::new();

fn rust_log_is_set() -> bool {
    std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty())
}

/// Where the file layer writes: the log file (the layer's filter lets events
/// through only once it is set, so the sink is never written in practice).
fn file_writer() -> EitherWriter<&'static File, io::Sink> {
    match LOG_FILE.get() {
        Some(file) => EitherWriter::A(file),
        None => EitherWriter::B(io::sink()),
    }
}

/// Installs the subscriber. Called once, first thing in `main`.
pub fn init() {
    let filter = if rust_log_is_set() {
        EnvFilter::from_default_env()
    } else {
        EnvFilter::new("warn")
    };
    let (filter, handle) = reload::Layer::new(filter);
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(dynamic_filter_fn(|_, _| LOG_FILE.get().is_none()));
    let file = tracing_subscriber::fmt::layer()
        .with_writer(file_writer)
        .with_ansi(false)
        .with_target(false)
        .with_filter(dynamic_filter_fn(|_, _| LOG_FILE.get().is_some()));
    if tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .try_init()
        .is_ok()
    {
        let _ = RELOAD.set(handle);
    }
}

/// From now on, log lines go to `path` instead of stderr (`logging.file`).
/// The caller's message names the path and the key.
pub fn log_to_file(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        // O_NONBLOCK: a FIFO planted at the name fails at once instead of
        // blocking the daemon's start; it has no effect on a regular file.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    // A second call (there is none today) keeps the first file.
    let _ = LOG_FILE.set(file);
    Ok(())
}

/// llama.cpp's own log lines (target `llama-cpp-2`, dozens per model load)
/// are shown from this level up unless `logging.level` is `trace`: at `info`
/// they would bury leash's own messages. The binding's own complaints about
/// llama.cpp's log framing (target `llama_cpp_2`) only from `error`.
const LLAMA_CPP_DIRECTIVES: &str = "llama-cpp-2=warn,llama_cpp_2=error";

/// The NATS client (the fleet) logs every (re)connection at `info`; at that
/// level it would fill `leash fleet status` and the daemon's log.
const NATS_DIRECTIVES: &str = "async_nats=warn";

/// The filter for `logging.level`.
fn config_filter(level: LogLevel) -> String {
    match level {
        LogLevel::Trace => level.as_str().to_owned(),
        LogLevel::Debug | LogLevel::Info | LogLevel::Warn | LogLevel::Error => {
            format!(
                "{},{LLAMA_CPP_DIRECTIVES},{NATS_DIRECTIVES}",
                level.as_str()
            )
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
