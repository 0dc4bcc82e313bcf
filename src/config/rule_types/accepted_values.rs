//! `accepted_values`: rows whose non-NULL value is not one of a list.

use super::{RuleInput, RuleTypeDef, Shape, req};
use crate::config::fields::Reader;
use crate::config::satisfiable::unsatisfiable;
use crate::config::spec::RuleKind;
use crate::config::yaml::Value;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "accepted_values",
    aliases: &[],
    doc: "Rows whose non-NULL value is not one of `values`.",
    fields: &[
        req("table", Shape::Table, "The table to check."),
        req("column", Shape::Column, "The column to check."),
        req("values", Shape::Values, "The accepted values."),
    ],
    rowless: None,
    parse,
    check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table");
    let column = f.name(r, "column");
    let values = f.get("values").and_then(|n| r.scalars(n));
    Some(RuleKind::AcceptedValues {
        table: table?,
        column: column?,
        values: values?,
    })
}

/// An empty list, which every non-NULL value violates.
fn check(f: &RuleInput, r: &mut Reader) {
    if let Some(node) = f.get("values")
        && matches!(&node.value, Value::Seq(items) if items.is_empty())
    {
        let message = format!(
            "rule `{}`: `values` is empty, so every non-NULL value would be a violation",
            f.rule
        );
        unsatisfiable(r, node, message, "list the accepted values");
    }
}
