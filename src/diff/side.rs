//! Each side of a diff as one stream sorted by key (ascending, NULLs last). A plain
//! PostgreSQL table is read by PostgreSQL itself in key order — text keys in the "C"
//! collation, which is byte order, as Arrow compares — and everything else is sorted by
//! DataFusion, which spills to disk past its memory limit.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::{Expr, cast, try_cast};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionContext, col, ident};
use postgres_protocol::escape::escape_identifier;

use super::Side;
use super::plan::SidePlan;
use crate::kernel::sqlgen::ident as sql_ident;
use crate::source::postgres::PgTable;
use crate::source::postgres::decode::Kind;

pub async fn sorted_stream(
    ctx: &SessionContext,
    side: &Side,
    plan: &SidePlan,
) -> Result<SendableRecordBatchStream, String> {
    if let Side::Table { table, predicate } = side {
        let provider = ctx
            .table_provider(crate::kernel::reference(table))
            .await
            .map_err(|e| crate::kernel::error_text(&e))?;
        if let Some(pg) = (provider.as_ref() as &dyn Any).downcast_ref::<PgTable>() {
            let pg_where = match predicate {
                Some(p) => Some(super::predicate::postgres_where(ctx, table, p).await?),
                None => None,
            };
            return Ok(postgres_stream(pg, pg_where.as_deref(), plan));
        }
        if plan.raw
            && let Some(text) = crate::source::files::text_table(provider.as_ref())
        {
            return raw_stream(ctx, provider.schema(), text, predicate.as_deref(), plan)
                .await
                .map_err(|e| crate::kernel::error_text(&e));
        }
    }
    let sql = datafusion_sql(side, plan);
    let ctx = match side {
        Side::Query { source, .. } => crate::kernel::session_on(ctx, source),
        Side::Table { .. } => ctx.clone(),
    };
    let frame = ctx
        .sql(&sql)
        .await
        .map_err(|e| crate::kernel::error_text(&e))?;
    frame
        .execute_stream()
        .await
        .map_err(|e| crate::kernel::error_text(&e))
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
    let mut select: Vec<String> = plan
        .keys
        .iter()
        .enumerate()
        .map(|(i, (k, as_text))| {
            if *as_text {
                format!("CAST({} AS VARCHAR) AS k{i}", sql_ident(k))
            } else {
                format!("{} AS k{i}", sql_ident(k))
            }
        })
        .collect();
    select.extend(plan.columns.iter().enumerate().map(|(j, c)| {
        if plan.as_text[j] {
            format!("CAST({} AS VARCHAR) AS c{j}", sql_ident(c))
        } else {
            format!("{} AS c{j}", sql_ident(c))
        }
    }));
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
    let order: Vec<String> = (0..plan.keys.len())
        .map(|i| format!("k{i} ASC NULLS LAST"))
        .collect();
    format!(
        "SELECT {} {from} ORDER BY {}",
        select.join(", "),
        order.join(", ")
    )
}

/// The SELECT PostgreSQL runs for one side: keys cast where needed, text keys ordered in
/// the C collation. `predicate` is PostgreSQL SQL from `predicate::postgres_where`, never
/// the user's text.
pub fn postgres_sql(
    table: &PgTable,
    predicate: Option<&str>,
    plan: &SidePlan,
) -> (String, Vec<Kind>) {
    let column = |name: &str| table.def.columns.iter().find(|c| c.name == name);
    let mut select = Vec::new();
    let mut kinds = Vec::new();
    let mut order = Vec::new();
    for (i, (key, as_text)) in plan.keys.iter().enumerate() {
        let c = column(key);
        let text_key = *as_text || c.is_some_and(|c| c.kind == Kind::Text);
        let expr = if *as_text {
            format!("CAST({} AS text)", escape_identifier(key))
        } else {
            c.map(|c| c.select.clone())
                .unwrap_or_else(|| escape_identifier(key))
        };
        kinds.push(if *as_text {
            Kind::Text
        } else {
            c.map(|c| c.kind).unwrap_or(Kind::Text)
        });
        let collate = if text_key { " COLLATE \"C\"" } else { "" };
        order.push(format!("k{i}{collate} ASC NULLS LAST"));
        select.push(format!("{expr} AS k{i}"));
    }
    for (j, name) in plan.columns.iter().enumerate() {
        let c = column(name);
        let expr = c
            .map(|c| c.select.clone())
            .unwrap_or_else(|| escape_identifier(name));
        match c.map(|c| c.kind) {
            _ if plan.as_text[j] => {
                select.push(format!("({expr})::text AS c{j}"));
                kinds.push(Kind::Text);
            }
            // Arrays are compared as PostgreSQL writes them, dimensions and bounds included
            // (`{{1,2},{3,4}}` is not `{1,2,3,4}`), as the checksum hashes them.
            Some(Kind::Array(_)) => {
                select.push(format!("({expr})::text AS c{j}"));
                kinds.push(Kind::Text);
            }
            kind => {
                select.push(format!("{expr} AS c{j}"));
                kinds.push(kind.unwrap_or(Kind::Text));
            }
        }
    }
    // Ordered through a subquery so the ORDER BY can name the keys' aliases.
    let inner = format!(
        "SELECT {} FROM {}{}",
        select.join(", "),
        table.qualified_name(),
        predicate
            .map(|p| format!(" WHERE ({p})"))
            .unwrap_or_default()
    );
    (
        format!(
            "SELECT * FROM ({inner}) AS side ORDER BY {}",
            order.join(", ")
        ),
        kinds,
    )
}

pub fn postgres_stream(
    table: &PgTable,
    predicate: Option<&str>,
    plan: &SidePlan,
) -> SendableRecordBatchStream {
    let (sql, kinds) = postgres_sql(table, predicate, plan);
    let mut fields: Vec<Field> = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let name = if i < plan.keys.len() {
            format!("k{i}")
        } else {
            format!("c{}", i - plan.keys.len())
        };
        fields.push(Field::new(name, kind.data_type(), true));
    }
    let schema = Arc::new(Schema::new(fields));
    let stream = crate::source::postgres::table::copy_stream(
        table.session.clone(),
        sql,
        schema.clone(),
        kinds,
    );
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}
