//! The HTML report: one self-contained page (inline CSS, one small inline script, no network)
//! to mail or attach to a CI job. It is rendered from the JSON report's value — the very
//! `serde_json::Value` that `--json` writes, also embedded in the page — so the two cannot
//! disagree, and every sensitive value is masked as it is there. The summary and every card
//! are plain HTML (readable with scripts off); the script only adds the filters.

mod card;

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::format_duration;

const CSS: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// How many rules the timing chart shows.
const SLOWEST: usize = 10;

/// The page for a run, from its JSON report.
pub fn render(run: &crate::engine::outcome::RunOutcome) -> String {
    page(&super::json::to_value(run))
}

/// The page for a JSON report value (`report::json::to_value`).
pub fn page(report: &Value) -> String {
    let rules: Vec<&Value> = report["rules"].as_array().into_iter().flatten().collect();
    let verdict = Verdict::of(&report["summary"]);
    let mut out = String::with_capacity(4096 + rules.len() * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // No request may leave the page: nothing but the inline style and this exact script
    // (by hash) runs, so a value that slipped past escaping still could not run code.
    let _ = writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{}'\">",
        base64(&Sha256::digest(SCRIPT.as_bytes()))
    );
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&verdict.title));
    let _ = writeln!(out, "<style>\n{CSS}</style>\n</head>");
    let _ = writeln!(out, "<body class=\"v-{}\">", verdict.class);
    header(&mut out, report, &verdict);
    filters(&mut out, &rules);
    out.push_str("<main>\n");
    cards(&mut out, &rules);
    timing(&mut out, &rules);
    out.push_str("</main>\n");
    let _ = writeln!(
        out,
        "<footer>report_version {} · the data of this page is the JSON report, embedded as \
         <code>#crosscheck-report</code></footer>",
        esc(&text(&report["report_version"]))
    );
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"crosscheck-report\">{}</script>",
        embed(report)
    );
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

/// What the run says, in words and as a CSS class.
struct Verdict {
    class: &'static str,
    badge: &'static str,
    title: String,
}

impl Verdict {
    fn of(summary: &Value) -> Verdict {
        let n = |key: &str| summary[key].as_u64().unwrap_or(0);
        let (total, failed, warned, errored) = (n("total"), n("failed"), n("warned"), n("errored"));
        let rules = |k: u64| if k == 1 { "rule" } else { "rules" };
        let (class, badge, words) = if errored > 0 {
            let what = format!("{errored} of {total} {} could not run", rules(total));
            (
                "error",
                "ERROR",
                format!("could not vouch for the data: {what}"),
            )
        } else if failed > 0 {
            (
                "fail",
                "FAILED",
                format!("{failed} of {total} {} failed", rules(total)),
            )
        } else if warned > 0 {
            let what = format!("{total} {} passed, {warned} with a warning", rules(total));
            ("warn", "PASSED", what)
        } else {
            (
                "pass",
                "PASSED",
                format!("all {total} {} passed", rules(total)),
            )
        };
        Verdict {
            class,
            badge,
            title: format!("crosscheck {}: {words}", badge.to_lowercase()),
        }
    }
}

fn header(out: &mut String, report: &Value, verdict: &Verdict) {
    let summary = &report["summary"];
    let _ = writeln!(
        out,
        "<header>\n<h1><span class=\"badge\">{}</span> {}</h1>",
        verdict.badge,
        esc(verdict.title.split_once(": ").map_or("", |(_, w)| w))
    );
    out.push_str("<dl class=\"counts\">\n");
    for (key, label, class) in [
        ("total", "rules", "total"),
        ("passed", "passed", "pass"),
        ("failed", "failed", "fail"),
        ("warned", "warned", "warn"),
        ("errored", "errors", "error"),
    ] {
        let _ = writeln!(
            out,
            "<div class=\"c-{class}\"><dt>{label}</dt><dd data-count=\"{key}\">{}</dd></div>",
            esc(&text(&summary[key]))
        );
    }
    out.push_str("</dl>\n<dl class=\"meta\">\n");
    let started = text(&report["started_at"]);
    let _ = writeln!(
        out,
        "<div><dt>started</dt><dd><time datetime=\"{0}\">{1}</time></dd></div>\n\
         <div><dt>took</dt><dd>{2}</dd></div>\n<div><dt>by</dt><dd>{3}</dd></div>",
        esc(&started),
        esc(&started.replace('T', " ").replace('Z', " UTC")),
        esc(&millis(&report["duration_ms"])),
        esc(&text(&report["tool"]))
    );
    out.push_str("</dl>\n");
    sources(out, &report["sources"]);
    out.push_str("</header>\n");
}

