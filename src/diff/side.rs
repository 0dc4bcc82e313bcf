//! Each side of a diff as one stream sorted by key (ascending, NULLs last). A plain
//! PostgreSQL table is read by PostgreSQL itself in key order — text keys in the "C"
//! collation, which is byte order, as Arrow compares — and everything else is sorted by
//! DataFusion, which spills to disk past its memory limit.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use postgres_protocol::escape::escape_identifier;

use super::Side;
use super::plan::SidePlan;
use crate::engine::sqlgen::ident;
use crate::source::postgres::PgTable;
use crate::source::postgres::decode::Kind;

pub async fn sorted_stream(
    ctx: &SessionContext,
    side: &Side,
    plan: &SidePlan,
) -> Result<SendableRecordBatchStream, String> {
    if let Side::Table { table, predicate } = side {
        let provider = ctx
            .table_provider(crate::engine::resolve::reference(table))
            .await
            .map_err(|e| crate::engine::error_text(&e))?;
        if let Some(pg) = (provider.as_ref() as &dyn Any).downcast_ref::<PgTable>() {
            let pg_where = match predicate {
                Some(p) => Some(super::predicate::postgres_where(ctx, table, p).await?),
                None => None,
            };
            return Ok(postgres_stream(pg, pg_where.as_deref(), plan));
        }
    }
    let sql = datafusion_sql(side, plan);
    let ctx = match side {
        Side::Query { source, .. } => crate::engine::session_on(ctx, source),
        Side::Table { .. } => ctx.clone(),
    };
    let frame = ctx
        .sql(&sql)
        .await
        .map_err(|e| crate::engine::error_text(&e))?;
    frame
        .execute_stream()
        .await
        .map_err(|e| crate::engine::error_text(&e))
}

/// `SELECT keys, columns FROM … ORDER BY keys` in DataFusion's SQL.
pub fn datafusion_sql(side: &Side, plan: &SidePlan) -> String {
    let mut select: Vec<String> = plan
        .keys
        .iter()
        .enumerate()
        .map(|(i, (k, as_text))| {
            if *as_text {
                format!("CAST({} AS VARCHAR) AS k{i}", ident(k))
            } else {
                format!("{} AS k{i}", ident(k))
            }
        })
        .collect();
    select.extend(
        plan.columns
            .iter()
            .enumerate()
            .map(|(j, c)| format!("{} AS c{j}", ident(c))),
    );
    let from = match side {
        Side::Table { table, predicate } => crate::engine::sqlgen::from_where(
            &crate::engine::sqlgen::table(table),
            predicate.as_deref(),
        ),
        Side::Query { sql, .. } => format!(
            "FROM ({}) AS side",
            crate::engine::sqlgen::strip_semicolons(sql)
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
