//! The changes real data goes through that break a hash aggregate — swaps, permutations, bulk
//! updates to one value, values moved between columns, NULL ↔ '', keys changed under a row,
//! sign flips, 64-bit values that fold to the same 32 bits, NaN ↔ Infinity, array dimensions,
//! enum labels, case in citext — each applied to a copy of one table and diffed through `join`,
//! `checksum` and `auto`, with an integer key (key-range buckets) and a text key (hash buckets).
//! Every algorithm must report exactly the truth.

use serde_json::Value;

use crate::pg::{execute, fresh_database, server};
use crate::support::{crosscheck, project};

/// The base table, identical in both databases. `at` is one value for every row (as a
/// `DEFAULT now()` column is), the shape in which XOR-combined digests cancelled out.
fn create(table: &str, primary_key: bool) -> String {
    let (id, tk) = if primary_key {
        ("id bigint PRIMARY KEY", "tk text NOT NULL UNIQUE")
    } else {
        ("id bigint", "tk text")
    };
    format!(
        "CREATE TABLE {table} ({id}, {tk}, name text, code text, amount numeric(12,2), \
         big bigint, at timestamptz, f float8, n numeric, iv interval, arr int[], mood mood, \
         ci citext, js json, x xml, flag bool, d date);
         INSERT INTO {table} SELECT i, 'k-' || lpad(i::text, 6, '0'),
           CASE WHEN i % 500 = 7 THEN NULL ELSE 'n' || (i % 50) END, 'c' || (i % 7),
           (i % 100) + 0.25, i * 1000, '2026-01-01 00:00:00+00', 1.5,
           CASE WHEN i = 16 THEN 'Infinity'::numeric ELSE i END,
           CASE WHEN i = 17 THEN interval '1 mon' ELSE interval '1 day' END,
           CASE i WHEN 18 THEN '{{{{1,2}},{{3,4}}}}'::int[] WHEN 19 THEN '[0:1]={{5,6}}'::int[]
                  ELSE ARRAY[i, i + 1] END,
           'ok', 'Ab', '{{\"a\": 1}}', '<a/>', i % 2 = 0, '2026-01-01'
         FROM generate_series(1, 3000) i;"
    )
}

const ALGORITHMS: [&str; 3] = ["join", "checksum", "auto"];

const TYPES: &str =
    "CREATE EXTENSION IF NOT EXISTS citext; CREATE TYPE mood AS ENUM ('ok', 'sad');";

/// One mutation of the target: its SQL (`$T` is the table) and the truth for key `id`
/// (only in source, only in target, changed) and for key `tk` where it differs.
struct Case {
    name: &'static str,
    sql: &'static str,
    by_id: (u64, u64, u64),
    by_tk: Option<(u64, u64, u64)>,
    args: &'static [&'static str],
}

