//! The checksum diff between two MariaDB tables: rows hashed and summed inside MariaDB, only
//! differing key ranges read back. Each change below takes a shape that cancels out in a
//! weak hash aggregate (values swapped between rows or between columns, a bulk update to
//! one value, NULL for `''`, case and trailing spaces that MariaDB's collation folds, the
//! last bit of a double); the checksum must report exactly what the join reports.

use serde_json::Value;

use crate::mysql::{execute, fresh_database, server};
use crate::support::{crosscheck, project, rule, run_json};

const TABLE: &str = "CREATE TABLE t (
    id BIGINT PRIMARY KEY, name VARCHAR(20), email VARCHAR(40), score DECIMAL(10,2),
    ratio DOUBLE, weight FLOAT, ok TINYINT(1), at DATETIME(6), seen TIMESTAMP NULL,
    born DATE, raw VARBINARY(8), mood ENUM('sad','ok','happy')) CHARACTER SET utf8mb4";

const FILL: &str = "INSERT INTO t SELECT seq, CONCAT('n', seq), CONCAT('u', seq, '@e.com'),
    seq / 100, seq / 7, seq / 3, seq % 2, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
    TIMESTAMP '2024-06-01 00:00:00' + INTERVAL seq MINUTE, DATE '2000-01-01' + INTERVAL (seq % 9000) DAY,
    UNHEX(LPAD(HEX(seq), 8, '0')), ELT(1 + seq % 3, 'sad', 'ok', 'happy') FROM seq_1_to_20000";

/// The changes, each of a shape a weak aggregate misses, and the keys they touch.
const CHANGES: &str = "
    UPDATE t a JOIN t b ON a.id = 300 AND b.id = 301 SET a.name = b.name, b.name = a.name;
    UPDATE t SET name = email, email = name WHERE id = 400;
    UPDATE t SET score = 0 WHERE id BETWEEN 1000 AND 1049;
    UPDATE t SET name = '' WHERE id = 500;
    UPDATE t SET name = NULL WHERE id = 501;
    UPDATE t SET name = 'N502' WHERE id = 502;
    UPDATE t SET name = 'n503 ' WHERE id = 503;
    UPDATE t SET ratio = ratio + 1e-12 WHERE id = 600;
    UPDATE t SET weight = weight + 0.001 WHERE id = 601;
    UPDATE t SET ok = 1 - ok WHERE id = 602;
    UPDATE t SET at = at + INTERVAL 1 MICROSECOND WHERE id = 603;
    UPDATE t SET seen = seen + INTERVAL 1 SECOND WHERE id = 604;
    UPDATE t SET born = NULL WHERE id = 605;
    UPDATE t SET raw = UNHEX('00') WHERE id = 606;
    UPDATE t SET mood = 'happy' WHERE id = 607 AND mood <> 'happy';
    UPDATE t SET mood = 'sad' WHERE id = 607 AND mood = 'happy';
    UPDATE t SET score = score WHERE id = 700;
    DELETE FROM t WHERE id = 9999;
    INSERT INTO t (id, name) VALUES (20001, 'new');";

fn rules(algorithm: &str, extra: &str) -> String {
    format!(
        "rules:\n  - name: copy\n    type: diff\n    source: left.t\n    target: right.t\n    \
         key: [id]\n    algorithm: {algorithm}\n{extra}"
    )
}

fn diff_of(report: &Value) -> (&Value, &Value) {
    let r = rule(report, "copy");
    (r, &r["diff"])
}

/// What two runs must agree on: verdict, counts per kind and per column, rows matched, and
/// the differences sampled.
fn verdict(report: &Value) -> Value {
    let (r, d) = diff_of(report);
    serde_json::json!({
        "status": r["status"], "violations": r["violations"], "sample": r["sample"],
        "only_in_source": d["only_in_source"], "only_in_target": d["only_in_target"],
        "changed": d["changed"], "columns": d["columns"], "matched": d["matched"],
    })
}

