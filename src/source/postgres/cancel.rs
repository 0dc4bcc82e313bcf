//! Cancelling what runs on the servers: each open connection's cancel key, listed while the
//! connection is open (so a signal can cancel every running query), and a cancel request that
//! gives up instead of hanging on a server that does not answer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// The connection's state (`session::BUSY` while a statement runs).
    state: Arc<AtomicU8>,
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
    pub fn new(session: u64, canceller: Canceller, state: Arc<AtomicU8>) -> Self {
        let id = next_id();
        if let Ok(mut open) = OPEN.lock() {
            open.insert(
                id,
                Entry {
                    session,
                    canceller,
                    state,
                },
            );
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

/// Set once a signal came: no new statement is sent after it.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a signal is being handled (statements are then refused).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::Acquire)
}

/// The busy connections among `ids` (all of them when `None`).
fn busy(ids: Option<&[u64]>) -> Vec<(u64, Canceller)> {
    OPEN.lock()
        .map(|open| {
            open.iter()
                .filter(|(id, e)| {
                    e.state.load(Ordering::Acquire) == super::session::BUSY
                        && ids.is_none_or(|ids| ids.contains(id))
                })
                .map(|(id, e)| (*id, e.canceller.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Asks the servers to cancel every statement crosscheck is running (idle connections have
/// none), all at once; each request is bounded, so this ends even when servers do not answer.
/// Returns how many statements were running, and on how many connections the server did
/// not take the request.
///
/// A server ignores a cancel request that arrives before the statement it was meant for (still
/// on its way over the connection), so no new statement is sent from now on, and a statement
/// still running shortly after its server took the request is cancelled again.
pub async fn cancel_all() -> (usize, usize) {
    STOPPING.store(true, Ordering::Release);
    let mut targets = busy(None);
    let running = targets.len();
    let mut unanswered = None;
    for _ in 0..3 {
        if targets.is_empty() {
            break;
        }
        let taken =
            futures::future::join_all(targets.iter().map(|(_, canceller)| canceller.cancel()))
                .await;
        unanswered.get_or_insert(taken.iter().filter(|taken| !**taken).count());
        let answered: Vec<u64> = targets
            .iter()
            .zip(&taken)
            .filter(|(_, taken)| **taken)
            .map(|((id, _), _)| *id)
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        targets = busy(Some(&answered));
    }
    (running, unanswered.unwrap_or(0))
}
