//! One rule's card: status, type, message, description, threshold, and its evidence — the
//! sample as a table, a diff's per-column bars and side-by-side values, a schema comparison's
//! differences as a list. A `<details>` element, so it opens and closes without a script.

use std::fmt::Write as _;

use serde_json::Value;

use super::{esc, millis, text};
use crate::report::sample_value::sample_value;

/// `PASS`, `FAIL`, `WARN`, `ERROR` (as the terminal shows them).
pub fn label(status: &str) -> String {
    status.to_uppercase()
}

/// The card's status class: one of the four statuses, whatever the value holds.
pub fn status_class(rule: &Value) -> &'static str {
    match rule["status"].as_str() {
        Some("pass") => "pass",
        Some("fail") => "fail",
        Some("warn") => "warn",
        _ => "error",
    }
}

/// Writes the card of rule number `index` (its place in the JSON report).
pub fn render(out: &mut String, index: usize, rule: &Value) {
    let status = status_class(rule);
    let tags: Vec<&str> = strings(&rule["tags"]);
    let _ = writeln!(
        out,
        "<details id=\"r{index}\" class=\"rule s-{status}\"{} data-status=\"{status}\" \
         data-name=\"{}\" data-tags=\"{}\">",
        if status == "pass" { "" } else { " open" },
        esc(&text(&rule["name"])),
        esc(&tags.join(" "))
    );
    summary(out, rule, status);
    let _ = writeln!(
        out,
        "<p class=\"message\">{}</p>",
        esc(&text(&rule["message"]))
    );
    if let Some(error) = rule["error"].as_str() {
        let _ = writeln!(out, "<pre class=\"error\">{}</pre>", esc(error));
    }
    if let Some(description) = rule["description"].as_str() {
        let _ = writeln!(out, "<p class=\"desc\">{}</p>", esc(description));
    }
    facts(out, rule, &tags);
    if let Some(diff) = rule.get("diff").filter(|d| d.is_object()) {
        diff_counts(out, diff);
    }
    let sample = &rule["sample"];
    if rule["type"] == "schema_match" {
        schema_list(out, sample);
    } else {
        sample_table(out, sample, rule.get("diff").is_some());
    }
    out.push_str("</div>\n</details>\n");
}

/// The line a closed card still shows: status, name, type, violations, time.
fn summary(out: &mut String, rule: &Value, status: &str) {
    let _ = writeln!(
        out,
        "<summary><span class=\"status\">{}</span> <span class=\"name\">{}</span> \
         <span class=\"type\">{}</span> <span class=\"viol\">{}</span> \
         <span class=\"time\">{}</span></summary>\n<div class=\"body\">",
        esc(&label(status)),
        esc(&text(&rule["name"])),
        esc(&text(&rule["type"])),
        esc(&violations(rule)),
        esc(&millis(&rule["duration_ms"]))
    );
}

/// `4 > 0`, `3 <= 5 (1%)`: violations against what the threshold allows, as the terminal.
fn violations(rule: &Value) -> String {
    if rule["status"] == "error" {
        return "-".into();
    }
    let found = rule["violations"].as_u64().unwrap_or(0);
    let allowed = rule["max_violations"].as_u64().unwrap_or(0);
    let op = if found > allowed { ">" } else { "<=" };
    let threshold = text(&rule["threshold"]);
    if threshold.ends_with('%') {
        format!("{found} {op} {allowed} ({threshold})")
    } else {
        format!("{found} {op} {allowed}")
    }
}

fn facts(out: &mut String, rule: &Value, tags: &[&str]) {
    out.push_str("<dl class=\"facts\">");
    let mut fact = |name: &str, value: String| {
        if !value.is_empty() {
            let _ = write!(out, "<div><dt>{name}</dt><dd>{}</dd></div>", esc(&value));
        }
    };
    fact("severity", text(&rule["severity"]));
    fact("violations", text(&rule["violations"]));
    fact("threshold", text(&rule["threshold"]));
    if !rule["observed"].is_null() {
        fact("observed", sample_value(&rule["observed"]));
    }
    fact("tables", strings(&rule["tables"]).join(", "));
    fact("tags", tags.join(", "));
    fact("file", text(&rule["file"]));
    out.push_str("</dl>\n");
}

