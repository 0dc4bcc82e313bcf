//! The project as written: `crosscheck.yaml`, `rules/**/*.yaml` and `queries/**/*.sql`,
//! read into spanned specs with every problem collected. Knows nothing of execution.

pub mod diagnostic;
pub mod fields;
pub mod interpolate;
pub mod location;
pub mod project;
pub mod rule_types;
pub mod rules;
mod satisfiable;
pub mod schema;
pub mod spec;
pub mod sql;
pub mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::filesystem::{display_path, walk_files};
use std::sync::Arc;

pub use diagnostic::{Diagnostic, Diagnostics};
use location::{Loc, SourceFile};
pub use spec::*;

/// Everything a run needs to know about the project.
#[derive(Debug)]
pub struct Project {
    pub config_path: PathBuf,
    pub sources: Vec<SourceSpec>,
    pub defaults: Defaults,
    pub sensitive: Vec<String>,
    pub rules: Vec<RuleSpec>,
}

impl Project {
    pub fn source(&self, name: &str) -> Option<&SourceSpec> {
        self.sources.iter().find(|s| s.name == name)
    }

    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name.clone()).collect()
    }
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub config: PathBuf,
    /// Rule files or folders; empty means every rule file under `rules/` beside the config.
    pub rule_paths: Vec<PathBuf>,
    /// `--source NAME=LOCATION` replacements.
    pub source_overrides: Vec<(String, String)>,
    /// Read only the project file, no rules (for `crosscheck diff`).
    pub skip_rules: bool,
}

/// Loads the project file and the rule files, reporting every problem at once.
pub fn load(options: &LoadOptions) -> Result<Project, Diagnostics> {
    let mut diags = Diagnostics::default();
    let config_file = match read_source_file(&options.config) {
        Ok(file) => file,
        Err(message) => {
            let hint = if options.config == Path::new("crosscheck.yaml") {
                " (run crosscheck in the project folder, pass -c FILE, or create one with `crosscheck init`)"
            } else {
                ""
            };
            diags.push(Diagnostic::plain(format!("{message}{hint}")));
            return Err(diags);
        }
    };
    let root = options
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let config_file = interpolated(config_file, &mut diags);
    let mut file = project::parse_project_file(&config_file, &root, &mut diags);
    apply_overrides(&mut file.sources, &options.source_overrides, &mut diags);
    let sources: Vec<String> = file.sources.iter().map(|s| s.name.clone()).collect();
    let mut rules = Vec::new();
    let mut names = Vec::new();
    if !diags.is_empty() && !options.skip_rules {
        // Rules name sources; checking them against a broken project file only adds noise.
        diags.push(Diagnostic::note(format!(
            "rule files are checked once `{}` is valid",
            config_file.display
        )));
    } else if !options.skip_rules {
        let ctx = rules::RuleContext {
            sources: &sources,
            defaults: &file.defaults,
            queries_dir: &root.join("queries"),
        };
        for path in rule_files(&root, &options.rule_paths, &mut diags) {
            match read_source_file(&path) {
                Ok(rule_file) => {
                    let rule_file = interpolated(rule_file, &mut diags);
                    rules.extend(rules::parse_rule_file(
                        &rule_file, &ctx, &mut diags, &mut names,
                    ));
                }
                Err(message) => diags.push(Diagnostic::plain(message)),
            }
        }
        check_unique_names(&names, &mut diags);
        reject_values_of_checkpoints(&rules, &file.sources, &mut diags);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Project {
        config_path: options.config.clone(),
        sources: file.sources,
        defaults: file.defaults,
        sensitive: file.sensitive,
        rules,
    })
}

