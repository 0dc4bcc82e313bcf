//! CSV read as written: psql's NULL (unquoted empty) apart from '' (`""`), `csv.null` applied
//! when reading, the raw-text view the diff uses, repeated header names, and a file that
//! vanishes between opening the table and reading it.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;

use crate::support::{crosscheck, project, rule, run_json, runtime};
use crosscheck::source::files::{list_tables, open_tables, text_table};

/// Every value of column `column` of the only table in `dir`, as the raw-text view reads it.
fn text_column(
    dir: &std::path::Path,
    csv: &crosscheck::config::CsvOptions,
    column: &str,
) -> Vec<Option<String>> {
    runtime().block_on(async {
        let ctx = SessionContext::new();
        let tables = list_tables(dir).expect("a folder of tables");
        let (opened, broken) = open_tables(&ctx, &tables, csv).await;
        assert!(broken.is_empty(), "{broken:?}");
        let text = text_table(opened[0].1.as_ref()).expect("a CSV table has a text view");
        let field = text
            .schema()
            .field_with_name(column)
            .expect("the column")
            .clone();
        assert_eq!(field.data_type(), &DataType::Utf8);
        assert_eq!(
            field
                .metadata()
                .get("crosscheck.untyped")
                .map(String::as_str),
            Some("true")
        );
        let batches = ctx
            .read_table(text)
            .expect("readable")
            .collect()
            .await
            .expect("read");
        let mut values = Vec::new();
        for batch in batches {
            let array = batch
                .column_by_name(column)
                .expect("projected")
                .as_string::<i32>()
                .clone();
            values.extend(
                (0..array.len()).map(|i| (!array.is_null(i)).then(|| array.value(i).to_string())),
            );
        }
        values
    })
}

#[test]
fn psql_nulls_empty_strings_and_leading_zeros_survive() {
    // As `\copy t to 't.csv' csv header` writes them: NULL unquoted-empty, '' as "".
    let dir = project(&[("t.csv", "id,code\n1,01234\n2,\n3,\"\"\n")]);
    let values = text_column(dir.path(), &Default::default(), "code");
    assert_eq!(values, [Some("01234".into()), None, Some(String::new())]);
}

#[test]
fn csv_null_applies_when_reading() {
    let dir = project(&[("t.csv", "id,code\n1,\\N\n2,\n3,\"\\N\"\n")]);
    let csv = crosscheck::config::CsvOptions {
        null: "\\N".into(),
        ..Default::default()
    };
    let values = text_column(dir.path(), &csv, "code");
    assert_eq!(values, [None, Some(String::new()), Some("\\N".into())]);
}

#[test]
fn a_repeated_header_name_is_an_error_naming_file_and_column() {
    let rules = "rules:\n  - name: n\n    type: not_null\n    table: data.t\n    columns: [a]\n";
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  data:\n    files: data\n"),
        ("rules/r.yaml", rules),
        ("data/t.csv", "a,b,a\n1,2,3\n"),
    ]);
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("t.csv") && all.contains("`a` appears more than once"),
        "{all}"
    );
}

#[test]
fn a_file_that_vanishes_after_opening_is_an_error_not_an_empty_table() {
    for (name, contents) in [
        ("t.csv", "a\n1\n2\n"),
        ("t.ndjson", "{\"a\": 1}\n{\"a\": 2}\n"),
    ] {
        let dir = project(&[(name, contents)]);
        let result = runtime().block_on(async {
            let ctx = SessionContext::new();
            let tables = list_tables(dir.path()).expect("a folder of tables");
            let (opened, broken) = open_tables(&ctx, &tables, &Default::default()).await;
            assert!(broken.is_empty(), "{broken:?}");
            std::fs::remove_file(dir.path().join(name)).expect("deleted");
            ctx.read_table(opened[0].1.clone())
                .expect("planned")
                .collect()
                .await
        });
        let error = result.expect_err(&format!("{name}: a vanished file must not read as 0 rows"));
        assert!(error.to_string().contains("vanished"), "{name}: {error}");
    }
}

