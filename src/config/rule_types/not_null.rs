//! `not_null`: rows with a NULL in any listed column.

use super::{RuleInput, RuleTypeDef, Shape, no_check, req};
use crate::config::fields::Reader;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "not_null",
    aliases: &[],
    doc: "Rows with a NULL in any listed column.",
    fields: &[
        req("table", Shape::Table, "The table to check."),
        req("columns", Shape::Columns, "Columns that must not be NULL."),
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let table = f.table(r, "table");
    Some(RuleKind::NotNull {
        table: table?,
        columns: f.names(r, "columns")?,
    })
}
