//! crosscheck: tells a team whether a data migration can be trusted.
//!
//! Layers, each importing only those before it: `config` (the project files, spanned) →
//! `kernel` (errors, the session, SQL text, values) → `source` (every table in one DataFusion
//! session) → `diff` → `engine` (rules compiled to SQL plans, results turned into outcomes) →
//! `report` → `cli`. `filesystem` and `shorten` are leaves any layer may use.
//!
//! Flow: `cli` resolves what to run → `config` loads spanned specs → `source` registers
//! every table in one DataFusion session → `engine` compiles rules to SQL plans and turns
//! results into outcomes → `report` renders them → the exit code says pass, fail or error.

pub mod cli;
pub mod config;
pub mod diff;
pub mod engine;
pub mod filesystem;
pub mod kernel;
pub mod report;
pub mod shorten;
pub mod source;

pub use kernel::error::{Error, Result};
