//! MySQL's zero dates (`0000-00-00`), which crosscheck reads as NULL, counted per column so
//! that the report can say how many NULLs were zero dates. A column read twice (two rules, or
//! a LIMIT before a full read) is counted once: its count is the most any one read met. A
//! query pushed into MySQL reads its rows there, so the columns it reads are counted by a
//! query of their own (a census, once per column and run).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A column of a table: `(table, column)`.
pub type ColumnName = (String, String);

#[derive(Debug, Default)]
pub struct ZeroDates {
    /// The most zero dates one read (or the census) met per column; only nonzero counts.
    counts: Mutex<BTreeMap<ColumnName, u64>>,
    /// Columns whose census ran or is running.
    censused: Mutex<BTreeSet<ColumnName>>,
}

impl ZeroDates {
    /// `n` zero dates met in one read (or census) of the column.
    pub fn met(&self, column: ColumnName, n: u64) {
        if n == 0 {
            return;
        }
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(column).or_default();
        *count = (*count).max(n);
    }

    /// Of `columns`, those not censused yet, marked as censused from now on.
    pub fn take_uncensused(&self, columns: &[ColumnName]) -> Vec<ColumnName> {
        let mut censused = self.censused.lock().unwrap_or_else(|e| e.into_inner());
        columns
            .iter()
            .filter(|c| censused.insert((*c).clone()))
            .cloned()
            .collect()
    }

    /// Gives back the columns of a census that did not finish, so a later query counts them.
    pub fn census_failed(&self, columns: &[ColumnName]) {
        let mut censused = self.censused.lock().unwrap_or_else(|e| e.into_inner());
        for c in columns {
            censused.remove(c);
        }
    }

    /// The report's note, when any zero date was met: the total, then each column's count.
    pub fn note(&self) -> Option<String> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.is_empty() {
            return None;
        }
        let total: u64 = counts.values().sum();
        let columns: Vec<String> = counts
            .iter()
            .map(|((table, column), n)| format!("{table}.{column} {n}"))
            .collect();
        Some(format!(
            "{total} zero date{} (0000-00-00) read as NULL ({})",
            if total == 1 { "" } else { "s" },
            columns.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(c: &str) -> ColumnName {
        ("t".into(), c.into())
    }

    #[test]
    fn a_column_read_twice_is_counted_once() {
        let zero = ZeroDates::default();
        assert_eq!(zero.note(), None);
        zero.met(column("d"), 1); // a LIMIT met one
        zero.met(column("d"), 3); // the full read met all three
        zero.met(column("d"), 3); // a second rule read them again
        zero.met(column("at"), 1);
        zero.met(column("x"), 0);
        assert_eq!(
            zero.note().as_deref(),
            Some("4 zero dates (0000-00-00) read as NULL (t.at 1, t.d 3)")
        );
    }

    #[test]
    fn a_census_runs_once_per_column_unless_it_failed() {
        let zero = ZeroDates::default();
        assert_eq!(
            zero.take_uncensused(&[column("a"), column("b")]),
            [column("a"), column("b")]
        );
        assert_eq!(
            zero.take_uncensused(&[column("b"), column("c")]),
            [column("c")]
        );
        zero.census_failed(&[column("c")]);
        assert_eq!(zero.take_uncensused(&[column("c")]), [column("c")]);
    }
}
