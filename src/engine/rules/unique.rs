//! `unique`: one query counting the rows whose key occurs more than once.

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, ScanKey, column_names, scan};
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::Measure;
use crate::kernel::sqlgen::{all_not_null, ident, table};

/// The result column counting the keys that occur more than once.
const DUPLICATE_KEYS: &str = "duplicate_keys";

pub struct Unique;

#[async_trait]
impl RuleType for Unique {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::Unique { table, columns } => vec![(table, columns)],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Unique { table: t, columns } = &spec.kind else {
            unreachable!("{}", wrong_kind("unique", spec))
        };
        Compiled::new(unique_plan(&scan(spec, t), &column_names(columns))).sampling(t)
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let counted = measure::counts(m, &rule.plan).await?;
        let keys = counted.column(DUPLICATE_KEYS)?;
        let (violations, checked) = (counted.violations, counted.checked);
        let message = format!(
            "{} {} share {} duplicated {}",
            fmt_count(violations),
            plural(violations, "row", "rows"),
            fmt_count(keys),
            plural(keys, "key", "keys")
        );
        Ok(counted.measure(message, checked))
    }
}

/// `checked`: rows with a complete key; `violations`: rows whose key occurs more than once.
fn unique_plan(scan: &ScanKey, key: &[String]) -> Plan {
    let cols = key.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
    let predicate = match &scan.predicate {
        Some(w) => format!("({w}) AND {}", all_not_null(key, "")),
        None => all_not_null(key, ""),
    };
    let grouped = format!(
        "SELECT {cols}, count(*) AS occurrences FROM {} WHERE {predicate} GROUP BY {cols}",
        table(&scan.table)
    );
    let count_sql = format!(
        "SELECT sum(occurrences) AS {CHECKED}, \
         sum(CASE WHEN occurrences > 1 THEN occurrences ELSE 0 END) AS {VIOLATIONS}, \
         count(CASE WHEN occurrences > 1 THEN 1 END) AS {DUPLICATE_KEYS} FROM ({grouped}) AS keys"
    );
    let sample_sql = format!("{grouped} HAVING count(*) > 1");
    Plan::Counts {
        count_sql,
        sample_sql,
    }
}
