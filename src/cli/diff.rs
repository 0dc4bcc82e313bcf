//! `crosscheck diff LEFT RIGHT`: one `diff` rule built from the command line and run like
//! any other, so its reports have the shape of `run`'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::DiffArgs;
use crate::config::fields::Reader;
use crate::config::location::{Loc, Located, SourceFile};
use crate::config::yaml::{Node, Value};
use crate::config::{
    CountOrPercent, CsvOptions, Diagnostics, DiffOptions, Project, RuleKind, RuleSpec, Severity,
    SourceKind, SourceSpec, TableName,
};
use crate::kernel::error::{Error, Result};

pub async fn diff(args: DiffArgs) -> Result<u8> {
    let mut project = Project {
        config_path: args.config.clone(),
        sources: vec![],
        defaults: Default::default(),
        sensitive: vec![],
        rules: vec![],
    };
    // The project file is optional: it names sources and sensitive columns when present.
    if args.config.exists() {
        let options = crate::config::LoadOptions {
            config: args.config.clone(),
            skip_rules: true,
            ..Default::default()
        };
        project = crate::config::load(&options).map_err(Error::from)?;
    }
    let configured = std::mem::take(&mut project.sources);
    let left = side(&args.left, "left", &configured, &mut project.sources)?;
    let right = side(&args.right, "right", &configured, &mut project.sources)?;
    let rule = rule(&args, left, right, project.defaults.sample)?;
    let (outcome, code) =
        super::run::execute(&project, &[&rule], &args.output, args.output_diff.is_some()).await?;
    if let Some(path) = &args.output_diff {
        let differences = outcome
            .rules
            .first()
            .and_then(|r| r.all_differences.clone())
            .unwrap_or_default();
        crate::report::parquet::write_differences(path, &differences)?;
    }
    Ok(code)
}

/// Resolves LEFT or RIGHT to a table, adding the source it needs to `used`.
fn side(
    text: &str,
    fallback: &str,
    configured: &[SourceSpec],
    used: &mut Vec<SourceSpec>,
) -> Result<TableName> {
    let add = |used: &mut Vec<SourceSpec>, spec: SourceSpec| {
        if !used.iter().any(|s| s.name == spec.name) {
            used.push(spec);
        }
    };
    if crate::config::is_postgres_url(text) {
        let (url, table) = text.split_once('#').ok_or_else(|| {
            Error::Usage(format!(
                "`{}` names no table: add `#table` or `#schema.table`",
                crate::source::mask_location(text)
            ))
        })?;
        let (schema, table) = match table.split_once('.') {
            Some((schema, table)) => (schema.to_string(), table.to_string()),
            None => ("public".to_string(), table.to_string()),
        };
        let kind = SourceKind::postgres(url, &schema);
        add(
            used,
            SourceSpec {
                name: fallback.to_string(),
                kind,
                loc: None,
            },
        );
        return Ok(TableName {
            source: fallback.into(),
            schema: Some(schema),
            table,
        });
    }
    if crate::config::is_mysql_url(text) {
        let (url, table) = text.split_once('#').ok_or_else(|| {
            Error::Usage(format!(
                "`{}` names no table: add `#table`",
                crate::source::mask_location(text)
            ))
        })?;
        add(
            used,
            SourceSpec {
                name: fallback.to_string(),
                kind: SourceKind::Mysql {
                    url: url.to_string(),
                    statement_timeout: crate::config::DEFAULT_STATEMENT_TIMEOUT,
                    max_connections: crate::config::DEFAULT_MAX_CONNECTIONS,
                },
                loc: None,
            },
        );
        return Ok(TableName {
            source: fallback.into(),
            schema: None,
            table: table.to_string(),
        });
    }
    if let Some(location) = crate::config::sqlite_path(text) {
        let (path, table) = location
            .split_once('#')
            .ok_or_else(|| Error::Usage(format!("`{text}` names no table: add `#table`")))?;
        add(
            used,
            SourceSpec {
                name: fallback.to_string(),
                kind: SourceKind::Sqlite { path: path.into() },
                loc: None,
            },
        );
        return Ok(TableName {
            source: fallback.into(),
            schema: Some(crate::source::sqlite::SCHEMA.into()),
            table: table.to_string(),
        });
    }
    let path = Path::new(text);
    if path.is_file() || path.is_dir() {
        let table = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(fallback)
            .to_string();
        add(
            used,
            SourceSpec {
                name: fallback.to_string(),
                kind: SourceKind::Files {
                    dir: PathBuf::from(text),
                    csv: CsvOptions::default(),
                },
                loc: None,
            },
        );
        return Ok(TableName {
            source: fallback.into(),
            schema: None,
            table,
        });
    }
    let names: Vec<String> = configured.iter().map(|s| s.name.clone()).collect();
    match crate::config::fields::parse_table_name(text, &names, None) {
        Ok(name) => {
            let spec = configured.iter().find(|s| s.name == name.source).cloned();
            add(
                used,
                spec.ok_or_else(|| Error::Internal("a parsed source is missing".into()))?,
            );
            Ok(name)
        }
        Err((message, help)) => {
            let hint = if names.is_empty() {
                " (no crosscheck.yaml here: give a file path or a postgres:// URL with #table)"
                    .to_string()
            } else {
                String::new()
            };
            let help = help.map(|h| format!(" ({h})")).unwrap_or_default();
            Err(Error::Usage(format!(
                "`{text}` is not a file, a postgres:// URL or a table of the project: {message}{help}{hint}"
            )))
        }
    }
}

