//! One integration-test binary (link time is scarce): every module runs the real binary
//! on real files.

mod adversarial;
mod bad_inputs;
mod checkpoint;
mod cli;
mod config_source;
mod csv_reading;
mod diff;
mod docs;
mod edge_suite;
mod errors;
mod example;
mod exports;
pub mod faults;
mod formats;
mod fuzz_rules;
mod hostile;
mod html;
mod layers;
mod masking;
mod memory;
mod metric;
mod mysql;
mod mysql_checksum;
mod mysql_pushdown;
mod parquet_exports;
mod pg;
mod pg_arrays;
mod profile_match;
mod recheck;
mod reports;
mod rule_language;
mod schema;
mod side_effects;
mod sqlite;
mod support;
mod tree;
