//! Tests against a real PostgreSQL. `scripts/test.sh` starts a throwaway server and sets
//! CROSSCHECK_TEST_PG_URL; without it these tests skip, except in CI (`CI=true`) where a
//! missing server is a failure.

use std::path::Path;

use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use futures::SinkExt;

use crate::support::{assert_verdicts, project, root, rule, run_json, runtime};

/// The server's URL, or `None` (and a note) when these tests cannot run here.
pub fn server() -> Option<String> {
    match std::env::var("CROSSCHECK_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "CI=true but CROSSCHECK_TEST_PG_URL is not set: run the tests with scripts/test.sh"
        ),
        _ => {
            eprintln!(
                "skipped: CROSSCHECK_TEST_PG_URL is not set (scripts/test.sh starts a server)"
            );
            None
        }
    }
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connects to the test server");
    tokio::spawn(connection);
    client
}

/// A fresh database named `name` on the test server; returns its URL.
pub fn fresh_database(server: &str, name: &str) -> String {
    runtime().block_on(async {
        let client = connect(server).await;
        // Two statements: a multi-statement string runs as one transaction block.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .expect("database dropped");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("database created");
    });
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// Runs SQL on a database.
pub fn execute(url: &str, sql: &str) {
    runtime().block_on(async {
        connect(url)
            .await
            .batch_execute(sql)
            .await
            .expect("SQL runs")
    });
}

/// Copies every table of a files export into the database, with the types DataFusion infers.
pub fn load_export(dir: &Path, url: &str) {
    runtime().block_on(async {
        let client = connect(url).await;
        let ctx = SessionContext::new();
        let tables = crosscheck::source::files::list_tables(dir).expect("an export folder");
        let (opened, broken) =
            crosscheck::source::files::open_tables(&ctx, &tables, &Default::default()).await;
        assert!(broken.is_empty(), "{broken:?}");
        for (name, provider) in opened {
            let batches = ctx
                .read_table(provider.clone())
                .expect("readable")
                .collect()
                .await
                .expect("read");
            let schema = provider.schema();
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("\"{}\" {}", f.name(), pg_type(f.data_type())))
                .collect();
            client
                .batch_execute(&format!("CREATE TABLE \"{name}\" ({})", columns.join(", ")))
                .await
                .expect("table created");
            let text = copy_text(&batches);
            let sink = client
                .copy_in(&format!("COPY \"{name}\" FROM STDIN"))
                .await
                .expect("COPY starts");
            futures::pin_mut!(sink);
            sink.send(bytes::Bytes::from(text))
                .await
                .expect("rows sent");
            sink.as_mut().finish().await.expect("COPY ends");
        }
    });
}

/// Rows in COPY's text format: tab-separated, `\N` for NULL, specials escaped.
fn copy_text(batches: &[datafusion::arrow::array::RecordBatch]) -> String {
    use datafusion::arrow::array::Array;
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut out = String::new();
    for batch in batches {
        let options = FormatOptions::default();
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
            .collect();
        for row in 0..batch.num_rows() {
            let fields: Vec<String> = batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(column, f)| {
                    if column.is_null(row) || column.data_type() == &DataType::Null {
                        "\\N".to_string()
                    } else {
                        f.value(row)
                            .to_string()
                            .replace('\\', "\\\\")
                            .replace('\t', "\\t")
                            .replace('\n', "\\n")
                            .replace('\r', "\\r")
                    }
                })
                .collect();
            out.push_str(&fields.join("\t"));
            out.push('\n');
        }
    }
    out
}

/// Loads CSV text (with a header) into an existing table.
pub fn load_rows(url: &str, table: &str, csv: &str) {
    runtime().block_on(async {
        let client = connect(url).await;
        let sink = client
            .copy_in(&format!(
                "COPY \"{table}\" FROM STDIN (FORMAT csv, HEADER true)"
            ))
            .await
            .expect("COPY starts");
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from(csv.to_string()))
            .await
            .expect("rows sent");
        sink.as_mut().finish().await.expect("COPY ends");
    });
}

fn pg_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 | DataType::Int32 | DataType::Int16 => "bigint",
        DataType::Float64 | DataType::Float32 => "double precision",
        DataType::Boolean => "boolean",
        DataType::Date32 => "date",
        DataType::Timestamp(_, None) => "timestamp",
        DataType::Timestamp(_, Some(_)) => "timestamptz",
        _ => "text",
    }
}

