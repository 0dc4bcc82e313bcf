//! `sqlite:` sources: a SQLite file opened read-only and immutable (nothing written, no
//! lock taken, no journal replayed), its tables and views streamed into Arrow by a
//! blocking reader per scan, each value checked against its column's declared type.

pub mod catalog;

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::cells::{Cell, Columns, Kind};
use super::database::Database;
use super::error::{SourceError, SourceResult};
use super::scan::{BATCH_ROWS, RowReader, RowScanExec, channel_stream};
use super::schema_facts::TableFacts;
use catalog::SqliteTableDef;

/// The schema a SQLite file's tables are in.
pub const SCHEMA: &str = "main";

/// An open SQLite file: where it is, and the rows read from it.
#[derive(Debug)]
pub struct SqliteDb {
    pub source: String,
    pub path: PathBuf,
    rows_read: AtomicU64,
}

/// Opens `path` and lists its tables.
pub async fn open(
    source: &str,
    path: &Path,
) -> SourceResult<(Arc<SqliteDb>, Vec<(String, Arc<dyn TableProvider>)>)> {
    let path = std::path::absolute(path).map_err(|e| SourceError::Io {
        what: format!("cannot find `{}`", path.display()),
        source: e,
    })?;
    check_header(&path)?;
    let db = Arc::new(SqliteDb {
        source: source.to_string(),
        path,
        rows_read: AtomicU64::new(0),
    });
    let opened = db.clone();
    let defs = tokio::task::spawn_blocking(move || {
        let conn = opened.connect()?;
        catalog::load_tables(&conn).map_err(|e| opened.failed(e))
    })
    .await
    .map_err(|e| SourceError::Internal(e.to_string()))??;
    let tables = defs
        .into_iter()
        .map(|def| {
            let table: Arc<dyn TableProvider> = Arc::new(SqliteTable::new(db.clone(), def));
            (table_name(&table), table)
        })
        .collect();
    Ok((db, tables))
}

fn table_name(table: &Arc<dyn TableProvider>) -> String {
    (table.as_ref() as &dyn Any)
        .downcast_ref::<SqliteTable>()
        .map(|t| t.def.name.clone())
        .unwrap_or_default()
}

/// A missing file or one that is not SQLite's says so before any query: SQLite itself
/// would say "unable to open database file" or "file is not a database" at the first read.
fn check_header(path: &Path) -> SourceResult<()> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| {
        let n = f.read(&mut header)?;
        Ok(n)
    });
    match read {
        Err(e) => Err(SourceError::Io {
            what: format!("cannot open the SQLite file `{}`", path.display()),
            source: e,
        }),
        // An empty file is an empty database to SQLite.
        Ok(0) => Ok(()),
        Ok(_) if &header == b"SQLite format 3\0" => Ok(()),
        Ok(_) => Err(SourceError::Invalid(format!(
            "`{}` is not a SQLite database (its first bytes are not \"SQLite format 3\")",
            path.display()
        ))),
    }
}

impl SqliteDb {
    /// A read-only, immutable connection: SQLite takes no lock and writes nothing, so a
    /// file on a read-only mount or one another program holds open reads the same.
    fn connect(&self) -> SourceResult<Connection> {
        let uri = format!("file:{}?mode=ro&immutable=1", uri_path(&self.path));
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(uri, flags).map_err(|e| self.failed(e))
    }

    fn failed(&self, e: rusqlite::Error) -> SourceError {
        SourceError::Database {
            sqlstate: None,
            source: Box::new(e),
        }
        .within(format!("SQLite source `{}`", self.source))
    }
}

/// A path inside a `file:` URI: `%`, `?` and `#` escaped (SQLite decodes `%XX`).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[async_trait]
impl Database for SqliteDb {
    fn engine(&self) -> &'static str {
        "SQLite"
    }

    fn source_name(&self) -> &str {
        &self.source
    }

    fn rows_read(&self) -> u64 {
        self.rows_read.load(Ordering::Relaxed)
    }

    /// `schema_match` compares a SQLite table by its columns only: no declared facts are
    /// read (`schema_facts::declared` knows no SQLite table), so none are asked for.
    async fn table_facts(
        self: Arc<Self>,
        _schema: &str,
        tables: &[String],
        _sequences: bool,
    ) -> SourceResult<BTreeMap<String, TableFacts>> {
        Ok(tables
            .iter()
            .map(|t| (t.clone(), TableFacts::default()))
            .collect())
    }
}

