//! `metric`: the rule's aggregates, per group or of the whole table, in one query (which runs
//! inside the database when the table lives in one), each value checked against its bounds.

use async_trait::async_trait;
use serde_json::Value;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::TableName;
use crate::config::location::Located;
use crate::config::spec::Metric;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, ScanKey, column_names, scan};
use crate::engine::error::{RuleError, RuleResult};
use crate::engine::measure::{self, MeasureContext, first_value, fmt_count, plural};
use crate::kernel::sqlgen::{from_where, ident, table};
use datafusion::arrow::datatypes::DataType;

pub struct MetricRule;

#[async_trait]
impl RuleType for MetricRule {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::Metric {
                table, group_by, ..
            } => vec![(table, group_by)],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Metric {
            table: t,
            metrics,
            group_by,
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("metric", spec))
        };
        Compiled::new(metric_plan(
            &scan(spec, t),
            metrics,
            &column_names(group_by),
        ))
        .sampling(t)
    }

    async fn measure(
        &self,
        m: &MeasureContext<'_>,
        rule: &CompiledRule,
    ) -> RuleResult<crate::engine::outcome::Measure> {
        let RuleKind::Metric {
            table: t,
            metrics,
            group_by,
        } = &rule.spec.kind
        else {
            return Err(wrong_kind("metric", &rule.spec));
        };
        check_numeric(m, &t.value, metrics).await?;
        let mut counted = measure::counts(m, &rule.plan).await?;
        // The aggregate of a sensitive column (`min(password_hash)`) is masked as the column
        // itself is, in the message and in the sample.
        let secret: Vec<Option<String>> = metrics
            .iter()
            .map(|metric| sensitive_word(m, &metric.expr.text))
            .collect();
        mask_sample(m, &mut counted.sample, metrics, &secret);
        if group_by.is_empty() {
            // One row: the values themselves, failing ones first.
            let values: Vec<Value> = metrics
                .iter()
                .zip(&secret)
                .map(|(metric, word)| {
                    let value = first_value(&counted.batches, &metric.expr.text);
                    match word {
                        Some(word) => m.masker.apply(m.origin, word, value),
                        None => value,
                    }
                })
                .collect();
            let mut parts: Vec<(bool, String)> = metrics
                .iter()
                .zip(&values)
                .map(|(metric, value)| describe(metric, value))
                .collect();
            parts.sort_by_key(|(within, _)| *within);
            let message = parts
                .into_iter()
                .map(|(_, text)| text)
                .collect::<Vec<_>>()
                .join("; ");
            let observed = match values.as_slice() {
                [one] => one.clone(),
                many => Value::Array(many.to_vec()),
            };
            let mut measured = counted.measure(message, 1);
            measured.observed = Some(observed);
            return Ok(measured);
        }
        let (violations, checked) = (counted.violations, counted.checked);
        let message = format!(
            "{} of {} {} {} an aggregate outside its bounds",
            fmt_count(violations),
            fmt_count(checked),
            plural(checked, "group", "groups"),
            plural(violations, "has", "have")
        );
        Ok(counted.measure(message, checked))
    }
}

/// Bounds are numbers: an aggregate of another type (`max(email)`) is a rule error that says
/// so before anything runs, not a cast error from the engine. Planning only.
async fn check_numeric(
    m: &MeasureContext<'_>,
    t: &TableName,
    metrics: &[Metric],
) -> RuleResult<()> {
    let select = metrics
        .iter()
        .map(|metric| format!("({}) AS {}", metric.expr.text, column(metric)))
        .collect::<Vec<_>>()
        .join(", ");
    let frame = m
        .ctx
        .sql(&format!("SELECT {select} FROM {}", table(t)))
        .await?;
    for (metric, field) in metrics.iter().zip(frame.schema().fields()) {
        let data_type = field.data_type();
        if !(data_type.is_numeric() || *data_type == DataType::Null) {
            return Err(RuleError::Rule(format!(
                "metric `{}` is {}, not a number, so it cannot be held to `min`/`max` \
                 (count, sum or average it, or take its length)",
                metric.expr.text,
                crate::engine::schema_columns::type_name(data_type)
            )));
        }
    }
    Ok(())
}

/// A sensitive column the expression names, if any (words of it checked as column names).
fn sensitive_word(m: &MeasureContext<'_>, expr: &str) -> Option<String> {
    expr.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .find(|w| m.masker.is_sensitive(m.origin, w))
        .map(str::to_string)
}

