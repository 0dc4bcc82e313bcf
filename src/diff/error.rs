//! Why a diff could not be made. What it arose from (the source's error, DataFusion's,
//! Arrow's) stays its `source()`; the text is rendered once, in the rule's outcome.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

use crate::source::error::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The rule asks for what the sides cannot give: a key or column missing, types that
    /// cannot meet, an algorithm that cannot run on them.
    #[error("{0}")]
    Plan(String),
    /// A value that cannot be compared as its type says (a key the merge type cannot hold).
    #[error("{0}")]
    Value(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{}", crate::kernel::error_text(.0))]
    DataFusion(#[from] DataFusionError),
    #[error("{0}")]
    Arrow(#[from] ArrowError),
    /// A broken invariant: a bug in crosscheck.
    #[error("{}", crate::kernel::error::bug(.0))]
    Internal(String),
}

pub type DiffResult<T> = std::result::Result<T, DiffError>;

/// A value a comparison helper could not read, described where it was found (a uuid of
/// the wrong width, a text an interval cannot be read from).
impl From<String> for DiffError {
    fn from(text: String) -> Self {
        DiffError::Value(text)
    }
}
