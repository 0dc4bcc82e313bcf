//! `sqlite:` sources: SQLite files written by rusqlite (the library an application would
//! use), read by the binary as a user runs it — the bundled suite on SQLite, every declared
//! type read by meaning, a stored value that does not fit its column reported, the file
//! never written.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use rusqlite::types::Value as Sql;

use crate::support::{assert_verdicts, crosscheck, project, root, rule, run_json, runtime};

fn declared(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 | DataType::Int32 | DataType::Int16 => "BIGINT",
        DataType::Float64 | DataType::Float32 => "DOUBLE",
        DataType::Boolean => "BOOLEAN",
        DataType::Date32 => "DATE",
        DataType::Timestamp(_, None) => "DATETIME",
        DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ",
        _ => "TEXT",
    }
}

/// Each value as an application would store it: integers and reals as numbers, booleans
/// as 0 and 1, dates and times as ISO text.
fn value(column: &dyn Array, formatter: &ArrayFormatter, row: usize) -> Sql {
    if column.is_null(row) {
        return Sql::Null;
    }
    match column.data_type() {
        DataType::Int64 => Sql::Integer(column.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Sql::Real(column.as_primitive::<Float64Type>().value(row)),
        DataType::Boolean => Sql::Integer(column.as_boolean().value(row) as i64),
        DataType::Null => Sql::Null,
        _ => Sql::Text(formatter.value(row).to_string()),
    }
}

/// Copies every table of a files export into a new SQLite file at `db`.
fn load_export(dir: &Path, db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("a SQLite file");
    runtime().block_on(async {
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
                .map(|f| format!("\"{}\" {}", f.name(), declared(f.data_type())))
                .collect();
            conn.execute_batch(&format!("CREATE TABLE \"{name}\" ({})", columns.join(", ")))
                .expect("table created");
            let marks = vec!["?"; columns.len()].join(", ");
            let mut insert = conn
                .prepare(&format!("INSERT INTO \"{name}\" VALUES ({marks})"))
                .expect("an insert");
            let options = FormatOptions::default();
            for batch in &batches {
                let formatters: Vec<_> = batch
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
                    .collect();
                for row in 0..batch.num_rows() {
                    let values: Vec<Sql> = batch
                        .columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| value(c.as_ref(), f, row))
                        .collect();
                    insert
                        .execute(rusqlite::params_from_iter(values))
                        .expect("a row inserted");
                }
            }
        }
    });
}

fn example(side: &str) -> std::path::PathBuf {
    root().join("examples/learning-platform").join(side)
}

fn file_digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("the file reads")
}

#[test]
fn the_bundled_suite_gives_the_same_verdicts_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let staging = dir.path().join("staging.db");
    let prod = dir.path().join("prod.db");
    load_export(&example("staging"), &staging);
    load_export(&example("prod"), &prod);
    let before = (file_digest(&staging), file_digest(&prod));
    let sources = [
        format!("staging=sqlite:{}", staging.display()),
        format!("prod=sqlite:{}", prod.display()),
    ];
    let (out, report) = run_json(&root(), &["--source", &sources[0], "--source", &sources[1]]);
    assert_verdicts(&report, &crate::support::bundled_expected());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["sources"]["prod"]["kind"], "sqlite");
    // One side on SQLite, the other on the files.
    for one in &sources {
        let (_, mixed) = run_json(&root(), &["--source", one]);
        assert_verdicts(&mixed, &crate::support::bundled_expected());
    }
    // Read-only and immutable: not a byte written, no journal left beside the files.
    assert_eq!(before, (file_digest(&staging), file_digest(&prod)));
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the folder lists")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

