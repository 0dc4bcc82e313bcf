//! The one error type for what stops crosscheck from vouching for anything (exit code 2).
//! A rule that fails is an outcome, not an error; a rule that cannot run is an outcome with
//! status `error`. Messages are rendered once, in `main`.

use crate::config::Diagnostics;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project files are invalid; every problem found is inside.
    #[error("{0}")]
    Config(Box<Diagnostics>),
    /// A source could not be opened, listed or read.
    #[error("source `{name}`: {source}")]
    Source {
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Command-line arguments that parse but make no sense together.
    #[error("{0}")]
    Usage(String),
    /// Writing a report or reading a file failed.
    #[error("{0}")]
    Io(String),
    /// Ctrl-C or SIGTERM: running queries were cancelled on their servers. `cancelled`: how
    /// many statements were running, and on how many connections the server did not take the
    /// cancel request in time (`None`: a second signal stopped the waiting).
    #[error("{}", interrupted_text(signal, *cancelled))]
    Interrupted {
        signal: &'static str,
        cancelled: Option<(usize, usize)>,
    },
    /// A broken invariant: a bug in crosscheck, never bad input.
    #[error("internal error (this is a bug, please report it): {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The text of a broken invariant where an error is still text (a rule's outcome, a
/// DataFusion error): worded once, as `Error::Internal` renders it.
pub fn bug(what: impl std::fmt::Display) -> String {
    Error::Internal(what.to_string()).to_string()
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Self {
        Error::Config(Box::new(d))
    }
}

fn interrupted_text(signal: &str, cancelled: Option<(usize, usize)>) -> String {
    let head = format!(
        "interrupted by {signal}: queries still running on the database servers were cancelled"
    );
    match cancelled {
        Some((0, _)) => {
            format!("interrupted by {signal} (no query was running on a database server)")
        }
        Some((_, 0)) => head,
        Some((_, n)) => format!(
            "{head}, except on {n} connection{} whose server did not take the cancel request in \
             time ({} with the source's statement_timeout)",
            if n == 1 { "" } else { "s" },
            if n == 1 {
                "its query ends"
            } else {
                "their queries end"
            }
        ),
        None => format!(
            "{head} (a second signal stopped the waiting: some cancel requests may not have \
             reached their server)"
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bug_is_worded_as_the_internal_error() {
        assert_eq!(
            super::bug("scan rule run alone"),
            "internal error (this is a bug, please report it): scan rule run alone"
        );
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<super::Error>() <= 56);
    }

    #[test]
    fn an_interruption_says_which_cancels_went_unanswered() {
        let text = |cancelled| {
            super::Error::Interrupted {
                signal: "SIGTERM",
                cancelled,
            }
            .to_string()
        };
        assert_eq!(
            text(Some((2, 0))),
            "interrupted by SIGTERM: queries still running on the database servers were cancelled"
        );
        assert_eq!(
            text(Some((0, 0))),
            "interrupted by SIGTERM (no query was running on a database server)"
        );
        assert!(text(Some((1, 1))).contains("except on 1 connection whose server"));
        assert!(
            text(Some((3, 2))).contains("2 connections")
                && text(Some((3, 2))).contains("their queries")
        );
        assert!(text(None).contains("a second signal"));
    }
}
