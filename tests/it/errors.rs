//! Bad input exits 2 with a message naming the file, line and column, showing the line
//! and saying what was expected; nothing panics. Messages are pinned by snapshots.

use crate::support::{crosscheck, project, run_json};

const CONFIG: &str = "sources:\n  left:\n    files: data\n";
const USERS: &str = "id,email,score\n1,a@x.io,10\n2,,20\n3,c@x.io,\n";

fn run_project(files: &[(&str, &str)]) -> crate::support::Output {
    let dir = project(files);
    crosscheck(dir.path(), &["run"])
}

/// stderr with the temporary folder's path removed.
fn stderr_of(files: &[(&str, &str)]) -> String {
    let out = run_project(files);
    assert_eq!(
        out.code, 2,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out.stderr
}

#[test]
fn unknown_rule_type_suggests_the_near_miss() {
    let rules = "rules:\n  - name: users_exist\n    type: row_cont\n    table: left.users\n";
    insta::assert_snapshot!(stderr_of(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules)
    ]));
}

#[test]
fn unknown_field_and_field_of_another_type() {
    let rules = "rules:\n  - name: ids\n    type: not_null\n    table: left.users\n    colums: [id]\n  - name: n\n    type: row_count\n    table: left.users\n    group_by: [id]\n";
    insta::assert_snapshot!(stderr_of(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules)
    ]));
}

#[test]
fn all_problems_of_a_project_are_reported_at_once() {
    let a = "rules:\n  - name: dup\n    type: row_count\n    table: left.users\n  - name: bad_threshold\n    type: not_null\n    table: left.users\n    columns: [id]\n    max_violations: lots\n";
    let b = "rules:\n  - name: dup\n    type: row_count\n    table: lfet.users\n";
    let err = stderr_of(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/a.yaml", a),
        ("rules/b.yaml", b),
    ]);
    assert!(err.contains("3 problems found"), "{err}");
    insta::assert_snapshot!(err);
}

#[test]
fn malformed_yaml_points_at_the_line() {
    let rules = "rules:\n  - name: a\n    type: row_count\n    table: [left.users\n";
    let err = stderr_of(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules),
    ]);
    assert!(
        err.contains("rules/r.yaml") && err.contains("invalid YAML"),
        "{err}"
    );
}

#[test]
fn missing_environment_variable_is_named() {
    let config = "sources:\n  left:\n    files: ${CROSSCHECK_TEST_UNSET_DIR}\n  # files: ${ALSO_UNSET_BUT_IN_A_COMMENT}\n";
    insta::assert_snapshot!(stderr_of(&[
        ("crosscheck.yaml", config),
        ("rules/r.yaml", "rules: []\n")
    ]));
}

#[test]
fn defaults_fill_unset_variables() {
    let config = "sources:\n  left:\n    files: ${CROSSCHECK_TEST_UNSET_DIR:-data}\n";
    let rules = "rules:\n  - name: n\n    type: row_count\n    table: left.users\n    min: 3\n";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules),
    ]);
    assert_eq!(crosscheck(dir.path(), &["run", "-q"]).code, 0);
}

#[test]
fn non_select_sql_is_rejected_before_running() {
    let rules = "rules:\n  - name: wipe\n    type: sql\n    sql: DELETE FROM left.users\n  - name: sneaky\n    type: expect\n    table: left.users\n    condition: \"1=1; DROP TABLE users\"\n";
    insta::assert_snapshot!(stderr_of(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules)
    ]));
}

#[test]
fn binary_garbage_as_a_rule_file() {
    let garbage = "\u{0}\u{1}\u{2}garbage\u{0}";
    let err = stderr_of(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/g.yaml", garbage),
    ]);
    assert!(
        err.contains("rules/g.yaml") && err.contains("not a text file"),
        "{err}"
    );
    let dir = project(&[("crosscheck.yaml", CONFIG), ("data/users.csv", USERS)]);
    std::fs::write(dir.path().join("rules.yaml"), [0xff, 0xfe, 0x00, 0x9f]).expect("written");
    let out = crosscheck(dir.path(), &["run", "rules.yaml"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not valid UTF-8"), "{}", out.stderr);
}

#[test]
fn missing_table_and_column_error_the_rule_with_a_suggestion() {
    let rules = "rules:\n  - name: t\n    type: row_count\n    table: left.userz\n  - name: c\n    type: not_null\n    table: left.users\n    columns: [emial]\n  - name: ok\n    type: row_count\n    table: left.users\n";
    let dir = project(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules),
    ]);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 2);
    let errors: Vec<_> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| (r["status"].clone(), r["error"].clone()))
        .collect();
    insta::assert_json_snapshot!(errors);
}

