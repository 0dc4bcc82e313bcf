//! `mysql:` sources (MySQL 8, MariaDB 10.11+): connect with a pure-Rust client (TLS on
//! rustls), read in read-only transactions on consistent snapshots with the session in UTC,
//! and stream tables into Arrow row by row through the binary protocol.
//!
//! MySQL cannot share one snapshot between connections (PostgreSQL exports one): each
//! connection of a source starts its own `WITH CONSISTENT SNAPSHOT` transaction when it is
//! opened, all of them at the start of the run.

pub mod cancel;
pub mod catalog;
pub mod conninfo;
pub mod digest;
pub mod keyed;
pub mod pushdown;
pub mod zero_dates;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Value};
use std::sync::Mutex;

use super::cells::{Cell, Columns, Kind};
use super::database::Database;
use super::error::{SourceError, SourceResult};
use super::scan::{BATCH_ROWS, RowReader, RowScanExec, channel_stream};
use super::schema_facts::TableFacts;
use catalog::MyTableDef;

/// A source's connections, each in its own read-only snapshot transaction.
#[derive(Debug)]
pub struct MySession {
    pub source: String,
    /// Where it is, password masked.
    pub display: String,
    /// "MariaDB" or "MySQL", from the server's version.
    pub engine: &'static str,
    /// The database (schema) the tables are in.
    pub database: String,
    opts: Opts,
    statement_timeout: Duration,
    /// Idle connections, each with the snapshot generation it reads.
    idle: Mutex<Vec<(u64, Conn)>>,
    /// Bumped when the snapshot is renewed (`--recheck`): a connection of an older one is
    /// closed when it comes back, and new ones start a fresh snapshot.
    generation: AtomicU64,
    permits: tokio::sync::Semaphore,
    rows_read: AtomicU64,
    /// Zero dates (`0000-00-00`) read as NULL, per column.
    pub zero_dates: zero_dates::ZeroDates,
}

/// Connects and lists the tables of the URL's database.
pub async fn open(
    source: &str,
    url: &str,
    statement_timeout: Duration,
    max_connections: usize,
) -> SourceResult<(Arc<MySession>, Vec<(String, Arc<dyn TableProvider>)>)> {
    let display = super::postgres::conninfo::mask(url);
    let opts = conninfo::resolve(url, &|name| std::env::var(name).ok())
        .map_err(|e| SourceError::Invalid(format!("{e} (in `{display}`)")))?;
    let Some(database) = opts.db_name().map(str::to_string) else {
        return Err(SourceError::Invalid(format!(
            "`{display}` names no database: add `/DATABASE` to the URL"
        )));
    };
    let failed =
        |e: mysql_async::Error| database_error(e).within(format!("MySQL source `{source}`"));
    let first = connect(&opts, statement_timeout).await.map_err(failed)?;
    let mut first = first;
    let version: Option<String> = first
        .query_first("SELECT VERSION()")
        .await
        .map_err(failed)?;
    let engine = if version.unwrap_or_default().contains("MariaDB") {
        "MariaDB"
    } else {
        "MySQL"
    };
    let defs = load_tables(&mut first).await.map_err(failed)?;
    let mut idle = vec![(0, first)];
    for _ in 1..max_connections.max(1) {
        idle.push((0, connect(&opts, statement_timeout).await.map_err(failed)?));
    }
    let session = Arc::new(MySession {
        source: source.to_string(),
        display,
        engine,
        database,
        opts,
        statement_timeout,
        idle: Mutex::new(idle),
        generation: AtomicU64::new(0),
        permits: tokio::sync::Semaphore::new(max_connections.max(1)),
        rows_read: AtomicU64::new(0),
        zero_dates: zero_dates::ZeroDates::default(),
    });
    let tables = defs
        .into_iter()
        .map(|def| {
            let name = def.name.clone();
            let table: Arc<dyn TableProvider> = Arc::new(MyTable::new(session.clone(), def));
            (name, table)
        })
        .collect();
    Ok((session, tables))
}

