//! `row_count_match`: row counts of two tables, per group, equal within a tolerance.

use super::{RuleInput, RuleTypeDef, SIDE_WHERE, Shape, no_check, opt, req};
use crate::config::fields::Reader;
use crate::config::spec::{CountOrPercent, RuleKind};

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "row_count_match",
    aliases: &[],
    doc: "Groups whose row counts differ between source and target beyond the tolerance.",
    fields: &[
        req(
            "source",
            Shape::Table,
            "The table the counts should match (e.g. staging).",
        ),
        req(
            "target",
            Shape::Table,
            "The table checked against it (e.g. prod).",
        ),
        opt(
            "group_by",
            Shape::Columns,
            "Compare counts per group of these columns.",
        ),
        opt(
            "tolerance",
            Shape::CountOrPercent,
            "Allowed difference per group: an integer or a percentage of the source count.",
        ),
        SIDE_WHERE[0],
        SIDE_WHERE[1],
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let tolerance = f
        .get("tolerance")
        .and_then(|n| r.count_or_percent(n))
        .unwrap_or(CountOrPercent::Count(0));
    let group_by = f
        .get("group_by")
        .and_then(|n| r.names(n))
        .unwrap_or_default();
    let source = f.table(r, "source");
    let target = f.table(r, "target");
    Some(RuleKind::RowCountMatch {
        source: source?,
        target: target?,
        group_by,
        tolerance,
    })
}
