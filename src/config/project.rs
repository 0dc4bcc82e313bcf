//! `crosscheck.yaml`: sources, defaults and sensitive columns.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use super::fields::Reader;
use super::location::SourceFile;
use super::spec::{
    CsvOptions, DEFAULT_MAX_CONNECTIONS, DEFAULT_STATEMENT_TIMEOUT, Defaults, SourceKind,
    SourceSpec,
};
use super::yaml::{self, Node, Value};

/// The parsed project file.
#[derive(Debug, Default)]
pub struct ProjectFile {
    pub sources: Vec<SourceSpec>,
    pub defaults: Defaults,
    pub sensitive: Vec<String>,
    /// Key globs whose values a `config` source masks (`secret_keys:`, or the defaults).
    pub secret_keys: Vec<String>,
}

pub const TOP_KEYS: &[&str] = &["sources", "defaults", "sensitive", "secret_keys"];
pub const SOURCE_KEYS: &[&str] = &[
    "postgres",
    "files",
    "tree",
    "checkpoint",
    "sqlite",
    "mysql",
    "config",
    "environment",
    "schema",
    "statement_timeout",
    "max_connections",
    "csv",
];
pub const CSV_KEYS: &[&str] = &["delimiter", "header", "null"];
pub const DEFAULT_KEYS: &[&str] = &["severity", "sample"];

/// Reads `crosscheck.yaml`; relative paths are resolved against `base_dir`.
pub fn parse_project_file(
    file: &Arc<SourceFile>,
    base_dir: &Path,
    diags: &mut Diagnostics,
) -> ProjectFile {
    let mut project = ProjectFile::default();
    let root = match yaml::parse(file) {
        Ok(root) => root,
        Err(d) => {
            diags.push(d);
            return project;
        }
    };
    let Some(entries) = mapping(&root, file, diags, "the project file") else {
        return project;
    };
    let mut r = Reader {
        file,
        diags,
        sources: &[],
    };
    let mut secret_keys = None;
    for (key, value) in entries {
        match key.as_str().unwrap_or("") {
            "sources" => project.sources = read_sources(value, base_dir, &mut r),
            "defaults" => project.defaults = read_defaults(value, &mut r),
            "sensitive" => project.sensitive = r.words(value).unwrap_or_default(),
            "secret_keys" => secret_keys = r.words(value),
            other => unknown_key(key, other, TOP_KEYS, &mut r),
        }
    }
    // A config source masks the values of secret keys, and of keys a `sensitive` pattern
    // names by its column part (`*.DATABASE_URL`, `entries.value` masks every value).
    project.secret_keys = secret_keys.unwrap_or_else(|| {
        crate::config::spec::DEFAULT_SECRET_KEYS
            .iter()
            .map(|k| k.to_string())
            .collect()
    });
    let mut masked = project.secret_keys.clone();
    masked.extend(
        project
            .sensitive
            .iter()
            .map(|p| p.rsplit('.').next().unwrap_or(p).to_string()),
    );
    for source in &mut project.sources {
        if let SourceKind::Config { secret_keys, .. }
        | SourceKind::Environment { secret_keys, .. } = &mut source.kind
        {
            *secret_keys = masked.clone();
        }
    }
    if project.sources.is_empty() && r.diags.is_empty() {
        r.diags.push(Diagnostic::at(
            &root.loc(file),
            "the project defines no sources: add a `sources:` mapping",
        ));
    }
    project
}

fn mapping<'n>(
    node: &'n Node,
    file: &Arc<SourceFile>,
    diags: &mut Diagnostics,
    what: &str,
) -> Option<&'n [(Node, Node)]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        _ => {
            diags.push(Diagnostic::at(
                &node.loc(file),
                format!("{what} must be a mapping, found {}", node.kind_name()),
            ));
            None
        }
    }
}

fn unknown_key(key: &Node, name: &str, allowed: &[&str], r: &mut Reader) {
    let help = did_you_mean(name, allowed.iter().copied());
    r.diags.push(
        Diagnostic::at(&key.loc(r.file), format!("unknown field `{name}`"))
            .with_label(format!("expected one of: {}", allowed.join(", ")))
            .with_help(help),
    );
}

