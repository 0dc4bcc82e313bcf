//! Why a rule could not be measured (its outcome's status is then `error`, exit code 2).
//! What it arose from (the diff's, the source's or DataFusion's error) stays its `source()`;
//! the text is rendered once, into the rule's outcome.

use datafusion::error::DataFusionError;

use crate::diff::error::DiffError;
use crate::source::error::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The rule cannot be measured as written, found when it ran (a result without the
    /// column its check reads, a value the check cannot read).
    #[error("{0}")]
    Rule(String),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{}", crate::kernel::error_text(.0))]
    DataFusion(#[from] DataFusionError),
    /// A broken invariant: a bug in crosscheck.
    #[error("{}", crate::kernel::error::bug(.0))]
    Internal(String),
}

pub type RuleResult<T> = std::result::Result<T, RuleError>;
