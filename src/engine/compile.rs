//! Rules compiled into the SQL they run. Pure: no session, no I/O, so `explain` and tests
//! can show exactly what will run.

use std::time::Duration;

use crate::config::{CountOrPercent, RuleKind, RuleSpec, TableName, TableOrSource};

use crate::kernel::sqlgen::{all_not_null, from_where, ident, in_list, strip_semicolons, table};

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

/// What a rule computes.
#[derive(Clone, Debug)]
pub enum Plan {
    /// A per-row predicate counted in its table's shared scan (`not_null`, `accepted_values`,
    /// `expect`); `violation` is true on offending rows.
    RowPredicate { scan: ScanKey, violation: String },
    /// The row count of a scan (`row_count`).
    RowCount {
        scan: ScanKey,
        min: Option<i64>,
        max: Option<i64>,
    },
    /// One query returning a single row with `checked` and `violations` (and extras), plus a
    /// query for the offending rows.
    Counts {
        kind: CountsKind,
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
    /// The newest value of a column compared with the clock.
    Freshness {
        sql: String,
        /// The column read, to mask its value when it is sensitive.
        column: String,
        max_age: Duration,
        max_age_text: String,
    },
}

/// How to read a `Counts` plan's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountsKind {
    Unique,
    RowCountMatch { grouped: bool },
    ForeignKey,
    Sql,
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

pub fn compile(spec: &RuleSpec) -> CompiledRule {
    let source_where = spec.source_where.as_ref().map(|w| w.text.clone());
    let target_where = spec.target_where.as_ref().map(|w| w.text.clone());
    let scan = |t: &TableName| ScanKey {
        table: t.clone(),
        predicate: source_where.clone(),
    };
    let origin = |t: &TableName| Some((t.source.clone(), t.table.clone()));
    let names = |cols: &[crate::config::location::Located<String>]| {
        cols.iter().map(|c| c.value.clone()).collect::<Vec<_>>()
    };
    let (plan, sample_origin, on) = match &spec.kind {
        RuleKind::RowCount { table, min, max } => (
            Plan::RowCount {
                scan: scan(table),
                min: *min,
                max: *max,
            },
            None,
            None,
        ),
        RuleKind::NotNull { table, columns } => {
            let violation = names(columns)
                .iter()
                .map(|c| format!("{} IS NULL", ident(c)))
                .collect::<Vec<_>>()
                .join(" OR ");
            (
                Plan::RowPredicate {
                    scan: scan(table),
                    violation,
                },
                origin(table),
                None,
            )
        }
        RuleKind::AcceptedValues {
            table,
            column,
            values,
        } => {
            let violation = format!(
                "{} IS NOT NULL AND NOT ({})",
                ident(column),
                in_list(column, values)
            );
            (
                Plan::RowPredicate {
                    scan: scan(table),
                    violation,
                },
                origin(table),
                None,
            )
        }
        RuleKind::Expect { table, condition } => {
            // NULL counts as false: a row passes only when the condition is known to hold.
            let violation = format!("NOT coalesce(({}), false)", condition.text);
            (
                Plan::RowPredicate {
                    scan: scan(table),
                    violation,
                },
                origin(table),
                None,
            )
        }
        RuleKind::Unique { table: t, columns } => {
            (unique_plan(&scan(t), &names(columns)), origin(t), None)
        }
        RuleKind::RowCountMatch {
            source,
            target,
            group_by,
            tolerance,
        } => {
            let plan = row_count_match_plan(
                source,
                target,
                &names(group_by),
                *tolerance,
                &source_where,
                &target_where,
            );
            (plan, None, None)
        }
        RuleKind::ForeignKey { child, parent } => {
            let plan = foreign_key_plan(
                &child.table,
                &names(&child.columns),
                &parent.table,
                &names(&parent.columns),
                &source_where,
                &target_where,
            );
            (plan, origin(&child.table), None)
        }
        RuleKind::Sql { query, on } => {
            let inner = strip_semicolons(&query.text);
            let filtered = match &source_where {
                Some(w) => format!("SELECT * FROM ({inner}) AS rule_result WHERE ({w})"),
                None => format!("SELECT * FROM ({inner}) AS rule_result"),
            };
            let count_sql = format!(
                "SELECT count(*) AS checked, count(*) AS violations FROM ({filtered}) AS counted"
            );
            let sample_sql = filtered.clone();
            (
                Plan::Counts {
                    kind: CountsKind::Sql,
                    count_sql,
                    sample_sql,
                },
                None,
                on.clone(),
            )
        }
        RuleKind::Diff {
            source,
            target,
            options,
        } => {
            let side = |t: &TableName, predicate: &Option<String>| crate::diff::Side::Table {
                table: t.clone(),
                predicate: predicate.clone(),
            };
            let plan = Plan::Diff {
                source: side(source, &source_where),
                target: side(target, &target_where),
                options: options.clone(),
            };
            (plan, origin(source), None)
        }
        RuleKind::QueryMatch {
            query,
            source,
            target,
            options,
        } => {
            let sql = strip_semicolons(&query.text).to_string();
            // `where` limits the result rows compared, on each side.
            let filtered = |w: &Option<String>| match w {
                Some(w) => format!("SELECT * FROM ({sql}) AS result WHERE ({w})"),
                None => sql.clone(),
            };
            let (source_sql, target_sql) = (filtered(&source_where), filtered(&target_where));
            let side = |s: &str, sql: &String| crate::diff::Side::Query {
                source: s.to_string(),
                sql: sql.clone(),
            };
            let plan = Plan::Diff {
                source: side(source, &source_sql),
                target: side(target, &target_sql),
                options: options.clone(),
            };
            (plan, None, None)
        }
        RuleKind::SchemaMatch {
            source,
            target,
            ignore,
        } => (
            Plan::Schema {
                source: source.clone(),
                target: target.clone(),
                ignore: ignore.clone(),
            },
            None,
            None,
        ),
        RuleKind::Freshness {
            table: t,
            column,
            max_age,
            max_age_text,
        } => {
            let sql = format!(
                "SELECT max({c}) AS newest, count({c}) AS checked {from}",
                c = ident(column),
                from = scan(t).from_sql()
            );
            (
                Plan::Freshness {
                    sql,
                    column: column.value.clone(),
                    max_age: *max_age,
                    max_age_text: max_age_text.clone(),
                },
                origin(t),
                None,
            )
        }
    };
    CompiledRule {
        spec: spec.clone(),
        plan,
        on,
        sample_origin,
    }
}

/// `checked`: rows with a complete key; `violations`: rows whose key occurs more than once.
fn unique_plan(scan: &ScanKey, key: &[String]) -> Plan {
    let cols = key.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
    let predicate = match &scan.predicate {
        Some(w) => format!("({w}) AND {}", all_not_null(key, "")),
        None => all_not_null(key, ""),
    };
    let grouped = format!(
        "SELECT {cols}, count(*) AS occurrences FROM {} WHERE {predicate} GROUP BY {cols}",
        table(&scan.table)
    );
    let count_sql = format!(
        "SELECT sum(occurrences) AS checked, \
         sum(CASE WHEN occurrences > 1 THEN occurrences ELSE 0 END) AS violations, \
         count(CASE WHEN occurrences > 1 THEN 1 END) AS duplicate_keys FROM ({grouped}) AS keys"
    );
    let sample_sql = format!("{grouped} HAVING count(*) > 1");
    Plan::Counts {
        kind: CountsKind::Unique,
        count_sql,
        sample_sql,
    }
}

fn row_count_match_plan(
    source: &TableName,
    target: &TableName,
    group_by: &[String],
    tolerance: CountOrPercent,
    source_where: &Option<String>,
    target_where: &Option<String>,
) -> Plan {
    // Counts of both sides stacked and summed per group: GROUP BY treats NULL groups as
    // equal, needs no join (PostgreSQL cannot FULL JOIN on IS NOT DISTINCT FROM), and a
    // group missing on one side simply sums to 0 there.
    let cols = group_by
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let (select_groups, group_clause) = if group_by.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("{cols}, "), format!(" GROUP BY {cols}"))
    };
    let side = |t: &TableName, w: &Option<String>, is_source: bool| {
        let from = from_where(&table(t), w.as_deref());
        let (s, t) = if is_source {
            ("count(*)", "0")
        } else {
            ("0", "count(*)")
        };
        format!(
            "SELECT {select_groups}{s} AS source_count, {t} AS target_count {from}{group_clause}"
        )
    };
    let joined = format!(
        "SELECT {select_groups}sum(source_count) AS source_count, sum(target_count) AS target_count \
         FROM ({} UNION ALL {}) AS sides{group_clause}",
        side(source, source_where, true),
        side(target, target_where, false)
    );
    let beyond = match tolerance {
        CountOrPercent::Count(n) => format!("abs(source_count - target_count) > {n}"),
        CountOrPercent::Percent(p) => {
            format!(
                "CAST(abs(source_count - target_count) AS DOUBLE) > {:?} * source_count",
                p / 100.0
            )
        }
    };
    // A group that vanished from one side is always reported, whatever the tolerance.
    let differs = if group_by.is_empty() {
        format!("({beyond})")
    } else {
        format!("(({beyond}) OR ((source_count = 0) <> (target_count = 0)))")
    };
    let with = format!("WITH j AS ({joined})");
    let count_sql = format!(
        "{with} SELECT count(*) AS checked, count(CASE WHEN {differs} THEN 1 END) AS violations, \
         sum(source_count) AS source_rows, sum(target_count) AS target_rows FROM j"
    );
    let sample_sql = format!("{with} SELECT * FROM j WHERE {differs}");
    Plan::Counts {
        kind: CountsKind::RowCountMatch {
            grouped: !group_by.is_empty(),
        },
        count_sql,
        sample_sql,
    }
}