/// The server's own words (`Access denied for user …`, with its error code and SQLSTATE),
/// not the driver's wrapping of them, whose quotes would read as a quoted value.
#[derive(Debug, thiserror::Error)]
#[error("{message} (MySQL error {code}, SQLSTATE {state})")]
pub struct ServerError {
    pub code: u16,
    pub state: String,
    pub message: String,
}

fn database_error(e: mysql_async::Error) -> SourceError {
    match e {
        mysql_async::Error::Server(server) => SourceError::Database {
            sqlstate: Some(server.state.clone()),
            source: Box::new(ServerError {
                code: server.code,
                state: server.state,
                message: server.message,
            }),
        },
        other => SourceError::Database {
            sqlstate: None,
            source: Box::new(other),
        },
    }
}

/// A connection set up for reading: UTC, UTF-8, the statement limit, a read-only
/// transaction on a consistent snapshot.
async fn connect(opts: &Opts, statement_timeout: Duration) -> mysql_async::Result<Conn> {
    // A server that accepts the connection and never answers must not hang the run.
    let mut conn = tokio::time::timeout(conninfo::CONNECT_TIMEOUT, Conn::new(opts.clone()))
        .await
        .map_err(|_| {
            mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer from the server within {}s of connecting",
                    conninfo::CONNECT_TIMEOUT.as_secs()
                ),
            )))
        })??;
    // No SQL mode: a server's own (HIGH_NOT_PRECEDENCE, PIPES_AS_CONCAT, ANSI_QUOTES,
    // NO_BACKSLASH_ESCAPES) would change how the pushed-down SQL reads.
    conn.query_drop("SET NAMES utf8mb4, time_zone = '+00:00', sql_mode = ''")
        .await?;
    let seconds = statement_timeout.as_secs_f64();
    // MariaDB limits every statement in seconds; MySQL limits SELECTs in milliseconds.
    if conn
        .query_drop(format!("SET SESSION max_statement_time = {seconds}"))
        .await
        .is_err()
    {
        conn.query_drop(format!(
            "SET SESSION max_execution_time = {}",
            statement_timeout.as_millis()
        ))
        .await?;
    }
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .await?;
    Ok(conn)
}

async fn load_tables(conn: &mut Conn) -> mysql_async::Result<Vec<MyTableDef>> {
    let relations: Vec<(String, bool)> = conn.query(catalog::TABLES_SQL).await?;
    type Row = (String, String, String, String, bool, u32);
    let columns: Vec<Row> = conn.query(catalog::COLUMNS_SQL).await?;
    let mut defs: BTreeMap<String, MyTableDef> = relations
        .into_iter()
        .map(|(name, is_view)| {
            (
                name.clone(),
                MyTableDef {
                    name,
                    is_view,
                    columns: Vec::new(),
                },
            )
        })
        .collect();
    for (table, name, data_type, column_type, not_null, key_position) in columns {
        let kind = catalog::kind_of(&data_type, &column_type);
        if let Some(def) = defs.get_mut(&table) {
            def.columns.push(catalog::MyColumn {
                name,
                column_type,
                kind,
                not_null,
                key_position,
            });
        }
    }
    Ok(defs.into_values().collect())
}

/// A connection taken from the session, given back when dropped (unless discarded).
struct Lease<'a> {
    session: &'a MySession,
    conn: Option<Conn>,
    /// The snapshot generation the connection reads.
    generation: u64,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Lease<'_> {
    /// The leased connection, taken to run a statement on; put back into `conn` only when
    /// the statement ended cleanly.
    fn take(&mut self) -> SourceResult<Conn> {
        self.conn
            .take()
            .ok_or_else(|| SourceError::Internal("a lease without a connection".into()))
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // A connection of a renewed snapshot is closed, not given back.
        if let Some(conn) = self.conn.take()
            && self.generation == self.session.generation.load(Ordering::Acquire)
            && let Ok(mut idle) = self.session.idle.lock()
        {
            idle.push((self.generation, conn));
        }
    }
}

