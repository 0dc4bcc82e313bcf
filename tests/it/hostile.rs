//! Hostile sizes stay cheap: megabyte values in rule files and giant column names in data
//! files are rejected with a short message naming the file, never echoed whole.

use crate::support::{crosscheck, project};

const PROJECT: &str = "sources:\n  a:\n    files: data\n";

#[test]
fn a_megabyte_rule_type_is_cut_in_the_message() {
    let giant = "x".repeat(1 << 20);
    let rules = format!("rules:\n  - name: r1\n    type: {giant}\n    on: a\n");
    let dir = project(&[
        ("crosscheck.yaml", PROJECT),
        ("data/t.csv", "id\n1\n"),
        ("rules/r.yaml", &rules),
    ]);
    let out = crosscheck(dir.path(), &["validate"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.len() < 2000,
        "{} bytes of message",
        out.stderr.len()
    );
    assert!(
        out.stderr.contains("rules/r.yaml:3:11") && out.stderr.contains("… (1048576 bytes)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_rule_naming_a_giant_column_is_rejected() {
    let giant = "c".repeat(5000);
    let rules = format!(
        "rules:\n  - name: r1\n    type: not_null\n    table: a.t\n    columns: [{giant}]\n  \
         - name: r2\n    type: foreign_key\n    child: a.t({giant})\n    parent: a.t(id)\n  \
         - name: r3\n    type: row_count\n    table: a.{giant}\n"
    );
    let dir = project(&[
        ("crosscheck.yaml", PROJECT),
        ("data/t.csv", "id\n1\n"),
        ("rules/r.yaml", &rules),
    ]);
    let out = crosscheck(dir.path(), &["validate"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr
            .matches("names are limited to 1024 bytes")
            .count(),
        3,
        "{}",
        out.stderr
    );
    assert!(out.stderr.len() < 4000, "{}", out.stderr);
}

#[test]
fn a_giant_csv_column_name_makes_the_table_unreadable_with_a_short_report() {
    let giant = "c".repeat(5 << 20);
    let csv = format!("id,{giant}\n1,2\n");
    let rules = "rules:\n  - name: r1\n    type: not_null\n    table: a.t\n    columns: [idx]\n  \
                 - name: r2\n    type: row_count\n    table: a.t\n    min: 5\n";
    let dir = project(&[
        ("crosscheck.yaml", PROJECT),
        ("data/t.csv", &csv),
        ("rules/r.yaml", rules),
    ]);
    let out = crosscheck(
        dir.path(),
        &[
            "run",
            "--json",
            "out.json",
            "--junit",
            "out.xml",
            "--markdown",
            "out.md",
        ],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.len() + out.stderr.len() < 8000, "{}", out.stdout);
    for report in ["out.json", "out.xml", "out.md"] {
        let text = std::fs::read_to_string(dir.path().join(report)).expect("a report");
        assert!(text.len() < 16_000, "{report}: {} bytes", text.len());
        assert!(
            text.contains("data/t.csv") && text.contains("names are limited to 1024 bytes"),
            "{report}: {text}"
        );
    }
}
