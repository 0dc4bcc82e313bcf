//! The rule language as data: every rule type, its fields, what each field holds and means.
//!
//! The parser checks rule files against this table (unknown fields, missing required
//! ones, fields of another type), and the JSON Schema for editors is generated from it,
//! so the two cannot drift apart.
//!
//! One module per rule type holds its entry: its fields, how they are read into its
//! [`RuleKind`] and the options that can never pass. Reading stays here, in the config
//! layer, because `validate` and the JSON Schema need it without the engine (which lies
//! above config and may not be named from it); what a type compiles to and how its result
//! is measured is its module under `engine/rules/`, one file per type again.

use std::collections::HashMap;

use super::fields::Reader;
use super::location::Located;
use super::rules::RuleContext;
use super::spec::{RuleKind, TableRef};
use super::yaml::Node;

mod accepted_values;
mod diff;
mod expect;
mod foreign_key;
mod freshness;
mod metric;
mod not_null;
mod profile_match;
mod query_match;
mod required_keys;
mod row_count;
mod row_count_match;
mod schema_match;
mod sql;
mod unique;

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Free text.
    Text,
    /// `SOURCE.TABLE` or `SOURCE.SCHEMA.TABLE` (unqualified with `on:`).
    Table,
    /// A table, or a whole source by its name.
    TableOrSource,
    /// A source name.
    Source,
    /// `SOURCE.TABLE(COL[, COL])`.
    KeyRef,
    /// One column name.
    Column,
    /// A list of column names (a single name is accepted too).
    Columns,
    /// A list of scalar values.
    Values,
    /// A SQL query (SELECT, WITH or VALUES).
    Query,
    /// A SQL boolean expression.
    Predicate,
    /// A file name under `queries/`.
    QueryFile,
    /// A non-negative integer.
    Count,
    /// An integer.
    Integer,
    /// An integer or a percentage such as `"0.5%"`.
    CountOrPercent,
    /// A duration such as `30m`, `24h`, `7d`.
    Duration,
    /// `error` or `warn`.
    Severity,
    /// A list of words.
    Tags,
    /// `{target_column: source_column}`.
    Rename,
    /// `{column: 0.01 | "0.1%"}`, `"*"` for every numeric column.
    Tolerances,
    /// `{trim, case_insensitive, empty_as_null: true/false, timezone: ZONE}`.
    Normalize,
    /// `auto`, `join` or `checksum`.
    Algorithm,
    /// A list of `{expr: SQL aggregate, min: NUMBER, max: NUMBER}`.
    Metrics,
}

/// One field of a rule.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
    pub doc: &'static str,
}

/// One rule type.
#[derive(Debug)]
pub struct RuleTypeDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub fields: &'static [FieldDef],
    /// For a type that reads no rows: why no row predicate (`where`, `source_where`,
    /// `target_where`) applies to it.
    pub rowless: Option<&'static str>,
    /// Reads the type's own fields into its [`RuleKind`]; `None` once a problem is recorded.
    pub parse: fn(&RuleInput, &mut Reader) -> Option<RuleKind>,
    /// Records the options of the type that can never pass (run with the checks common to
    /// every rule, see `satisfiable.rs`).
    pub check: fn(&RuleInput, &mut Reader),
}

/// One rule as written, for its type's `parse` and `check`.
pub struct RuleInput<'a> {
    /// The rule's name, for messages.
    pub rule: &'a str,
    pub fields: &'a HashMap<&'a str, &'a Node>,
    /// The source `on:` names, for unqualified tables.
    pub on: Option<&'a str>,
    pub ctx: &'a RuleContext<'a>,
}

impl RuleInput<'_> {
    pub fn get(&self, field: &str) -> Option<&Node> {
        self.fields.get(field).copied()
    }

    /// The table in `field`.
    pub fn table(&self, r: &mut Reader, field: &str) -> Option<TableRef> {
        self.get(field).and_then(|n| r.table(n, self.on))
    }

    /// The column names in `field`.
    pub fn names(&self, r: &mut Reader, field: &str) -> Option<Vec<Located<String>>> {
        self.get(field).and_then(|n| r.names(n))
    }

    /// The column names in an optional `field`: none when it is absent, `None` when it is
    /// written wrong (the reader has said why).
    pub fn optional_names(&self, r: &mut Reader, field: &str) -> Option<Vec<Located<String>>> {
        match self.get(field) {
            Some(n) => r.names(n),
            None => Some(Vec::new()),
        }
    }

    /// The column name in `field`.
    pub fn name(&self, r: &mut Reader, field: &str) -> Option<Located<String>> {
        self.get(field).and_then(|n| r.name(n))
    }
}

/// For types with no options that can never pass.
fn no_check(_: &RuleInput, _: &mut Reader) {}