fn read_sources(node: &Node, base_dir: &Path, r: &mut Reader) -> Vec<SourceSpec> {
    let Some(entries) = mapping(node, r.file, r.diags, "`sources`") else {
        return vec![];
    };
    entries
        .iter()
        .filter_map(|(key, value)| read_source(key, value, base_dir, r))
        .collect()
}

/// PostgreSQL takes whole milliseconds up to `i32::MAX`, and 0 turns its limit off: the
/// client-side limit (see `source::postgres::session`) is derived from this one, so it must be
/// one the server enforces too.
fn statement_timeout_problem(timeout: Duration) -> Option<&'static str> {
    if timeout < Duration::from_millis(1) {
        Some("statement_timeout must be at least 1ms (0 would turn PostgreSQL's own limit off)")
    } else if timeout > Duration::from_millis(i32::MAX as u64) {
        Some("statement_timeout must be at most 24d (PostgreSQL's largest is 2147483647 ms)")
    } else {
        None
    }
}

fn read_source(key: &Node, node: &Node, base_dir: &Path, r: &mut Reader) -> Option<SourceSpec> {
    let name = r.text(key)?.value;
    if !is_identifier(&name) {
        r.error(key, format!("source name `{name}` must be a simple identifier (letters, digits, `_`), since SQL names tables `{name}.TABLE`"));
        return None;
    }
    let entries = mapping(node, r.file, r.diags, &format!("source `{name}`"))?;
    let (mut location, mut schema, mut timeout, mut csv) = (None, None, None, None);
    let mut max_connections = None;
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            kind @ ("postgres" | "files" | "tree" | "checkpoint" | "sqlite" | "mysql"
            | "config" | "environment") => {
                if location.is_some() {
                    r.error(
                        k,
                        format!(
                            "source `{name}` has more than one of `postgres`, `mysql`, `sqlite`, `files`, `tree`, `checkpoint`, `config`, `environment`"
                        ),
                    );
                }
                location = r.text(v).map(|t| (kind, t.value));
            }
            "schema" => schema = r.text(v).map(|t| t.value),
            "statement_timeout" => {
                timeout = r.duration(v).map(|(d, _)| d);
                if let Some(problem) = timeout.and_then(statement_timeout_problem) {
                    r.error(v, problem);
                }
            }
            "max_connections" => match r.count(v) {
                Some(n) if n > 0 => max_connections = Some(n as usize),
                Some(_) => r.error(v, "max_connections must be at least 1"),
                None => {}
            },
            "csv" => csv = read_csv_options(v, r),
            other => unknown_key(k, other, SOURCE_KEYS, r),
        }
    }
    let Some((kind, location)) = location else {
        r.error(
            key,
            format!(
                "source `{name}` needs one of `postgres: URL`, `mysql: URL`, `sqlite: FILE`, `files: FOLDER`, `tree: FOLDER`, `checkpoint: FOLDER`, `config: FILE, FOLDER or GLOB` or `environment: NAME GLOB`"
            ),
        );
        return None;
    };
    let kind = match kind {
        "postgres" => SourceKind::Postgres {
            url: location,
            schema: schema.unwrap_or_else(|| "public".into()),
            statement_timeout: timeout.unwrap_or(DEFAULT_STATEMENT_TIMEOUT),
            max_connections: max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        },
        "files" => SourceKind::Files {
            dir: base_dir.join(location),
            csv: csv.unwrap_or_default(),
        },
        "mysql" => SourceKind::Mysql {
            url: location,
            statement_timeout: timeout.unwrap_or(DEFAULT_STATEMENT_TIMEOUT),
            max_connections: max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
        },
        "sqlite" => SourceKind::Sqlite {
            path: base_dir.join(location),
        },
        // The secret keys are the project's, filled in once the whole file is read.
        "config" => SourceKind::Config {
            location: base_dir.join(location),
            secret_keys: Vec::new(),
        },
        "checkpoint" => SourceKind::Checkpoint {
            dir: base_dir.join(location),
        },
        "environment" => SourceKind::Environment {
            pattern: location,
            secret_keys: Vec::new(),
        },
        _ => SourceKind::Tree {
            dir: base_dir.join(location),
        },
    };
    Some(SourceSpec {
        name,
        kind,
        loc: Some(key.loc(r.file)),
    })
}

