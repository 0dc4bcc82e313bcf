//! `sql`: the rows of the user's query, counted, are the violations.

use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::SqlText;
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, RuleQuery, source_where};
use crate::engine::error::{RuleError, RuleResult};
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::Measure;
use crate::kernel::sqlgen::strip_semicolons;

pub struct Sql;

#[async_trait]
impl RuleType for Sql {
    /// The query's tables are the user's SQL, planned rather than checked by name.
    fn names<'a>(&self, _kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        vec![]
    }

    /// The source of `on:`, if any.
    fn tables(&self, kind: &RuleKind) -> Vec<String> {
        match kind {
            RuleKind::Sql { on, .. } => on.iter().cloned().collect(),
            _ => vec![],
        }
    }

    fn sql_text<'a>(&self, kind: &'a RuleKind) -> Option<&'a SqlText> {
        match kind {
            RuleKind::Sql { query, .. } => Some(query),
            _ => None,
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Sql { query, on, .. } = &spec.kind else {
            unreachable!("{}", wrong_kind("sql", spec))
        };
        let inner = strip_semicolons(&query.text);
        let filtered = match &source_where(spec) {
            Some(w) => format!("SELECT * FROM ({inner}) AS rule_result WHERE ({w})"),
            None => format!("SELECT * FROM ({inner}) AS rule_result"),
        };
        let count_sql = format!(
            "SELECT count(*) AS {CHECKED}, count(*) AS {VIOLATIONS} FROM ({filtered}) AS counted"
        );
        Compiled {
            on: on.clone(),
            ..Compiled::new(Plan::Counts {
                count_sql,
                sample_sql: filtered,
            })
        }
    }

    /// The rule's queries, then its `out_of`.
    async fn queries(
        &self,
        _ctx: &datafusion::prelude::SessionContext,
        rule: &CompiledRule,
    ) -> RuleResult<Vec<RuleQuery>> {
        let mut queries = rule.queries();
        if let RuleKind::Sql {
            out_of: Some(out_of),
            ..
        } = &rule.spec.kind
        {
            queries.push(RuleQuery {
                label: "out_of (what a percentage max_violations is of)",
                sql: strip_semicolons(&out_of.text).to_string(),
                sample_limit: None,
            });
        }
        Ok(queries)
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let RuleKind::Sql { out_of, .. } = &rule.spec.kind else {
            return Err(wrong_kind("sql", &rule.spec));
        };
        let mut counted = measure::counts(m, &rule.plan).await?;
        let violations = counted.violations;
        let mut message = format!(
            "the query returned {} {}",
            fmt_count(violations),
            plural(violations, "row", "rows")
        );
        if let Some(out_of) = out_of {
            let batches = measure::collect(m.ctx, strip_semicolons(&out_of.text)).await?;
            counted.checked = denominator(&batches)?;
            message.push_str(&format!(" out of {}", fmt_count(counted.checked)));
        }
        Ok(counted.measure(message, violations))
    }
}

/// The one non-negative integer an `out_of` query returns.
fn denominator(batches: &[datafusion::arrow::array::RecordBatch]) -> RuleResult<u64> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let wrong = |what: String| {
        RuleError::Rule(format!(
            "`out_of` must return one row of one non-negative integer, and returned {what}"
        ))
    };
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(wrong("no row".into()));
    };
    if rows != 1 || batch.num_columns() != 1 {
        return Err(wrong(format!(
            "{rows} {} of {} {}",
            plural(rows as u64, "row", "rows"),
            batch.num_columns(),
            plural(batch.num_columns() as u64, "column", "columns")
        )));
    }
    // A count, or a whole number the database wrote as a decimal; not NULL, not negative.
    let value = crate::kernel::values::cell(batch.column(0), 0);
    let count = match &value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    count.ok_or_else(|| wrong(crate::kernel::values::display(&value)))
}
