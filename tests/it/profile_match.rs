//! `profile_match` rules: per-column statistics of staging and prod compared, on the bundled
//! exports and inside PostgreSQL and MariaDB with the same findings; exactly the columns the
//! example's defects touch are reported.

use crate::support::{crosscheck, project, root, rule, run_failing};

const RULES: &str = "rules:
  - name: assessments
    type: profile_match
    source: staging.assessments
    target: prod.assessments
  - name: profiles
    type: profile_match
    source: staging.user_profiles
    target: prod.user_profiles
  - name: questions_per_category
    type: profile_match
    source: staging.questions
    target: prod.questions
    group_by: [category_id]
    columns: [difficulty, body]
  - name: questions_per_difficulty
    type: profile_match
    source: staging.questions
    target: prod.questions
    group_by: [difficulty]
    columns: [id]
  - name: categories
    type: profile_match
    source: staging.categories
    target: prod.categories
  - name: scores_within_two_percent
    type: profile_match
    source: staging.assessments
    target: prod.assessments
    columns: [passing_score]
    tolerance: {passing_score: \"2%\"}
";

fn profile_project(sensitive: &str) -> tempfile::TempDir {
    let data = root().join("examples/learning-platform");
    let config = format!(
        "sources:\n  staging:\n    files: {}\n  prod:\n    files: {}\nsensitive: [{sensitive}]\n",
        data.join("staging").display(),
        data.join("prod").display()
    );
    project(&[("crosscheck.yaml", &config), ("rules/profiles.yaml", RULES)])
}

/// Each rule's findings: `(rule, [group…, column, statistic]…)`, values left out (they are
/// text in one engine and numbers in another).
fn findings(report: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            let rows = r["sample"]["rows"].as_array().cloned().unwrap_or_default();
            let found = rows
                .iter()
                .map(|row| {
                    let cells = row.as_array().expect("a row");
                    cells[..cells.len() - 2]
                        .iter()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            (r["name"].as_str().unwrap_or_default().to_string(), found)
        })
        .collect()
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn found<'a>(all: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
    &all.iter().find(|(n, _)| n == name).expect(name).1
}

#[test]
fn the_columns_the_defects_touch_are_reported_and_nothing_else() {
    let dir = profile_project("users.password_hash");
    let report = run_failing(dir.path(), &[]);
    let all = findings(&report);
    // Defect 8: two passing scores changed (85 → 120, 90 → −5).
    assert_eq!(
        found(&all, "assessments"),
        [
            "passing_score distinct",
            "passing_score min",
            "passing_score max",
            "passing_score sum",
            "passing_score mean"
        ]
    );
    let message = rule(&report, "assessments")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("5 of 27 statistics of 5 columns differ: passing_score distinct: source 8, target 10; passing_score min: source 50, target -5"),
        "{message}"
    );
    // Defect 12: three new locale spellings; their lengths are those of the right ones.
    assert_eq!(found(&all, "profiles"), ["locale distinct"]);
    // Defect 6 (category 6 lost 18 questions) and defect 7 (`Expert` in category 9).
    assert_eq!(
        found(&all, "questions_per_category"),
        ["6 * rows", "6 body distinct", "9 difficulty distinct"]
    );
    // A group on one side only is one difference: its rows.
    let per_difficulty = found(&all, "questions_per_difficulty");
    assert!(
        per_difficulty.contains(&"Expert * rows".to_string()),
        "{per_difficulty:?}"
    );
    assert_eq!(rule(&report, "categories")["status"], "pass");
    // Sum and mean are within 2%; min and max are not, and distinct is a count.
    assert_eq!(
        found(&all, "scores_within_two_percent"),
        [
            "passing_score distinct",
            "passing_score min",
            "passing_score max"
        ]
    );
}

#[test]
fn value_statistics_of_a_sensitive_column_are_masked_and_counts_are_not() {
    let dir = profile_project("assessments.passing_score");
    let report = run_failing(dir.path(), &[]);
    let assessments = rule(&report, "assessments");
    let rows = assessments["sample"]["rows"].as_array().expect("rows");
    for row in rows {
        let statistic = row[1].as_str().unwrap_or_default();
        let (source, target) = (&row[2], &row[3]);
        if statistic == "distinct" {
            assert_eq!((source, target), (&8.into(), &10.into()));
        } else {
            for value in [source, target] {
                let text = value.as_str().unwrap_or_default();
                assert!(text.starts_with("sha256:"), "{statistic}: {value}");
            }
        }
    }
    let message = assessments["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("120") && !message.contains("-5"),
        "{message}"
    );
}

