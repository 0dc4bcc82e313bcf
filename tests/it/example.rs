//! The bundled learning-platform example gives exactly the verdicts its generator computed.

use crate::support::{assert_verdicts, crosscheck, root, rule, run_json};

fn expected() -> serde_json::Value {
    crate::support::bundled_expected()
}

#[test]
fn every_verdict_matches_the_generator() {
    let (out, report) = run_json(&root(), &[]);
    let expected = expected();
    assert_verdicts(&report, &expected);
    assert_eq!(
        i64::from(out.code),
        expected["exit_code"].as_i64().expect("exit_code"),
        "{}",
        out.stderr
    );
    assert_eq!(report["summary"], expected["summary"]);
}

#[test]
fn sensitive_values_never_appear_in_samples() {
    let (_, report) = run_json(
        &root(),
        &[
            "--select",
            "user_email_unique",
            "--select",
            "users_required_fields",
        ],
    );
    let text = report.to_string();
    assert!(!text.contains('@'), "an email leaked: {text}");
    let sample = &rule(&report, "user_email_unique")["sample"];
    let key = sample["rows"][0][0].as_str().expect("a masked key");
    assert!(key.starts_with("sha256:") && key.len() == 15, "{key}");
    let terminal = crosscheck(&root(), &["run", "--select", "users_required_fields"]).stdout;
    assert!(
        !terminal.contains('@') && terminal.contains("sha256:"),
        "{terminal}"
    );
}

#[test]
fn selection_by_tag_and_glob() {
    let (_, all) = run_json(&root(), &[]);
    let tagged: Vec<_> = all["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| {
            r["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "counts"))
        })
        .map(|r| r["name"].clone())
        .collect();
    let (_, by_tag) = run_json(&root(), &["--select", "tag:counts"]);
    let names: Vec<_> = by_tag["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, tagged);
    assert!(!names.is_empty());
    let (_, by_glob) = run_json(
        &root(),
        &["--select", "*_count_match", "--exclude", "users_*"],
    );
    let names: Vec<_> = by_glob["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with("_count_match") && !n.starts_with("users_")),
        "{names:?}"
    );
    assert!(names.contains(&"progress_count_match".to_string()));
}

#[test]
fn fail_on_decides_the_exit_code() {
    let code = |args: &[&str]| crosscheck(&root(), args).code;
    assert_eq!(
        code(&["run", "-q", "--select", "profile_user_exists"]),
        0,
        "a warning passes by default"
    );
    assert_eq!(
        code(&[
            "run",
            "-q",
            "--select",
            "profile_user_exists",
            "--fail-on",
            "warn"
        ]),
        1
    );
    assert_eq!(code(&["run", "-q", "--fail-on", "never"]), 0);
    assert_eq!(
        code(&["run", "-q", "--select", "user_profiles_count_match"]),
        0
    );
    assert_eq!(
        code(&[
            "run",
            "-q",
            "rules/counts.yaml",
            "--select",
            "users_count_match"
        ]),
        1
    );
}

#[test]
fn jobs_do_not_change_results() {
    let strip = |mut v: serde_json::Value| {
        for r in v["rules"].as_array_mut().expect("rules") {
            r["duration_ms"] = 0.into();
        }
        v["rules"].clone()
    };
    let (_, one) = run_json(&root(), &["-j", "1"]);
    let (_, four) = run_json(&root(), &["-j", "4"]);
    assert_eq!(strip(one), strip(four));
}

/// `explain` on the bundled file project: each query with the SQL crosscheck runs, where it
/// runs (in-process, reading the CSV files at the leaves), the offending-rows query with its
/// limit; a diff says its algorithm and why; a typo'd rule name is exit 2 with a suggestion.
#[test]
fn explain_shows_each_query_and_the_files_it_reads() {
    let out = crosscheck(&root(), &["explain", "user_email_unique"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    for expected in [
        "rule `user_email_unique` (unique, rules/integrity.yaml:18:5)",
        "1. counts",
        "GROUP BY \"email\"",
        "runs in-process (DataFusion)",
        "CsvScanExec: files=[examples/learning-platform/prod/users.csv]",
        "2. offending rows (the first 5, sorted by every column",
        "HAVING count(*) > 1",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
    let diff = crosscheck(&root(), &["explain", "assets_match_staging"]).stdout;
    for expected in [
        "algorithm: join (asked: auto); not checksum because",
        "key: path; compared columns: sha256, size",
        "both streams are merged by key in one pass",
    ] {
        assert!(diff.contains(expected), "`{expected}` missing:\n{diff}");
    }
    let typo = crosscheck(&root(), &["explain", "user_email_uniqe"]);
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains("did you mean `user_email_unique`?"),
        "{}",
        typo.stderr
    );
}
