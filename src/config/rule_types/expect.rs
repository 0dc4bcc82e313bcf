//! `expect`: rows where a condition is false or NULL.

use super::{RuleInput, RuleTypeDef, Shape, no_check, req};
use crate::config::fields::Reader;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "expect",
    aliases: &[],
    doc: "Rows where the condition is false or NULL.",
    fields: &[
        req("table", Shape::Table, "The table to check."),
        req(
            "condition",
            Shape::Predicate,
            "SQL boolean every row must satisfy.",
        ),
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table");
    let condition = f.get("condition").and_then(|n| r.predicate(n));
    Some(RuleKind::Expect {
        table: table?,
        condition: condition?,
    })
}
