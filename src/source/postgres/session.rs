//! Connections to one PostgreSQL source: a bounded pool whose every connection is a
//! read-only REPEATABLE READ transaction on one exported snapshot, so all rules see one state
//! of the database. Nothing waits on a server for ever: `connect_timeout` bounds each
//! connection's whole start-up, and the client gives every statement the source's
//! `statement_timeout` plus a margin (a frozen server cannot enforce its own), then cancels it.
//! A connection goes back to the pool only when its last statement finished cleanly.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use super::cancel::{self, Canceller, Listed};
use super::conninfo::{ConnInfo, DEFAULT_CONNECT_TIMEOUT, SslMode};
use super::tls;
use crate::source::error::{SourceError, SourceResult};

/// How much longer than the source's `statement_timeout` the client waits for a server
/// before it gives up: room for the server's own timeout to fire and its error to arrive.
pub const CLIENT_MARGIN: Duration = Duration::from_secs(5);

/// Live connections of one source.
pub struct PgSession {
    pub source: String,
    pub info: ConnInfo,
    /// Process-unique, to count this session's open connections.
    id: u64,
    tls: Option<rustls::ClientConfig>,
    statement_timeout: Duration,
    snapshot: Mutex<Option<String>>,
    snapshot_holder: Mutex<Option<Conn>>,
    /// Bumped when the snapshot is renewed: a connection of an older one is closed when it
    /// comes back to the pool, never reused.
    generation: AtomicU64,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    /// Connections the pool opens at most.
    pub max_connections: usize,
    /// `server_version_num` (150004 for 15.4), once known.
    pub server_version: std::sync::OnceLock<u32>,
    /// Rows this source has sent to crosscheck (table rows, or result rows of pushed queries).
    pub rows_read: AtomicU64,
}

impl std::fmt::Debug for PgSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgSession({}, {})", self.source, self.info.display())
    }
}

/// Why a statement gave no result.
#[derive(Debug)]
pub enum PgError {
    /// The server (or the connection) reported an error.
    Server(tokio_postgres::Error),
    /// The server did not answer within the client's limit; a cancel request was sent.
    NoAnswer {
        waited: Duration,
        statement_timeout: Duration,
    },
    /// A signal came: no new statement is sent.
    Stopping,
    /// No connection could be opened (every host tried, each one's reason in the text).
    Connect(String),
}

impl PgError {
    /// The SQLSTATE, when the server sent one.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            PgError::Server(e) => e.code(),
            PgError::NoAnswer { .. } | PgError::Stopping | PgError::Connect(_) => None,
        }
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PgError::Server(e) => Some(e),
            _ => None,
        }
    }
}

impl From<PgError> for crate::source::error::SourceError {
    fn from(e: PgError) -> Self {
        crate::source::error::SourceError::Database {
            sqlstate: e.code().map(|c| c.code().to_string()),
            source: Box::new(e),
        }
    }
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PgError::Server(e) => write!(f, "{}", error_text(e)),
            PgError::NoAnswer {
                waited,
                statement_timeout,
            } => write!(
                f,
                "no answer from the server within {} (the source's statement_timeout {} + {} \
                 margin): it is stopped, frozen or unreachable; crosscheck gave up on the query \
                 and asked the server to cancel it",
                duration_text(*waited),
                duration_text(*statement_timeout),
                duration_text(CLIENT_MARGIN)
            ),
            PgError::Stopping => write!(f, "interrupted: no new statement is sent"),
            PgError::Connect(text) => write!(f, "{text}"),
        }
    }
}

/// `2s`, `1.5s`, `5.05s`, `50ms`.
pub fn duration_text(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        let millis = format!("{:03}", d.subsec_millis());
        format!("{}.{}s", d.as_secs(), millis.trim_end_matches('0'))
    }
}

