//! A diff's per-column statistics as rows every text report shows alike: the columns that
//! differ (or were equal only within a tolerance), with their match percentage, changed
//! values, NULLs on one side only and largest numeric difference.

use crate::engine::outcome::{ColumnStats, DiffSummary};

pub const HEADER: [&str; 5] = [
    "column",
    "match",
    "differ",
    "NULL on one side",
    "largest difference",
];

/// The rows of the columns worth a line, and how many other compared columns match fully.
pub fn rows(diff: &DiffSummary) -> (Vec<[String; 5]>, usize) {
    let shown: Vec<&ColumnStats> = diff
        .column_stats
        .iter()
        .filter(|c| c.differ > 0 || c.forgiven > 0)
        .collect();
    let rows = shown
        .iter()
        .map(|c| {
            [
                c.column.clone(),
                c.match_text(),
                c.differ.to_string(),
                c.null_one_side.to_string(),
                c.largest_difference.map(number).unwrap_or_default(),
            ]
        })
        .collect();
    (rows, diff.column_stats.len() - shown.len())
}

/// The line under the table: `4 other compared columns match on every row.`
pub fn others_line(others: usize, any_shown: bool) -> Option<String> {
    match (others, any_shown) {
        (0, _) => None,
        (1, true) => Some("1 other compared column matches on every row".into()),
        (n, true) => Some(format!("{n} other compared columns match on every row")),
        (1, false) => Some("the compared column matches on every row".into()),
        (n, false) => Some(format!("all {n} compared columns match on every row")),
    }
}

/// A difference as people read it: up to 6 decimals, no float noise (`0.01`, not
/// `0.010000000000000009`).
fn number(d: f64) -> String {
    if d != 0.0 && !(1e-6..1e15).contains(&d.abs()) {
        return format!("{d:e}");
    }
    let text = format!("{d:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_shown_without_float_noise() {
        assert_eq!(number(10.01 - 10.0), "0.01");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(1e20), "1e20");
        assert_eq!(number(0.0), "0");
    }
}
