//! What running a rule produced. Plain data: reports read it, nothing here runs a query.

use std::time::Duration;

use serde_json::Value;

/// The verdict of one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Error,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::Error => "ERROR",
        }
    }
}

/// Offending rows kept for the report (sensitive values already masked).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Sample {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Sample {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// What a rule measured before its threshold is applied.
#[derive(Clone, Debug, Default)]
pub struct Measure {
    pub violations: u64,
    /// The number the rule observed (rows counted, groups compared, the newest value's age…).
    pub observed: Option<Value>,
    /// What a percentage `max_violations` is a percentage of (rows or groups checked).
    pub checked: u64,
    pub sample: Sample,
    /// One line saying what was found.
    pub message: String,
    /// The counts of a row-level diff.
    pub diff: Option<DiffSummary>,
    /// Every difference of a diff, when asked for (`--output-diff`), masked like samples.
    pub all_differences: Option<Sample>,
}

/// The counts of a row-level diff, for reports.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct DiffSummary {
    pub algorithm: &'static str,
    pub only_in_source: u64,
    pub only_in_target: u64,
    pub changed: u64,
    pub duplicate_keys: u64,
    /// Rows that differ, per compared column.
    pub columns: std::collections::BTreeMap<String, u64>,
    /// Values equal only thanks to a tolerance or normalisation, per column.
    pub forgiven: std::collections::BTreeMap<String, u64>,
    /// Rows matched by key and compared.
    pub matched: u64,
    /// Columns the target lacks / only the target has (each one a difference).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns_only_in_source: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns_only_in_target: Vec<String>,
    /// Rows each side sent to the comparison.
    pub rows_read: RowsRead,
    /// Every compared column's statistics over the matched rows.
    pub column_stats: Vec<ColumnStats>,
    /// What `--recheck` found, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck: Option<RecheckSummary>,
}

/// The keys a diff found differing, read again after a wait: those that agree now were in
/// flight (replication lag) and are not counted as violations.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RecheckSummary {
    pub waited_seconds: f64,
    pub rechecked: u64,
    pub in_flight: u64,
    pub still_differ: u64,
    /// More differing keys than a recheck reads again: none was.
    pub skipped: bool,
}

/// How one compared column fared over the rows matched by key.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ColumnStats {
    pub column: String,
    /// Matched rows whose values are equal (within the tolerance), in percent; `None` when
    /// no row matched.
    pub match_percent: Option<f64>,
    /// Matched rows whose values differ.
    pub differ: u64,
    /// Of those, the values NULL on one side only.
    pub null_one_side: u64,
    /// For numbers: the largest absolute difference of a changed value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub largest_difference: Option<f64>,
    /// Values equal only within the tolerance or after normalisation.
    pub forgiven: u64,
}

impl ColumnStats {
    /// `99.93%`; `100%` only when nothing differs (a column with one change in a million rows
    /// is never rounded to 100%); `-` when no row matched.
    pub fn match_text(&self) -> String {
        match self.match_percent {
            None => "-".into(),
            Some(_) if self.differ == 0 => "100%".into(),
            Some(p) => format!("{:.2}%", p.min(99.99)),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct RowsRead {
    pub source: u64,
    pub target: u64,
}

/// The result of one rule.
#[derive(Clone, Debug)]
pub struct RuleOutcome {
    pub name: String,
    pub type_name: &'static str,
    pub file: String,
    pub description: Option<String>,
    pub severity: crate::config::Severity,
    pub tags: Vec<String>,
    pub tables: Vec<String>,
    pub status: Status,
    pub violations: u64,
    /// The allowance in violations after resolving a percentage.
    pub max_violations: u64,
    /// The threshold as written (`0`, `"1%"`).
    pub threshold: String,
    pub observed: Option<Value>,
    pub message: String,
    pub error: Option<String>,
    pub sample: Sample,
    pub diff: Option<DiffSummary>,
    pub all_differences: Option<Sample>,
    pub duration: Duration,
}

/// The result of a whole run.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub duration: Duration,
    pub sources: Vec<crate::source::SourceInfo>,
    pub rules: Vec<RuleOutcome>,
}

/// Counts per status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub errored: usize,
}

impl RunOutcome {
    pub fn summary(&self) -> Summary {
        let count = |s| self.rules.iter().filter(|r| r.status == s).count();
        Summary {
            total: self.rules.len(),
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            warned: count(Status::Warn),
            errored: count(Status::Error),
        }
    }
}
