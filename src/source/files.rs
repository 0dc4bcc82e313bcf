//! `files:` sources: each `*.csv`, `*.parquet`, `*.json`/`*.ndjson` in a folder is a table
//! named after its stem, and a sub-folder of such files is one table named after the folder.

use super::error::{SourceError, SourceResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::options::JsonReadOptions;
use datafusion::error::DataFusionError;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use super::csv::CsvTable;
use super::guard::GuardedTable;
use crate::config::CsvOptions;
use crate::filesystem::display_path;

/// The formats a data file can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    NdJson { extension: &'static str },
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            "json" => Some(Format::NdJson { extension: ".json" }),
            "ndjson" => Some(Format::NdJson {
                extension: ".ndjson",
            }),
            _ => None,
        }
    }
}

/// A table found in the folder: its name, the file or folder it reads, its format.
#[derive(Clone, Debug)]
pub struct FileTable {
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
}

/// Lists the tables of a folder; two files with the same stem, or a folder mixing formats,
/// are errors since a table must have one meaning.
pub fn list_tables(dir: &Path) -> SourceResult<Vec<FileTable>> {
    // A single data file is a source of one table, named after its stem.
    if dir.is_file() {
        let format = Format::of(dir).ok_or_else(|| {
            SourceError::Invalid(format!(
                "`{}` is not a .csv, .parquet, .json or .ndjson file",
                display_path(dir)
            ))
        })?;
        let name = dir
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        return Ok(vec![FileTable {
            name,
            path: dir.to_path_buf(),
            format,
        }]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| SourceError::Io {
        what: format!("cannot read folder `{}`", display_path(dir)),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut tables: Vec<FileTable> = Vec::new();
    for path in paths {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let table = if path.is_dir() {
            folder_table(&path)?
        } else {
            Format::of(&path).map(|format| FileTable {
                name: path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string(),
                path: path.clone(),
                format,
            })
        };
        let Some(table) = table else { continue };
        if let Some(other) = tables.iter().find(|t| t.name == table.name) {
            return Err(SourceError::Invalid(format!(
                "`{}` and `{}` would both be table `{}`",
                display_path(&other.path),
                display_path(&table.path),
                table.name
            )));
        }
        tables.push(table);
    }
    Ok(tables)
}

/// A sub-folder whose data files all share one format is one table.
fn folder_table(dir: &Path) -> SourceResult<Option<FileTable>> {
    let mut format = None;
    let mut mixed = false;
    crate::filesystem::walk_files(dir, &mut |p| match (Format::of(p), format) {
        (Some(f), None) => format = Some(f),
        (Some(f), Some(g)) if f != g => mixed = true,
        _ => {}
    });
    if mixed {
        return Err(SourceError::Invalid(format!(
            "folder `{}` mixes data formats; a folder is one table of one format",
            display_path(dir)
        )));
    }
    Ok(format.map(|format| FileTable {
        name: dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
        path: dir.to_path_buf(),
        format,
    }))
}

/// Schema inference reads this many records: enough that a late non-numeric value in a
/// column is seen, rather than failing the read halfway through a rule.
const INFER_RECORDS: usize = 1_000_000;

/// Opens each table; a table that cannot be read is returned with its reason instead.
pub async fn open_tables(
    ctx: &SessionContext,
    tables: &[FileTable],
    csv: &CsvOptions,
) -> (
    Vec<(String, Arc<dyn TableProvider>)>,
    BTreeMap<String, String>,
) {
    let opened = futures::future::join_all(tables.iter().map(|t| open_table(ctx, t, csv))).await;
    let mut ok = Vec::new();
    let mut broken = BTreeMap::new();
    for (table, result) in tables.iter().zip(opened) {
        // A giant column name would be quoted by every message about the table.
        let result = result.and_then(|provider| {
            match provider
                .schema()
                .fields()
                .iter()
                .find_map(|f| crate::shorten::check_identifier(f.name(), "column").err())
            {
                Some(too_long) => Err(source_failure(SourceError::Invalid(too_long.0))),
                None => Ok(provider),
            }
        });
        match result {
            Ok(provider) => ok.push((table.name.clone(), provider)),
            Err(e) => {
                broken.insert(
                    table.name.clone(),
                    format!(
                        "cannot read `{}`: {}",
                        display_path(&table.path),
                        clean_error(&e)
                    ),
                );
            }
        }
    }
    (ok, broken)
}

async fn open_table(
    ctx: &SessionContext,
    table: &FileTable,
    csv: &CsvOptions,
) -> datafusion::error::Result<Arc<dyn TableProvider>> {
    let files = table_files(table);
    let path = table.path.to_string_lossy().to_string();
    let frame = match table.format {
        Format::Csv => {
            let options = csv.clone();
            let opened = tokio::task::spawn_blocking(move || {
                CsvTable::open(&files, &options, INFER_RECORDS)
            })
            .await
            .map_err(|e| DataFusionError::Internal(e.to_string()))?;
            return Ok(Arc::new(opened.map_err(source_failure)?));
        }
        // Stamped before DataFusion reads the files, so a change in between is caught too.
        Format::Parquet => {
            super::parquet_footer::check_table(&table.path).map_err(source_failure)?;
            let stamps = super::stamp::stamp_all(&files).map_err(source_failure)?;
            let frame = ctx
                .read_parquet(path, ParquetReadOptions::default())
                .await?;
            (frame, stamps)
        }
        Format::NdJson { extension } => {
            let stamps = super::stamp::stamp_all(&files).map_err(source_failure)?;
            let options = JsonReadOptions {
                file_extension: extension,
                schema_infer_max_records: INFER_RECORDS,
                newline_delimited: !is_json_array(&table.path),
                ..Default::default()
            };
            let guarded =
                GuardedTable::new(ctx.read_json(path, options).await?.into_view(), stamps);
            return Ok(Arc::new(guarded.with_inferred_types()));
        }
    };
    let (frame, stamps) = frame;
    Ok(Arc::new(GuardedTable::new(frame.into_view(), stamps)))
}

/// A source's error inside DataFusion's, kept whole to be rendered where it surfaces.
fn source_failure(e: SourceError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// The data files a table reads: the file itself, or its folder's files of its format.
fn table_files(table: &FileTable) -> Vec<PathBuf> {
    if !table.path.is_dir() {
        return vec![table.path.clone()];
    }
    let mut files = Vec::new();
    crate::filesystem::walk_files(&table.path, &mut |p| {
        if Format::of(p) == Some(table.format) {
            files.push(p.to_path_buf());
        }
    });
    files
}

/// For a CSV table, the same table with every column read as its exact text (`Utf8`, NULL
/// only where the null rule says), each field's metadata saying `crosscheck.untyped = true`
/// so that the diff knows no type was ever declared; `None` for any other table.
pub fn text_table(provider: &dyn TableProvider) -> Option<Arc<dyn TableProvider>> {
    let csv = (provider as &dyn std::any::Any).downcast_ref::<CsvTable>()?;
    Some(Arc::new(csv.untyped()))
}

/// A `.json` file holding one array of objects rather than one object per line.
fn is_json_array(path: &Path) -> bool {
    use std::io::Read;
    if path.is_dir() {
        return false;
    }
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// DataFusion's error text without its layered prefixes.
pub fn clean_error(e: &datafusion::error::DataFusionError) -> String {
    crate::kernel::error_text(e)
}