fn example(side: &str) -> std::path::PathBuf {
    root().join("examples/learning-platform").join(side)
}

fn expected() -> serde_json::Value {
    crate::support::bundled_expected()
}

#[test]
fn the_bundled_suite_gives_the_same_verdicts_on_postgres() {
    let Some(server) = server() else { return };
    let staging = fresh_database(&server, "cc_suite_staging");
    let prod = fresh_database(&server, "cc_suite_prod");
    load_export(&example("staging"), &staging);
    load_export(&example("prod"), &prod);

    let both = [format!("staging={staging}"), format!("prod={prod}")];
    let (out, report) = run_json(&root(), &["--source", &both[0], "--source", &both[1]]);
    assert_verdicts(&report, &expected());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["sources"]["prod"]["kind"], "postgres");

    // One side on files, the other on PostgreSQL.
    let (_, mixed) = run_json(&root(), &["--source", &both[1]]);
    assert_verdicts(&mixed, &expected());
    let (_, mixed) = run_json(&root(), &["--source", &both[0]]);
    assert_verdicts(&mixed, &expected());

    for text in [&out.stdout, &out.stderr] {
        let password = server
            .split(':')
            .nth(2)
            .and_then(|p| p.split('@').next())
            .unwrap_or("no-password");
        assert!(!text.contains(password), "the password leaked");
    }
}

#[test]
fn counts_and_orphan_checks_run_inside_postgres() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_pushdown");
    execute(&db, "CREATE TABLE users AS SELECT g AS id, 'u' || g AS email FROM generate_series(1, 20000) g;
                  CREATE TABLE progress AS SELECT g AS id, g % 20010 AS user_id FROM generate_series(1, 50000) g;");
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n";
    let rules = "rules:
  - name: n
    type: row_count
    table: db.users
    min: 1
  - name: grouped
    type: row_count_match
    source: db.users
    target: db.progress
    group_by: [id]
  - name: orphans
    type: foreign_key
    child: db.progress(user_id)
    parent: db.users(id)
  - name: emails
    type: not_null
    table: db.users
    columns: [email]
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
        .args(["run", "-q", "--json", "-", "--sample", "3"])
        .current_dir(dir.path())
        .env("CC_DB", &db)
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rule(&report, "n")["observed"], 20000);
    // progress has 2 or 3 rows per user id 1..20000 (and ids 0, 20001..20009 without users).
    assert_eq!(rule(&report, "orphans")["violations"], 2 + 9 * 2);
    // Ids 1..20000 appear once on each side; 20001..50000 only in progress.
    assert_eq!(rule(&report, "grouped")["violations"], 30000);
    assert_eq!(rule(&report, "emails")["violations"], 0);
    // Counts come back as one row each and samples as at most 3 rows: nothing else moved.
    let rows_read = report["sources"]["db"]["rows_read"]
        .as_u64()
        .expect("rows_read");
    assert!(
        rows_read <= 4 + 3 * 2,
        "{rows_read} rows were read into the process"
    );
}

#[test]
fn bad_connections_and_timeouts_exit_2_without_leaking_the_password() {
    let Some(server) = server() else { return };
    let wrong = server.replacen("://crosscheck:", "://crosscheck:wrong-secret-", 1);
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n    statement_timeout: 50ms\n";
    let rules = "rules:\n  - name: n\n    type: row_count\n    table: db.big\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let run = |url: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
            .args(["run"])
            .current_dir(dir.path())
            .env("CC_DB", url)
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run(&wrong);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("password authentication failed") && !text.contains("wrong-secret"),
        "{text}"
    );
    assert!(text.contains("postgres://crosscheck:***@"), "{text}");

    let (code, text) = run("postgres://nobody:pw@127.0.0.1:1/x?connect_timeout=2");
    assert_eq!(code, Some(2));
    assert!(
        text.contains("cannot connect to postgres://nobody:***@127.0.0.1:1/x")
            && !text.contains(":pw@"),
        "{text}"
    );

    let db = fresh_database(&server, "cc_timeout");
    let (code, text) = run(&db);
    assert_eq!(code, Some(2));
    assert!(text.contains("table `db.big` not found"), "{text}");

    execute(
        &db,
        "CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 3000000) g",
    );
    let (code, text) = run(&db);
    assert_eq!(code, Some(2));
    assert!(text.contains("statement timeout"), "{text}");
}

