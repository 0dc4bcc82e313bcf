//! `metric` rules: aggregates within bounds, of a table or of each group, on files and inside
//! PostgreSQL and MariaDB with the same verdicts; mistakes in a rule file named at their line.

use crate::support::{crosscheck, project, root, rule, run_failing};

const RULES: &str = "rules:
  - name: scores
    type: metric
    table: prod.assessments
    metrics:
      - expr: avg(passing_score)
        min: 50
        max: 90
      - expr: count(DISTINCT category_id)
        min: 100
  - name: per_category
    type: metric
    table: prod.assessments
    group_by: [category_id]
    metrics:
      - expr: max(passing_score)
        max: 100
      - expr: min(passing_score)
        min: 0
  - name: totals
    type: metric
    table: prod.assessments
    metrics:
      - expr: sum(passing_score)
        min: 0
      - expr: count(*)
        max: 1000
  - name: nothing_is_null
    type: metric
    table: prod.assessments
    where: passing_score > 1000
    metrics:
      - expr: avg(passing_score)
        min: 0
  - name: hashes
    type: metric
    table: prod.users
    metrics:
      - expr: max(length(password_hash))
        max: 0
";

/// A project of the rules above over the bundled prod export.
fn metric_project() -> tempfile::TempDir {
    let prod = root().join("examples/learning-platform/prod");
    let config = format!(
        "sources:\n  prod:\n    files: {}\nsensitive: [users.password_hash]\n",
        prod.display()
    );
    project(&[("crosscheck.yaml", &config), ("rules/metrics.yaml", RULES)])
}

fn verdicts(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
                r["violations"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[test]
fn aggregates_are_checked_against_their_bounds() {
    let dir = metric_project();
    let report = run_failing(dir.path(), &[]);
    let scores = rule(&report, "scores");
    assert_eq!(scores["status"], "fail");
    assert_eq!(scores["violations"], 1);
    let message = scores["message"].as_str().expect("a message");
    // The failing aggregate first, then the rest with their values.
    assert!(
        message.starts_with(
            "count(DISTINCT category_id) is 12, below its min 100; avg(passing_score) is 71.6"
        ),
        "{message}"
    );
    assert_eq!(scores["observed"][1], 12);

    let groups = rule(&report, "per_category");
    assert_eq!(
        (&groups["status"], &groups["violations"]),
        (&"fail".into(), &2.into())
    );
    let sample = &groups["sample"];
    assert_eq!(sample["columns"][0], "category_id");
    let rows: Vec<i64> = sample["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_i64().expect("a category"))
        .collect();
    assert_eq!(rows, [5, 9], "{sample}");
    assert_eq!(rule(&report, "totals")["status"], "pass");
    // An average of no rows is NULL: no value is not a value within bounds.
    let none = rule(&report, "nothing_is_null");
    assert_eq!(none["status"], "fail");
    assert!(
        none["message"]
            .as_str()
            .unwrap_or_default()
            .contains("is NULL"),
        "{none}"
    );

    // The aggregate of a sensitive column is masked like the column.
    let hashes = rule(&report, "hashes");
    let text = hashes.to_string();
    assert!(text.contains("sha256:"), "{text}");
    assert!(!text.contains("$2b$"), "{text}");
}

#[test]
fn metrics_run_inside_postgres_and_mariadb_with_the_same_verdicts() {
    let dir = metric_project();
    let on_files = verdicts(&run_failing(dir.path(), &[]));
    let prod = root().join("examples/learning-platform/prod");
    let mut servers = Vec::new();
    if let Some(pg) = crate::pg::server() {
        let url = crate::pg::fresh_database(&pg, "cc_metric_prod");
        crate::pg::load_export(&prod, &url);
        servers.push(("PostgreSQL", url));
    }
    if let Some(my) = crate::mysql::server() {
        let url = crate::mysql::fresh_database(&my, "cc_metric_prod");
        crate::mysql::load_export(&prod, &url);
        servers.push(("MariaDB", url));
    }
    for (engine, url) in servers {
        let source = format!("prod={url}");
        let report = run_failing(dir.path(), &["--source", &source]);
        assert_eq!(verdicts(&report), on_files, "{engine}");
        let explain = crosscheck(
            dir.path(),
            &["explain", "per_category", "--source", &source],
        );
        assert!(
            explain
                .stdout
                .contains(&format!("runs inside {engine} source `prod`")),
            "{engine}: {}",
            explain.stdout
        );
    }
}

#[test]
fn an_aggregate_that_is_no_number_is_a_rule_error_that_says_so() {
    let rules = "rules:
  - name: hashes
    type: metric
    table: prod.users
    metrics:
      - expr: max(password_hash)
        max: 0
";
    let dir = metric_project();
    std::fs::write(dir.path().join("rules/metrics.yaml"), rules).expect("written");
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = out.json();
    let error = rule(&report, "hashes")["error"].to_string();
    assert!(
        error.contains("metric `max(password_hash)` is text, not a number"),
        "{error}"
    );
    assert!(
        !error.contains("$2b$") && !error.contains("sha256"),
        "{error}"
    );
}

#[test]
fn mistakes_in_metrics_are_named_at_their_line() {
    // Line 5 is `metrics:`; the first metric starts on line 6.
    let cases = [
        (
            "      - exp: avg(x)\n        min: 1\n",
            "unknown metric field `exp`",
            ":6:",
        ),
        ("      - expr: avg(x)\n", "`min` or `max`", ":6:"),
        (
            "      - expr: avg(x)\n        min: 5\n        max: 1\n",
            "below its `min`",
            ":6:",
        ),
        (
            "      - expr: avg(x) FROM t\n        min: 1\n",
            "unexpected `FROM`",
            ":6:",
        ),
        (
            "      - expr: avg(x)\n        min: ten\n",
            "expected a number",
            ":7:",
        ),
    ];
    for (metric, expected, at) in cases {
        let text = format!(
            "rules:\n  - name: m\n    type: metric\n    table: prod.assessments\n    metrics:\n{metric}"
        );
        let dir = tempfile::tempdir().expect("a folder");
        let file = dir.path().join("bad.yaml");
        std::fs::write(&file, &text).expect("written");
        let out = crosscheck(&root(), &["validate", &file.to_string_lossy()]);
        assert_eq!(out.code, 2, "{text}\n{}", out.stderr);
        assert!(out.stderr.contains(expected), "{expected}:\n{}", out.stderr);
        assert!(
            out.stderr.contains(&format!("bad.yaml{at}")),
            "{at}:\n{}",
            out.stderr
        );
    }
}
