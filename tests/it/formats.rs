//! Parquet files, folders of Parquet parts, and JSON arrays are tables like CSV files.

use datafusion::prelude::SessionContext;

use crate::support::{project, rule, run_json};

/// Writes `sql`'s result to `path` as Parquet with DataFusion's own writer.
fn write_parquet(path: &std::path::Path, sql: &str) {
    let runtime = crate::support::runtime();
    runtime.block_on(async {
        let ctx = SessionContext::new();
        let copy = format!("COPY ({sql}) TO '{}' STORED AS PARQUET", path.display());
        ctx.sql(&copy)
            .await
            .expect("COPY plans")
            .collect()
            .await
            .expect("COPY runs");
    });
}

#[test]
fn parquet_files_and_folders_and_json_arrays() {
    let config = "sources:\n  left:\n    files: data\n";
    let rules = "rules:
  - name: users_count
    type: row_count
    table: left.users
    min: 3
    max: 3
  - name: events_count
    type: row_count
    table: left.events
    min: 4
    max: 4
  - name: event_users
    type: foreign_key
    child: left.events(user_id)
    parent: left.users(id)
  - name: tags_not_null
    type: not_null
    table: left.tags
    columns: [tag]
";
    let tags = "[{\"id\": 1, \"tag\": \"a\"}, {\"id\": 2, \"tag\": null}]";
    let dir = project(&[
        ("crosscheck.yaml", config),
        ("rules/r.yaml", rules),
        ("data/tags.json", tags),
    ]);
    let data = dir.path().join("data");
    write_parquet(
        &data.join("users.parquet"),
        "SELECT column1 AS id, column2 AS name FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c'))",
    );
    std::fs::create_dir_all(data.join("events")).expect("folder");
    write_parquet(
        &data.join("events/part-0.parquet"),
        "SELECT column1 AS user_id FROM (VALUES (1), (2))",
    );
    write_parquet(
        &data.join("events/part-1.parquet"),
        "SELECT column1 AS user_id FROM (VALUES (3), (9))",
    );
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let verdict = |n: &str| {
        (
            rule(&report, n)["status"].clone(),
            rule(&report, n)["violations"].clone(),
        )
    };
    assert_eq!(verdict("users_count"), ("pass".into(), 0.into()));
    assert_eq!(verdict("events_count"), ("pass".into(), 0.into()));
    assert_eq!(verdict("event_users"), ("fail".into(), 1.into()));
    assert_eq!(verdict("tags_not_null"), ("fail".into(), 1.into()));
}
