//! `freshness`: one query for the newest value of a column, compared with the clock.

use crate::engine::error::{RuleError, RuleResult};
use async_trait::async_trait;

use super::{CHECKED, Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};
use crate::engine::compile::{CompiledRule, Plan, scan};
use crate::engine::measure::{MeasureContext, collect, first_value};
use crate::engine::outcome::{Measure, Sample};
use crate::kernel::sqlgen::ident;
use serde_json::Value;

/// The result column holding the newest value.
const NEWEST: &str = "newest";

pub struct Freshness;

#[async_trait]
impl RuleType for Freshness {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::Freshness { table, column, .. } => {
                vec![(table, std::slice::from_ref(column))]
            }
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Freshness {
            table: t, column, ..
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("freshness", spec))
        };
        let sql = format!(
            "SELECT max({c}) AS {NEWEST}, count({c}) AS {CHECKED} {from}",
            c = ident(column),
            from = scan(spec, t).from_sql()
        );
        Compiled::new(Plan::Row {
            label: "newest value",
            sql,
        })
        .sampling(t)
    }

    /// The newest value against `now - max_age`; an empty table is a violation. The value
    /// of a sensitive column is masked, and its age left out (with the run's start time in
    /// the report, the age would give the value away).
    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let (
            RuleKind::Freshness {
                column,
                max_age,
                max_age_text,
                ..
            },
            Plan::Row { sql, .. },
        ) = (&rule.spec.kind, &rule.plan)
        else {
            return Err(wrong_kind("freshness", &rule.spec));
        };
        let column = &column.value;
        let batches = collect(m.ctx, sql).await?;
        let newest = first_value(&batches, NEWEST);
        let Some(newest_at) = crate::engine::time::parse_instant(&newest) else {
            if newest.is_null() {
                return Ok(Measure {
                    diff: None,
                    all_differences: None,
                    violations: 1,
                    observed: None,
                    checked: 1,
                    sample: Sample::default(),
                    message: "no values: the table (or column) is empty".into(),
                });
            }
            let shown = m.masker.apply(m.origin, column, newest.clone());
            return Err(RuleError::Rule(format!(
                "the newest value `{}` is not a timestamp or date",
                crate::kernel::values::display(&shown)
            )));
        };
        let age = m.now.signed_duration_since(newest_at);
        let limit = chrono::Duration::from_std(*max_age).unwrap_or(chrono::Duration::MAX);
        let stale = age > limit;
        let verdict = if stale { "older than" } else { "within" };
        let (newest_text, message) = if m.masker.is_sensitive(m.origin, column) {
            let masked = crate::kernel::mask::mask_text(&crate::kernel::values::display(&newest));
            let message = format!("newest value {masked} (sensitive) is {verdict} {max_age_text}");
            (masked, message)
        } else {
            let text = newest_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let message = format!(
                "newest value {text} is {} old ({verdict} {max_age_text})",
                crate::engine::time::human_age(age),
            );
            (text, message)
        };
        Ok(Measure {
            diff: None,
            all_differences: None,
            violations: u64::from(stale),
            observed: Some(Value::String(newest_text)),
            checked: 1,
            sample: Sample::default(),
            message,
        })
    }
}
