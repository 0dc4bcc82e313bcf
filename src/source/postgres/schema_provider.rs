//! One PostgreSQL schema as a DataFusion schema, its tables made on first use. A table with
//! array columns is looked at once before it is: an array column is a list only when every
//! value is one-dimensional with lower bound 1; otherwise (`{{1,2},{3,4}}`, `[0:1]={5,6}`)
//! the column is read as PostgreSQL's exact text, since a list would flatten the dimensions
//! and bounds away and make different arrays equal.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::DataFusionError;
use postgres_protocol::escape::escape_identifier;
use tokio::sync::OnceCell;

use super::catalog::PgTableDef;
use super::decode::Kind;
use super::session::PgSession;
use super::table::PgTable;
use crate::source::error::{SourceError, SourceResult};

#[derive(Debug)]
struct Lazy {
    def: PgTableDef,
    table: OnceCell<Arc<dyn TableProvider>>,
}

#[derive(Debug)]
pub struct PgSchema {
    session: Arc<PgSession>,
    tables: BTreeMap<String, Lazy>,
}

impl PgSchema {
    pub fn new(session: Arc<PgSession>, defs: Vec<PgTableDef>) -> Self {
        let tables = defs
            .into_iter()
            .map(|def| {
                (
                    def.name.clone(),
                    Lazy {
                        def,
                        table: OnceCell::new(),
                    },
                )
            })
            .collect();
        Self { session, tables }
    }
}

#[async_trait]
impl SchemaProvider for PgSchema {
    fn table_names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let Some(lazy) = self.tables.get(name) else {
            return Ok(None);
        };
        let table = lazy
            .table
            .get_or_try_init(|| async {
                let def = with_odd_arrays_as_text(&self.session, lazy.def.clone()).await?;
                Ok::<_, SourceError>(
                    Arc::new(PgTable::new(self.session.clone(), def)) as Arc<dyn TableProvider>
                )
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(Some(table.clone()))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// The table with every array column holding a value of other dimensions or bounds than
/// one dimension from 1 read as text (one scan of the table, only if it has array columns).
async fn with_odd_arrays_as_text(
    session: &Arc<PgSession>,
    mut def: PgTableDef,
) -> SourceResult<PgTableDef> {
    let arrays: Vec<usize> = (0..def.columns.len())
        .filter(|&i| matches!(def.columns[i].kind, Kind::Array(_)))
        .collect();
    if arrays.is_empty() {
        return Ok(def);
    }
    let checks: Vec<String> = arrays
        .iter()
        .map(|&i| {
            let c = escape_identifier(&def.columns[i].name);
            format!("coalesce(bool_or(array_ndims({c}) <> 1 OR array_lower({c}, 1) <> 1), false)")
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {}.{}",
        checks.join(", "),
        escape_identifier(&def.schema),
        escape_identifier(&def.name)
    );
    let mut client = session.client().await?;
    let row = match client.query_one(&sql, &[]).await {
        Ok(row) => row,
        Err(e) => {
            // The failed statement aborted this connection's transaction.
            client.discard();
            return Err(SourceError::from(e).within(format!(
                "cannot check the array columns of `{}.{}`",
                def.schema, def.name
            )));
        }
    };
    for (n, &i) in arrays.iter().enumerate() {
        if row.get::<_, bool>(n) {
            def.columns[i].read_as_text();
        }
    }
    Ok(def)
}
