//! Row-level diff: the truth on files, on PostgreSQL and across both; every scenario
//! through every algorithm with identical results; a randomised comparison against a
//! naive full compare.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::pg::{execute, fresh_database, server};
use crate::support::{crosscheck, project};

/// `crosscheck diff LEFT RIGHT ARGS… -q --json -` in `dir`: the exit code and the one rule.
fn diff(dir: &Path, left: &str, right: &str, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["diff", left, right, "-q", "--json", "-", "--sample", "1000"];
    all.extend_from_slice(args);
    let out = crosscheck(dir, &all);
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON: {}\n{}", out.stdout, out.stderr));
    (out.code, report["rules"][0].clone())
}

/// The parts of a diff result every algorithm must agree on.
fn essence(rule: &Value) -> Value {
    let mut d = rule["diff"].clone();
    if let Some(o) = d.as_object_mut() {
        o.remove("algorithm");
        o.remove("rows_read");
    }
    serde_json::json!({ "status": rule["status"], "violations": rule["violations"], "diff": d, "sample": rule["sample"], "error": rule["error"] })
}

const LEFT: &str = "id,email,name,score,seen_at
1,a@x.io,Ada,10.00,2026-01-01T10:00:00Z
2,b@x.io,Ben,20.50,2026-01-01T11:00:00Z
3,c@x.io,Cy,30.00,2026-01-01T12:00:00Z
4,d@x.io,Dee,40.00,2026-01-01T13:00:00Z
5,e@x.io,Eve,50.00,2026-01-01T14:00:00Z
6,f@x.io,Fay,60.00,2026-01-01T15:00:00Z
";
const RIGHT: &str = "id,email,name,score,seen_at
1,a@x.io,Ada,10.004,2026-01-01T11:00:00+01:00
2,B@x.io,Ben ,20.50,2026-01-01T11:00:00Z
3,c@x.io,Cyrus,30.00,2026-01-01T12:00:00Z
4,d@x.io,Dee,40.5,2026-01-01T13:00:00Z
6,f@x.io,Fay,60.00,2026-01-01T15:00:00Z
7,g@x.io,Gus,70.00,2026-01-01T16:00:00Z
";

#[test]
fn files_diff_reports_exactly_the_truth() {
    let dir = project(&[("left/users.csv", LEFT), ("right/users.csv", RIGHT)]);
    let (code, strict) = diff(
        dir.path(),
        "left/users.csv",
        "right/users.csv",
        &["--key", "id"],
    );
    assert_eq!(code, 1);
    let d = &strict["diff"];
    assert_eq!(
        (
            d["only_in_source"].as_u64(),
            d["only_in_target"].as_u64(),
            d["changed"].as_u64()
        ),
        (Some(1), Some(1), Some(4)),
        "{strict}"
    );
    assert_eq!(
        d["columns"],
        serde_json::json!({ "email": 1, "name": 2, "score": 2 }),
        "the instant written with +01:00 is equal"
    );
    let (_, forgiving) = diff(
        dir.path(),
        "left/users.csv",
        "right/users.csv",
        &[
            "--key",
            "id",
            "--tolerance",
            "score=0.01",
            "--normalize",
            "trim,case_insensitive",
        ],
    );
    let d = &forgiving["diff"];
    assert_eq!(d["changed"], 2, "{forgiving}");
    assert_eq!(d["columns"], serde_json::json!({ "name": 1, "score": 1 }));
    assert_eq!(
        d["forgiven"],
        serde_json::json!({ "email": 1, "name": 1, "score": 1 }),
        "what the policy forgave is shown"
    );
    let rows = forgiving["sample"]["rows"].as_array().expect("rows");
    assert!(
        rows.contains(&serde_json::json!([3, "name", "Cy", "Cyrus"])),
        "{rows:?}"
    );
    assert!(rows.contains(&serde_json::json!([5, "(row)", "present", "missing"])));
    let (code, same) = diff(
        dir.path(),
        "left/users.csv",
        "left/users.csv",
        &["--key", "id"],
    );
    assert_eq!((code, same["violations"].as_u64()), (0, Some(0)));
}

