//! The Markdown report: the summary table and each non-passing rule's sample, fit for a
//! pull-request comment or a CI job summary.

use super::format_duration;
use super::sample_value::sample_value;
use super::terminal::{summary_line, violations_text};
use crate::engine::outcome::{RuleOutcome, RunOutcome, Status};

pub fn render(run: &RunOutcome) -> String {
    let s = run.summary();
    let verdict = if s.errored > 0 {
        "could not vouch for the data"
    } else if s.failed > 0 {
        "failed"
    } else {
        "passed"
    };
    let mut out = format!("## crosscheck {verdict}\n\n{}\n\n", summary_line(run));
    out.push_str(
        "| status | rule | type | violations | message | time |\n|---|---|---|---:|---|---:|\n",
    );
    for r in &run.rules {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            badge(r.status),
            cell(&r.name),
            r.type_name,
            cell(&violations_text(r)),
            cell(&r.message),
            format_duration(r.duration)
        ));
    }
    for r in run.rules.iter().filter(|r| r.status != Status::Pass) {
        out.push_str(&details(r));
    }
    out
}

fn badge(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅ PASS",
        Status::Fail => "❌ FAIL",
        Status::Warn => "⚠️ WARN",
        Status::Error => "💥 ERROR",
    }
}

fn details(r: &RuleOutcome) -> String {
    let mut out = format!("\n### {} `{}`\n\n", badge(r.status), cell(&r.name));
    out.push_str(&format!(
        "{} — `{}`, {}\n",
        cell(&r.message),
        r.type_name,
        r.file
    ));
    if let Some(d) = &r.description {
        out.push_str(&format!("\n> {}\n", cell(d)));
    }
    if !r.sample.is_empty() {
        out.push('\n');
        out.push_str(&format!(
            "| {} |\n",
            r.sample
                .columns
                .iter()
                .map(|c| cell(c))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        out.push_str(&format!("|{}\n", "---|".repeat(r.sample.columns.len())));
        for row in &r.sample.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter()
                    .map(|v| cell(&sample_value(v)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
    if let Some(diff) = &r.diff {
        let (rows, others) = super::column_stats::rows(diff);
        if !rows.is_empty() {
            out.push_str(&format!(
                "\nPer column:\n\n| {} |\n|{}\n",
                super::column_stats::HEADER.join(" | "),
                "---|".repeat(super::column_stats::HEADER.len())
            ));
            for row in &rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
        }
        if let Some(line) = super::column_stats::others_line(others, !rows.is_empty()) {
            out.push_str(&format!("\n{}.\n", cell(&line)));
        }
    }
    out
}

/// Text safe inside a Markdown table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}
