//! The JSON report (CONTRACT §5): stable and versioned by `report_version`.

use serde_json::{Map, Value, json};

use crate::engine::outcome::{RuleOutcome, RunOutcome};

pub const REPORT_VERSION: u32 = 1;

pub fn render(run: &RunOutcome) -> String {
    let mut text = serde_json::to_string_pretty(&to_value(run))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

pub fn to_value(run: &RunOutcome) -> Value {
    let sources: Map<String, Value> = run
        .sources
        .iter()
        .map(|s| {
            let mut source = json!({ "kind": s.kind, "location": s.location });
            if let Some(rows) = s.rows_read() {
                source["rows_read"] = rows.into();
            }
            let notes = s.notes();
            if !notes.is_empty() {
                source["notes"] = notes.into();
            }
            (s.name.clone(), source)
        })
        .collect();
    json!({
        "report_version": REPORT_VERSION,
        "tool": format!("crosscheck {}", env!("CARGO_PKG_VERSION")),
        "started_at": run.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "duration_ms": run.duration.as_millis() as u64,
        "sources": sources,
        "summary": run.summary(),
        "rules": run.rules.iter().map(rule).collect::<Vec<_>>(),
    })
}

fn rule(r: &RuleOutcome) -> Value {
    let mut v = json!({
        "name": r.name,
        "type": r.type_name,
        "file": r.file,
        "status": r.status,
        "severity": r.severity,
        "violations": r.violations,
        "max_violations": r.max_violations,
        "threshold": r.threshold,
        "observed": r.observed,
        "message": r.message,
        "duration_ms": r.duration.as_millis() as u64,
        "tables": r.tables,
        "tags": r.tags,
        "sample": { "columns": r.sample.columns, "rows": r.sample.rows },
    });
    let object = v
        .as_object_mut()
        .expect("json! of an object literal is an object");
    if let Some(d) = &r.description {
        object.insert("description".into(), Value::String(d.clone()));
    }
    if let Some(diff) = &r.diff {
        object.insert(
            "diff".into(),
            serde_json::to_value(diff).unwrap_or(Value::Null),
        );
    }
    if let Some(e) = &r.error {
        object.insert("error".into(), Value::String(e.clone()));
    }
    v
}