const TYPED: &str = "CREATE TABLE typed (
    id INTEGER PRIMARY KEY, flag BOOLEAN, small TINYINT, name VARCHAR(20), body CLOB,
    raw BLOB, score REAL, ratio DOUBLE PRECISION, price DECIMAL(10,2), big NUMERIC(38,0),
    day DATE, at DATETIME, at_tz TIMESTAMPTZ, clock TIME, loose, doc JSON
);
INSERT INTO typed VALUES (1, 1, -128, 'Ada', 'long text', x'00ff', 1.5, 0.1, '19.99',
    '9223372036854775807', '2024-02-29', '2024-03-31 01:30:00.123456',
    '2024-03-31T03:30:00+02:00', '23:59:59', 42, '{\"a\": [1, 2]}');
INSERT INTO typed VALUES (2, 0, 127, 'Bo', '', x'', -0.0, 1e300, 0.105, 0, '0001-01-01',
    '1999-12-31T23:59', '1999-12-31T23:59:00Z', '00:00:00', x'ff00', NULL);
INSERT INTO typed (id) VALUES (3);
CREATE VIEW flagged AS SELECT id, name FROM typed WHERE flag;
CREATE TABLE empty (id INTEGER PRIMARY KEY);
";

const TYPED_CSV: &str = "id,flag,small,name,body,raw,score,ratio,price,big,day,at,at_tz,clock,loose,doc
1,true,-128,Ada,long text,00ff,1.5,0.1,19.99,9223372036854775807,2024-02-29,2024-03-31T01:30:00.123456,2024-03-31T01:30:00Z,23:59:59,42,\"{\"\"a\"\": [1, 2]}\"
2,false,127,Bo,,,-0.0,1e300,0.11,0,0001-01-01,1999-12-31T23:59:00,1999-12-31T23:59:00Z,00:00:00,\\xff00,
3,,,,,,,,,,,,,,,
";

fn typed_project() -> tempfile::TempDir {
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  dev:\n    sqlite: dev.db\n  export:\n    files: export\n",
        ),
        ("export/typed.csv", TYPED_CSV),
        (
            "rules/typed.yaml",
            "rules:
  - name: same_rows
    type: diff
    source: dev.typed
    target: export.typed
    key: [id]
    columns: [flag, small, name, score, ratio, price, big, day, at, at_tz, clock, loose, doc]
  - name: flagged_view
    type: row_count
    table: dev.flagged
    min: 1
    max: 1
  - name: empty_table
    type: row_count
    table: dev.empty
    max: 0
  - name: decimals_are_exact
    type: expect
    table: dev.typed
    condition: \"price IS NULL OR price * 100 = round(price * 100)\"
  - name: schema_qualified
    type: row_count
    table: dev.main.typed
    min: 3
    max: 3
",
        ),
    ]);
    let conn = rusqlite::Connection::open(dir.path().join("dev.db")).expect("a SQLite file");
    conn.execute_batch(TYPED).expect("the schema loads");
    dir
}

