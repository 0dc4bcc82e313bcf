//! Sources become tables in one DataFusion session: a source `prod` is a catalog `prod`
//! (so `prod.SCHEMA.TABLE` works) and a schema `prod` of the default catalog holding its
//! default schema's tables (so `prod.TABLE` works), in rule fields and in SQL alike.

pub mod cells;
pub mod checkpoint;
pub mod csv;
pub mod database;
pub mod error;
pub mod files;
pub mod guard;
pub mod keyed;
pub mod mysql;
mod nullmark;
pub mod parquet_footer;
pub mod postgres;
pub mod pushdown;
pub mod scan;
pub mod schema_facts;
pub mod settings;
pub mod sqlite;
pub mod stamp;
pub mod tree;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider, TableProvider,
};
use datafusion::prelude::SessionContext;

use crate::config::{SourceKind, SourceSpec};
use crate::filesystem::display_path;
use crate::kernel::error::{Error, Result};

/// The schema name under which a files source's tables also appear (`export.public.users`).
pub const FILES_SCHEMA: &str = "public";

/// A source's tables grouped by schema: `(schema, [(table, provider)])`.
pub type SchemaTables = Vec<(String, Vec<(String, Arc<dyn TableProvider>)>)>;

/// Asks every database source to cancel the statements it is running (a signal came), and
/// waits a bounded time for the servers: (statements running, servers that did not answer).
pub async fn cancel_all() -> (usize, usize) {
    let ((pg_running, pg_unanswered), (my_running, my_unanswered)) =
        tokio::join!(postgres::cancel_all(), mysql::cancel::cancel_all());
    (pg_running + my_running, pg_unanswered + my_unanswered)
}

/// A location as it may be shown to the user: any password in it masked.
pub fn mask_location(location: &str) -> String {
    postgres::conninfo::mask(location)
}

/// The columns a "column not found" message lists; a table with none says why it may have
/// none (an NDJSON export of an empty table is an empty file), not an empty list.
pub fn columns_note(names: &[&str]) -> String {
    if names.is_empty() {
        "it has no columns: a data file with no record has none to infer".into()
    } else {
        format!("columns: {}", names.join(", "))
    }
}

/// What the run knows about one source after registering it.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub name: String,
    pub kind: &'static str,
    /// Where it lives, with any password masked.
    pub location: String,
    /// Tables that could not be read, with the reason; rules that touch them error.
    pub broken: BTreeMap<String, String>,
    /// The live connections of a database source.
    pub database: Option<Arc<dyn database::Database>>,
}

impl SourceInfo {
    /// Rows a database source has sent so far.
    pub fn rows_read(&self) -> Option<u64> {
        self.database.as_ref().map(|d| d.rows_read())
    }

    /// What reading the source changed on the way, for the report.
    pub fn notes(&self) -> Vec<String> {
        self.database
            .as_ref()
            .map(|d| d.notes())
            .unwrap_or_default()
    }
}

/// The columns of a table whose text holds a number: a PostgreSQL `numeric` without a
/// precision is read as its exact text (no digit lost), yet compares as a number.
pub fn number_text_columns(provider: &dyn TableProvider) -> Vec<String> {
    postgres::table::number_text_columns(provider)
}

/// The `jsonb` columns of a table: their text compares as JSON values.
pub fn jsonb_columns(provider: &dyn TableProvider) -> Vec<String> {
    postgres::table::jsonb_columns(provider)
}

