//! Which columns a diff compares and how: keys and their merge types, renamed columns,
//! `columns`/`exclude`, and each column's family, tolerance and normalisation.
//!
//! A CSV side compared with a typed side (a database, Parquet, NDJSON) is read as its exact
//! text, and the typed side's declared type decides how that text is understood: `01234`
//! in a CSV is not `1234` in a database `text` column, however number-like it looks. Two CSV
//! sides have no declared type between them and keep the types inferred from their values.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;

use super::Side;
use super::compare::{Family, Policy, family, family_against_text};
use super::error::{DiffError, DiffResult};
use crate::config::diagnostic::did_you_mean;
use crate::config::{DiffOptions, Tolerance};
pub use crate::source::keyed::SidePlan;

/// What the merge needs to know of a column that is only on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneSided {
    pub column: String,
    /// `"source"` or `"target"`: the side that has it.
    pub side: &'static str,
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
    /// Columns present on one side only (not excluded, no explicit `columns`): differences.
    pub one_sided: Vec<OneSided>,
}

/// One side's columns as the diff sees them.
pub struct SideSchema {
    /// The columns as the side is read (all `Utf8` for a raw CSV side).
    pub schema: SchemaRef,
    /// The side could be read as raw text (a CSV table).
    pub has_text_view: bool,
    /// Columns whose text holds a number (a database's unconstrained `numeric`).
    pub number_text: Vec<String>,
    /// A database's `jsonb` columns.
    pub json: Vec<String>,
}

async fn table_provider(
    ctx: &SessionContext,
    side: &Side,
) -> DiffResult<Option<Arc<dyn TableProvider>>> {
    match side {
        Side::Table { table, .. } => ctx
            .table_provider(crate::kernel::reference(table))
            .await
            .map(Some)
            .map_err(|_| DiffError::Plan(format!("table `{table}` not found"))),
        Side::Query { .. } => Ok(None),
    }
}

pub async fn side_schema(ctx: &SessionContext, side: &Side) -> DiffResult<SideSchema> {
    match (table_provider(ctx, side).await?, side) {
        (Some(provider), _) => Ok(SideSchema {
            schema: provider.schema(),
            has_text_view: crate::source::files::text_table(provider.as_ref()).is_some(),
            number_text: crate::source::number_text_columns(provider.as_ref()),
            json: crate::source::jsonb_columns(provider.as_ref()),
        }),
        (None, Side::Query { source, sql }) => {
            let ctx = crate::kernel::session_on(ctx, source);
            let frame = ctx.sql(sql).await.map_err(|e| {
                DiffError::Plan(format!(
                    "the query on `{source}`: {}",
                    crate::kernel::error_text(&e)
                ))
            })?;
            Ok(SideSchema {
                schema: Arc::new(frame.schema().as_arrow().clone()),
                has_text_view: false,
                number_text: Vec::new(),
                json: Vec::new(),
            })
        }
        (None, Side::Table { .. }) => unreachable!("a table side always has a provider"),
    }
}

/// The schema of a side read as raw text: every column `Utf8`.
fn text_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(DataType::Utf8))
        .collect();
    Arc::new(Schema::new(fields))
}

