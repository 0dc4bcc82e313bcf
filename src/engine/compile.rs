//! Rules compiled into the SQL they run. Pure: no session, no I/O, so `explain` and tests
//! can show exactly what will run.

use super::rules::{self, CHECKED, Compiled, violation_column};
use crate::config::location::Located;
use crate::config::{RuleSpec, TableName, TableOrSource};
use crate::kernel::sqlgen::{from_where, table};

/// Rules reading the same table with the same `where` share one scan.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScanKey {
    pub table: TableName,
    pub predicate: Option<String>,
}

impl ScanKey {
    pub fn from_sql(&self) -> String {
        from_where(&table(&self.table), self.predicate.as_deref())
    }
}

/// What a rule computes: the shape of the work the engine schedules. What each shape's
/// result means is the rule type's (`rules/`).
#[derive(Clone, Debug)]
pub enum Plan {
    /// A per-row predicate counted in its table's shared scan (`not_null`, `accepted_values`,
    /// `expect`); `violation` is true on offending rows.
    RowPredicate { scan: ScanKey, violation: String },
    /// The row count of a scan (`row_count`).
    RowCount { scan: ScanKey },
    /// One query returning a single row with `checked` and `violations` (and extras the rule
    /// type reads), plus a query for the offending rows.
    Counts {
        count_sql: String,
        sample_sql: String,
    },
    /// Column lists of tables compared.
    Schema {
        source: TableOrSource,
        target: TableOrSource,
        ignore: Vec<String>,
    },
    /// Two sides compared row by row (`diff`, `query_match`).
    Diff {
        source: crate::diff::Side,
        target: crate::diff::Side,
        options: crate::config::DiffOptions,
    },
    /// Per-column statistics of two tables, whose queries are built from the tables' columns
    /// when the rule runs (`profile_match`).
    Profile,
    /// One query whose first row the rule type reads (`freshness`: the newest value).
    Row { label: &'static str, sql: String },
}

/// A rule ready to run.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub spec: RuleSpec,
    pub plan: Plan,
    /// The session's default source, for `sql` rules with `on:`.
    pub on: Option<String>,
    /// The table whose columns the sample shows, for masking sensitive values.
    pub sample_origin: Option<(String, String)>,
}

/// The plan of `spec`, by its rule type.
pub fn compile(spec: &RuleSpec) -> CompiledRule {
    let Compiled {
        plan,
        sample_origin,
        on,
    } = rules::of(&spec.kind).compile(spec);
    CompiledRule {
        spec: spec.clone(),
        plan,
        on,
        sample_origin,
    }
}

/// `where` / `source_where` of a rule: the predicate of its (first or only) side.
pub fn source_where(spec: &RuleSpec) -> Option<String> {
    spec.source_where.as_ref().map(|w| w.text.clone())
}

/// `where` / `target_where` of a rule: the predicate of its second side.
pub fn target_where(spec: &RuleSpec) -> Option<String> {
    spec.target_where.as_ref().map(|w| w.text.clone())
}

/// The scan of `table` under the rule's `where`.
pub fn scan(spec: &RuleSpec, table: &TableName) -> ScanKey {
    ScanKey {
        table: table.clone(),
        predicate: source_where(spec),
    }
}

/// The names of columns as written.
pub fn column_names(columns: &[Located<String>]) -> Vec<String> {
    columns.iter().map(|c| c.value.clone()).collect()
}

/// The batched scan query: `checked` plus one violation count per predicate (`v0`, `v1`…).
pub fn scan_sql(scan: &ScanKey, predicates: &[&str]) -> String {
    let mut columns = vec![format!("count(*) AS {CHECKED}")];
    for (i, p) in predicates.iter().enumerate() {
        let v = violation_column(i);
        columns.push(format!("count(CASE WHEN ({p}) THEN 1 END) AS {v}"));
    }
    format!("SELECT {} {}", columns.join(", "), scan.from_sql())
}

/// Offending rows of a row predicate.
pub fn predicate_sample_sql(scan: &ScanKey, violation: &str) -> String {
    let predicate = match &scan.predicate {
        Some(w) => format!("({w}) AND ({violation})"),
        None => format!("({violation})"),
    };
    format!("SELECT * FROM {} WHERE {predicate}", table(&scan.table))
}

