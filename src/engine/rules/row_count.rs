//! `row_count`: counted in its table's shared scan, the count against `[min, max]`.

use crate::engine::error::RuleResult;
use async_trait::async_trait;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, scan};
use crate::engine::measure::{MeasureContext, fmt_count, plural};
use crate::engine::outcome::{Measure, Sample};

pub struct RowCount;

#[async_trait]
impl RuleType for RowCount {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::RowCount { table, .. } => vec![(table, &[])],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::RowCount { table, .. } = &spec.kind else {
            unreachable!("{}", wrong_kind("row_count", spec))
        };
        Compiled::new(Plan::RowCount {
            scan: scan(spec, table),
        })
    }

    async fn measure_scanned(
        &self,
        _m: &MeasureContext<'_>,
        rule: &CompiledRule,
        checked: u64,
        _violations: Option<u64>,
    ) -> RuleResult<Measure> {
        let RuleKind::RowCount { min, max, .. } = &rule.spec.kind else {
            return Err(wrong_kind("row_count", &rule.spec));
        };
        Ok(row_count(checked, *min, *max))
    }
}

/// A row count against its bounds.
fn row_count(count: u64, min: Option<i64>, max: Option<i64>) -> Measure {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_count_bounds() {
        assert_eq!(row_count(5, Some(1), Some(10)).violations, 0);
        assert_eq!(row_count(0, Some(1), None).violations, 1);
        assert_eq!(row_count(11, None, Some(10)).violations, 1);
        assert_eq!(row_count(11, None, None).violations, 0);
    }
}
