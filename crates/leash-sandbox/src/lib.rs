//! leash-sandbox: runs one already-approved argv in a box that holds even when the
//! policy is wrong.
//!
//! No async, no networking, no engine. [`probe`] reports which layers this kernel
//! offers; [`Executor::run`] applies every available layer to one child and
//! collects a bounded [`ExecOutcome`].