pub async fn plan(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    options: &DiffOptions,
) -> DiffResult<DiffPlan> {
    let (s_side, t_side) = (
        side_schema(ctx, source).await?,
        side_schema(ctx, target).await?,
    );
    let s_raw = s_side.has_text_view && !t_side.has_text_view;
    let t_raw = t_side.has_text_view && !s_side.has_text_view;
    let s_schema = if s_raw {
        text_schema(&s_side.schema)
    } else {
        s_side.schema.clone()
    };
    let t_schema = if t_raw {
        text_schema(&t_side.schema)
    } else {
        t_side.schema.clone()
    };
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
    let source_name = |target_name: &str| -> String {
        options
            .rename
            .iter()
            .find(|(t, _)| t == target_name)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| target_name.to_string())
    };
    let check = |name: &str, names: &[&str], side: &Side| -> DiffResult<()> {
        if names.contains(&name) {
            return Ok(());
        }
        let help = did_you_mean(name, names.iter().copied())
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        Err(DiffError::Plan(format!(
            "column `{name}` not found in {} ({}){help}",
            side.describe(),
            crate::source::columns_note(names)
        )))
    };
    if options.key.is_empty() {
        return Err(DiffError::Plan(
            "a diff needs a `key`: the column(s) that identify a row on both sides".into(),
        ));
    }
    for (t, s) in &options.rename {
        check(t, &t_names, target)?;
        check(s, &s_names, source)?;
    }
    // A database's unconstrained numeric arrives as its exact text; it still means a number.
    let meaning = |schema: &SchemaRef, side: &SideSchema, name: &str| -> DiffResult<DataType> {
        let t = type_of(schema, name)?.clone();
        Ok(if side.number_text.iter().any(|n| n == name) {
            DataType::Decimal128(38, 0)
        } else {
            t
        })
    };
    let mut key_types = Vec::new();
    let (mut s_keys, mut t_keys) = (Vec::new(), Vec::new());
    let (mut s_casts, mut t_casts) = (Vec::new(), Vec::new());
    for key in &options.key {
        check(key, &s_names, source)?;
        let t_key = target_name(key);
        check(&t_key, &t_names, target)?;
        let (st, tt) = (type_of(&s_schema, key)?, type_of(&t_schema, &t_key)?);
        let keys = key_type(st, tt, (s_raw, t_raw));
        key_types.push(keys.merge_type.clone());
        s_keys.push((key.clone(), keys.as_text));
        t_keys.push((t_key, keys.as_text));
        s_casts.push(keys.source_cast);
        t_casts.push(keys.target_cast);
    }
    let is_excluded = |name: &str| {
        options
            .exclude
            .iter()
            .any(|e| e == name || *e == target_name(name))
    };
    let mut one_sided = Vec::new();
    let candidates: Vec<String> = match &options.columns {
        Some(columns) => {
            for c in columns {
                check(c, &s_names, source)?;
                check(&target_name(c), &t_names, target)?;
            }
            columns.clone()
        }
        None => {
            // A column that is on one side only was lost or added by the migration: that is
            // a difference, unless the rule excludes it or names its columns.
            for s in &s_names {
                if !t_names.contains(&target_name(s).as_str())
                    && !is_excluded(s)
                    && !options.key.iter().any(|k| k == s)
                {
                    one_sided.push(OneSided {
                        column: s.to_string(),
                        side: "source",
                    });
                }
            }
            for t in &t_names {
                let s = source_name(t);
                if !s_names.contains(&s.as_str()) && !is_excluded(t) && !is_excluded(&s) {
                    one_sided.push(OneSided {
                        column: t.to_string(),
                        side: "target",
                    });
                }
            }
            s_names
                .iter()
                .filter(|n| t_names.contains(&target_name(n).as_str()))
                .map(|n| n.to_string())
                .collect()
        }
    };
    let column_names: Vec<String> = candidates
        .into_iter()
        .filter(|c| !options.key.contains(c) && !is_excluded(c))
        .collect();
    let timezone = options.normalize.timezone.unwrap_or(chrono_tz::UTC);
    let unknown = |schema: &SchemaRef, name: &str| {
        schema
            .field_with_name(name)
            .is_ok_and(super::compare::null_is_unknown)
    };
    let mut policies = Vec::new();
    let (mut s_as_text, mut t_as_text) = (Vec::new(), Vec::new());
    for c in &column_names {
        let t = target_name(c);
        let (st, tt) = (
            meaning(&s_schema, &s_side, c)?,
            meaning(&t_schema, &t_side, &t)?,
        );
        // Against raw text, a time or an interval is read as the typed side writes it.
        let textual = |dt: &DataType, other_raw: bool| other_raw && read_as_text(dt);
        let (s_text, t_text) = (textual(&st, t_raw), textual(&tt, s_raw));
        s_as_text.push(s_text);
        t_as_text.push(t_text);
        let family = if s_text || t_text {
            Family::Text
        } else {
            match (s_raw, t_raw) {
                (true, false) => family_against_text(&tt),
                (false, true) => family_against_text(&st),
                _ => family(&st, &tt),
            }
        };
        let holds_number_text =
            |side: &SideSchema, name: &str| side.number_text.iter().any(|n| n == name);
        let exact_text = holds_number_text(&s_side, c) || holds_number_text(&t_side, &t);
        policies.push(Policy {
            family,
            same_type: st == tt,
            null_is_unknown: unknown(&s_schema, c) || unknown(&t_schema, &t),
            exact_text,
            json: s_side.json.contains(c) || t_side.json.contains(&t),
            // `meaning` already reads a numeric's text as a decimal.
            float_against_exact: family == Family::Float
                && super::float_exact::applies(&st, &tt, false),
            tolerance: tolerance_for(options, c, &t, family)?,
            normalize: options.normalize.clone(),
            timezone,
        });
    }
    for (column, _) in &options.tolerance {
        if column != "*"
            && !column_names.contains(column)
            && !column_names.iter().any(|c| target_name(c) == *column)
        {
            return Err(DiffError::Plan(format!(
                "`tolerance` names `{column}`, which is not a compared column"
            )));
        }
    }
    Ok(DiffPlan {
        key_names: options.key.clone(),
        key_types,
        source: SidePlan {
            keys: s_keys,
            key_casts: s_casts,
            columns: column_names.clone(),
            as_text: s_as_text,
            raw: s_raw,
        },
        target: SidePlan {
            keys: t_keys,
            key_casts: t_casts,
            columns: column_names.iter().map(|c| target_name(c)).collect(),
            as_text: t_as_text,
            raw: t_raw,
        },
        column_names,
        policies,
        one_sided,
    })
}