#[test]
fn output_diff_writes_every_difference_to_parquet() {
    let dir = project(&[("left/users.csv", LEFT), ("right/users.csv", RIGHT)]);
    let out = crosscheck(
        dir.path(),
        &[
            "diff",
            "left/users.csv",
            "right/users.csv",
            "--key",
            "id",
            "-q",
            "--sample",
            "1",
            "--output-diff",
            "all.parquet",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let runtime = crate::support::runtime();
    let rows = runtime.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let path = dir.path().join("all.parquet");
        let frame = ctx
            .read_parquet(path.to_str().expect("path"), Default::default())
            .await
            .expect("parquet");
        assert_eq!(
            frame
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>(),
            ["id", "kind", "column", "source", "target"]
        );
        frame.count().await.expect("count")
    });
    assert_eq!(
        rows, 7,
        "2 whole rows and 5 changed values, though the sample kept 1"
    );
}

#[test]
fn diff_rules_and_query_match_in_a_project() {
    let config = "sources:\n  left:\n    files: left\n  right:\n    files: right\nsensitive: [\"*.email\"]\n";
    let rules = "rules:
  - name: users_identical
    type: diff
    source: left.users
    target: right.users
    key: [id]
    exclude: [seen_at]
    tolerance: { \"*\": 0.01 }
    normalize: { trim: true, case_insensitive: true }
  - name: renamed
    type: diff
    source: left.users
    target: right.people
    key: [id]
    rename: { full_name: name }
    columns: [name]
  - name: totals_match
    type: query_match
    source: left
    target: right
    sql: select id % 2 as parity, count(*) as n from users group by id % 2
    key: [parity]
";
    let people = "id,full_name\n1,Ada\n2,Ben\n3,Cy\n4,Dee\n5,Eve\n6,Fay\n";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("rules/r.yaml", rules),
        ("left/users.csv", LEFT),
        ("right/users.csv", RIGHT),
        ("right/people.csv", people),
    ]);
    let (out, report) = crate::support::run_json(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let r = crate::support::rule(&report, "users_identical");
    assert_eq!(r["violations"], 4, "{r}");
    assert!(
        !report.to_string().contains("b@x.io"),
        "sensitive values are masked in diff samples"
    );
    assert_eq!(crate::support::rule(&report, "renamed")["violations"], 0);
    let totals = crate::support::rule(&report, "totals_match");
    // Odd ids: 1,3,5 against 1,3,7 (3 each); even: 2,4,6 both.
    assert_eq!(totals["violations"], 0, "{totals}");
}

/// Loads `rows` (id, a, b, c) into table `t` of a fresh database.
fn table(server: &str, name: &str, ddl: &str, rows: &[String]) -> String {
    let db = fresh_database(server, name);
    let mut sql = format!("{ddl};");
    for chunk in rows.chunks(500) {
        sql.push_str(&format!("INSERT INTO t VALUES {};", chunk.join(", ")));
    }
    execute(&db, &sql);
    db
}

/// A table's DDL and its rows as SQL tuples.
type TableData<'a> = (&'a str, Vec<String>);

const DDL: &str =
    "CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)";

fn scenario(
    server: &str,
    name: &str,
    source: (&str, Vec<String>),
    target: (&str, Vec<String>),
    key: &str,
    extra: &[&str],
) -> Vec<(String, Value)> {
    let s = table(server, &format!("cc_sc_{name}_s"), source.0, &source.1);
    let t = table(server, &format!("cc_sc_{name}_t"), target.0, &target.1);
    let dir = project(&[]);
    let mut results = Vec::new();
    for algorithm in ["join", "checksum", "auto"] {
        let mut args = vec!["--key", key, "--algorithm", algorithm];
        args.extend_from_slice(extra);
        let (_, rule) = diff(dir.path(), &format!("{s}#t"), &format!("{t}#t"), &args);
        results.push((algorithm.to_string(), rule));
    }
    results
}

fn row(id: i64, name: Option<&str>, amount: Option<&str>) -> String {
    let q = |v: Option<&str>| v.map(|v| format!("'{v}'")).unwrap_or_else(|| "NULL".into());
    format!(
        "({id}, {}, {}, '2026-01-01 00:00:00+00')",
        q(name),
        amount.unwrap_or("NULL")
    )
}

