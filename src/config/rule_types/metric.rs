//! `metric`: SQL aggregates of a table (or of each group) within bounds.

use super::{RuleInput, RuleTypeDef, Shape, opt, req};
use crate::config::fields::Reader;
use crate::config::satisfiable::unsatisfiable;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "metric",
    aliases: &[],
    doc: "SQL aggregates of the table (`avg(score)`, `sum(amount)`, `count(DISTINCT user_id)`), \
          each within its `min`/`max`; with `group_by`, of each group. A violation is a group \
          (or the table) with any aggregate outside its bounds or NULL.",
    fields: &[
        req("table", Shape::Table, "The table to aggregate."),
        req(
            "metrics",
            Shape::Metrics,
            "The aggregates: a list of `{expr: SQL aggregate, min: NUMBER, max: NUMBER}`, at least one bound each.",
        ),
        opt(
            "group_by",
            Shape::Columns,
            "Columns whose every group must have its aggregates within bounds.",
        ),
    ],
    rowless: None,
    parse,
    check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table");
    let metrics = f.get("metrics").and_then(|n| r.metrics(n));
    let group_by = f.optional_names(r, "group_by");
    Some(RuleKind::Metric {
        table: table?,
        metrics: metrics?,
        group_by: group_by?,
    })
}

/// A metric whose `max` is below its `min`.
fn check(f: &RuleInput, r: &mut Reader) {
    use crate::config::yaml::Value;
    let Some(Value::Seq(items)) = f.get("metrics").map(|n| &n.value) else {
        return;
    };
    for item in items {
        let Value::Map(entries) = &item.value else {
            continue;
        };
        let bound = |key: &str| {
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .and_then(|(_, n)| match n.value {
                    Value::Int(i) => Some(i as f64),
                    Value::Float(f) => Some(f),
                    _ => None,
                })
        };
        if let (Some(min), Some(max)) = (bound("min"), bound("max"))
            && min > max
        {
            let message = format!(
                "rule `{}`: a metric's `max` ({max}) is below its `min` ({min}), so no value can pass",
                f.rule
            );
            unsatisfiable(r, item, message, "swap them, or widen the range");
        }
    }
}
