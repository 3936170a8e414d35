//! One module per subcommand.

pub mod ask;
pub mod audit;
pub mod config;
pub mod doctor;
pub mod exec;
pub mod init;
pub mod model;
pub mod policy;
