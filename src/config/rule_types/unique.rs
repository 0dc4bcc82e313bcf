//! `unique`: rows whose key occurs more than once.

use super::{RuleInput, RuleTypeDef, Shape, no_check, req};
use crate::config::fields::Reader;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "unique",
    aliases: &[],
    doc: "Rows whose key occurs more than once (keys with a NULL part are ignored).",
    fields: &[
        req("table", Shape::Table, "The table to check."),
        req(
            "columns",
            Shape::Columns,
            "The key: one column or several forming one compound key.",
        ),
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table");
    Some(RuleKind::Unique {
        table: table?,
        columns: f.names(r, "columns")?,
    })
}
