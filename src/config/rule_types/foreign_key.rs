//! `foreign_key` (alias `orphans`): child rows whose key is missing from the parent.

use super::{RuleInput, RuleTypeDef, SIDE_WHERE, Shape, no_check, req};
use crate::config::fields::Reader;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "foreign_key",
    aliases: &["orphans"],
    doc: "Child rows whose key has no NULL part and is missing from the parent.",
    fields: &[
        req(
            "child",
            Shape::KeyRef,
            "`SOURCE.TABLE(COL[, COL])` holding the references.",
        ),
        req(
            "parent",
            Shape::KeyRef,
            "`SOURCE.TABLE(COL[, COL])` referenced.",
        ),
        SIDE_WHERE[0],
        SIDE_WHERE[1],
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let child = f.get("child").and_then(|n| r.key_ref(n, f.on));
    let parent = f.get("parent").and_then(|n| r.key_ref(n, f.on));
    let (child, parent) = (child?, parent?);
    if child.columns.len() != parent.columns.len() {
        r.error(
            f.fields["parent"],
            format!(
                "the child key has {} columns but the parent key has {}",
                child.columns.len(),
                parent.columns.len()
            ),
        );
        return None;
    }
    Some(RuleKind::ForeignKey { child, parent })
}
