//! `postgres:` sources: connect like libpq, read one consistent snapshot, stream tables
//! into Arrow with binary COPY, and push filters (and whole rules, see `engine::pushdown`)
//! into the database.

pub mod cancel;
pub mod catalog;
pub mod conninfo;
pub mod decode;
pub mod digest;
pub mod hash;
pub mod keyed;
pub mod pushdown;
pub mod redact;
pub mod schema_facts;
pub mod schema_provider;
pub mod session;
pub mod table;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use datafusion::catalog::SchemaProvider;

use crate::source::error::{SourceError, SourceResult};

pub use cancel::cancel_all;
pub use session::PgSession;
pub use table::PgTable;

/// Connects to a source and lists its tables, grouped by schema.
pub async fn open(
    source: &str,
    conn: &str,
    statement_timeout: Duration,
    max_connections: usize,
) -> SourceResult<(Arc<PgSession>, Vec<(String, Arc<dyn SchemaProvider>)>)> {
    let info = conninfo::resolve(conn, &conninfo::Environment::process())
        .map_err(|e| SourceError::Invalid(format!("{e} (in `{}`)", conninfo::mask(conn))))?;
    let session = PgSession::open(source, info, statement_timeout, max_connections).await?;
    let defs = {
        let client = session.client().await?;
        catalog::load_tables(&client).await?
    };
    // The catalog lists tables ordered by schema.
    let mut grouped: Vec<(String, Vec<catalog::PgTableDef>)> = Vec::new();
    for def in defs {
        match grouped.last_mut() {
            Some((s, tables)) if *s == def.schema => tables.push(def),
            _ => grouped.push((def.schema.clone(), vec![def])),
        }
    }
    let schemas = grouped
        .into_iter()
        .map(|(name, defs)| {
            let provider: Arc<dyn SchemaProvider> =
                Arc::new(schema_provider::PgSchema::new(session.clone(), defs));
            (name, provider)
        })
        .collect();
    Ok((session, schemas))
}

/// The session a provider reads from, when it is one of this engine's tables.
pub fn database_of(
    provider: &dyn datafusion::catalog::TableProvider,
) -> Option<std::sync::Arc<dyn super::database::Database>> {
    let table = (provider as &dyn std::any::Any).downcast_ref::<table::PgTable>()?;
    Some(table.session.clone())
}