#[test]
fn a_checksum_inside_mariadb_finds_what_the_join_finds() {
    let Some(server) = server() else { return };
    let left = fresh_database(&server, "cc_sum_left");
    let right = fresh_database(&server, "cc_sum_right");
    for url in [&left, &right] {
        execute(url, &format!("{TABLE}; {FILL};"));
    }
    execute(&right, CHANGES);
    // MySQL widens a 32-bit float to a double otherwise than exactly: such a column is not
    // hashed there, and is left out of this comparison.
    let (extra, floats) = if crate::mysql::is_mariadb(&server) {
        ("    sample: 100\n", 1)
    } else {
        ("    sample: 100\n    exclude: [weight]\n", 0)
    };
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  left:\n    files: left\n  right:\n    files: right\n",
        ),
        ("rules/diff.yaml", &rules("checksum", extra)),
    ]);
    let sources = [format!("left={left}"), format!("right={right}")];
    let args = ["--source", &sources[0], "--source", &sources[1]];
    let (out, checksum) = run_json(dir.path(), &args);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let (_, d) = diff_of(&checksum);
    assert_eq!(d["algorithm"], "checksum", "{checksum}");
    std::fs::write(dir.path().join("rules/diff.yaml"), rules("join", extra))
        .expect("rules written");
    let (_, join) = run_json(dir.path(), &args);
    assert_eq!(diff_of(&join).1["algorithm"], "join");
    assert_eq!(verdict(&checksum), verdict(&join));
    // Every change was found: 2 swapped, 1 moved between columns, 50 bulk-updated, 4 names
    // (`''`, NULL, case, a trailing space), one per other column, 1 lost and 1 added; the
    // update to the same value is none.
    let (r, d) = diff_of(&checksum);
    assert_eq!(
        (&d["only_in_source"], &d["only_in_target"], &d["changed"]),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(2 + 1 + 50 + 4 + 7 + floats)
        ),
        "{r}"
    );
    // Rows with their key on both sides: all but the lost one.
    assert_eq!(d["matched"], 19999);
    // Only the differing ranges travelled.
    let read = d["rows_read"]["source"].as_u64().expect("rows read");
    assert!(read < 5000, "{read} rows read of 20,000");

    // `explain` says so, and what MariaDB receives.
    let explain = |algorithm: &str| {
        std::fs::write(dir.path().join("rules/diff.yaml"), rules(algorithm, extra)).expect("rules");
        let out = crosscheck(dir.path(), &[&["explain", "copy"], &args[..]].concat());
        out.stdout + &out.stderr
    };
    let digested = explain("checksum");
    assert!(
        digested.contains("algorithm: checksum") && digested.contains("(CONCAT(CASE WHEN"),
        "{digested}"
    );
    // `auto` reads instead: MariaDB hashes a row slower than it sends it.
    let auto = explain("auto");
    assert!(
        auto.contains("algorithm: join") && auto.contains("hashes a row slower than it sends it"),
        "{auto}"
    );
}

#[test]
fn what_mariadb_cannot_hash_as_the_merge_compares_runs_as_join_and_says_why() {
    let Some(server) = server() else { return };
    let left = fresh_database(&server, "cc_sum_why_left");
    let right = fresh_database(&server, "cc_sum_why_right");
    let table = "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(10), at TIME);
                 INSERT INTO t VALUES (1, 'a', '10:00:00'), (2, 'b', '11:00:00')";
    execute(&left, table);
    execute(
        &right,
        &format!("{table}; UPDATE t SET name = 'A' WHERE id = 1"),
    );
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  left:\n    files: left\n  right:\n    files: right\n",
        ),
        ("rules/diff.yaml", &rules("auto", "")),
    ]);
    let sources = [format!("left={left}"), format!("right={right}")];
    let args = ["--source", &sources[0], "--source", &sources[1]];
    let explain = |dir: &std::path::Path| {
        let out = crosscheck(dir, &[&["explain", "copy"], &args[..]].concat());
        out.stdout + &out.stderr
    };
    let why = explain(dir.path());
    assert!(
        why.contains("algorithm: join") && why.contains("`at` (`time`) is checked by the reader"),
        "{why}"
    );
    let (_, report) = run_json(dir.path(), &args);
    assert_eq!(diff_of(&report).1["algorithm"], "join");
    assert_eq!(diff_of(&report).1["changed"], 1);
    // Asked for by name, it is an error that says why.
    std::fs::write(dir.path().join("rules/diff.yaml"), rules("checksum", "")).expect("rules");
    let (out, report) = run_json(dir.path(), &args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = rule(&report, "copy")["error"].as_str().unwrap_or_default();
    assert!(error.contains("is checked by the reader"), "{report}");

    // A `where` MariaDB would mean otherwise (a function other than `character_length`) is
    // applied in-process by the join; one it means alike is sent, and the checksum runs. Text
    // compares by code point there too: `name = 'a'` is not true of the target's `A`.
    for (filter, asked, algorithm, changed, only_in_source) in [
        ("upper(name) = 'A'", "auto", "join", 1, 0),
        ("id = 2", "checksum", "checksum", 0, 0),
        ("name = 'a'", "checksum", "checksum", 0, 1),
    ] {
        std::fs::write(
            dir.path().join("rules/diff.yaml"),
            rules(
                asked,
                &format!("    columns: [name]\n    where: \"{filter}\"\n"),
            ),
        )
        .expect("rules");
        let (out, report) = run_json(dir.path(), &args);
        let (_, d) = diff_of(&report);
        assert_eq!(
            (&d["algorithm"], &d["changed"], &d["only_in_source"]),
            (
                &Value::from(algorithm),
                &Value::from(changed),
                &Value::from(only_in_source)
            ),
            "{filter}: {}{report}",
            out.stderr
        );
    }
}

