//! `crosscheck checkpoint`: a fingerprint of every table of some sources, kept to compare
//! against later (after the migration, a rollback, a restore). Per table: its key columns
//! and row hash per record, in Parquet; its columns, row count and column profile in the
//! manifest (`source::checkpoint`). No value is written but the keys, and no statistic of a
//! sensitive column that is a value.

use std::collections::BTreeMap;
use std::path::PathBuf;

use datafusion::prelude::SessionContext;

use super::checkpoint_pass::{self, sql_failed};
use crate::config::{Project, TableName};

use crate::kernel::error::{Error, Result};
use crate::kernel::mask::Masker;
use crate::kernel::{new_session, reference, row_hash};
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
    let file = format!("tables/{}.parquet", name.table);
    let declared_key = declared
        .as_ref()
        .map(|d| d.primary_key())
        .unwrap_or_default();
    let (rows, profile) = checkpoint_pass::run(
        ctx,
        checkpoint_pass::Pass {
            name,
            columns: &columns,
            key: &key,
            path: &request.out.join(&file),
            spill_dir: request
                .out
                .join(format!(".distinct-{}", std::process::id())),
            unique: match declared_key.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            },
        },
    )
    .await?;
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
