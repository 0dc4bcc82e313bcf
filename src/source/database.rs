//! A database source as the layers above see it, whatever the database: its name, the rows
//! it has sent, and the catalog facts `schema_match` asks of it. Implemented by each
//! database kind (PostgreSQL: `postgres::session`).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::error::SourceResult;
use super::schema_facts::TableFacts;

#[async_trait]
pub trait Database: Send + Sync + std::fmt::Debug {
    /// The database, as the user knows it ("PostgreSQL").
    fn engine(&self) -> &'static str;
    /// The name of the source.
    fn source_name(&self) -> &str;
    /// Rows sent so far.
    fn rows_read(&self) -> u64;
    /// What the reader did that a user should know about (values read as NULL).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Reads from now on see the database as it is now, not as the run's snapshot had it
    /// (for `--recheck`). Sources that read no snapshot have nothing to renew.
    async fn renew_snapshot(&self) -> SourceResult<()> {
        Ok(())
    }
    /// The facts of `tables` of `schema` (see `schema_facts`); with `sequences`, also each
    /// sequence-backed column's next value against its current maximum.
    async fn table_facts(
        self: std::sync::Arc<Self>,
        schema: &str,
        tables: &[String],
        sequences: bool,
    ) -> SourceResult<BTreeMap<String, TableFacts>>;
}

/// The database session a table provider reads from, when it is a database's table.
pub fn database_of(
    provider: &dyn datafusion::catalog::TableProvider,
) -> Option<std::sync::Arc<dyn Database>> {
    super::postgres::database_of(provider).or_else(|| super::mysql::database_of(provider))
}