fn read_csv_options(node: &Node, r: &mut Reader) -> Option<CsvOptions> {
    let entries = mapping(node, r.file, r.diags, "`csv`")?;
    let mut options = CsvOptions::default();
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            "delimiter" => match v.as_str().map(|s| s.as_bytes()) {
                Some([byte]) => options.delimiter = *byte,
                Some(b"\\t") => options.delimiter = b'\t',
                _ => r.error(
                    v,
                    "expected a one-character delimiter such as \",\", \";\" or \"\\t\"",
                ),
            },
            "header" => match v.value {
                Value::Bool(b) => options.header = b,
                _ => r.error(
                    v,
                    format!("expected true or false, found {}", v.kind_name()),
                ),
            },
            "null" => match &v.value {
                Value::Str(s) => options.null = s.clone(),
                Value::Null => options.null = String::new(),
                _ => r.error(
                    v,
                    "expected the text that stands for NULL, e.g. \"\" or \"NULL\"",
                ),
            },
            other => unknown_key(k, other, CSV_KEYS, r),
        }
    }
    Some(options)
}

fn read_defaults(node: &Node, r: &mut Reader) -> Defaults {
    let mut defaults = Defaults::default();
    let Some(entries) = mapping(node, r.file, r.diags, "`defaults`") else {
        return defaults;
    };
    for (k, v) in entries {
        match k.as_str().unwrap_or("") {
            "severity" => defaults.severity = r.severity(v).unwrap_or(defaults.severity),
            "sample" => defaults.sample = r.count(v).map(|n| n as usize).unwrap_or(defaults.sample),
            other => unknown_key(k, other, DEFAULT_KEYS, r),
        }
    }
    defaults
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Diagnostics {
        let file = Arc::new(SourceFile {
            display: "crosscheck.yaml".into(),
            path: "crosscheck.yaml".into(),
            text: text.into(),
        });
        let mut diags = Diagnostics::default();
        parse_project_file(&file, Path::new("."), &mut diags);
        diags
    }

    /// Every key `SOURCE_KEYS` offers in "expected one of" is one the parser takes.
    #[test]
    fn every_listed_source_key_is_accepted() {
        let db = "postgres: postgres://u@h/db\n    schema: s\n    statement_timeout: 30s\n    \
                  max_connections: 2";
        let files = "files: data\n    csv:\n      delimiter: ';'";
        let tree = "tree: folder";
        let checkpoint = "checkpoint: checkpoints/before";
        let lite = "sqlite: dev.db";
        let my = "mysql: mysql://u@h/db";
        let conf = "config: settings";
        let env = "environment: APP_*";
        let text = format!(
            "sources:\n  db:\n    {db}\n  exports:\n    {files}\n  t:\n    {tree}\n  \
             l:\n    {lite}\n  m:\n    {my}\n  c:\n    {conf}\n  e:\n    {env}\n  \
             k:\n    {checkpoint}\n"
        );
        let diags = problems(&text);
        assert!(diags.is_empty(), "{diags}");
        let listed: Vec<&str> = [db, files, tree, lite, my, conf, env, checkpoint]
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.trim().split(':').next())
            .filter(|k| SOURCE_KEYS.contains(k))
            .collect();
        for key in SOURCE_KEYS {
            assert!(listed.contains(key), "{key} is not exercised here");
        }
        let typo =
            problems("sources:\n  db:\n    postgres: postgres://h/db\n    max_conections: 2\n");
        assert!(typo.to_string().contains("max_connections"), "{typo}");
    }
}
