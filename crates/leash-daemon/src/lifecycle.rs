//! The daemon's life: start everything in order, run until SIGTERM/SIGINT,
//! stop gracefully.
//!
//! Start: state directories (0700) and the API token (0600) if `leash init`
//! never ran → the lock (one daemon per state dir) → store and audit log →
//! crash recovery (jobs, then claimed files) → the model backend → the API
//! listener (so a taken port fails the start, not later) → triggers (every
//! trigger validated before any starts) → files that arrived while down → the
//! worker → serve.
//!
//! Stop: stop flag set → triggers and the API stop taking work (a trigger that
//! fires now is left where it is, for the next start) → the worker finishes or
//! checkpoints its job within `daemon.shutdown_grace_s` (a job it cannot stop
//! in time stays `running` and is recovered as interrupted at the next start)
//! → `daemon.stopped` recorded → the audit log flushed.

use leash_store::AuditKind;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leash_config::LoadedConfig;
use leash_core::{ensure_private_dir, open_audit_log, open_backend_with};
use leash_store::Store;
use serde_json::json;

use crate::context::DaemonContext;
use crate::error::{DaemonError, io_error};
use crate::governor::{GovernedBackend, start_governor};
use crate::http::{bind_api, serve_api};
use crate::lock;
use crate::recovery::recover_jobs;
use crate::triggers::{pick_up_existing, recover_claims, start_triggers};
use crate::worker::{WorkerBackend, run_worker};

/// Bytes of randomness in an API token the daemon creates (printed as hex).
const TOKEN_BYTES: usize = 32;

/// How the daemon is started.
pub struct DaemonOptions {
    /// The loaded config (its path names the state and lock).
    pub loaded: LoadedConfig,
    /// Called once everything is up, with the API's address (the binary prints
    /// a ready line; tests wait for it).
    pub on_ready: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
}

impl std::fmt::Debug for DaemonOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonOptions")
            .field("config", &self.loaded.source)
            .finish()
    }
}

