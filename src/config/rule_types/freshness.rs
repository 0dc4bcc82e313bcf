//! `freshness`: the newest value of a timestamp or date column within `max_age` of now.

use super::{RuleInput, RuleTypeDef, Shape, req};
use crate::config::fields::{Reader, parse_duration};
use crate::config::satisfiable::unsatisfiable;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "freshness",
    aliases: &[],
    doc: "1 violation when the newest value is older than now minus max_age, or the table is empty.",
    fields: &[
        req("table", Shape::Table, "The table to check."),
        req("column", Shape::Column, "A timestamp or date column."),
        req(
            "max_age",
            Shape::Duration,
            "Largest acceptable age: `30m`, `24h`, `7d`.",
        ),
    ],
    rowless: None,
    parse,
    check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table");
    let column = f.name(r, "column");
    let (max_age, max_age_text) = f.get("max_age").and_then(|n| r.duration(n))?;
    Some(RuleKind::Freshness {
        table: table?,
        column: column?,
        max_age,
        max_age_text,
    })
}

/// A `max_age` of 0, which no value can be newer than.
fn check(f: &RuleInput, r: &mut Reader) {
    if let Some(node) = f.get("max_age")
        && node
            .scalar_text()
            .and_then(|t| parse_duration(&t))
            .is_some_and(|d| d.is_zero())
    {
        let message = format!(
            "rule `{}`: a `max_age` of 0 can never pass (the newest value would have to be newer than the clock)",
            f.rule
        );
        unsatisfiable(
            r,
            node,
            message,
            "give the largest acceptable age, such as `24h`",
        );
    }
}