#[test]
fn every_declared_type_reads_back_by_meaning() {
    let dir = typed_project();
    let (out, report) = run_json(dir.path(), &[]);
    for name in [
        "same_rows",
        "flagged_view",
        "empty_table",
        "decimals_are_exact",
        "schema_qualified",
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

    // The same pair through `crosscheck diff` names the SQLite side by URL-like location.
    let out = crosscheck(
        dir.path(),
        &[
            "diff",
            "sqlite:dev.db#typed",
            "export/typed.csv",
            "--key",
            "id",
            "--columns",
            "name,price,day",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    // One changed value per kind is found, in its column.
    let changes = [
        ("clock", "23:59:59", "23:59:58"),
        ("at_tz", "2024-03-31T01:30:00Z", "2024-03-31T02:30:00Z"),
        ("at", "01:30:00.123456", "01:30:00.123457"),
        ("loose", "\\xff00", "\\xff01"),
        ("day", "0001-01-01", "0001-01-02"),
        ("big", "9223372036854775807", "9223372036854775806"),
        ("flag", "1,true", "1,false"),
    ];
    for (column, from, to) in changes {
        assert!(TYPED_CSV.contains(from), "{from}");
        std::fs::write(
            dir.path().join("changed.csv"),
            TYPED_CSV.replacen(from, to, 1),
        )
        .expect("written");
        let out = crosscheck(
            dir.path(),
            &[
                "diff",
                "sqlite:dev.db#typed",
                "changed.csv",
                "--key",
                "id",
                "--json",
                "-",
                "-q",
            ],
        );
        assert_eq!(out.code, 1, "{column}: {}{}", out.stdout, out.stderr);
        let sample = out.json()["rules"][0]["sample"].to_string();
        assert!(
            sample.contains(&format!("\"{column}\"")),
            "{column}: {sample}"
        );
    }

    // A change SQLite's typing hides is still found: 0.105 stored as REAL rounds to 0.11
    // in a DECIMAL(10,2), so a target holding 0.10 differs.
    let changed = TYPED_CSV.replace(",0.11,", ",0.10,");
    std::fs::write(dir.path().join("export/typed.csv"), changed).expect("written");
    let (_, report) = run_json(dir.path(), &[]);
    let diff = rule(&report, "same_rows");
    assert_eq!(diff["status"], "fail", "{diff}");
    assert_eq!(diff["violations"], 1, "{diff}");
}

#[test]
fn a_stored_value_that_does_not_fit_its_column_is_reported_not_coerced() {
    let dir = typed_project();
    let conn = rusqlite::Connection::open(dir.path().join("dev.db")).expect("a SQLite file");
    // SQLite keeps a text that does not look like a number in an INTEGER column.
    conn.execute_batch("INSERT INTO typed (id, small) VALUES (4, 'not-a-number-4471')")
        .expect("SQLite takes it");
    drop(conn);
    let (out, report) = run_json(dir.path(), &[]);
    let diff = rule(&report, "same_rows");
    assert_eq!(diff["status"], "error", "{diff}");
    let message = diff["message"].as_str().unwrap_or_default();
    for part in [
        "table `typed`",
        "column `small`",
        "row 4",
        "a text where the column holds integers",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(
        !out.stdout.contains("4471") && !out.stderr.contains("4471"),
        "the value is not shown"
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    // Rules that do not read the column are unaffected.
    assert_eq!(rule(&report, "flagged_view")["status"], "pass");
}

#[test]
fn a_missing_or_foreign_file_is_a_clear_error() {
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  dev:\n    sqlite: missing.db\n",
        ),
        ("not.db", "id,name\n1,a\n"),
        (
            "rules/r.yaml",
            "rules:\n  - name: n\n    type: row_count\n    table: dev.t\n",
        ),
    ]);
    let out = crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot open the SQLite file") && out.stderr.contains("missing.db"),
        "{}",
        out.stderr
    );
    assert!(
        !dir.path().join("missing.db").exists(),
        "nothing is created"
    );

    let out = crosscheck(dir.path(), &["run", "--source", "dev=sqlite:not.db"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("is not a SQLite database"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_read_only_file_reads() {
    let dir = typed_project();
    let db = dir.path().join("dev.db");
    let mut permissions = std::fs::metadata(&db).expect("metadata").permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&db, permissions).expect("read-only");
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(
        rule(&report, "same_rows")["status"],
        "pass",
        "{}",
        out.stderr
    );
}

#[test]
fn the_independent_suite_gives_the_same_verdicts_on_sqlite() {
    let suite = crate::support::fixture("edge_suite");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (left, right) = (dir.path().join("left.db"), dir.path().join("right.db"));
    load_export(&suite.join("data/left"), &left);
    load_export(&suite.join("data/right"), &right);
    let expected = crate::support::json_file(&suite.join("expected.json"));
    let sources = [
        format!("left=sqlite:{}", left.display()),
        format!("right=sqlite:{}", right.display()),
    ];
    let (_, report) = run_json(&suite, &["--source", &sources[0], "--source", &sources[1]]);
    assert_verdicts(&report, &expected);
    let (_, mixed) = run_json(&suite, &["--source", &sources[1]]);
    assert_verdicts(&mixed, &expected);
}
