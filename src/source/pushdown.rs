//! Whole-query pushdown, whatever the database: when every table a planned query reads
//! lives in one database source that can run SQL, the query runs there and only its result
//! rows travel. The engine and `explain` ask here; each database kind says whether it takes
//! a plan (PostgreSQL today: `postgres::pushdown`).

use datafusion::arrow::array::RecordBatch;
use datafusion::logical_expr::LogicalPlan;

use super::postgres;

/// Why a pushed query gave no rows.
pub enum PushError {
    /// The database did not accept the SQL (the unparser wrote something it lacks): run the
    /// query in-process instead.
    NotUnderstood(String),
    /// A real failure (timeout, cancel, connection): report it.
    Failed(String),
}

/// A query one database source will run.
pub struct Pushed(postgres::pushdown::Pushed);

impl Pushed {
    /// The database, as the user knows it.
    pub fn engine(&self) -> &'static str {
        "PostgreSQL"
    }

    /// The source that runs it.
    pub fn source(&self) -> &str {
        &self.0.session.source
    }

    /// The SQL the database receives.
    pub fn sql(&self) -> &str {
        &self.0.sql
    }

    /// Runs it there; the rows come back in the types DataFusion planned.
    pub async fn execute(&self) -> Result<Vec<RecordBatch>, PushError> {
        self.0.execute().await
    }
}

/// The plan as one database's SQL, if all of its tables are in that one source.
pub fn try_push(plan: &LogicalPlan) -> Option<Pushed> {
    postgres::pushdown::try_push(plan).map(Pushed)
}
