//! Small builders for the SQL the engine generates: quoted identifiers, literals, tables.

use crate::config::{Scalar, TableName};

/// `"name"`, with inner quotes doubled: column names are matched exactly as written.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'`, with inner quotes doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The table as SQL: `"prod"."users"` or `"prod"."analytics"."events"`.
pub fn table(name: &TableName) -> String {
    match &name.schema {
        Some(schema) => format!(
            "{}.{}.{}",
            ident(&name.source),
            ident(schema),
            ident(&name.table)
        ),
        None => format!("{}.{}", ident(&name.source), ident(&name.table)),
    }
}

/// `FROM t WHERE (w)` or `FROM t`.
pub fn from_where(table_sql: &str, predicate: Option<&str>) -> String {
    match predicate {
        Some(w) => format!("FROM {table_sql} WHERE ({w})"),
        None => format!("FROM {table_sql}"),
    }
}

/// `a IS NOT NULL AND b IS NOT NULL` for a key, with an optional qualifier.
pub fn all_not_null(columns: &[String], qualifier: &str) -> String {
    columns
        .iter()
        .map(|c| format!("{qualifier}{} IS NOT NULL", ident(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// A `values:` entry as a SQL literal. Text compares as text; numbers and booleans as such.
pub fn scalar(value: &Scalar) -> String {
    match value {
        Scalar::Str(s) => literal(s),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Bool(b) => b.to_string(),
    }
}

/// `x IN (…)` written so that types line up: text values compare against the column as
/// text, so `values: ['1', '2']` works on an integer column read from a file too.
pub fn in_list(column: &str, values: &[Scalar]) -> String {
    let all_text = values.iter().all(|v| matches!(v, Scalar::Str(_)));
    let any_text = values.iter().any(|v| matches!(v, Scalar::Str(_)));
    let (target, items): (String, Vec<String>) = if all_text || any_text {
        let items = values
            .iter()
            .map(|v| match v {
                Scalar::Str(s) => literal(s),
                other => literal(&scalar(other)),
            })
            .collect();
        (format!("CAST({} AS VARCHAR)", ident(column)), items)
    } else {
        (ident(column), values.iter().map(scalar).collect())
    };
    format!("{target} IN ({})", items.join(", "))
}

/// Query text without the trailing semicolons users often leave.
pub fn strip_semicolons(sql: &str) -> &str {
    sql.trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// `expr` with its columns unqualified: DataFusion qualifies them with its own table name,
/// which a database that is sent the expression does not know.
pub fn bare_columns(
    expr: &datafusion::logical_expr::Expr,
) -> datafusion::common::Result<datafusion::logical_expr::Expr> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::Expr;
    Ok(expr
        .clone()
        .transform(|e| match e {
            Expr::Column(mut c) => {
                c.relation = None;
                Ok(Transformed::yes(Expr::Column(c)))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        let t = TableName {
            source: "prod".into(),
            schema: None,
            table: "users".into(),
        };
        assert_eq!(table(&t), "\"prod\".\"users\"");
        assert_eq!(strip_semicolons("select 1;; \n"), "select 1");
    }

    #[test]
    fn in_lists_line_up_types() {
        assert_eq!(
            in_list("d", &[Scalar::Str("easy".into())]),
            "CAST(\"d\" AS VARCHAR) IN ('easy')"
        );
        assert_eq!(
            in_list("n", &[Scalar::Int(1), Scalar::Int(2)]),
            "\"n\" IN (1, 2)"
        );
    }
}
