//! Exports made with the everyday tools diff clean against the database they came from:
//! `psql \copy … csv header` (with the default NULL and with `null '\N'`), timestamptz
//! written with the exporting session's offset (also as the key), booleans as `t`/`f`, bytea
//! as `\x…`, arrays as PostgreSQL literals, '' apart from NULL. The same exports, broken the
//! way migrations break them (lost leading zeros, '' turned into NULL), show exactly those
//! differences: a CSV field is read as the text it is, and the database column's declared
//! type decides what it means.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::pg::{execute, fresh_database, server};
use crate::support::{crosscheck, project};

const TABLE: &str = "
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE t (
  id int PRIMARY KEY, code text, label varchar(20), flag bool, raw bytea, tags text[],
  nums int[], grid int[], n numeric, price numeric(10,2), r real, f float8,
  at timestamptz, local timestamp, d date, tm time, iv interval, u uuid, js jsonb,
  m mood, big bigint);
INSERT INTO t VALUES
  (1, '01234', 'a', true, '\\x00ff10', '{a,\"b,c\",NULL,\"\"}', '{1,2}', '{{1,2},{3,4}}',
   1.50, 3.10, 1.1, 0.1, '2023-06-01 12:00:00.5+00', '2023-06-01 12:00:00', '2023-06-01',
   '12:34:56.5', '1 day 02:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": [1, 2], \"a\": null}',
   'sad', 9007199254740993),
  (2, '', '', false, '\\x', '{}', '{}', '[0:1]={5,6}', -0.000100, 0, -0, -1e300,
   '1999-12-31 23:59:59+05:30', '1999-12-31 23:59:59', '1999-12-31', '00:00:00', '-3 mons',
   NULL, '[]', 'ok', -1),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL),
  (4, ' spaced ', 'Quote\"d, and
line', true, '\\x5c', '{\"\\\\\"}', '{NULL}', '{{1},{2}}', 12345678901234567890.123456789, 99999999.99,
   'Infinity', 'NaN', '2024-02-29 00:00:00-08', '2024-02-29 00:00:00', '2024-02-29', '23:59:59.999999',
   '1 year 2 mons 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '{\"k\": \"v, w\"}',
   'ok', 0);
CREATE TABLE events (at timestamptz PRIMARY KEY, what text);
INSERT INTO events SELECT timestamptz '2024-03-30 22:00:00+00' + i * interval '37 minutes', 'e' || i
  FROM generate_series(1, 300) i;";

/// `psql -c "\copy (…) to FILE csv header …"`, in a session whose time zone is not UTC, as a
/// user somewhere else would run it.
fn psql_export(url: &str, table: &str, file: &Path, options: &str) {
    let command = format!(
        "\\copy {table} to '{}' with (format csv, header{options})",
        file.display()
    );
    let out = Command::new("psql")
        .args([url, "-X", "-v", "ON_ERROR_STOP=1", "-c", &command])
        .env("PGTZ", "Asia/Kolkata")
        .output()
        .expect("psql runs (scripts/test.sh installs PostgreSQL's client with the server)");
    assert!(
        out.status.success(),
        "psql export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A diff that ran (exit 0 or 1): its exit code and its rule.
pub(crate) fn diff(dir: &Path, left: &str, right: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", left, right, "-q", "--json", "-"];
    args.extend_from_slice(extra);
    let out = crosscheck(dir, &args);
    assert!(
        out.code == 0 || out.code == 1,
        "diff ran (exit {}): {}{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let report = out.json();
    (out.code, report["rules"][0].clone())
}

fn counts(rule: &Value) -> (u64, u64, u64, u64) {
    let d = &rule["diff"];
    let n = |k: &str| d[k].as_u64().unwrap_or(u64::MAX);
    (
        n("only_in_source"),
        n("only_in_target"),
        n("changed"),
        n("matched"),
    )
}

#[test]
fn psql_csv_exports_equal_the_database_they_came_from() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_exports");
    execute(&url, TABLE);
    let dir = project(&[]);
    let plain = dir.path().join("t.csv");
    psql_export(&url, "t", &plain, "");
    let marked_dir = dir.path().join("marked");
    std::fs::create_dir_all(&marked_dir).unwrap();
    psql_export(&url, "t", &marked_dir.join("t.csv"), ", null '\\N'");
    std::fs::write(
        marked_dir.join("crosscheck.yaml"),
        format!(
            "sources:\n  db: {{ postgres: \"{url}\" }}\n  export: {{ files: \".\", csv: {{ null: '\\N' }} }}\n"
        ),
    )
    .unwrap();
    let table = format!("{url}#public.t");

    for algorithm in ["auto", "join"] {
        let (code, rule) = diff(
            dir.path(),
            &table,
            "t.csv",
            &["--key", "id", "--algorithm", algorithm],
        );
        assert_eq!(
            (code, counts(&rule)),
            (0, (0, 0, 0, 4)),
            "psql's default CSV export ({algorithm}): {rule:#}"
        );
        let (code, rule) = diff(
            dir.path(),
            "t.csv",
            &table,
            &["--key", "id", "--algorithm", algorithm],
        );
        assert_eq!(
            (code, counts(&rule)),
            (0, (0, 0, 0, 4)),
            "the other way round: {rule:#}"
        );
    }
    let (code, rule) = diff(&marked_dir, "db.t", "export.t", &["--key", "id"]);
    assert_eq!(
        (code, counts(&rule)),
        (0, (0, 0, 0, 4)),
        "null '\\N': {rule:#}"
    );

    // A timestamptz key, exported with +05:30 offsets, matches row for row.
    psql_export(&url, "events", &dir.path().join("events.csv"), "");
    let (code, rule) = diff(
        dir.path(),
        &format!("{url}#public.events"),
        "events.csv",
        &["--key", "at"],
    );
    assert_eq!(
        (code, counts(&rule)),
        (0, (0, 0, 0, 300)),
        "timestamptz key: {rule:#}"
    );
}

#[test]
fn broken_exports_show_exactly_what_broke() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_exports_broken");
    execute(&url, TABLE);
    let dir = project(&[]);
    let file = dir.path().join("t.csv");
    psql_export(&url, "t", &file, "");
    let text = std::fs::read_to_string(&file).unwrap();
    // A spreadsheet round trip: leading zeros lost; '' (written "") became NULL (empty).
    let broken = text
        .replacen("1,01234,", "1,1234,", 1)
        .replacen("2,\"\",\"\",", "2,,,", 1);
    assert_ne!(broken, text, "the export has the expected shape:\n{text}");
    std::fs::write(&file, broken).unwrap();
    let table = format!("{url}#public.t");
    let (code, rule) = diff(
        dir.path(),
        &table,
        "t.csv",
        &["--key", "id", "--sample", "10"],
    );
    assert_eq!(code, 1, "{rule:#}");
    assert_eq!(counts(&rule), (0, 0, 2, 4), "{rule:#}");
    let columns = &rule["diff"]["columns"];
    assert_eq!(
        columns["code"], 2,
        "'01234' vs 1234 and '' vs NULL: {rule:#}"
    );
    assert_eq!(columns["label"], 1, "'' vs NULL: {rule:#}");
}

#[test]
fn numbers_compare_by_value_in_every_algorithm() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_number_values");
    // An unconstrained numeric keeps the scale it was written with; a float keeps -0's sign.
    execute(
        &url,
        "CREATE TABLE a (id int PRIMARY KEY, n numeric, f float8, r real);
         CREATE TABLE b (LIKE a INCLUDING ALL);
         INSERT INTO a VALUES (1, 1.0, 0, 0), (2, 5, 1.5, 1.5), (3, 2.50, 'NaN', 'NaN'), (4, 7, 2, 2);
         INSERT INTO b VALUES (1, 1.00, '-0', '-0'), (2, -5, 1.5, 1.5), (3, 2.5, 'NaN', 'NaN'), (4, 7, 3, 2);",
    );
    let dir = project(&[]);
    for algorithm in ["auto", "join", "checksum"] {
        let (code, rule) = diff(
            dir.path(),
            &format!("{url}#public.a"),
            &format!("{url}#public.b"),
            &["--key", "id", "--algorithm", algorithm],
        );
        assert_eq!(code, 1, "{algorithm}: {rule:#}");
        assert_eq!(counts(&rule), (0, 0, 2, 4), "{algorithm}: {rule:#}");
        assert_eq!(
            rule["diff"]["columns"],
            serde_json::json!({ "n": 1, "f": 1 }),
            "{algorithm}: 1.0 = 1.00, -0 = 0, NaN = NaN; 5 ≠ -5 and 2 ≠ 3: {rule:#}"
        );
    }
}

/// The raw-text reading of a CSV side, attacked with what other tools write: spreadsheet
/// booleans and numbers, ISO instants with `Z`, leading zeros in an integer key, a `where`
/// that must compare numbers as numbers, and text that is no value of the declared type.
#[test]
fn csv_written_by_other_tools_against_a_database() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_other_tools");
    execute(
        &url,
        "CREATE TABLE t (id int PRIMARY KEY, ok bool, score numeric(6,2), big bigint, at timestamptz, note text);
         INSERT INTO t VALUES (7, true, 10.00, 1000, '2023-06-01 00:00:00+00', 'a'),
                              (9, false, 5.50, 2000, '2023-06-01 12:30:00+00', NULL),
                              (10, NULL, NULL, NULL, NULL, '');",
    );
    let table = format!("{url}#public.t");
    // Excel-style: TRUE/FALSE, 1E1, +2000, quoted numbers, ISO instants with Z, a key "007".
    let dir = project(&[(
        "t.csv",
        "id,ok,score,big,at,note\n007,TRUE,1E1,\"1000\",2023-06-01T00:00:00Z,a\n\
         9,FALSE,5.5,+2000,2023-06-01T14:30:00+02:00,\n10,,,,,\"\"\n",
    )]);
    for algorithm in ["auto", "join"] {
        let (code, rule) = diff(
            dir.path(),
            &table,
            "t.csv",
            &["--key", "id", "--algorithm", algorithm],
        );
        assert_eq!(
            (code, counts(&rule)),
            (0, (0, 0, 0, 3)),
            "{algorithm}: {rule:#}"
        );
    }
    // `where` means numbers on both sides: '10' > '6' as text is false, as numbers true.
    let (code, rule) = diff(
        dir.path(),
        &table,
        "t.csv",
        &["--key", "id", "--where", "score > 6"],
    );
    assert_eq!(
        (code, counts(&rule)),
        (0, (0, 0, 0, 1)),
        "where on numbers: {rule:#}"
    );
    // Text that is no value of the declared type is a difference, never a NULL that matches.
    let dir = project(&[(
        "t.csv",
        "id,ok,score,big,at,note\n7,maybe,N/A,1000,2023-06-01T00:00:00Z,a\n\
         9,f,5.5,2000,yesterday,\n10,,,,,\"\"\n",
    )]);
    let (code, rule) = diff(dir.path(), &table, "t.csv", &["--key", "id"]);
    assert_eq!((code, counts(&rule)), (1, (0, 0, 2, 3)), "{rule:#}");
    assert_eq!(
        rule["diff"]["columns"],
        serde_json::json!({ "ok": 1, "score": 1, "at": 1 }),
        "{rule:#}"
    );
    // A key that is no integer is an error naming it (masked, as every value an error
    // quotes), never a NULL key.
    let dir = project(&[("t.csv", "id,ok,score,big,at,note\nseven,t,10,1000,,a\n")]);
    let out = crosscheck(
        dir.path(),
        &["diff", &table, "t.csv", "--key", "id", "--json", "-", "-q"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("'sha256:3ba8d02b'") && !out.stdout.contains("seven"),
        "the error names the value, masked: {}",
        out.stdout
    );
}

/// A bigint migrated to double precision (or read through pandas' float64) is compared by
/// the digits the float holds: 2^53 + 1 rounded to 2^53 is a change in every algorithm that
/// runs, and the checksum, which could only hash both as floats, refuses instead of passing.
#[test]
fn a_float_against_an_exact_number_keeps_every_digit() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_float_exact");
    execute(
        &url,
        "CREATE TABLE a (id int PRIMARY KEY, v bigint, p numeric(30,9));
         CREATE TABLE b (id int PRIMARY KEY, v float8, p float8);
         INSERT INTO a VALUES (1, 9007199254740993, 1.5), (2, 5, 3.10), (3, NULL, NULL),
                              (4, 1152921504606846976, 12345678901234567890.123456789);
         INSERT INTO b VALUES (1, 9007199254740992, 1.5), (2, 5, 3.1), (3, NULL, NULL),
                              (4, 1152921504606846976, 12345678901234567890.123456789);",
    );
    let dir = project(&[]);
    let (a, b) = (format!("{url}#public.a"), format!("{url}#public.b"));
    for algorithm in ["auto", "join"] {
        let (code, rule) = diff(
            dir.path(),
            &a,
            &b,
            &["--key", "id", "--algorithm", algorithm],
        );
        assert_eq!(
            (code, counts(&rule), &rule["diff"]["algorithm"]),
            (1, (0, 0, 2, 4), &serde_json::json!("join")),
            "{algorithm}: {rule:#}"
        );
        assert_eq!(
            rule["diff"]["columns"],
            serde_json::json!({ "v": 1, "p": 1 }),
            "2^53 + 1 ≠ 2^53 and the long numeric lost digits; 2^60, 3.10 = 3.1: {rule:#}"
        );
    }
    let out = crosscheck(
        dir.path(),
        &[
            "diff",
            &a,
            &b,
            "--key",
            "id",
            "--algorithm",
            "checksum",
            "-q",
            "--json",
            "-",
        ],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("`v` is a float against an exact number"),
        "{}",
        out.stdout
    );
}
