//! A diff with a checkpoint's table on one side: the checkpoint holds keys and row hashes, so
//! the live side is read as its keys and the row hash of the columns the checkpoint hashed,
//! in its order (`kernel::row_hash`), and the two are compared by key: keys only on one side,
//! and keys whose row hash changed. Two checkpoints compare the same way.

use datafusion::prelude::SessionContext;

use super::Side;
use super::error::{DiffError, DiffResult};
use super::plan::OneSided;
use crate::config::{Algorithm, DiffOptions, TableName};
use crate::kernel::reference;
use crate::kernel::row_hash::rows_sql;
use crate::kernel::sqlgen::table;
use crate::source::checkpoint::{ROW_HASH_COLUMN, TableEntry, checkpoint_table};

/// The diff to run instead when a side is a checkpoint's table.
pub struct Rewritten {
    pub source: Side,
    pub target: Side,
    pub options: DiffOptions,
    /// Columns the live side has and the checkpoint did not hash (not `exclude`d): each one
    /// a difference, as a column on one side only is in any diff.
    pub one_sided: Vec<OneSided>,
    /// The live table, when one side is: its rows' values can be shown for the keys found.
    pub live: Option<LiveSide>,
}

/// The sides and options a diff runs with: the rewritten ones, or those it was given.
pub fn or_as_given<'a>(
    rewritten: &'a Option<Rewritten>,
    [source, target]: [&'a Side; 2],
    options: &'a DiffOptions,
) -> (&'a Side, &'a Side, &'a DiffOptions) {
    match rewritten {
        Some(r) => (&r.source, &r.target, &r.options),
        None => (source, target, options),
    }
}

/// The live side of a diff against a checkpoint.
#[derive(Clone, Debug)]
pub struct LiveSide {
    pub table: TableName,
    pub is_target: bool,
    pub key: Vec<String>,
}

/// The live table's current rows of `keys` (in the key's column order): each row's key and
/// every column's value, by column name.
pub async fn live_rows(
    ctx: &SessionContext,
    live: &LiveSide,
    keys: &[Vec<serde_json::Value>],
) -> DiffResult<Vec<(Vec<serde_json::Value>, Vec<(String, serde_json::Value)>)>> {
    use super::recheck::{KeyValue, keys_predicate};
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: std::collections::BTreeSet<Vec<KeyValue>> = keys
        .iter()
        .map(|k| k.iter().map(KeyValue::of).collect())
        .collect();
    let sql = format!(
        "SELECT * FROM {} WHERE {}",
        table(&live.table),
        keys_predicate(&live.key, &wanted)
    );
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(DiffError::from)?
        .collect()
        .await
        .map_err(DiffError::from)?;
    let mut out = Vec::new();
    for batch in &batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let values: Vec<(String, serde_json::Value)> = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, a)| (f.name().clone(), crate::kernel::values::cell(a, row)))
                .collect();
            let key = live
                .key
                .iter()
                .map(|k| {
                    values
                        .iter()
                        .find(|(name, _)| name == k)
                        .map_or(serde_json::Value::Null, |(_, v)| v.clone())
                })
                .collect();
            out.push((key, values));
        }
    }
    Ok(out)
}

/// A keyless table's rows per row hash.
const COPIES: &str = "rows_with_this_hash";

