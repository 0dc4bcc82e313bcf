//! The terminal table and the JSON report, pinned by snapshots (timings filtered out).

use crate::support::{crosscheck, project, run_json};

const CONFIG: &str = "sources:\n  left:\n    files: left\n  right:\n    files: right\nsensitive: [\"*.email\"]\ndefaults:\n  sample: 3\n";
const RULES: &str = "rules:
  - name: counts_match
    type: row_count_match
    source: left.users
    target: right.users
  - name: emails_present
    type: not_null
    table: right.users
    columns: [email]
    description: Every user can log in.
  - name: scores_in_range
    type: expect
    table: right.users
    condition: score between 0 and 100
    severity: warn
  - name: broken
    type: row_count
    table: right.nothing
  - name: enough_users
    type: row_count
    table: right.users
    min: 1
";

fn suite() -> tempfile::TempDir {
    project(&[
        ("crosscheck.yaml", CONFIG),
        ("rules/suite.yaml", RULES),
        (
            "left/users.csv",
            "id,email,score\n1,a@x.io,10\n2,b@x.io,20\n3,c@x.io,30\n",
        ),
        ("right/users.csv", "id,email,score\n1,a@x.io,10\n2,,200\n"),
    ])
}

/// Durations become `[t]`; runs of spaces and of table rule characters collapse, so that
/// column widths that follow the timings do not change the snapshot.
fn filtered(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<String> = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| {
                if is_duration(w) {
                    "[t]".to_string()
                } else {
                    w.to_string()
                }
            })
            .collect();
        let mut collapsed = String::new();
        for c in words.join(" ").chars() {
            if matches!(c, '─' | '═') && collapsed.ends_with(c) {
                continue;
            }
            collapsed.push(c);
        }
        out.push_str(&collapsed);
        out.push('\n');
    }
    out
}

fn is_duration(word: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    word.strip_suffix("ms").is_some_and(number)
        || word
            .strip_suffix('s')
            .is_some_and(|s| number(s) && s.contains('.'))
}

#[test]
fn terminal_report() {
    let dir = suite();
    let out = crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 2, "an erroring rule makes the run unvouchable");
    insta::assert_snapshot!(filtered(&out.stdout));
}

#[test]
fn json_report() {
    let dir = suite();
    let (_, mut report) = run_json(dir.path(), &[]);
    report["started_at"] = "[started_at]".into();
    report["duration_ms"] = 0.into();
    for r in report["rules"].as_array_mut().expect("rules") {
        r["duration_ms"] = 0.into();
    }
    assert!(!report.to_string().contains("b@x.io"));
    insta::assert_json_snapshot!(report);
}