#[test]
fn writes_never_reach_the_database() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_readonly");
    execute(&db, "CREATE TABLE users AS SELECT 1 AS id");
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n";
    let rules = "rules:\n  - name: wipe\n    type: sql\n    sql: DELETE FROM db.users\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
        .args(["run"])
        .current_dir(dir.path())
        .env("CC_DB", &db)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("found DELETE"));
    let count = runtime().block_on(async {
        connect(&db)
            .await
            .query_one("SELECT count(*) FROM users", &[])
            .await
            .expect("count")
            .get::<_, i64>(0)
    });
    assert_eq!(count, 1);
}

#[test]
fn every_type_family_reads_back() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_types");
    execute(&db, "CREATE TYPE mood AS ENUM ('ok', 'meh');
        CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
        CREATE TABLE t (
          i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric(12,3), nu numeric, t text, v varchar(5), c char(3),
          b bool, d date, tm time, ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb, by bytea,
          ip inet, m mood, p positive, arr int4[]);
        INSERT INTO t VALUES (-2, 4, 9000000000, 1.5, -2.25, 123456789.125, 3.14159265358979323846264338327950288419716939937510, 'héllo', 'abc', 'x',
          true, '2024-02-29', '13:14:15.5', '2024-02-29 13:14:15', '2024-02-29 13:14:15+02', '1 mon 2 days 03:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
          '{\"a\": 1}', '{\"b\": [1, 2]}', '\\x00ff', '10.1.2.3/32', 'meh', 7, '{1,2,3}'),
          (NULL, NULL, NULL, 'NaN', '-Infinity', 'NaN', 'NaN', NULL, NULL, NULL, NULL, 'infinity', NULL, '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);");
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n";
    let rules = "rules:\n  - name: all\n    type: sql\n    sql: select * from db.t\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
        .args(["run", "-q", "--json", "-"])
        .current_dir(dir.path())
        .env("CC_DB", &db)
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let r = rule(&report, "all");
    assert_eq!(r["status"], "fail", "{r}");
    let columns: Vec<&str> = r["sample"]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    let rows = r["sample"]["rows"].as_array().expect("rows");
    // Samples are sorted with NULLs first: the row of NULLs and infinities comes first.
    let (specials, full) = (&rows[0], &rows[1]);
    let get = |row: &serde_json::Value, name: &str| {
        row[columns.iter().position(|c| *c == name).expect("column")].clone()
    };
    let expect =
        |name: &str, value: serde_json::Value| assert_eq!(get(full, name), value, "{name}");
    expect("i2", (-2).into());
    expect("i8", 9_000_000_000i64.into());
    expect("f8", (-2.25).into());
    expect("n", "123456789.125".into());
    expect(
        "nu",
        "3.14159265358979323846264338327950288419716939937510".into(),
    );
    expect("t", "héllo".into());
    expect("c", "x  ".into());
    expect("b", true.into());
    expect("d", "2024-02-29".into());
    expect("tm", "13:14:15.500".into());
    expect("ts", "2024-02-29T13:14:15".into());
    expect("tz", "2024-02-29T11:14:15Z".into());
    expect("u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into());
    expect("jb", "{\"b\": [1, 2]}".into());
    expect("ip", "10.1.2.3/32".into());
    expect("m", "meh".into());
    expect("p", 7.into());
    expect("arr", "[1, 2, 3]".into());
    let text = |s: &str| serde_json::Value::String(s.to_string());
    assert_eq!(get(specials, "f4"), text("NaN"));
    assert_eq!(get(specials, "f8"), text("-inf"));
    assert_eq!(
        get(specials, "n"),
        serde_json::Value::Null,
        "a NaN numeric(12,3) has no decimal form"
    );
    assert_eq!(get(specials, "nu"), text("NaN"));
    assert_eq!(get(specials, "d"), text("9999-12-31"));
    assert_eq!(get(specials, "ts"), text("0001-01-01T00:00:00"));
}

#[test]
fn the_independent_suite_gives_the_same_verdicts_on_postgres() {
    let Some(server) = server() else { return };
    let dir = crate::support::fixture("edge_suite");
    let left = fresh_database(&server, "cc_edge_left");
    let right = fresh_database(&server, "cc_edge_right");
    load_export(&dir.join("data/left"), &left);
    load_export(&dir.join("data/right"), &right);
    let expected: serde_json::Value = crate::support::json_file(&dir.join("expected.json"));
    let sources = [format!("left={left}"), format!("right={right}")];
    let (_, report) = run_json(&dir, &["--source", &sources[0], "--source", &sources[1]]);
    assert_verdicts(&report, &expected);
    let (_, mixed) = run_json(&dir, &["--source", &sources[1]]);
    assert_verdicts(&mixed, &expected);
}

#[test]
fn schema_drift_between_two_databases_is_reported_item_by_item() {
    let Some(server) = server() else { return };
    let schema = "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(120) NOT NULL UNIQUE, score numeric(5,2), legacy text);
                  CREATE TABLE progress (id bigint PRIMARY KEY, user_id bigint REFERENCES users(id), note text NOT NULL);";
    let staging = fresh_database(&server, "cc_drift_staging");
    let prod = fresh_database(&server, "cc_drift_prod");
    execute(&staging, schema);
    execute(&prod, schema);
    execute(
        &prod,
        "ALTER TABLE users DROP COLUMN legacy;
                    ALTER TABLE users ALTER COLUMN score TYPE numeric(7,3);
                    ALTER TABLE progress ALTER COLUMN note DROP NOT NULL;
                    ALTER TABLE progress DROP CONSTRAINT progress_user_id_fkey;
                    CREATE TABLE audit_log (id bigint);",
    );
    let config =
        "sources:\n  staging:\n    postgres: ${CC_STAGING}\n  prod:\n    postgres: ${CC_PROD}\n";
    let rules = "rules:
  - name: whole_schema
    type: schema_match
    source: staging
    target: prod
  - name: accepted_drift
    type: schema_match
    source: staging
    target: prod
    ignore: [audit_log, users.legacy, users.score, progress*]
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
        .args(["run", "-q", "--json", "-"])
        .current_dir(dir.path())
        .env("CC_STAGING", &staging)
        .env("CC_PROD", &prod)
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let whole = rule(&report, "whole_schema");
    let rows: Vec<String> = whole["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(
        rows,
        [
            r#"["audit_log","extra table in target",null,"table"]"#,
            r#"["progress.note","nullability differs","NOT NULL","nullable"]"#,
            r#"["progress","constraint missing in target","FOREIGN KEY (user_id) REFERENCES users(id)",null]"#,
            r#"["users.score","type widened","numeric(5,2)","numeric(7,3)"]"#,
            r#"["users.legacy","column missing in target","text",null]"#,
        ],
        "{whole}"
    );
    assert_eq!(whole["violations"], 5);
    assert_eq!(rule(&report, "accepted_drift")["status"], "pass");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn tls_modes_verify_what_they_promise() {
    let Some(server) = server() else { return };
    let Ok(ca) = std::env::var("CROSSCHECK_TEST_PG_CA") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but the test cluster has no TLS"
        );
        eprintln!(
            "skipped: CROSSCHECK_TEST_PG_CA is not set (scripts/test.sh makes a TLS-enabled server)"
        );
        return;
    };
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n";
    let rules = "rules:\n  - name: tls\n    type: sql\n    sql: select 1 where false\n";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("rules/r.yaml", rules),
        ("wrong-ca.crt", "not a certificate\n"),
    ]);
    let run = |url: String| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
            .args(["run", "-q"])
            .current_dir(dir.path())
            .env("CC_DB", url)
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let with = |params: &str| format!("{server}?{params}");
    let localhost = server.replace("@127.0.0.1:", "@localhost:");
    assert_eq!(
        run(with("sslmode=require")).0,
        Some(0),
        "require encrypts without verifying"
    );
    assert_eq!(
        run(format!("{localhost}?sslmode=verify-full&sslrootcert={ca}")).0,
        Some(0),
        "the certificate names localhost"
    );
    assert_eq!(
        run(with(&format!("sslmode=verify-ca&sslrootcert={ca}"))).0,
        Some(0),
        "verify-ca ignores the host name"
    );
    // Connect to 127.0.0.1 while calling the server by a name its certificate lacks.
    let renamed = server.replace("@127.0.0.1:", "@db.invalid:");
    let (code, text) = run(format!(
        "{renamed}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"
    ));
    assert_eq!(code, Some(2));
    assert!(
        text.contains("cannot connect") && text.contains("db.invalid"),
        "{text}"
    );
    assert_eq!(
        run(format!(
            "{renamed}?hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}"
        ))
        .0,
        Some(0)
    );
    let (code, text) = run(with("sslmode=verify-full"));
    assert_eq!(code, Some(2));
    assert!(text.contains("needs a root certificate"), "{text}");
    let (code, text) = run(with("sslmode=verify-full&sslrootcert=wrong-ca.crt"));
    assert_eq!(code, Some(2));
    assert!(text.contains("sslrootcert"), "{text}");
}

