//! Running one plan against the session and reading what it measured.

use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{DataFrame, Expr, SessionContext};

use crate::source::pushdown::{self, PushError};
use serde_json::Value;

use super::compile::{CountsKind, Plan, predicate_sample_sql};
use super::outcome::{Measure, Sample};
use crate::kernel::mask::Masker;
use crate::kernel::values::{as_u64, cell};

/// Runs `sql` to completion.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, String> {
    let frame = ctx
        .sql(sql)
        .await
        .map_err(|e| crate::kernel::error_text(&e))?;
    collect_frame(frame).await
}

/// Runs a planned query: inside PostgreSQL when all its tables are in one PostgreSQL
/// source, in-process otherwise (or when PostgreSQL does not understand the unparsed SQL).
pub async fn collect_frame(frame: DataFrame) -> Result<Vec<RecordBatch>, String> {
    if let Some(pushed) = pushdown::try_push(frame.logical_plan()) {
        match pushed.execute().await {
            Ok(batches) => return Ok(batches),
            Err(PushError::Failed(e)) => return Err(e.to_string()),
            Err(PushError::NotUnderstood(_)) => {}
        }
    }
    frame
        .collect()
        .await
        .map_err(|e| crate::kernel::error_text(&e))
}

/// The integer in column `name` of the first row (0 when there is no row or it is NULL).
pub fn first_u64(batches: &[RecordBatch], name: &str) -> Result<u64, String> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(0);
    };
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| crate::kernel::error::bug(format!("no column `{name}` in the result")))?;
    as_u64(column, 0)
        .ok_or_else(|| crate::kernel::error::bug(format!("column `{name}` is not a count")))
}

/// The first value in column `name`, as JSON.
pub fn first_value(batches: &[RecordBatch], name: &str) -> Value {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| b.column_by_name(name).map(|c| cell(c, 0)))
        .unwrap_or(Value::Null)
}

/// Offending rows as a sample, sensitive values masked.
pub fn to_sample(
    batches: &[RecordBatch],
    origin: Option<(&str, &str)>,
    masker: &Masker,
    limit: usize,
) -> Sample {
    let Some(first) = batches.first() else {
        return Sample::default();
    };
    let columns: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    'batches: for batch in batches {
        for row in 0..batch.num_rows() {
            if rows.len() >= limit {
                break 'batches;
            }
            let values = columns
                .iter()
                .enumerate()
                .map(|(i, name)| masker.apply(origin, name, cell(batch.column(i), row)))
                .collect();
            rows.push(values);
        }
    }
    Sample { columns, rows }
}

/// Everything a plan needs besides the session.
pub struct MeasureContext<'a> {
    pub ctx: &'a SessionContext,
    pub masker: &'a Masker,
    pub origin: Option<(&'a str, &'a str)>,
    pub sample: usize,
    pub now: chrono::DateTime<chrono::Utc>,
    /// Keep every difference a diff finds (for `--output-diff`), not only the sample.
    pub keep_all_differences: bool,
}

/// The first `limit` rows of `sql`, sorted by every column so the same data always shows
/// the same sample.
pub async fn sample_frame(
    ctx: &SessionContext,
    sql: &str,
    limit: usize,
) -> Result<DataFrame, String> {
    let frame = ctx
        .sql(sql)
        .await
        .map_err(|e| crate::kernel::error_text(&e))?;
    let order: Vec<_> = frame
        .schema()
        .columns()
        .into_iter()
        .map(|c| Expr::Column(c).sort(true, true))
        .collect();
    let frame = match frame.clone().sort(order) {
        Ok(sorted) => sorted,
        Err(_) => frame,
    };
    frame
        .limit(0, Some(limit))
        .map_err(|e| crate::kernel::error_text(&e))
}

/// Offending rows of a query, or none when the rule keeps no sample.
async fn sample_rows(m: &MeasureContext<'_>, sql: &str, violations: u64) -> Result<Sample, String> {
    if violations == 0 || m.sample == 0 {
        return Ok(Sample::default());
    }
    let frame = sample_frame(m.ctx, sql, m.sample).await?;
    let batches = collect_frame(frame).await?;
    Ok(to_sample(&batches, m.origin, m.masker, m.sample))
}

/// A row predicate, given the counts from its shared scan.
pub async fn row_predicate(
    m: &MeasureContext<'_>,
    plan: &Plan,
    checked: u64,
    violations: u64,
) -> Result<Measure, String> {
    let Plan::RowPredicate { scan, violation } = plan else {
        return Err(crate::kernel::error::bug("not a row predicate"));
    };
    let sample = sample_rows(m, &predicate_sample_sql(scan, violation), violations).await?;
    Ok(Measure {
        diff: None,
        all_differences: None,
        violations,
        observed: Some(checked.into()),
        checked,
        sample,
        message: format!(
            "{} of {} {} violate the rule",
            fmt_count(violations),
            fmt_count(checked),
            plural(checked, "row", "rows")
        ),
    })
}

