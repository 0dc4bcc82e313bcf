//! Connections to one PostgreSQL source: a bounded pool whose every connection is a
//! read-only REPEATABLE READ transaction on one exported snapshot, so all rules see one state
//! of the database; each query has the source's statement timeout.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{CancelToken, Client, Config, NoTls};

use super::conninfo::{ConnInfo, SslMode};
use super::tls;

/// Live connections of one source.
pub struct PgSession {
    pub source: String,
    pub info: ConnInfo,
    tls: Option<rustls::ClientConfig>,
    statement_timeout: Duration,
    snapshot: Mutex<Option<String>>,
    snapshot_holder: Mutex<Option<Client>>,
    idle: Mutex<Vec<Client>>,
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

/// Cancel tokens of every open connection, so Ctrl-C can cancel what runs on the servers.
static CANCEL_TOKENS: Mutex<Vec<(CancelToken, Option<rustls::ClientConfig>)>> =
    Mutex::new(Vec::new());

/// Asks every server to cancel the queries crosscheck is running.
pub async fn cancel_all() {
    let tokens: Vec<_> = CANCEL_TOKENS
        .lock()
        .map(|mut t| t.drain(..).collect())
        .unwrap_or_default();
    for (token, tls) in tokens {
        let _ = match tls {
            Some(config) => {
                token
                    .cancel_query(tokio_postgres_rustls::MakeRustlsConnect::new(config))
                    .await
            }
            None => token.cancel_query(NoTls).await,
        };
    }
}

/// A connection borrowed from the pool; goes back when dropped.
pub struct PooledClient {
    client: Option<Client>,
    session: Arc<PgSession>,
    _permit: OwnedSemaphorePermit,
}

impl std::ops::Deref for PooledClient {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a pooled client is present until dropped")
    }
}

impl PooledClient {
    /// Closes the connection instead of returning it: after a failed statement its
    /// transaction is aborted, after an abandoned COPY its protocol state is unknown.
    pub fn discard(&mut self) {
        self.client = None;
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        if let (Some(client), Ok(mut idle)) = (self.client.take(), self.session.idle.lock())
            && !client.is_closed()
        {
            idle.push(client);
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
    ) -> Result<Arc<Self>, String> {
        let tls = tls::client_config(&info)?;
        let session = Arc::new(PgSession {
            source: source.to_string(),
            info,
            tls,
            statement_timeout,
            snapshot: Mutex::new(None),
            snapshot_holder: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            max_connections: max_connections.max(1),
            server_version: std::sync::OnceLock::new(),
            rows_read: AtomicU64::new(0),
        });
        let first = session.connect().await?;
        if let Ok(row) = first
            .query_one("SELECT current_setting('server_version_num')::int4", &[])
            .await
        {
            let _ = session
                .server_version
                .set(row.get::<_, i32>(0).max(0) as u32);
        }
        // The exporting transaction must stay open while others import its snapshot, so this
        // connection only holds it and never runs a query that could fail and abort it.
        // A standby cannot export snapshots; each connection then has its own.
        if let Ok(row) = first.query_one("SELECT pg_export_snapshot()", &[]).await {
            let id: String = row.get(0);
            if let (Ok(mut s), Ok(mut holder)) =
                (session.snapshot.lock(), session.snapshot_holder.lock())
            {
                *s = Some(id);
                *holder = Some(first);
            }
        }
        Ok(session)
    }

    /// A connection from the pool, opening one if none is idle and the limit allows.
    pub async fn client(self: &Arc<Self>) -> Result<PooledClient, String> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let client = match idle {
            Some(client) => client,
            None => self.connect().await?,
        };
        Ok(PooledClient {
            client: Some(client),
            session: self.clone(),
            _permit: permit,
        })
    }

    async fn connect(&self) -> Result<Client, String> {
        let config = self.config();
        let client = match &self.tls {
            Some(tls_config) => {
                let (client, connection) = config
                    .connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                        tls_config.clone(),
                    ))
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                tokio::spawn(connection);
                client
            }
            None => {
                let (client, connection) = config
                    .connect(NoTls)
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                tokio::spawn(connection);
                client
            }
        };
        if let Ok(mut tokens) = CANCEL_TOKENS.lock() {
            tokens.push((client.cancel_token(), self.tls.clone()));
        }
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
        client.batch_execute(&setup).await.map_err(|e| {
            format!(
                "cannot start a read-only snapshot on `{}`: {}",
                self.info.display(),
                error_text(&e)
            )
        })?;
        Ok(client)
    }

    fn config(&self) -> Config {
        let info = &self.info;
        let mut config = Config::new();
        for host in &info.hosts {
            if host.starts_with('/') {
                config.host_path(host);
            } else {
                config.host(host);
            }
        }
        for address in &info.hostaddrs {
            config.hostaddr(*address);
        }
        config
            .port(info.port)
            .user(&info.user)
            .dbname(&info.dbname)
            .application_name(&info.application_name);
        if let Some(password) = &info.password {
            config.password(password);
        }
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

    fn connect_error(&self, e: &tokio_postgres::Error) -> String {
        format!(
            "cannot connect to {}: {}",
            self.info.display(),
            error_text(e)
        )
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
