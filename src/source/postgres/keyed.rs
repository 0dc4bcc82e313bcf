//! A PostgreSQL table as the diff's `KeyedTable`: read in key order by PostgreSQL itself
//! (text keys in the "C" collation, which is byte order, as Arrow compares), its `where`
//! unparsed from DataFusion's plan, and digested by `digest`.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use postgres_protocol::escape::escape_identifier;

use super::PgTable;
use super::decode::Kind;
use super::digest::{Hashing, PgDigester};
use crate::source::error::{SourceError, SourceResult};
use crate::source::keyed::{Digester, KeyedTable, Pairing, SidePlan, SortedReader};

/// The PostgreSQL table behind a provider, when it is one.
pub fn keyed(provider: &dyn TableProvider) -> Option<Box<dyn KeyedTable>> {
    let table = (provider as &dyn Any).downcast_ref::<PgTable>()?;
    Some(Box::new(PgTable::new(
        table.session.clone(),
        table.def.clone(),
    )))
}

impl KeyedTable for PgTable {
    fn engine(&self) -> &'static str {
        "PostgreSQL"
    }

    fn source_name(&self) -> &str {
        &self.session.source
    }

    fn where_sql(&self, predicate: &Expr) -> SourceResult<String> {
        Ok(super::table::bare_sql(predicate)?)
    }

    fn sorted_reader(&self) -> Option<&dyn SortedReader> {
        Some(self)
    }

    fn digesters<'a>(
        &'a self,
        target: &'a dyn KeyedTable,
        pairing: Pairing<'a>,
        [source_where, target_where]: [Option<String>; 2],
    ) -> SourceResult<[Box<dyn Digester + 'a>; 2]> {
        let Some(target_table) = target.as_any().downcast_ref::<PgTable>() else {
            return Err(SourceError::Invalid(format!(
                "the target is a {} table and the source a PostgreSQL one: only tables of one \
                 kind of database hash alike",
                target.engine()
            )));
        };
        let (s, t) = Hashing::pair(self, target_table, pairing);
        Ok([
            Box::new(PgDigester {
                hashing: s,
                predicate: source_where,
            }),
            Box::new(PgDigester {
                hashing: t,
                predicate: target_where,
            }),
        ])
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SortedReader for PgTable {
    fn sorted_sql(&self, predicate: Option<&str>, plan: &SidePlan) -> String {
        sorted_sql(self, predicate, plan).0
    }

    fn sorted(&self, predicate: Option<&str>, plan: &SidePlan) -> SendableRecordBatchStream {
        sorted_stream(self, predicate, plan)
    }
}

/// The SELECT PostgreSQL runs for one side: keys cast where needed, text keys ordered in
/// the C collation. `predicate` is PostgreSQL SQL from `where_sql`, never the user's text.
pub fn sorted_sql(
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

pub fn sorted_stream(
    table: &PgTable,
    predicate: Option<&str>,
    plan: &SidePlan,
) -> SendableRecordBatchStream {
    let (sql, kinds) = sorted_sql(table, predicate, plan);
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
    let stream = super::table::copy_stream(table.session.clone(), sql, schema.clone(), kinds);
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}
