//! `schema_match`: the column lists (and constraints) of two tables or two whole sources.

use super::{RuleInput, RuleTypeDef, Shape, no_check, opt, req};
use crate::config::diagnostic::{Diagnostic, did_you_mean};
use crate::config::fields::Reader;
use crate::config::location::Located;
use crate::config::spec::{RuleKind, TableOrSource};
use crate::config::yaml::Node;

pub const DEF: RuleTypeDef = RuleTypeDef {
    name: "schema_match",
    aliases: &[],
    doc: "Differences between two tables or two whole sources: missing and extra tables and columns, types, nullability and (between databases) primary key, unique and foreign key constraints.",
    fields: &[
        req(
            "source",
            Shape::TableOrSource,
            "A table, or a source for all its tables.",
        ),
        req(
            "target",
            Shape::TableOrSource,
            "A table, or a source for all its tables.",
        ),
        opt(
            "ignore",
            Shape::Tags,
            "Accepted differences: globs over the object a difference names (`users.legacy_*`, `audit_log`).",
        ),
    ],
    rowless: Some("they compare column lists, not rows"),
    parse,
    check: no_check,
};

fn parse(f: &RuleInput, r: &mut Reader) -> Option<RuleKind> {
    let source = f.get("source").and_then(|n| table_or_source(n, f.on, r));
    let target = f.get("target").and_then(|n| table_or_source(n, f.on, r));
    let ignore = f.get("ignore").and_then(|n| r.words(n)).unwrap_or_default();
    Some(RuleKind::SchemaMatch {
        source: source?,
        target: target?,
        ignore,
    })
}

fn table_or_source(node: &Node, on: Option<&str>, r: &mut Reader) -> Option<TableOrSource> {
    match node.as_str() {
        Some(s) if !s.contains('.') && r.sources.iter().any(|x| x == s) => Some(
            TableOrSource::Source(Located::new(s.to_string(), node.loc(r.file))),
        ),
        // A bare word where a source may stand is most likely a misspelt source, not a
        // table missing its source.
        Some(s) if !s.contains('.') && on.is_none() => {
            let help = did_you_mean(s.trim(), r.sources.iter().map(String::as_str));
            r.diags.push(
                Diagnostic::at(
                    &node.loc(r.file),
                    format!(
                        "`{s}` is neither a source (sources: {}) nor a table `SOURCE.TABLE`",
                        r.sources.join(", ")
                    ),
                )
                .with_help(help),
            );
            None
        }
        _ => r.table(node, on).map(TableOrSource::Table),
    }
}
