//! `postgres:` sources: connect like libpq, read one consistent snapshot, stream tables
//! into Arrow with binary COPY, and push filters (and whole rules, see `engine::pushdown`)
//! into the database.

pub mod catalog;
pub mod conninfo;
pub mod decode;
pub mod hash;
pub mod pushdown;
pub mod redact;
pub mod schema_facts;
pub mod session;
pub mod table;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use datafusion::catalog::TableProvider;

use super::SchemaTables;

pub use session::{PgSession, cancel_all};
pub use table::PgTable;

/// Connects to a source and lists its tables, grouped by schema.
pub async fn open(
    source: &str,
    conn: &str,
    statement_timeout: Duration,
    max_connections: usize,
) -> Result<(Arc<PgSession>, SchemaTables), String> {
    let info = conninfo::resolve(conn, &conninfo::Environment::process())
        .map_err(|e| format!("{e} (in `{}`)", conninfo::mask(conn)))?;
    let session = PgSession::open(source, info, statement_timeout, max_connections).await?;
    let defs = {
        let client = session.client().await?;
        catalog::load_tables(&client).await?
    };
    let mut schemas: SchemaTables = Vec::new();
    for def in defs {
        let name = def.name.clone();
        let schema = def.schema.clone();
        let table: Arc<dyn TableProvider> = Arc::new(PgTable::new(session.clone(), def));
        match schemas.last_mut() {
            Some((s, tables)) if *s == schema => tables.push((name, table)),
            _ => schemas.push((schema, vec![(name, table)])),
        }
    }
    Ok((session, schemas))
}
