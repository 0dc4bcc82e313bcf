//! `schema_match` beyond columns, against a real PostgreSQL: indexes, CHECK constraints,
//! defaults, and sequences left behind the data copied into a target.

use crate::pg::{execute, fresh_database, server};
use crate::support::{crosscheck, project, rule, run_json};

const SCHEMA: &str = "
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, age int CHECK (age >= 0),
                    created_at timestamptz DEFAULT now(), status text DEFAULT 'active');
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE INDEX users_created ON users (created_at);
CREATE INDEX users_status ON users (status);
CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id int UNIQUE);
CREATE TABLE tags (id bigint PRIMARY KEY, name text);
CREATE INDEX tags_name ON tags (name);";

/// Rows of a rule's sample, each as compact JSON.
fn rows(rule: &serde_json::Value) -> Vec<String> {
    rule["sample"]["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r.to_string()).collect())
        .unwrap_or_default()
}

/// Two schema_match rules between two databases: `whole` and `name` on one table of both.
fn whole_and_one_table(
    source: &str,
    target: &str,
    name: &str,
    table: &str,
) -> (crate::support::Output, serde_json::Value) {
    let config =
        format!("sources:\n  source:\n    postgres: {source}\n  target:\n    postgres: {target}\n");
    let rules = format!(
        "rules:
  - name: whole
    type: schema_match
    source: source
    target: target
  - name: {name}
    type: schema_match
    source: source.{table}
    target: target.{table}
"
    );
    let dir = project(&[("crosscheck.yaml", &config), ("rules/r.yaml", &rules)]);
    run_json(dir.path(), &[])
}

#[test]
fn indexes_checks_defaults_and_sequences_are_compared() {
    let Some(server) = server() else { return };
    let staging = fresh_database(&server, "cc_objects_staging");
    let prod = fresh_database(&server, "cc_objects_prod");
    execute(&staging, SCHEMA);
    execute(
        &staging,
        "INSERT INTO users (email, age) SELECT 'u' || g, g FROM generate_series(1, 3) g;
         INSERT INTO events (user_id) VALUES (1), (2);",
    );
    execute(&prod, SCHEMA);
    // The migration: some indexes lost or rebuilt otherwise, a check and a default changed,
    // and the rows copied with their ids while the sequences stayed at their start.
    execute(
        &prod,
        "DROP INDEX users_email_lower; DROP INDEX users_created;
         DROP INDEX users_status; CREATE INDEX users_status ON users USING hash (status);
         ALTER TABLE users DROP CONSTRAINT users_age_check;
         ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age > 0);
         ALTER TABLE users ALTER COLUMN status SET DEFAULT 'new';
         INSERT INTO users (id, email, age) VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
         INSERT INTO events (id, user_id) OVERRIDING SYSTEM VALUE VALUES (1, 1), (2, 2);",
    );
    let config = format!(
        "sources:\n  staging:\n    postgres: {staging}\n  prod:\n    postgres: {prod}\n  export:\n    files: export\n"
    );
    let rules = "rules:
  - name: whole_schema
    type: schema_match
    source: staging
    target: prod
  - name: accepted
    type: schema_match
    source: staging
    target: prod
    ignore: [users.users_*, users.status, '*.id']
  - name: one_table
    type: schema_match
    source: staging.users
    target: prod.users
  - name: sequences_fine_in_staging
    type: schema_match
    source: prod
    target: staging
    ignore: [users.users_*, users.status]
  - name: database_against_files
    type: schema_match
    source: staging.tags
    target: export.tags
  - name: files_against_database
    type: schema_match
    source: export.tags
    target: staging.tags
";
    let dir = project(&[
        ("crosscheck.yaml", &config),
        ("rules/r.yaml", rules),
        ("export/tags.csv", "id,name\n1,a\n"),
    ]);
    let out = crosscheck(
        dir.path(),
        &[
            "run",
            "-q",
            "--json",
            "-",
            "--junit",
            "r.xml",
            "--markdown",
            "r.md",
        ],
    );
    let report = out.json();
    let whole = rule(&report, "whole_schema");
    assert_eq!(
        rows(whole),
        [
            r#"["events.id","sequence behind the column's data",null,"public.events_id_seq next value 1, max(id) = 2"]"#,
            r#"["users.users_created","index missing in target","CREATE INDEX ON users USING btree (created_at)",null]"#,
            r#"["users.users_email_lower","index missing in target","CREATE UNIQUE INDEX ON users USING btree (lower(email))",null]"#,
            r#"["users.users_status","index differs","CREATE INDEX ON users USING btree (status)","CREATE INDEX ON users USING hash (status)"]"#,
            r#"["users.users_age_check","check differs","CHECK ((age >= 0))","CHECK ((age > 0))"]"#,
            r#"["users.status","default differs","'active'::text","'new'::text"]"#,
            r#"["users.id","sequence behind the column's data",null,"public.users_id_seq next value 1, max(id) = 3"]"#,
        ],
        "{whole}"
    );
    assert_eq!(whole["violations"], 7);
    assert_eq!(rule(&report, "accepted")["status"], "pass", "ignore globs");
    let one = rule(&report, "one_table");
    assert_eq!(one["violations"], 6, "{one}");
    assert!(rows(one).contains(&r#"["id","sequence behind the column's data",null,"public.users_id_seq next value 1, max(id) = 3"]"#.to_string()), "{one}");
    // Staging's sequences handed out its ids, so they are ahead of the data.
    assert_eq!(
        rule(&report, "sequences_fine_in_staging")["status"],
        "pass",
        "{}",
        rule(&report, "sequences_fine_in_staging")
    );
    for name in ["database_against_files", "files_against_database"] {
        assert_eq!(
            rule(&report, name)["status"],
            "pass",
            "files have no indexes to miss: {}",
            rule(&report, name)
        );
    }
    for report in ["r.xml", "r.md"] {
        let text = std::fs::read_to_string(dir.path().join(report)).expect("report written");
        assert!(
            text.contains("users.users_email_lower") && text.contains("public.users_id_seq"),
            "{report}:\n{text}"
        );
    }
    assert_eq!(out.code, 1);
    // `explain` lists everything a schema_match compares, and what it cannot against files.
    let explain = |name: &str| {
        let out = crosscheck(dir.path(), &["explain", name]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        out.stdout
    };
    let whole = explain("whole_schema");
    for part in [
        "tables missing in the target",
        "column types",
        "nullability",
        "primary key, unique and foreign key constraints",
        "indexes",
        "CHECK constraints",
        "column defaults",
        "sequences and identity columns",
    ] {
        assert!(whole.contains(part), "explain names `{part}`:\n{whole}");
    }
    let files = explain("database_against_files");
    assert!(
        files.contains("not compared: nullability, constraints, indexes")
            && !files.contains("tables missing"),
        "{files}"
    );
}

const PARTITIONED: &str = "
CREATE TABLE customer (id int PRIMARY KEY, name text);
CREATE TABLE payment (payment_id int NOT NULL, customer_id int, amount numeric(5,2) DEFAULT 0,
                      note text, legacy text, paid_on date NOT NULL)
    PARTITION BY RANGE (paid_on);
CREATE TABLE payment_p1 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
CREATE TABLE payment_p2 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
CREATE TABLE payment_p3 PARTITION OF payment FOR VALUES FROM ('2022-03-01') TO ('2022-04-01');
CREATE INDEX payment_customer ON payment (customer_id);
CREATE TABLE rental (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE inventory (id int, store int) PARTITION BY LIST (store);
CREATE TABLE rental_2022 PARTITION OF rental FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE rental_2023 PARTITION OF rental FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE VIEW customer_names AS SELECT name FROM customer;
CREATE MATERIALIZED VIEW payment_totals AS SELECT customer_id, sum(amount) FROM payment GROUP BY 1;
CREATE VIEW becomes_table AS SELECT id FROM customer;
CREATE VIEW redefined AS SELECT name FROM customer;";

/// A change made on a partitioned table is one difference, named on it, not one more per
/// partition; a change on one partition only is that partition's; and what a relation is
/// (view, materialized view, partitioned table, partition) is named, never just "table".
#[test]
fn a_partitioned_tables_changes_count_once_and_kinds_are_named() {
    let Some(server) = server() else { return };
    let source = fresh_database(&server, "cc_partitions_source");
    let target = fresh_database(&server, "cc_partitions_target");
    execute(&source, PARTITIONED);
    execute(&target, PARTITIONED);
    execute(
        &target,
        "DROP VIEW customer_names; DROP MATERIALIZED VIEW payment_totals;
         ALTER TABLE payment ALTER COLUMN note TYPE varchar(40);
         ALTER TABLE payment DROP COLUMN legacy;
         ALTER TABLE payment ALTER COLUMN amount SET DEFAULT 1;
         DROP INDEX payment_customer;
         ALTER TABLE payment_p2 ALTER COLUMN customer_id SET DEFAULT 7;
         CREATE INDEX payment_p3_note ON payment_p3 (note);
         CREATE TABLE payment_p4 PARTITION OF payment FOR VALUES FROM ('2022-04-01') TO ('2022-05-01');
         DROP TABLE rental;
         DROP TABLE inventory; CREATE TABLE inventory (id int, store int) PARTITION BY HASH (id);
         ALTER TABLE payment DETACH PARTITION payment_p3;
         ALTER TABLE payment ATTACH PARTITION payment_p3 FOR VALUES FROM ('2022-03-01') TO ('2022-03-31');
         DROP VIEW becomes_table; CREATE TABLE becomes_table (id int);
         CREATE OR REPLACE VIEW redefined AS SELECT name FROM customer WHERE id > 1;",
    );
    let (out, report) = whole_and_one_table(&source, &target, "one_partition", "payment_p2");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let whole = rule(&report, "whole");
    let mut got = rows(whole);
    got.sort();
    assert_eq!(
        got,
        [
            r#"["becomes_table","kind differs","view","table"]"#,
            r#"["customer_names","view missing in target","view",null]"#,
            r#"["inventory","partition key differs","LIST (store)","HASH (id)"]"#,
            r#"["payment.amount","default differs","0","1"]"#,
            r#"["payment.legacy","column missing in target","text",null]"#,
            r#"["payment.note","type differs","text","character varying(40)"]"#,
            r#"["payment.payment_customer","index missing in target","CREATE INDEX ON ONLY payment USING btree (customer_id)",null]"#,
            r#"["payment_p2.customer_id","default differs",null,"7"]"#,
            r#"["payment_p3","partition bounds differ","FOR VALUES FROM ('2022-03-01') TO ('2022-04-01')","FOR VALUES FROM ('2022-03-01') TO ('2022-03-31')"]"#,
            r#"["payment_p3.payment_p3_note","extra index in target",null,"CREATE INDEX ON payment_p3 USING btree (note)"]"#,
            r#"["payment_p4","extra partition in target",null,"partition of payment"]"#,
            r#"["payment_totals","materialized view missing in target","materialized view",null]"#,
            r#"["redefined","view query differs","SELECT customer.name FROM customer;","SELECT customer.name FROM customer WHERE (customer.id > 1);"]"#,
            r#"["rental","partitioned table missing in target","partitioned table",null]"#,
        ],
        "{whole}"
    );
    assert_eq!(whole["violations"], 14);
    // Compared on its own, a partition shows everything it differs in, inherited or not.
    let one = rule(&report, "one_partition");
    assert_eq!(one["violations"], 5, "{one}");
}

/// An enum that gained a label or a domain that lost its check is one difference, named on
/// the type, however many columns (arrays too) use it; they compared equal by name before.
#[test]
fn enums_and_domains_are_compared_once_per_type() {
    let Some(server) = server() else { return };
    let source = fresh_database(&server, "cc_types_source");
    let target = fresh_database(&server, "cc_types_target");
    let schema = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE kept AS ENUM ('a', 'b');
CREATE DOMAIN year AS integer CHECK (VALUE >= 1900);
CREATE TABLE film (id int PRIMARY KEY, rating mood, moods mood[], y year, k kept);
CREATE TABLE review (id int PRIMARY KEY, m mood, y year);";
    execute(&source, schema);
    execute(&target, schema);
    execute(
        &target,
        "ALTER TYPE mood ADD VALUE 'angry'; ALTER DOMAIN year DROP CONSTRAINT year_check;",
    );
    let (out, report) = whole_and_one_table(&source, &target, "one_table", "review");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expected = [
        r#"["mood","enum differs","ENUM ('sad', 'ok', 'happy')","ENUM ('sad', 'ok', 'happy', 'angry')"]"#,
        r#"["year","domain differs","DOMAIN integer CHECK ((VALUE >= 1900))","DOMAIN integer"]"#,
    ];
    for name in ["whole", "one_table"] {
        assert_eq!(rows(rule(&report, name)), expected, "{name}");
    }
}

/// An export of a partitioned table is one file: the partitions it holds are no tables
/// missing from the export (files have no partitions, as they have no indexes).
#[test]
fn partitions_are_not_missing_from_an_export_of_their_table() {
    let Some(server) = server() else { return };
    let database = fresh_database(&server, "cc_partitions_export");
    execute(
        &database,
        "CREATE TABLE payment (id bigint, note text, paid_on date) PARTITION BY RANGE (paid_on);
         CREATE TABLE payment_p1 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
         CREATE TABLE payment_p2 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');
         CREATE TABLE payment_p3 PARTITION OF payment FOR VALUES FROM ('2022-03-01') TO ('2022-04-01');
         CREATE TABLE dropped (id bigint) PARTITION BY LIST (id);
         CREATE TABLE dropped_1 PARTITION OF dropped FOR VALUES IN (1);",
    );
    let config =
        format!("sources:\n  db:\n    postgres: {database}\n  export:\n    files: export\n");
    let rules = "rules:
  - name: export_has_the_schema
    type: schema_match
    source: db
    target: export
  - name: database_has_the_export
    type: schema_match
    source: export
    target: db
";
    let dir = project(&[
        ("crosscheck.yaml", &config),
        ("rules/r.yaml", rules),
        ("export/payment.csv", "id,note,paid_on\n1,a,2022-01-05\n"),
    ]);
    let (_, report) = run_json(dir.path(), &[]);
    // `dropped` is not exported: one difference, its partition with it.
    for (name, row) in [
        (
            "export_has_the_schema",
            r#"["dropped","partitioned table missing in target","partitioned table",null]"#,
        ),
        (
            "database_has_the_export",
            r#"["dropped","extra partitioned table in target",null,"partitioned table"]"#,
        ),
    ] {
        assert_eq!(rows(rule(&report, name)), [row], "{name}");
    }
}

/// CSV and NDJSON declare no types: an export of `integer` or `numeric(5,2)` columns infers
/// `bigint` and `double precision`, which is no schema difference; decimals where the
/// database has integers, whole numbers where it has floats, or text where it has numbers,
/// still are. Text is what psql writes for booleans (`t`/`f`), uuids, bytea, arrays and JSON:
/// no difference either.
#[test]
fn types_inferred_from_an_export_are_compared_by_what_text_can_say() {
    let Some(server) = server() else { return };
    let database = fresh_database(&server, "cc_inferred_types");
    execute(
        &database,
        "CREATE TABLE t (id int PRIMARY KEY, small smallint, big bigint, price numeric(5,2),
                         ratio float8, unconstrained numeric, label text, at timestamptz,
                         flag bool, u uuid, tags text[], raw bytea, js jsonb);",
    );
    let config =
        format!("sources:\n  db:\n    postgres: {database}\n  export:\n    files: export\n");
    let rules = "rules:
  - name: csv
    type: schema_match
    source: db.t
    target: export.t
  - name: ndjson
    type: schema_match
    source: db.t
    target: export.n
    ignore: [at, flag, u, tags, raw, js]   # JSON has no instants: a text, reported as in the docs' example
  - name: csv_against_db
    type: schema_match
    source: export.t
    target: db.t
  - name: wrong
    type: schema_match
    source: db.t
    target: export.wrong
";
    let dir = project(&[
        ("crosscheck.yaml", &config),
        ("rules/r.yaml", rules),
        (
            "export/t.csv",
            "id,small,big,price,ratio,unconstrained,label,at,flag,u,tags,raw,js\n\
             1,2,3,4.50,0.5,1.25,a,2022-01-05 10:00:00+00,t,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,\
             \"{a,\"\"b,c\"\"}\",\\x00ff,\"{\"\"a\"\": 1}\"\n",
        ),
        (
            "export/n.ndjson",
            "{\"id\":1,\"small\":2,\"big\":3,\"price\":4.5,\"ratio\":0.5,\"unconstrained\":1.25,\"label\":\"a\",\"at\":\"2022-01-05T10:00:00Z\"}\n",
        ),
        (
            "export/wrong.csv",
            "id,small,big,price,ratio,unconstrained,label,at,flag,u,tags,raw,js\n\
             1.5,2,x,4.50,1,1.25,a,2022-01-05 10:00:00+00,t,u,{},\\x,{}\n",
        ),
    ]);
    let (_, report) = run_json(dir.path(), &[]);
    for name in ["csv", "ndjson", "csv_against_db"] {
        assert_eq!(
            rule(&report, name)["status"],
            "pass",
            "{}",
            rule(&report, name)
        );
    }
    assert_eq!(
        rows(rule(&report, "wrong")),
        [
            r#"["id","type differs","integer","double precision"]"#,
            r#"["big","type differs","bigint","text"]"#,
            r#"["ratio","type differs","double precision","bigint"]"#,
        ]
    );
}