#[test]
fn profiles_run_inside_postgres_and_mariadb_with_the_same_findings() {
    let dir = profile_project("users.password_hash");
    let on_files = findings(&run_failing(dir.path(), &[]));
    let data = root().join("examples/learning-platform");
    let mut servers = Vec::new();
    if let Some(pg) = crate::pg::server() {
        let staging = crate::pg::fresh_database(&pg, "cc_profile_staging");
        let prod = crate::pg::fresh_database(&pg, "cc_profile_prod");
        crate::pg::load_export(&data.join("staging"), &staging);
        crate::pg::load_export(&data.join("prod"), &prod);
        servers.push(("PostgreSQL", staging, prod));
    }
    if let Some(my) = crate::mysql::server() {
        let staging = crate::mysql::fresh_database(&my, "cc_profile_staging");
        let prod = crate::mysql::fresh_database(&my, "cc_profile_prod");
        crate::mysql::load_export(&data.join("staging"), &staging);
        crate::mysql::load_export(&data.join("prod"), &prod);
        servers.push(("MariaDB", staging, prod));
    }
    for (engine, staging, prod) in servers {
        let sources = [format!("staging={staging}"), format!("prod={prod}")];
        let args = ["--source", &sources[0], "--source", &sources[1]];
        // One side in the database, the other a file, then both in the database.
        let mixed = findings(&run_failing(dir.path(), &args[2..]));
        assert_eq!(mixed, on_files, "{engine}, prod only");
        let inside = findings(&run_failing(dir.path(), &args));
        assert_eq!(inside, on_files, "{engine}");
        let mut explain_args = vec!["explain", "questions_per_category"];
        explain_args.extend_from_slice(&args);
        let explain = crosscheck(dir.path(), &explain_args);
        for side in ["staging", "prod"] {
            assert!(
                explain
                    .stdout
                    .contains(&format!("runs inside {engine} source `{side}`")),
                "{engine}: {}",
                explain.stdout
            );
        }
    }
}

#[test]
fn a_tolerance_that_cannot_apply_is_an_error_that_names_the_column() {
    let dir = profile_project("users.password_hash");
    let rules = "rules:
  - name: bad_tolerance
    type: profile_match
    source: staging.assessments
    target: prod.assessments
    tolerance: {passing_score: 1s}
";
    std::fs::write(dir.path().join("rules/profiles.yaml"), rules).expect("written");
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = rule(&out.json(), "bad_tolerance")["error"].to_string();
    assert!(
        error.contains("the tolerance `1s` of column `passing_score` cannot apply"),
        "{error}"
    );
}

