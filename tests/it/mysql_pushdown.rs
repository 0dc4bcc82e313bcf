//! Queries run inside MariaDB: counts, grouped counts, uniqueness, orphans and business
//! rules give the verdicts DataFusion gives on the same rows as files, although MariaDB's
//! default collation folds case and ignores trailing spaces; only result rows travel.

use std::fmt::Write as _;

use crate::mysql::{execute, fresh_database, server};
use crate::support::{crosscheck, project, rule, run_json};

/// Names that MariaDB's default collation holds equal, and one it sorts elsewhere.
const NAMES: [&str; 6] = ["a", "A", "a ", "b", "é", "-x"];

struct Person {
    id: u32,
    name: Option<&'static str>,
    email: String,
    qty: i64,
    active: bool,
}

fn people() -> Vec<Person> {
    (1..=3000)
        .map(|id| Person {
            id,
            name: (id % 7 != 0).then(|| NAMES[id as usize % NAMES.len()]),
            // Emails that differ only in case or a trailing space are different emails.
            email: match id % 500 {
                1 => format!("U{}@e.com", id - 1),
                2 => format!("u{}@e.com ", id - 2),
                3 => "dup@e.com".to_string(),
                _ => format!("u{id}@e.com"),
            },
            qty: if id % 97 == 0 { -1 } else { id as i64 % 13 },
            active: id % 3 != 0,
        })
        .collect()
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn csv_text(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The people (and orders, a few of them orphans) as MariaDB rows and as CSV exports.
fn load(url: &str, people: &[Person], changed: bool) -> (String, String) {
    let mut insert = String::from(
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(10), email VARCHAR(40), \
         qty BIGINT NOT NULL, active TINYINT(1) NOT NULL) CHARACTER SET utf8mb4;\n\
         CREATE TABLE orders (id INT PRIMARY KEY, person_id INT);\n\
         INSERT INTO people VALUES ",
    );
    let mut csv = String::from("id,name,email,qty,active\n");
    for (i, p) in people.iter().enumerate() {
        // The changed copy turns one `a` into `A`: a grouped count must see it.
        let name = if changed && p.id == 6 {
            Some("A")
        } else {
            p.name
        };
        if i > 0 {
            insert.push(',');
        }
        let _ = write!(
            insert,
            "({}, {}, {}, {}, {})",
            p.id,
            name.map(sql_text).unwrap_or("NULL".into()),
            sql_text(&p.email),
            p.qty,
            p.active as u8
        );
        let _ = writeln!(
            csv,
            "{},{},{},{},{}",
            p.id,
            name.map(csv_text).unwrap_or_default(),
            csv_text(&p.email),
            p.qty,
            p.active
        );
    }
    insert.push_str(";\nINSERT INTO orders VALUES ");
    let mut orders = String::from("id,person_id\n");
    for id in 1..=400u32 {
        let person = if id % 100 == 0 { 5000 + id } else { id * 7 };
        if id > 1 {
            insert.push(',');
        }
        let _ = write!(insert, "({id}, {person})");
        let _ = writeln!(orders, "{id},{person}");
    }
    insert.push(';');
    execute(url, &insert);
    (csv, orders)
}

const RULES: &str = "rules:
  - name: emails_unique
    type: unique
    table: shop.people
    columns: [email]
    tags: [pushed]
  - name: names_unique
    type: unique
    table: shop.people
    columns: [name]
    tags: [pushed]
  - name: known_names
    type: accepted_values
    table: shop.people
    column: name
    values: [a, b]
    tags: [pushed]
  - name: qty_not_negative
    type: expect
    table: shop.people
    condition: \"qty >= 0\"
    tags: [pushed]
  - name: not_named_a
    type: expect
    table: shop.people
    condition: \"name <> 'a'\"
    where: active
    tags: [pushed]
  - name: upper_a_count
    type: row_count
    table: shop.people
    where: \"name = 'A'\"
    min: 1
    max: 400
    tags: [pushed]
  - name: per_name
    type: row_count_match
    source: shop.people
    target: copy.people
    group_by: [name]
    tags: [pushed]
  - name: orders_have_people
    type: foreign_key
    child: shop.orders(person_id)
    parent: shop.people(id)
    tags: [pushed]
  - name: crowded_names
    type: sql
    on: shop
    sql: \"SELECT name, count(*) AS n FROM people GROUP BY name HAVING count(*) > 440\"
    tags: [pushed]
  - name: one_letter_names
    type: expect
    table: shop.people
    condition: \"length(name) = 1\"
    tags: [pushed]
";

#[test]
fn rules_run_inside_mariadb_and_compare_text_by_code_point() {
    let Some(server) = server() else { return };
    let shop = fresh_database(&server, "cc_push_shop");
    let copy = fresh_database(&server, "cc_push_copy");
    let rows = people();
    let (people_csv, orders_csv) = load(&shop, &rows, false);
    let (copy_csv, copy_orders) = load(&copy, &rows, true);
    let dir = project(&[
        (
            "crosscheck.yaml",
            "sources:\n  shop:\n    files: shop\n  copy:\n    files: copy\n",
        ),
        ("shop/people.csv", &people_csv),
        ("shop/orders.csv", &orders_csv),
        ("copy/people.csv", &copy_csv),
        ("copy/orders.csv", &copy_orders),
        ("rules/rules.yaml", RULES),
    ]);
    let on_mariadb = [
        "--source".to_string(),
        format!("shop={shop}"),
        "--source".to_string(),
        format!("copy={copy}"),
    ];
    let on_mariadb: Vec<&str> = on_mariadb.iter().map(String::as_str).collect();

    // The same rows as files are the reference: DataFusion's own verdicts.
    let (_, files) = run_json(dir.path(), &[]);
    let (out, pushed) = run_json(dir.path(), &on_mariadb);
    assert_eq!(pushed["sources"]["shop"]["kind"], "mysql", "{}", out.stderr);
    for r in files["rules"].as_array().expect("rules") {
        let name = r["name"].as_str().expect("a name");
        let got = rule(&pushed, name);
        assert_eq!(
            (&got["status"], &got["violations"]),
            (&r["status"], &r["violations"]),
            "{name}: {} on MariaDB, {} on files",
            got["message"],
            r["message"]
        );
    }
    // The folding MariaDB would do by default would show here: none of these pass or fail
    // by accident.
    assert_eq!(rule(&files, "emails_unique")["violations"], 6);
    assert_eq!(rule(&files, "per_name")["violations"], 2);
    assert_eq!(rule(&files, "orders_have_people")["violations"], 4);
    assert_eq!(rule(&files, "one_letter_names")["status"], "fail");

    // Run there, only result rows travel: 3,000 people and 400 orders, a few dozen rows read.
    let mut args = on_mariadb.clone();
    args.extend(["-s", "tag:pushed"]);
    let (_, report) = run_json(dir.path(), &args);
    let read = report["sources"]["shop"]["rows_read"]
        .as_u64()
        .expect("rows read");
    assert!(read < 200, "{read} rows read from MariaDB");
    let explain = |name: &str| {
        let out = crosscheck(dir.path(), &[&["explain", name], &on_mariadb[..]].concat());
        assert_eq!(out.code, 0, "{}", out.stderr);
        // Said alike of MySQL, whose binary collation has its own name.
        out.stdout
            .replace("MySQL source", "MariaDB source")
            .replace("utf8mb4_0900_bin", "utf8mb4_nopad_bin")
    };
    let counts = explain("names_unique");
    assert!(
        counts.contains("runs inside MariaDB source `shop`"),
        "{counts}"
    );
    assert!(counts.contains("COLLATE utf8mb4_nopad_bin"), "{counts}");
    let grouped = explain("per_name");
    assert!(
        grouped.contains("an aggregate of it runs inside MariaDB source `shop`")
            && grouped.contains("an aggregate of it runs inside MariaDB source `copy`"),
        "{grouped}"
    );
    // `length` counts bytes in MySQL, characters in DataFusion: it is sent as
    // `character_length`, which counts characters in both.
    let lengths = explain("one_letter_names");
    assert!(
        lengths.contains("runs inside MariaDB source `shop`")
            && lengths.contains("character_length(`people`.`name`)"),
        "{lengths}"
    );
}

/// A query run inside MariaDB reads zero dates as NULL there, as the table reader does: the
/// report still says how many NULLs were zero dates, per column, for the columns the queries
/// read, and a column read twice is counted once.
#[test]
fn zero_dates_a_pushed_query_reads_are_counted_once_per_column() {
    let Some(server) = server() else { return };
    let url = fresh_database(&server, "cc_push_zero");
    execute(
        &url,
        "CREATE TABLE z (id INT PRIMARY KEY, d DATE, at DATETIME, other DATE);
         INSERT INTO z VALUES
           (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00'),
           (2, '0000-00-00', '2024-01-01 10:00:00', '0000-00-00'),
           (3, NULL, NULL, '0000-00-00'),
           (4, '2024-01-02', '2024-01-02 11:00:00', '2024-01-02');",
    );
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  db:\n    files: db\n"),
        (
            "db/z.csv",
            "id,d,at,other\n4,2024-01-02,2024-01-02 11:00:00,2024-01-02\n",
        ),
        (
            "rules/rules.yaml",
            "rules:
  - name: d_present
    type: not_null
    table: db.z
    columns: [d]
  - name: at_present
    type: expect
    table: db.z
    condition: at IS NOT NULL
  - name: rows
    type: row_count
    table: db.z
    min: 4
",
        ),
    ]);
    let on_mariadb = format!("db={url}");
    let (out, report) = run_json(dir.path(), &["--source", &on_mariadb]);
    assert_eq!(
        rule(&report, "d_present")["violations"],
        3,
        "{}",
        out.stdout
    );
    assert_eq!(
        rule(&report, "at_present")["violations"],
        2,
        "{}",
        out.stdout
    );
    // The rules ran inside MariaDB.
    for name in ["d_present", "at_present"] {
        let out = crosscheck(dir.path(), &["explain", name, "--source", &on_mariadb]);
        assert!(
            out.stdout.contains("runs inside MariaDB source `db`")
                || out.stdout.contains("runs inside MySQL source `db`"),
            "{}{}",
            out.stdout,
            out.stderr
        );
    }
    // The samples show every column of the violating rows: `other` was read too.
    assert_eq!(
        report["sources"]["db"]["notes"],
        serde_json::json!(["6 zero dates (0000-00-00) read as NULL (z.at 1, z.d 2, z.other 3)"]),
        "{report}"
    );
    // A count reads no date: none is counted, and no census runs.
    let (_, report) = run_json(dir.path(), &["--source", &on_mariadb, "-s", "rows"]);
    assert_eq!(rule(&report, "rows")["status"], "pass");
    assert_eq!(report["sources"]["db"].get("notes"), None, "{report}");
    // Read again by the table reader (a diff) and by the pushed rules in the same run: each
    // column counted once.
    std::fs::write(
        dir.path().join("rules/diff.yaml"),
        "rules:\n  - name: copy\n    type: diff\n    source: db.z\n    target: db.z\n    key: [id]\n",
    )
    .expect("rule written");
    let (out, report) = run_json(dir.path(), &["--source", &on_mariadb]);
    assert_eq!(rule(&report, "copy")["status"], "pass", "{}", out.stdout);
    assert_eq!(
        report["sources"]["db"]["notes"],
        serde_json::json!(["6 zero dates (0000-00-00) read as NULL (z.at 1, z.d 2, z.other 3)"]),
        "{report}"
    );
}