// A connection's state decides what happens to it when it is let go.
/// Opening: connected, the session's setup not done yet.
const STARTING: u8 = 0;
/// No statement running, none failed: fit for the pool.
const IDLE: u8 = 1;
/// A statement (or COPY stream) is running: the one state a signal's cancel request is for.
pub(super) const BUSY: u8 = 2;
/// A statement failed: the transaction is aborted, the connection is closed.
const FAILED: u8 = 3;
/// The server did not answer; a cancel was sent and the socket is dropped.
const GAVE_UP: u8 = 4;

/// One open connection: the client, the task driving its socket, and how to cancel its query.
pub struct Conn {
    client: Client,
    task: tokio::task::AbortHandle,
    canceller: Canceller,
    statement_timeout: Duration,
    /// Shared with the list of open connections, which cancels only the busy ones.
    state: Arc<AtomicU8>,
    /// The session's snapshot generation this connection reads.
    generation: u64,
}

impl Conn {
    fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// Moves to `to`, except out of FAILED and GAVE_UP, which are final.
    fn settle(&self, to: u8) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now != FAILED && now != GAVE_UP).then_some(to)
            });
    }

    fn limit(&self) -> Duration {
        self.statement_timeout + CLIENT_MARGIN
    }

    /// Runs one statement within the client's limit.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, PgError> {
        self.bounded_then(work, IDLE).await
    }

    /// `bounded`, moving to `done` on success (BUSY for a COPY, whose rows are still to come).
    async fn bounded_then<T>(
        &self,
        work: impl Future<Output = Result<T, tokio_postgres::Error>>,
        done: u8,
    ) -> Result<T, PgError> {
        if cancel::stopping() {
            self.settle(FAILED);
            return Err(PgError::Stopping);
        }
        self.settle(BUSY);
        let limit = self.limit();
        match tokio::time::timeout(limit, work).await {
            Ok(Ok(value)) => {
                self.settle(done);
                Ok(value)
            }
            Ok(Err(e)) => {
                self.settle(FAILED);
                Err(PgError::Server(e))
            }
            Err(_) => Err(self.give_up(limit).await),
        }
    }

    /// After `waited` without an answer: cancel the query (bounded too) and mark the
    /// connection for closing.
    async fn give_up(&self, waited: Duration) -> PgError {
        self.state.store(GAVE_UP, Ordering::Release);
        self.canceller.cancel().await;
        PgError::NoAnswer {
            waited,
            statement_timeout: self.statement_timeout,
        }
    }

    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PgError> {
        self.bounded(self.client.query(sql, params)).await
    }

    /// `query` without parallel workers, for the checksum's digests: their row hashes are
    /// costly enough per row that the planner picks a parallel plan, which groups by sorting
    /// (spilling the whole table to disk) instead of hashing the 1,024 buckets, on a server
    /// whose other cores the other side and the other queries already use. Measured on 2M
    /// rows: 2.5-3.5 s against 1.3-1.5 s serial. The setting lasts until the query ends.
    pub async fn query_serial(&self, sql: &str) -> Result<Vec<Row>, PgError> {
        self.batch_execute("SET LOCAL max_parallel_workers_per_gather = 0")
            .await?;
        let rows = self.query(sql, &[]).await?;
        self.batch_execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
            .await?;
        Ok(rows)
    }

    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, PgError> {
        self.bounded(self.client.query_one(sql, params)).await
    }

    pub async fn prepare(&self, sql: &str) -> Result<Statement, PgError> {
        self.bounded(self.client.prepare(sql)).await
    }

    /// `COPY … TO STDOUT`: the time spent waiting for the server (starting the COPY, then
    /// for each chunk) counts against the limit; time the reader takes between chunks does not.
    pub async fn copy_out(&self, sql: &str) -> Result<CopyRows<'_>, PgError> {
        let started = Instant::now();
        let limit = self.limit();
        // Still running until the stream ends.
        let stream = self.bounded_then(self.client.copy_out(sql), BUSY).await?;
        Ok(CopyRows {
            conn: self,
            stream: Box::pin(stream),
            limit,
            left: limit.saturating_sub(started.elapsed()),
        })
    }

    async fn batch_execute(&self, sql: &str) -> Result<(), PgError> {
        self.bounded(self.client.batch_execute(sql)).await
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        match self.state() {
            // Dropping the client ends its task gracefully (a Terminate message).
            IDLE | FAILED => {}
            // A statement still runs (a dropped stream or query): cancel it in the background,
            // and close the socket now, whatever the server does.
            BUSY => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let canceller = self.canceller.clone();
                    runtime.spawn(async move { canceller.cancel().await });
                }
                self.task.abort();
            }
            _ => self.task.abort(),
        }
    }
}

