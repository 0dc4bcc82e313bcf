//! Never a write or a side effect: a diff's `where` (the rule field or `--where`) reaches
//! PostgreSQL only as DataFusion planned and unparsed it, so a server function or a user
//! function with side effects never runs there, while ordinary predicates keep working
//! under every algorithm.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pg::{execute, fresh_database, server};
use crate::support::{crosscheck, project, runtime};

const SETUP: &str = "
CREATE TABLE t (id bigint PRIMARY KEY, code text UNIQUE NOT NULL, status text,
                created_at timestamptz, amount int);
CREATE TABLE audit (n bigint);
CREATE FUNCTION log_it(x bigint) RETURNS boolean LANGUAGE plpgsql VOLATILE AS
  $$ BEGIN INSERT INTO audit VALUES (x); RETURN true; END $$;
";

/// Rows 1..=20: status `x` on odd ids, `created_at` 2023-12-25 plus `id` days.
fn rows(amount: impl Fn(i64) -> i64, skip: &[i64]) -> String {
    let values: Vec<String> = (1..=20)
        .filter(|id| !skip.contains(id))
        .map(|id| {
            format!(
                "({id}, 'c{id:02}', '{}', TIMESTAMPTZ '2023-12-25 00:00:00+00' + interval '{id} days', {})",
                if id % 2 == 1 { "x" } else { "y" },
                amount(id)
            )
        })
        .collect();
    format!("INSERT INTO t VALUES {};", values.join(", "))
}

/// Source and target databases: the target lacks id 2 and has other amounts for 3, 4, 7, 8, 12.
fn databases(server: &str, name: &str) -> (String, String) {
    let s = fresh_database(server, &format!("cc_nw_{name}_s"));
    let t = fresh_database(server, &format!("cc_nw_{name}_t"));
    execute(&s, &format!("{SETUP}{}", rows(|id| id, &[])));
    let changed = |id| {
        if [3, 4, 7, 8, 12].contains(&id) {
            -id
        } else {
            id
        }
    };
    execute(&t, &format!("{SETUP}{}", rows(changed, &[2])));
    (s, t)
}

fn diff(dir: &Path, s: &str, t: &str, args: &[&str]) -> (i32, Value, String) {
    let left = format!("{s}#t");
    let right = format!("{t}#t");
    let mut all = vec!["diff", &left, &right, "-q", "--json", "-"];
    all.extend_from_slice(args);
    let out = crosscheck(dir, &all);
    let report: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    (out.code, report["rules"][0].clone(), out.stderr)
}

fn audit_rows(url: &str) -> i64 {
    runtime().block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        client
            .query_one("SELECT count(*) FROM audit", &[])
            .await
            .expect("audit readable")
            .get(0)
    })
}

#[test]
fn server_functions_in_a_diff_where_never_run() {
    let Some(server) = server() else { return };
    let (s, t) = databases(&server, "fn");
    let dir = project(&[]);
    runtime().block_on(async {
        // A bystander session: `pg_terminate_backend` in a `where` used to kill it.
        let (victim, connection) = tokio_postgres::connect(&s, tokio_postgres::NoTls)
            .await
            .expect("connects");
        let alive = tokio::spawn(connection);
        let pid: i32 = victim
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("pid")
            .get(0);
        for algorithm in ["join", "checksum", "auto"] {
            for key in ["id", "code"] {
                let cases = [
                    format!("pg_terminate_backend({pid}) OR id > 0"),
                    "pg_sleep(20) IS NOT NULL".to_string(),
                    "log_it(id)".to_string(),
                ];
                for predicate in &cases {
                    let started = Instant::now();
                    let (code, rule, stderr) = diff(
                        dir.path(),
                        &s,
                        &t,
                        &["--key", key, "--algorithm", algorithm, "--where", predicate],
                    );
                    let context = format!("{algorithm}/{key}: {predicate}: {rule} {stderr}");
                    assert_eq!(code, 2, "{context}");
                    assert!(
                        started.elapsed() < Duration::from_secs(15),
                        "nothing slept on the server: {context}"
                    );
                    let error = format!("{}{stderr}", rule["error"]);
                    let function = predicate.split('(').next().unwrap_or_default();
                    assert!(
                        error.contains(function) && error.contains("cannot be sent to PostgreSQL"),
                        "the message names the refused function: {context}"
                    );
                }
            }
        }
        victim
            .simple_query("SELECT 1")
            .await
            .expect("the bystander session is still alive");
        assert!(!alive.is_finished(), "the bystander's connection is open");
    });
    assert_eq!(audit_rows(&s), 0, "log_it never ran on the source");
    assert_eq!(audit_rows(&t), 0, "log_it never ran on the target");
}

#[test]
fn a_rule_where_calling_a_user_function_is_refused() {
    let Some(server) = server() else { return };
    let (s, t) = databases(&server, "rule");
    let config = format!("sources:\n  a:\n    postgres: {s}\n  b:\n    postgres: {t}\n");
    let rules = "rules:
  - name: by_function
    type: diff
    source: a.t
    target: b.t
    key: [id]
    where: log_it(id)
  - name: by_source_where
    type: diff
    source: a.t
    target: b.t
    key: [code]
    source_where: log_it(id) AND id > 5
  - name: ordinary
    type: diff
    source: a.t
    target: b.t
    key: [id]
    where: id > 5 AND status = 'x'
";
    let dir = project(&[("crosscheck.yaml", &config), ("rules/r.yaml", rules)]);
    // `validate --connect` already refuses it, naming the function.
    let validated = crosscheck(dir.path(), &["validate", "--connect"]);
    assert_eq!(validated.code, 2, "{}", validated.stderr);
    assert!(validated.stderr.contains("log_it"), "{}", validated.stderr);
    let (out, report) = crate::support::run_json(dir.path(), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for name in ["by_function", "by_source_where"] {
        let r = crate::support::rule(&report, name);
        assert_eq!(r["status"], "error", "{r}");
        assert!(
            r["error"].as_str().is_some_and(|e| e.contains("log_it")),
            "{r}"
        );
    }
    // Odd ids above 5 that differ: 7.
    assert_eq!(crate::support::rule(&report, "ordinary")["violations"], 1);
    assert_eq!(audit_rows(&s), 0);
    assert_eq!(audit_rows(&t), 0);
}

#[test]
fn ordinary_predicates_work_under_every_algorithm() {
    let Some(server) = server() else { return };
    let (s, t) = databases(&server, "ok");
    let dir = project(&[]);
    // Differences: id 2 missing, amounts of 3, 4, 7, 8, 12.
    let cases = [
        ("id > 5 AND status = 'x'", 1),                // 7
        ("created_at >= '2024-01-01'", 3),             // ids from 7: 7, 8, 12
        ("status IN ('y') OR id BETWEEN 3 AND 3", 5),  // 2, 3, 4, 8, 12
        ("code LIKE 'c0%' AND amount IS NOT NULL", 5), // 2, 3, 4, 7, 8
    ];
    for (predicate, expected) in cases {
        for algorithm in ["join", "checksum", "auto"] {
            for key in ["id", "code"] {
                let (code, rule, stderr) = diff(
                    dir.path(),
                    &s,
                    &t,
                    &["--key", key, "--algorithm", algorithm, "--where", predicate],
                );
                let context = format!("{algorithm}/{key}: {predicate}: {rule} {stderr}");
                assert_eq!(code, 1, "{context}");
                assert_eq!(rule["violations"], expected, "{context}");
            }
        }
    }
}