/// A row count against its bounds.
pub fn row_count(count: u64, min: Option<i64>, max: Option<i64>) -> Measure {
    let count_i = i128::from(count);
    let below = min.is_some_and(|m| count_i < i128::from(m));
    let above = max.is_some_and(|m| count_i > i128::from(m));
    let bounds = match (min, max) {
        (Some(a), Some(b)) => format!("expected {} to {}", fmt_count(a), fmt_count(b)),
        (Some(a), None) => format!("expected at least {}", fmt_count(a)),
        (None, Some(b)) => format!("expected at most {}", fmt_count(b)),
        (None, None) => "no bounds set".into(),
    };
    Measure {
        diff: None,
        all_differences: None,
        violations: u64::from(below || above),
        observed: Some(count.into()),
        checked: 1,
        sample: Sample::default(),
        message: format!(
            "{} {} ({bounds})",
            fmt_count(count),
            plural(count, "row", "rows")
        ),
    }
}

/// A `Counts` plan: one row of counts, then the offending rows if any.
pub async fn counts(
    m: &MeasureContext<'_>,
    kind: CountsKind,
    count_sql: &str,
    sample_sql: &str,
) -> Result<Measure, String> {
    let batches = collect(m.ctx, count_sql).await?;
    let checked = first_u64(&batches, "checked")?;
    let violations = first_u64(&batches, "violations")?;
    let sample = sample_rows(m, sample_sql, violations).await?;
    let (message, observed) = match kind {
        CountsKind::Unique => {
            let keys = first_u64(&batches, "duplicate_keys")?;
            (
                format!(
                    "{} {} share {} duplicated {}",
                    fmt_count(violations),
                    plural(violations, "row", "rows"),
                    fmt_count(keys),
                    plural(keys, "key", "keys")
                ),
                checked,
            )
        }
        CountsKind::RowCountMatch { grouped: false } => {
            let (s, t) = (
                first_u64(&batches, "source_rows")?,
                first_u64(&batches, "target_rows")?,
            );
            (
                format!("source {} rows, target {} rows", fmt_count(s), fmt_count(t)),
                t,
            )
        }
        CountsKind::RowCountMatch { grouped: true } => (
            format!(
                "{} of {} {} differ in row count",
                fmt_count(violations),
                fmt_count(checked),
                plural(checked, "group", "groups")
            ),
            checked,
        ),
        CountsKind::ForeignKey => (
            format!(
                "{} of {} child {} have no parent",
                fmt_count(violations),
                fmt_count(checked),
                plural(checked, "row", "rows")
            ),
            checked,
        ),
        CountsKind::Sql => (
            format!(
                "the query returned {} {}",
                fmt_count(violations),
                plural(violations, "row", "rows")
            ),
            violations,
        ),
    };
    Ok(Measure {
        diff: None,
        all_differences: None,
        violations,
        observed: Some(observed.into()),
        checked,
        sample,
        message,
    })
}

/// The newest value of a column against `now - max_age`; an empty table is a violation.
/// The value of a sensitive column is masked, and its age left out (with the run's start
/// time in the report, the age would give the value away).
pub async fn freshness(
    m: &MeasureContext<'_>,
    sql: &str,
    column: &str,
    max_age: Duration,
    max_age_text: &str,
) -> Result<Measure, String> {
    let batches = collect(m.ctx, sql).await?;
    let newest = first_value(&batches, "newest");
    let Some(newest_at) = super::time::parse_instant(&newest) else {
        if newest.is_null() {
            return Ok(Measure {
                diff: None,
                all_differences: None,
                violations: 1,
                observed: None,
                checked: 1,
                sample: Sample::default(),
                message: "no values: the table (or column) is empty".into(),
            });
        }
        let shown = m.masker.apply(m.origin, column, newest.clone());
        return Err(format!(
            "the newest value `{}` is not a timestamp or date",
            crate::kernel::values::display(&shown)
        ));
    };
    let age = m.now.signed_duration_since(newest_at);
    let limit = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let stale = age > limit;
    let verdict = if stale { "older than" } else { "within" };
    let (newest_text, message) = if m.masker.is_sensitive(m.origin, column) {
        let masked = crate::kernel::mask::mask_text(&crate::kernel::values::display(&newest));
        let message = format!("newest value {masked} (sensitive) is {verdict} {max_age_text}");
        (masked, message)
    } else {
        let text = newest_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let message = format!(
            "newest value {text} is {} old ({verdict} {max_age_text})",
            super::time::human_age(age),
        );
        (text, message)
    };
    Ok(Measure {
        diff: None,
        all_differences: None,
        violations: u64::from(stale),
        observed: Some(Value::String(newest_text)),
        checked: 1,
        sample: Sample::default(),
        message,
    })
}

pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1234567` → `1,234,567`.
pub fn fmt_count(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A row-level diff: violations are rows only on one side, changed rows and duplicated keys.
pub async fn diff(
    m: &MeasureContext<'_>,
    source: &crate::diff::Side,
    target: &crate::diff::Side,
    options: &crate::config::DiffOptions,
) -> Result<Measure, String> {
    let mut outcome = crate::diff::run(
        m.ctx,
        source,
        target,
        options,
        m.sample,
        m.keep_all_differences,
    )
    .await
    .map_err(|e| e.to_string())?;
    let all = if m.keep_all_differences {
        let sample = diff_sample(&outcome, m.origin, m.masker, true);
        outcome.merged.differences.truncate(m.sample);
        Some(sample)
    } else {
        None
    };
    let sample = diff_sample(&outcome, m.origin, m.masker, false);
    let merged = &outcome.merged;
    let summary = super::outcome::DiffSummary {
        algorithm: outcome.algorithm,
        only_in_source: merged.only_in_source,
        only_in_target: merged.only_in_target,
        changed: merged.changed,
        duplicate_keys: merged.duplicate_keys,
        columns: outcome.columns.clone(),
        forgiven: outcome.forgiven.clone(),
        matched: merged.matched,
        columns_only_in_source: outcome.columns_only_in("source"),
        columns_only_in_target: outcome.columns_only_in("target"),
        rows_read: super::outcome::RowsRead {
            source: merged.source_rows,
            target: merged.target_rows,
        },
    };
    let violations = outcome.violations();
    let rows_differing = violations - outcome.one_sided.len() as u64;
    let mut message = if rows_differing == 0 {
        format!("{} rows match", fmt_count(merged.matched))
    } else {
        format!(
            "{} {}: {} only in source, {} only in target, {} changed",
            fmt_count(rows_differing),
            plural(rows_differing, "row differs", "rows differ"),
            fmt_count(merged.only_in_source),
            fmt_count(merged.only_in_target),
            fmt_count(merged.changed)
        )
    };
    if merged.duplicate_keys > 0 {
        message.push_str(&format!(
            ", {} duplicated {}",
            fmt_count(merged.duplicate_keys),
            plural(merged.duplicate_keys, "key", "keys")
        ));
    }
    for (side, other) in [("source", "target"), ("target", "source")] {
        let columns = outcome.columns_only_in(side);
        if !columns.is_empty() {
            let names: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
            message.push_str(&format!(
                "; {} {} only in {side}, not in {other} (exclude {} or list `columns` to compare without {})",
                plural(columns.len() as u64, "column", "columns"),
                names.join(", "),
                if columns.len() == 1 { "it" } else { "them" },
                if columns.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    let forgiven: u64 = outcome.forgiven.values().sum();
    if forgiven > 0 {
        message.push_str(&format!(
            " ({} {} equal only within tolerance or after normalisation)",
            fmt_count(forgiven),
            plural(forgiven, "value", "values")
        ));
    }
    Ok(Measure {
        violations,
        observed: Some(merged.source_rows.into()),
        checked: merged.source_rows.max(merged.target_rows),
        sample,
        message,
        diff: Some(summary),
        all_differences: all,
    })
}

/// Differences as sample rows: key columns, then (`with_kind`) the kind of difference, then
/// column, source value, target value.
pub fn diff_sample(
    outcome: &crate::diff::DiffOutcome,
    origin: Option<(&str, &str)>,
    masker: &Masker,
    with_kind: bool,
) -> Sample {
    let mut columns = outcome.key_names.clone();
    if with_kind {
        columns.push("kind".into());
    }
    columns.extend(["column", "source", "target"].map(String::from));
    let rows = outcome
        .merged
        .differences
        .iter()
        .map(|d| {
            let mut row: Vec<Value> = d
                .key
                .iter()
                .zip(&outcome.key_names)
                .map(|(v, k)| masker.apply(origin, k, v.clone()))
                .collect();
            if with_kind {
                row.push(Value::String(d.kind.as_str().into()));
            }
            let column = d.column.clone().unwrap_or_else(|| match d.kind {
                crate::diff::Kind::DuplicateKey => "(duplicate key)".into(),
                _ => "(row)".into(),
            });
            let (source, target) = match &d.column {
                Some(c) => (
                    masker.apply(origin, c, d.source.clone()),
                    masker.apply(origin, c, d.target.clone()),
                ),
                None => (d.source.clone(), d.target.clone()),
            };
            row.extend([Value::String(column), source, target]);
            row
        })
        .collect();
    Sample { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(fmt_count(0u64), "0");
        assert_eq!(fmt_count(1500u64), "1,500");
        assert_eq!(fmt_count(1234567i64), "1,234,567");
        assert_eq!(fmt_count(-1000i64), "-1,000");
    }

    #[test]
    fn row_count_bounds() {
        assert_eq!(row_count(5, Some(1), Some(10)).violations, 0);
        assert_eq!(row_count(0, Some(1), None).violations, 1);
        assert_eq!(row_count(11, None, Some(10)).violations, 1);
        assert_eq!(row_count(11, None, None).violations, 0);
    }
}