impl MySession {
    async fn lease(&self) -> SourceResult<Lease<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| SourceError::Internal(e.to_string()))?;
        let current = self.generation.load(Ordering::Acquire);
        let idle = self.idle.lock().ok().and_then(|mut idle| {
            idle.retain(|(generation, _)| *generation == current);
            idle.pop()
        });
        let (generation, conn) = match idle {
            Some(idle) => idle,
            // One was discarded (a read stopped early, a statement failed) or the snapshot
            // renewed: a new one, on a snapshot of its own.
            None => (
                current,
                connect(&self.opts, self.statement_timeout)
                    .await
                    .map_err(|e| self.failed(e))?,
            ),
        };
        Ok(Lease {
            session: self,
            conn: Some(conn),
            generation,
            _permit: permit,
        })
    }

    /// Reads from now on see the database as it is now (for `--recheck`): idle connections
    /// are closed, busy ones when they come back, and new ones start a fresh snapshot.
    fn renew(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn failed(&self, e: mysql_async::Error) -> SourceError {
        database_error(e).within(format!("{} source `{}`", self.engine, self.source))
    }

    /// How long a statement may go unanswered: the source's timeout and a margin.
    fn answer_limit(&self) -> Duration {
        self.statement_timeout + Duration::from_secs(5)
    }

    /// The error of a statement unanswered past `answer_limit`.
    fn timed_out(&self) -> SourceError {
        SourceError::Invalid(format!(
            "{} source `{}`: no answer from the server within {}s (the source's \
             statement_timeout {}s + 5s margin)",
            self.engine,
            self.source,
            self.answer_limit().as_secs(),
            self.statement_timeout.as_secs()
        ))
    }

    /// Refuses to start a statement once a signal came.
    fn not_stopping(&self) -> SourceResult<()> {
        if cancel::stopping() {
            return Err(SourceError::Invalid(format!(
                "{} source `{}`: not started, a signal came",
                self.engine, self.source
            )));
        }
        Ok(())
    }

    /// Runs one statement that returns few rows (a checksum's digests), on a pooled
    /// connection, within the statement timeout, cancelled by a signal.
    pub async fn query_rows(&self, sql: &str) -> SourceResult<Vec<mysql_async::Row>> {
        self.not_stopping()?;
        let mut lease = self.lease().await?;
        let mut conn = lease.take()?;
        let limit = self.answer_limit();
        let rows = {
            let _running = cancel::Running::new(&self.opts, conn.id());
            tokio::time::timeout(limit, conn.query::<mysql_async::Row, _>(sql)).await
        };
        match rows {
            Ok(Ok(rows)) => {
                lease.conn = Some(conn);
                self.count_rows(rows.len());
                Ok(rows)
            }
            Ok(Err(e)) => Err(self.failed(e)),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// Counts the zero dates of `columns` that no census counted yet (one query per table),
    /// for the report's note: a query run inside MySQL reads them as NULL there.
    pub async fn census_zero_dates(
        &self,
        dates: &[(zero_dates::ColumnName, Kind)],
    ) -> SourceResult<()> {
        let names: Vec<zero_dates::ColumnName> = dates.iter().map(|(c, _)| c.clone()).collect();
        let columns = self.zero_dates.take_uncensused(&names);
        let tables: std::collections::BTreeSet<&str> =
            columns.iter().map(|(t, _)| t.as_str()).collect();
        for table in tables {
            let of_table: Vec<&zero_dates::ColumnName> =
                columns.iter().filter(|(t, _)| t == table).collect();
            let counts: Vec<String> = of_table
                .iter()
                .map(|column| {
                    let kind = dates
                        .iter()
                        .find(|(c, _)| c == *column)
                        .map_or(Kind::Date, |(_, k)| *k);
                    let c = &column.1;
                    format!(
                        "COUNT(CASE WHEN {} THEN 1 END)",
                        pushdown::zero_date(kind, &quote(c))
                    )
                })
                .collect();
            let sql = format!(
                "SELECT {} FROM {}.{}",
                counts.join(", "),
                quote(&self.database),
                quote(table)
            );
            let rows = match self.query_rows(&sql).await {
                Ok(rows) => rows,
                Err(e) => {
                    self.zero_dates.census_failed(&columns);
                    return Err(e);
                }
            };
            for (i, column) in of_table.into_iter().enumerate() {
                let n = rows
                    .first()
                    .and_then(|r| r.get::<Option<u64>, _>(i))
                    .flatten()
                    .unwrap_or(0);
                self.zero_dates.met(column.clone(), n);
            }
        }
        Ok(())
    }

    /// Counts rows the server sent.
    fn count_rows(&self, n: usize) {
        self.rows_read.fetch_add(n as u64, Ordering::Relaxed);
    }
}

#[async_trait]
impl Database for MySession {
    fn engine(&self) -> &'static str {
        self.engine
    }

    fn source_name(&self) -> &str {
        &self.source
    }

    fn rows_read(&self) -> u64 {
        self.rows_read.load(Ordering::Relaxed)
    }

    fn notes(&self) -> Vec<String> {
        self.zero_dates.note().into_iter().collect()
    }

    async fn renew_snapshot(&self) -> SourceResult<()> {
        self.renew();
        Ok(())
    }

    /// `schema_match` compares a MySQL table by its columns only (no declared facts are
    /// read yet), so none are asked for.
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

type BatchSender = tokio::sync::mpsc::Sender<Result<RecordBatch>>;

impl RowReader for MySession {
    fn label(&self) -> String {
        format!("{} source {}", self.engine, self.source)
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
        tokio::spawn(async move {
            if let Err(e) = self.stream(&table, &select, schema, kinds, &tx).await {
                let _ = tx.send(Err(DataFusionError::External(Box::new(e)))).await;
            }
        });
        channel_stream(rx)
    }
}

impl MySession {
    /// Runs `select` and sends its rows until the end, an error, or the reader stopping (a
    /// LIMIT above): then the connection is closed, since MySQL would send the rest first.
    async fn stream(
        &self,
        table: &str,
        select: &str,
        schema: SchemaRef,
        kinds: Vec<Kind>,
        tx: &BatchSender,
    ) -> SourceResult<()> {
        let mut lease = self.lease().await?;
        let mut conn = lease.take()?;
        let outcome = self
            .stream_on(&mut conn, table, select, schema, kinds, tx)
            .await;
        // Only a connection whose statement ended cleanly goes back; a failed or abandoned
        // one is closed (the pool opens a new one when needed).
        if let Ok(true) = outcome {
            lease.conn = Some(conn);
        }
        outcome.map(|_| ())
    }

    /// Ok(true) when every row was read.
    async fn stream_on(
        &self,
        conn: &mut Conn,
        table: &str,
        select: &str,
        schema: SchemaRef,
        kinds: Vec<Kind>,
        tx: &BatchSender,
    ) -> SourceResult<bool> {
        let limit = self.answer_limit();
        let timed_out = || self.timed_out();
        self.not_stopping()?;
        let _running = cancel::Running::new(&self.opts, conn.id());
        let mut result = tokio::time::timeout(limit, conn.exec_iter(select, ()))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| self.failed(e))?;
        let mut columns = Columns::new(schema.clone(), kinds);
        let width = schema.fields().len();
        loop {
            let row = tokio::select! {
                row = tokio::time::timeout(limit, result.next()) => row,
                _ = tx.closed() => return Ok(false),
            };
            let Some(row) = row.map_err(|_| timed_out())?.map_err(|e| self.failed(e))? else {
                break;
            };
            for i in 0..width {
                let cell = cell_of(row.as_ref(i).unwrap_or(&Value::NULL));
                columns.push(i, cell).map_err(|m| {
                    SourceError::Invalid(format!(
                        "{} source `{}`, table `{table}`: column `{}`, row {} {}",
                        self.engine,
                        self.source,
                        schema.field(m.column).name(),
                        m.row,
                        m.reason
                    ))
                })?;
            }
            columns.end_row();
            if columns.len() == BATCH_ROWS && !self.send(table, &mut columns, tx).await? {
                return Ok(false);
            }
        }
        if !columns.is_empty() && !self.send(table, &mut columns, tx).await? {
            return Ok(false);
        }
        Ok(true)
    }

    async fn send(
        &self,
        table: &str,
        columns: &mut Columns,
        tx: &BatchSender,
    ) -> SourceResult<bool> {
        let batch = columns.finish()?;
        for (field, n) in batch.schema().fields().iter().zip(columns.zero_dates()) {
            self.zero_dates
                .met((table.to_string(), field.name().clone()), *n);
        }
        self.rows_read
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        Ok(tx.send(Ok(batch)).await.is_ok())
    }
}

/// A value as the binary protocol sends it, as a [`Cell`].
fn cell_of(value: &Value) -> Cell<'_> {
    match value {
        Value::NULL => Cell::Null,
        Value::Int(v) => Cell::Int(*v),
        Value::UInt(v) => Cell::UInt(*v),
        Value::Float(v) => Cell::Float(*v as f64),
        Value::Double(v) => Cell::Float(*v),
        Value::Bytes(v) => Cell::Bytes(v),
        Value::Date(y, mo, d, h, mi, s, us) => Cell::DateTime(
            *y as i32, *mo as u32, *d as u32, *h as u32, *mi as u32, *s as u32, *us,
        ),
        Value::Time(negative, days, h, m, s, us) => {
            Cell::Time(*negative, days * 24 + *h as u32, *m as u32, *s as u32, *us)
        }
    }
}

