//! Ctrl-C (SIGINT) and SIGTERM — what CI timeouts, `timeout`, systemd and Kubernetes send —
//! end any command the same way: the queries running on the servers are cancelled, then the
//! command fails with exit code 2.

use std::future::Future;

use crate::kernel::error::{Error, Result};

/// Runs `work` to its end, unless a signal comes first.
pub async fn interruptible<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let mut work = std::pin::pin!(work);
    let signal = tokio::select! {
        result = &mut work => return result,
        signal = signalled() => signal,
    };
    // `work` is still alive here, so every connection it holds is still listed and gets a
    // cancel request; a second signal stops waiting for the servers to take them.
    let cancelled = tokio::select! {
        cancelled = crate::source::cancel_all() => Some(cancelled),
        _ = signalled() => None,
    };
    Err(Error::Interrupted { signal, cancelled })
}

/// Resolves when SIGINT or SIGTERM arrives, with the signal's name.
async fn signalled() -> &'static str {
    let terminate = async {
        #[cfg(unix)]
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate => "SIGTERM",
    }
}