#[test]
fn keys_across_the_whole_64_bit_range_and_rejected_values_are_handled_as_the_join_does() {
    let Some(server) = server() else { return };
    let left = fresh_database(&server, "cc_sum_wide_left");
    let right = fresh_database(&server, "cc_sum_wide_right");
    // Keys at both ends of BIGINT: bucket arithmetic past 64 bits.
    let table = "CREATE TABLE t (id BIGINT PRIMARY KEY, v INT, ok TINYINT(1));
        INSERT INTO t SELECT CAST(seq AS SIGNED) - 9223372036854775807 - 1, seq, 1 FROM seq_1_to_5000;
        INSERT INTO t SELECT 9223372036854775807 - CAST(seq AS SIGNED) + 1, seq, 0 FROM seq_1_to_5000";
    execute(&left, table);
    execute(
        &right,
        &format!(
            "{table}; UPDATE t SET v = -v WHERE id IN (-9223372036854775807, 9223372036854775807, \
             -9223372036854771000, 9223372036854774000)"
        ),
    );
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  left:\n    files: left\n  right:\n    files: right\n",
        ),
        ("rules/diff.yaml", &rules("checksum", "")),
    ]);
    let sources = [format!("left={left}"), format!("right={right}")];
    let args = ["--source", &sources[0], "--source", &sources[1]];
    let (out, report) = run_json(dir.path(), &args);
    let (r, d) = diff_of(&report);
    assert_eq!(
        (&d["algorithm"], &d["changed"], &d["matched"]),
        (
            &Value::from("checksum"),
            &Value::from(4),
            &Value::from(10000)
        ),
        "{r}{}",
        out.stderr
    );
    // A boolean holding 2 is an error the reader reports; the checksum reads its range so
    // that it is reported all the same, on both sides alike.
    for url in [&left, &right] {
        execute(url, "UPDATE t SET ok = 2 WHERE v = 17");
    }
    let (out, report) = run_json(dir.path(), &args);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let error = rule(&report, "copy")["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("holds an integer where the column holds booleans"),
        "{report}"
    );
}

/// Runs the diff of `left.t` and `right.t` by `asked` and by `join`, and returns both reports.
fn by_asked_and_join(asked: &str, left: &str, right: &str, extra: &str) -> [Value; 2] {
    let dir = project(&[(
        "crosscheck.yaml",
        "sources:\n  left:\n    files: left\n  right:\n    files: right\n",
    )]);
    let sources = [format!("left={left}"), format!("right={right}")];
    let args = ["--source", &sources[0], "--source", &sources[1]];
    [asked, "join"].map(|algorithm| {
        std::fs::create_dir_all(dir.path().join("rules")).expect("rules folder");
        std::fs::write(dir.path().join("rules/diff.yaml"), rules(algorithm, extra)).expect("rules");
        run_json(dir.path(), &args).1
    })
}

/// What both algorithms must agree on, error and notes included.
fn outcome(report: &Value) -> Value {
    let r = rule(report, "copy");
    let mut v = if r.get("diff").is_some() {
        verdict(report)
    } else {
        serde_json::json!({ "status": r["status"] })
    };
    // Both sides are read at once: either may be the first to report a rejected value.
    v["error"] = r.get("error").map_or(Value::Null, |e| {
        Value::from(
            e.as_str()
                .unwrap_or_default()
                .replace("source `right`", "source `left`"),
        )
    });
    v["notes"] = serde_json::json!([
        report["sources"]["left"].get("notes"),
        report["sources"]["right"].get("notes")
    ]);
    v
}

