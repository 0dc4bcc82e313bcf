//! One module per rule type, each a [`RuleType`]: the tables and columns it names (checked
//! before it runs), the [`Plan`] it compiles to, and how what that plan returns becomes a
//! [`Measure`]. Reading a type's fields from YAML is its module under
//! `config/rule_types/`: the config layer lies below the engine and cannot name it.
//!
//! A new rule type is a variant of [`RuleKind`] (its fields, as read), its module there with
//! its entry in `RULE_TYPES`, and a module here with its arm in [`of`].

use crate::engine::error::{RuleError, RuleResult};
use async_trait::async_trait;

use super::compile::{CompiledRule, Plan};
use super::measure::MeasureContext;
use super::outcome::Measure;
use crate::config::SqlText;
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableRef};

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

/// The result column of every count query: what a percentage `max_violations` is of.
pub const CHECKED: &str = "checked";
/// The result column of a `Counts` plan's query counting the violations.
pub const VIOLATIONS: &str = "violations";

/// The result column of a shared scan counting the violations of its `i`th predicate.
pub fn violation_column(i: usize) -> String {
    format!("v{i}")
}

/// What the engine compiles and measures a rule type by.
#[async_trait]
pub trait RuleType: Sync {
    /// The tables the rule reads, each with the columns of it the rule names, in the order
    /// written: checked to exist before the rule runs.
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])>;

    /// The tables (or sources) the rule reads, as reports and `list` show them.
    fn tables(&self, kind: &RuleKind) -> Vec<String> {
        self.names(kind)
            .iter()
            .map(|(t, _)| t.value.to_string())
            .collect()
    }

    /// Where a planning error is best shown, when the rule holds SQL of the user's own.
    fn sql_text<'a>(&self, _kind: &'a RuleKind) -> Option<&'a SqlText> {
        None
    }

    /// The plan of `spec` (whose kind is this type's), pure: no session, no I/O.
    fn compile(&self, spec: &RuleSpec) -> Compiled;

    /// Every query the rule runs, for `explain` and for planning it before it runs: known
    /// from the rule alone, except for a type whose queries are built from its tables'
    /// columns.
    async fn queries(
        &self,
        _ctx: &datafusion::prelude::SessionContext,
        rule: &CompiledRule,
    ) -> RuleResult<Vec<super::compile::RuleQuery>> {
        Ok(rule.queries())
    }

    /// Runs a plan of its own (`Counts`, `Row`, `Schema`, `Diff`) and reads the result.
    async fn measure(&self, _m: &MeasureContext<'_>, _rule: &CompiledRule) -> RuleResult<Measure> {
        Err(RuleError::Internal(
            "a shared-scan rule was run alone".into(),
        ))
    }

    /// Reads what the shared scan of its table counted: `checked` rows and, for a
    /// `RowPredicate`, the rows its predicate matched — a row predicate's measure unless the
    /// type says otherwise (any other plan is a bug there).
    async fn measure_scanned(
        &self,
        m: &MeasureContext<'_>,
        rule: &CompiledRule,
        checked: u64,
        violations: Option<u64>,
    ) -> RuleResult<Measure> {
        crate::engine::measure::row_predicate(m, &rule.plan, checked, violations).await
    }
}

/// What a rule type compiles a rule to.
pub struct Compiled {
    pub plan: Plan,
    /// The table whose columns the sample shows, for masking sensitive values.
    pub sample_origin: Option<(String, String)>,
    /// The session's default source, for `sql` rules with `on:`.
    pub on: Option<String>,
}

impl Compiled {
    pub fn new(plan: Plan) -> Self {
        Self {
            plan,
            sample_origin: None,
            on: None,
        }
    }

    /// Samples show rows of `table`.
    pub fn sampling(self, table: &crate::config::TableName) -> Self {
        Self {
            sample_origin: Some((table.source.clone(), table.table.clone())),
            ..self
        }
    }
}