#[test]
fn large_tables_are_read_in_parallel_key_ranges() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_parallel");
    execute(&db, "CREATE TABLE events AS SELECT g::bigint AS id, g % 7 AS kind FROM generate_series(1, 1200000) g;
                  ALTER TABLE events ADD PRIMARY KEY (id); ANALYZE events;");
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n  files:\n    files: data\n";
    // Each event's kind looked up in a file: the rule joins rows of both, so the table is
    // scanned (an aggregate of it alone, a grouped count, would run inside PostgreSQL).
    let rules = "rules:\n  - name: kinds\n    type: foreign_key\n    child: db.events(kind)\n    parent: files.kinds(kind)\n";
    let kinds: String = std::iter::once("kind\n".to_string())
        .chain((0..6).map(|k| format!("{k}\n")))
        .collect();
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("rules/r.yaml", rules),
        ("data/kinds.csv", &kinds),
    ]);
    let command = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_crosscheck"))
            .args(args)
            .current_dir(dir.path())
            .env("CC_DB", &db)
            .output()
            .expect("runs")
    };
    let explain = String::from_utf8_lossy(&command(&["explain", "kinds"]).stdout).into_owned();
    assert!(
        explain.contains("\"id\" >= 1 AND \"id\" < 600001") && explain.contains("\"id\" >= 600001"),
        "{explain}"
    );
    let out = command(&["run", "-q", "--json", "-"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let r = rule(&report, "kinds");
    // The file lists kinds 0 to 5: the events of kind 6 (about 171,000) are orphans.
    assert_eq!(r["violations"], 171_428, "{r}");
    // Read twice: once to count the orphans, once for their sample.
    assert_eq!(report["sources"]["db"]["rows_read"], 2_400_000);
}

/// More differing key ranges than a condition holds (512): the side is read whole, and a row
/// of an agreeing range is matched once, not once by its digest and again by the merge.
#[test]
fn a_checksum_reading_a_side_whole_counts_each_matched_row_once() {
    let Some(server) = server() else { return };
    let left = fresh_database(&server, "cc_many_ranges_left");
    let right = fresh_database(&server, "cc_many_ranges_right");
    let table = "CREATE TABLE t (id int PRIMARY KEY, v text);
        INSERT INTO t SELECT g, 'v' FROM generate_series(1, 10000) g;
        INSERT INTO t SELECT g * 5000 + 2500, 'w' FROM generate_series(2, 1023) g;
        INSERT INTO t VALUES (5120000, 'end');";
    execute(&left, table);
    execute(&right, table);
    execute(
        &right,
        "UPDATE t SET v = 'X' WHERE id <= 10000 AND id % 10 = 1",
    );
    let dir = crate::support::project(&[]);
    let counts = |algorithm: &str| {
        let out = crate::support::crosscheck(
            dir.path(),
            &[
                "diff",
                &format!("{left}#t"),
                &format!("{right}#t"),
                "--key",
                "id",
                "--algorithm",
                algorithm,
                "--json",
                "-",
                "-q",
            ],
        );
        let report = out.json();
        let d = &report["rules"][0]["diff"];
        (
            d["changed"].clone(),
            d["matched"].clone(),
            d["algorithm"].clone(),
        )
    };
    let (changed, matched, algorithm) = counts("checksum");
    assert_eq!(algorithm, "checksum");
    assert_eq!(
        (changed.clone(), matched.clone()),
        (1000.into(), 11023.into())
    );
    assert_eq!((changed, matched), {
        let (c, m, _) = counts("join");
        (c, m)
    });
}