/// The shapes an adversarial review found the first version of the MariaDB checksum to miss:
/// each gives the join's answer now.
#[test]
fn values_mariadb_cannot_hash_or_the_reader_rejects_give_the_joins_answer() {
    let Some(server) = server() else { return };
    let left = fresh_database(&server, "cc_sum_odd_left");
    let right = fresh_database(&server, "cc_sum_odd_right");
    let cases: [(&str, &str, &str, &str); 6] = [
        // Values whose text passes `max_allowed_packet` (HEX doubles 9 MB) are NULL in
        // MariaDB's functions: their rows are read, not hashed as NULL.
        (
            "CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB);
             INSERT INTO t VALUES (1, REPEAT('a', 9000000)), (2, 'x'), (3, REPEAT('c', 9000000))",
            "UPDATE t SET b = REPEAT('b', 9000000) WHERE id = 1; UPDATE t SET b = NULL WHERE id = 3",
            "",
            "changed 2",
        ),
        // Dates a lax sql_mode keeps and the reader rejects: an error, as in the join.
        (
            "SET SESSION sql_mode = '';
             CREATE TABLE t (id INT PRIMARY KEY, d DATE, at DATETIME);
             INSERT INTO t VALUES (1, '2024-00-00', '2024-01-00 10:00:00'), (2, '2024-01-01', '2024-05-01')",
            "SELECT 1",
            "",
            "error",
        ),
        // A boolean that is 2 outside the `where`: the join reads it before filtering.
        (
            "CREATE TABLE t (id INT PRIMARY KEY, ok TINYINT(1), n INT);
             INSERT INTO t VALUES (1, 2, 0), (2, 1, 5), (3, 0, 5)",
            "SELECT 1",
            "    where: \"n > 1\"\n",
            "error",
        ),
        // Zero dates matched against NULL: counted in the note either way.
        (
            "CREATE TABLE t (id INT PRIMARY KEY, d DATE, at DATETIME);
             INSERT INTO t VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2024-01-01', '0000-00-00 10:00:00')",
            "UPDATE t SET d = NULL, at = NULL WHERE id = 1",
            "",
            "pass",
        ),
        // More than 512 differing ranges: the side is read whole, each row matched once.
        (
            "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));
             INSERT INTO t SELECT seq, 'v' FROM seq_1_to_10000;
             INSERT INTO t SELECT seq * 5000 + 2500, 'w' FROM seq_2_to_1023;
             INSERT INTO t VALUES (5120000, 'end')",
            "UPDATE t SET v = 'X' WHERE id <= 10000 AND id % 10 = 1",
            "",
            "changed 1000",
        ),
        // Integer arithmetic in a `where` wraps at 32 bits in DataFusion, not in MariaDB: it
        // is applied in-process, as the join does.
        (
            "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, v VARCHAR(10));
             INSERT INTO t VALUES (1, 2147483647, 1, 'x'), (2, 5, 5, 'y')",
            "UPDATE t SET v = 'CHANGED' WHERE id = 1",
            "    where: \"a + b < 0\"\n",
            "",
        ),
    ];
    for (table, change, extra, expect) in cases {
        for url in [&left, &right] {
            execute(url, "DROP TABLE IF EXISTS t");
            execute(url, table);
        }
        execute(&right, change);
        // A `where` MariaDB cannot be sent is `auto`'s to read; the rest are digested.
        let asked = if extra.contains("a + b") {
            "auto"
        } else {
            "checksum"
        };
        let [digested, join] = by_asked_and_join(asked, &left, &right, extra);
        assert_eq!(
            outcome(&digested),
            outcome(&join),
            "{table}\n{digested}\n{join}"
        );
        let found = outcome(&join);
        match expect {
            "error" => assert_eq!(found["status"], "error", "{table}: {join}"),
            "pass" => {
                assert_eq!(found["status"], "pass", "{table}: {join}");
                assert!(
                    found["notes"].to_string().contains("zero date"),
                    "{table}: {join}"
                );
            }
            "" => {}
            changed => assert_eq!(
                format!("changed {}", found["changed"]),
                changed,
                "{table}: {join}"
            ),
        }
    }
}

/// A server that stops answering a digest within the source's statement_timeout (1 s here,
/// against about 3 s of hashing a million rows): the diff is an error in the server's own
/// words, never a verdict.
#[test]
fn a_digest_the_server_does_not_finish_in_time_is_an_error_not_a_verdict() {
    let Some(server) = server() else { return };
    let left = fresh_database(&server, "cc_sum_slow_left");
    let right = fresh_database(&server, "cc_sum_slow_right");
    let table = "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(40), score DECIMAL(10,2));
        INSERT INTO t SELECT seq, CONCAT('name-', seq), seq / 100 FROM seq_1_to_1000000";
    execute(&left, table);
    execute(&right, table);
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  left:\n    mysql: ${LEFT}\n    statement_timeout: 1s\n  \
             right:\n    mysql: ${RIGHT}\n    statement_timeout: 1s\n",
        ),
        ("rules/diff.yaml", &rules("checksum", "")),
    ]);
    let started = std::time::Instant::now();
    let out = crate::support::crosscheck_with_env(
        dir.path(),
        &["run", "--json", "-", "-q"],
        &[("LEFT", left.as_str()), ("RIGHT", right.as_str())],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let report = out.json();
    let error = rule(&report, "copy")["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // MariaDB's words, or MySQL's.
    assert!(
        error.contains("max_statement_time")
            || error.contains("maximum statement execution time exceeded"),
        "{report}"
    );
}