#[test]
fn every_scenario_gives_one_answer_through_every_algorithm() {
    let Some(server) = server() else { return };
    let base: Vec<String> = (1..=3000)
        .map(|i| row(i, Some(&format!("n{i}")), Some(&format!("{}.50", i % 97))))
        .collect();
    let changed: Vec<String> = (1..=3000)
        .map(|i| {
            row(
                i,
                Some(&format!("n{}", if i % 10 == 0 { i + 1 } else { i })),
                Some(&format!("{}.50", i % 97)),
            )
        })
        .collect();
    let nulls: Vec<String> = (1..=3000)
        .map(|i| {
            row(
                i,
                if i % 7 == 0 { None } else { Some("x") },
                if i % 11 == 0 { None } else { Some("1") },
            )
        })
        .collect();
    let nulls_t: Vec<String> = (1..=3000)
        .map(|i| {
            row(
                i,
                if i % 7 == 0 || i == 50 {
                    None
                } else {
                    Some("x")
                },
                if i % 11 == 0 { None } else { Some("1") },
            )
        })
        .collect();
    let sparse = |f: &dyn Fn(i64) -> i64| {
        (1..=2000)
            .map(|i| row(f(i), Some("s"), Some("1")))
            .collect::<Vec<_>>()
    };
    let mut sparse_t = sparse(&|i| i * 1_000_000_007);
    sparse_t[1234] = row(1235 * 1_000_000_007, Some("changed"), Some("1"));
    let skewed = |i: i64| if i <= 1990 { i } else { 1_000_000_000_000 + i };
    let mut skewed_t = sparse(&skewed);
    skewed_t.pop();
    let mut drifted: Vec<String> = (1..=3000)
        .map(|i| format!("({i}, 'n{i}', {}, '2026-01-01 00:00:00+00')", i % 97))
        .collect();
    drifted[5] = "(6, 'n6', 6.01, '2026-01-01 00:00:00+00')".into();
    let dup_ddl = "CREATE TABLE t (id bigint, name text, amount numeric(12,2), at timestamptz)";
    let mut dups = base.clone();
    dups.push(row(17, Some("dup"), Some("1")));
    let all_different: Vec<String> = (1..=3000)
        .map(|i| row(i, Some("other"), Some("0")))
        .collect();
    let cases: Vec<(&str, TableData, TableData)> = vec![
        ("empty", (DDL, vec![]), (DDL, vec![])),
        ("one_side_empty", (DDL, base.clone()), (DDL, vec![])),
        ("changed", (DDL, base.clone()), (DDL, changed)),
        ("nulls", (DDL, nulls), (DDL, nulls_t)),
        (
            "sparse",
            (DDL, sparse(&|i| i * 1_000_000_007)),
            (DDL, sparse_t),
        ),
        ("skewed", (DDL, sparse(&skewed)), (DDL, skewed_t)),
        (
            "type_drift",
            (DDL, base.clone()),
            (
                "CREATE TABLE t (id int PRIMARY KEY, name varchar(20), amount int, at timestamptz)",
                drifted,
            ),
        ),
        ("duplicate_keys", (DDL, base.clone()), (dup_ddl, dups)),
        ("all_different", (DDL, base.clone()), (DDL, all_different)),
    ];
    // Text and UUID keys: the checksum bisects hash buckets instead of key ranges.
    let text_ddl =
        "CREATE TABLE t (id text PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)";
    let uuid_ddl =
        "CREATE TABLE t (id uuid PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)";
    let keyed = |key: &dyn Fn(i64) -> String, change: i64| -> Vec<String> {
        (1..=3000)
            .filter(|i| *i != change + 1)
            .map(|i| {
                format!(
                    "('{}', '{}', 1, '2026-01-01 00:00:00+00')",
                    key(i),
                    if i == change { "changed" } else { "same" }
                )
            })
            .collect()
    };
    let text_key = |i: i64| format!("K-{i:05}-é");
    let uuid_key = |i: i64| format!("00000000-0000-4000-8000-{i:012}");
    let mut problems = Vec::new();
    for (name, ddl, key) in [
        ("text_key", text_ddl, &text_key as &dyn Fn(i64) -> String),
        ("uuid_key", uuid_ddl, &uuid_key),
    ] {
        let results = scenario(
            &server,
            name,
            (ddl, keyed(key, 0)),
            (ddl, keyed(key, 1500)),
            "id",
            &[],
        );
        let join = essence(&results[0].1);
        assert_eq!(join["violations"], 3, "{name}: {}", results[0].1);
        for (algorithm, rule) in &results[1..] {
            assert_eq!(rule["diff"]["algorithm"], "checksum", "{name}");
            if essence(rule) != join {
                problems.push(format!(
                    "{name}: {algorithm} gave {}\n  join gave {join}",
                    essence(rule)
                ));
            }
        }
    }
    for (name, source, target) in cases {
        let results = scenario(&server, name, source, target, "id", &[]);
        let join = essence(&results[0].1);
        assert!(join["error"].is_null(), "{name}: {}", results[0].1);
        for (algorithm, rule) in &results[1..] {
            if essence(rule) != join {
                problems.push(format!(
                    "{name}: {algorithm} gave {}\n  join gave {join}",
                    essence(rule)
                ));
            }
        }
        assert_eq!(
            results[2].1["diff"]["algorithm"], "checksum",
            "{name}: auto picks checksum for two PostgreSQL tables"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn compound_keys_tolerances_and_checksum() {
    let Some(server) = server() else { return };
    let ddl = "CREATE TABLE t (a int, b text, v numeric(6,2), PRIMARY KEY (a, b))";
    let s = table(
        &server,
        "cc_compound_s",
        ddl,
        &[
            "(1, 'x', 1.00)".into(),
            "(1, 'y', 2.00)".into(),
            "(2, 'x', 3.00)".into(),
        ],
    );
    let t = table(
        &server,
        "cc_compound_t",
        ddl,
        &[
            "(1, 'x', 1.00)".into(),
            "(1, 'y', 2.50)".into(),
            "(3, 'x', 3.00)".into(),
        ],
    );
    let dir = project(&[]);
    let (code, rule) = diff(
        dir.path(),
        &format!("{s}#t"),
        &format!("{t}#t"),
        &["--key", "a,b"],
    );
    assert_eq!(code, 1);
    assert_eq!(rule["diff"]["algorithm"], "checksum");
    assert_eq!(
        (
            rule["diff"]["only_in_source"].as_u64(),
            rule["diff"]["only_in_target"].as_u64(),
            rule["diff"]["changed"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let (join_code, join) = diff(
        dir.path(),
        &format!("{s}#t"),
        &format!("{t}#t"),
        &["--key", "a,b", "--algorithm", "join"],
    );
    let (code, checksum) = diff(
        dir.path(),
        &format!("{s}#t"),
        &format!("{t}#t"),
        &["--key", "a,b", "--algorithm", "checksum"],
    );
    assert_eq!(
        checksum["diff"]["algorithm"], "checksum",
        "compound keys bisect hash buckets"
    );
    assert_eq!((code, essence(&checksum)), (join_code, essence(&join)));
    let (code, rule) = diff(
        dir.path(),
        &format!("{s}#t"),
        &format!("{t}#t"),
        &[
            "--key",
            "a,b",
            "--algorithm",
            "checksum",
            "--tolerance",
            "v=0.5",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        rule["error"]
            .as_str()
            .is_some_and(|e| e.contains("tolerances cannot be hashed")),
        "{rule}"
    );
    // Text keys sort by bytes on both sides, whatever the database's collation.
    let (_, rule) = diff(
        dir.path(),
        &format!("{s}#t"),
        &format!("{t}#t"),
        &["--key", "a,b", "--tolerance", "v=0.5"],
    );
    assert_eq!(rule["diff"]["changed"], 0);
    assert_eq!(rule["diff"]["forgiven"]["v"], 1);
}

#[test]
fn files_against_postgres() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_diff_mixed");
    execute(
        &db,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, score numeric(10,3), seen_at timestamptz);",
    );
    crate::pg::load_rows(&db, "users", RIGHT);
    let dir = project(&[("left/users.csv", LEFT)]);
    let (code, rule) = diff(
        dir.path(),
        "left/users.csv",
        &format!("{db}#users"),
        &["--key", "id"],
    );
    assert_eq!(code, 1, "{rule}");
    let d = &rule["diff"];
    assert_eq!(
        (
            d["only_in_source"].as_u64(),
            d["only_in_target"].as_u64(),
            d["changed"].as_u64()
        ),
        (Some(1), Some(1), Some(4)),
        "{rule}"
    );
    assert_eq!(
        d["columns"],
        serde_json::json!({ "email": 1, "name": 2, "score": 2 })
    );
}

/// A tiny deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn randomised_diffs_match_a_naive_compare() {
    let Some(server) = server() else { return };
    for seed in [1u64, 2, 3, 4] {
        let mut rng = Lcg(seed);
        let mut source: BTreeMap<i64, (String, i64)> = BTreeMap::new();
        for _ in 0..2500 {
            let id = rng.next(100_000) as i64;
            source.insert(id, (format!("v{}", rng.next(50)), rng.next(1000) as i64));
        }
        let mut target = source.clone();
        for _ in 0..rng.next(200) {
            let id = *source
                .keys()
                .nth(rng.next(source.len() as u64) as usize)
                .expect("a key");
            // Besides losses, changes and additions, the shapes that break hash aggregates:
            // swaps, bulk updates to one value, a key changed under its row, a value moved
            // to the neighbouring column.
            match rng.next(7) {
                0 => {
                    target.remove(&id);
                }
                1 => {
                    target.insert(id, (format!("w{}", rng.next(50)), rng.next(1000) as i64));
                }
                2 => {
                    target.insert(rng.next(100_000) as i64 + 100_000, ("new".into(), 1));
                }
                3 => {
                    let other = *source
                        .keys()
                        .nth(rng.next(source.len() as u64) as usize)
                        .expect("a key");
                    if let (Some(a), Some(b)) =
                        (target.get(&id).cloned(), target.get(&other).cloned())
                    {
                        target.insert(id, b);
                        target.insert(other, a);
                    }
                }
                4 => {
                    let keys: Vec<i64> = target.range(id..).take(20).map(|(k, _)| *k).collect();
                    for k in keys {
                        if let Some(v) = target.get_mut(&k) {
                            v.1 = 7;
                        }
                    }
                }
                5 => {
                    if let Some(v) = target.remove(&id) {
                        target.insert(id + 300_000, v);
                    }
                }
                _ => {
                    if let Some(v) = target.get_mut(&id) {
                        v.0 = v.1.to_string();
                    }
                }
            }
        }
        // The naive truth.
        let only_s = source.keys().filter(|k| !target.contains_key(k)).count() as u64;
        let only_t = target.keys().filter(|k| !source.contains_key(k)).count() as u64;
        let changed = source
            .iter()
            .filter(|(k, v)| target.get(k).is_some_and(|w| w != *v))
            .count() as u64;
        let rows = |m: &BTreeMap<i64, (String, i64)>| {
            m.iter()
                .map(|(k, (a, b))| format!("({k}, '{a}', {b})"))
                .collect::<Vec<_>>()
        };
        let ddl = "CREATE TABLE t (id bigint PRIMARY KEY, a text, b bigint)";
        let s = table(&server, &format!("cc_rand{seed}_s"), ddl, &rows(&source));
        let t = table(&server, &format!("cc_rand{seed}_t"), ddl, &rows(&target));
        let csv = |m: &BTreeMap<i64, (String, i64)>| {
            std::iter::once("id,a,b\n".to_string())
                .chain(m.iter().map(|(k, (a, b))| format!("{k},{a},{b}\n")))
                .collect::<String>()
        };
        let dir = project(&[("s.csv", &csv(&source)), ("t.csv", &csv(&target))]);
        let runs = [
            diff(
                dir.path(),
                &format!("{s}#t"),
                &format!("{t}#t"),
                &["--key", "id", "--algorithm", "join"],
            ),
            diff(
                dir.path(),
                &format!("{s}#t"),
                &format!("{t}#t"),
                &["--key", "id", "--algorithm", "checksum"],
            ),
            diff(dir.path(), "s.csv", "t.csv", &["--key", "id"]),
            diff(dir.path(), "s.csv", &format!("{t}#t"), &["--key", "id"]),
        ];
        for (i, (_, rule)) in runs.iter().enumerate() {
            let d = &rule["diff"];
            let got = (
                d["only_in_source"].as_u64(),
                d["only_in_target"].as_u64(),
                d["changed"].as_u64(),
            );
            assert_eq!(
                got,
                (Some(only_s), Some(only_t), Some(changed)),
                "seed {seed}, run {i}: {rule}"
            );
        }
    }
}

#[test]
fn a_column_on_one_side_only_is_a_difference() {
    let dir = project(&[
        ("a.csv", "id,name,phone\n1,Ada,555\n2,Ben,556\n"),
        ("b.csv", "id,name,email\n1,Ada,a@x.io\n2,Ben,b@x.io\n"),
    ]);
    let (code, rule) = diff(dir.path(), "a.csv", "b.csv", &["--key", "id"]);
    assert_eq!(code, 1, "a lost column fails the diff: {rule}");
    assert_eq!(
        rule["diff"]["columns_only_in_source"],
        serde_json::json!(["phone"])
    );
    assert_eq!(
        rule["diff"]["columns_only_in_target"],
        serde_json::json!(["email"])
    );
    assert_eq!(rule["violations"], 2, "{rule}");
    let message = rule["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`phone` only in source") && message.contains("`email` only in target"),
        "{message}"
    );
    for (flag, value) in [("--exclude", "phone,email"), ("--columns", "name")] {
        let (code, rule) = diff(dir.path(), "a.csv", "b.csv", &["--key", "id", flag, value]);
        assert_eq!(code, 0, "{flag} {value} says which columns count: {rule}");
    }
}

#[test]
fn timestamp_tolerances_apply_or_are_refused() {
    let dir = project(&[
        (
            "a.csv",
            "id,at,score\n1,2026-01-01T10:00:00Z,1.0\n2,2026-01-01T10:00:00Z,2.0\n",
        ),
        (
            "b.csv",
            "id,at,score\n1,2026-01-01T10:00:00.8Z,1.0\n2,2026-01-01T10:00:02Z,2.0\n",
        ),
    ]);
    let (code, rule) = diff(dir.path(), "a.csv", "b.csv", &["--key", "id"]);
    assert_eq!(
        (code, &rule["diff"]["changed"]),
        (1, &serde_json::json!(2)),
        "{rule}"
    );
    let (code, rule) = diff(
        dir.path(),
        "a.csv",
        "b.csv",
        &["--key", "id", "--tolerance", "at=1s"],
    );
    assert_eq!(code, 1, "{rule}");
    assert_eq!(
        rule["diff"]["changed"], 1,
        "0.8 s is within 1s, 2 s is not: {rule}"
    );
    assert_eq!(rule["diff"]["forgiven"]["at"], 1, "{rule}");
    // A number on a timestamp, a duration on a number: refused, never silently unused.
    for tolerance in ["at=0.5", "score=1s"] {
        let (code, rule) = diff(
            dir.path(),
            "a.csv",
            "b.csv",
            &["--key", "id", "--tolerance", tolerance],
        );
        assert_eq!(code, 2, "{tolerance}: {rule}");
        let error = rule["error"].as_str().unwrap_or_default();
        assert!(error.contains("cannot apply"), "{tolerance}: {rule}");
    }
}

#[test]
fn parquet_lists_are_one_type_whatever_the_element_is_called() {
    use datafusion::arrow::array::{ArrayRef, Int64Array, ListArray, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use std::sync::Arc;
    let dir = project(&[]);
    for (file, element) in [("a/t.parquet", "item"), ("b/t.parquet", "element")] {
        let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            None,
            Some(vec![None]),
        ]);
        let field = Arc::new(Field::new(element, DataType::Int64, true));
        let (_, offsets, values, nulls) = lists.into_parts();
        let lists = ListArray::new(field.clone(), offsets, values, nulls);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("xs", DataType::List(field), true),
        ]));
        let columns: Vec<ArrayRef> =
            vec![Arc::new(Int64Array::from(vec![1, 2, 3])), Arc::new(lists)];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            schema,
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let (code, rule) = diff(dir.path(), "a/t.parquet", "b/t.parquet", &["--key", "id"]);
    assert_eq!(
        (code, &rule["diff"]["matched"]),
        (0, &serde_json::json!(3)),
        "{rule}"
    );
    std::fs::write(
        dir.path().join("crosscheck.yaml"),
        "sources:\n  a: { files: a }\n  b: { files: b }\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/s.yaml"),
        "rules:\n  - name: same_schema\n    type: schema_match\n    source: a.t\n    target: b.t\n",
    )
    .unwrap();
    let out = crosscheck(dir.path(), &["run", "--json", "-", "-q"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

const STATS_LEFT: &str = "id,amount,note,ratio
1,10.00,a,0.5
2,20.00,b,0.25
3,30.00,,1.0
4,40.00,d,2.0
5,50.00,e,3.0
";

const STATS_RIGHT: &str = "id,amount,note,ratio
1,10.00,a,0.5
2,20.50,b,0.25
3,30.00,c,1.0
4,47.00,d,2.0000001
5,,e,3.0
";

/// Every diff reports, per compared column, the match percentage over matched rows, the values
/// that differ, those NULL on one side only and the largest difference of numbers — in JSON,
/// the terminal, Markdown and JUnit alike.
#[test]
fn every_diff_reports_statistics_per_column_in_every_output() {
    let dir = project(&[("left/t.csv", STATS_LEFT), ("right/t.csv", STATS_RIGHT)]);
    let args = ["--key", "id", "--tolerance", "ratio=0.001"];
    let (code, rule) = diff(dir.path(), "left/t.csv", "right/t.csv", &args);
    assert_eq!(code, 1, "{rule}");
    assert_eq!(
        rule["diff"]["column_stats"],
        serde_json::json!([
            { "column": "amount", "match_percent": 40.0, "differ": 3, "null_one_side": 1,
              "largest_difference": 7.0, "forgiven": 0 },
            { "column": "note", "match_percent": 80.0, "differ": 1, "null_one_side": 1,
              "forgiven": 0 },
            { "column": "ratio", "match_percent": 100.0, "differ": 0, "null_one_side": 0,
              "forgiven": 1 },
        ])
    );
    let mut all = vec!["diff", "left/t.csv", "right/t.csv", "--color", "never"];
    all.extend_from_slice(&args);
    all.extend(["--markdown", "report.md", "--junit", "report.xml"]);
    let out = crosscheck(dir.path(), &all);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for (name, text) in [
        ("terminal", out.stdout.clone()),
        (
            "markdown",
            std::fs::read_to_string(dir.path().join("report.md")).expect("markdown"),
        ),
        (
            "junit",
            std::fs::read_to_string(dir.path().join("report.xml")).expect("junit"),
        ),
    ] {
        for expected in ["largest difference", "40.00%", "80.00%", "NULL on one side"] {
            assert!(
                text.contains(expected),
                "{name}: no `{expected}` in\n{text}"
            );
        }
        // A column that matches only within its tolerance is listed; none matches fully.
        assert!(text.contains("ratio"), "{name}: {text}");
    }
    // Identical tables: every column matches, said in one line.
    let (_, same) = diff(dir.path(), "left/t.csv", "left/t.csv", &["--key", "id"]);
    let stats = same["diff"]["column_stats"].as_array().expect("stats");
    assert!(stats.iter().all(|c| c["match_percent"] == 100.0), "{same}");
}

/// An empty string against NULL is a value NULL on one side only; `empty_as_null` forgives it,
/// and the statistics say so instead of counting it as a match.
#[test]
fn an_empty_string_against_null_is_counted_as_null_on_one_side_or_forgiven() {
    let dir = project(&[
        (
            "l.ndjson",
            "{\"id\": 1, \"t\": \"\"}\n{\"id\": 2, \"t\": \"x\"}\n",
        ),
        (
            "r.ndjson",
            "{\"id\": 1, \"t\": null}\n{\"id\": 2, \"t\": \"x\"}\n",
        ),
    ]);
    let (_, strict) = diff(dir.path(), "l.ndjson", "r.ndjson", &["--key", "id"]);
    assert_eq!(
        strict["diff"]["column_stats"],
        serde_json::json!([{ "column": "t", "match_percent": 50.0, "differ": 1,
            "null_one_side": 1, "forgiven": 0 }])
    );
    let (code, forgiving) = diff(
        dir.path(),
        "l.ndjson",
        "r.ndjson",
        &["--key", "id", "--normalize", "empty_as_null"],
    );
    assert_eq!(code, 0, "{forgiving}");
    assert_eq!(
        forgiving["diff"]["column_stats"],
        serde_json::json!([{ "column": "t", "match_percent": 100.0, "differ": 0,
            "null_one_side": 0, "forgiven": 1 }])
    );
}