fn mask_sample(
    m: &MeasureContext<'_>,
    sample: &mut crate::engine::outcome::Sample,
    metrics: &[Metric],
    secret: &[Option<String>],
) {
    for (metric, word) in metrics.iter().zip(secret) {
        let Some(word) = word else { continue };
        let Some(i) = sample.columns.iter().position(|c| *c == metric.expr.text) else {
            continue;
        };
        for row in &mut sample.rows {
            if let Some(cell) = row.get_mut(i) {
                *cell = m.masker.apply(m.origin, word, std::mem::take(cell));
            }
        }
    }
}

/// The column a metric's value is named by: its expression as written.
fn column(metric: &Metric) -> String {
    ident(&metric.expr.text)
}

/// A bound as SQL: an integer when it is one (so counts compare as integers, and a database
/// that reads `0.5` as a decimal still runs the query), else the shortest exact float.
fn literal(bound: f64) -> String {
    if bound.fract() == 0.0 && bound.abs() < 9.0e15 {
        format!("{}", bound as i64)
    } else {
        format!("{bound:?}")
    }
}

/// `checked`: the groups (1 without `group_by`); `violations`: those with any aggregate NULL
/// or outside its bounds. Without groups, the count query also returns each value.
fn metric_plan(scan: &ScanKey, metrics: &[Metric], group_by: &[String]) -> Plan {
    let groups = group_by.iter().map(|c| ident(c)).collect::<Vec<_>>();
    let values = metrics
        .iter()
        .map(|m| format!("({}) AS {}", m.expr.text, column(m)));
    let select = groups
        .iter()
        .cloned()
        .chain(values)
        .collect::<Vec<_>>()
        .join(", ");
    let group_clause = if groups.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", groups.join(", "))
    };
    let inner = format!(
        "SELECT {select} {}{group_clause}",
        from_where(&table(&scan.table), scan.predicate.as_deref())
    );
    let outside = metrics
        .iter()
        .map(|m| {
            let c = column(m);
            let mut tests = vec![format!("{c} IS NULL")];
            if let Some(min) = m.min {
                tests.push(format!("{c} < {}", literal(min)));
            }
            if let Some(max) = m.max {
                tests.push(format!("{c} > {}", literal(max)));
            }
            tests.join(" OR ")
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    // Without groups there is one row, so max() of each value is the value.
    let extras: String = if groups.is_empty() {
        metrics
            .iter()
            .map(|m| format!(", max({0}) AS {0}", column(m)))
            .collect()
    } else {
        String::new()
    };
    let count_sql = format!(
        "SELECT count(*) AS {CHECKED}, count(CASE WHEN {outside} THEN 1 END) AS {VIOLATIONS}{extras} \
         FROM ({inner}) AS metrics"
    );
    let sample_sql = format!("SELECT * FROM ({inner}) AS metrics WHERE {outside}");
    Plan::Counts {
        count_sql,
        sample_sql,
    }
}

/// `avg(score) is 73.2 (expected 0 to 100)`; false when outside.
fn describe(metric: &Metric, value: &Value) -> (bool, String) {
    let number = value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
    let shown = match value {
        Value::Null => "NULL".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let expr = &metric.expr.text;
    let (min, max) = (metric.min, metric.max);
    let bounds = match (min, max) {
        (Some(a), Some(b)) => format!("{} to {}", literal(a), literal(b)),
        (Some(a), None) => format!("at least {}", literal(a)),
        (None, Some(b)) => format!("at most {}", literal(b)),
        (None, None) => "no bounds".into(),
    };
    match number {
        None => (
            false,
            format!("{expr} is {shown}, which is no number (expected {bounds})"),
        ),
        Some(n) if min.is_some_and(|a| n < a) => (
            false,
            format!(
                "{expr} is {shown}, below its min {}",
                literal(min.unwrap_or(n))
            ),
        ),
        Some(n) if max.is_some_and(|b| n > b) => (
            false,
            format!(
                "{expr} is {shown}, above its max {}",
                literal(max.unwrap_or(n))
            ),
        ),
        Some(_) => (true, format!("{expr} is {shown} (expected {bounds})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_written_as_integers_when_they_are_ones() {
        assert_eq!(literal(1_000_000.0), "1000000");
        assert_eq!(literal(-3.0), "-3");
        assert_eq!(literal(0.5), "0.5");
        assert_eq!(literal(1e20), "1e20");
    }
}
