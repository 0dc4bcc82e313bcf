//! The rule language as data: every rule type, its fields, what each field holds and means.
//!
//! The parser checks rule files against this table (unknown fields, missing required
//! ones, fields of another type), and the JSON Schema for editors is generated from it,
//! so the two cannot drift apart.

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
}

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

pub const RULE_TYPES: &[RuleTypeDef] = &[
    RuleTypeDef {
        name: "row_count",
        aliases: &[],
        doc: "1 violation when the table's row count is outside [min, max].",
        fields: &[
            req("table", Shape::Table, "The table to count."),
            opt("min", Shape::Integer, "Smallest acceptable count."),
            opt("max", Shape::Integer, "Largest acceptable count."),
        ],
    },
    RuleTypeDef {
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
    },
    RuleTypeDef {
        name: "not_null",
        aliases: &[],
        doc: "Rows with a NULL in any listed column.",
        fields: &[
            req("table", Shape::Table, "The table to check."),
            req("columns", Shape::Columns, "Columns that must not be NULL."),
        ],
    },
    RuleTypeDef {
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
    },
    RuleTypeDef {
        name: "accepted_values",
        aliases: &[],
        doc: "Rows whose non-NULL value is not one of `values`.",
        fields: &[
            req("table", Shape::Table, "The table to check."),
            req("column", Shape::Column, "The column to check."),
            req("values", Shape::Values, "The accepted values."),
        ],
    },
    RuleTypeDef {
        name: "expect",
        aliases: &[],
        doc: "Rows where the condition is false or NULL.",
        fields: &[
            req("table", Shape::Table, "The table to check."),
            req(
                "condition",
                Shape::Predicate,
                "SQL boolean every row must satisfy.",
            ),
        ],
    },
    RuleTypeDef {
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
    },
    RuleTypeDef {
        name: "sql",
        aliases: &[],
        doc: "Rows the query returns.",
        fields: &[
            opt(
                "sql",
                Shape::Query,
                "The query, inline (give `sql` or `query`).",
            ),
            opt(
                "query",
                Shape::QueryFile,
                "A file under queries/ holding the query.",
            ),
        ],
    },
    RuleTypeDef {
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
    },
    RuleTypeDef {
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
    },
];

/// Rule types that compare two sides row by row.
pub const DIFF_TYPES: &[RuleTypeDef] = &[
    RuleTypeDef {
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
    },
    RuleTypeDef {
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
    },
];

/// Every rule type, the row-level diffs included.
pub fn all_rule_types() -> impl Iterator<Item = &'static RuleTypeDef> {
    RULE_TYPES.iter().chain(DIFF_TYPES)
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
}
