//! `crosscheck checkpoint`: a fingerprint of every table of some sources, kept to compare
//! against later (after the migration, a rollback, a restore). Per table: its key columns
//! and row hash per record, in Parquet; its columns, row count and column profile in the
//! manifest (`source::checkpoint`). No value is written but the keys, and no statistic of a
//! sensitive column that is a value.

use std::collections::BTreeMap;
use std::path::PathBuf;

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;

use crate::config::{Project, TableName};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::TimestampMicrosecondType;

use crate::engine::profile_stats::{Stat, kind_of, micros, utc_micros_key};
use crate::kernel::error::{Error, Result};
use crate::kernel::mask::Masker;
use crate::kernel::sqlgen::{ident, table};
use crate::kernel::values::cell;
use crate::kernel::{error_text, new_session, reference, row_hash};
use crate::source::checkpoint::{
    ColumnEntry, MANIFEST, Manifest, ROW_HASH_COLUMN, SourceEntry, TableEntry, VERSION,
};
use crate::source::{SourceInfo, register_all, schema_facts, table_names};

/// What to checkpoint.
pub struct Request {
    /// Source names; every table of each.
    pub sources: Vec<String>,
    /// Key columns by table name, where the database declares none (or another is wanted).
    pub keys: BTreeMap<String, Vec<String>>,
    pub out: PathBuf,
}

/// What was written.
pub struct Written {
    pub manifest: Manifest,
    /// Bytes of the Parquet files.
    pub bytes: u64,
}

