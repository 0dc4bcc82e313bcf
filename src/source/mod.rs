//! Sources become tables in one DataFusion session: a source `prod` is a catalog `prod`
//! (so `prod.SCHEMA.TABLE` works) and a schema `prod` of the default catalog holding its
//! default schema's tables (so `prod.TABLE` works), in rule fields and in SQL alike.

pub mod files;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::prelude::SessionContext;

use crate::config::{SourceKind, SourceSpec, display_path};
use crate::error::{Error, Result};

/// The schema name under which a files source's tables also appear (`export.public.users`).
pub const FILES_SCHEMA: &str = "public";

/// What the run knows about one source after registering it.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub name: String,
    pub kind: &'static str,
    /// Where it lives, with any password masked.
    pub location: String,
    /// Tables that could not be read, with the reason; rules that touch them error.
    pub broken: BTreeMap<String, String>,
}

/// Registers every source in `ctx`; an unreachable source stops the run.
pub async fn register_all(ctx: &SessionContext, sources: &[SourceSpec]) -> Result<Vec<SourceInfo>> {
    let mut infos = Vec::with_capacity(sources.len());
    for spec in sources {
        infos.push(register(ctx, spec).await?);
    }
    Ok(infos)
}

async fn register(ctx: &SessionContext, spec: &SourceSpec) -> Result<SourceInfo> {
    match &spec.kind {
        SourceKind::Files { dir, csv } => {
            let listing = files::list_tables(dir).map_err(|message| Error::Source {
                name: spec.name.clone(),
                message,
            })?;
            let (tables, broken) = files::open_tables(ctx, &listing, csv).await;
            install(ctx, &spec.name, FILES_SCHEMA, tables)?;
            Ok(SourceInfo {
                name: spec.name.clone(),
                kind: "files",
                location: display_path(dir),
                broken,
            })
        }
        SourceKind::Postgres { .. } | SourceKind::Tree { .. } => Err(Error::Source {
            name: spec.name.clone(),
            message: format!(
                "`{}` sources are not supported by this build of crosscheck yet",
                spec.kind.kind_name()
            ),
        }),
    }
}

/// Puts `tables` into catalog `source`.`schema` and into the default catalog's schema `source`.
fn install(
    ctx: &SessionContext,
    source: &str,
    schema: &str,
    tables: Vec<(String, Arc<dyn TableProvider>)>,
) -> Result<()> {
    let in_catalog = Arc::new(MemorySchemaProvider::new());
    let in_default = Arc::new(MemorySchemaProvider::new());
    for (name, table) in tables {
        in_catalog
            .register_table(name.clone(), table.clone())
            .map_err(|e| Error::Internal(e.to_string()))?;
        in_default
            .register_table(name, table)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    let catalog = Arc::new(MemoryCatalogProvider::new());
    catalog
        .register_schema(schema, in_catalog)
        .map_err(|e| Error::Internal(e.to_string()))?;
    ctx.register_catalog(source, catalog);
    let default_catalog = ctx
        .catalog(&ctx.copied_config().options().catalog.default_catalog)
        .ok_or_else(|| Error::Internal("the default catalog is missing".into()))?;
    default_catalog
        .register_schema(source, in_default)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(())
}

/// The tables of a source's default schema, sorted.
pub fn table_names(ctx: &SessionContext, source: &str) -> Vec<String> {
    let catalog = ctx.catalog(&ctx.copied_config().options().catalog.default_catalog);
    let mut names = catalog
        .and_then(|c| c.schema(source))
        .map(|s| s.table_names())
        .unwrap_or_default();
    names.sort();
    names
}
