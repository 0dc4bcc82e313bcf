//! `--recheck DURATION`: on live sources a difference may be a write still in flight (a
//! replica behind its primary). After the wait, only the keys that differed are read again
//! on both sides; those that now agree are reported as in flight, not as failures, and the
//! rest fail as before.

use std::collections::BTreeSet;
use std::time::Duration;

use datafusion::prelude::SessionContext;
use serde_json::Value;

use super::error::DiffResult;
use super::{DiffOutcome, Side};
use crate::config::DiffOptions;
use crate::config::spec::Scalar;
use crate::kernel::sqlgen::{ident, in_list, literal};

/// More differing keys than this are not re-read: that is no lag, and the `IN` list would be
/// a scan of its own.
pub const MAX_KEYS: usize = 10_000;

/// What a recheck found.
#[derive(Clone, Debug, PartialEq)]
pub struct Recheck {
    pub waited: Duration,
    /// Differing keys read again.
    pub rechecked: u64,
    /// Of those, the ones that agree now.
    pub converged: u64,
    /// Not re-read: more differing keys than [`MAX_KEYS`].
    pub skipped: bool,
}

/// Waits, re-reads the keys `first` found differing and returns the outcome with only those
/// that still differ; `first` must hold every difference (run with `keep_all`).
pub async fn recheck(
    ctx: &SessionContext,
    [source, target]: [&Side; 2],
    options: &DiffOptions,
    mut first: DiffOutcome,
    wait: Duration,
    keep: usize,
) -> DiffResult<(DiffOutcome, Recheck)> {
    let keys: BTreeSet<Vec<KeyValue>> = first
        .merged
        .differences
        .iter()
        .map(|d| d.key.iter().map(KeyValue::of).collect())
        .collect();
    let mut found = Recheck {
        waited: wait,
        rechecked: keys.len() as u64,
        converged: 0,
        skipped: false,
    };
    if keys.is_empty() || keys.len() > MAX_KEYS {
        found.skipped = keys.len() > MAX_KEYS;
        first.merged.differences.truncate(keep);
        return Ok((first, found));
    }
    tokio::time::sleep(wait).await;
    renew_snapshots(ctx, [source, target]).await?;
    let target_keys: Vec<String> = first
        .key_names
        .iter()
        .map(|k| {
            options
                .rename
                .iter()
                .find(|(_, s)| s == k)
                .map_or_else(|| k.clone(), |(t, _)| t.clone())
        })
        .collect();
    let narrowed = |side: &Side, names: &[String]| -> Side {
        let keys_sql = keys_predicate(names, &keys);
        match side {
            Side::Table { table, predicate } => Side::Table {
                table: table.clone(),
                predicate: Some(match predicate {
                    Some(p) => format!("({p}) AND ({keys_sql})"),
                    None => keys_sql,
                }),
            },
            other => other.clone(),
        }
    };
    let (source, target) = (
        narrowed(source, &first.key_names),
        narrowed(target, &target_keys),
    );
    let second = super::run(ctx, &source, &target, options, keep, false).await?;
    let rows_before = first.violations() - first.one_sided.len() as u64;
    let rows_after = second.violations() - second.one_sided.len() as u64;
    found.converged = rows_before.saturating_sub(rows_after);
    let mut outcome = second;
    // The rechecked keys that matched the first time were its changed rows; they are counted
    // again, as the second read found them.
    outcome.merged.matched += first.merged.matched - first.merged.changed.min(first.merged.matched);
    outcome.merged.source_rows = first.merged.source_rows;
    outcome.merged.target_rows = first.merged.target_rows;
    outcome.algorithm = first.algorithm;
    Ok((outcome, found))
}

/// A key value as the SQL literal it is matched by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum KeyValue {
    Null,
    Int(i64),
    Text(String),
}

impl KeyValue {
    pub(super) fn of(value: &Value) -> Self {
        match value {
            Value::Null => KeyValue::Null,
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| KeyValue::Text(n.to_string()), KeyValue::Int),
            Value::String(s) => KeyValue::Text(s.clone()),
            other => KeyValue::Text(other.to_string()),
        }
    }

    fn scalar(&self) -> Option<Scalar> {
        match self {
            KeyValue::Null => None,
            KeyValue::Int(i) => Some(Scalar::Int(i128::from(*i))),
            KeyValue::Text(s) => Some(Scalar::Str(s.clone())),
        }
    }
}

/// `key IN (…)` for one key column, else one `(a = … AND b = …)` per key, OR-ed; a NULL part
/// matches `IS NULL`. Text compares against the column as text, as `in_list` does.
pub(super) fn keys_predicate(names: &[String], keys: &BTreeSet<Vec<KeyValue>>) -> String {
    if let [name] = names
        && keys.iter().all(|k| k[0] != KeyValue::Null)
    {
        let values: Vec<Scalar> = keys.iter().filter_map(|k| k[0].scalar()).collect();
        return in_list(name, &values);
    }
    keys.iter()
        .map(|key| {
            let parts: Vec<String> = names
                .iter()
                .zip(key)
                .map(|(name, value)| match value {
                    KeyValue::Null => format!("{} IS NULL", ident(name)),
                    KeyValue::Int(i) => format!("{} = {i}", ident(name)),
                    KeyValue::Text(s) => {
                        format!("CAST({} AS VARCHAR) = {}", ident(name), literal(s))
                    }
                })
                .collect();
            format!("({})", parts.join(" AND "))
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// Each database side reads the database as it is after the wait, not the run's snapshot.
async fn renew_snapshots(ctx: &SessionContext, sides: [&Side; 2]) -> DiffResult<()> {
    let mut renewed: Vec<String> = Vec::new();
    for side in sides {
        let Side::Table { table, .. } = side else {
            continue;
        };
        if renewed.contains(&table.source) {
            continue;
        }
        let provider = ctx
            .table_provider(crate::kernel::reference(table))
            .await
            .map_err(super::error::DiffError::from)?;
        if let Some(database) = crate::source::database::database_of(provider.as_ref()) {
            database.renew_snapshot().await?;
            renewed.push(table.source.clone());
        }
    }
    Ok(())
}