/// The rule type of a rule.
pub fn of(kind: &RuleKind) -> &'static dyn RuleType {
    match kind {
        RuleKind::RowCount { .. } => &row_count::RowCount,
        RuleKind::RowCountMatch { .. } => &row_count_match::RowCountMatch,
        RuleKind::NotNull { .. } => &not_null::NotNull,
        RuleKind::Unique { .. } => &unique::Unique,
        RuleKind::AcceptedValues { .. } => &accepted_values::AcceptedValues,
        RuleKind::Metric { .. } => &metric::MetricRule,
        RuleKind::ProfileMatch { .. } => &profile_match::ProfileMatch,
        RuleKind::RequiredKeys { .. } => &required_keys::RequiredKeys,
        RuleKind::Expect { .. } => &expect::Expect,
        RuleKind::ForeignKey { .. } => &foreign_key::ForeignKey,
        RuleKind::Sql { .. } => &sql::Sql,
        RuleKind::SchemaMatch { .. } => &schema_match::SchemaMatch,
        RuleKind::Freshness { .. } => &freshness::Freshness,
        RuleKind::Diff { .. } => &diff::Diff,
        RuleKind::QueryMatch { .. } => &query_match::QueryMatch,
    }
}

/// Every query `rule` runs, as its type builds them.
pub async fn queries(
    ctx: &datafusion::prelude::SessionContext,
    rule: &CompiledRule,
) -> RuleResult<Vec<super::compile::RuleQuery>> {
    of(&rule.spec.kind).queries(ctx, rule).await
}

/// A rule given to the module of another type: [`of`] maps each kind to its own module,
/// so this is a bug.
fn wrong_kind(module: &str, spec: &RuleSpec) -> RuleError {
    RuleError::Internal(format!(
        "the `{module}` rule type was given `{}` rule `{}`",
        spec.type_name, spec.name.value
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rule_types::all_rule_types;

    /// A rule of every type in the config table reaches its own module here: it compiles
    /// (a module given another type's kind would stop), and no type is left out.
    #[test]
    fn every_rule_type_of_the_config_table_has_its_module() {
        let (rules, diags) = crate::config::rules::parse_for_test(
            "rules:
  - {name: a, type: row_count, table: prod.users, min: 1}
  - {name: b, type: row_count_match, source: staging.users, target: prod.users}
  - {name: c, type: not_null, table: prod.users, columns: [id]}
  - {name: d, type: unique, table: prod.users, columns: [id]}
  - {name: e, type: accepted_values, table: prod.users, column: kind, values: [x]}
  - {name: f, type: expect, table: prod.users, condition: id > 0}
  - {name: g, type: orphans, child: prod.orders(user_id), parent: prod.users(id)}
  - {name: h, type: sql, sql: SELECT 1 AS x, on: prod}
  - {name: i, type: schema_match, source: staging, target: prod.users}
  - {name: j, type: freshness, table: prod.users, column: at, max_age: 1d}
  - {name: k, type: diff, source: staging.users, target: prod.users, key: [id]}
  - {name: l, type: query_match, sql: SELECT 1 AS id, source: staging, target: prod, key: [id]}
  - {name: m, type: metric, table: prod.users, metrics: [{expr: count(*), min: 1}]}
  - {name: n, type: profile_match, source: staging.users, target: prod.users}
  - {name: o, type: required_keys, table: prod.entries, keys: [DATABASE_URL]}
",
        );
        assert!(diags.is_empty(), "{diags}");
        let mut compiled: Vec<&str> = rules
            .iter()
            .map(|r| {
                crate::engine::compile::compile(r);
                r.type_name
            })
            .collect();
        let mut listed: Vec<&str> = all_rule_types().map(|t| t.name).collect();
        compiled.sort();
        listed.sort();
        assert_eq!(compiled, listed);
        let tables: Vec<Vec<String>> = rules.iter().map(crate::engine::rule_tables).collect();
        assert_eq!(tables[7], ["prod"]);
        assert_eq!(tables[8], ["staging", "prod.users"]);
        assert_eq!(tables[11], ["staging", "prod"]);
        assert_eq!(tables[6], ["prod.orders", "prod.users"]);
    }

    /// The shared scan names its counts with the columns measurement reads.
    #[test]
    fn the_scan_query_names_its_counts_as_they_are_read() {
        let scan = crate::engine::compile::ScanKey {
            table: crate::config::TableName {
                source: "prod".into(),
                schema: None,
                table: "users".into(),
            },
            predicate: None,
        };
        let sql = crate::engine::compile::scan_sql(&scan, &["a", "b"]);
        for column in [
            CHECKED.to_string(),
            violation_column(0),
            violation_column(1),
        ] {
            assert!(sql.contains(&format!("AS {column}")), "{column}: {sql}");
        }
    }
}