impl RowReader for SqliteDb {
    fn label(&self) -> String {
        format!("SQLite source {}", self.source)
    }

    fn read(
        self: Arc<Self>,
        table: &str,
        select: &str,
        schema: SchemaRef,
        kinds: Vec<Kind>,
    ) -> BoxStream<'static, Result<RecordBatch>> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let (table, select) = (table.to_string(), select.to_string());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = self.stream(&table, &select, schema, kinds, &tx) {
                let _ = tx.blocking_send(Err(DataFusionError::External(Box::new(e))));
            }
        });
        channel_stream(rx)
    }
}

type BatchSender = tokio::sync::mpsc::Sender<Result<RecordBatch>>;

impl SqliteDb {
    /// Runs `select` and sends its rows until the end, an error, or the reader stopping.
    fn stream(
        &self,
        table: &str,
        select: &str,
        schema: SchemaRef,
        kinds: Vec<Kind>,
        tx: &BatchSender,
    ) -> SourceResult<()> {
        let conn = self.connect()?;
        let mut stmt = conn.prepare(select).map_err(|e| self.failed(e))?;
        let mut columns = Columns::new(schema.clone(), kinds);
        let mut rows = stmt.query([]).map_err(|e| self.failed(e))?;
        let width = schema.fields().len();
        while let Some(row) = rows.next().map_err(|e| self.failed(e))? {
            for i in 0..width {
                let value = row.get_ref(i).map_err(|e| self.failed(e))?;
                let cell = match value {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Float(v),
                    ValueRef::Text(v) => match std::str::from_utf8(v) {
                        Ok(v) => Cell::Text(v),
                        Err(_) => Cell::Bytes(v),
                    },
                    ValueRef::Blob(v) => Cell::Bytes(v),
                };
                columns.push(i, cell).map_err(|m| {
                    SourceError::Invalid(format!(
                        "SQLite source `{}`, table `{table}`: column `{}`, row {} {} \
                         (its declared type says so; crosscheck does not convert stored \
                         values: CAST the column in a `sql` rule, or fix the row)",
                        self.source,
                        schema.field(m.column).name(),
                        m.row,
                        m.reason
                    ))
                })?;
            }
            columns.end_row();
            if columns.len() == BATCH_ROWS && !self.send(&mut columns, tx)? {
                return Ok(());
            }
        }
        if !columns.is_empty() {
            self.send(&mut columns, tx)?;
        }
        Ok(())
    }

    /// Sends the rows built so far; false when nobody reads any more.
    fn send(&self, columns: &mut Columns, tx: &BatchSender) -> SourceResult<bool> {
        let batch = columns.finish()?;
        self.rows_read
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        Ok(tx.blocking_send(Ok(batch)).is_ok())
    }
}

/// `"name"` as SQLite quotes an identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One SQLite table or view, read on demand.
#[derive(Debug)]
pub struct SqliteTable {
    pub db: Arc<SqliteDb>,
    pub def: SqliteTableDef,
    schema: SchemaRef,
}

impl SqliteTable {
    pub fn new(db: Arc<SqliteDb>, def: SqliteTableDef) -> Self {
        let fields: Vec<(String, Kind, bool)> = def
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind, c.not_null))
            .collect();
        Self {
            db,
            def,
            schema: Columns::schema(&fields),
        }
    }

    /// The SELECT a scan runs.
    pub fn select_sql(&self, projection: Option<&Vec<usize>>, limit: Option<usize>) -> String {
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.def.columns.len()).collect(),
        };
        let columns: Vec<String> = indices
            .iter()
            .map(|i| quote(&self.def.columns[*i].name))
            .collect();
        // A projection of no column (count(*)) still reads one row per row.
        let list = if columns.is_empty() {
            "1".to_string()
        } else {
            columns.join(", ")
        };
        let mut sql = format!("SELECT {list} FROM {}", quote(&self.def.name));
        if let Some(n) = limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }
}

#[async_trait]
impl TableProvider for SqliteTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        if self.def.is_view {
            TableType::View
        } else {
            TableType::Base
        }
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![
            TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let kinds = match projection {
            Some(p) => p.iter().map(|i| self.def.columns[*i].kind).collect(),
            None => self.def.columns.iter().map(|c| c.kind).collect(),
        };
        let reader: Arc<dyn RowReader> = self.db.clone();
        Ok(Arc::new(RowScanExec::new(
            reader,
            self.def.name.clone(),
            vec![self.select_sql(projection, limit)],
            schema,
            kinds,
        )))
    }
}