/// One query of a rule, for `explain` and `validate --connect`.
#[derive(Clone, Debug)]
pub struct RuleQuery {
    pub label: &'static str,
    pub sql: String,
    /// Offending rows: sorted by every column, then limited to this many.
    pub sample_limit: Option<usize>,
}

impl CompiledRule {
    /// Every query the rule runs, in order.
    pub fn queries(&self) -> Vec<RuleQuery> {
        let query = |label, sql: &str| RuleQuery {
            label,
            sql: sql.to_string(),
            sample_limit: None,
        };
        let sample = |sql: &str| RuleQuery {
            label: "offending rows",
            sql: sql.to_string(),
            sample_limit: Some(self.spec.sample),
        };
        match &self.plan {
            Plan::RowPredicate { scan, violation } => {
                vec![
                    query("counts", &scan_sql(scan, &[violation])),
                    sample(&predicate_sample_sql(scan, violation)),
                ]
            }
            Plan::RowCount { scan, .. } => vec![query("row count", &scan_sql(scan, &[]))],
            Plan::Counts {
                count_sql,
                sample_sql,
                ..
            } => vec![query("counts", count_sql), sample(sample_sql)],
            Plan::Row { label, sql } => vec![query(label, sql)],
            Plan::Schema { .. } | Plan::Profile => vec![],
            Plan::Diff { source, target, .. } => [("source side", source), ("target side", target)]
                .into_iter()
                .map(|(label, side)| match side {
                    crate::diff::Side::Table {
                        table: t,
                        predicate,
                    } => query(
                        label,
                        &format!("SELECT * {}", from_where(&table(t), predicate.as_deref())),
                    ),
                    crate::diff::Side::Query { sql, .. } => query(label, sql),
                })
                .collect(),
        }
    }

    /// Where a planning error is best shown: the user's SQL if the rule has some.
    pub fn sql_loc(&self) -> &crate::config::location::Loc {
        match self.sql_texts().first() {
            Some(text) => &text.loc,
            None => &self.spec.name.loc,
        }
    }

    /// The SQL the user wrote for the rule: its type's own (a query, a condition), then its
    /// `where`s.
    pub fn sql_texts(&self) -> Vec<&crate::config::SqlText> {
        let kind = &self.spec.kind;
        rules::of(kind)
            .sql_text(kind)
            .into_iter()
            .chain(&self.spec.source_where)
            .chain(&self.spec.target_where)
            .collect()
    }
}

