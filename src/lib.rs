//! crosscheck: tells a team whether a data migration can be trusted.
//!
//! Flow: `cli` resolves what to run → `config` loads spanned specs → `source` registers
//! every table in one DataFusion session → `engine` compiles rules to SQL plans and turns
//! results into outcomes → `report` renders them → the exit code says pass, fail or error.

pub mod cli;
pub mod config;
pub mod diff;
pub mod engine;
pub mod error;
pub mod report;
pub mod shorten;
pub mod source;

pub use error::{Error, Result};
