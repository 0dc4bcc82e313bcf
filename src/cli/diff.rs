//! `crosscheck diff LEFT RIGHT`: one `diff` rule built from the command line and run like
//! any other, so its reports have the shape of `run`'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{AlgorithmArg, DiffArgs};
use crate::config::location::{Loc, Located, SourceFile};
use crate::config::{
    Algorithm, CountOrPercent, CsvOptions, DiffOptions, Normalize, Project, RuleKind, RuleSpec,
    Severity, SourceKind, SourceSpec, SqlText, TableName, fields::parse_tolerance,
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
    let mut tolerance = Vec::new();
    for (column, value) in &args.tolerance {
        let parsed = parse_tolerance(value).ok_or_else(|| {
            Error::Usage(format!(
                "--tolerance {column}={value}: expected a number (0.01), a percentage (0.1%) or a duration (1s)"
            ))
        })?;
        tolerance.push((column.clone(), parsed));
    }
    let timezone = match &args.timezone {
        Some(zone) => Some(
            zone.parse::<chrono_tz::Tz>()
                .map_err(|_| Error::Usage(format!("--timezone {zone}: unknown time zone")))?,
        ),
        None => None,
    };
    let mut normalize = Normalize {
        timezone,
        ..Default::default()
    };
    for option in &args.normalize {
        let slot = normalize.flag_mut(option).ok_or_else(|| {
            let help = crate::config::diagnostic::did_you_mean(option, Normalize::FLAGS);
            let help = help.map(|h| format!(" ({h})")).unwrap_or_default();
            Error::Usage(format!(
                "--normalize {option}: expected one of {}{help}",
                Normalize::FLAGS.join(", ")
            ))
        })?;
        *slot = true;
    }
    let predicate = match &args.where_ {
        Some(w) => {
            crate::config::sql::check_predicate(w)
                .map_err(|e| Error::Usage(format!("--where: {e}")))?;
            Some(SqlText {
                text: w.clone(),
                loc: loc.clone(),
                file: None,
            })
        }
        None => None,
    };
    let options = DiffOptions {
        key: args.key.clone(),
        columns: args.columns.clone(),
        exclude: args.exclude.clone(),
        rename: args.rename.clone(),
        tolerance,
        normalize,
        algorithm: match args.algorithm {
            AlgorithmArg::Auto => Algorithm::Auto,
            AlgorithmArg::Join => Algorithm::Join,
            AlgorithmArg::Checksum => Algorithm::Checksum,
        },
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
