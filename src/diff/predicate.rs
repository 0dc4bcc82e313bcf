//! A diff's `where` on a PostgreSQL table, made safe to send: the user's text is planned by
//! DataFusion against the table's columns (so only columns of the table and functions
//! DataFusion knows are accepted) and unparsed to PostgreSQL SQL, as pushed-down queries of
//! the other rules are. Text is never pasted into the SQL PostgreSQL receives: a server
//! function such as `pg_terminate_backend` or a user function with side effects is unknown
//! to DataFusion and rejected before anything is sent.

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::PostgreSqlDialect;

use super::Side;
use crate::config::TableName;

/// The `where` of a table side as PostgreSQL SQL over the table's bare column names.
pub async fn postgres_where(
    ctx: &SessionContext,
    table: &TableName,
    predicate: &str,
) -> Result<String, String> {
    let fail =
        |why: String| format!("the `where` on `{table}` cannot be sent to PostgreSQL: {why}");
    // `check_predicate` made sure the text is one expression, so it cannot end the WHERE.
    let sql = format!(
        "SELECT * FROM {} WHERE ({predicate})",
        crate::kernel::sqlgen::table(table)
    );
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = ctx
        .sql_with_options(&sql, options)
        .await
        .map_err(|e| fail(crate::kernel::error_text(&e)))?;
    let mut filter = None;
    let _ = frame.logical_plan().apply(|node| {
        if let LogicalPlan::Filter(f) = node {
            filter = Some(f.predicate.clone());
            return Ok(datafusion::common::tree_node::TreeNodeRecursion::Stop);
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    let expr = filter.ok_or_else(|| fail("it is not a filter".into()))?;
    let subquery = expr
        .exists(|e| {
            Ok(matches!(
                e,
                Expr::ScalarSubquery(_)
                    | Expr::InSubquery(_)
                    | Expr::Exists(_)
                    | Expr::SetComparison(_)
                    | Expr::OuterReferenceColumn(..)
            ))
        })
        .unwrap_or(true);
    if subquery {
        return Err(fail(
            "a subquery is not allowed there (it would read other tables under another name)"
                .into(),
        ));
    }
    // Columns arrive qualified with crosscheck's table name; PostgreSQL knows them bare.
    let bare = expr
        .transform(|e| match e {
            Expr::Column(mut c) => {
                c.relation = None;
                Ok(Transformed::yes(Expr::Column(c)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map_err(|e| fail(crate::kernel::error_text(&e)))?
        .data;
    Unparser::new(&PostgreSqlDialect {})
        .expr_to_sql(&bare)
        .map(|ast| ast.to_string())
        .map_err(|e| fail(crate::kernel::error_text(&e)))
}

/// The side's `where` as PostgreSQL SQL, when the side is a table with a `where`.
pub async fn side_where(ctx: &SessionContext, side: &Side) -> Result<Option<String>, String> {
    match side {
        Side::Table {
            table,
            predicate: Some(p),
        } => postgres_where(ctx, table, p).await.map(Some),
        _ => Ok(None),
    }
}

/// Plans each side's `where` as it will run, so `validate` reports an unknown function or
/// column (or one refused on a PostgreSQL table) before anything runs.
pub async fn check(ctx: &SessionContext, sides: [&Side; 2]) -> Result<(), String> {
    for side in sides {
        let Side::Table {
            table,
            predicate: Some(p),
        } = side
        else {
            continue;
        };
        let provider = ctx
            .table_provider(crate::kernel::reference(table))
            .await
            .map_err(|e| crate::kernel::error_text(&e))?;
        if (provider.as_ref() as &dyn std::any::Any)
            .downcast_ref::<crate::source::postgres::PgTable>()
            .is_some()
        {
            postgres_where(ctx, table, p).await?;
        } else {
            let sql = format!(
                "SELECT * {}",
                crate::kernel::sqlgen::from_where(&crate::kernel::sqlgen::table(table), Some(p))
            );
            ctx.sql(&sql).await.map_err(|e| {
                format!(
                    "the `where` on `{table}`: {}",
                    crate::kernel::error_text(&e)
                )
            })?;
        }
    }
    Ok(())
}
