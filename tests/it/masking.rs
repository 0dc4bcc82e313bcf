//! No sensitive value in any output: not in a PostgreSQL error that quotes the value that
//! broke a query or an in-process cast, not in what `freshness` says about a sensitive column — in the terminal,
//! JSON, JUnit and Markdown alike.

use crate::pg::{execute, fresh_database, server};
use crate::support::{Output, project};

/// Runs every rule with all report formats; returns the output and every text written.
fn run_all_formats(dir: &std::path::Path, env: &[(&str, &str)]) -> (Output, String) {
    let (out, reports) = crate::support::run_all_formats(dir, env);
    let mut all = format!("{}\n{}\n", out.stdout, out.stderr);
    for (_, text) in reports {
        all.push_str(&text);
    }
    (out, all)
}

const SSN: &str = "SSN-123-45-6789";

#[test]
fn postgres_errors_never_quote_a_value() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_masking");
    execute(
        &db,
        &format!(
            "CREATE TABLE people (id int4 PRIMARY KEY, ssn text, big text); \
             INSERT INTO people VALUES (1, '{SSN}', '99999999999');"
        ),
    );
    let rules = "rules:
  - name: cast_in_sql
    type: sql
    on: db
    sql: SELECT id FROM people WHERE ssn::int > 0
  - name: out_of_range
    type: sql
    on: db
    sql: SELECT id FROM people WHERE big::int4 > 0
";
    // Masked whether or not the column is declared sensitive: the server's message does not
    // say which column a value came from.
    for sensitive in ["sensitive: [\"*.ssn\"]\n", ""] {
        let config = format!("sources:\n  db:\n    postgres: ${{CC_DB}}\n{sensitive}");
        let dir = project(&[("crosscheck.yaml", &config), ("rules/r.yaml", rules)]);
        let (out, all) = run_all_formats(dir.path(), &[("CC_DB", &db)]);
        assert_eq!(out.code, 2, "{}", out.stdout);
        for value in [SSN, "99999999999", "123-45"] {
            assert!(!all.contains(value), "`{value}` leaked:\n{all}");
        }
        assert!(
            all.contains("invalid input syntax for type integer: \"sha256:")
                && all.contains("SQLSTATE 22P02")
                && all.contains("SQLSTATE 22003"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn in_process_errors_never_quote_a_value() {
    // DataFusion's and arrow's messages quote the value that broke a cast without naming
    // its column: masked whether or not any column is declared sensitive.
    let csv = "id,ssn\n1,Alice\n2,SSN-123-45-6789\n";
    let rules = "rules:
  - name: cast_in_process
    type: sql
    on: a
    sql: SELECT id FROM people WHERE CAST(ssn AS INT) > 0
";
    for sensitive in ["sensitive: [\"*.ssn\"]\n", ""] {
        let config = format!("sources:\n  a:\n    files: data\n{sensitive}");
        let dir = project(&[
            ("crosscheck.yaml", &config),
            ("data/people.csv", csv),
            ("rules/r.yaml", rules),
        ]);
        let (out, all) = run_all_formats(dir.path(), &[]);
        assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
        for value in ["Alice", SSN, "123-45"] {
            assert!(!all.contains(value), "`{value}` leaked:\n{all}");
        }
        assert!(
            all.contains("Cannot cast string 'sha256:"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn freshness_of_a_sensitive_column_shows_no_value() {
    let config = "sources:\n  a:\n    files: data\nsensitive: [\"people.born\"]\n";
    let csv = "id,born,seen\n1,1985-03-04T05:06:07Z,2026-11-20T10:00:00Z\n2,1970-01-02T00:00:00Z,2026-11-19T10:00:00Z\n";
    let rules = "rules:
  - name: born_recently
    type: freshness
    table: a.people
    column: born
    max_age: 1d
  - name: born_long_ago
    type: freshness
    table: a.people
    column: born
    max_age: 36500d
  - name: seen_is_not_sensitive
    type: freshness
    table: a.people
    column: seen
    max_age: 36500d
";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("data/people.csv", csv),
        ("rules/r.yaml", rules),
    ]);
    let (out, all) = run_all_formats(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for value in ["1985", "03-04", "05:06"] {
        assert!(!all.contains(value), "`{value}` leaked:\n{all}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    let rule = |name| crate::support::rule(&report, name);
    assert_eq!(rule("born_recently")["status"], "fail");
    assert_eq!(rule("born_long_ago")["status"], "pass");
    assert!(
        rule("born_recently")["observed"]
            .as_str()
            .is_some_and(|o| o.starts_with("sha256:")),
        "{}",
        rule("born_recently")
    );
    // A column that is not sensitive still says its newest value.
    assert_eq!(
        rule("seen_is_not_sensitive")["observed"],
        "2026-11-20T10:00:00Z"
    );
}

#[test]
fn freshness_of_a_sensitive_postgres_column_shows_no_value() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_masking_fresh");
    execute(
        &db,
        "CREATE TABLE people (id int4 PRIMARY KEY, born timestamptz); \
         INSERT INTO people VALUES (1, '1985-03-04 05:06:07+00'), (2, '1970-01-02 00:00:00+00');",
    );
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\nsensitive: [\"*.born\"]\n";
    let rules = "rules:
  - name: born_recently
    type: freshness
    table: db.people
    column: born
    max_age: 1d
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let (out, all) = run_all_formats(dir.path(), &[("CC_DB", &db)]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for value in ["1985", "03-04", "05:06"] {
        assert!(!all.contains(value), "`{value}` leaked:\n{all}");
    }
    assert!(
        all.contains("(sensitive) is older than 1d"),
        "{}",
        out.stdout
    );
}
