//! Multi-dimensional PostgreSQL arrays and arrays with other lower bounds than 1 are not
//! flattened: `{{1,2},{3,4}}`, `{{1,2,3,4}}`, `{1,2,3,4}` and `[0:1]={5,6}` vs `{5,6}` differ in
//! every rule, while a column of one-dimensional arrays stays a list.

use crate::pg::{execute, fresh_database, server};
use crate::support::{project, rule, run_json};

#[test]
fn array_dimensions_and_bounds_are_differences_in_every_rule() {
    let Some(server) = server() else { return };
    let a = fresh_database(&server, "cc_arr_a");
    let b = fresh_database(&server, "cc_arr_b");
    // Row 5 is the same two-dimensional array on both sides.
    execute(
        &a,
        "CREATE TABLE t (id int PRIMARY KEY, v int[]);
         INSERT INTO t VALUES (1, '{{1,2},{3,4}}'), (2, '{{1,2,3,4}}'), (3, '[0:1]={5,6}'),
                              (4, '{7,8}'), (5, '{{9}}'), (6, NULL), (7, '{}');
         CREATE TABLE lists (id int PRIMARY KEY, v int[]);
         INSERT INTO lists VALUES (1, '{7,8}'), (2, '{7,9}'), (3, '{}');",
    );
    execute(
        &b,
        "CREATE TABLE t (id int PRIMARY KEY, v int[]);
         INSERT INTO t VALUES (1, '{1,2,3,4}'), (2, '{1,2,3,4}'), (3, '{5,6}'),
                              (4, '{7,8}'), (5, '{{9}}'), (6, NULL), (7, '{}');",
    );
    let config = format!("sources:\n  a:\n    postgres: {a}\n  b:\n    postgres: {b}\n");
    let rules = "rules:
  - name: arrays_match
    type: query_match
    source: a
    target: b
    sql: select id, v from t
    key: [id]
  - name: arrays_equal_across_sources
    type: sql
    sql: select x.id from a.t as x join b.t as y on x.id = y.id where x.v <> y.v
  - name: arrays_diff
    type: diff
    source: a.t
    target: b.t
    key: [id]
  - name: one_dimensional_arrays_are_lists
    type: expect
    table: a.lists
    condition: v[2] = 8 OR cardinality(v) = 0
";
    let dir = project(&[("crosscheck.yaml", &config), ("rules/r.yaml", rules)]);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}\n{report}", out.stderr);
    for name in ["arrays_match", "arrays_equal_across_sources", "arrays_diff"] {
        let r = rule(&report, name);
        assert_eq!(r["status"], "fail", "{r}");
        assert_eq!(r["violations"], 3, "ids 1, 2 and 3 differ: {r}");
    }
    let lists = rule(&report, "one_dimensional_arrays_are_lists");
    assert_eq!(lists["status"], "fail", "{lists}");
    assert_eq!(lists["violations"], 1, "{lists}");
    assert_eq!(lists["sample"]["rows"][0][0], 2, "{lists}");
}
