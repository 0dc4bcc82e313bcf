//! Cancelling what runs on MySQL servers: each running statement's connection id, listed
//! while it runs, and `KILL QUERY` sent from a connection of its own, bounded in time.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

struct Entry {
    opts: Opts,
    thread: u32,
}

static RUNNING: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a signal is being handled: no statement starts after it.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::Acquire)
}

/// A running statement's place in the list, removed when dropped.
pub struct Running(u64);

impl Running {
    pub fn new(opts: &Opts, thread: u32) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut running) = RUNNING.lock() {
            running.insert(
                id,
                Entry {
                    opts: opts.clone(),
                    thread,
                },
            );
        }
        Running(id)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            running.remove(&self.0);
        }
    }
}

async fn kill(opts: Opts, thread: u32) -> bool {
    let request = async {
        let mut conn = Conn::new(opts).await?;
        conn.query_drop(format!("KILL QUERY {thread}")).await?;
        conn.disconnect().await
    };
    matches!(
        tokio::time::timeout(super::conninfo::CONNECT_TIMEOUT, request).await,
        Ok(Ok(()))
    )
}

/// Kills every statement running on a MySQL server, all at once: (statements running,
/// servers that did not take the request in time).
pub async fn cancel_all() -> (usize, usize) {
    STOPPING.store(true, Ordering::Release);
    let targets: Vec<(Opts, u32)> = RUNNING
        .lock()
        .map(|running| {
            running
                .values()
                .map(|e| (e.opts.clone(), e.thread))
                .collect()
        })
        .unwrap_or_default();
    let taken = futures::future::join_all(
        targets
            .iter()
            .map(|(opts, thread)| kill(opts.clone(), *thread)),
    )
    .await;
    (targets.len(), taken.iter().filter(|t| !**t).count())
}