/// Types whose text form is what an export holds and Arrow would write differently.
fn read_as_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Time32(_) | DataType::Time64(_) | DataType::Interval(_) | DataType::Duration(_)
    )
}

/// The type of a column already checked to exist.
fn type_of<'a>(schema: &'a SchemaRef, name: &str) -> DiffResult<&'a DataType> {
    schema
        .field_with_name(name)
        .map(|f| f.data_type())
        .map_err(DiffError::from)
}

/// How the keys of a pair of sides are merged.
#[derive(Debug, PartialEq)]
struct KeyPlan {
    merge_type: DataType,
    /// Both sides cast their key to text, to sort the same way.
    as_text: bool,
    /// What a raw-text side casts its key to before sorting.
    source_cast: Option<DataType>,
    target_cast: Option<DataType>,
}

/// The type keys are merged in, and how each side reads its key to sort in that type's
/// order. Instants merge as instants whatever their unit or zone (a `timestamptz` key
/// against its CSV export's text with offsets), raw text takes the typed side's type.
fn key_type(source: &DataType, target: &DataType, raw: (bool, bool)) -> KeyPlan {
    let text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    let temporal = |t: &DataType| matches!(t, DataType::Timestamp(..));
    let plan = |merge_type: DataType, as_text: bool| KeyPlan {
        source_cast: (raw.0 && merge_type != DataType::Utf8).then(|| merge_type.clone()),
        target_cast: (raw.1 && merge_type != DataType::Utf8).then(|| merge_type.clone()),
        merge_type,
        as_text,
    };
    let instant = |s: &DataType, t: &DataType| {
        let aware = |t: &DataType| matches!(t, DataType::Timestamp(_, Some(_)));
        let zone = (aware(s) || aware(t)).then(|| Arc::from("UTC"));
        DataType::Timestamp(TimeUnit::Microsecond, zone)
    };
    // The side read as raw text meets the other side's type.
    let typed = match raw {
        (true, false) => Some(target),
        (false, true) => Some(source),
        _ => None,
    };
    if let Some(typed) = typed {
        return match typed {
            t if t.is_integer() => plan(DataType::Int64, false),
            t if temporal(t) => plan(instant(t, t), false),
            DataType::Date32 | DataType::Date64 => plan(DataType::Date32, false),
            t if text(t) => plan(DataType::Utf8, false),
            _ => plan(DataType::Utf8, true),
        };
    }
    match (source, target) {
        (s, t) if s.is_integer() && t.is_integer() => plan(DataType::Int64, false),
        (s, t) if text(s) && text(t) => plan(DataType::Utf8, false),
        (s, t) if temporal(s) && temporal(t) => plan(instant(s, t), false),
        (s, t) if s == t => plan(s.clone(), false),
        _ => plan(DataType::Utf8, true),
    }
}

