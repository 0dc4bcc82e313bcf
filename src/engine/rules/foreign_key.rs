//! `foreign_key` (`orphans`): one query counting the child rows without a parent.

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableName, TableRef};
use crate::engine::compile::{CompiledRule, Plan, column_names, source_where, target_where};
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::Measure;
use crate::kernel::sqlgen::{all_not_null, from_where, ident, table};

pub struct ForeignKey;

#[async_trait]
impl RuleType for ForeignKey {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::ForeignKey { child, parent } => vec![
                (&child.table, &child.columns),
                (&parent.table, &parent.columns),
            ],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::ForeignKey { child, parent } = &spec.kind else {
            unreachable!("{}", wrong_kind("foreign_key", spec))
        };
        Compiled::new(foreign_key_plan(
            &child.table,
            &column_names(&child.columns),
            &parent.table,
            &column_names(&parent.columns),
            &source_where(spec),
            &target_where(spec),
        ))
        .sampling(&child.table)
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let counted = measure::counts(m, &rule.plan).await?;
        let (violations, checked) = (counted.violations, counted.checked);
        let message = format!(
            "{} of {} child {} have no parent",
            fmt_count(violations),
            fmt_count(checked),
            plural(checked, "row", "rows")
        );
        Ok(counted.measure(message, checked))
    }
}

fn foreign_key_plan(
    child: &TableName,
    child_key: &[String],
    parent: &TableName,
    parent_key: &[String],
    child_where: &Option<String>,
    parent_where: &Option<String>,
) -> Plan {
    let child_filter = match child_where {
        Some(w) => format!("({w}) AND {}", all_not_null(child_key, "")),
        None => all_not_null(child_key, ""),
    };
    let parent_cols = parent_key
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let parent_keys = format!(
        "SELECT DISTINCT {parent_cols}, true AS parent_found {}",
        from_where(&table(parent), parent_where.as_deref())
    );
    let on = child_key
        .iter()
        .zip(parent_key)
        .map(|(c, p)| format!("c.{} = p.{}", ident(c), ident(p)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let joined = format!(
        "FROM (SELECT * FROM {} WHERE {child_filter}) AS c LEFT JOIN ({parent_keys}) AS p ON {on}",
        table(child)
    );
    let count_sql = format!(
        "SELECT count(*) AS {CHECKED}, count(CASE WHEN p.parent_found IS NULL THEN 1 END) AS {VIOLATIONS} {joined}"
    );
    let sample_sql = format!("SELECT c.* {joined} WHERE p.parent_found IS NULL");
    Plan::Counts {
        count_sql,
        sample_sql,
    }
}