const fn req(name: &'static str, shape: Shape, doc: &'static str) -> FieldDef {
    FieldDef {
        name,
        shape,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, shape: Shape, doc: &'static str) -> FieldDef {
    FieldDef {
        name,
        shape,
        required: false,
        doc,
    }
}

/// Fields every rule takes.
pub const COMMON_FIELDS: &[FieldDef] = &[
    req(
        "name",
        Shape::Text,
        "Unique name of the rule; used by reports and --select.",
    ),
    req("type", Shape::Text, "The rule type."),
    opt("description", Shape::Text, "Text shown in reports."),
    opt("severity", Shape::Severity, "`error` (default) or `warn`."),
    opt("tags", Shape::Tags, "Words that `--select tag:WORD` picks."),
    opt(
        "where",
        Shape::Predicate,
        "SQL predicate limiting the rows checked (both sides of a two-table rule).",
    ),
    opt(
        "max_violations",
        Shape::CountOrPercent,
        "Violations that still pass: an integer (default 0) or a percentage of the rows checked (\"0.5%\").",
    ),
    opt(
        "sample",
        Shape::Count,
        "Offending rows the report keeps (default from defaults.sample).",
    ),
    opt(
        "on",
        Shape::Source,
        "Source whose tables may be named without the source prefix.",
    ),
];

const SIDE_WHERE: [FieldDef; 2] = [
    opt(
        "source_where",
        Shape::Predicate,
        "SQL predicate for the source side only (replaces `where` there).",
    ),
    opt(
        "target_where",
        Shape::Predicate,
        "SQL predicate for the target side only (replaces `where` there).",
    ),
];

const DIFF_OPTIONS: [FieldDef; 7] = [
    req(
        "key",
        Shape::Columns,
        "Column(s) that identify a row on both sides; duplicate keys are their own category.",
    ),
    opt(
        "columns",
        Shape::Columns,
        "Non-key columns to compare (default: every column both sides share).",
    ),
    opt("exclude", Shape::Columns, "Non-key columns not to compare."),
    opt(
        "rename",
        Shape::Rename,
        "`{target_column: source_column}` for columns the migration renamed.",
    ),
    opt(
        "tolerance",
        Shape::Tolerances,
        "Per column: an absolute number (`0.01`) or a relative one (`\"0.1%\"`); `\"*\"` for every numeric column.",
    ),
    opt(
        "normalize",
        Shape::Normalize,
        "`trim`, `case_insensitive`, `empty_as_null` (true/false) and `timezone` (the zone naive timestamps are read in; default UTC).",
    ),
    opt(
        "algorithm",
        Shape::Algorithm,
        "`auto` (default), `join` (read both sides and merge) or `checksum` (hash key ranges inside each database).",
    ),
];

/// Every rule type, in the order they are listed to the user and in the JSON Schema.
/// A new rule type is one module here (its entry), and its engine module.
pub const RULE_TYPES: &[RuleTypeDef] = &[
    row_count::DEF,
    row_count_match::DEF,
    not_null::DEF,
    unique::DEF,
    accepted_values::DEF,
    expect::DEF,
    metric::DEF,
    profile_match::DEF,
    required_keys::DEF,
    foreign_key::DEF,
    sql::DEF,
    schema_match::DEF,
    freshness::DEF,
    diff::DEF,
    query_match::DEF,
];

/// Every rule type.
pub fn all_rule_types() -> impl Iterator<Item = &'static RuleTypeDef> {
    RULE_TYPES.iter()
}

/// The definition of a type name or alias.
pub fn rule_type(name: &str) -> Option<&'static RuleTypeDef> {
    all_rule_types().find(|t| t.name == name || t.aliases.contains(&name))
}

/// Every type name and alias, for suggestions.
pub fn all_type_names() -> impl Iterator<Item = &'static str> {
    all_rule_types().flat_map(|t| std::iter::once(t.name).chain(t.aliases.iter().copied()))
}

/// The definition of a field of `rule_type`, common fields included.
pub fn field(rule_type: &RuleTypeDef, name: &str) -> Option<&'static FieldDef> {
    COMMON_FIELDS
        .iter()
        .chain(rule_type.fields)
        .find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fields_do_not_shadow_common_ones() {
        let mut names: Vec<_> = all_type_names().collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all_type_names().count());
        for t in all_rule_types() {
            for f in t.fields {
                assert!(
                    COMMON_FIELDS.iter().all(|c| c.name != f.name),
                    "{}.{}",
                    t.name,
                    f.name
                );
            }
        }
        assert_eq!(rule_type("orphans").map(|t| t.name), Some("foreign_key"));
    }

    /// A type that reads no rows refuses every row predicate, at the key written.
    #[test]
    fn a_rowless_type_refuses_row_predicates() {
        let (rules, diags) = crate::config::rules::parse_for_test(
            "rules:
  - {name: s, type: schema_match, source: prod, target: staging,
     where: id > 1, target_where: id > 2}
",
        );
        assert!(rules.is_empty());
        let text = diags.to_string();
        for key in ["where", "target_where"] {
            let expected = format!(
                "field `{key}` does not apply to `schema_match` rules (they compare column lists, \
                 not rows)"
            );
            assert!(text.contains(&expected), "{expected}\n{text}");
        }
        assert!(text.contains("rules/test.yaml:3:6"), "{text}");
    }
}