/// The chunks of one `COPY … TO STDOUT`.
pub struct CopyRows<'a> {
    conn: &'a Conn,
    stream: Pin<Box<tokio_postgres::CopyOutStream>>,
    limit: Duration,
    /// Time left to wait for the server.
    left: Duration,
}

impl CopyRows<'_> {
    /// The next chunk; `None` at the end, after which the connection is reusable.
    pub async fn next(&mut self) -> Option<Result<bytes::Bytes, PgError>> {
        // A chunk already received needs no timer (the server sends one per row).
        let item = match self.stream.next().now_or_never() {
            Some(item) => item,
            None => {
                let started = Instant::now();
                match tokio::time::timeout(self.left, self.stream.next()).await {
                    Ok(item) => {
                        self.left = self.left.saturating_sub(started.elapsed());
                        item
                    }
                    Err(_) => return Some(Err(self.conn.give_up(self.limit).await)),
                }
            }
        };
        match item {
            Some(Ok(chunk)) => Some(Ok(chunk)),
            Some(Err(e)) => {
                self.conn.settle(FAILED);
                Some(Err(PgError::Server(e)))
            }
            None => {
                self.conn.settle(IDLE);
                None
            }
        }
    }
}

/// A connection borrowed from the pool; goes back when dropped, if its last statement ended
/// cleanly. A failed, abandoned or unanswered statement closes it instead.
pub struct PooledClient {
    conn: Option<Conn>,
    session: Arc<PgSession>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for PooledClient {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl PooledClient {
    /// Closes the connection instead of returning it.
    pub fn discard(&mut self) {
        self.conn = None;
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && conn.state() == IDLE
            && !conn.client.is_closed()
            && conn.generation == self.session.generation.load(Ordering::Acquire)
            && let Ok(mut idle) = self.session.idle.lock()
        {
            idle.push(conn);
        }
    }
}

impl PgSession {
    /// Connects once (to fail fast on a wrong password or host) and exports the snapshot.
    pub async fn open(
        source: &str,
        info: ConnInfo,
        statement_timeout: Duration,
        max_connections: usize,
    ) -> SourceResult<Arc<Self>> {
        let tls = tls::client_config(&info).map_err(|e| SourceError::Invalid(e.0))?;
        let session = Arc::new(PgSession {
            source: source.to_string(),
            info,
            id: cancel::next_id(),
            tls,
            statement_timeout,
            snapshot: Mutex::new(None),
            snapshot_holder: Mutex::new(None),
            generation: AtomicU64::new(0),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            max_connections: max_connections.max(1),
            server_version: std::sync::OnceLock::new(),
            rows_read: AtomicU64::new(0),
        });
        let first = session.connect().await.map_err(PgError::Connect)?;
        let setup_failed = |e: PgError| {
            SourceError::from(e).within(format!("cannot read `{}`", session.info.display()))
        };
        match first
            .query_one("SELECT current_setting('server_version_num')::int4", &[])
            .await
        {
            Ok(row) => {
                let _ = session
                    .server_version
                    .set(row.get::<_, i32>(0).max(0) as u32);
            }
            Err(e @ PgError::NoAnswer { .. }) => return Err(setup_failed(e)),
            Err(_) => {}
        }
        session.export_snapshot(first).await.map_err(setup_failed)?;
        Ok(session)
    }

    /// Makes `holder`'s snapshot the one every new connection imports. The exporting
    /// transaction must stay open while others import its snapshot, so this connection only
    /// holds it and never runs a query that could fail and abort it. A standby cannot export
    /// snapshots; each connection then has its own.
    async fn export_snapshot(&self, holder: Conn) -> Result<(), PgError> {
        match holder.query_one("SELECT pg_export_snapshot()", &[]).await {
            Ok(row) => {
                let id: String = row.get(0);
                if let (Ok(mut s), Ok(mut kept)) =
                    (self.snapshot.lock(), self.snapshot_holder.lock())
                {
                    *s = Some(id);
                    *kept = Some(holder);
                }
                Ok(())
            }
            Err(e @ PgError::NoAnswer { .. }) => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// Ends the snapshot this session reads and starts a newer one, for a recheck that must
    /// see the writes made since: idle connections are closed, busy ones when they return,
    /// and every connection opened from now on reads the new snapshot.
    pub async fn renew_snapshot(&self) -> Result<(), PgError> {
        if let Ok(mut s) = self.snapshot.lock() {
            *s = None;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        let holder = self.connect().await.map_err(PgError::Connect)?;
        // The old holder is dropped (and its transaction ends) when the new one takes its place.
        self.export_snapshot(holder).await
    }

    /// How many connections of this source are open (the snapshot's holder included).
    pub fn open_connections(&self) -> usize {
        cancel::open_connections(self.id)
    }

    /// A connection from the pool, opening one if none is idle and the limit allows.
    pub async fn client(self: &Arc<Self>) -> Result<PooledClient, PgError> {
        // The semaphore is never closed while the session lives.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PgError::Stopping)?;
        // An idle connection the server has ended meanwhile (an idle timeout, an
        // administrator, a failover) is dropped, never handed out.
        let idle = self.idle.lock().ok().and_then(|mut idle| {
            idle.retain(|conn| !conn.client.is_closed());
            idle.pop()
        });
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect().await.map_err(PgError::Connect)?,
        };
        Ok(PooledClient {
            conn: Some(conn),
            session: self.clone(),
            _permit: permit,
        })
    }

    /// Opens a connection, trying each host in turn as libpq does; `connect_timeout` bounds
    /// each host's whole start-up (TCP, TLS, authentication and the session's setup).
    async fn connect(&self) -> Result<Conn, String> {
        let info = &self.info;
        if !info.hostaddrs.is_empty() && info.hostaddrs.len() != info.hosts.len() {
            return Err(format!(
                "cannot connect to {}: {} hostaddr values for {} hosts",
                info.display(),
                info.hostaddrs.len(),
                info.hosts.len()
            ));
        }
        let mut failures = Vec::new();
        for (i, host) in info.hosts.iter().enumerate() {
            let attempt = self.start(self.config(host, info.hostaddrs.get(i).copied()));
            let result = match info.connect_timeout {
                Some(limit) => tokio::time::timeout(limit, attempt)
                    .await
                    .unwrap_or_else(|_| {
                        Err(format!(
                            "no answer within connect_timeout ({}) — the server accepted no \
                             connection, or did not finish TLS, authentication or the session \
                             setup; set `connect_timeout` in the connection string to wait longer",
                            duration_text(limit)
                        ))
                    }),
                None => attempt.await,
            };
            match result {
                Ok(conn) => return Ok(conn),
                Err(e) => failures.push((host, e)),
            }
        }
        let detail = match failures.as_slice() {
            [(_, only)] => only.clone(),
            _ => failures
                .iter()
                .map(|(host, e)| format!("{host}: {e}"))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Err(format!("cannot connect to {}: {detail}", info.display()))
    }

    /// One host's start-up: the connection, then the read-only snapshot transaction.
    async fn start(&self, config: Config) -> Result<Conn, String> {
        let conn = match &self.tls {
            Some(tls_config) => {
                let (client, connection) = config
                    .connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                        tls_config.clone(),
                    ))
                    .await
                    .map_err(|e| error_text(&e))?;
                self.adopt(client, connection)
            }
            None => {
                let (client, connection) =
                    config.connect(NoTls).await.map_err(|e| error_text(&e))?;
                self.adopt(client, connection)
            }
        };
        let timeout_ms = self.statement_timeout.as_millis();
        let snapshot = self.snapshot.lock().ok().and_then(|s| s.clone());
        let mut setup = format!(
            "SET statement_timeout = {timeout_ms}; SET default_transaction_read_only = on; \
             BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
        );
        if let Some(id) = snapshot {
            setup.push_str(&format!(
                " SET TRANSACTION SNAPSHOT {};",
                postgres_protocol::escape::escape_literal(&id)
            ));
        }
        conn.batch_execute(&setup)
            .await
            .map_err(|e| format!("cannot start a read-only snapshot: {e}"))?;
        Ok(conn)
    }

    /// Drives a new connection in a task of its own, listed among the open connections
    /// (for Ctrl-C and SIGTERM) until that task ends.
    fn adopt<S, T>(&self, client: Client, connection: tokio_postgres::Connection<S, T>) -> Conn
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let limit = self.info.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let canceller = Canceller::new(client.cancel_token(), self.tls.clone(), limit);
        let state = Arc::new(AtomicU8::new(STARTING));
        let listed = Listed::new(self.id, canceller.clone(), state.clone());
        let task = tokio::spawn(async move {
            let _listed = listed;
            let _ = connection.await;
        });
        Conn {
            client,
            task: task.abort_handle(),
            canceller,
            statement_timeout: self.statement_timeout,
            state,
            generation: self.generation.load(Ordering::Acquire),
        }
    }

    fn config(&self, host: &str, address: Option<std::net::IpAddr>) -> Config {
        let info = &self.info;
        let mut config = Config::new();
        if host.starts_with('/') {
            config.host_path(host);
        } else {
            config.host(host);
        }
        if let Some(address) = address {
            config.hostaddr(address);
        }
        config
            .port(info.port)
            .user(&info.user)
            .dbname(&info.dbname)
            .application_name(&info.application_name);
        if let Some(password) = &info.password {
            config.password(password);
        }
        // Bounds each TCP connect too, so the next address of a name gets its turn.
        if let Some(timeout) = info.connect_timeout {
            config.connect_timeout(timeout);
        }
        if let Some(options) = &info.options {
            config.options(options);
        }
        config.ssl_mode(match info.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Allow | SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        config
    }
}

/// A PostgreSQL error as one line: the server's message (with its SQLSTATE) or the cause.
/// Data values the server quotes are masked (`redact`); its DETAIL is never shown.
pub fn error_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!(
            "{} (SQLSTATE {})",
            super::redact::redact(db.message()),
            db.code().code()
        );
        if db.code() == &tokio_postgres::error::SqlState::QUERY_CANCELED
            && db.message().contains("statement timeout")
        {
            text.push_str(" — raise `statement_timeout` on the source if the query needs longer");
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_answer_names_the_limit_and_its_parts() {
        assert_eq!(duration_text(Duration::from_millis(50)), "50ms");
        assert_eq!(duration_text(Duration::from_secs(7)), "7s");
        assert_eq!(duration_text(Duration::from_millis(5050)), "5.05s");
        assert_eq!(duration_text(Duration::from_millis(5500)), "5.5s");
        let text = PgError::NoAnswer {
            waited: Duration::from_secs(7),
            statement_timeout: Duration::from_secs(2),
        }
        .to_string();
        assert!(
            text.starts_with("no answer from the server within 7s (the source's statement_timeout 2s + 5s margin)"),
            "{text}"
        );
    }
}
