//! `query_match`: the same query run on two sources, its results compared as `diff` does.

use super::{DIFF_OPTIONS, RuleInput, RuleTypeDef, SIDE_WHERE, Shape, no_check, opt, req};
use crate::config::fields::Reader;
use crate::config::spec::RuleKind;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "query_match",
    aliases: &[],
    doc: "The rows that differ when the same query runs on two sources, counted as in `diff`.",
    fields: &[
        opt(
            "sql",
            Shape::Query,
            "The query, inline (give `sql` or `query`); tables unqualified.",
        ),
        opt(
            "query",
            Shape::QueryFile,
            "A file under queries/ holding the query.",
        ),
        req(
            "source",
            Shape::Source,
            "The source whose result the target's should equal.",
        ),
        req("target", Shape::Source, "The source checked against it."),
        SIDE_WHERE[0],
        SIDE_WHERE[1],
        DIFF_OPTIONS[0],
        DIFF_OPTIONS[1],
        DIFF_OPTIONS[2],
        DIFF_OPTIONS[3],
        DIFF_OPTIONS[4],
        DIFF_OPTIONS[5],
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let query = super::sql::query_of_rule(f, r);
    let source = f.get("source").and_then(|n| r.source_name(n));
    let target = f.get("target").and_then(|n| r.source_name(n));
    let options = super::diff::diff_options(f, r);
    Some(RuleKind::QueryMatch {
        query: query?,
        source: source?,
        target: target?,
        options: options?,
    })
}