/// The tolerance of a compared column: numbers take numbers and percentages, instants take
/// durations. A tolerance that cannot apply to the column it names is an error, never
/// silently unused; the `*` default applies to the columns of its kind.
fn tolerance_for(
    options: &DiffOptions,
    source: &str,
    target: &str,
    family: Family,
) -> DiffResult<Option<Tolerance>> {
    let fits = |t: &Tolerance| match t {
        Tolerance::Absolute(_) | Tolerance::Relative(_) => {
            matches!(family, Family::Exact | Family::Float)
        }
        Tolerance::Duration(_) => family == Family::Instant,
    };
    if let Some((column, tolerance)) = options
        .tolerance
        .iter()
        .find(|(c, _)| c == source || c == target)
    {
        if fits(tolerance) {
            return Ok(Some(*tolerance));
        }
        let compared_as = match family {
            Family::Exact | Family::Float => "numbers",
            Family::Instant => "instants",
            Family::Date => "dates",
            Family::Bool => "booleans",
            Family::Text | Family::Other => "text",
        };
        let hint = match family {
            Family::Exact | Family::Float => {
                "; write a number (`0.01`) or a percentage (`\"0.1%\"`)"
            }
            Family::Instant => "; write a duration such as `1s` or `500ms`",
            _ => "; only numbers and timestamps take a tolerance (see `normalize` for text)",
        };
        return Err(DiffError::Plan(format!(
            "the tolerance `{tolerance}` on `{column}` cannot apply: the column is compared as \
             {compared_as}{hint}"
        )));
    }
    Ok(options
        .tolerance
        .iter()
        .find(|(c, t)| c == "*" && fits(t))
        .map(|(_, t)| *t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_keys_take_the_typed_side() {
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let k = key_type(&utc, &DataType::Utf8, (false, true));
        assert_eq!(k.merge_type, utc);
        assert_eq!(k.target_cast, Some(utc.clone()));
        assert_eq!(k.source_cast, None);
        let k = key_type(&DataType::Utf8, &DataType::Int32, (true, false));
        assert_eq!(k.merge_type, DataType::Int64);
        assert_eq!(k.source_cast, Some(DataType::Int64));
        let k = key_type(&DataType::Utf8, &DataType::Utf8, (true, false));
        assert_eq!((k.merge_type, k.as_text), (DataType::Utf8, false));
    }

    #[test]
    fn instants_merge_as_instants() {
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()));
        let us = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let k = key_type(&ns, &us, (false, false));
        assert_eq!((k.merge_type, k.as_text), (us, false));
    }
}

/// `plan` over two tables of a real DataFusion session: which columns are compared under
/// which names, what one side alone has, and the errors a user meets first.
#[cfg(test)]
mod plan_tests {
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::config::RuleKind;

    async fn session() -> SessionContext {
        let ctx = crate::kernel::new_session();
        for sql in [
            "CREATE SCHEMA prod",
            "CREATE SCHEMA staging",
            "CREATE TABLE staging.users AS SELECT * FROM (VALUES (1, 'a', 1.5, 'x', 'y'))
               AS v(id, name, score, legacy, skipped)",
            "CREATE TABLE prod.users AS SELECT * FROM (VALUES (1, 'a', 2, 'z', true))
               AS v(id, full_name, score, skipped, added)",
        ] {
            ctx.sql(sql).await.unwrap().collect().await.unwrap();
        }
        ctx
    }

    async fn planned(rule: &str) -> DiffResult<DiffPlan> {
        let (rules, diags) = crate::config::rules::parse_for_test(&format!(
            "rules:\n  - {{name: d, type: diff, source: staging.users, target: prod.users, {rule}}}\n"
        ));
        assert!(diags.is_empty(), "{diags}");
        let RuleKind::Diff {
            source,
            target,
            options,
        } = &rules[0].kind
        else {
            panic!("{:?}", rules[0].kind)
        };
        let side = |t: &crate::config::TableName| Side::Table {
            table: t.clone(),
            predicate: None,
        };
        plan(&session().await, &side(source), &side(target), options).await
    }

    #[tokio::test]
    async fn renamed_excluded_and_one_sided_columns() {
        let plan = planned("key: [id], rename: {full_name: name}, exclude: [skipped]")
            .await
            .unwrap();
        assert_eq!(plan.key_names, ["id"]);
        assert_eq!(plan.column_names, ["name", "score"]);
        assert_eq!(plan.target.columns, ["full_name", "score"]);
        let one_sided: Vec<(&str, &str)> = plan
            .one_sided
            .iter()
            .map(|o| (o.column.as_str(), o.side))
            .collect();
        assert_eq!(one_sided, [("legacy", "source"), ("added", "target")]);
        // 1.5 against 2: a float against an integer compares as numbers, not text.
        assert_eq!(plan.policies[1].family, Family::Float);
        assert_eq!(plan.policies[0].timezone, chrono_tz::UTC);
    }

    #[tokio::test]
    async fn a_key_or_column_one_side_lacks_is_named() {
        let missing_key = planned("key: [user_id]").await.err().unwrap().to_string();
        assert!(missing_key.contains("user_id"), "{missing_key}");
        let missing_column = planned("key: [id], columns: [nope]")
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(missing_column.contains("nope"), "{missing_column}");
    }
}