/// A checkpoint holds keys and row hashes, no values: only rules that compare counts or keys
/// and row hashes can read one. Any other is refused here, before anything runs.
fn reject_values_of_checkpoints(
    rules: &[RuleSpec],
    sources: &[SourceSpec],
    diags: &mut Diagnostics,
) {
    let is_checkpoint = |name: &str| {
        sources
            .iter()
            .any(|s| s.name == name && matches!(s.kind, SourceKind::Checkpoint { .. }))
    };
    for rule in rules {
        let named: Vec<(&str, &Loc)> = match &rule.kind {
            RuleKind::RowCount { .. }
            | RuleKind::RowCountMatch { .. }
            | RuleKind::Diff { .. }
            | RuleKind::SchemaMatch { .. }
            | RuleKind::ProfileMatch { .. } => {
                continue;
            }
            RuleKind::NotNull { table, .. }
            | RuleKind::Unique { table, .. }
            | RuleKind::AcceptedValues { table, .. }
            | RuleKind::Expect { table, .. }
            | RuleKind::Metric { table, .. }
            | RuleKind::RequiredKeys { table, .. }
            | RuleKind::Freshness { table, .. } => vec![(&table.value.source, &table.loc)],
            RuleKind::ForeignKey { child, parent } => vec![
                (&child.table.value.source, &child.table.loc),
                (&parent.table.value.source, &parent.table.loc),
            ],
            RuleKind::Sql { on, .. } => on.iter().map(|on| (on.as_str(), &rule.loc)).collect(),
            RuleKind::QueryMatch { source, target, .. } => vec![
                (source.value.as_str(), &source.loc),
                (target.value.as_str(), &target.loc),
            ],
        };
        for (source, loc) in named {
            if is_checkpoint(source) {
                diags.push(Diagnostic::at(
                    loc,
                    format!(
                        "`{}` ({}) needs values, and `{source}` is a checkpoint, which holds only keys and row hashes: compare a checkpoint with row_count, row_count_match, diff, profile_match or schema_match",
                        rule.name.value, rule.type_name
                    ),
                ));
            }
        }
    }
}

/// Largest project or rule file read (through a bounded reader, should the file grow).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

fn read_source_file(path: &Path) -> Result<Arc<SourceFile>, String> {
    use std::io::Read;
    let display = display_path(path);
    let cannot = |e: std::io::Error| {
        format!(
            "cannot read `{display}`: {}",
            crate::filesystem::io_reason(&e)
        )
    };
    // Opening a FIFO waits for a writer, reading a device never ends: only files are read.
    let metadata = std::fs::metadata(path).map_err(cannot)?;
    if !metadata.is_file() {
        return Err(format!(
            "`{display}` is not a regular file (a folder, FIFO, socket or device)"
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "`{display}` is larger than {} MiB, the limit for project and rule files",
            MAX_FILE_BYTES >> 20
        ));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("`{display}` is not a text file (it is not valid UTF-8)"))?;
    if text.contains('\0') {
        return Err(format!(
            "`{display}` is not a text file (it contains NUL bytes)"
        ));
    }
    Ok(Arc::new(SourceFile {
        display,
        path: path.to_path_buf(),
        text,
    }))
}

/// The file with `${VAR}` replaced; problems recorded at their positions.
fn interpolated(file: Arc<SourceFile>, diags: &mut Diagnostics) -> Arc<SourceFile> {
    match interpolate::interpolate(&file.text, |name| std::env::var(name).ok()) {
        Ok(text) if text == file.text => file,
        Ok(text) => Arc::new(SourceFile {
            display: file.display.clone(),
            path: file.path.clone(),
            text,
        }),
        Err(errors) => {
            for e in errors {
                let loc = Loc {
                    file: file.clone(),
                    line: e.line,
                    column: e.column,
                    len: e.len,
                };
                diags.push(Diagnostic::at(&loc, e.message));
            }
            file
        }
    }
}

fn apply_overrides(
    sources: &mut [SourceSpec],
    overrides: &[(String, String)],
    diags: &mut Diagnostics,
) {
    for (name, location) in overrides {
        let Some(source) = sources.iter_mut().find(|s| &s.name == name) else {
            let names: Vec<_> = sources.iter().map(|s| s.name.as_str()).collect();
            let help = diagnostic::did_you_mean(name, names.iter().copied());
            diags.push(
                Diagnostic::plain(format!(
                    "--source {name}=…: no source `{name}` in the project (sources: {})",
                    names.join(", ")
                ))
                .with_help(help),
            );
            continue;
        };
        source.kind = override_kind(&source.kind, location);
        source.loc = None;
    }
}

