//! Gaps a ported expectation suite found in the rule language: a percentage `max_violations`
//! on a `sql` rule, of the number its `out_of` query returns; window functions in `expect`; JSON functions;
//! the engine's information_schema as documented.

use crate::support::{crosscheck, project, root, rule};

const ORPHANS: &str = "SELECT p.id FROM prod.user_progress p LEFT JOIN prod.users u ON u.id = p.user_id WHERE p.user_id IS NOT NULL AND u.id IS NULL";

fn sql_project(rules: &str) -> tempfile::TempDir {
    let prod = root().join("examples/learning-platform/prod");
    let config = format!("sources:\n  prod:\n    files: {}\n", prod.display());
    project(&[("crosscheck.yaml", &config), ("rules/sql.yaml", rules)])
}

#[test]
fn a_percentage_on_a_sql_rule_is_of_its_out_of_number() {
    let rules = format!(
        "rules:
  - name: share
    type: sql
    sql: {ORPHANS}
    out_of: SELECT count(*) FROM prod.user_progress
    max_violations: \"0.5%\"
  - name: strict
    type: sql
    sql: {ORPHANS}
    out_of: SELECT count(*) FROM prod.user_progress
    max_violations: \"0.1%\"
  - name: two_columns
    type: sql
    sql: SELECT 1 AS x
    out_of: SELECT 1 AS a, 2 AS b
    max_violations: \"1%\"
  - name: negative
    type: sql
    sql: SELECT 1 AS x
    out_of: SELECT -3 AS a
    max_violations: \"1%\"
  - name: nothing_counted
    type: sql
    sql: SELECT 1 AS x
    out_of: SELECT CAST(NULL AS BIGINT) AS a
    max_violations: \"1%\"
"
    );
    let dir = sql_project(&rules);
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = out.json();
    // 7 orphans of 4,091 attempts: 0.5% allows 20, 0.1% allows 4.
    let share = rule(&report, "share");
    assert_eq!(
        (&share["status"], &share["violations"]),
        (&"pass".into(), &7.into())
    );
    assert_eq!(share["message"], "the query returned 7 rows out of 4,091");
    assert_eq!(rule(&report, "strict")["status"], "fail");
    let error = |name: &str| rule(&report, name)["error"].to_string();
    assert!(
        error("two_columns").contains("returned 1 row of 2 columns"),
        "{}",
        error("two_columns")
    );
    assert!(
        error("negative").contains("returned -3"),
        "{}",
        error("negative")
    );
    // A NULL count is no count: never taken as 0, which would silently allow nothing.
    let null = error("nothing_counted");
    assert!(null.contains("returned NULL"), "{null}");
}

