//! Running the flow: one poll of a source (`poll`), the service that polls
//! each source when it is due and serves the feeds (`daemon`), when a source
//! is due and how failures back off (`schedule`), and what it hears from and
//! tells its service manager (`service`).

pub mod daemon;
pub mod poll;
pub mod schedule;
pub mod service;
