//! The terminal report: one row per rule, then each non-passing rule's sample, then the
//! summary line.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};

use super::format_duration;
use super::sample_value::sample_value;
use crate::engine::outcome::{RuleOutcome, RunOutcome, Status};

/// Longest value shown in a sample cell before it is cut.
const MAX_CELL: usize = 60;

/// How the terminal report is laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Fit tables to this width (a terminal); `None` lays them out at natural width.
    pub width: Option<u16>,
    /// Colour statuses (ANSI).
    pub color: bool,
}

pub fn render(run: &RunOutcome, style: Style) -> String {
    let mut out = String::new();
    if !run.rules.is_empty() {
        out.push_str(&rules_table(&run.rules, style).to_string());
        out.push('\n');
    }
    for rule in run.rules.iter().filter(|r| r.status != Status::Pass) {
        out.push('\n');
        out.push_str(&details(rule, style));
    }
    out.push('\n');
    for source in &run.sources {
        for note in source.notes() {
            out.push_str(&format!("note: source `{}`: {note}\n", source.name));
        }
    }
    out.push_str(&summary_line(run));
    out.push('\n');
    out
}

fn new_table(width: Option<u16>) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).force_no_tty();
    match width {
        Some(w) => {
            table
                .set_width(w)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

fn status_cell(status: Status, color: bool) -> Cell {
    let cell = Cell::new(status.label());
    if !color {
        return cell;
    }
    cell.fg(match status {
        Status::Pass => Color::Green,
        Status::Fail => Color::Red,
        Status::Warn => Color::Yellow,
        Status::Error => Color::Magenta,
    })
}

fn rules_table(rules: &[RuleOutcome], style: Style) -> Table {
    let mut table = new_table(style.width);
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(["status", "rule", "type", "violations", "time"]);
    for r in rules {
        table.add_row([
            status_cell(r.status, style.color),
            Cell::new(&r.name),
            Cell::new(r.type_name),
            Cell::new(violations_text(r)),
            Cell::new(format_duration(r.duration)),
        ]);
    }
    table
}

/// `7 > 0` for a failure, `3 <= 5` when within the threshold, `-` when it could not run.
pub fn violations_text(r: &RuleOutcome) -> String {
    if r.status == Status::Error {
        return "-".into();
    }
    let op = if r.violations > r.max_violations {
        ">"
    } else {
        "<="
    };
    let threshold = if r.threshold.ends_with('%') {
        format!("{} ({})", r.max_violations, r.threshold)
    } else {
        r.max_violations.to_string()
    };
    format!("{} {op} {threshold}", r.violations)
}

fn details(r: &RuleOutcome, style: Style) -> String {
    let mut out = format!(
        "{} {} ({}, {}): {}\n",
        r.status.label(),
        r.name,
        r.type_name,
        r.file,
        r.message
    );
    if let Some(d) = &r.description {
        out.push_str(&format!("  {d}\n"));
    }
    if !r.sample.is_empty() {
        let mut table = new_table(style.width);
        if style.color {
            table.enforce_styling();
        }
        table.set_header(r.sample.columns.iter().map(String::as_str));
        let position = |name: &str| r.sample.columns.iter().position(|c| c == name);
        let pair = position("source").zip(position("target"));
        for row in &r.sample.rows {
            table.add_row(sample_cells(row, pair, style.color));
        }
        out.push_str(&table.to_string());
        out.push('\n');
        let shown = r.sample.rows.len() as u64;
        let rows_sampled = matches!(
            r.type_name,
            "not_null" | "accepted_values" | "expect" | "foreign_key" | "sql"
        );
        if rows_sampled && r.violations > shown {
            out.push_str(&format!("  (first {shown} of {} shown)\n", r.violations));
        }
    }
    if let Some(diff) = &r.diff {
        let (rows, others) = super::column_stats::rows(diff);
        if !rows.is_empty() {
            let mut table = new_table(style.width);
            table.set_header(super::column_stats::HEADER);
            for row in rows.iter() {
                table.add_row(row.iter().map(String::as_str));
            }
            out.push_str(&table.to_string());
            out.push('\n');
        }
        if let Some(line) = super::column_stats::others_line(others, !rows.is_empty()) {
            out.push_str(&format!("  ({line})\n"));
        }
    }
    out
}

/// A sample row's values cut to fit, the `source` and `target` pair (when the sample has
/// one) so that they still differ; a NULL is also dimmed when colours are on.
fn sample_cells(row: &[serde_json::Value], pair: Option<(usize, usize)>, color: bool) -> Vec<Cell> {
    let mut texts: Vec<String> = row.iter().map(|v| truncate(&sample_value(v))).collect();
    if let Some((s, t)) = pair
        && let (Some(source), Some(target)) = (row.get(s), row.get(t))
    {
        let (a, b) = cut_pair(&sample_value(source), &sample_value(target));
        texts[s] = a;
        texts[t] = b;
    }
    texts
        .into_iter()
        .zip(row)
        .map(|(text, value)| {
            let cell = Cell::new(text);
            if color && value.is_null() {
                cell.add_attribute(Attribute::Dim)
            } else {
                cell
            }
        })
        .collect()
}

/// Two values whose cut texts would be equal although the values differ (a long shared
/// beginning: two view queries, two index definitions) are cut from a little before where
/// they first differ, so the difference shows.
fn cut_pair(a: &str, b: &str) -> (String, String) {
    let (cut_a, cut_b) = (truncate(a), truncate(b));
    if cut_a != cut_b || a == b {
        return (cut_a, cut_b);
    }
    let shared = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let from = shared.saturating_sub(MAX_CELL / 3);
    let excerpt = |s: &str| truncate(&format!("…{}", s.chars().skip(from).collect::<String>()));
    (excerpt(a), excerpt(b))
}

fn truncate(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= MAX_CELL {
        return one_line;
    }
    let cut: String = one_line.chars().take(MAX_CELL - 1).collect();
    format!("{cut}…")
}

/// `12 rules: 9 passed, 2 failed, 1 warned, 0 errors in 1.24s`
pub fn summary_line(run: &RunOutcome) -> String {
    let s = run.summary();
    format!(
        "{} {}: {} passed, {} failed, {} warned, {} {} in {}",
        s.total,
        if s.total == 1 { "rule" } else { "rules" },
        s.passed,
        s.failed,
        s.warned,
        s.errored,
        if s.errored == 1 { "error" } else { "errors" },
        format_duration(run.duration)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_that_differ_late_are_cut_where_they_differ() {
        let shared = "SELECT payment.payment_id, payment.customer_id, payment.amount FROM payment";
        let (a, b) = cut_pair(
            &format!("{shared} WHERE amount > 10"),
            &format!("{shared} WHERE amount > 100"),
        );
        assert_ne!(a, b);
        assert!(a.starts_with('…') && a.ends_with("> 10"), "{a}");
        assert!(b.ends_with("> 100"), "{b}");
        let (a, b) = cut_pair(&"a".repeat(80), &"b".repeat(80));
        assert!(
            a.starts_with('a') && b.starts_with('b'),
            "cut as usual when the cuts differ"
        );
        let same = "c".repeat(80);
        assert_eq!(cut_pair(&same, &same).0, truncate(&same));
    }
}
