//! Whole-query pushdown, whatever the database: when every table a planned query reads
//! lives in one database source that can run SQL, the query runs there and only its result
//! rows travel. The engine and `explain` ask here; each database kind says whether it takes
//! a plan (PostgreSQL today: `postgres::pushdown`).

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::logical_expr::LogicalPlan;

use super::postgres;

/// Why a pushed query gave no rows.
pub enum PushError {
    /// The database did not accept the SQL (the unparser wrote something it lacks): run the
    /// query in-process instead.
    NotUnderstood(String),
    /// A real failure (timeout, cancel, connection): report it.
    Failed(super::error::SourceError),
}

/// A query one database source will run.
pub struct Pushed(Box<dyn PushedQuery>);

/// What a database kind implements for a query it takes whole.
#[async_trait]
pub trait PushedQuery: Send + Sync {
    /// The database, as the user knows it.
    fn engine(&self) -> &'static str;
    /// The source that runs it.
    fn source(&self) -> &str;
    /// The SQL the database receives.
    fn sql(&self) -> &str;
    /// Runs it there; the rows come back in the types DataFusion planned.
    async fn execute(&self) -> Result<Vec<RecordBatch>, PushError>;
}

impl Pushed {
    pub fn engine(&self) -> &'static str {
        self.0.engine()
    }

    pub fn source(&self) -> &str {
        self.0.source()
    }

    pub fn sql(&self) -> &str {
        self.0.sql()
    }

    pub async fn execute(&self) -> Result<Vec<RecordBatch>, PushError> {
        self.0.execute().await
    }
}

/// The plan as one database's SQL, if all of its tables are in that one source.
pub fn try_push(plan: &LogicalPlan) -> Option<Pushed> {
    let pushed = postgres::pushdown::try_push(plan)?;
    Some(Pushed(Box::new(pushed)))
}
