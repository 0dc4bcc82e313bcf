//! `checkpoint:` sources: a folder `crosscheck checkpoint` wrote, read back as tables. A
//! checkpoint holds no values: per table, a Parquet file of its key columns and the row hash
//! of every record (`kernel::row_hash`), and a manifest with the table's columns, row count
//! and column profile. Its tables read as `(key…, crosscheck_row_hash)`; a diff against a
//! live table hashes the live rows the same way (`diff::against_checkpoint`).

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde::{Deserialize, Serialize};

use super::error::{SourceError, SourceResult};
use crate::filesystem::display_path;

/// The manifest's file name inside a checkpoint folder.
pub const MANIFEST: &str = "manifest.json";
/// The layout this build writes and reads.
pub const VERSION: u32 = 1;
/// The row hash's column in a checkpoint table.
pub const ROW_HASH_COLUMN: &str = "crosscheck_row_hash";

/// What a checkpoint holds, and of what.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub checkpoint_version: u32,
    pub crosscheck_version: String,
    /// The row hash's scheme (`kernel::row_hash::SCHEME`).
    pub row_hash_scheme: String,
    /// When it was taken (UTC, RFC 3339).
    pub created_at: String,
    pub sources: Vec<SourceEntry>,
    pub tables: Vec<TableEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceEntry {
    pub name: String,
    pub kind: String,
    /// Where it was read, any password masked.
    pub location: String,
    /// How it was read: one consistent snapshot for a database.
    pub snapshot: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    /// The source it was read from, and the table's name there.
    pub source: String,
    pub rows: u64,
    /// The key columns (empty: no key, the row hashes are a multiset).
    pub key: Vec<String>,
    /// Every column, in the order the row hash covers them.
    pub columns: Vec<ColumnEntry>,
    /// The primary key, unique and foreign key constraints a database declared for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<String>>,
    /// The Parquet file of keys and row hashes, relative to the checkpoint folder.
    pub file: String,
    /// Per column, its statistics (`nulls`, `distinct`, `min`…) as text; value statistics
    /// of sensitive columns are left out.
    pub profile: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColumnEntry {
    pub name: String,
    /// The Arrow type it was read as.
    pub data_type: String,
    /// Its type as `schema_match` names it (`bigint`, `text`, `numeric(10,2)`…).
    pub type_name: String,
    /// The type a database declared for it (`character varying(40)`), if it lives in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_type: Option<String>,
    pub nullable: bool,
    /// Its values are sensitive: their statistics were not recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl TableEntry {
    /// The column names the row hash covers, in order.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// Reads and checks the manifest of the checkpoint at `dir`.
pub fn read_manifest(dir: &Path) -> SourceResult<Manifest> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| SourceError::Io {
        what: format!(
            "cannot read `{}` (is `{}` a folder `crosscheck checkpoint` wrote?)",
            display_path(&path),
            display_path(dir)
        ),
        source,
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        SourceError::Invalid(format!(
            "`{}` is not a checkpoint manifest: line {}: {e}",
            display_path(&path),
            e.line()
        ))
    })?;
    if manifest.checkpoint_version != VERSION
        || manifest.row_hash_scheme != crate::kernel::row_hash::SCHEME
    {
        return Err(SourceError::Invalid(format!(
            "`{}` was written by crosscheck {} (checkpoint version {}, row hash `{}`); this \
             build reads version {VERSION} with row hash `{}`: take the checkpoint again",
            display_path(dir),
            manifest.crosscheck_version,
            manifest.checkpoint_version,
            manifest.row_hash_scheme,
            crate::kernel::row_hash::SCHEME
        )));
    }
    Ok(manifest)
}

/// The tables of the checkpoint at `dir`, by name.
pub async fn open(
    ctx: &SessionContext,
    dir: &Path,
) -> SourceResult<Vec<(String, Arc<dyn TableProvider>)>> {
    let manifest = read_manifest(dir)?;
    let mut tables = Vec::new();
    for entry in manifest.tables {
        let path: PathBuf = dir.join(&entry.file);
        super::parquet_footer::check_table(&path)?;
        let frame = ctx
            .read_parquet(
                path.to_string_lossy().to_string(),
                ParquetReadOptions::default(),
            )
            .await?;
        let table = CheckpointTable {
            inner: frame.into_view(),
            entry: entry.clone(),
        };
        tables.push((
            entry.name.clone(),
            Arc::new(table) as Arc<dyn TableProvider>,
        ));
    }
    Ok(tables)
}

/// A checkpoint's table: keys and row hashes, and the manifest's entry describing it.
#[derive(Debug)]
pub struct CheckpointTable {
    inner: Arc<dyn TableProvider>,
    pub entry: TableEntry,
}

/// The checkpoint table behind `provider`, if it is one.
pub fn checkpoint_table(provider: &dyn TableProvider) -> Option<&CheckpointTable> {
    (provider as &dyn Any).downcast_ref::<CheckpointTable>()
}

#[async_trait]
impl TableProvider for CheckpointTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}
