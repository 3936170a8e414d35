//! One module per subcommand.

pub mod approvals;
pub mod ask;
pub mod audit;
pub mod config;
pub mod daemon;
pub mod doctor;
pub mod doctor_hardening;
pub mod doctor_phone;
pub mod eval;
pub mod exec;
pub mod fleet;
pub mod fleet_approvals;
pub mod fleet_audit;
pub mod grants;
pub mod init;
pub mod init_run_as;
pub mod jobs;
pub mod listen;
pub mod model;
pub mod policy;
pub mod reason_dialog;
pub mod status;
pub mod submit;
pub mod undo;
pub mod web_login;
