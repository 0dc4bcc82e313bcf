//! A diff's `where` on a database table, made safe to send: the user's text is planned by
//! DataFusion against the table's columns (so only columns of the table and functions
//! DataFusion knows are accepted) and unparsed to the database's SQL
//! (`KeyedTable::where_sql`), as pushed-down queries of the other rules are. Text is never pasted into the SQL PostgreSQL receives: a server
//! function such as `pg_terminate_backend` or a user function with side effects is unknown
//! to DataFusion and rejected before anything is sent.

use datafusion::common::tree_node::TreeNode;
use datafusion::execution::context::SQLOptions;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::SessionContext;

use super::Side;
use super::error::{DiffError, DiffResult};
use crate::config::TableName;
use crate::source::keyed::KeyedTable;

/// The `where` of a table side as the database's SQL over the table's bare column names.
pub async fn where_sql(
    ctx: &SessionContext,
    table: &TableName,
    predicate: &str,
    keyed: &dyn KeyedTable,
) -> DiffResult<String> {
    let fail = |why: String| {
        DiffError::Plan(format!(
            "the `where` on `{table}` cannot be sent to {}: {why}",
            keyed.engine()
        ))
    };
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
    keyed.where_sql(&expr).map_err(|e| fail(e.to_string()))
}

/// The side's `where` in its database's SQL, when the side is a table with a `where`.
pub async fn side_where(
    ctx: &SessionContext,
    side: &Side,
    keyed: &dyn KeyedTable,
) -> DiffResult<Option<String>> {
    match side {
        Side::Table {
            table,
            predicate: Some(p),
        } => where_sql(ctx, table, p, keyed).await.map(Some),
        _ => Ok(None),
    }
}

/// Plans each side's `where` as it will run, so `validate` reports an unknown function or
/// column (or one a database table refuses) before anything runs.
pub async fn check(ctx: &SessionContext, sides: [&Side; 2]) -> DiffResult<()> {
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
            .map_err(DiffError::from)?;
        // A side its database reads must have a `where` it can be sent; one read in-process
        // (sorted by DataFusion) filters there, and a checksum it cannot be sent is not run.
        if let Some(keyed) = crate::source::keyed::keyed(provider.as_ref())
            && keyed.sorted_reader().is_some()
        {
            where_sql(ctx, table, p, keyed.as_ref()).await?;
        } else {
            let sql = format!(
                "SELECT * {}",
                crate::kernel::sqlgen::from_where(&crate::kernel::sqlgen::table(table), Some(p))
            );
            ctx.sql(&sql).await.map_err(|e| {
                DiffError::Plan(format!(
                    "the `where` on `{table}`: {}",
                    crate::kernel::error_text(&e)
                ))
            })?;
        }
    }
    Ok(())
}
