//! `required_keys`: each listed key, left-joined to the settings; a key no row has, or
//! whose every value is empty or NULL, is a violation.

use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, VIOLATIONS, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, scan};
use crate::engine::error::RuleResult;
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::Measure;
use crate::kernel::sqlgen::literal;

pub struct RequiredKeys;

#[async_trait]
impl RuleType for RequiredKeys {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::RequiredKeys { table, columns, .. } => vec![(table, columns)],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::RequiredKeys { table, keys, .. } = &spec.kind else {
            unreachable!("{}", wrong_kind("required_keys", spec))
        };
        let scan = scan(spec, table);
        let wanted = keys
            .iter()
            .map(|k| format!("({})", literal(k)))
            .collect::<Vec<_>>()
            .join(", ");
        // `where` narrows the settings searched (one file, say), not the keys asked for.
        let keyed = format!(
            "SELECT wanted.key AS key, count(settings.key) AS rows_found, \
             count(CASE WHEN settings.value <> '' THEN 1 END) AS rows_set \
             FROM (VALUES {wanted}) AS wanted(key) \
             LEFT JOIN (SELECT key, value {}) AS settings ON settings.key = wanted.key \
             GROUP BY wanted.key",
            scan.from_sql()
        );
        Compiled::new(Plan::Counts {
            count_sql: format!(
                "SELECT count(*) AS {CHECKED}, count(CASE WHEN rows_set = 0 THEN 1 END) AS {VIOLATIONS} \
                 FROM ({keyed}) AS keyed"
            ),
            sample_sql: format!(
                "SELECT key, CASE WHEN rows_found = 0 THEN 'missing' ELSE 'empty' END AS problem \
                 FROM ({keyed}) AS keyed WHERE rows_set = 0"
            ),
        })
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let counted = measure::counts(m, &rule.plan).await?;
        let (violations, checked) = (counted.violations, counted.checked);
        let message = format!(
            "{} of {} {} missing or empty",
            fmt_count(violations),
            fmt_count(checked),
            plural(checked, "key is", "keys are")
        );
        Ok(counted.measure(message, checked))
    }
}
