//! Parquet exports made by the tools people use — pandas (`read_sql` + `to_parquet`), ADBC
//! (`fetch_arrow_table` + `pyarrow.parquet.write_table`) and DuckDB's own writer — diff clean
//! against the database they came from, except where the tool lost information, which is
//! an exact, named difference (never a silent pass): pandas rounds a bigint above 2^53 and a
//! long numeric through float64, turns NaN into NULL and months into 30 days; ADBC (and
//! DuckDB reading its Arrow) flattens 2-D arrays, drops `[0:1]=` bounds and writes a tsvector
//! in PostgreSQL's binary form. `jsonb` compares as JSON values, however a tool wrote it. The
//! files were written by `tests/fixtures/parquet-exports/generate.py` (its header says how)
//! from `tables.sql`: the tables of `exports.rs`, one with the types of pagila's `film`, and
//! JSON. The test needs no Python.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use crate::pg::{execute, fresh_database, server};
use crate::support::{fixture, project};

const TABLES: &str = include_str!("../fixtures/parquet-exports/tables.sql");

fn export(tool: &str, table: &str) -> PathBuf {
    fixture("parquet-exports")
        .join(tool)
        .join(format!("{table}.parquet"))
}

/// The diff's exit code and its counts: only in source, only in target, changed, matched,
/// per-column differences.
fn diff(dir: &Path, left: &str, right: &str, extra: &[&str]) -> (i32, Value) {
    let (code, rule) = crate::exports::diff(dir, left, right, extra);
    let d = &rule["diff"];
    let counts = json!({
        "only_in_source": d["only_in_source"], "only_in_target": d["only_in_target"],
        "changed": d["changed"], "matched": d["matched"], "columns": d["columns"],
    });
    (code, counts)
}

fn counts(changed: u64, matched: u64, columns: Value) -> Value {
    json!({ "only_in_source": 0, "only_in_target": 0, "changed": changed, "matched": matched,
            "columns": columns })
}

/// What each tool's export of each table differs in (changed rows, matched rows, columns),
/// all of it information the tool lost.
fn expected(tool: &str, table: &str) -> (u64, u64, Value) {
    match (tool, table) {
        // 9007199254740993 → 9007199254740992.0; 12345678901234567890.123456789 →
        // 1.2345678901234567e19; NaN → NULL; '-3 mons' and '1 year 2 mons …' → days.
        ("pandas", "t") => (3, 4, json!({ "big": 1, "n": 1, "f": 1, "iv": 2 })),
        // {{1,2},{3,4}} → [1,2,3,4], [0:1]={5,6} → [5,6], {{1},{2}} → [1,2].
        (_, "t") => (3, 4, json!({ "grid": 3 })),
        (_, "events") => (0, 300, json!({})),
        ("pandas", "film") => (0, 3, json!({})),
        // ADBC writes a tsvector, a type it does not know, as PostgreSQL's binary form.
        (_, "film") => (2, 3, json!({ "fulltext": 2 })),
        // jsonb rewritten by json.dumps equals the database's, but for the long number that
        // psycopg read as a float; a `json` column's text is its value (spaces, both "a"s).
        ("pandas", "docs") => (2, 4, json!({ "body": 1, "raw": 2 })),
        (_, "docs") => (0, 4, json!({})),
        _ => unreachable!("no export {tool}/{table}"),
    }
}

#[test]
fn parquet_exports_of_other_tools_equal_the_database_but_for_what_they_lost() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_parquet_exports");
    execute(&url, TABLES);
    let dir = project(&[]);
    for tool in ["pandas", "adbc", "duckdb"] {
        for (table, key) in [
            ("t", "id"),
            ("events", "at"),
            ("film", "film_id"),
            ("docs", "id"),
        ] {
            let (changed, matched, columns) = expected(tool, table);
            let want = (i32::from(changed > 0), counts(changed, matched, columns));
            let file = export(tool, table);
            let (file, db) = (file.to_str().unwrap(), format!("{url}#public.{table}"));
            for algorithm in ["auto", "join"] {
                let args = ["--key", key, "--algorithm", algorithm];
                let found = diff(dir.path(), &db, file, &args);
                assert_eq!(found, want, "{tool} {table} ({algorithm})");
            }
            let found = diff(dir.path(), file, &db, &["--key", key]);
            assert_eq!(found, want, "{tool} {table}, the other way round");
        }
    }
}

/// A copy of an export with the row `drop_id` left out and `column` of row `change_id`
/// (a text column) replaced by `value`, in the same Arrow types.
fn broken_copy(from: &Path, to: &Path, drop_id: i32, change: (i32, &str, &str)) {
    let file = std::fs::File::open(from).expect("the committed export");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .expect("a Parquet file");
    let (change_id, column, value) = change;
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch.expect("readable rows");
        let ids = batch
            .column_by_name("id")
            .expect("an id column")
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
            .clone();
        let keep: BooleanArray = ids.iter().map(|id| Some(id != Some(drop_id))).collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let at = batch.schema().index_of(column).expect("the changed column");
        let old = columns[at].as_string::<i32>();
        let changed: StringArray = (0..batch.num_rows())
            .map(|i| match ids.value(i) == change_id {
                true => Some(value.to_string()),
                false => old.is_valid(i).then(|| old.value(i).to_string()),
            })
            .collect();
        columns[at] = Arc::new(changed);
        let batch = RecordBatch::try_new(batch.schema(), columns)
            .and_then(|b| filter_record_batch(&b, &keep))
            .expect("the same columns");
        batches.push(batch);
    }
    let schema = batches.first().expect("the export has rows").schema();
    let out = std::fs::File::create(to).expect("a writable copy");
    let mut writer = ArrowWriter::try_new(out, schema, None).expect("a Parquet writer");
    for batch in &batches {
        writer.write(batch).expect("rows written");
    }
    writer.close().expect("the copy is complete");
}

#[test]
fn a_broken_parquet_export_shows_exactly_what_broke() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_parquet_broken");
    execute(&url, TABLES);
    let dir = project(&[]);
    let broken = dir.path().join("t.parquet");
    // ADBC writes a numeric as its exact text: its last digit must count, not be rounded
    // away by reading the text as a float.
    broken_copy(
        &export("adbc", "t"),
        &broken,
        2,
        (4, "n", "12345678901234567890.123456788"),
    );
    for algorithm in ["auto", "join"] {
        let (code, found) = diff(
            dir.path(),
            &format!("{url}#public.t"),
            "t.parquet",
            &["--key", "id", "--algorithm", algorithm, "--exclude", "grid"],
        );
        assert_eq!(
            (code, found),
            (
                1,
                json!({ "only_in_source": 1, "only_in_target": 0, "changed": 1, "matched": 3,
                        "columns": { "n": 1 } })
            ),
            "{algorithm}"
        );
    }
}