#[test]
fn ragged_csv_is_a_clear_rule_error() {
    let ragged = "id,email\n1,a@x.io\n2,b@x.io,extra\n";
    let rules = "rules:\n  - name: n\n    type: row_count\n    table: left.users\n";
    let dir = project(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", ragged),
        ("rules/r.yaml", rules),
    ]);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 2);
    let error = report["rules"][0]["error"].as_str().expect("an error");
    assert!(
        error.contains("data/users.csv") && error.contains("rules/r.yaml:4"),
        "{error}"
    );
}

#[test]
fn missing_project_file_and_unknown_source_override() {
    let dir = project(&[]);
    let out = crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot read `crosscheck.yaml`")
            && out.stderr.contains("crosscheck init"),
        "{}",
        out.stderr
    );
    let dir = project(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", "rules: []\n"),
    ]);
    let out = crosscheck(dir.path(), &["run", "--source", "lefft=data"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `left`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_source_folder_stops_the_run() {
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  left:\n    files: nowhere\n"),
        ("rules/r.yaml", "rules: []\n"),
    ]);
    let out = crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("source `left`: cannot read folder `nowhere`"),
        "{}",
        out.stderr
    );
}

#[test]
fn rules_that_can_never_pass_or_never_check_a_row_are_rejected_at_load() {
    let rules = "rules:
  - name: inverted_range
    type: row_count
    table: left.users
    min: 10
    max: 5
  - name: below_zero
    type: row_count
    table: left.users
    max: -1
  - name: nothing_accepted
    type: accepted_values
    table: left.users
    column: email
    values: []
  - name: from_the_future
    type: freshness
    table: left.users
    column: score
    max_age: 0s
  - name: looks_at_nothing
    type: not_null
    table: left.users
    columns: [id]
    where: false
";
    let files = [
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules),
    ];
    let dir = project(&files);
    let validate = crosscheck(dir.path(), &["validate"]);
    assert_eq!(validate.code, 2, "{}", validate.stderr);
    assert!(
        validate.stderr.contains("5 problems found"),
        "{}",
        validate.stderr
    );
    insta::assert_snapshot!(stderr_of(&files));
}

#[test]
fn a_statement_timeout_postgresql_cannot_enforce_is_rejected() {
    for (timeout, expected) in [
        ("0s", "at least 1ms"),
        ("0.0001s", "at least 1ms"),
        ("30d", "at most 24d"),
    ] {
        let config = format!(
            "sources:\n  db:\n    postgres: postgres://u@127.0.0.1:1/x\n    statement_timeout: {timeout}\n"
        );
        let err = stderr_of(&[("crosscheck.yaml", &config)]);
        assert!(
            err.contains(expected) && err.contains("crosscheck.yaml:4:"),
            "{timeout}: {err}"
        );
    }
}

/// A misspelt source in a `schema_match` (which takes sources or tables) is named as such,
/// with the near miss, not as a table that needs its source.
#[test]
fn a_misspelt_source_of_a_schema_match_suggests_the_source() {
    let config = "sources:\n  left:\n    files: data\n  right:\n    files: data\n";
    let rules =
        "rules:\n  - name: s\n    type: schema_match\n    source: left\n    target: rigth\n";
    let err = stderr_of(&[
        ("crosscheck.yaml", config),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules),
    ]);
    assert!(
        err.contains("`rigth` is neither a source (sources: left, right) nor a table")
            && err.contains("rules/r.yaml:5:13")
            && err.contains("did you mean `right`?"),
        "{err}"
    );
}

/// A typo in a rule's SQL (a diff's `where` too) is reported by `run` at the line of the
/// SQL, as `validate --connect` reports it, not as the planner's bare message.
#[test]
fn a_misspelt_column_in_a_condition_is_reported_at_its_line_by_run() {
    let rules = "rules:\n  - name: scores\n    type: expect\n    table: left.users\n    condition: scor >= 0\n  - name: same\n    type: diff\n    source: left.users\n    target: left.users\n    key: [id]\n    where: scor > 1\n";
    let dir = project(&[
        ("crosscheck.yaml", CONFIG),
        ("data/users.csv", USERS),
        ("rules/r.yaml", rules),
    ]);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = crate::support::rule(&report, "scores")["error"].to_string();
    assert!(
        error.contains("rules/r.yaml:5:16") && error.contains("scor"),
        "{error}"
    );
    let error = crate::support::rule(&report, "same")["error"].to_string();
    assert!(
        error.contains("rules/r.yaml:11:12") && error.contains("the `where` on `left.users`"),
        "{error}"
    );
}