/// Source `name` could not be opened: the run stops.
fn source_error(name: &str, e: error::SourceError) -> Error {
    Error::Source {
        name: name.to_string(),
        source: Box::new(e),
    }
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
            let listing = files::list_tables(dir).map_err(|e| source_error(&spec.name, e))?;
            let (tables, broken) = files::open_tables(ctx, &listing, csv).await;
            install_tables(ctx, &spec.name, tables)?;
            Ok(SourceInfo {
                broken,
                ..local_source(spec, "files", dir)
            })
        }
        SourceKind::Postgres {
            url,
            schema,
            statement_timeout,
            max_connections,
        } => {
            let (session, schemas) =
                postgres::open(&spec.name, url, *statement_timeout, *max_connections)
                    .await
                    .map_err(|e| source_error(&spec.name, e))?;
            install_providers(ctx, &spec.name, schema, schemas)?;
            Ok(SourceInfo {
                name: spec.name.clone(),
                kind: "postgres",
                location: session.info.display(),
                broken: BTreeMap::new(),
                database: Some(session),
            })
        }
        SourceKind::Mysql {
            url,
            statement_timeout,
            max_connections,
        } => {
            let (session, tables) =
                mysql::open(&spec.name, url, *statement_timeout, *max_connections)
                    .await
                    .map_err(|e| source_error(&spec.name, e))?;
            let database = session.database.clone();
            install_schemas(ctx, &spec.name, &database, vec![(database.clone(), tables)])?;
            Ok(SourceInfo {
                name: spec.name.clone(),
                kind: "mysql",
                location: session.display.clone(),
                broken: BTreeMap::new(),
                database: Some(session),
            })
        }
        SourceKind::Sqlite { path } => {
            let (db, tables) = sqlite::open(&spec.name, path)
                .await
                .map_err(|e| source_error(&spec.name, e))?;
            install_schemas(
                ctx,
                &spec.name,
                sqlite::SCHEMA,
                vec![(sqlite::SCHEMA.to_string(), tables)],
            )?;
            Ok(SourceInfo {
                name: spec.name.clone(),
                kind: "sqlite",
                location: display_path(path),
                broken: BTreeMap::new(),
                database: Some(db),
            })
        }
        SourceKind::Config {
            location,
            secret_keys,
        } => {
            let (place, keys) = (location.clone(), secret_keys.clone());
            let entries = tokio::task::spawn_blocking(move || settings::scan(&place, &keys))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| source_error(&spec.name, e))?;
            install_settings(ctx, &spec.name, &entries)?;
            Ok(local_source(spec, "config", location))
        }
        SourceKind::Environment {
            pattern,
            secret_keys,
        } => {
            install_settings(
                ctx,
                &spec.name,
                &settings::environment(pattern, secret_keys),
            )?;
            Ok(SourceInfo {
                name: spec.name.clone(),
                kind: "environment",
                location: format!("the environment's {pattern}"),
                broken: BTreeMap::new(),
                database: None,
            })
        }
        SourceKind::Checkpoint { dir } => {
            let tables = checkpoint::open(ctx, dir)
                .await
                .map_err(|e| source_error(&spec.name, e))?;
            install_tables(ctx, &spec.name, tables)?;
            Ok(local_source(spec, "checkpoint", dir))
        }
        SourceKind::Tree { dir } => {
            let root = dir.clone();
            let rows = tokio::task::spawn_blocking(move || tree::scan(&root))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| source_error(&spec.name, e))?;
            let table = tree::table(&rows).map_err(|e| Error::Internal(e.to_string()))?;
            install_tables(ctx, &spec.name, vec![(tree::TABLE.to_string(), table)])?;
            Ok(local_source(spec, "tree", dir))
        }
    }
}

/// A config source's one table, `entries`.
fn install_settings(ctx: &SessionContext, source: &str, entries: &[settings::Entry]) -> Result<()> {
    let table = settings::table(entries).map_err(|e| source_error(source, e))?;
    install_tables(
        ctx,
        source,
        vec![(
            settings::TABLE.to_string(),
            table as Arc<dyn datafusion::catalog::TableProvider>,
        )],
    )
}

/// The tables of a source with one schema (files, a tree, a checkpoint, settings).
fn install_tables(
    ctx: &SessionContext,
    source: &str,
    tables: Vec<(String, Arc<dyn datafusion::catalog::TableProvider>)>,
) -> Result<()> {
    install_schemas(
        ctx,
        source,
        FILES_SCHEMA,
        vec![(FILES_SCHEMA.to_string(), tables)],
    )
}

/// What a source read from a folder or files is: no connection, nothing broken.
fn local_source(spec: &SourceSpec, kind: &'static str, dir: &std::path::Path) -> SourceInfo {
    SourceInfo {
        name: spec.name.clone(),
        kind,
        location: display_path(dir),
        broken: BTreeMap::new(),
        database: None,
    }
}

/// Puts each schema's tables into catalog `source`; the default schema's tables also into
/// the default catalog's schema `source`.
fn install_schemas(
    ctx: &SessionContext,
    source: &str,
    default_schema: &str,
    schemas: SchemaTables,
) -> Result<()> {
    let mut providers: Vec<(String, Arc<dyn SchemaProvider>)> = Vec::new();
    for (schema, tables) in schemas {
        let provider = Arc::new(MemorySchemaProvider::new());
        for (name, table) in tables {
            provider.register_table(name, table).map_err(internal)?;
        }
        providers.push((schema, provider));
    }
    install_providers(ctx, source, default_schema, providers)
}

/// Puts each schema into catalog `source`; the default schema also into the default
/// catalog as schema `source` (the same provider, so both names read one table).
fn install_providers(
    ctx: &SessionContext,
    source: &str,
    default_schema: &str,
    schemas: Vec<(String, Arc<dyn SchemaProvider>)>,
) -> Result<()> {
    let catalog = Arc::new(MemoryCatalogProvider::new());
    let mut in_default: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
    for (schema, provider) in schemas {
        if schema == default_schema {
            in_default = provider.clone();
        }
        catalog
            .register_schema(&schema, provider)
            .map_err(internal)?;
    }
    ctx.register_catalog(source, catalog);
    default_catalog(ctx)?
        .register_schema(source, in_default)
        .map_err(internal)?;
    Ok(())
}

fn internal(e: datafusion::error::DataFusionError) -> Error {
    Error::Internal(e.to_string())
}

fn default_catalog(ctx: &SessionContext) -> Result<Arc<dyn CatalogProvider>> {
    ctx.catalog(&ctx.copied_config().options().catalog.default_catalog)
        .ok_or_else(|| Error::Internal("the default catalog is missing".into()))
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
