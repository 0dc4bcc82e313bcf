//! `expect`: a row predicate (the condition not known to hold) counted in its table's
//! shared scan.

use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::SqlText;
use crate::config::location::Located;
use crate::config::sql::has_window_function;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, ScanKey, scan};
use crate::engine::error::RuleResult;
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::Measure;

pub struct Expect;

#[async_trait]
impl RuleType for Expect {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::Expect { table, .. } => vec![(table, &[])],
            _ => vec![],
        }
    }

    fn sql_text<'a>(&self, kind: &'a RuleKind) -> Option<&'a SqlText> {
        match kind {
            RuleKind::Expect { condition, .. } => Some(condition),
            _ => None,
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Expect { table, condition } = &spec.kind else {
            unreachable!("{}", wrong_kind("expect", spec))
        };
        // NULL counts as false: a row passes only when the condition is known to hold.
        // `IS NOT TRUE` rather than `NOT coalesce(…, false)`, the same rows: DataFusion keeps
        // where in the condition a planning error is through it, not through NOT.
        let violation = format!("({}) IS NOT TRUE", condition.text);
        let scan = scan(spec, table);
        if has_window_function(&condition.text) {
            return Compiled::new(windowed_plan(&scan, &condition.text)).sampling(table);
        }
        Compiled::new(Plan::RowPredicate { scan, violation }).sampling(table)
    }

    /// A condition with a window function, counted by its own query.
    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let counted = measure::counts(m, &rule.plan).await?;
        let (violations, checked) = (counted.violations, counted.checked);
        let message = format!(
            "{} of {} {} violate the rule",
            fmt_count(violations),
            fmt_count(checked),
            plural(checked, "row", "rows")
        );
        Ok(counted.measure(message, checked))
    }
}

/// The column holding a windowed condition's value for each row.
const HOLDS: &str = "crosscheck_holds";

/// A window function cannot sit inside the shared scan's `count(CASE …)`: the condition is
/// computed for each row (after `where`, so the window sees the rows the rule checks), then
/// counted. The sample shows the table's own columns.
fn windowed_plan(scan: &ScanKey, condition: &str) -> Plan {
    let rows = format!("SELECT *, ({condition}) AS {HOLDS} {}", scan.from_sql());
    Plan::Counts {
        count_sql: format!(
            "SELECT count(*) AS {CHECKED}, count(CASE WHEN {HOLDS} IS NOT TRUE THEN 1 END) AS {VIOLATIONS} \
             FROM ({rows}) AS checked_rows"
        ),
        sample_sql: format!(
            "SELECT * EXCLUDE ({HOLDS}) FROM ({rows}) AS checked_rows WHERE {HOLDS} IS NOT TRUE"
        ),
    }
}