/// The raw-text view the diff reads a CSV side through shares the table's stamps: a file
/// that vanished or changed after opening is an error there too, never 0 rows.
#[test]
fn the_text_view_of_a_vanished_or_changed_file_is_an_error() {
    for change in ["delete", "append"] {
        let dir = project(&[("t.csv", "a\n1\n2\n")]);
        let result = runtime().block_on(async {
            let ctx = SessionContext::new();
            let tables = list_tables(dir.path()).expect("a folder of tables");
            let (opened, broken) = open_tables(&ctx, &tables, &Default::default()).await;
            assert!(broken.is_empty(), "{broken:?}");
            let text = text_table(opened[0].1.as_ref()).expect("a CSV table has a text view");
            let path = dir.path().join("t.csv");
            match change {
                "delete" => std::fs::remove_file(&path).expect("deleted"),
                _ => std::fs::write(&path, "a\n1\n2\n3\n").expect("rewritten"),
            }
            ctx.read_table(text).expect("planned").collect().await
        });
        let error = result.expect_err(&format!("{change}: must not read as if unchanged"));
        let text = error.to_string();
        assert!(
            text.contains("vanished") || text.contains("changed"),
            "{change}: {text}"
        );
    }
}

/// A zero-byte CSV has no header, so no columns: an error naming the file (exit 2) in `run`
/// and in `diff`, never a table of no columns ("columns: ") or a silent pass.
#[test]
fn a_zero_byte_csv_is_an_error_naming_the_file() {
    let rules = "rules:\n  - name: counted\n    type: row_count\n    table: data.t\n    min: 0\n";
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  data:\n    files: data\n"),
        ("rules/r.yaml", rules),
        ("data/t.csv", ""),
        ("full.csv", "id,name\n1,a\n"),
    ]);
    let expected = "data/t.csv` is empty: no header line";
    let run = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(rule(&run.json(), "counted")["status"], "error");
    assert!(run.stdout.contains(expected), "{}", run.stdout);
    for args in [
        ["diff", "data/t.csv", "full.csv"],
        ["diff", "full.csv", "data/t.csv"],
    ] {
        let out = crosscheck(dir.path(), &[&args[..], &["--key", "id"]].concat());
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_eq!(out.code, 2, "{args:?}: {all}");
        assert!(all.contains(expected), "{args:?}: {all}");
    }
}

/// An NDJSON export of an empty table is an empty file (it has no header to keep): a table of
/// no columns, so a rule naming a column says that, not "(columns: )".
#[test]
fn a_column_of_an_empty_ndjson_file_is_named_as_missing_with_the_reason() {
    let rules = "rules:
  - name: ids
    type: not_null
    table: data.t
    columns: [id]
";
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:
  data:
    files: data
",
        ),
        ("rules/r.yaml", rules),
        ("data/t.ndjson", ""),
        ("full.csv", "id\n1\n"),
    ]);
    let expected = "not found in `data.t` (it has no columns: a data file with no record";
    let run = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(expected), "{}", run.stdout);
    let diff = crosscheck(
        dir.path(),
        &["diff", "data/t.ndjson", "full.csv", "--key", "id"],
    );
    assert_eq!(diff.code, 2, "{}{}", diff.stdout, diff.stderr);
    assert!(
        diff.stdout
            .contains("(it has no columns: a data file with no record"),
        "{}",
        diff.stdout
    );
}

/// A CSV holding only its header is a table of 0 rows whose columns have no type yet: rules
/// count 0 rows, and a diff of two such files (which overflowed the stack) finds them equal.
#[test]
fn a_header_only_csv_is_an_empty_table() {
    let rules = "rules:
  - name: no_rows
    type: row_count
    table: data.t
    min: 0
    max: 0
  - name: same
    type: diff
    source: data.t
    target: data.u
    key: [id]
";
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  data:\n    files: data\n"),
        ("rules/r.yaml", rules),
        ("data/t.csv", "id,name\n"),
        ("data/u.csv", "id,name\n"),
        ("full.csv", "id,name\n1,a\n"),
    ]);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(rule(&report, "no_rows")["observed"], 0);
    assert_eq!(rule(&report, "same")["violations"], 0);
    let equal = crosscheck(
        dir.path(),
        &["diff", "data/t.csv", "data/u.csv", "--key", "id"],
    );
    assert_eq!(equal.code, 0, "{}{}", equal.stdout, equal.stderr);
    let json = crosscheck(
        dir.path(),
        &[
            "diff",
            "data/t.csv",
            "full.csv",
            "--key",
            "id",
            "-q",
            "--json",
            "-",
        ],
    );
    assert_eq!(json.code, 1, "{}{}", json.stdout, json.stderr);
    assert_eq!(rule(&json.json(), "diff")["diff"]["only_in_target"], 1);
}