/// Counts of the diff and one bar per compared column that differs, scaled to the rows changed.
fn diff_counts(out: &mut String, diff: &Value) {
    let n = |key: &str| diff[key].as_u64().unwrap_or(0);
    out.push_str("<div class=\"diff\">\n<ul class=\"diff-counts\">");
    for (key, label) in [
        ("only_in_source", "only in source"),
        ("only_in_target", "only in target"),
        ("changed", "changed"),
        ("duplicate_keys", "duplicate keys"),
        ("matched", "matched"),
    ] {
        let _ = write!(out, "<li class=\"d-{key}\"><b>{}</b> {label}</li>", n(key));
    }
    let _ = writeln!(
        out,
        "<li class=\"algo\">algorithm {}</li></ul>",
        esc(&text(&diff["algorithm"]))
    );
    for (key, label) in [
        ("columns_only_in_source", "columns only in source"),
        ("columns_only_in_target", "columns only in target"),
    ] {
        let columns = strings(&diff[key]);
        if !columns.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"cols\">{label}: <code>{}</code></p>",
                esc(&columns.join(", "))
            );
        }
    }
    column_bars(out, diff);
    out.push_str("</div>\n");
}

/// One bar per compared column that differs, its length the share of the rows changed.
fn column_bars(out: &mut String, diff: &Value) {
    let rows: Vec<(&String, u64)> = (diff["columns"].as_object().into_iter().flatten())
        .map(|(c, v)| (c, v.as_u64().unwrap_or(0)))
        .collect();
    if rows.is_empty() {
        return;
    }
    // A column's count never exceeds the rows changed; the max keeps a bar inside its track
    // should a report say otherwise.
    let changed = diff["changed"].as_u64().unwrap_or(0);
    let longest = rows
        .iter()
        .map(|(_, n)| *n)
        .chain([changed, 1])
        .max()
        .unwrap_or(1);
    out.push_str("<ol class=\"bars\">\n");
    for (column, count) in rows {
        let forgiven = diff["forgiven"][column.as_str()].as_u64().unwrap_or(0);
        let note = if forgiven > 0 {
            format!(" <small>({forgiven} forgiven)</small>")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<li><code>{}</code><span class=\"track\"><span class=\"fill s-fail\" \
             style=\"width:{:.1}%\"></span></span><span class=\"n\">{count}{note}</span></li>",
            esc(column),
            count as f64 * 100.0 / longest as f64
        );
    }
    out.push_str("</ol>\n");
}

/// The sample as a table; a diff's `source` and `target` columns side by side, marked.
fn sample_table(out: &mut String, sample: &Value, is_diff: bool) {
    let columns = strings(&sample["columns"]);
    let rows = sample["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if columns.is_empty() || rows.is_empty() {
        return;
    }
    let side = |column: &str| match column {
        "source" if is_diff => "src",
        "target" if is_diff => "tgt",
        _ => "",
    };
    out.push_str("<div class=\"scroll\"><table class=\"sample\">\n<tr>");
    for column in &columns {
        let _ = write!(out, "<th{}>{}</th>", classes(&[side(column)]), esc(column));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, value) in row.as_array().into_iter().flatten().enumerate() {
            let shown = sample_value(value);
            let kind = match value {
                Value::Null => "null",
                Value::Number(_) => "n",
                _ => "",
            };
            // A long word (a hash, a path) may break anywhere, so it does not push the other
            // columns off the page; shorter ones keep whole.
            let long = shown
                .split_whitespace()
                .any(|w| w.chars().count() > LONG_WORD);
            let side = columns.get(i).map_or("", |c| side(c));
            let class = classes(&[kind, side, if long { "w" } else { "" }]);
            let _ = write!(out, "<td{class}>{}</td>", esc(&shown));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></div>\n");
}

/// Words longer than this may be broken anywhere in a sample cell.
const LONG_WORD: usize = 24;

/// ` class="a b"` of the non-empty names, or nothing.
fn classes(names: &[&str]) -> String {
    let names: Vec<&str> = names.iter().copied().filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", names.join(" "))
    }
}

/// A schema comparison's differences, one line each: object, what differs, source → target.
fn schema_list(out: &mut String, sample: &Value) {
    let rows = sample["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if rows.is_empty() {
        return;
    }
    out.push_str("<ul class=\"schema\">\n");
    for row in rows {
        let cell = |i: usize| row.get(i).map(sample_value).unwrap_or_default();
        let _ = write!(out, "<li><code>{}</code> {}", esc(&cell(0)), esc(&cell(1)));
        let (source, target) = (row.get(2), row.get(3));
        if source.is_some_and(|v| !v.is_null()) || target.is_some_and(|v| !v.is_null()) {
            let _ = write!(
                out,
                ": <span class=\"src\">{}</span> → <span class=\"tgt\">{}</span>",
                esc(&cell(2)),
                esc(&cell(3))
            );
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n");
}

/// The strings of a JSON array (others skipped).
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}