/// Runs the daemon until a stop signal (see the module documentation).
pub fn run_daemon(options: DaemonOptions) -> Result<(), DaemonError> {
    let DaemonOptions { loaded, on_ready } = options;
    let paths = &loaded.paths;
    ensure_private_dir(&paths.state_dir)?;
    let _lock = lock::acquire(&paths.daemon_lock_file())?;
    let token = ensure_api_token(&paths.api_token_file())?;
    let store = Store::open(&paths.database_file())?;
    let audit = open_audit_log(&loaded)?;
    let listen = loaded.config.api.listen;
    let ctx = DaemonContext::new(loaded.clone(), store, audit, token);
    ctx.audit.append(
        None,
        AuditKind::DaemonStarted,
        json!({"pid": std::process::id(), "version": env!("CARGO_PKG_VERSION"), "listen": listen.to_string()}),
    )?;

    ctx.wake_lock.recover_after_crash();
    let recovered = recover_jobs(&ctx)?;
    let claims = recover_claims(&ctx)?;
    if !recovered.interrupted.is_empty() {
        ctx.audit.append(
            None,
            AuditKind::DaemonRecovered,
            json!({
                "interrupted": recovered.interrupted.len(),
                "requeued": recovered.interrupted.iter().filter(|r| r.requeued).count(),
                "outcome_unknown": recovered.outcome_unknown,
            }),
        )?;
    }
    tracing::info!(?claims, "claimed trigger files recovered");
    // The rollback journal stays within undo.keep_days / undo.max_mb.
    match leash_core::open_journal(&loaded).map(|journal| journal.gc(&ctx.audit)) {
        Ok(Ok(report)) => tracing::info!(?report, "undo journal pruned"),
        Ok(Err(err)) => tracing::warn!(error = %err, "undo journal: pruning failed"),
        Err(err) => tracing::warn!(error = %err, "undo journal: cannot open"),
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("leash-daemon")
        .build()
        .map_err(io_error("start the async runtime", Path::new("tokio")))?;

    // The fleet's models join the backend chain before the first job.
    let fleet_link = crate::fleet::link(&ctx, runtime.handle());
    let remote = fleet_link.clone().map(|link| {
        let models: leash_core::SharedRemoteModels =
            Arc::new(crate::fleet_infer::FleetModels(link));
        let _ = ctx.fleet_models.set(Arc::clone(&models));
        models
    });
    let (backend, switches) =
        open_backend_with(&loaded, remote.as_ref()).map_err(|err| DaemonError::Model {
            detail: err.to_string(),
        })?;
    let listener = runtime.block_on(bind_api(listen))?;
    let bound = listener.local_addr().unwrap_or(listen);

    // Before the triggers: unusable fleet credentials stop the start here.
    let fleet = crate::fleet::start_fleet(&ctx, runtime.handle(), fleet_link)?;
    let triggers = start_triggers(&ctx, runtime.handle())?;
    let governor = start_governor(&ctx, runtime.handle());
    let picked = pick_up_existing(&ctx)?;
    tracing::info!(picked, "trigger files found at start");

    let worker_ctx = Arc::clone(&ctx);
    let worker = std::thread::Builder::new()
        .name("leash-worker".to_owned())
        .spawn(move || {
            let backend = Box::new(GovernedBackend::new(backend, Arc::clone(&worker_ctx)));
            let result = run_worker(Arc::clone(&worker_ctx), WorkerBackend { backend, switches });
            if let Err(err) = &result {
                tracing::error!(error = %err, "the queue worker stopped on an error; stopping the daemon");
                worker_ctx.stop();
            }
            result
        })
        .map_err(io_error("start the worker thread", Path::new("leash-worker")))?;

    let serve_ctx = Arc::clone(&ctx);
    let served = runtime.block_on(async move {
        // Register the handlers before saying "ready": a SIGTERM right after
        // the ready line must stop the daemon gracefully, not kill it.
        let signals = tokio::spawn(stop_on_signal(Arc::clone(&serve_ctx), stop_signals()));
        tracing::info!(%bound, "leash daemon ready");
        if let Some(ready) = on_ready {
            ready(bound);
        }
        // Start-up is done: give back what it touched and will not need.
        crate::idle_memory::release_idle_memory();
        let served = serve_api(Arc::clone(&serve_ctx), listener).await;
        // The API ended (stop requested, or it failed): stop everything.
        serve_ctx.stop();
        signals.abort();
        served
    });

    let grace = Duration::from_secs(ctx.loaded.config.daemon.shutdown_grace_s);
    let worker_result = join_within(worker, grace);
    ctx.wake_lock.release_all();
    runtime.block_on(triggers.join());
    if let Some(governor) = governor {
        let _ = runtime.block_on(governor);
    }
    if let Some(fleet) = fleet {
        let _ = runtime.block_on(fleet);
    }
    ctx.audit.append(
        None,
        AuditKind::DaemonStopped,
        json!({"pid": std::process::id(), "worker_stopped_in_time": worker_result.is_some()}),
    )?;
    ctx.audit.flush()?;
    drop(runtime);
    served?;
    match worker_result {
        Some(Ok(Ok(()))) | None => Ok(()),
        Some(Ok(Err(err))) => Err(err),
        Some(Err(())) => Err(DaemonError::Poisoned {
            what: "the worker thread",
        }),
    }
}

type StopSignals = Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>;

/// Installs the SIGTERM and SIGINT handlers (from here on those signals no
/// longer kill the process).
fn stop_signals() -> StopSignals {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => Some((term, int)),
        _ => {
            tracing::error!("cannot listen for SIGTERM/SIGINT; stop the daemon with SIGKILL");
            None
        }
    }
}

/// Sets the stop flag on SIGTERM or SIGINT.
async fn stop_on_signal(ctx: Arc<DaemonContext>, signals: StopSignals) {
    let Some((mut term, mut int)) = signals else {
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
    }
    ctx.stop();
}

/// Waits up to `grace` for the worker thread; `None` when it did not stop in
/// time (the process exits anyway and the job is recovered next start).
type WorkerJoin = Option<Result<Result<(), DaemonError>, ()>>;

fn join_within(
    worker: std::thread::JoinHandle<Result<(), DaemonError>>,
    grace: Duration,
) -> WorkerJoin {
    let deadline = Instant::now() + grace;
    while !worker.is_finished() {
        if Instant::now() >= deadline {
            tracing::warn!(
                "the worker did not stop within daemon.shutdown_grace_s; its job will be recovered as interrupted"
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(worker.join().map_err(|_| ()))
}

/// Reads the API token, creating it (mode 0600, random) when missing.
fn ensure_api_token(path: &Path) -> Result<String, DaemonError> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let token = text.trim().to_owned();
        if !token.is_empty() {
            return Ok(token);
        }
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|err| DaemonError::Io {
        action: "read random bytes for the API token",
        path: path.to_path_buf(),
        source: std::io::Error::other(err.to_string()),
    })?;
    let token = hex::encode(bytes);
    leash_atomic_file::write(path, token.as_bytes())?;
    tracing::info!(path = %path.display(), "created the API token");
    Ok(token)
}
