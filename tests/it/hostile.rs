//! Hostile sizes stay cheap: megabyte values in rule files and giant column names in data
//! files are rejected with a short message naming the file, never echoed whole; alias bombs,
//! FIFOs, devices and giant files as rule files are refused without being expanded or read.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::faults::wait_bounded;
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
    let (out, reports) = crate::support::run_all_formats(dir.path(), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.len() + out.stderr.len() < 8000, "{}", out.stdout);
    for (report, text) in &reports {
        assert!(text.len() < 16_000, "{report}: {} bytes", text.len());
        assert!(
            text.contains("data/t.csv") && text.contains("names are limited to 1024 bytes"),
            "{report}: {text}"
        );
    }
}

/// `crosscheck ARGS` in `dir`, killed (and the test failed) if it runs longer than `limit`.
fn bounded(dir: &std::path::Path, args: &[&str], limit: Duration) -> crate::support::Output {
    let binary = std::env::var("CROSSCHECK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_crosscheck").to_string());
    let child = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    wait_bounded(child, limit, &args.join(" "))
}

#[test]
fn a_yaml_alias_bomb_is_rejected_not_expanded() {
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    bomb.push_str("rules: *a9\n");
    let dir = project(&[("crosscheck.yaml", PROJECT), ("rules/r.yaml", &bomb)]);
    let out = bounded(dir.path(), &["validate"], Duration::from_secs(30));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("rules/r.yaml:")
            && out.stderr.contains("aliases (`*name`) expand too far")
            && out.stderr.len() < 2000,
        "{}",
        out.stderr
    );
}

#[test]
fn rule_files_that_are_not_files_or_too_large_are_refused_without_reading_them() {
    let dir = project(&[("crosscheck.yaml", PROJECT)]);
    let fifo = dir.path().join("rules/wait.yaml");
    std::fs::create_dir_all(fifo.parent().expect("a folder")).expect("rules/");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Opening the FIFO waited for a writer forever; reading /dev/zero grew without end.
    for args in [vec!["validate"], vec!["validate", "/dev/zero"]] {
        let out = bounded(dir.path(), &args, Duration::from_secs(30));
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("is not a regular file"),
            "{}",
            out.stderr
        );
    }
    std::fs::remove_file(&fifo).expect("the FIFO is removed");
    let big = format!("rules:\n# {}\n", "x".repeat(17 << 20));
    std::fs::write(dir.path().join("rules/big.yaml"), big).expect("written");
    let out = bounded(dir.path(), &["validate"], Duration::from_secs(30));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("rules/big.yaml` is larger than 16 MiB"),
        "{}",
        out.stderr
    );
}

#[test]
fn thousands_of_problems_print_a_hundred_and_a_count() {
    let mut rules = String::from("rules:\n");
    for i in 0..5000 {
        rules.push_str(&format!("  - name: r{i}\n    type: nope\n"));
    }
    let dir = project(&[("crosscheck.yaml", PROJECT), ("rules/r.yaml", &rules)]);
    let out = bounded(dir.path(), &["validate"], Duration::from_secs(60));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.len() < 64 * 1024, "{} bytes", out.stderr.len());
    assert!(
        out.stderr.contains("4900 more problems are not shown")
            && out.stderr.ends_with("5000 problems found\n"),
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(300)..]
    );
}

#[test]
fn a_giant_cell_in_a_sample_is_cut_in_every_report() {
    let giant = "v".repeat(5 << 20);
    let csv = format!("id,note\n1,{giant}\n,{giant}\n");
    let rules = "rules:\n  - name: ids\n    type: not_null\n    table: a.t\n    columns: [id]\n  \
                 - name: notes\n    type: unique\n    table: a.t\n    columns: [note]\n";
    let dir = project(&[
        ("crosscheck.yaml", PROJECT),
        ("data/t.csv", &csv),
        ("rules/r.yaml", rules),
    ]);
    let (out, reports) = crate::support::run_all_formats(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for (report, text) in &reports {
        assert!(text.len() < 16_000, "{report}: {} bytes", text.len());
        assert!(text.contains("… (5242880 bytes)"), "{report}: {text}");
    }
}

#[test]
fn an_operator_chain_too_deep_for_the_planner_is_an_error_not_an_abort() {
    let chain = vec!["1"; 2000].join(" + ");
    let rules = format!(
        "rules:\n  - name: in_sql\n    type: sql\n    sql: SELECT * FROM a.t WHERE id = {chain}\n"
    );
    let dir = project(&[
        ("crosscheck.yaml", PROJECT),
        ("data/t.csv", "id\n1\n"),
        ("rules/r.yaml", &rules),
    ]);
    // The planner overflowed its stack on this (SIGABRT), in `run`; `validate` at 200,000.
    let out = bounded(dir.path(), &["run"], Duration::from_secs(60));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the SQL holds 2001 operators; rule SQL is limited to 500"),
        "{}",
        out.stderr
    );
    let where_rules = format!(
        "rules:\n  - name: in_where\n    type: row_count\n    table: a.t\n    \
         where: \"id = {chain}\"\n    min: 0\n"
    );
    std::fs::write(dir.path().join("rules/r.yaml"), where_rules).expect("written");
    let out = bounded(dir.path(), &["run"], Duration::from_secs(60));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("limited to 500"), "{}", out.stderr);
}
