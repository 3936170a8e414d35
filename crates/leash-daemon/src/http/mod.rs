//! The HTTP API: axum on loopback (unless configured otherwise), a bearer
//! token on every route but `/healthz`, a request body limit, and one JSON
//! error shape `{"error": "<code>", "detail": "<message>"}`.
//!
//! - `server`: the route table ([`ROUTES`]), [`bind_api`], [`serve_api`], [`router`].
//! - `auth`: the token check (constant time), request counting and logging.
//! - `api_error`: the error shape and its status codes ([`ApiError`]).
//! - `extract`: JSON body, query and path-id extractors that answer in that
//!   shape; `blocking`: store calls on the blocking pool.
//! - `jobs_routes`, `approvals_routes`, `audit_routes`, `events_sse`,
//!   `metrics_route`, `status_route`: the routes.
//! - `mode_ceiling`: a request may make a job's mode stricter, never looser
//!   ([`mode_within_ceiling`]).
//! - `openapi`: the OpenAPI 3.0 document (`openapi.json`, written by hand).
//! - `guarded_listener`: connection cap, header-read deadline, idle timeout
//!   ([`ConnectionLimits`]).

mod api_error;
mod approvals_routes;
mod audit_routes;
mod auth;
mod blocking;
mod events_sse;
mod extract;
mod fleet_routes;
mod grants_routes;
mod guarded_listener;
mod jobs_routes;
mod metrics_route;
mod mode_ceiling;
mod openapi;
mod server;
mod status_route;
mod undo_route;
mod web;
mod web_login;

pub use api_error::{ApiError, ErrorCode};
pub use guarded_listener::ConnectionLimits;
pub use mode_ceiling::{mode_strictness, mode_within_ceiling};
pub use server::{ROUTES, bind_api, router, serve_api, serve_api_with};
pub use web::WebSessions;
