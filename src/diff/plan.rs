//! Which columns a diff compares and how: keys and their merge types, renamed columns,
//! `columns`/`exclude`, and each column's family, tolerance and normalisation.

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::SessionContext;

use super::Side;
use super::compare::{Family, Policy, family};
use crate::config::diagnostic::did_you_mean;
use crate::config::{DiffOptions, Tolerance};

/// How one side is read: its key expressions, then its compared columns, in merge order.
#[derive(Clone, Debug)]
pub struct SidePlan {
    /// `(column, cast to text)` per key.
    pub keys: Vec<(String, bool)>,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct DiffPlan {
    pub key_names: Vec<String>,
    pub key_types: Vec<DataType>,
    /// Compared columns by their source names.
    pub column_names: Vec<String>,
    pub policies: Vec<Policy>,
    pub source: SidePlan,
    pub target: SidePlan,
}

pub async fn side_schema(ctx: &SessionContext, side: &Side) -> Result<SchemaRef, String> {
    match side {
        Side::Table { table, .. } => {
            let provider = ctx
                .table_provider(crate::engine::resolve::reference(table))
                .await
                .map_err(|_| format!("table `{table}` not found"))?;
            Ok(provider.schema())
        }
        Side::Query { source, sql } => {
            let ctx = crate::engine::session_on(ctx, source);
            let frame = ctx.sql(sql).await.map_err(|e| {
                format!("the query on `{source}`: {}", crate::engine::error_text(&e))
            })?;
            Ok(std::sync::Arc::new(frame.schema().as_arrow().clone()))
        }
    }
}

pub async fn plan(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    options: &DiffOptions,
) -> Result<DiffPlan, String> {
    let (s_schema, t_schema) = (
        side_schema(ctx, source).await?,
        side_schema(ctx, target).await?,
    );
    let s_names: Vec<&str> = s_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    let t_names: Vec<&str> = t_schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    // The target's name for a source column: renamed by the migration, or the same.
    let target_name = |source_name: &str| -> String {
        options
            .rename
            .iter()
            .find(|(_, s)| s == source_name)
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| source_name.to_string())
    };
    let check = |name: &str, names: &[&str], side: &Side| -> Result<(), String> {
        if names.contains(&name) {
            return Ok(());
        }
        let help = did_you_mean(name, names.iter().copied())
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        Err(format!(
            "column `{name}` not found in {} (columns: {}){help}",
            side.describe(),
            names.join(", ")
        ))
    };
    if options.key.is_empty() {
        return Err("a diff needs a `key`: the column(s) that identify a row on both sides".into());
    }
    for (t, s) in &options.rename {
        check(t, &t_names, target)?;
        check(s, &s_names, source)?;
    }
    let mut key_types = Vec::new();
    let (mut s_keys, mut t_keys) = (Vec::new(), Vec::new());
    for key in &options.key {
        check(key, &s_names, source)?;
        let t_key = target_name(key);
        check(&t_key, &t_names, target)?;
        let (st, tt) = (type_of(&s_schema, key)?, type_of(&t_schema, &t_key)?);
        let (merge_type, as_text) = key_type(st, tt);
        key_types.push(merge_type);
        s_keys.push((key.clone(), as_text));
        t_keys.push((t_key, as_text));
    }
    let is_excluded = |name: &str| {
        options
            .exclude
            .iter()
            .any(|e| e == name || *e == target_name(name))
    };
    let candidates: Vec<String> = match &options.columns {
        Some(columns) => {
            for c in columns {
                check(c, &s_names, source)?;
                check(&target_name(c), &t_names, target)?;
            }
            columns.clone()
        }
        None => s_names
            .iter()
            .filter(|n| t_names.contains(&target_name(n).as_str()))
            .map(|n| n.to_string())
            .collect(),
    };
    let column_names: Vec<String> = candidates
        .into_iter()
        .filter(|c| !options.key.contains(c) && !is_excluded(c))
        .collect();
    let timezone = match &options.normalize.timezone {
        Some(zone) => zone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| format!("unknown time zone `{zone}`"))?,
        None => chrono_tz::UTC,
    };
    let mut policies = Vec::new();
    for c in &column_names {
        let t = target_name(c);
        let (st, tt) = (type_of(&s_schema, c)?, type_of(&t_schema, &t)?);
        let family = family(st, tt);
        let unknown = |schema: &SchemaRef, name: &str| {
            schema
                .field_with_name(name)
                .is_ok_and(super::compare::null_is_unknown)
        };
        policies.push(Policy {
            family,
            same_type: st == tt,
            null_is_unknown: unknown(&s_schema, c) || unknown(&t_schema, &t),
            tolerance: tolerance_for(options, c, &t, family),
            normalize: options.normalize.clone(),
            timezone,
        });
    }
    for (column, _) in &options.tolerance {
        if column != "*"
            && !column_names.contains(column)
            && !column_names.iter().any(|c| target_name(c) == *column)
        {
            return Err(format!(
                "`tolerance` names `{column}`, which is not a compared column"
            ));
        }
    }
    Ok(DiffPlan {
        key_names: options.key.clone(),
        key_types,
        source: SidePlan {
            keys: s_keys,
            columns: column_names.clone(),
        },
        target: SidePlan {
            keys: t_keys,
            columns: column_names.iter().map(|c| target_name(c)).collect(),
        },
        column_names,
        policies,
    })
}

/// The type of a column already checked to exist.
fn type_of<'a>(schema: &'a SchemaRef, name: &str) -> Result<&'a DataType, String> {
    schema
        .field_with_name(name)
        .map(|f| f.data_type())
        .map_err(|e| e.to_string())
}

/// The type keys are merged in, and whether both sides must cast theirs to text to sort
/// the same way.
fn key_type(source: &DataType, target: &DataType) -> (DataType, bool) {
    let text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    match (source, target) {
        (s, t) if s.is_integer() && t.is_integer() => (DataType::Int64, false),
        (s, t) if text(s) && text(t) => (DataType::Utf8, false),
        (s, t) if s == t => (s.clone(), false),
        _ => (DataType::Utf8, true),
    }
}

fn tolerance_for(
    options: &DiffOptions,
    source: &str,
    target: &str,
    family: Family,
) -> Option<Tolerance> {
    let numeric = matches!(family, Family::Exact | Family::Float);
    options
        .tolerance
        .iter()
        .find(|(c, _)| c == source || c == target)
        .or_else(|| options.tolerance.iter().find(|(c, _)| c == "*" && numeric))
        .map(|(_, t)| *t)
        .filter(|_| numeric)
}
