//! Each side of a diff as one stream sorted by key (ascending, NULLs last). A database
//! table is read by its database in key order, in byte order for text as Arrow compares
//! (`KeyedTable::sorted`), and everything else is sorted by DataFusion, which spills to
//! disk past its memory limit.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::{Expr, cast, try_cast};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{SessionContext, col, ident};

use super::Side;
use super::error::{DiffError, DiffResult};
use super::plan::SidePlan;

pub async fn sorted_stream(
    ctx: &SessionContext,
    side: &Side,
    plan: &SidePlan,
) -> DiffResult<SendableRecordBatchStream> {
    if let Side::Table { table, predicate } = side {
        let provider = ctx
            .table_provider(crate::kernel::reference(table))
            .await
            .map_err(DiffError::from)?;
        if let Some(keyed) = crate::source::keyed::keyed(provider.as_ref())
            && let Some(reader) = keyed.sorted_reader()
        {
            let keyed_where = match predicate {
                Some(p) => Some(super::predicate::where_sql(ctx, table, p, keyed.as_ref()).await?),
                None => None,
            };
            return Ok(reader.sorted(keyed_where.as_deref(), plan));
        }
        if plan.raw
            && let Some(text) = crate::source::files::text_table(provider.as_ref())
        {
            return raw_stream(ctx, provider.schema(), text, predicate.as_deref(), plan)
                .await
                .map_err(DiffError::from);
        }
    }
    let sql = datafusion_sql(side, plan);
    let ctx = match side {
        Side::Query { source, .. } => crate::kernel::session_on(ctx, source),
        Side::Table { .. } => ctx.clone(),
    };
    let frame = ctx.sql(&sql).await.map_err(DiffError::from)?;
    frame.execute_stream().await.map_err(DiffError::from)
}

/// A CSV side read as its exact text. Keys are cast to the merge type (a CAST that fails is
/// an error naming the value, never a NULL key); a `where` still means what it says on the
/// typed columns: each column is also read as the type inferred for it, for the filter only.
async fn raw_stream(
    ctx: &SessionContext,
    typed: SchemaRef,
    text: Arc<dyn TableProvider>,
    predicate: Option<&str>,
    plan: &SidePlan,
) -> datafusion::error::Result<SendableRecordBatchStream> {
    let mut select: Vec<Expr> = Vec::new();
    for (i, ((key, _), key_cast)) in plan.keys.iter().zip(&plan.key_casts).enumerate() {
        let read = match key_cast {
            Some(t) => cast(ident(key), t.clone()),
            None => ident(key),
        };
        select.push(read.alias(format!("k{i}")));
    }
    for (j, c) in plan.columns.iter().enumerate() {
        select.push(ident(c).alias(format!("c{j}")));
    }
    let outputs: Vec<Expr> = (0..plan.keys.len())
        .map(|i| col(format!("k{i}")))
        .chain((0..plan.columns.len()).map(|j| col(format!("c{j}"))))
        .collect();
    let frame = ctx.read_table(text)?;
    let frame = match predicate {
        None => frame.select(select)?,
        Some(predicate) => {
            let mut with_typed = select;
            for f in typed.fields() {
                with_typed.push(try_cast(ident(f.name()), f.data_type().clone()).alias(f.name()));
            }
            let frame = frame.select(with_typed)?;
            let filter = frame.parse_sql_expr(predicate)?;
            frame.filter(filter)?.select(outputs)?
        }
    };
    let order = (0..plan.keys.len())
        .map(|i| col(format!("k{i}")).sort(true, false))
        .collect();
    frame.sort(order)?.execute_stream().await
}

/// `SELECT keys, columns FROM … ORDER BY keys` in DataFusion's SQL.
pub fn datafusion_sql(side: &Side, plan: &SidePlan) -> String {
    let from = match side {
        Side::Table { table, predicate } => crate::kernel::sqlgen::from_where(
            &crate::kernel::sqlgen::table(table),
            predicate.as_deref(),
        ),
        Side::Query { sql, .. } => format!(
            "FROM ({}) AS side",
            crate::kernel::sqlgen::strip_semicolons(sql)
        ),
    };
    crate::source::keyed::sorted_select(plan, &from)
}