/// `` `name` `` as MySQL quotes an identifier.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// One MySQL table or view, read on demand.
#[derive(Debug)]
pub struct MyTable {
    pub session: Arc<MySession>,
    pub def: MyTableDef,
    schema: SchemaRef,
    /// A SELECT giving the table's columns, read instead of the whole table (the rows a
    /// checksum reads back).
    rows: Option<String>,
}

impl MyTable {
    pub fn new(session: Arc<MySession>, def: MyTableDef) -> Self {
        let fields: Vec<(String, Kind, bool)> = def
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind, c.not_null))
            .collect();
        Self {
            session,
            def,
            schema: Columns::schema(&fields),
            rows: None,
        }
    }

    /// The table read as the rows `select` gives (its columns, under their names).
    pub fn restricted(&self, select: String) -> Self {
        Self {
            session: self.session.clone(),
            def: self.def.clone(),
            schema: self.schema.clone(),
            rows: Some(select),
        }
    }

    pub fn select_sql(&self, projection: Option<&Vec<usize>>, limit: Option<usize>) -> String {
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.def.columns.len()).collect(),
        };
        let columns: Vec<String> = indices
            .iter()
            .map(|i| quote(&self.def.columns[*i].name))
            .collect();
        let list = if columns.is_empty() {
            "1".to_string()
        } else {
            columns.join(", ")
        };
        let from = match &self.rows {
            Some(select) => format!("({select}) AS {}", quote(&self.def.name)),
            None => format!(
                "{}.{}",
                quote(&self.session.database),
                quote(&self.def.name)
            ),
        };
        let mut sql = format!("SELECT {list} FROM {from}");
        if let Some(n) = limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }
}

#[async_trait]
impl TableProvider for MyTable {
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
        let reader: Arc<dyn RowReader> = self.session.clone();
        Ok(Arc::new(RowScanExec::new(
            reader,
            self.def.name.clone(),
            vec![self.select_sql(projection, limit)],
            schema,
            kinds,
        )))
    }
}

/// The session a provider reads from, when it is one of this engine's tables.
pub fn database_of(
    provider: &dyn datafusion::catalog::TableProvider,
) -> Option<std::sync::Arc<dyn super::database::Database>> {
    let table = (provider as &dyn std::any::Any).downcast_ref::<MyTable>()?;
    Some(table.session.clone())
}
