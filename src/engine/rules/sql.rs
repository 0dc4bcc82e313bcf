//! `sql`: the rows of the user's query, counted, are the violations.

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::SqlText;
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, source_where};
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
        let RuleKind::Sql { query, on } = &spec.kind else {
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

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let counted = measure::counts(m, &rule.plan).await?;
        let violations = counted.violations;
        let message = format!(
            "the query returned {} {}",
            fmt_count(violations),
            plural(violations, "row", "rows")
        );
        Ok(counted.measure(message, violations))
    }
}
