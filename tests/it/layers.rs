//! The structure of `src/`: every `crate::` path in a layer names only layers below it (the
//! order `lib.rs` describes), and the leaves name none. An arrow running back up is a circle
//! waiting to happen; this test names each one with its file and line.

use std::path::Path;

use crate::support::root;

/// Bottom to top. A layer may use the ones before it and the leaves.
const LAYERS: &[&str] = &[
    "config", "kernel", "source", "diff", "engine", "report", "cli",
];
/// Used by every layer, using nothing of crosscheck.
const LEAVES: &[&str] = &["filesystem", "shorten"];

/// The top-level module a file under `src/` belongs to (`None`: the crate root, `main.rs`).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every `crate::name` in `text` (also inside `crate::{a, b::c}`), with its line.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split(['}', ','])
                    .map(|part| part.trim())
                    .take_while(|part| !part.is_empty())
                    .collect(),
                None => vec![rest],
            };
            for name in names {
                let ident: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    found.push((number + 1, ident));
                }
            }
        }
    }
    found
}

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == module)
}

#[test]
fn every_import_points_down_the_layers() {
    let src = root().join("src");
    let mut files = Vec::new();
    crosscheck::filesystem::walk_files(&src, &mut |p| {
        if p.extension().is_some_and(|e| e == "rs") {
            files.push(p.to_path_buf());
        }
    });
    assert!(files.len() > 50, "src/ read: {} files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, used) in crate_paths(&text) {
            // `crate::Error` and `crate::Result` are the kernel's, re-exported at the root.
            let used = match used.as_str() {
                "Error" | "Result" => "kernel".to_string(),
                _ => used,
            };
            if used == module {
                continue;
            }
            let allowed = match (rank(&module), rank(&used)) {
                _ if LEAVES.contains(&module.as_str()) => false,
                _ if LEAVES.contains(&used.as_str()) => true,
                (Some(from), Some(to)) => to < from,
                _ => false,
            };
            if !allowed {
                problems.push(format!(
                    "src/{}:{line}: `{module}` uses `crate::{used}`",
                    relative.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn crate_paths_are_found_in_groups_and_comments_are_skipped() {
    let text = "use crate::{kernel::Error, source};\nlet x = crate::diff::run(); // crate::cli\n";
    assert_eq!(
        crate_paths(text),
        [
            (1, "kernel".to_string()),
            (1, "source".to_string()),
            (2, "diff".to_string())
        ]
    );
}

/// A PostgreSQL type named in `line` (a `Pg…` type, the driver's crates, or a type path
/// under `postgres::`), comments aside.
fn names_postgres_type(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .collect();
    words.iter().any(|w| {
        let mut parts = w.split("::").filter(|p| !p.is_empty());
        let pg_type = |p: &str| {
            p.strip_prefix("Pg")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        };
        let mut after_postgres = false;
        parts.any(|p| {
            let hit = pg_type(p)
                || matches!(p, "tokio_postgres" | "postgres_protocol")
                || (after_postgres && p.starts_with(|c: char| c.is_ascii_uppercase()));
            after_postgres |= p == "postgres";
            hit
        })
    })
}

#[test]
fn only_the_postgres_source_names_a_postgres_type() {
    let src = root().join("src");
    let mut problems = Vec::new();
    crosscheck::filesystem::walk_files(&src, &mut |p| {
        let relative = p.strip_prefix(&src).unwrap();
        if p.extension().is_none_or(|e| e != "rs") || relative.starts_with("source/postgres") {
            return;
        }
        let text = std::fs::read_to_string(p).unwrap();
        for (number, line) in text.lines().enumerate() {
            if names_postgres_type(line) {
                problems.push(format!(
                    "src/{}:{}: {}",
                    relative.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn postgres_types_are_recognised_and_module_calls_are_not() {
    assert!(names_postgres_type(
        "use super::postgres::{PgSession, PgTable};"
    ));
    assert!(names_postgres_type(
        "pub struct Pushed(postgres::pushdown::Pushed);"
    ));
    assert!(names_postgres_type("fn f() -> tokio_postgres::Row {"));
    assert!(!names_postgres_type("    postgres::cancel_all().await"));
    assert!(!names_postgres_type(
        "let page = Pages::new(); // PgTable here"
    ));
}

/// Each database's driver crate is named only inside that database's source module.
#[test]
fn only_each_database_source_names_its_driver() {
    let drivers = [
        ("rusqlite", "source/sqlite"),
        ("mysql_async", "source/mysql"),
    ];
    let src = root().join("src");
    let mut problems = Vec::new();
    crosscheck::filesystem::walk_files(&src, &mut |p| {
        let relative = p.strip_prefix(&src).unwrap();
        if p.extension().is_none_or(|e| e != "rs") {
            return;
        }
        let text = std::fs::read_to_string(p).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (driver, home) in drivers {
                let named = code
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == driver);
                if named && !relative.starts_with(home) {
                    problems.push(format!(
                        "src/{}:{}: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