/// The sides and options to run instead, when a side is a checkpoint's table.
pub async fn sides(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    options: &DiffOptions,
) -> DiffResult<Option<Rewritten>> {
    let (s, t) = (entry(ctx, source).await?, entry(ctx, target).await?);
    let reference_entry = match (&s, &t) {
        (None, None) => return Ok(None),
        (Some(a), Some(b)) => {
            if a.column_names() != b.column_names() || a.key != b.key {
                return Err(DiffError::Plan(format!(
                    "the two checkpoints hashed different rows of `{}` (key {} against {}; columns {} against {}): their row hashes cannot be compared",
                    a.name,
                    a.key.join(", "),
                    b.key.join(", "),
                    a.column_names().join(", "),
                    b.column_names().join(", ")
                )));
            }
            a
        }
        (Some(e), None) | (None, Some(e)) => e,
    };
    let entry = reference_entry.clone();
    // Without a key, the rows are a multiset of row hashes: compared by hash, each with the
    // number of rows that have it.
    let multiset = entry.key.is_empty();
    if multiset && !options.key.is_empty() {
        return Err(DiffError::Plan(format!(
            "the checkpoint of `{}` has no key (its table declared none, and no --key was given when it was taken): its rows are compared as a multiset of row hashes, without `key`; take the checkpoint with --key {}=COLUMNS to match them by key",
            entry.name, entry.name
        )));
    }
    if !multiset && !options.key.is_empty() && options.key != entry.key {
        return Err(DiffError::Plan(format!(
            "the checkpoint of `{}` is keyed on {}, not on {}",
            entry.name,
            entry.key.join(", "),
            options.key.join(", ")
        )));
    }
    let hashed = entry.column_names();
    if let Some(c) = options
        .exclude
        .iter()
        .find(|c| hashed.contains(c))
        .or(options.columns.as_ref().and_then(|_| hashed.first()))
    {
        return Err(DiffError::Plan(format!(
            "the checkpoint's row hash of `{}` covers every column it had, `{c}` included: a diff against it compares them all (`columns` and `exclude` can only leave out columns the checkpoint never had)",
            entry.name
        )));
    }
    if !options.tolerance.is_empty() || !options.rename.is_empty() {
        return Err(DiffError::Plan(
            "a checkpoint holds row hashes, to which no tolerance or rename can apply".into(),
        ));
    }
    let live = |side: &Side, is_checkpoint: bool| -> DiffResult<Side> {
        if is_checkpoint && !multiset {
            return Ok(side.clone());
        }
        match side {
            Side::Table {
                table: name,
                predicate,
            } => {
                let rows = if is_checkpoint {
                    let filter = predicate
                        .as_deref()
                        .map(|p| format!(" WHERE {p}"))
                        .unwrap_or_default();
                    format!("SELECT {ROW_HASH_COLUMN} FROM {}{filter}", table(name))
                } else {
                    hashed_rows(name, predicate.as_deref(), &entry)
                };
                let sql = if multiset {
                    format!(
                        "SELECT {ROW_HASH_COLUMN}, count(*) AS {COPIES} FROM ({rows}) AS hashed GROUP BY {ROW_HASH_COLUMN}"
                    )
                } else {
                    rows
                };
                Ok(Side::Query {
                    source: name.source.clone(),
                    sql,
                })
            }
            Side::Query { .. } => Err(DiffError::Plan(
                "a checkpoint is compared with a table, not with a query's result".into(),
            )),
        }
    };
    let mut one_sided = Vec::new();
    for (side, label, is_checkpoint) in [
        (source, "source", s.is_some()),
        (target, "target", t.is_some()),
    ] {
        if let (Side::Table { table: name, .. }, false) = (side, is_checkpoint) {
            for column in extra_columns(ctx, name, &entry).await? {
                if !options.exclude.contains(&column) {
                    one_sided.push(OneSided {
                        column,
                        side: label,
                    });
                }
            }
        }
    }
    let (key, compared) = if multiset {
        (vec![ROW_HASH_COLUMN.to_string()], COPIES)
    } else {
        (entry.key.clone(), ROW_HASH_COLUMN)
    };
    let rewritten_options = DiffOptions {
        key,
        columns: Some(vec![compared.to_string()]),
        exclude: vec![],
        rename: vec![],
        tolerance: vec![],
        normalize: options.normalize.clone(),
        algorithm: Algorithm::Join,
    };
    let live_side = match (source, target, s.is_some(), t.is_some()) {
        _ if multiset => None,
        (Side::Table { table, .. }, _, false, true) => Some(LiveSide {
            table: table.clone(),
            is_target: false,
            key: entry.key.clone(),
        }),
        (_, Side::Table { table, .. }, true, false) => Some(LiveSide {
            table: table.clone(),
            is_target: true,
            key: entry.key.clone(),
        }),
        _ => None,
    };
    Ok(Some(Rewritten {
        source: live(source, s.is_some())?,
        target: live(target, t.is_some())?,
        options: rewritten_options,
        one_sided,
        live: live_side,
    }))
}

/// The checkpoint entry of a side, if it is a checkpoint's table.
async fn entry(ctx: &SessionContext, side: &Side) -> DiffResult<Option<TableEntry>> {
    let Side::Table { table: name, .. } = side else {
        return Ok(None);
    };
    let provider = ctx
        .table_provider(reference(name))
        .await
        .map_err(DiffError::from)?;
    Ok(checkpoint_table(provider.as_ref()).map(|c| c.entry.clone()))
}

/// The live table's columns the checkpoint did not hash; an error naming those it hashed and
/// the table lacks.
async fn extra_columns(
    ctx: &SessionContext,
    name: &TableName,
    entry: &TableEntry,
) -> DiffResult<Vec<String>> {
    let provider = ctx
        .table_provider(reference(name))
        .await
        .map_err(DiffError::from)?;
    let schema = provider.schema();
    let missing: Vec<String> = entry
        .column_names()
        .into_iter()
        .filter(|c| schema.field_with_name(c).is_err())
        .collect();
    if missing.is_empty() {
        let hashed = entry.column_names();
        return Ok(schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|c| !hashed.contains(c))
            .collect());
    }
    Err(DiffError::Plan(format!(
        "`{name}` has no column {}, which the checkpoint's row hashes cover: a diff against a checkpoint needs every column it hashed (schema_match shows how the schema changed)",
        missing
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The live table's keys and row hashes over the checkpoint's columns, in its order.
fn hashed_rows(name: &TableName, predicate: Option<&str>, entry: &TableEntry) -> String {
    rows_sql(
        &table(name),
        &entry.key,
        &entry.column_names(),
        ROW_HASH_COLUMN,
        predicate,
    )
}
