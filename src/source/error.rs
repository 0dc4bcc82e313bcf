//! Why a source could not be opened, listed or read. Each variant keeps what it arose from
//! (the database's error with its SQLSTATE, DataFusion's, the file system's) as its
//! `source()`; the text is rendered once, where the error reaches the user.

use datafusion::error::DataFusionError;

use crate::filesystem::io_reason;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The database refused, failed or did not answer: its driver's error, and the
    /// SQLSTATE when the server sent one.
    #[error("{source}")]
    Database {
        sqlstate: Option<String>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// DataFusion could not plan or read (a file's format, a type that does not fit).
    #[error("{}", crate::kernel::error_text(.0))]
    DataFusion(#[source] DataFusionError),
    /// Arrow could not build or convert a column.
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A file or folder could not be read: what was being done ("cannot read `a.csv`").
    #[error("{what}: {}", io_reason(.source))]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// What the source holds or was given cannot be read as it should (a malformed file, a
    /// location that does not parse, bytes a type cannot hold).
    #[error("{0}")]
    Invalid(String),
    /// What the source was doing when `source` happened ("PostgreSQL source `prod`").
    #[error("{context}: {source}")]
    Context {
        context: String,
        #[source]
        source: Box<SourceError>,
    },
    /// A broken invariant: a bug in crosscheck.
    #[error("{}", crate::kernel::error::bug(.0))]
    Internal(String),
}

impl From<DataFusionError> for SourceError {
    fn from(e: DataFusionError) -> Self {
        SourceError::DataFusion(e)
    }
}

impl SourceError {
    /// The SQLSTATE of a database error, when the server sent one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            SourceError::Database { sqlstate, .. } => sqlstate.as_deref(),
            SourceError::Context { source, .. } => source.sqlstate(),
            _ => None,
        }
    }

    /// The error with what the source was doing when it happened.
    pub fn within(self, context: impl Into<String>) -> Self {
        SourceError::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

pub type SourceResult<T> = std::result::Result<T, SourceError>;