fn sources(out: &mut String, sources: &Value) {
    let Some(sources) = sources.as_object().filter(|s| !s.is_empty()) else {
        return;
    };
    // Only database sources count the rows they sent: the column shows when one does.
    let counted = sources.values().any(|s| !s["rows_read"].is_null());
    let _ = writeln!(
        out,
        "<table class=\"sources\"><caption>sources</caption>\n\
         <tr><th>name</th><th>kind</th><th>location</th>{}</tr>",
        if counted { "<th>rows read</th>" } else { "" }
    );
    for (name, source) in sources {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td>",
            esc(name),
            esc(&text(&source["kind"])),
            esc(&text(&source["location"]))
        );
        if counted {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                esc(&text(&source["rows_read"]))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The filter bar: hidden until the script shows it, since it does nothing without one.
fn filters(out: &mut String, rules: &[&Value]) {
    out.push_str("<nav id=\"filters\" hidden>\n<span class=\"label\">show</span>\n");
    for status in ["error", "fail", "warn", "pass"] {
        let count = rules.iter().filter(|r| r["status"] == status).count();
        let _ = writeln!(
            out,
            "<label class=\"s-{status}\"><input type=\"checkbox\" name=\"status\" \
             value=\"{status}\" checked> {} ({count})</label>",
            card::label(status)
        );
    }
    let mut tags: Vec<&str> = rules
        .iter()
        .flat_map(|r| r["tags"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    tags.sort_unstable();
    tags.dedup();
    out.push_str("<label>tag <select id=\"tag\"><option value=\"\">any</option>");
    for tag in tags {
        let _ = write!(out, "<option>{}</option>", esc(tag));
    }
    out.push_str("</select></label>\n<output id=\"shown\"></output>\n</nav>\n");
}

/// Rules that did not pass first, open, worst first (errors, failures, warnings); then the
/// passing ones, collapsed, so a reader sees every failure without scrolling past a pass.
fn cards(out: &mut String, rules: &[&Value]) {
    let rank = |r: &Value| match r["status"].as_str() {
        Some("pass") => 3,
        Some("warn") => 2,
        Some("fail") => 1,
        _ => 0,
    };
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by_key(|&i| rank(rules[i]));
    let split = order.partition_point(|&i| rank(rules[i]) < 3);
    let (attention, passed) = order.split_at(split);
    for (id, title, part) in [
        ("attention", "Needs attention", attention),
        ("passed", "Passed", passed),
    ] {
        let _ = writeln!(
            out,
            "<section id=\"{id}\">\n<h2>{title} <span class=\"n\">({})</span></h2>",
            part.len()
        );
        if part.is_empty() {
            let none = if id == "attention" {
                "Every rule passed."
            } else {
                "No rule passed."
            };
            let _ = writeln!(out, "<p class=\"none\">{none}</p>");
        }
        for &i in part {
            card::render(out, i, rules[i]);
        }
        out.push_str("</section>\n");
    }
}

/// The slowest rules as bars (plain HTML and CSS, printable), each a link to its card.
fn timing(out: &mut String, rules: &[&Value]) {
    let ms = |r: &Value| r["duration_ms"].as_u64().unwrap_or(0);
    let mut order: Vec<usize> = (0..rules.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ms(rules[i])));
    order.truncate(SLOWEST);
    if order.is_empty() {
        return;
    }
    let longest = order.first().map_or(1, |&i| ms(rules[i]).max(1));
    let _ = writeln!(
        out,
        "<section id=\"timing\">\n<h2>Slowest rules</h2>\n<ol class=\"bars\">"
    );
    for i in order {
        let r = rules[i];
        let _ = writeln!(
            out,
            "<li><a href=\"#r{i}\">{}</a><span class=\"track\"><span class=\"fill s-{}\" \
             style=\"width:{:.1}%\"></span></span><span class=\"n\">{}</span></li>",
            esc(&text(&r["name"])),
            card::status_class(r),
            ms(r) as f64 * 100.0 / longest as f64,
            esc(&millis(&r["duration_ms"]))
        );
    }
    out.push_str("</ol>\n</section>\n");
}

/// A JSON value as plain text: a string as it is, null as nothing, others as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A count of milliseconds as the other reports write durations.
fn millis(value: &Value) -> String {
    value
        .as_u64()
        .map_or_else(String::new, |ms| format_duration(Duration::from_millis(ms)))
}

/// Text safe in HTML content and in a double- or single-quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report as JSON safe inside a `<script>` element: `<`, `>` and `&` (which JSON only
/// has inside strings) as `\u` escapes, so no value can close the element or open a comment;
/// `JSON.parse` reads back the same value.
fn embed(report: &Value) -> String {
    let json = serde_json::to_string(report).unwrap_or_else(|_| "null".into());
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Standard base64 with padding (for the script's hash in the Content-Security-Policy).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            esc(r#"</script><img src=x onerror="alert('1')">&amp;"#),
            "&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;amp;"
        );
        assert_eq!(esc("Zoë ✓"), "Zoë ✓");
    }

    #[test]
    fn the_embedded_report_cannot_close_its_element_and_reads_back_the_same() {
        let report = json!({ "v": "</script><!-- <img onerror=x> & \u{2028}" });
        let embedded = embed(&report);
        assert!(
            !embedded.contains('<') && !embedded.contains('>'),
            "{embedded}"
        );
        assert_eq!(serde_json::from_str::<Value>(&embedded).unwrap(), report);
    }

    #[test]
    fn base64_pads_like_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn the_verdict_names_the_worst_outcome() {
        let words = |s: Value| Verdict::of(&s).title;
        let summary =
            |f: u64, w: u64, e: u64| json!({"total": 3, "failed": f, "warned": w, "errored": e});
        assert_eq!(
            words(summary(0, 0, 0)),
            "crosscheck passed: all 3 rules passed"
        );
        assert_eq!(
            words(summary(0, 1, 0)),
            "crosscheck passed: 3 rules passed, 1 with a warning"
        );
        assert_eq!(
            words(summary(2, 1, 0)),
            "crosscheck failed: 2 of 3 rules failed"
        );
        assert_eq!(
            words(summary(2, 0, 1)),
            "crosscheck error: could not vouch for the data: 1 of 3 rules could not run"
        );
    }

    #[test]
    fn failing_rules_come_first_and_passing_ones_collapsed() {
        let rule = |name: &str, status: &str| {
            json!({"name": name, "type": "expect", "status": status, "tags": [],
                   "sample": {"columns": [], "rows": []}, "duration_ms": 1})
        };
        let report = json!({
            "summary": {"total": 3, "passed": 1, "failed": 1, "warned": 1, "errored": 0},
            "rules": [rule("a_pass", "pass"), rule("b_warn", "warn"), rule("c_fail", "fail")],
        });
        let page = page(&report);
        let at = |name: &str| page.find(&format!("data-name=\"{name}\"")).unwrap();
        assert!(at("c_fail") < at("b_warn") && at("b_warn") < at("a_pass"));
        let card = |name: &str| {
            let start = page[..at(name)].rfind("<details").unwrap();
            page[start..at(name)].to_string()
        };
        assert!(card("c_fail").contains(" open"), "{}", card("c_fail"));
        assert!(!card("a_pass").contains(" open"), "{}", card("a_pass"));
    }
}
