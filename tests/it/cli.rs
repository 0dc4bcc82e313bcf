//! The other subcommands and options: validate, list, --source, --sample, empty tables.

use crate::support::{crosscheck, project, root, rule, run_json};

#[test]
fn validate_checks_files_and_with_connect_the_sources() {
    let out = crosscheck(&root(), &["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let files = std::fs::read_dir(root().join("rules"))
        .expect("rules/")
        .count();
    let expected = format!(
        "crosscheck.yaml is valid: {} rules in {files} rule files",
        bundled_rule_count()
    );
    assert!(
        out.stdout.contains(&expected),
        "{}\nexpected: {expected}",
        out.stdout
    );
    let out = crosscheck(&root(), &["validate", "--connect"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let config = "sources:\n  left:\n    files: data\n";
    let rules = "rules:\n  - name: t\n    type: row_count\n    table: left.userz\n  - name: q\n    type: sql\n    sql: select nope from left.users\n";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("data/users.csv", "id\n1\n"),
        ("rules/r.yaml", rules),
    ]);
    let out = crosscheck(dir.path(), &["validate", "--connect"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("rules/r.yaml:4:12") && out.stderr.contains("did you mean `users`?"),
        "{}",
        out.stderr
    );
    assert!(
        // At the unknown column itself, not at the start of the query.
        out.stderr.contains("rules/r.yaml:7:17") && out.stderr.contains("nope"),
        "{}",
        out.stderr
    );
}

/// A planning error points at the offending word of the rule's SQL in the YAML: in a
/// block scalar, a quoted condition, a `where`, a folded query, and in a `queries/` file.
#[test]
fn planning_errors_point_into_the_rule_sql() {
    let config = "sources:\n  left:\n    files: data\n";
    let rules = r#"rules:
  - name: block
    type: sql
    sql: |
      select id,
             nmae
      from left.users
  - name: cond
    type: expect
    table: left.users
    condition: "id > 0 and nmae <> ''"
  - name: w
    type: not_null
    table: left.users
    columns: [id]
    where: nmae = 'x'
  - name: fn
    type: sql
    sql: >
      select lenght(name) from left.users
  - name: file
    type: sql
    query: bad.sql
"#;
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("data/users.csv", "id,name\n1,a\n"),
        ("rules/r.yaml", rules),
        ("queries/bad.sql", "select\n  nmae from left.users\n"),
    ]);
    let out = crosscheck(dir.path(), &["validate", "--connect"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (place, marked) in [
        ("rules/r.yaml:6:14", "             nmae"),
        ("rules/r.yaml:11:28", "^^^^"),
        ("rules/r.yaml:16:12", "    where: nmae = 'x'"),
        ("rules/r.yaml:20:14", "^^^^^^"),
        ("queries/bad.sql:2:3", "  nmae from left.users"),
    ] {
        assert!(
            out.stderr.contains(place) && out.stderr.contains(marked),
            "{place}:\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("Invalid function 'lenght'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("5 problems found"), "{}", out.stderr);
}

/// `crosscheck diff`'s flags are read by the readers of the rule fields they stand for: a
/// value a rule file refuses is refused on the command line in the same words.
#[test]
fn diff_flags_say_what_the_rule_fields_say() {
    let dir = project(&[("a.csv", "id,v\n1,2\n"), ("b.csv", "id,v\n1,2\n")]);
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "a.csv", "b.csv", "--key", "id"];
        args.extend(extra);
        crosscheck(dir.path(), &args)
    };
    let tolerance = diff(&["--tolerance", "v=lots"]);
    assert_eq!(tolerance.code, 2);
    assert!(
        tolerance
            .stderr
            .contains("--tolerance v=lots: expected a non-negative number (`0.01`)"),
        "{}",
        tolerance.stderr
    );
    let long = "c".repeat(5000);
    let key = diff(&["--columns", &long]);
    assert_eq!(key.code, 2);
    assert!(
        key.stderr.contains("is too long: names are limited to"),
        "{}",
        key.stderr
    );
    let zone = diff(&["--timezone", "Europe/Berln"]);
    assert!(
        zone.stderr.contains("did you mean `Europe/Berlin`?"),
        "{}",
        zone.stderr
    );
    let predicate = diff(&["--where", "v > 1; drop table t"]);
    assert_eq!(predicate.code, 2);
    assert!(
        predicate
            .stderr
            .contains("--where v > 1; drop table t: unexpected"),
        "{}",
        predicate.stderr
    );
    let algorithm = diff(&["--algorithm", "fast"]);
    assert_eq!(algorithm.code, 2);
    assert!(
        algorithm.stderr.contains("checksum"),
        "{}",
        algorithm.stderr
    );
    // And accepted values still run.
    let fine = diff(&[
        "--tolerance",
        "v=0.5",
        "--normalize",
        "trim,empty_as_null",
        "--algorithm",
        "join",
    ]);
    assert_eq!(fine.code, 0, "{}{}", fine.stdout, fine.stderr);
}

/// Each `crosscheck diff` flag read through a rule field's reader takes effect: the verdict
/// turns on it (a flag read and then dropped would leave the differences standing).
#[test]
fn every_diff_flag_read_by_a_field_reader_changes_the_verdict() {
    let dir = project(&[
        (
            "a.ndjson",
            "{\"id\": 1, \"v\": 1.0, \"t\": \"x \", \"e\": \"\", \"old\": 5, \"at\": \"2024-01-01T10:00:00\"}\n\
             {\"id\": 2, \"v\": 2.0, \"t\": \"y\", \"e\": \"k\", \"old\": 6, \"at\": \"2024-01-01T10:00:00\"}\n",
        ),
        (
            "b.ndjson",
            "{\"id\": 1, \"v\": 1.4, \"t\": \"X\", \"e\": null, \"new\": 5, \"at\": \"2024-01-01T09:00:00Z\"}\n\
             {\"id\": 2, \"v\": 2.0, \"t\": \"y\", \"e\": \"k\", \"new\": 7, \"at\": \"2024-01-01T09:00:00Z\"}\n",
        ),
    ]);
    let verdict = |extra: &[&str]| {
        let mut args = vec!["diff", "a.ndjson", "b.ndjson", "--key", "id"];
        args.extend(extra);
        let out = crosscheck(dir.path(), &args);
        assert!(out.code <= 1, "{}{}", out.stdout, out.stderr);
        out.code
    };
    // Each column differs until its own flag forgives it; the others are excluded.
    let cases: [(&[&str], &[&str]); 4] = [
        (&["--columns", "v"], &["--tolerance", "v=0.5"]),
        (
            &["--columns", "t"],
            &["--normalize", "trim,case_insensitive"],
        ),
        (&["--columns", "e"], &["--normalize", "empty_as_null"]),
        (
            &["--columns", "old", "--rename", "new=old"],
            &["--where", "id = 1"],
        ),
    ];
    for (base, flag) in cases {
        assert_eq!(verdict(base), 1, "{base:?} alone should differ");
        let both: Vec<&str> = base.iter().chain(flag).copied().collect();
        assert_eq!(verdict(&both), 0, "{both:?} should match");
    }
    // --exclude drops the column --columns would have compared.
    assert_eq!(verdict(&["--exclude", "v,t,e,at,old,new"]), 0);
    assert_eq!(verdict(&["--exclude", "t,e,at,old,new"]), 1);
    // --algorithm read through its reader: join is what runs on files.
    assert_eq!(verdict(&["--columns", "v", "--algorithm", "join"]), 1);
}

/// `--timezone` takes effect: a naive timestamp in a CSV export is read in the zone given
/// when compared with a database's instant (10:00 in Paris is 09:00 UTC), and not without it.
#[test]
fn the_timezone_flag_reads_naive_timestamps_in_its_zone() {
    let Some(server) = crate::pg::server() else {
        return;
    };
    let url = crate::pg::fresh_database(&server, "cli_timezone");
    crate::pg::execute(
        &url,
        "CREATE TABLE t (id int PRIMARY KEY, at timestamptz); \
         INSERT INTO t VALUES (1, '2024-01-01 09:00:00+00'), (2, '2024-07-01 08:00:00+00');",
    );
    let dir = project(&[(
        "a.csv",
        "id,at\n1,2024-01-01 10:00:00\n2,2024-07-01 10:00:00\n",
    )]);
    let table = format!("{url}#public.t");
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", table.as_str(), "a.csv", "--key", "id", "-q"];
        args.extend(extra);
        crosscheck(dir.path(), &args)
    };
    let utc = diff(&[]);
    assert_eq!(utc.code, 1, "{}{}", utc.stdout, utc.stderr);
    // Winter and summer time both: +01:00 in January, +02:00 in July.
    let paris = diff(&["--timezone", "Europe/Paris"]);
    assert_eq!(paris.code, 0, "{}{}", paris.stdout, paris.stderr);
}

/// How many rules the bundled suite has, as its generator recorded.
fn bundled_rule_count() -> usize {
    let expected: serde_json::Value = crate::support::bundled_expected();
    expected["rules"].as_object().map(|r| r.len()).unwrap_or(0)
}

#[test]
fn list_shows_one_line_per_rule() {
    let out = crosscheck(&root(), &["list"]);
    assert_eq!(out.code, 0);
    let lines: Vec<_> = out.stdout.lines().collect();
    assert_eq!(lines.len(), bundled_rule_count() + 1, "{}", out.stdout);
    assert!(lines.iter().any(|l| l.contains("progress_user_exists")
        && l.contains("foreign_key")
        && l.contains("prod.user_progress, prod.users")));
}

#[test]
fn a_source_can_be_replaced_for_one_run() {
    // Pointing prod at the staging export makes every prod-only defect disappear.
    let (out, report) = run_json(
        &root(),
        &[
            "--source",
            "prod=examples/learning-platform/staging",
            "--select",
            "users_count_match",
            "--select",
            "user_email_unique",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(rule(&report, "users_count_match")["status"], "pass");
    assert_eq!(
        report["sources"]["prod"]["location"],
        "examples/learning-platform/staging"
    );
}

#[test]
fn sample_limits_the_rows_kept() {
    let (_, report) = run_json(
        &root(),
        &["--sample", "2", "--select", "progress_user_exists"],
    );
    let r = rule(&report, "progress_user_exists");
    assert_eq!(r["violations"], 7);
    assert_eq!(r["sample"]["rows"].as_array().map(Vec::len), Some(2));
}

#[test]
fn empty_tables_and_empty_strings() {
    let config = "sources:\n  left:\n    files: data\n";
    let rules = "rules:
  - name: empty_has_rows
    type: row_count
    table: left.empty
    min: 1
  - name: empty_not_null
    type: not_null
    table: left.empty
    columns: [id]
  - name: empty_fresh
    type: freshness
    table: left.empty
    column: at
    max_age: 1d
  - name: blank_is_null
    type: not_null
    table: left.people
    columns: [nick]
  - name: quoted_blank
    type: expect
    table: left.people
    condition: nick <> ''
";
    let people = "id,nick\n1,al\n2,\n3,\"\"\n";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("data/empty.csv", "id,at\n"),
        ("data/people.csv", people),
        ("rules/r.yaml", rules),
    ]);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let verdict = |n: &str| {
        (
            rule(&report, n)["status"].clone(),
            rule(&report, n)["violations"].clone(),
        )
    };
    assert_eq!(verdict("empty_has_rows"), ("fail".into(), 1.into()));
    assert_eq!(verdict("empty_not_null"), ("pass".into(), 0.into()));
    assert_eq!(verdict("empty_fresh"), ("fail".into(), 1.into()));
    // With `null: ""` (the default) an unquoted empty field is NULL and a quoted `""` is the
    // empty string, as PostgreSQL's COPY CSV writes them.
    assert_eq!(verdict("blank_is_null"), ("fail".into(), 1.into()));
    assert_eq!(verdict("quoted_blank"), ("fail".into(), 2.into()));
}

#[test]
fn init_makes_a_project_that_runs_and_validate_catches_each_typo() {
    let dir = project(&[]);
    let out = crosscheck(dir.path(), &["init", "starter"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let root = dir.path().join("starter");
    let rules = std::fs::read_to_string(root.join("rules/example.yaml")).expect("rules written");
    assert!(rules.starts_with("# yaml-language-server: $schema=../.crosscheck/schema.json"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(".crosscheck/schema.json")).expect("schema"),
    )
    .expect("JSON");
    assert!(schema["definitions"]["rule_diff"].is_object());
    assert_eq!(crosscheck(&root, &["validate", "--connect"]).code, 0);
    assert_eq!(crosscheck(&root, &["run", "-q"]).code, 0);
    assert_eq!(
        crosscheck(dir.path(), &["init", "starter"]).code,
        2,
        "init never overwrites"
    );

    let typo = |from: &str, to: &str| {
        std::fs::write(root.join("rules/example.yaml"), rules.replacen(from, to, 1))
            .expect("edited");
        let out = crosscheck(&root, &["validate", "--connect"]);
        std::fs::write(root.join("rules/example.yaml"), &rules).expect("restored");
        assert_eq!(out.code, 2, "{from} -> {to}: {}", out.stdout);
        out.stderr
    };
    let err = typo("type: not_null", "type: not_nul");
    assert!(
        err.contains("rules/example.yaml:") && err.contains("did you mean `not_null`?"),
        "{err}"
    );
    let err = typo(
        "    columns: [email]\n\n  - name: emails_unique",
        "    colums: [email]\n\n  - name: emails_unique",
    );
    assert!(err.contains("did you mean `columns`?"), "{err}");
    let err = typo(
        "table: prod.users\n    columns: [email]",
        "table: prod.user\n    columns: [email]",
    );
    assert!(
        err.contains("table `prod.user` not found") && err.contains("did you mean `users`?"),
        "{err}"
    );
    let err = typo("column: plan", "column: plann");
    assert!(
        err.contains("column `plann` not found") && err.contains("did you mean `plan`?"),
        "{err}"
    );
    let sql = std::fs::read_to_string(root.join("queries/future_signups.sql")).expect("query");
    std::fs::write(
        root.join("queries/future_signups.sql"),
        sql.replace("signed_up_at FROM", "signed_upat FROM"),
    )
    .expect("edited");
    let out = crosscheck(&root, &["validate", "--connect"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("future_signups.sql") && out.stderr.contains("signed_upat"),
        "{}",
        out.stderr
    );
}

#[test]
fn schema_describes_every_rule_type() {
    let out = crosscheck(&root(), &["schema"]);
    assert_eq!(out.code, 0);
    let schema = out.json();
    for t in [
        "row_count",
        "row_count_match",
        "not_null",
        "unique",
        "accepted_values",
        "expect",
        "foreign_key",
        "sql",
        "schema_match",
        "freshness",
        "diff",
        "query_match",
    ] {
        let rule = &schema["definitions"][format!("rule_{t}")];
        assert_eq!(rule["additionalProperties"], false, "{t}");
        assert!(rule["properties"]["name"]["description"].is_string(), "{t}");
    }
    assert!(
        schema["definitions"]["rule_foreign_key"]["properties"]["type"]["enum"]
            .as_array()
            .is_some_and(|e| e.iter().any(|v| v == "orphans"))
    );
}

/// A `diff` of the command line names no line and column of a file it does not have
/// (it said `(command line):0:0: table … not found`).
#[test]
fn a_command_line_diff_error_has_no_made_up_position() {
    let Some(server) = crate::pg::server() else {
        return;
    };
    let database = crate::pg::fresh_database(&server, "cc_command_line_position");
    crate::pg::execute(&database, "CREATE TABLE users (id int)");
    let dir = project(&[("b.csv", "id\n1\n")]);
    let left = format!("{database}#userz");
    let out = crosscheck(dir.path(), &["diff", &left, "b.csv", "--key", "id"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("(command line): table `left.public.userz` not found")
            && !out.stdout.contains(":0:0"),
        "{}",
        out.stdout
    );
}

/// `diff`'s `--normalize` and `--timezone` are read by the names a rule's `normalize:` takes:
/// a typo is exit 2 with the near name, before any file is read; the names that exist work.
#[test]
fn diff_flags_misspelt_are_named_with_a_suggestion() {
    let dir = project(&[("a.csv", "id,v\n1,x \n"), ("b.csv", "id,v\n1,x\n")]);
    let out = crosscheck(
        dir.path(),
        &[
            "diff",
            "a.csv",
            "b.csv",
            "--key",
            "id",
            "--normalize",
            "trm",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("--normalize trm") && out.stderr.contains("did you mean `trim`?"),
        "{}",
        out.stderr
    );
    let zone = crosscheck(
        dir.path(),
        &[
            "diff",
            "a.csv",
            "b.csv",
            "--key",
            "id",
            "--timezone",
            "Europe/Berln",
        ],
    );
    assert_eq!(zone.code, 2);
    assert!(
        zone.stderr
            .contains("--timezone Europe/Berln: unknown time zone"),
        "{}",
        zone.stderr
    );
    let trimmed = crosscheck(
        dir.path(),
        &[
            "diff",
            "a.csv",
            "b.csv",
            "--key",
            "id",
            "--normalize",
            "trim",
            "-q",
        ],
    );
    assert_eq!(trimmed.code, 0, "{}{}", trimmed.stdout, trimmed.stderr);
}