const fn case(name: &'static str, sql: &'static str, by_id: (u64, u64, u64)) -> Case {
    Case {
        name,
        sql,
        by_id,
        by_tk: None,
        args: &[],
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("unchanged", "", (0, 0, 0)),
        case(
            "swap_two_rows",
            "UPDATE $T AS a SET name = b.name, code = b.code, amount = b.amount, big = b.big,
               n = b.n, arr = b.arr, flag = b.flag
             FROM $T AS b WHERE (a.id, b.id) IN ((1, 2), (2, 1))",
            (0, 0, 2),
        ),
        case(
            "permute_ten_names",
            "UPDATE $T SET name = 'n' || ((id % 10) + 1) WHERE id BETWEEN 1 AND 10",
            (0, 0, 10),
        ),
        case(
            "every_row_one_value",
            "UPDATE $T SET at = '2023-06-01'",
            (0, 0, 3000),
        ),
        case(
            "two_neighbours_one_value",
            "UPDATE $T SET at = '2023-06-01' WHERE id IN (1, 2)",
            (0, 0, 2),
        ),
        case(
            "value_to_neighbouring_column",
            "UPDATE $T SET name = code, code = name WHERE id = 5",
            (0, 0, 1),
        ),
        case(
            "null_to_empty_string",
            "UPDATE $T SET name = '' WHERE name IS NULL",
            (0, 0, 6),
        ),
        Case {
            by_tk: Some((0, 0, 1)),
            ..case(
                "key_changed_row_kept",
                "UPDATE $T SET id = 1000000 WHERE id = 3",
                (1, 1, 0),
            )
        },
        case(
            "sign_flipped",
            "UPDATE $T SET n = -n, amount = -amount WHERE id = 9",
            (0, 0, 1),
        ),
        // 12,000 + 2³² + 1 folds to the same 32 bits as 12,000 in PostgreSQL's int8 hash.
        case(
            "int8_same_folded_bits",
            "UPDATE $T SET big = big + 4294967297 WHERE id = 12",
            (0, 0, 1),
        ),
        case(
            "timestamp_shifted",
            "UPDATE $T SET at = at + interval '4294967297 microseconds' WHERE id = 13",
            (0, 0, 1),
        ),
        case(
            "infinity_to_nan",
            "UPDATE $T SET n = 'NaN' WHERE id = 16",
            (0, 0, 1),
        ),
        case(
            "month_to_thirty_days",
            "UPDATE $T SET iv = '30 days' WHERE id = 17",
            (0, 0, 1),
        ),
        case(
            "array_dimensions_and_bounds",
            "UPDATE $T SET arr = CASE id WHEN 18 THEN '{1,2,3,4}'::int[] ELSE '{5,6}'::int[] END
             WHERE id IN (18, 19)",
            (0, 0, 2),
        ),
        case(
            "citext_case",
            "UPDATE $T SET ci = 'ab' WHERE id = 20",
            (0, 0, 1),
        ),
        case(
            "enum_label",
            "UPDATE $T SET mood = 'sad' WHERE id = 26",
            (0, 0, 1),
        ),
        case(
            "json_whitespace",
            "UPDATE $T SET js = '{\"a\":1}' WHERE id = 27",
            (0, 0, 1),
        ),
        case(
            "xml_changed",
            "UPDATE $T SET x = '<b/>' WHERE id = 28",
            (0, 0, 1),
        ),
        case(
            "bools_swapped",
            "UPDATE $T SET flag = NOT flag WHERE id IN (30, 31)",
            (0, 0, 2),
        ),
        case(
            "trailing_spaces",
            "UPDATE $T SET name = name || ' ' WHERE id BETWEEN 21 AND 25",
            (0, 0, 5),
        ),
        // Compared on the key alone, two keys traded for two others with the same sum: a digest
        // that summed raw keys (or hashed all-NULL rows as a constant) would cancel out.
        Case {
            by_tk: Some((0, 0, 0)),
            args: &[
                "--exclude",
                "id,tk,name,code,amount,big,at,f,n,iv,arr,mood,ci,js,x,flag,d",
            ],
            ..case(
                "keys_traded_same_sum",
                "UPDATE $T SET id = 3001 WHERE id = 1; UPDATE $T SET id = -2996 WHERE id = 4",
                (2, 2, 0),
            )
        },
        Case {
            args: &["--normalize", "trim"],
            ..case(
                "trailing_spaces_forgiven",
                "UPDATE $T SET name = name || ' ' WHERE id BETWEEN 21 AND 25",
                (0, 0, 0),
            )
        },
    ]
}

fn diff(dir: &std::path::Path, left: &str, right: &str, args: &[&str]) -> Value {
    let mut all = vec!["diff", left, right, "-q", "--json", "-", "--sample", "0"];
    all.extend_from_slice(args);
    let out = crosscheck(dir, &all);
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON: {}\n{}", out.stdout, out.stderr));
    report["rules"][0].clone()
}

/// The same diff under each algorithm, in order.
fn diffs(
    dir: &std::path::Path,
    left: &str,
    right: &str,
    algorithms: &[&str],
    args: &[&str],
) -> Vec<Value> {
    algorithms
        .iter()
        .map(|a| {
            let mut all = args.to_vec();
            all.extend(["--algorithm", a]);
            diff(dir, left, right, &all)
        })
        .collect()
}

fn counts(rule: &Value) -> (u64, u64, u64) {
    let d = &rule["diff"];
    let n = |k: &str| d[k].as_u64().unwrap_or(u64::MAX);
    (n("only_in_source"), n("only_in_target"), n("changed"))
}

