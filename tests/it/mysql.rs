//! Tests against a real MariaDB. `scripts/test.sh` starts a throwaway server and sets
//! CROSSCHECK_TEST_MYSQL_URL; without it these tests skip, except in CI (`CI=true`) where
//! a missing server is a failure.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use mysql_async::Value;
use mysql_async::prelude::Queryable;

use crate::support::{
    assert_verdicts, crosscheck, crosscheck_with_env, project, root, rule, run_json, runtime,
};

/// The server's URL, or `None` (and a note) when these tests cannot run here.
pub fn server() -> Option<String> {
    match std::env::var("CROSSCHECK_TEST_MYSQL_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "CI=true but CROSSCHECK_TEST_MYSQL_URL is not set: run the tests with scripts/test.sh"
        ),
        _ => {
            eprintln!(
                "skipped: CROSSCHECK_TEST_MYSQL_URL is not set (scripts/test.sh starts a server)"
            );
            None
        }
    }
}

async fn connect(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::from_url(url)
        .await
        .expect("connects to the test server")
}

/// A fresh database named `name` on the test server; returns its URL.
pub fn fresh_database(server: &str, name: &str) -> String {
    runtime().block_on(async {
        let mut conn = connect(server).await;
        conn.query_drop(format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .expect("database dropped");
        conn.query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .await
            .expect("database created");
    });
    let (base, _) = server.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// Whether the server at `url` is MariaDB (else MySQL).
pub fn is_mariadb(url: &str) -> bool {
    runtime().block_on(async {
        let version: Option<String> = connect(url)
            .await
            .query_first("SELECT VERSION()")
            .await
            .expect("the version");
        version.unwrap_or_default().contains("MariaDB")
    })
}

/// Runs SQL (one or more statements) on a database. The tests are written for MariaDB; on
/// MySQL, MariaDB's sequence tables (`seq_1_to_N`) are spelled as a cross join of digits and
/// the session takes MariaDB's default SQL mode (MySQL's refuses zero dates).
pub fn execute(url: &str, sql: &str) {
    runtime().block_on(async {
        let mut conn = connect(url).await;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .expect("the version");
        let sql = if version.unwrap_or_default().contains("MariaDB") {
            sql.to_string()
        } else {
            conn.query_drop("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'")
                .await
                .expect("SQL mode set");
            without_sequence_tables(sql)
        };
        conn.query_drop(sql).await.expect("SQL runs");
    });
}

/// `seq_A_to_B` (MariaDB's sequence engine) as a derived table MySQL has too.
fn without_sequence_tables(sql: &str) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find("seq_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 4..];
        let parsed = tail.split_once("_to_").and_then(|(low, after)| {
            let high: String = after.chars().take_while(char::is_ascii_digit).collect();
            Some((
                low.parse::<u64>().ok()?,
                high.parse::<u64>().ok()?,
                high.len(),
            ))
        });
        match parsed {
            Some((low, high, digits)) => {
                let span = high - low + 1;
                let levels = (span as f64).log10().ceil().max(1.0) as u32;
                let digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL \
                     SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL \
                     SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
                let sum: Vec<String> = (0..levels)
                    .map(|l| format!("l{l}.d * {}", 10u64.pow(l)))
                    .collect();
                let from: Vec<String> = (0..levels).map(|l| format!("{digit} AS l{l}")).collect();
                out.push_str(&format!(
                    "(SELECT {low} + {} AS seq FROM {} WHERE {low} + {} <= {high}) AS seq_numbers",
                    sum.join(" + "),
                    from.join(" CROSS JOIN "),
                    sum.join(" + ")
                ));
                let consumed = tail.find("_to_").map_or(0, |i| i + 4) + digits;
                rest = &tail[consumed..];
            }
            None => {
                out.push_str("seq_");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

fn declared(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 | DataType::Int32 | DataType::Int16 => "BIGINT",
        DataType::Float64 | DataType::Float32 => "DOUBLE",
        DataType::Boolean => "BOOLEAN",
        DataType::Date32 => "DATE",
        DataType::Timestamp(_, None) => "DATETIME(6)",
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP(6) NULL",
        _ => "TEXT",
    }
}

/// A value as the binary protocol sends it; time stamps as UTC (the session's zone).
fn value(column: &dyn Array, formatter: &ArrayFormatter, row: usize) -> Value {
    if column.is_null(row) {
        return Value::NULL;
    }
    match column.data_type() {
        DataType::Int64 => Value::Int(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Value::Double(column.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Value::Int(column.as_boolean().value(row) as i64),
        DataType::Null => Value::NULL,
        DataType::Timestamp(unit, _) => {
            let cast = datafusion::arrow::compute::cast(
                &column.slice(row, 1),
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )
            .expect("a timestamp");
            let micros = cast
                .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                .value(0);
            let _ = unit;
            let t = chrono::DateTime::from_timestamp_micros(micros)
                .expect("in range")
                .naive_utc();
            Value::Bytes(t.format("%Y-%m-%d %H:%M:%S%.6f").to_string().into_bytes())
        }
        _ => Value::Bytes(formatter.value(row).to_string().into_bytes()),
    }
}

/// Copies every table of a files export into the database at `url`.
pub fn load_export(dir: &Path, url: &str) {
    runtime().block_on(async {
        let mut conn = connect(url).await;
        conn.query_drop("SET time_zone = '+00:00'")
            .await
            .expect("UTC");
        let ctx = SessionContext::new();
        let tables = crosscheck::source::files::list_tables(dir).expect("an export folder");
        let (opened, broken) =
            crosscheck::source::files::open_tables(&ctx, &tables, &Default::default()).await;
        assert!(broken.is_empty(), "{broken:?}");
        for (name, provider) in opened {
            let batches: Vec<RecordBatch> = ctx
                .read_table(provider.clone())
                .expect("readable")
                .collect()
                .await
                .expect("read");
            let schema = provider.schema();
            let columns: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("`{}` {}", f.name(), declared(f.data_type())))
                .collect();
            conn.query_drop(format!("CREATE TABLE `{name}` ({})", columns.join(", ")))
                .await
                .expect("table created");
            let marks = vec!["?"; columns.len()].join(", ");
            let insert = format!("INSERT INTO `{name}` VALUES ({marks})");
            let options = FormatOptions::default();
            let mut rows: Vec<Vec<Value>> = Vec::new();
            for batch in &batches {
                let formatters: Vec<_> = batch
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
                    .collect();
                for row in 0..batch.num_rows() {
                    rows.push(
                        batch
                            .columns()
                            .iter()
                            .zip(&formatters)
                            .map(|(c, f)| value(c.as_ref(), f, row))
                            .collect(),
                    );
                }
            }
            conn.exec_batch(insert, rows).await.expect("rows inserted");
        }
    });
}

fn example(side: &str) -> std::path::PathBuf {
    root().join("examples/learning-platform").join(side)
}

#[test]
fn the_bundled_suite_gives_the_same_verdicts_on_mariadb_and_across_engines() {
    let Some(server) = server() else { return };
    let staging = fresh_database(&server, "cc_suite_staging");
    let prod = fresh_database(&server, "cc_suite_prod");
    load_export(&example("staging"), &staging);
    load_export(&example("prod"), &prod);
    let expected = crate::support::bundled_expected();

    let both = [format!("staging={staging}"), format!("prod={prod}")];
    let (out, report) = run_json(&root(), &["--source", &both[0], "--source", &both[1]]);
    assert_verdicts(&report, &expected);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["sources"]["staging"]["kind"], "mysql");
    // Staging on MariaDB, prod on the files.
    let (_, mixed) = run_json(&root(), &["--source", &both[0]]);
    assert_verdicts(&mixed, &expected);

    // Staging on MariaDB, prod on PostgreSQL: the migration users actually run.
    if let Some(pg) = crate::pg::server() {
        let pg_prod = crate::pg::fresh_database(&pg, "cc_cross_prod");
        crate::pg::load_export(&example("prod"), &pg_prod);
        let prod = format!("prod={pg_prod}");
        let (out, cross) = run_json(&root(), &["--source", &both[0], "--source", &prod]);
        assert_verdicts(&cross, &expected);
        assert_eq!(out.code, 1, "{}", out.stderr);
    }
    let password = server
        .split(':')
        .nth(2)
        .and_then(|p| p.split('@').next())
        .unwrap_or("no-password");
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(password), "the password leaked");
    }
}

const TYPED: &str = "SET time_zone = '+00:00';
CREATE TABLE typed (
    id INT PRIMARY KEY, flag TINYINT(1), small TINYINT, ubig BIGINT UNSIGNED,
    price DECIMAL(10,2), wide DECIMAL(50,10), f FLOAT, d DOUBLE, name VARCHAR(20),
    code CHAR(4), raw VARBINARY(8), day DATE, at DATETIME(6), ts TIMESTAMP(3) NULL,
    clock TIME, yr YEAR, b BIT(1), bits BIT(12), e ENUM('a','b'), tags SET('x','y'),
    doc JSON, zero DATE
);
INSERT INTO typed VALUES (1, 1, -128, 18446744073709551615, 19.99,
    '1234567890123456789012345678901234567890.0123456789', 1.5, 0.1, 'Ada', 'ab  ',
    x'00ff', '2024-02-29', '2024-03-31 01:30:00.123456', '2024-03-31 01:30:00.5',
    '23:59:59', 2024, 1, b'101010101010', 'b', 'x,y', '{\"a\": [1, 2]}', '0000-00-00');
INSERT INTO typed (id) VALUES (2);
CREATE VIEW flagged AS SELECT id, name FROM typed WHERE flag;
CREATE TABLE nothing (id INT PRIMARY KEY);
";

const TYPED_CSV: &str = "id,flag,small,ubig,price,wide,f,d,name,code,day,at,ts,clock,yr,b,bits,e,tags,doc,zero
1,true,-128,18446744073709551615,19.99,1234567890123456789012345678901234567890.0123456789,1.5,0.1,Ada,ab,2024-02-29,2024-03-31T01:30:00.123456,2024-03-31T01:30:00.5Z,23:59:59,2024,true,2730,b,\"x,y\",\"{\"\"a\"\": [1, 2]}\",
2,,,,,,,,,,,,,,,,,,,,
";

fn typed_project(url: &str) -> tempfile::TempDir {
    execute(url, TYPED);
    project(&[
        (
            "crosscheck.yaml",
            "sources:\n  shop:\n    mysql: ${CC_SHOP}\n  export:\n    files: export\n",
        ),
        ("export/typed.csv", TYPED_CSV),
        (
            "rules/typed.yaml",
            "rules:
  - name: same_rows
    type: diff
    source: shop.typed
    target: export.typed
    key: [id]
    exclude: [raw]
  - name: flagged_view
    type: row_count
    table: shop.flagged
    min: 1
    max: 1
  - name: empty_table
    type: row_count
    table: shop.nothing
    max: 0
  - name: unsigned_is_exact
    type: expect
    table: shop.typed
    condition: \"ubig IS NULL OR ubig = 18446744073709551615\"
",
        ),
    ])
}

#[test]
fn every_column_type_reads_back_by_meaning() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_typed");
    let dir = typed_project(&url);
    let env = [("CC_SHOP", url.as_str())];
    let out = crosscheck_with_env(dir.path(), &["run", "--json", "-", "-q"], &env);
    let report = out.json();
    for name in [
        "same_rows",
        "flagged_view",
        "empty_table",
        "unsigned_is_exact",
    ] {
        assert_eq!(
            rule(&report, name)["status"],
            "pass",
            "{name}: {}\n{}",
            rule(&report, name),
            out.stderr
        );
    }
    assert_eq!(out.code, 0, "{}", out.stderr);

    // One changed value per kind is found, in its column.
    let changes = [
        ("flag", "1,true", "1,false"),
        ("ubig", "18446744073709551615", "18446744073709551614"),
        ("wide", ".0123456789", ".0123456788"),
        ("f", ",1.5,", ",1.25,"),
        ("at", "01:30:00.123456", "01:30:00.123457"),
        ("ts", "01:30:00.5Z", "01:30:00.6Z"),
        ("clock", "23:59:59", "23:59:58"),
        ("bits", ",2730,", ",2731,"),
        ("tags", "\"x,y\"", "x"),
        ("day", "2024-02-29", "2024-02-28"),
    ];
    for (column, from, to) in changes {
        assert!(TYPED_CSV.contains(from), "{from}");
        std::fs::write(
            dir.path().join("changed.csv"),
            TYPED_CSV.replacen(from, to, 1),
        )
        .expect("written");
        let left = format!("{url}#typed");
        let out = crosscheck_with_env(
            dir.path(),
            &[
                "diff",
                &left,
                "changed.csv",
                "--key",
                "id",
                "--exclude",
                "raw",
                "--json",
                "-",
                "-q",
            ],
            &env,
        );
        assert_eq!(out.code, 1, "{column}: {}{}", out.stdout, out.stderr);
        let sample = out.json()["rules"][0]["sample"].to_string();
        assert!(
            sample.contains(&format!("\"{column}\"")),
            "{column}: {sample}"
        );
    }
}

#[test]
fn keys_merge_in_one_order_across_engines() {
    // MySQL's default collation sorts `-`, case and accents unlike PostgreSQL's C
    // collation; a diff must not report keys that are on both sides as missing.
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_keys");
    let keys = [
        "a-b", "ab", "A", "a", "B", "é", "e", "Z", "_x", "-", "a b", "aB",
    ];
    let values: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("('{k}', {i})"))
        .collect();
    execute(
        &url,
        &format!(
            "CREATE TABLE k (code VARCHAR(10) COLLATE utf8mb4_bin PRIMARY KEY, n INT); \
             INSERT INTO k VALUES {};",
            values.join(", ")
        ),
    );
    let mut csv = String::from("code,n\n");
    for (i, k) in keys.iter().enumerate().rev() {
        let n = if *k == "aB" { 99 } else { i };
        csv.push_str(&format!("{k},{n}\n"));
    }
    let dir = project(&[("k.csv", &csv)]);
    let left = format!("{url}#k");
    let out = crosscheck(
        dir.path(),
        &["diff", &left, "k.csv", "--key", "code", "--json", "-", "-q"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    let diff = &report["rules"][0];
    assert_eq!(diff["violations"], 1, "{diff}");
    assert!(diff["sample"].to_string().contains("aB"), "{diff}");
    if let Some(pg) = crate::pg::server() {
        let pg_url = crate::pg::fresh_database(&pg, "cc_keys_pg");
        crate::pg::execute(&pg_url, "CREATE TABLE k (code text PRIMARY KEY, n int)");
        crate::pg::load_rows(&pg_url, "k", &csv);
        let right = format!("{pg_url}#k");
        let out = crosscheck(
            dir.path(),
            &["diff", &left, &right, "--key", "code", "--json", "-", "-q"],
        );
        assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
        assert_eq!(out.json()["rules"][0]["violations"], 1, "{}", out.stdout);
    }
}

#[test]
fn a_value_that_does_not_fit_and_zero_dates_are_reported() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_misfit");
    // MySQL keeps 2 in a TINYINT(1), which its clients call a boolean.
    execute(
        &url,
        "CREATE TABLE t (id INT PRIMARY KEY, ok TINYINT(1), t TIME); \
         INSERT INTO t VALUES (1, 1, '12:00:00'), (2, 2, '12:00:00'), (3, 0, '30:00:00');",
    );
    let dir = project(&[]);
    let left = format!("{url}#t");
    for (column, reason) in [
        // Digested by a checksum, only the range holding it is read: its row number is
        // within that read.
        ("ok", "holds an integer where the column holds booleans"),
        ("t", "row 3 holds a duration outside a day"),
    ] {
        let out = crosscheck(
            dir.path(),
            &["diff", &left, &left, "--key", "id", "--columns", column],
        );
        assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains(&format!("column `{column}`")) && out.stdout.contains(reason),
            "{}",
            out.stdout
        );
    }
    // Zero dates are NULL, counted and said.
    execute(
        &url,
        "CREATE TABLE z (id INT PRIMARY KEY, d DATE, at DATETIME); \
         INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2024-01-01', NULL);",
    );
    let dir = project(&[("z.csv", "id,d,at\n1,,\n2,2024-01-01,\n")]);
    let left = format!("{url}#z");
    let out = crosscheck(dir.path(), &["diff", &left, "z.csv", "--key", "id"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("2 zero dates (0000-00-00) read as NULL"),
        "{}",
        out.stdout
    );
    let out = crosscheck(
        dir.path(),
        &["diff", &left, "z.csv", "--key", "id", "--json", "-"],
    );
    let report = out.json();
    assert_eq!(
        report["sources"]["left"]["notes"][0],
        "2 zero dates (0000-00-00) read as NULL (z.at 1, z.d 1)",
        "{report}"
    );
}

#[test]
fn bad_connections_exit_2_without_leaking_the_password() {
    let Some(server) = server() else { return };
    let dir = project(&[
        (
            "rules/r.yaml",
            "rules:\n  - name: n\n    type: row_count\n    table: db.t\n",
        ),
        ("crosscheck.yaml", "sources:\n  db:\n    mysql: ${CC_DB}\n"),
    ]);
    let (userinfo, rest) = server
        .trim_start_matches("mysql://")
        .split_once('@')
        .expect("user info");
    let user = userinfo.split(':').next().expect("a user");
    let wrong = format!("mysql://{user}:not-the-password-381@{rest}");
    let out = crosscheck_with_env(dir.path(), &["run"], &[("CC_DB", &wrong)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("source `db`") && out.stderr.contains("Access denied"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("not-the-password-381")
            && !out.stdout.contains("not-the-password-381")
    );

    let (base, _) = server.rsplit_once('/').expect("a database");
    let missing = format!("{base}/no_such_database_cc");
    let out = crosscheck_with_env(dir.path(), &["run"], &[("CC_DB", &missing)]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no_such_database_cc"), "{}", out.stderr);

    // MYSQL_PWD supplies the password a URL leaves out, as for MySQL's own clients.
    let url = fresh_database(&server, "cc_pwd");
    execute(&url, "CREATE TABLE t (id INT)");
    let password = userinfo.split_once(':').map(|(_, p)| p).unwrap_or("");
    let (_, rest) = url.split_once('@').expect("host");
    let bare = format!("mysql://{user}@{rest}");
    let out = crosscheck_with_env(
        dir.path(),
        &["run"],
        &[("CC_DB", &bare), ("MYSQL_PWD", password)],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn the_independent_suite_gives_the_same_verdicts_on_mariadb() {
    let Some(server) = server() else { return };
    let suite = crate::support::fixture("edge_suite");
    let left = fresh_database(&server, "cc_edge_left");
    let right = fresh_database(&server, "cc_edge_right");
    load_export(&suite.join("data/left"), &left);
    load_export(&suite.join("data/right"), &right);
    let expected = crate::support::json_file(&suite.join("expected.json"));
    let sources = [format!("left={left}"), format!("right={right}")];
    let (_, report) = run_json(&suite, &["--source", &sources[0], "--source", &sources[1]]);
    assert_verdicts(&report, &expected);
    let (_, mixed) = run_json(&suite, &["--source", &sources[1]]);
    assert_verdicts(&mixed, &expected);
    // Left on MariaDB, right on PostgreSQL.
    if let Some(pg) = crate::pg::server() {
        let pg_right = crate::pg::fresh_database(&pg, "cc_edge_right_pg");
        crate::pg::load_export(&suite.join("data/right"), &pg_right);
        let right = format!("right={pg_right}");
        let (_, cross) = run_json(&suite, &["--source", &sources[0], "--source", &right]);
        assert_verdicts(&cross, &expected);
    }
}

/// The statements running on database `db`, other than the asking one's.
fn running_queries(server: &str, db: &str) -> Vec<String> {
    runtime().block_on(async {
        let mut conn = connect(server).await;
        conn.exec(
            "SELECT INFO FROM information_schema.PROCESSLIST WHERE DB = ? \
             AND COMMAND IN ('Query', 'Execute') AND ID <> CONNECTION_ID()",
            (db,),
        )
        .await
        .expect("the process list")
    })
}

#[test]
fn sigterm_kills_the_server_queries_and_a_timeout_ends_a_slow_one() {
    use crate::faults::{binary, eventually, signal, wait_bounded};
    use std::time::Duration;
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_my_signal");
    execute(&db, "CREATE VIEW slow AS SELECT SLEEP(60) AS id");
    let config = "sources:\n  db:\n    mysql: ${CC_DB}\n";
    let rules = "rules:\n  - name: slow\n    type: sql\n    sql: SELECT id FROM db.slow\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let diff = &["diff", "db.slow", "db.slow", "--key", "id"][..];
    for args in [&["run"][..], diff] {
        let child = binary(dir.path(), args)
            .env("CC_DB", &db)
            .spawn()
            .expect("the binary starts");
        assert!(eventually(Duration::from_secs(20), || {
            running_queries(&server, "cc_my_signal")
                .iter()
                .any(|q| q.contains("slow"))
        }));
        signal(child.id(), "TERM");
        let out = wait_bounded(child, Duration::from_secs(20), "SIGTERM");
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("cancelled"), "{args:?}: {}", out.stderr);
        assert!(
            eventually(Duration::from_secs(5), || running_queries(
                &server,
                "cc_my_signal"
            )
            .is_empty()),
            "{args:?}: still running: {:?}",
            running_queries(&server, "cc_my_signal")
        );
    }
    // The source's statement_timeout is the server's limit too.
    let config = "sources:\n  db:\n    mysql: ${CC_DB}\n    statement_timeout: 1s\n";
    std::fs::write(dir.path().join("crosscheck.yaml"), config).expect("written");
    let child = binary(dir.path(), &["run"])
        .env("CC_DB", &db)
        .spawn()
        .expect("the binary starts");
    let out = wait_bounded(child, Duration::from_secs(20), "a statement timeout");
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    // MariaDB's words, or MySQL's.
    assert!(
        out.stdout.contains("max_statement_time")
            || out
                .stdout
                .contains("maximum statement execution time exceeded"),
        "{}",
        out.stdout
    );
}

/// pgloader, or `None` outside CI when it is not installed (scripts/test.sh installs it).
fn pgloader() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("pgloader"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but pgloader is not installed: run the tests with scripts/test.sh"
        );
        eprintln!("skipped: pgloader is not installed (scripts/test.sh installs it)");
    }
    found
}

#[test]
fn a_migration_by_pgloader_diffs_clean_and_injected_defects_are_exactly_reported() {
    let Some(server) = server() else { return };
    let Some(pg) = crate::pg::server() else {
        return;
    };
    let Some(pgloader) = pgloader() else { return };
    let my = fresh_database(&server, "cc_pgl");
    execute(
        &my,
        "SET time_zone = '+00:00';
         CREATE TABLE customers (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,
           email VARCHAR(120) NOT NULL UNIQUE, name VARCHAR(80), vip TINYINT(1) NOT NULL DEFAULT 0,
           credit DECIMAL(12,2), born DATE, created_at DATETIME NOT NULL, updated_at TIMESTAMP NULL,
           tier ENUM('free','pro','team') NOT NULL DEFAULT 'free', notes TEXT);
         CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL,
           total DECIMAL(12,2) NOT NULL, placed_at DATETIME(3) NOT NULL, status VARCHAR(20),
           FOREIGN KEY (customer_id) REFERENCES customers(id));
         INSERT INTO customers (email, name, vip, credit, born, created_at, updated_at, tier, notes)
           VALUES ('a@x.org', 'Ada', 1, 12.50, '1990-01-02', '2024-03-31 01:30:00',
                   '2024-03-31 02:30:00', 'pro', 'hi'),
                  ('b@x.org', 'Bo', 0, NULL, NULL, '2024-10-27 02:30:00', NULL, 'free', NULL),
                  ('c@x.org', 'Çé', 0, -3.10, '2000-02-29', '2023-12-31 23:59:59',
                   '2024-01-01 00:00:00', 'team', 'multi\\nline');
         INSERT INTO orders VALUES (1, 1, 10.00, '2024-03-31 01:30:00.123', 'paid'),
           (2, 1, 5.50, '2024-03-31 01:30:00.500', 'open'), (3, 3, 0.01, '2024-01-01 00:00:00', NULL);",
    );
    let target = crate::pg::fresh_database(&pg, "cc_pgl");
    let out = std::process::Command::new(pgloader)
        .args(["--quiet", &my, &target])
        .output()
        .expect("pgloader runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pgloader puts the tables in a schema named after the MySQL database.
    let config =
        "sources:\n  my:\n    mysql: ${CC_MY}\n  pg:\n    postgres: ${CC_PG}\n    schema: cc_pgl\n";
    let rules = "rules:
  - name: customers_copied
    type: diff
    source: my.customers
    target: pg.customers
    key: [id]
  - name: orders_copied
    type: diff
    source: my.orders
    target: pg.orders
    key: [id]
  - name: counts
    type: row_count_match
    source: my.orders
    target: pg.orders
  - name: same_schema
    type: schema_match
    source: my
    target: pg
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let env = [("CC_MY", my.as_str()), ("CC_PG", target.as_str())];
    let out = crosscheck_with_env(dir.path(), &["run", "--json", "-", "-q"], &env);
    let report = out.json();
    for name in ["customers_copied", "orders_copied", "counts"] {
        assert_eq!(
            rule(&report, name)["status"],
            "pass",
            "{name}: {}",
            rule(&report, name)
        );
    }
    // What pgloader changed on purpose is named for what it is: unsigned ints widened to
    // bigint, naive datetimes made instants.
    let schema = rule(&report, "same_schema")["sample"]["rows"].to_string();
    for expected in [
        r#"["customers.id","type widened","uint32","bigint"]"#,
        r#"["orders.customer_id","type widened","uint32","bigint"]"#,
        r#"["customers.created_at","type differs","timestamp","timestamptz"]"#,
    ] {
        assert!(schema.contains(expected), "{expected}: {schema}");
    }

    crate::pg::execute(
        &target,
        "UPDATE cc_pgl.customers SET credit = 12.51 WHERE id = 1;
         UPDATE cc_pgl.customers SET created_at = created_at + interval '1 hour' WHERE id = 2;
         DELETE FROM cc_pgl.orders WHERE id = 2;
         INSERT INTO cc_pgl.orders VALUES (4, 3, 1.00, '2024-05-01 00:00:00+00', 'x');",
    );
    let out = crosscheck_with_env(dir.path(), &["run", "--json", "-", "-q"], &env);
    let report = out.json();
    let customers = rule(&report, "customers_copied");
    assert_eq!(customers["diff"]["changed"], 2, "{customers}");
    assert_eq!(customers["violations"], 2, "{customers}");
    let sample = customers["sample"]["rows"].to_string();
    assert!(
        sample.contains("credit") && sample.contains("created_at"),
        "{sample}"
    );
    let orders = rule(&report, "orders_copied");
    assert_eq!(
        (
            &orders["diff"]["only_in_source"],
            &orders["diff"]["only_in_target"],
            &orders["diff"]["changed"]
        ),
        (&1.into(), &1.into(), &0.into()),
        "{orders}"
    );
    assert_eq!(
        rule(&report, "counts")["status"],
        "pass",
        "3 rows each side still"
    );
}

/// TLS against the test server's certificate (its own CA, SAN localhost and 127.0.0.1), with
/// an account that requires TLS: each mode connects or refuses as it says.
#[test]
fn tls_modes_verify_the_server_certificate() {
    let Some(server) = server() else { return };
    let Ok(ca) = std::env::var("CROSSCHECK_TEST_MYSQL_CA") else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but the MariaDB test server has no TLS"
        );
        eprintln!(
            "skipped: CROSSCHECK_TEST_MYSQL_CA is not set (scripts/test.sh makes a TLS server)"
        );
        return;
    };
    let url = fresh_database(&server, "cc_tls");
    execute(
        &url,
        "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);
         DROP USER IF EXISTS 'cc_tls'@'127.0.0.1', 'cc_tls'@'localhost';
         CREATE USER 'cc_tls'@'127.0.0.1' IDENTIFIED BY 'tls-only-secret' REQUIRE SSL;
         CREATE USER 'cc_tls'@'localhost' IDENTIFIED BY 'tls-only-secret' REQUIRE SSL;
         GRANT SELECT ON cc_tls.* TO 'cc_tls'@'127.0.0.1';
         GRANT SELECT ON cc_tls.* TO 'cc_tls'@'localhost';",
    );
    let port = server
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("a port");
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  db:\n    mysql: ${CC_DB}\n"),
        (
            "rules/r.yaml",
            "rules:\n  - name: two\n    type: row_count\n    table: db.t\n    min: 2\n    max: 2\n",
        ),
        ("wrong-ca.crt", "not a certificate\n"),
    ]);
    // A CA that did not sign the server's certificate: PostgreSQL's test CA when there is one.
    let other_ca = std::env::var("CROSSCHECK_TEST_PG_CA").ok();
    let run = |host: &str, query: &str| {
        let url = format!("mysql://cc_tls:tls-only-secret@{host}:{port}/cc_tls{query}");
        let out = crosscheck_with_env(dir.path(), &["run", "-q"], &[("CC_DB", &url)]);
        (out.code, out.stderr)
    };
    for (host, query) in [
        (
            "127.0.0.1",
            format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
        (
            "localhost",
            format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
        ("127.0.0.1", format!("?ssl-mode=VERIFY_CA&ssl-ca={ca}")),
        ("127.0.0.1", format!("?ssl-ca={ca}")),
        ("127.0.0.1", "?ssl-mode=REQUIRED".to_string()),
    ] {
        let (code, stderr) = run(host, &query);
        assert_eq!(code, 0, "{host}{query}: {stderr}");
    }
    // The account requires TLS: without it the server refuses.
    for query in ["", "?ssl-mode=DISABLED"] {
        let (code, stderr) = run("127.0.0.1", query);
        assert_eq!(code, 2, "{query}: {stderr}");
        assert!(stderr.contains("Access denied"), "{query}: {stderr}");
        assert!(!stderr.contains("tls-only-secret"), "{stderr}");
    }
    // Verification fails on a CA that did not sign it, and a CA file that is none is named.
    if let Some(other) = other_ca {
        let (code, stderr) = run("127.0.0.1", &format!("?ssl-mode=VERIFY_CA&ssl-ca={other}"));
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    }
    let wrong = dir.path().join("wrong-ca.crt");
    let (code, stderr) = run(
        "127.0.0.1",
        &format!("?ssl-mode=VERIFY_CA&ssl-ca={}", wrong.display()),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("tls-only-secret"), "{stderr}");
}
