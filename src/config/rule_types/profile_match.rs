//! `profile_match`: the same per-column statistics on two tables, per group, equal within
//! the rule's tolerances.

use super::{RuleInput, RuleTypeDef, SIDE_WHERE, Shape, no_check, opt, req};
use crate::config::diagnostic::{Diagnostic, did_you_mean};
use crate::config::fields::Reader;
use crate::config::spec::{PROFILE_STATISTICS, RuleKind};
use crate::config::yaml::Node;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "profile_match",
    aliases: &[],
    doc: "Per-column statistics of two tables compared, one aggregate query per side run where \
          each table lives: rows, nulls and distinct values of every column; min, max, sum and \
          mean of numbers; shortest and longest text; earliest and latest times. A violation is \
          a statistic (of a group, with `group_by`) that differs beyond its tolerance, or a group \
          on one side only.",
    fields: &[
        req(
            "source",
            Shape::Table,
            "The table the profile should match (e.g. staging).",
        ),
        req(
            "target",
            Shape::Table,
            "The table checked against it (e.g. prod).",
        ),
        opt(
            "columns",
            Shape::Columns,
            "Columns to profile (default: every column both sides share).",
        ),
        opt("exclude", Shape::Columns, "Columns not to profile."),
        opt(
            "group_by",
            Shape::Columns,
            "Profile each group of these columns separately.",
        ),
        opt(
            "tolerance",
            Shape::Tolerances,
            "Per column, for its min, max, sum, mean, earliest and latest: an absolute number (`0.01`), a relative one (`\"0.1%\"`) or a duration (`1s`); `\"*\"` for every column. Counts are always exact.",
        ),
        opt(
            "statistics",
            Shape::Values,
            "The statistics to compare (default: all): nulls, distinct, trues, min, max, sum, mean, min_length, max_length, earliest, latest. Leaving out `distinct` makes each side one pass of single-value aggregates.",
        ),
        SIDE_WHERE[0],
        SIDE_WHERE[1],
    ],
    rowless: None,
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    // Every field is read before any `?`, so that each mistake of the rule is reported.
    let source = f.table(r, "source");
    let target = f.table(r, "target");
    let columns = f.optional_names(r, "columns");
    let exclude = f.optional_names(r, "exclude");
    let group_by = f.optional_names(r, "group_by");
    let tolerance = match f.get("tolerance") {
        Some(n) => r.tolerances(n),
        None => Some(Vec::new()),
    };
    let statistics = match f.get("statistics") {
        Some(n) => statistics(n, r),
        None => Some(Vec::new()),
    };
    Some(RuleKind::ProfileMatch {
        source: source?,
        target: target?,
        columns: columns?,
        exclude: exclude?.into_iter().map(|c| c.value).collect(),
        group_by: group_by?,
        tolerance: tolerance?,
        statistics: statistics?,
    })
}

/// The names of `statistics:`, each one of [`PROFILE_STATISTICS`].
fn statistics(n: &Node, r: &mut Reader) -> Option<Vec<String>> {
    let names = r.words(n)?;
    let mut ok = true;
    for name in &names {
        if !PROFILE_STATISTICS.contains(&name.as_str()) {
            let help = did_you_mean(name, PROFILE_STATISTICS.iter().copied());
            let message = format!(
                "unknown statistic `{name}`: expected some of {}",
                PROFILE_STATISTICS.join(", ")
            );
            r.diags
                .push(Diagnostic::at(&n.loc(r.file), message).with_help(help));
            ok = false;
        }
    }
    ok.then_some(names)
}