/// A URL replaces with PostgreSQL or MySQL, `sqlite:FILE` with SQLite; a path replaces with files (or a
/// tree, or a SQLite file, for a source of that kind).
fn override_kind(old: &SourceKind, location: &str) -> SourceKind {
    // A URL, or connection words naming a host.
    if spec::is_postgres_url(location) || location.contains("host=") {
        let (schema, statement_timeout, max_connections) = match old {
            SourceKind::Postgres {
                schema,
                statement_timeout,
                max_connections,
                ..
            } => (schema.clone(), *statement_timeout, *max_connections),
            _ => (
                "public".into(),
                spec::DEFAULT_STATEMENT_TIMEOUT,
                spec::DEFAULT_MAX_CONNECTIONS,
            ),
        };
        return SourceKind::Postgres {
            url: location.to_string(),
            schema,
            statement_timeout,
            max_connections,
        };
    }
    if spec::is_mysql_url(location) {
        let (statement_timeout, max_connections) = match old {
            SourceKind::Postgres {
                statement_timeout,
                max_connections,
                ..
            }
            | SourceKind::Mysql {
                statement_timeout,
                max_connections,
                ..
            } => (*statement_timeout, *max_connections),
            _ => (
                spec::DEFAULT_STATEMENT_TIMEOUT,
                spec::DEFAULT_MAX_CONNECTIONS,
            ),
        };
        return SourceKind::Mysql {
            url: location.to_string(),
            statement_timeout,
            max_connections,
        };
    }
    if let Some(path) = spec::sqlite_path(location) {
        return SourceKind::Sqlite { path: path.into() };
    }
    match old {
        SourceKind::Tree { .. } => SourceKind::Tree {
            dir: location.into(),
        },
        SourceKind::Checkpoint { .. } => SourceKind::Checkpoint {
            dir: location.into(),
        },
        SourceKind::Config { secret_keys, .. } | SourceKind::Environment { secret_keys, .. } => {
            SourceKind::Config {
                location: location.into(),
                secret_keys: secret_keys.clone(),
            }
        }
        SourceKind::Sqlite { .. } => SourceKind::Sqlite {
            path: location.into(),
        },
        SourceKind::Files { csv, .. } => SourceKind::Files {
            dir: location.into(),
            csv: csv.clone(),
        },
        SourceKind::Postgres { .. } | SourceKind::Mysql { .. } => SourceKind::Files {
            dir: location.into(),
            csv: CsvOptions::default(),
        },
    }
}

/// The rule files to load, sorted so that runs are repeatable.
fn rule_files(root: &Path, paths: &[PathBuf], diags: &mut Diagnostics) -> Vec<PathBuf> {
    let is_rule_file =
        |p: &Path| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    let mut out = Vec::new();
    if paths.is_empty() {
        let dir = root.join("rules");
        if !dir.is_dir() {
            diags.push(Diagnostic::plain(format!(
                "no rules folder `{}`: put rule files there or name them on the command line",
                display_path(&dir)
            )));
        }
        walk_files(&dir, &mut |p| {
            if is_rule_file(p) {
                out.push(p.to_path_buf());
            }
        });
        return out;
    }
    for path in paths {
        if path.is_dir() {
            walk_files(path, &mut |p| {
                if is_rule_file(p) {
                    out.push(p.to_path_buf());
                }
            });
        } else if path.exists() {
            out.push(path.clone());
        } else {
            diags.push(Diagnostic::plain(format!(
                "no such rule file or folder: `{}`",
                display_path(path)
            )));
        }
    }
    out
}

fn check_unique_names(names: &[location::Located<String>], diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, &Loc> = HashMap::new();
    for name in names {
        if let Some(first) = seen.get(name.value.as_str()) {
            diags.push(
                Diagnostic::at(&name.loc, format!("duplicate rule name `{}`", name.value))
                    .with_label(format!("first defined at {first}")),
            );
        } else {
            seen.insert(&name.value, &name.loc);
        }
    }
}
