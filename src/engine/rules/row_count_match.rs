//! `row_count_match`: one query comparing the row counts of two tables, per group.

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::location::Located;
use crate::config::{CountOrPercent, RuleKind, RuleSpec, TableName, TableRef};
use crate::engine::compile::{CompiledRule, Plan, column_names, source_where, target_where};
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::Measure;
use crate::kernel::sqlgen::{from_where, ident, table};

/// The result columns with the rows of each side.
const SOURCE_ROWS: &str = "source_rows";
const TARGET_ROWS: &str = "target_rows";

pub struct RowCountMatch;

#[async_trait]
impl RuleType for RowCountMatch {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::RowCountMatch {
                source,
                target,
                group_by,
                ..
            } => vec![(source, group_by), (target, group_by)],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::RowCountMatch {
            source,
            target,
            group_by,
            tolerance,
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("row_count_match", spec))
        };
        Compiled::new(row_count_match_plan(
            source,
            target,
            &column_names(group_by),
            *tolerance,
            &source_where(spec),
            &target_where(spec),
        ))
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let RuleKind::RowCountMatch { group_by, .. } = &rule.spec.kind else {
            return Err(wrong_kind("row_count_match", &rule.spec));
        };
        let counted = measure::counts(m, &rule.plan).await?;
        let (violations, checked) = (counted.violations, counted.checked);
        let (message, observed) = if group_by.is_empty() {
            let (s, t) = (counted.column(SOURCE_ROWS)?, counted.column(TARGET_ROWS)?);
            (
                format!("source {} rows, target {} rows", fmt_count(s), fmt_count(t)),
                t,
            )
        } else {
            (
                format!(
                    "{} of {} {} differ in row count",
                    fmt_count(violations),
                    fmt_count(checked),
                    plural(checked, "group", "groups")
                ),
                checked,
            )
        };
        Ok(counted.measure(message, observed))
    }
}

fn row_count_match_plan(
    source: &TableName,
    target: &TableName,
    group_by: &[String],
    tolerance: CountOrPercent,
    source_where: &Option<String>,
    target_where: &Option<String>,
) -> Plan {
    // Counts of both sides stacked and summed per group: GROUP BY treats NULL groups as
    // equal, needs no join (PostgreSQL cannot FULL JOIN on IS NOT DISTINCT FROM), and a
    // group missing on one side simply sums to 0 there.
    let cols = group_by
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let (select_groups, group_clause) = if group_by.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("{cols}, "), format!(" GROUP BY {cols}"))
    };
    let side = |t: &TableName, w: &Option<String>, is_source: bool| {
        let from = from_where(&table(t), w.as_deref());
        let (s, t) = if is_source {
            ("count(*)", "0")
        } else {
            ("0", "count(*)")
        };
        format!(
            "SELECT {select_groups}{s} AS source_count, {t} AS target_count {from}{group_clause}"
        )
    };
    let joined = format!(
        "SELECT {select_groups}sum(source_count) AS source_count, sum(target_count) AS target_count \
         FROM ({} UNION ALL {}) AS sides{group_clause}",
        side(source, source_where, true),
        side(target, target_where, false)
    );
    let beyond = match tolerance {
        CountOrPercent::Count(n) => format!("abs(source_count - target_count) > {n}"),
        CountOrPercent::Percent(p) => {
            format!(
                "CAST(abs(source_count - target_count) AS DOUBLE) > {:?} * source_count",
                p / 100.0
            )
        }
    };
    // A group that vanished from one side is always reported, whatever the tolerance.
    let differs = if group_by.is_empty() {
        format!("({beyond})")
    } else {
        format!("(({beyond}) OR ((source_count = 0) <> (target_count = 0)))")
    };
    let with = format!("WITH j AS ({joined})");
    let count_sql = format!(
        "{with} SELECT count(*) AS {CHECKED}, count(CASE WHEN {differs} THEN 1 END) AS {VIOLATIONS}, \
         sum(source_count) AS {SOURCE_ROWS}, sum(target_count) AS {TARGET_ROWS} FROM j"
    );
    let sample_sql = format!("{with} SELECT * FROM j WHERE {differs}");
    Plan::Counts {
        count_sql,
        sample_sql,
    }
}