#[test]
fn the_statistics_compared_can_be_chosen_and_a_wrong_name_is_refused_at_its_line() {
    let dir = profile_project("users.password_hash");
    let rules = "rules:
  - name: bounds_only
    type: profile_match
    source: staging.assessments
    target: prod.assessments
    statistics: [min, max]
";
    std::fs::write(dir.path().join("rules/profiles.yaml"), rules).expect("written");
    let report = run_failing(dir.path(), &[]);
    assert_eq!(
        found(&findings(&report), "bounds_only"),
        ["passing_score min", "passing_score max"]
    );
    // min and max exist for the 3 numeric columns (id, category_id, passing_score), plus rows.
    assert_eq!(rule(&report, "bounds_only")["observed"], 7);

    let wrong = "rules:
  - name: typo
    type: profile_match
    source: staging.assessments
    target: prod.assessments
    statistics: [min, maxx]
";
    std::fs::write(dir.path().join("rules/profiles.yaml"), wrong).expect("written");
    let out = crosscheck(dir.path(), &["validate"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("unknown statistic `maxx`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("did you mean `max`"), "{}", out.stderr);
    assert!(out.stderr.contains("profiles.yaml:6:"), "{}", out.stderr);
}

/// Text a folding collation would merge (`a`, `A`, `a `), a character a byte count would
/// lengthen (`é`), an empty string against NULL: identical data profiles alike whether a side
/// is a file, PostgreSQL or MariaDB (where the profile and the metric run inside the server).
const WORDS: &str = r#"{"id": 1, "w": "a"}
{"id": 2, "w": "A"}
{"id": 3, "w": "a "}
{"id": 4, "w": "é"}
{"id": 5, "w": ""}
{"id": 6, "w": null}
{"id": 7, "w": "a"}
"#;

const WORD_RULES: &str = "rules:
  - name: same_profile
    type: profile_match
    source: a.words
    target: b.words
  - name: word_metrics
    type: metric
    table: b.words
    metrics:
      - {expr: count(DISTINCT w), min: 5, max: 5}
      - {expr: max(character_length(w)), min: 2, max: 2}
      - {expr: min(character_length(w)), min: 0, max: 0}
      - {expr: count(*) - count(w), min: 1, max: 1}
";

#[test]
fn text_a_collation_or_a_byte_count_would_change_profiles_alike_in_every_engine() {
    let dir = tempfile::tempdir().expect("a folder");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("a folder");
    std::fs::write(data.join("words.ndjson"), WORDS).expect("written");
    let config = format!(
        "sources:\n  a:\n    files: {0}\n  b:\n    files: {0}\n",
        data.display()
    );
    let project = project(&[("crosscheck.yaml", &config), ("rules/r.yaml", WORD_RULES)]);
    let statuses = |extra: &[&str]| {
        let mut args = vec!["run", "-q", "--json", "-"];
        args.extend_from_slice(extra);
        let out = crosscheck(project.path(), &args);
        let report = out.json();
        ["same_profile", "word_metrics"].map(|name| {
            let r = rule(&report, name);
            format!("{} {} {}", r["status"], r["message"], r["error"])
        })
    };
    for status in statuses(&[]) {
        assert!(status.starts_with("\"pass\""), "files: {status}");
    }
    let mut servers = Vec::new();
    if let Some(pg) = crate::pg::server() {
        let url = crate::pg::fresh_database(&pg, "cc_profile_words");
        crate::pg::load_export(&data, &url);
        servers.push(("PostgreSQL", url));
    }
    if let Some(my) = crate::mysql::server() {
        let url = crate::mysql::fresh_database(&my, "cc_profile_words");
        crate::mysql::load_export(&data, &url);
        servers.push(("MariaDB", url));
    }
    for (engine, url) in servers {
        let source = format!("b={url}");
        for status in statuses(&["--source", &source]) {
            assert!(status.starts_with("\"pass\""), "{engine}: {status}");
        }
        let explain = crosscheck(
            project.path(),
            &["explain", "same_profile", "--source", &source],
        );
        assert!(
            explain
                .stdout
                .contains(&format!("runs inside {engine} source `b`")),
            "{engine}: {}",
            explain.stdout
        );
    }
}

/// The shapes real changes take: a bulk update to one value moves every statistic of its
/// column — but values swapped between rows leave every statistic as it was. That is what a profile cannot see, and what
/// a `diff` is for.
#[test]
fn bulk_updates_change_a_profile_and_swaps_do_not() {
    let staging =
        std::fs::read_to_string(root().join("examples/learning-platform/staging/assessments.csv"))
            .expect("the example");
    let lines: Vec<String> = staging.lines().map(String::from).collect();
    // Columns: id,title,category_id,passing_score,created_at.
    let field = |line: &str, i: usize| line.split(',').nth(i).unwrap_or_default().to_string();
    let with_score = |line: &str, score: &str| {
        let mut parts: Vec<String> = line.split(',').map(String::from).collect();
        parts[3] = score.to_string();
        parts.join(",")
    };
    // The first row, and the first after it whose score differs.
    let s1 = field(&lines[1], 3);
    let j = (2..lines.len())
        .find(|&j| field(&lines[j], 3) != s1)
        .expect("two different scores");
    let s2 = field(&lines[j], 3);
    let mut swapped = lines.clone();
    swapped[1] = with_score(&lines[1], &s2);
    swapped[j] = with_score(&lines[j], &s1);
    let bulk: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.clone()
            } else {
                with_score(l, "75")
            }
        })
        .collect();
    let dir = project(&[
        ("staging/assessments.csv", &staging),
        ("swapped/assessments.csv", &(swapped.join("\n") + "\n")),
        ("bulk/assessments.csv", &(bulk.join("\n") + "\n")),
        (
            "crosscheck.yaml",
            "sources:\n  staging: {files: staging}\n  swapped: {files: swapped}\n  bulk: {files: bulk}\n",
        ),
        (
            "rules/r.yaml",
            "rules:
  - {name: swap_profile, type: profile_match, source: staging.assessments, target: swapped.assessments}
  - {name: swap_diff, type: diff, source: staging.assessments, target: swapped.assessments, key: [id]}
  - {name: bulk_profile, type: profile_match, source: staging.assessments, target: bulk.assessments}
",
        ),
    ]);
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    let report = out.json();
    assert_eq!(rule(&report, "swap_profile")["status"], "pass");
    assert_eq!(rule(&report, "swap_diff")["violations"], 2);
    let bulk_found = findings(&report);
    let bulk_found = found(&bulk_found, "bulk_profile");
    // Every score set to 75: all five statistics of that column move, nothing else.
    assert_eq!(
        bulk_found,
        [
            "passing_score distinct",
            "passing_score min",
            "passing_score max",
            "passing_score sum",
            "passing_score mean"
        ]
    );
}
