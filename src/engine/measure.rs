//! Running one plan against the session and reading what it measured.

use crate::engine::error::{RuleError, RuleResult};
use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{DataFrame, Expr, SessionContext};

use crate::source::pushdown::{self, PushError};
use serde_json::Value;

use super::compile::{Plan, predicate_sample_sql};
use super::outcome::{Measure, Sample};
use super::rules::{CHECKED, VIOLATIONS};
use crate::kernel::mask::Masker;
use crate::kernel::values::{as_u64, cell};

/// Runs `sql` to completion.
pub async fn collect(ctx: &SessionContext, sql: &str) -> RuleResult<Vec<RecordBatch>> {
    let frame = ctx.sql(sql).await.map_err(RuleError::from)?;
    collect_frame(frame).await
}

/// Runs a planned query: inside the database when all its tables are in one database
/// source, in-process otherwise (or when the database does not understand the unparsed
/// SQL) — with each aggregate that reads one database source run there.
pub async fn collect_frame(frame: DataFrame) -> RuleResult<Vec<RecordBatch>> {
    if let Some(pushed) = pushdown::try_push(frame.logical_plan()) {
        match pushed.execute().await {
            Ok(batches) => return Ok(batches),
            Err(PushError::Failed(e)) => return Err(e.into()),
            Err(PushError::NotUnderstood(_)) => {}
        }
    }
    let parts = pushdown::pushable_parts(frame.logical_plan());
    if parts.is_empty() {
        return frame.collect().await.map_err(RuleError::from);
    }
    let outcomes = futures::future::join_all(parts.iter().map(|(_, p)| p.execute())).await;
    let mut results = Vec::new();
    for ((part, _), outcome) in parts.into_iter().zip(outcomes) {
        match outcome {
            Ok(batches) => results.push((part, batches)),
            Err(PushError::Failed(e)) => return Err(e.into()),
            // That part runs in-process.
            Err(PushError::NotUnderstood(_)) => {}
        }
    }
    let (state, plan) = frame.into_parts();
    let plan = pushdown::replace_parts(plan, results).map_err(RuleError::from)?;
    DataFrame::new(state, plan)
        .collect()
        .await
        .map_err(RuleError::from)
}

/// The integer in column `name` of the first row (0 when there is no row or it is NULL).
pub fn first_u64(batches: &[RecordBatch], name: &str) -> RuleResult<u64> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(0);
    };
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| RuleError::Internal(format!("no column `{name}` in the result")))?;
    as_u64(column, 0).ok_or_else(|| RuleError::Internal(format!("column `{name}` is not a count")))
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
    /// `--recheck`: after a diff finds differences, wait this long and read those keys again.
    pub recheck: Option<std::time::Duration>,
}

/// The first `limit` rows of `sql`, sorted by every column so the same data always shows
/// the same sample.
pub async fn sample_frame(ctx: &SessionContext, sql: &str, limit: usize) -> RuleResult<DataFrame> {
    let frame = ctx.sql(sql).await.map_err(RuleError::from)?;
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
    frame.limit(0, Some(limit)).map_err(RuleError::from)
}

/// Offending rows of a query, or none when the rule keeps no sample.
async fn sample_rows(m: &MeasureContext<'_>, sql: &str, violations: u64) -> RuleResult<Sample> {
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
    violations: Option<u64>,
) -> RuleResult<Measure> {
    let (Plan::RowPredicate { scan, violation }, Some(violations)) = (plan, violations) else {
        return Err(RuleError::Internal("not a row predicate".into()));
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

/// What a `Counts` plan's query counted, and its offending rows: the rule type reads its
/// own extra columns and words the message.
pub struct Counted {
    pub batches: Vec<RecordBatch>,
    pub checked: u64,
    pub violations: u64,
    pub sample: Sample,
}

impl Counted {
    /// The integer in column `name` of the counts.
    pub fn column(&self, name: &str) -> RuleResult<u64> {
        first_u64(&self.batches, name)
    }

    pub fn measure(self, message: String, observed: u64) -> Measure {
        Measure {
            diff: None,
            all_differences: None,
            violations: self.violations,
            observed: Some(observed.into()),
            checked: self.checked,
            sample: self.sample,
            message,
        }
    }
}

/// A `Counts` plan: one row of counts, then the offending rows if any.
pub async fn counts(m: &MeasureContext<'_>, plan: &Plan) -> RuleResult<Counted> {
    let Plan::Counts {
        count_sql,
        sample_sql,
    } = plan
    else {
        return Err(RuleError::Internal("not a counts plan".into()));
    };
    let batches = collect(m.ctx, count_sql).await?;
    let checked = first_u64(&batches, CHECKED)?;
    let violations = first_u64(&batches, VIOLATIONS)?;
    let sample = sample_rows(m, sample_sql, violations).await?;
    Ok(Counted {
        batches,
        checked,
        violations,
        sample,
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
}
