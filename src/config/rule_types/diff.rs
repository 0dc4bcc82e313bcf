//! `diff`: two tables compared row by row and column by column.

use super::{DIFF_OPTIONS, RuleInput, RuleTypeDef, SIDE_WHERE, Shape, no_check, req};
use crate::config::fields::Reader;
use crate::config::spec::{DiffOptions, RuleKind};

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "diff",
    aliases: &[],
    doc: "Rows only in the source, rows only in the target, and changed rows of two tables, column by column.",
    fields: &[
        req(
            "source",
            Shape::Table,
            "The table the target should equal (e.g. staging).",
        ),
        req(
            "target",
            Shape::Table,
            "The table checked against it (e.g. prod).",
        ),
        SIDE_WHERE[0],
        SIDE_WHERE[1],
        DIFF_OPTIONS[0],
        DIFF_OPTIONS[1],
        DIFF_OPTIONS[2],
        DIFF_OPTIONS[3],
        DIFF_OPTIONS[4],
        DIFF_OPTIONS[5],
        DIFF_OPTIONS[6],
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let source = f.table(r, "source");
    let target = f.table(r, "target");
    let options = diff_options(f, r);
    Some(RuleKind::Diff {
        source: source?,
        target: target?,
        options: options?,
    })
}

/// The diff options of a `diff` or `query_match` rule.
pub(super) fn diff_options(f: &RuleInput, r: &mut Reader) -> Option<DiffOptions> {
    let mut ok = true;
    let mut names = |r: &mut Reader, field: &str| match f.get(field) {
        Some(n) => {
            let v = r
                .names(n)
                .map(|v| v.into_iter().map(|c| c.value).collect::<Vec<_>>());
            ok &= v.is_some();
            v
        }
        None => None,
    };
    let key = names(r, "key").unwrap_or_default();
    let columns = names(r, "columns");
    let exclude = names(r, "exclude").unwrap_or_default();
    let rename = f.get("rename").map(|n| r.rename(n));
    let tolerance = f.get("tolerance").map(|n| r.tolerances(n));
    let normalize = f.get("normalize").map(|n| r.normalize(n));
    let algorithm = f.get("algorithm").map(|n| r.algorithm(n));
    if !ok
        || matches!(rename, Some(None))
        || matches!(tolerance, Some(None))
        || matches!(normalize, Some(None))
        || matches!(algorithm, Some(None))
    {
        return None;
    }
    Some(DiffOptions {
        key,
        columns,
        exclude,
        rename: rename.flatten().unwrap_or_default(),
        tolerance: tolerance.flatten().unwrap_or_default(),
        normalize: normalize.flatten().unwrap_or_default(),
        algorithm: algorithm.flatten().unwrap_or_default(),
    })
}