#[test]
fn every_algorithm_finds_every_adversarial_change() {
    let Some(server) = server() else { return };
    let cases = cases();
    let source = fresh_database(&server, "cc_adv_source");
    let target = fresh_database(&server, "cc_adv_target");
    execute(&source, &format!("{TYPES} {}", create("t", true)));
    let mut setup = TYPES.to_string();
    for c in &cases {
        let table = format!("t_{}", c.name);
        setup.push_str(&create(&table, true));
        if !c.sql.is_empty() {
            setup.push_str(&c.sql.replace("$T", &table));
            setup.push(';');
        }
    }
    execute(&target, &setup);
    let dir = project(&[]);
    let mut problems = Vec::new();
    for c in &cases {
        for (key, truth) in [("id", c.by_id), ("tk", c.by_tk.unwrap_or(c.by_id))] {
            let mut results = Vec::new();
            for algorithm in ["join", "checksum", "auto"] {
                let mut args = vec!["--key", key, "--algorithm", algorithm];
                args.extend_from_slice(c.args);
                let rule = diff(
                    dir.path(),
                    &format!("{source}#t"),
                    &format!("{target}#t_{}", c.name),
                    &args,
                );
                if !rule["error"].is_null() || counts(&rule) != truth {
                    problems.push(format!(
                        "{} (key {key}, {algorithm}): expected {truth:?}, got {:?} {}",
                        c.name,
                        counts(&rule),
                        rule["error"]
                    ));
                }
                results.push(rule);
            }
            // Per-column and forgiven counts agree too.
            for rule in &results[1..] {
                for part in ["columns", "forgiven"] {
                    if rule["diff"][part] != results[0]["diff"][part] {
                        problems.push(format!(
                            "{} (key {key}, {}): {part} {} but join {}",
                            c.name,
                            rule["diff"]["algorithm"],
                            rule["diff"][part],
                            results[0]["diff"][part]
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn identical_tables_with_enums_and_unhashable_types_are_not_read() {
    let Some(server) = server() else { return };
    let source = fresh_database(&server, "cc_adv_same_s");
    let target = fresh_database(&server, "cc_adv_same_t");
    // The enum is created in another order in the target, so its label OIDs differ.
    execute(&source, &format!("{TYPES} {}", create("t", true)));
    execute(
        &target,
        &format!(
            "CREATE TYPE other AS ENUM ('x'); {TYPES} {}",
            create("t", true)
        ),
    );
    let dir = project(&[]);
    for key in ["id", "tk"] {
        let rule = diff(
            dir.path(),
            &format!("{source}#t"),
            &format!("{target}#t"),
            &["--key", key, "--algorithm", "checksum"],
        );
        assert_eq!(rule["status"], "pass", "{rule}");
        let read = rule["diff"]["rows_read"]["source"].as_u64();
        assert_eq!(read, Some(0), "key {key}: nothing to read: {rule}");
    }
}

/// Equal values in types that differ between the sides (a `char(5)` migrated to `text`, a
/// `varchar` to `text`, a `name` to `text`) hash alike: nothing is read.
#[test]
fn equal_values_in_other_text_types_are_not_read() {
    let Some(server) = server() else { return };
    let source = fresh_database(&server, "cc_adv_types_s");
    let target = fresh_database(&server, "cc_adv_types_t");
    let rows = "SELECT i, 'c' || (i % 9), 'v' || i, 'n' || (i % 3) FROM generate_series(1, 3000) i";
    execute(
        &source,
        &format!(
            "CREATE TABLE m (id int PRIMARY KEY, c char(5), v varchar(20), n name);
             INSERT INTO m {rows};"
        ),
    );
    execute(
        &target,
        &format!(
            "CREATE TABLE m (id int PRIMARY KEY, c text, v text, n text);
             INSERT INTO m {rows}; UPDATE m SET c = rpad(c, 5);"
        ),
    );
    let dir = project(&[]);
    let rule = diff(
        dir.path(),
        &format!("{source}#m"),
        &format!("{target}#m"),
        &["--key", "id", "--algorithm", "checksum"],
    );
    assert_eq!(rule["status"], "pass", "{rule}");
    assert_eq!(
        rule["diff"]["rows_read"]["source"].as_u64(),
        Some(0),
        "{rule}"
    );
}

/// Under a nondeterministic collation (ICU, case-insensitive) PostgreSQL hashes 'Ab' like
/// 'ab'; the join compares text bytewise, and the checksum must too.
#[test]
fn a_case_insensitive_collation_still_hashes_case_apart() {
    let Some(server) = server() else { return };
    let table = "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', \
                 deterministic = false);
         CREATE TABLE c (id int PRIMARY KEY, name text COLLATE ci, tk text COLLATE ci UNIQUE);
         INSERT INTO c SELECT i, 'Name' || i, 'Key' || i FROM generate_series(1, 3000) i;";
    let source = fresh_database(&server, "cc_adv_ci_s");
    let target = fresh_database(&server, "cc_adv_ci_t");
    execute(&source, table);
    execute(
        &target,
        &format!("{table} UPDATE c SET name = lower(name) WHERE id IN (7, 1500);"),
    );
    let dir = project(&[]);
    for key in ["id", "tk"] {
        let (left, right) = (format!("{source}#c"), format!("{target}#c"));
        for rule in diffs(dir.path(), &left, &right, &ALGORITHMS, &["--key", key]) {
            assert_eq!(counts(&rule), (0, 0, 2), "key {key}: {rule}");
        }
    }
}

/// The types hashed directly by their own function (uuid, int2, real, bool, varchar,
/// char(n), with NULLs and a text key beside the integer one), each given the changes that
/// break a combination of per-column hashes: two rows swapping a value, every row set to one
/// value, a value moved to the neighbouring column of the same type, a value turned NULL and
/// a NULL given the type's zero.
#[test]
fn every_change_to_a_directly_hashed_type_is_found() {
    let Some(server) = server() else { return };
    let base = |t: &str| {
        format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, tk text UNIQUE, u uuid, u2 uuid, s int2,
               s2 int2, r real, b bool, v varchar(20), c char(4));
             INSERT INTO {t} SELECT i, 'k' || i, md5(i::text)::uuid, md5((-i)::text)::uuid,
               i % 300, i % 7, CASE WHEN i % 5 = 0 THEN NULL ELSE i / 4.0 END, i % 2 = 0,
               'v' || i, 'c' || (i % 9) FROM generate_series(1, 3000) i;"
        )
    };
    // (table, mutation, changed rows)
    let cases = [
        (
            "swap_uuid",
            "UPDATE $T SET u = CASE id WHEN 1 THEN (SELECT u FROM $T WHERE id = 2)
            ELSE (SELECT u FROM $T WHERE id = 1) END WHERE id IN (1, 2)",
            2,
        ),
        ("one_int2", "UPDATE $T SET s = 7", 2990),
        ("move_uuid", "UPDATE $T SET u = u2, u2 = u WHERE id = 5", 1),
        ("move_int2", "UPDATE $T SET s = s2, s2 = s WHERE id = 8", 1),
        (
            "real_to_null",
            "UPDATE $T SET r = NULL WHERE id IN (1, 2, 3)",
            3,
        ),
        ("null_to_zero", "UPDATE $T SET r = 0 WHERE r IS NULL", 600),
        ("flip_bools", "UPDATE $T SET b = NOT b", 3000),
        ("varchar_case", "UPDATE $T SET v = upper(v) WHERE id = 9", 1),
        (
            "char_to_null",
            "UPDATE $T SET c = NULL WHERE id IN (10, 11)",
            2,
        ),
    ];
    let source = fresh_database(&server, "cc_adv_direct_s");
    let target = fresh_database(&server, "cc_adv_direct_t");
    let (mut s_sql, mut t_sql) = (String::new(), String::new());
    for (table, mutation, _) in &cases {
        s_sql.push_str(&base(table));
        t_sql.push_str(&base(table));
        t_sql.push_str(&mutation.replace("$T", table));
        t_sql.push(';');
    }
    execute(&source, &s_sql);
    execute(&target, &t_sql);
    let dir = project(&[]);
    let mut problems = Vec::new();
    for (table, _, changed) in cases {
        let (left, right) = (format!("{source}#{table}"), format!("{target}#{table}"));
        for key in ["id", "tk"] {
            for rule in diffs(dir.path(), &left, &right, &ALGORITHMS, &["--key", key]) {
                if counts(&rule) != (0, 0, changed) {
                    problems.push(format!(
                        "{table} (key {key}, {}): expected {changed} changed, got {:?}",
                        rule["diff"]["algorithm"],
                        counts(&rule)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn duplicate_keys_agree_under_every_algorithm() {
    let Some(server) = server() else { return };
    let source = fresh_database(&server, "cc_adv_dup_s");
    let target = fresh_database(&server, "cc_adv_dup_t");
    execute(&source, &format!("{TYPES} {}", create("t", false)));
    execute(
        &target,
        &format!(
            "{TYPES} {} INSERT INTO t SELECT * FROM t WHERE id IN (11, 12);
             UPDATE t SET name = 'dup' WHERE ctid = (SELECT max(ctid) FROM t WHERE id = 12);",
            create("t", false)
        ),
    );
    let dir = project(&[]);
    for key in ["id", "tk"] {
        let results: Vec<Value> = ["join", "checksum", "auto"]
            .iter()
            .map(|a| {
                diff(
                    dir.path(),
                    &format!("{source}#t"),
                    &format!("{target}#t"),
                    &["--key", key, "--algorithm", a],
                )
            })
            .collect();
        let dups = &results[0]["diff"]["duplicate_keys"];
        assert!(dups.as_u64().is_some_and(|d| d > 0), "{}", results[0]);
        for rule in &results[1..] {
            assert_eq!(rule["violations"], results[0]["violations"], "{rule}");
            assert_eq!(rule["diff"]["duplicate_keys"], *dups, "{rule}");
        }
    }
}

/// The shapes in which digests combining row hashes without the key by XOR cancelled out: a
/// table whose non-key values repeat, every row updated to one value, two rows swapping
/// their values — with 2,048 rows, two to a key-range bucket.
#[test]
fn narrow_tables_where_digests_used_to_cancel_out() {
    let Some(server) = server() else { return };
    // `(table, key type, v alternates)`: one value throughout (as the issue's `c(id, touched)`
    // had) for the bulk update, alternating values for the swaps.
    let base = |table: &str, key: &str, alternate: bool| {
        let v = if alternate {
            "CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END"
        } else {
            "'a'"
        };
        let id = match key {
            "int" => "i",
            // Snowflake-like ids, far beyond 2⁴⁶: the seeds' tags do not keep such keys apart.
            "bigint" => "1500000000000000000 + i::bigint * 4194304",
            _ => "'key-' || i",
        };
        format!(
            "CREATE TABLE {table} (id {key} PRIMARY KEY, touched timestamptz NOT NULL, v text);
             INSERT INTO {table} SELECT {id}, '2020-01-01', {v} FROM generate_series(1, 2048) i;"
        )
    };
    let one_value = "UPDATE $T SET touched = '2023-06-01'";
    let swap = "UPDATE $T SET v = CASE v WHEN 'a' THEN 'b' ELSE 'a' END WHERE id IN ($1, $2)";
    // (base table, key type, alternating, mutation, changed rows)
    let runs = [
        ("int_same", "int", false, one_value.to_string(), 2048),
        ("text_same", "text", false, one_value.to_string(), 2048),
        ("int_alt", "int", true, swap.replace("$1, $2", "1, 2"), 2),
        ("big_same", "bigint", false, one_value.to_string(), 2048),
        (
            "big_alt",
            "bigint",
            true,
            swap.replace("$1, $2", "1500000000004194304, 1500000000008388608"),
            2,
        ),
        (
            "text_alt",
            "text",
            true,
            swap.replace("$1, $2", "'key-1', 'key-2'"),
            2,
        ),
    ];
    let source = fresh_database(&server, "cc_narrow_s");
    let target = fresh_database(&server, "cc_narrow_t");
    let (mut s_sql, mut t_sql) = (String::new(), String::new());
    for (table, key, alternate, mutation, _) in &runs {
        s_sql.push_str(&base(table, key, *alternate));
        t_sql.push_str(&base(table, key, *alternate));
        t_sql.push_str(&mutation.replace("$T", table));
        t_sql.push(';');
    }
    execute(&source, &s_sql);
    execute(&target, &t_sql);
    let dir = project(&[]);
    let mut problems = Vec::new();
    for (table, _, _, _, changed) in runs {
        for algorithm in ["join", "checksum", "auto"] {
            let rule = diff(
                dir.path(),
                &format!("{source}#{table}"),
                &format!("{target}#{table}"),
                &["--key", "id", "--algorithm", algorithm],
            );
            if counts(&rule) != (0, 0, changed) || rule["status"] != "fail" {
                problems.push(format!(
                    "{table} ({algorithm}): expected {changed} changed, got {} {:?}",
                    rule["status"],
                    counts(&rule)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The key seeds every element hash, and some native hashes return their seed for one value
/// (a float's 0, a numeric's NaN): with the key 0 such a value would hash like NULL. Zero and
/// NaN turned into NULL on the row with key 0 are still one changed row under every algorithm;
/// so are two rows of one bucket turned to NULL together, and every row at once (a NULL that
/// hashed as a constant would move both rows' hashes by the same XOR, which can cancel out).
#[test]
fn zero_and_nan_on_the_key_zero_row_differ_from_null() {
    let Some(server) = server() else { return };
    let table =
        "CREATE TABLE z (id int PRIMARY KEY, f float8, r float4, n numeric, s numeric(6,2));
         INSERT INTO z SELECT i, 0, 0, 'NaN', 0 FROM generate_series(0, 63) i;";
    let source = fresh_database(&server, "cc_zero_s");
    let target = fresh_database(&server, "cc_zero_t");
    execute(&source, table);
    execute(&target, table);
    let dir = project(&[]);
    let mut problems = Vec::new();
    for column in ["f", "r", "n", "s"] {
        for (rows, changed) in [("id = 0", 1), ("id IN (1, 2)", 2), ("true", 64)] {
            execute(
                &target,
                &format!("UPDATE z SET {column} = NULL WHERE {rows}"),
            );
            for algorithm in ["join", "checksum", "auto"] {
                let rule = diff(
                    dir.path(),
                    &format!("{source}#z"),
                    &format!("{target}#z"),
                    &["--key", "id", "--algorithm", algorithm],
                );
                if counts(&rule) != (0, 0, changed) {
                    let got = counts(&rule);
                    problems.push(format!("{column} {rows} ({algorithm}): {got:?}"));
                }
            }
            execute(&target, "TRUNCATE z");
            execute(
                &target,
                "INSERT INTO z SELECT i, 0, 0, 'NaN', 0 FROM generate_series(0, 63) i",
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Rows without a key (a nullable key column) are read by the checksum as join matches them,
/// with and without an index on the key: the look for NULL keys goes through the index when
/// there is one, and a NOT NULL key is not looked at all.
#[test]
fn rows_without_a_key_count_alike_under_every_algorithm() {
    let Some(server) = server() else { return };
    let source = fresh_database(&server, "cc_adv_nullkey_s");
    let target = fresh_database(&server, "cc_adv_nullkey_t");
    let table = "CREATE TABLE plain (id int, v text);
        INSERT INTO plain SELECT g, 'v' || g FROM generate_series(1, 3000) g;
        CREATE TABLE indexed (id int, v text); CREATE INDEX ON indexed (id);
        INSERT INTO indexed SELECT g, 'v' || g FROM generate_series(1, 3000) g;
        CREATE TABLE \"Mixed\" (\"Id\" int PRIMARY KEY, v text);
        INSERT INTO \"Mixed\" SELECT g, 'v' || g FROM generate_series(1, 3000) g;";
    execute(&source, table);
    execute(
        &target,
        &format!(
            "{table} INSERT INTO plain VALUES (NULL, 'lost'); INSERT INTO indexed VALUES (NULL, 'lost');
             UPDATE plain SET v = 'x' WHERE id = 7; UPDATE indexed SET v = 'x' WHERE id = 7;
             UPDATE \"Mixed\" SET v = 'x' WHERE \"Id\" = 7; DELETE FROM \"Mixed\" WHERE \"Id\" = 9;"
        ),
    );
    let dir = project(&[]);
    // A NOT NULL key whose name needs quoting: its bounds come from the index alone.
    let mixed = diffs(
        dir.path(),
        &format!("{source}#Mixed"),
        &format!("{target}#Mixed"),
        &["join", "checksum"],
        &["--key", "Id"],
    );
    assert_eq!(counts(&mixed[0]), (1, 0, 1), "{}", mixed[0]);
    assert_eq!(counts(&mixed[1]), counts(&mixed[0]), "{}", mixed[1]);
    assert_eq!(mixed[1]["diff"]["algorithm"], "checksum", "{}", mixed[1]);
    // A `where` that leaves out the keyless row: it is not looked for, nor counted.
    for t in ["plain", "indexed"] {
        let filtered = diffs(
            dir.path(),
            &format!("{source}#{t}"),
            &format!("{target}#{t}"),
            &["join", "checksum"],
            &["--key", "id", "--where", "v <> 'lost'"],
        );
        assert_eq!(counts(&filtered[0]), (0, 0, 1), "{t}: {}", filtered[0]);
        assert_eq!(counts(&filtered[1]), (0, 0, 1), "{t}: {}", filtered[1]);
        assert_eq!(filtered[1]["diff"]["algorithm"], "checksum", "{t}");
    }
    for t in ["plain", "indexed"] {
        let results = diffs(
            dir.path(),
            &format!("{source}#{t}"),
            &format!("{target}#{t}"),
            &["join", "checksum", "auto"],
            &["--key", "id"],
        );
        assert_eq!(counts(&results[0]), (0, 1, 1), "{t}: {}", results[0]);
        for rule in &results[1..] {
            assert_eq!(counts(rule), counts(&results[0]), "{t}: {rule}");
            assert_eq!(rule["violations"], results[0]["violations"], "{t}: {rule}");
        }
        assert_eq!(results[1]["diff"]["algorithm"], "checksum", "{t}");
    }
}