fn rule(
    args: &DiffArgs,
    source: TableName,
    target: TableName,
    default_sample: usize,
) -> Result<RuleSpec> {
    let file = Arc::new(SourceFile {
        display: "(command line)".into(),
        path: PathBuf::new(),
        text: String::new(),
    });
    let loc = Loc {
        file,
        line: 0,
        column: 0,
        len: 1,
    };
    // Each flag's value is read by the reader of the rule field it stands for, so the command
    // line accepts and refuses what a rule file does, in the same words.
    let names = |flag: &str, names: &[String]| -> Result<Vec<String>> {
        let node = list(names.iter().map(|n| text(n)).collect());
        let read = read_flag(flag, &names.join(","), &node, |r, n| r.names(n))?;
        Ok(read.into_iter().map(|n| n.value).collect())
    };
    let key = match args.key.as_slice() {
        [] => vec![],
        key => names("--key", key)?,
    };
    let columns = match &args.columns {
        Some(columns) => Some(names("--columns", columns)?),
        None => None,
    };
    let exclude = match args.exclude.as_slice() {
        [] => vec![],
        exclude => names("--exclude", exclude)?,
    };
    let mut rename = Vec::new();
    for (to, from) in &args.rename {
        let node = map(vec![(text(to), text(from))]);
        rename.extend(read_flag(
            "--rename",
            &format!("{to}={from}"),
            &node,
            |r, n| r.rename(n),
        )?);
    }
    let mut tolerance = Vec::new();
    for (column, value) in &args.tolerance {
        let node = map(vec![(text(column), text(value))]);
        let shown = format!("{column}={value}");
        tolerance.extend(read_flag("--tolerance", &shown, &node, |r, n| {
            r.tolerances(n)
        })?);
    }
    let options: Vec<(Node, Node)> = (args.normalize.iter())
        .map(|option| (text(option), bool_node(true)))
        .collect();
    let mut normalize = read_flag(
        "--normalize",
        &args.normalize.join(","),
        &map(options),
        |r, n| r.normalize(n),
    )?;
    if let Some(zone) = &args.timezone {
        let node = map(vec![(text("timezone"), text(zone))]);
        normalize.timezone = read_flag("--timezone", zone, &node, |r, n| r.normalize(n))?.timezone;
    }
    let predicate = match &args.where_ {
        Some(w) => Some(read_flag("--where", w, &text(w), |r, n| r.predicate(n))?),
        None => None,
    };
    let algorithm = read_flag(
        "--algorithm",
        &args.algorithm,
        &text(&args.algorithm),
        |r, n| r.algorithm(n),
    )?;
    let options = DiffOptions {
        key,
        columns,
        exclude,
        rename,
        tolerance,
        normalize,
        algorithm,
    };
    Ok(RuleSpec {
        name: Located::new("diff".into(), loc.clone()),
        type_name: "diff",
        kind: RuleKind::Diff {
            source: Located::new(source, loc.clone()),
            target: Located::new(target, loc.clone()),
            options,
        },
        description: None,
        severity: Severity::Error,
        tags: vec![],
        source_where: predicate.clone(),
        target_where: predicate,
        max_violations: CountOrPercent::Count(0),
        sample: args.output.sample.unwrap_or(default_sample),
        file: "(command line)".into(),
        loc,
    })
}

/// A place on the command line: diagnostics about it name no line.
fn command_line() -> Arc<SourceFile> {
    Arc::new(SourceFile {
        display: "(command line)".into(),
        path: PathBuf::new(),
        text: String::new(),
    })
}

fn node(value: Value) -> Node {
    Node {
        value,
        line: 0,
        column: 0,
        len: 1,
    }
}

fn text(value: &str) -> Node {
    node(Value::Str(value.to_string()))
}

fn bool_node(value: bool) -> Node {
    node(Value::Bool(value))
}

fn list(items: Vec<Node>) -> Node {
    node(Value::Seq(items))
}

fn map(entries: Vec<(Node, Node)>) -> Node {
    node(Value::Map(entries))
}

/// Reads `node`, the value of `flag` (shown as `shown`), with a rule field's reader; what
/// the reader finds wrong becomes a usage error naming the flag.
fn read_flag<T>(
    flag: &str,
    shown: &str,
    node: &Node,
    read: impl FnOnce(&mut Reader<'_>, &Node) -> Option<T>,
) -> Result<T> {
    let file = command_line();
    let mut diags = Diagnostics::default();
    let mut reader = Reader {
        file: &file,
        diags: &mut diags,
        sources: &[],
    };
    let value = read(&mut reader, node);
    match (value, diags.0.first()) {
        (Some(value), None) => Ok(value),
        (_, first) => {
            let message = first.map_or("not a valid value", |d| d.message.as_str());
            let help = first
                .and_then(|d| d.help.as_deref())
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            let shown = crate::shorten::quote(shown);
            Err(Error::Usage(format!("{flag} {shown}: {message}{help}")))
        }
    }
}