#[test]
fn a_percentage_without_out_of_is_refused_at_its_line() {
    let dir = sql_project(
        "rules:\n  - name: p\n    type: sql\n    sql: SELECT 1 AS x\n    max_violations: \"1%\"\n",
    );
    let out = crosscheck(dir.path(), &["validate"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("a percentage `max_violations` on a `sql` rule needs `out_of`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("sql.yaml:5:21"), "{}", out.stderr);
}

#[test]
fn explain_shows_the_out_of_query() {
    let rules = format!(
        "rules:\n  - name: share\n    type: sql\n    sql: {ORPHANS}\n    out_of: SELECT count(*) FROM prod.user_progress\n    max_violations: \"0.5%\"\n"
    );
    let dir = sql_project(&rules);
    let out = crosscheck(dir.path(), &["explain", "share"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("3. out_of (what a percentage max_violations is of)"),
        "{}",
        out.stdout
    );
}

const WINDOWED: &str = "rules:
  - name: completed_in_id_order
    type: expect
    table: prod.user_progress
    where: completed_at IS NOT NULL
    condition: completed_at >= lag(completed_at) OVER (ORDER BY id) OR lag(completed_at) OVER (ORDER BY id) IS NULL
  - name: first_of_its_email
    type: expect
    table: prod.users
    condition: email IS NULL OR row_number() OVER (PARTITION BY email ORDER BY id) = 1
  - name: scores_in_range
    type: expect
    table: prod.assessments
    condition: passing_score BETWEEN 0 AND 100
";

/// `(rule, violations, the first column of each sample row)`.
fn verdicts_with_ids(report: &serde_json::Value) -> Vec<(String, u64, Vec<i64>)> {
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            let ids = r["sample"]["rows"]
                .as_array()
                .map(|rows| rows.iter().filter_map(|row| row[0].as_i64()).collect())
                .unwrap_or_default();
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["violations"].as_u64().unwrap_or(u64::MAX),
                ids,
            )
        })
        .collect()
}

#[test]
fn window_functions_in_expect_check_row_order_on_files_and_inside_postgres() {
    let dir = sql_project(WINDOWED);
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    // Defect 9's fallback timestamps are older than the attempt before each; defect 4's
    // lower-cased email now belongs to an older account too.
    let expected = vec![
        (
            "completed_in_id_order".to_string(),
            4,
            vec![371, 3064, 3083, 3878],
        ),
        ("first_of_its_email".to_string(), 1, vec![995]),
        ("scores_in_range".to_string(), 2, vec![16, 37]),
    ];
    assert_eq!(verdicts_with_ids(&report), expected);
    let columns = &rule(&report, "completed_in_id_order")["sample"]["columns"];
    assert!(!columns.to_string().contains("crosscheck"), "{columns}");
    assert_eq!(rule(&report, "completed_in_id_order")["observed"], 3984);

    let Some(pg) = crate::pg::server() else {
        return;
    };
    let url = crate::pg::fresh_database(&pg, "cc_windowed_prod");
    crate::pg::load_export(&root().join("examples/learning-platform/prod"), &url);
    let source = format!("prod={url}");
    let out = crosscheck(
        dir.path(),
        &["run", "-q", "--json", "-", "--source", &source],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(verdicts_with_ids(&out.json()), expected);
    let explain = crosscheck(
        dir.path(),
        &["explain", "completed_in_id_order", "--source", &source],
    );
    assert!(
        explain
            .stdout
            .contains("runs inside PostgreSQL source `prod`"),
        "{}",
        explain.stdout
    );
}

/// docs/rules.md says how the engine's information_schema differs from a database's: pinned
/// here, so the page stays true when DataFusion changes.
#[test]
fn information_schema_counts_positions_from_zero_and_lists_each_table_under_crosscheck() {
    let rules = "rules:
  - name: columns
    type: sql
    sql: SELECT column_name, ordinal_position, data_type, is_nullable FROM information_schema.columns WHERE table_catalog = 'crosscheck' AND table_schema = 'prod' AND table_name = 'assessments'
    sample: 10
  - name: twice
    type: sql
    sql: SELECT table_catalog, table_schema FROM information_schema.tables WHERE table_name = 'assessments'
    sample: 10
";
    let dir = sql_project(rules);
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    let report = out.json();
    let mut rows: Vec<String> = rule(&report, "columns")["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.to_string())
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            r#"["category_id",2,"Int64","YES"]"#,
            r#"["created_at",4,"Timestamp(s)","YES"]"#,
            r#"["id",0,"Int64","YES"]"#,
            r#"["passing_score",3,"Int64","YES"]"#,
            r#"["title",1,"Utf8","YES"]"#,
        ]
    );
    let mut catalogs: Vec<String> = rule(&report, "twice")["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.to_string())
        .collect();
    catalogs.sort();
    assert_eq!(
        catalogs,
        [r#"["crosscheck","prod"]"#, r#"["prod","public"]"#]
    );
}

const SETTINGS_CSV: &str = r#"id,doc
1,"{""theme"": ""dark"", ""limits"": {""max"": 5}}"
2,"{""theme"": ""blue"", ""limits"": {""max"": 50}}"
3,"{""theme"": "
4,
5,"{""theme"": ""light"", ""tags"": [""a"", ""b""]}"
"#;

const JSON_RULES: &str = "rules:
  - name: parses
    type: expect
    table: app.settings
    where: doc IS NOT NULL
    condition: json_valid(doc)
  - name: known_theme
    type: expect
    table: app.settings
    where: doc IS NOT NULL
    condition: json_get_str(doc, 'theme') IN ('light', 'dark')
  - name: theme_by_operator
    type: expect
    table: app.settings
    where: doc IS NOT NULL
    condition: (doc->>'theme') IS NOT NULL
  - name: limits
    type: sql
    sql: SELECT id FROM app.settings WHERE json_get_int(doc, 'limits', 'max') > 10 OR json_length(doc, 'tags') = 2
";

#[test]
fn json_functions_read_a_text_column_of_documents_on_files_and_postgres_alike() {
    let dir = tempfile::tempdir().expect("a folder");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("a folder");
    std::fs::write(data.join("settings.csv"), SETTINGS_CSV).expect("written");
    let config = format!("sources:\n  app:\n    files: {}\n", data.display());
    let project = project(&[
        ("crosscheck.yaml", &config),
        ("rules/json.yaml", JSON_RULES),
    ]);
    let out = crosscheck(project.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // The broken document of id 3 does not parse, has no theme, and no limits.
    let expected = vec![
        ("parses".to_string(), 1, vec![3]),
        ("known_theme".to_string(), 2, vec![2, 3]),
        ("theme_by_operator".to_string(), 1, vec![3]),
        ("limits".to_string(), 2, vec![2, 5]),
    ];
    assert_eq!(verdicts_with_ids(&out.json()), expected);

    let Some(pg) = crate::pg::server() else {
        return;
    };
    let url = crate::pg::fresh_database(&pg, "cc_json_app");
    crate::pg::execute(&url, "CREATE TABLE settings (id int, doc text)");
    crate::pg::load_rows(&url, "settings", SETTINGS_CSV);
    let source = format!("app={url}");
    let out = crosscheck(
        project.path(),
        &["run", "-q", "--json", "-", "--source", &source],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(verdicts_with_ids(&out.json()), expected);
    // The JSON functions exist only in the engine: never sent to PostgreSQL by name.
    let explain = crosscheck(
        project.path(),
        &["explain", "known_theme", "--source", &source],
    );
    assert!(
        explain.stdout.contains("runs in-process"),
        "{}",
        explain.stdout
    );
    assert!(
        !explain.stdout.contains("runs inside"),
        "{}",
        explain.stdout
    );
}
