//! `row_count`: the table's row count within `[min, max]`.

use super::{RuleInput, RuleTypeDef, Shape, opt, req};
use crate::config::fields::Reader;
use crate::config::satisfiable::unsatisfiable;
use crate::config::spec::RuleKind;
use crate::config::yaml::Value;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "row_count",
    aliases: &[],
    doc: "1 violation when the table's row count is outside [min, max].",
    fields: &[
        req("table", Shape::Table, "The table to count."),
        opt("min", Shape::Integer, "Smallest acceptable count."),
        opt("max", Shape::Integer, "Largest acceptable count."),
    ],
    rowless: None,
    parse,
    check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let min = f.get("min").and_then(|n| r.integer(n));
    let max = f.get("max").and_then(|n| r.integer(n));
    Some(RuleKind::RowCount {
        table: f.table(r, "table")?,
        min,
        max,
    })
}

/// `max` below `min`, or below 0.
fn check(f: &RuleInput, r: &mut Reader) {
    let rule = f.rule;
    let int = |key: &str| match f.get(key).map(|n| &n.value) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    if let (Some(min), Some(max), Some(node)) = (int("min"), int("max"), f.get("max"))
        && min > max
    {
        let message =
            format!("rule `{rule}`: `max` ({max}) is below `min` ({min}), so no count can pass");
        unsatisfiable(r, node, message, "swap them, or widen the range");
    }
    if let (Some(max), Some(node)) = (int("max"), f.get("max"))
        && max < 0
    {
        let message = format!("rule `{rule}`: `max` is {max}, but no table has fewer than 0 rows");
        unsatisfiable(r, node, message, "a `max` of 0 asks for an empty table");
    }
}