/// The compiled SQL run in a real DataFusion session over small tables whose every row is
/// there for a reason: what each rule counts as checked and as violations.
#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::prelude::SessionContext;

    use super::*;

    fn compiled(yaml: &str) -> Vec<CompiledRule> {
        let (rules, diags) = crate::config::rules::parse_for_test(yaml);
        assert!(diags.is_empty(), "{diags}");
        rules.iter().map(compile).collect()
    }

    async fn session() -> SessionContext {
        let ctx = crate::kernel::new_session();
        for sql in [
            "CREATE SCHEMA prod",
            "CREATE SCHEMA staging",
            // A duplicated email (a, twice), one without an email, kinds x, y and NULL.
            "CREATE TABLE prod.users AS SELECT * FROM (VALUES
               (1, 'a', 'x', 'de'), (2, 'a', 'y', 'de'), (3, 'b', NULL, 'fr'),
               (4, NULL, 'z', NULL)) AS v(id, email, kind, country)",
            "CREATE TABLE staging.users AS SELECT * FROM (VALUES
               (1, 'de'), (2, 'de'), (3, 'fr'), (5, 'it')) AS v(id, country)",
            // Order 11's user is missing, order 12 has no user (not checked).
            "CREATE TABLE prod.orders AS SELECT * FROM (VALUES
               (10, 1), (11, 9), (12, CAST(NULL AS BIGINT))) AS v(id, user_id)",
        ] {
            ctx.sql(sql).await.unwrap().collect().await.unwrap();
        }
        ctx
    }

    /// The named columns of the one row `sql` returns (NULL as -1).
    async fn row(ctx: &SessionContext, sql: &str, columns: &[&str]) -> Vec<i64> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let batch = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
        columns
            .iter()
            .map(|name| {
                let column = batch
                    .column_by_name(name)
                    .unwrap_or_else(|| panic!("{name}"));
                let column = datafusion::arrow::compute::cast(
                    column,
                    &datafusion::arrow::datatypes::DataType::Int64,
                )
                .unwrap();
                let values = column.as_primitive::<Int64Type>();
                if values.is_null(0) {
                    -1
                } else {
                    values.value(0)
                }
            })
            .collect()
    }

    /// `(checked, violations)` of a rule, as the engine reads them.
    async fn counts(ctx: &SessionContext, rule: &CompiledRule) -> Vec<i64> {
        match &rule.plan {
            Plan::RowPredicate { scan, violation } => {
                row(ctx, &scan_sql(scan, &[violation]), &["checked", "v0"]).await
            }
            Plan::Counts { count_sql, .. } => row(ctx, count_sql, &["checked", "violations"]).await,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn each_rule_counts_what_it_checks_and_what_violates() {
        let ctx = session().await;
        let rules = compiled(
            "rules:
  - {name: nn, type: not_null, table: prod.users, columns: [email, country]}
  - {name: av, type: accepted_values, table: prod.users, column: kind, values: [x, y]}
  - {name: ex, type: expect, table: prod.users, condition: id < 3 OR kind = 'z'}
  - {name: un, type: unique, table: prod.users, columns: [email]}
  - {name: fk, type: foreign_key, child: prod.orders(user_id), parent: prod.users(id)}
  - {name: rc, type: row_count_match, source: prod.users, target: staging.users}
  - {name: gr, type: row_count_match, source: prod.users, target: staging.users,
     group_by: [country]}
",
        );
        let mut got = Vec::new();
        for rule in &rules {
            got.push((rule.spec.name.value.clone(), counts(&ctx, rule).await));
        }
        let expected = [
            // Row 4 lacks both: one violating row, not two.
            ("nn", vec![4, 1]),
            // NULL is not a value outside the list; z is.
            ("av", vec![4, 1]),
            // Row 3's condition is NULL (kind NULL): not known to hold, a violation.
            ("ex", vec![4, 1]),
            // Rows without an email are not checked; both rows of `a` violate.
            ("un", vec![3, 2]),
            // The order without a user is not checked.
            ("fk", vec![2, 1]),
            // 4 rows against 4: one comparison, equal.
            ("rc", vec![1, 0]),
            // de 2/2, fr 1/1, NULL 1/0 and it 0/1 differ.
            ("gr", vec![4, 2]),
        ];
        let expected: Vec<(String, Vec<i64>)> = expected
            .iter()
            .map(|(n, c)| (n.to_string(), c.clone()))
            .collect();
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn rules_on_one_table_share_one_scan_with_a_count_each() {
        let ctx = session().await;
        let rules = compiled(
            "rules:
  - {name: a, type: not_null, table: prod.users, columns: [email]}
  - {name: b, type: not_null, table: prod.users, columns: [kind]}
  - {name: c, type: row_count, table: prod.users, where: country = 'de'}
",
        );
        let predicates: Vec<(&ScanKey, &str)> = rules
            .iter()
            .filter_map(|r| match &r.plan {
                Plan::RowPredicate { scan, violation } => Some((scan, violation.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            predicates[0].0, predicates[1].0,
            "same table, same where: one scan"
        );
        let violations: Vec<&str> = predicates.iter().map(|(_, v)| *v).collect();
        let sql = scan_sql(predicates[0].0, &violations);
        assert_eq!(row(&ctx, &sql, &["checked", "v0", "v1"]).await, [4, 1, 1]);
        let Plan::RowCount { scan, .. } = &rules[2].plan else {
            panic!("{:?}", rules[2].plan)
        };
        assert_ne!(scan, predicates[0].0, "another where: another scan");
        assert_eq!(row(&ctx, &scan_sql(scan, &[]), &["checked"]).await, [2]);
    }

    #[tokio::test]
    async fn offending_rows_are_the_ones_counted() {
        let ctx = session().await;
        let rules = compiled(
            "rules:
  - {name: un, type: unique, table: prod.users, columns: [email]}
  - {name: fk, type: foreign_key, child: prod.orders(user_id), parent: prod.users(id)}
",
        );
        let mut sampled = Vec::new();
        for rule in &rules {
            let sample = &rule.queries()[1];
            assert_eq!(sample.label, "offending rows");
            let batches = ctx.sql(&sample.sql).await.unwrap().collect().await.unwrap();
            sampled.push(batches.iter().map(|b| b.num_rows()).sum::<usize>());
        }
        // One duplicated key (`a`, listed once with its count), one orphan order.
        assert_eq!(sampled, [1, 1]);
    }
}