fn foreign_key_plan(
    child: &TableName,
    child_key: &[String],
    parent: &TableName,
    parent_key: &[String],
    child_where: &Option<String>,
    parent_where: &Option<String>,
) -> Plan {
    let child_filter = match child_where {
        Some(w) => format!("({w}) AND {}", all_not_null(child_key, "")),
        None => all_not_null(child_key, ""),
    };
    let parent_cols = parent_key
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let parent_keys = format!(
        "SELECT DISTINCT {parent_cols}, true AS parent_found {}",
        from_where(&table(parent), parent_where.as_deref())
    );
    let on = child_key
        .iter()
        .zip(parent_key)
        .map(|(c, p)| format!("c.{} = p.{}", ident(c), ident(p)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let joined = format!(
        "FROM (SELECT * FROM {} WHERE {child_filter}) AS c LEFT JOIN ({parent_keys}) AS p ON {on}",
        table(child)
    );
    let count_sql = format!(
        "SELECT count(*) AS checked, count(CASE WHEN p.parent_found IS NULL THEN 1 END) AS violations {joined}"
    );
    let sample_sql = format!("SELECT c.* {joined} WHERE p.parent_found IS NULL");
    Plan::Counts {
        kind: CountsKind::ForeignKey,
        count_sql,
        sample_sql,
    }
}

/// The batched scan query: `checked` plus one violation count per predicate (`v0`, `v1`…).
pub fn scan_sql(scan: &ScanKey, predicates: &[&str]) -> String {
    let mut columns = vec!["count(*) AS checked".to_string()];
    for (i, p) in predicates.iter().enumerate() {
        columns.push(format!("count(CASE WHEN ({p}) THEN 1 END) AS v{i}"));
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
            Plan::Freshness { sql, .. } => vec![query("newest value", sql)],
            Plan::Schema { .. } => vec![],
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
        match &self.spec.kind {
            crate::config::RuleKind::Sql { query, .. } => &query.loc,
            crate::config::RuleKind::Expect { condition, .. } => &condition.loc,
            _ => match &self.spec.source_where {
                Some(w) => &w.loc,
                None => &self.spec.name.loc,
            },
        }
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