pub async fn take(project: &Project, request: &Request) -> Result<Written> {
    let specs = request
        .sources
        .iter()
        .map(|name| {
            project
                .sources
                .iter()
                .find(|s| &s.name == name)
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        project.sources.iter().map(|s| s.name.as_str()).collect();
                    Error::Usage(format!(
                        "no source `{name}` in the project (its sources: {})",
                        known.join(", ")
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let ctx = new_session();
    let infos = register_all(&ctx, &specs).await?;
    let masker = Masker::new(&project.sensitive);
    let tables_dir = request.out.join("tables");
    std::fs::create_dir_all(&tables_dir).map_err(|e| {
        Error::Io(format!(
            "cannot create `{}`: {}",
            tables_dir.display(),
            crate::filesystem::io_reason(&e)
        ))
    })?;
    // A manifest is written last: a folder without one is not a checkpoint.
    let manifest_path = request.out.join(MANIFEST);
    let _ = std::fs::remove_file(&manifest_path);

    let mut tables: Vec<TableEntry> = Vec::new();
    let mut bytes = 0;
    for info in &infos {
        if let Some((name, reason)) = info.broken.iter().next() {
            return Err(Error::Source {
                name: info.name.clone(),
                source: format!("table `{name}`: {reason}").into(),
            });
        }
        for name in table_names(&ctx, &info.name) {
            if let Some(other) = tables.iter().find(|t| t.name == name) {
                return Err(Error::Usage(format!(
                    "sources `{}` and `{}` both have a table `{name}`: checkpoint them into separate folders",
                    other.source, info.name
                )));
            }
            let table_name = TableName {
                source: info.name.clone(),
                schema: None,
                table: name.clone(),
            };
            let entry = checkpoint_table(&ctx, &table_name, request, &masker).await?;
            bytes += std::fs::metadata(request.out.join(&entry.file)).map_or(0, |m| m.len());
            tables.push(entry);
        }
    }
    let manifest = Manifest {
        checkpoint_version: VERSION,
        crosscheck_version: env!("CARGO_PKG_VERSION").to_string(),
        row_hash_scheme: row_hash::SCHEME.to_string(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        sources: infos.iter().map(source_entry).collect(),
        tables,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&manifest_path, text + "\n").map_err(|e| {
        Error::Io(format!(
            "cannot write `{}`: {}",
            manifest_path.display(),
            crate::filesystem::io_reason(&e)
        ))
    })?;
    Ok(Written { manifest, bytes })
}

fn source_entry(info: &SourceInfo) -> SourceEntry {
    SourceEntry {
        name: info.name.clone(),
        kind: info.kind.to_string(),
        location: info.location.clone(),
        snapshot: if info.database.is_some() {
            "one read-only snapshot of the database for every table".into()
        } else {
            "the files as read when the checkpoint was taken".into()
        },
    }
}

fn sql_failed(table: &TableName, e: &datafusion::error::DataFusionError) -> Error {
    Error::Source {
        name: table.source.clone(),
        source: format!("checkpoint of `{table}`: {}", error_text(e)).into(),
    }
}

async fn checkpoint_table(
    ctx: &SessionContext,
    name: &TableName,
    request: &Request,
    masker: &Masker,
) -> Result<TableEntry> {
    let provider = ctx
        .table_provider(reference(name))
        .await
        .map_err(|e| sql_failed(name, &e))?;
    let schema = provider.schema();
    // What the database declares, for `schema_match` against the checkpoint later.
    let declared = schema_facts::declared(provider.as_ref());
    let columns: Vec<ColumnEntry> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let column = declared.as_ref().and_then(|d| d.columns.get(i));
            ColumnEntry {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
                type_name: super::schema_columns::type_name(f.data_type()),
                declared_type: column.map(|(type_text, _)| type_text.clone()),
                nullable: column.map_or(f.is_nullable(), |(_, not_null)| !not_null),
                sensitive: masker.is_sensitive(Some((&name.source, &name.table)), f.name()),
            }
        })
        .collect();
    // `--key TABLE=…` first, then the database's primary key, then `--key '*=…'` for the
    // tables that have those columns.
    let has_all = |key: &Vec<String>| key.iter().all(|k| columns.iter().any(|c| &c.name == k));
    let key = match request.keys.get(&name.table) {
        Some(key) => key.clone(),
        None => match declared
            .as_ref()
            .map(|d| d.primary_key())
            .unwrap_or_default()
        {
            declared if !declared.is_empty() => declared,
            _ => request
                .keys
                .get("*")
                .filter(|k| has_all(k))
                .cloned()
                .unwrap_or_default(),
        },
    };
    for k in &key {
        let Some(column) = columns.iter().find(|c| &c.name == k) else {
            return Err(Error::Usage(format!(
                "`{name}` has no column `{k}` for its key (its columns: {})",
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if column.sensitive {
            return Err(Error::Usage(format!(
                "`{name}`'s key column `{k}` is sensitive, and a checkpoint stores keys: give it another key with --key {}=COLUMNS",
                name.table
            )));
        }
    }
    if columns.iter().any(|c| c.name == ROW_HASH_COLUMN) {
        return Err(Error::Usage(format!(
            "`{name}` has a column named `{ROW_HASH_COLUMN}`, the name a checkpoint gives its row hashes"
        )));
    }
    let from = table(name);
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let rows_sql = row_hash::rows_sql(&from, &key, &names, ROW_HASH_COLUMN, None);
    let file = format!("tables/{}.parquet", name.table);
    let path = request.out.join(&file);
    let write = async {
        ctx.sql(&rows_sql)
            .await
            .map_err(|e| sql_failed(name, &e))?
            .write_parquet(
                &path.to_string_lossy(),
                DataFrameWriteOptions::new().with_single_file_output(true),
                None,
            )
            .await
            .map_err(|e| sql_failed(name, &e))
    };
    // At once: a database computes the profile while crosscheck hashes the rows it sends.
    let (_, (rows, profile)) =
        futures::future::try_join(write, profile(ctx, name, &from, &columns, &schema)).await?;
    Ok(TableEntry {
        name: name.table.clone(),
        source: name.source.clone(),
        rows,
        key,
        columns,
        constraints: declared.map(|d| d.constraints),
        file,
        profile,
    })
}

type Profile = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

/// The row count and each column's statistics, in one aggregate query (run inside the
/// database when the table lives in one).
async fn profile(
    ctx: &SessionContext,
    name: &TableName,
    from: &str,
    columns: &[ColumnEntry],
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Result<(u64, Profile)> {
    match profile_with(ctx, name, from, columns, schema, true).await {
        Ok(found) => Ok(found),
        // Distinct counts held in memory can exceed the limit on a table read in-process (a
        // large file): the profile is then recorded without them (profile_match leaves out
        // what a checkpoint did not record).
        Err(_) => profile_with(ctx, name, from, columns, schema, false).await,
    }
}

async fn profile_with(
    ctx: &SessionContext,
    name: &TableName,
    from: &str,
    columns: &[ColumnEntry],
    schema: &datafusion::arrow::datatypes::SchemaRef,
    distinct: bool,
) -> Result<(u64, Profile)> {
    let mut select = vec!["count(*) AS \"rows\"".to_string()];
    let mut slots = Vec::new();
    for (column, field) in columns.iter().zip(schema.fields()) {
        for stat in Stat::of(kind_of(field.data_type())) {
            if (column.sensitive && stat.is_value()) || (!distinct && *stat == Stat::Distinct) {
                continue;
            }
            select.push(format!(
                "{} AS \"s{}\"",
                stat.sql(&ident(&column.name), field.data_type()),
                slots.len()
            ));
            slots.push((column.name.clone(), *stat));
        }
    }
    let sql = format!("SELECT {} FROM {from}", select.join(", "));
    // Inside the database when the table lives in one, as every rule's aggregate runs.
    let batches = crate::engine::measure::collect(ctx, &sql)
        .await
        .map_err(|e| Error::Source {
            name: name.source.clone(),
            source: format!("profile of `{name}`: {e}").into(),
        })?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(Error::Internal(format!(
            "the profile of `{name}` returned no row"
        )));
    };
    let rows = cell(batch.column(0), 0).as_u64().unwrap_or(0);
    let mut out = Profile::new();
    for (i, (column, stat)) in slots.into_iter().enumerate() {
        let array = batch.column(i + 1);
        let stats = out.entry(column).or_default();
        // An instant also as UTC microseconds, as `profile_match` compares times.
        if matches!(stat, Stat::Earliest | Stat::Latest)
            && let Some(utc) = micros(array)
            && utc.is_valid(0)
        {
            let v = utc.as_primitive::<TimestampMicrosecondType>().value(0);
            stats.insert(utc_micros_key(stat), v.into());
        }
        let value = match cell(array, 0) {
            serde_json::Value::Number(n) if n.is_f64() => serde_json::Value::String(n.to_string()),
            serde_json::Value::Number(n) => serde_json::Value::Number(n),
            serde_json::Value::Null => serde_json::Value::Null,
            other => serde_json::Value::String(crate::kernel::values::display(&other)),
        };
        stats.insert(stat.name().to_string(), value);
    }
    Ok((rows, profile_with_empty(out, columns)))
}

/// Every column has an entry, even one with no statistic recorded.
fn profile_with_empty(mut profile: Profile, columns: &[ColumnEntry]) -> Profile {
    for c in columns {
        profile.entry(c.name.clone()).or_default();
    }
    profile
}
