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
  - name: emails_unique_across
    type: foreign_key
    child: left.users(email)
    parent: right.users(email)
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

#[test]
fn junit_report_parses_with_a_testcase_per_rule() {
    let dir = suite();
    let out = crosscheck(dir.path(), &["run", "-q", "--junit", "-"]);
    let report = quick_junit::Report::deserialize_from_str(&out.stdout).expect("JUnit XML parses");
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "rules/suite.yaml");
    let cases: Vec<_> = suite
        .test_cases
        .iter()
        .map(|c| (c.name.as_str().to_string(), kind(&c.status)))
        .collect();
    assert_eq!(
        cases,
        [
            ("counts_match".to_string(), "failure"),
            ("emails_present".to_string(), "failure"),
            ("scores_in_range".to_string(), "success"),
            ("broken".to_string(), "error"),
            ("enough_users".to_string(), "success"),
            ("emails_unique_across".to_string(), "failure"),
        ]
    );
    let warned = &suite.test_cases[2];
    assert!(
        warned
            .system_out
            .as_ref()
            .is_some_and(|o| o.as_str().contains("WARN"))
    );
    insta::assert_snapshot!(filtered(&scrub_junit_times(&out.stdout)));
}

fn kind(status: &quick_junit::TestCaseStatus) -> &'static str {
    match status {
        quick_junit::TestCaseStatus::Success { .. } => "success",
        quick_junit::TestCaseStatus::NonSuccess {
            kind: quick_junit::NonSuccessKind::Failure,
            ..
        } => "failure",
        quick_junit::TestCaseStatus::NonSuccess {
            kind: quick_junit::NonSuccessKind::Error,
            ..
        } => "error",
        _ => "other",
    }
}

/// `time="0.123"` and `timestamp="…"` attributes removed.
fn scrub_junit_times(xml: &str) -> String {
    xml.split('"')
        .enumerate()
        .map(|(i, part)| {
            let attribute_value = i % 2 == 1;
            if attribute_value
                && (part.chars().all(|c| c.is_ascii_digit() || c == '.') || part.contains("+00:00"))
                && !part.is_empty()
            {
                "…".to_string()
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\"")
}

#[test]
fn markdown_report_names_every_rule() {
    let dir = suite();
    let out = crosscheck(dir.path(), &["run", "-q", "--markdown", "-"]);
    for name in [
        "counts_match",
        "emails_present",
        "scores_in_range",
        "broken",
        "enough_users",
    ] {
        assert!(
            out.stdout.contains(&format!("| `{name}` |")),
            "{name} missing:\n{}",
            out.stdout
        );
    }
    insta::assert_snapshot!(filtered(&out.stdout));
}

#[test]
fn all_formats_in_one_run_and_no_sensitive_value_anywhere() {
    let dir = suite();
    let out = crosscheck(
        dir.path(),
        &[
            "run",
            "--json",
            "r/report.json",
            "--junit",
            "r/report.xml",
            "--markdown",
            "r/report.md",
            "--color",
            "always",
        ],
    );
    assert_eq!(out.code, 2);
    let mut outputs = vec![out.stdout.clone(), out.stderr.clone()];
    for file in ["report.json", "report.xml", "report.md"] {
        outputs.push(
            std::fs::read_to_string(dir.path().join("r").join(file)).expect("report written"),
        );
    }
    for text in &outputs {
        for email in ["a@x.io", "b@x.io", "c@x.io"] {
            assert!(!text.contains(email), "{email} leaked into:\n{text}");
        }
    }
    assert!(
        out.stdout.contains("\u{1b}["),
        "--color always colours the table"
    );
    let plain = crosscheck(dir.path(), &["run"]).stdout;
    assert!(
        !plain.contains("\u{1b}["),
        "no colour when stdout is not a terminal"
    );
}

/// A NULL on one side and the text 'NULL' on the other must not look alike in any report:
/// NULL is the bare word, the text is quoted (`"NULL"`), and JSON keeps `null` and `"NULL"`.
#[test]
fn a_null_and_the_text_null_look_different_in_every_report() {
    let rules = "rules:
  - name: names_identical
    type: diff
    source: left.people
    target: right.people
    key: [id]
  - name: literal
    type: sql
    sql: select 1 as id, null as gone, 'NULL' as written
";
    let dir = project(&[
        ("crosscheck.yaml", CONFIG),
        ("rules/r.yaml", rules),
        // CSV's default `null: \"\"`: the empty field is NULL, `NULL` is a text.
        ("left/people.csv", "id,name\n1,\n2,null\n3,Ann\n"),
        ("right/people.csv", "id,name\n1,NULL\n2,\n3,\"Ann \"\n"),
    ]);
    let out = crosscheck(
        dir.path(),
        &["run", "--markdown", "r.md", "--junit", "r.xml"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let terminal = filtered(&out.stdout);
    for row in [
        "│ 1 ┆ name ┆ NULL ┆ \"NULL\" │",
        "│ 2 ┆ name ┆ \"null\" ┆ NULL │",
        "│ 3 ┆ name ┆ Ann ┆ \"Ann \" │",
        "│ 1 ┆ NULL ┆ \"NULL\" │",
    ] {
        assert!(terminal.contains(row), "no `{row}` in:\n{terminal}");
    }
    let markdown = std::fs::read_to_string(dir.path().join("r.md")).expect("written");
    for row in [
        "| 1 | name | NULL | \"NULL\" |",
        "| 2 | name | \"null\" | NULL |",
        "| 1 | NULL | \"NULL\" |",
    ] {
        assert!(markdown.contains(row), "no `{row}` in:\n{markdown}");
    }
    let junit = std::fs::read_to_string(dir.path().join("r.xml")).expect("written");
    assert!(
        junit.contains("1 | name | NULL | &quot;NULL&quot;"),
        "{junit}"
    );
    let (_, report) = run_json(dir.path(), &[]);
    let rows = |name: &str| crate::support::rule(&report, name)["sample"]["rows"].to_string();
    assert!(
        rows("names_identical").contains(r#"[1,"name",null,"NULL"]"#),
        "{report}"
    );
    assert!(rows("literal").contains(r#"[1,null,"NULL"]"#), "{report}");
    // With colours, a NULL is also dimmed (SGR 2).
    let colored = crosscheck(dir.path(), &["run", "--color", "always"]).stdout;
    assert!(colored.contains("\u{1b}[2m NULL"), "{colored}");
}

/// Two long values that share their first 60 characters used to be cut to the same text in
/// the terminal: they are cut where they differ instead, so the sample shows the difference.
#[test]
fn long_values_that_differ_late_still_differ_in_the_terminal() {
    let shared = "x".repeat(70);
    let dir = project(&[
        ("crosscheck.yaml", CONFIG),
        (
            "rules/r.yaml",
            "rules:\n  - name: same\n    type: diff\n    source: left.t\n    target: right.t\n    key: [id]\n",
        ),
        ("left/t.csv", &format!("id,v\n1,{shared}-old\n")),
        ("right/t.csv", &format!("id,v\n1,{shared}-new\n")),
    ]);
    let out = crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("xxx-old") && out.stdout.contains("xxx-new"),
        "{}",
        out.stdout
    );
}
