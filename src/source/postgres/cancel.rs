//! Cancelling what runs on the servers: each open connection's cancel key, listed while the
//! connection is open (so a signal can cancel every running query), and a cancel request that
//! gives up instead of hanging on a server that does not answer.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_postgres::{CancelToken, NoTls};

/// How to ask a server to cancel one connection's query.
#[derive(Clone)]
pub struct Canceller {
    token: CancelToken,
    tls: Option<rustls::ClientConfig>,
    /// A cancel request opens a connection of its own, to a postmaster that may be frozen.
    limit: Duration,
}

impl Canceller {
    pub fn new(token: CancelToken, tls: Option<rustls::ClientConfig>, limit: Duration) -> Self {
        Self { token, tls, limit }
    }

    /// Sends the cancel request; true when the server took it within the limit.
    pub async fn cancel(&self) -> bool {
        let request = async {
            match &self.tls {
                Some(config) => {
                    self.token
                        .cancel_query(tokio_postgres_rustls::MakeRustlsConnect::new(
                            config.clone(),
                        ))
                        .await
                }
                None => self.token.cancel_query(NoTls).await,
            }
        };
        matches!(tokio::time::timeout(self.limit, request).await, Ok(Ok(())))
    }
}

struct Entry {
    session: u64,
    canceller: Canceller,
}

static OPEN: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A process-unique number (for connections and sessions).
pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// One open connection's place in the list; dropping it (when the connection's task ends,
/// or is aborted) takes the connection off.
pub struct Listed(u64);

impl Listed {
    pub fn new(session: u64, canceller: Canceller) -> Self {
        let id = next_id();
        if let Ok(mut open) = OPEN.lock() {
            open.insert(id, Entry { session, canceller });
        }
        Listed(id)
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        if let Ok(mut open) = OPEN.lock() {
            open.remove(&self.0);
        }
    }
}

/// How many connections of `session` are open.
pub fn open_connections(session: u64) -> usize {
    OPEN.lock()
        .map(|open| open.values().filter(|e| e.session == session).count())
        .unwrap_or(0)
}

/// Asks every server to cancel the queries crosscheck is running, all at once; each request
/// is bounded, so this ends even when servers do not answer.
pub async fn cancel_all() {
    let all: Vec<Canceller> = OPEN
        .lock()
        .map(|open| open.values().map(|e| e.canceller.clone()).collect())
        .unwrap_or_default();
    futures::future::join_all(all.iter().map(Canceller::cancel)).await;
}
