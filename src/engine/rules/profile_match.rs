//! `profile_match`: the same statistics of each column on two tables, per group. One
//! aggregate query per side, built from the tables' columns when the rule runs and run where
//! its table lives; the two profiles are compared here, statistic by statistic.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, FieldRef, TimestampMicrosecondType};
use datafusion::prelude::SessionContext;
use serde_json::Value;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::spec::Tolerance;
use crate::config::{RuleKind, RuleSpec, TableName, TableRef};
use crate::engine::compile::{CompiledRule, Plan, RuleQuery, source_where, target_where};
use crate::engine::error::{RuleError, RuleResult};
use crate::engine::measure::{self, MeasureContext, fmt_count, plural};
use crate::engine::outcome::{Measure, Sample};
use crate::engine::profile_stats::{Kind, Stat, kind_of, micros, shared_kind, utc_micros_key};
use crate::kernel::mask::mask_text;
use crate::kernel::sqlgen::{from_where, ident, table};
use crate::kernel::values::{as_u64, cell, display};
use crate::source::checkpoint::{TableEntry, checkpoint_table};

pub struct ProfileMatch;

#[async_trait]
impl RuleType for ProfileMatch {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::ProfileMatch {
                source,
                target,
                columns,
                group_by,
                ..
            } => vec![
                (source, columns),
                (source, group_by),
                (target, columns),
                (target, group_by),
            ],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::ProfileMatch { source, .. } = &spec.kind else {
            unreachable!("{}", wrong_kind("profile_match", spec))
        };
        Compiled::new(Plan::Profile).sampling(source)
    }

    async fn queries(
        &self,
        ctx: &SessionContext,
        rule: &CompiledRule,
    ) -> RuleResult<Vec<RuleQuery>> {
        let profile = Profile::of(ctx, &rule.spec).await?;
        // A checkpoint's side is read from its manifest: no query.
        Ok([
            ("source profile", Side::Source),
            ("target profile", Side::Target),
        ]
        .into_iter()
        .filter(|(_, side)| profile.checkpoints[*side as usize].is_none())
        .map(|(label, side)| RuleQuery {
            label,
            sql: profile.sql(side),
            sample_limit: None,
        })
        .collect())
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        let profile = Profile::of(m.ctx, &rule.spec).await?;
        let (source, target) = futures::future::try_join(
            profile.side(m.ctx, Side::Source),
            profile.side(m.ctx, Side::Target),
        )
        .await?;
        let differences = profile.compare(&source, &target);
        Ok(profile.measure(m, differences))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Source,
    Target,
}

/// A column profiled on both sides.
struct Column {
    source: FieldRef,
    target: FieldRef,
    kind: Kind,
    /// The statistics of its kind the rule compares.
    stats: Vec<Stat>,
    tolerance: Option<Tolerance>,
}

/// The rule resolved against both tables' columns.
struct Profile<'a> {
    tables: [&'a TableName; 2],
    wheres: [Option<String>; 2],
    group_by: Vec<String>,
    columns: Vec<Column>,
    /// A side that is a checkpoint: its profile was recorded when the checkpoint was taken.
    checkpoints: [Option<TableEntry>; 2],
}

/// One side's statistics of one group: `rows`, then each column's, in the profile's order.
struct Group {
    values: Vec<Value>,
    rows: u64,
    stats: Vec<Observed>,
}

/// A statistic as read: shown as the engine returned it, compared by its exact text or its
/// number.
#[derive(Clone, Debug)]
struct Observed {
    shown: Value,
    /// Numbers as canonical decimal text, instants as microseconds since the epoch.
    exact: Option<String>,
    number: Option<f64>,
}

/// A statistic that differs in a group; `stat` is `None` for the group's rows.
struct Difference {
    group: Vec<Value>,
    column: String,
    stat: Option<Stat>,
    source: Value,
    target: Value,
}

impl Difference {
    fn stat_name(&self) -> &'static str {
        self.stat.map_or("rows", Stat::name)
    }
}

impl<'a> Profile<'a> {
    async fn of(ctx: &SessionContext, spec: &'a RuleSpec) -> RuleResult<Profile<'a>> {
        let RuleKind::ProfileMatch {
            source,
            target,
            columns,
            exclude,
            group_by,
            tolerance,
            statistics,
        } = &spec.kind
        else {
            return Err(wrong_kind("profile_match", spec));
        };
        let schema = |t: &'a TableName| async move {
            let provider = ctx
                .table_provider(crate::kernel::reference(t))
                .await
                .map_err(RuleError::from)?;
            if let Some(checkpoint) = checkpoint_table(provider.as_ref()) {
                return Ok::<_, RuleError>((
                    checkpoint_schema(&checkpoint.entry)?,
                    Some(checkpoint.entry.clone()),
                ));
            }
            let frame = ctx.sql(&format!("SELECT * FROM {}", table(t))).await?;
            Ok((frame.schema().inner().clone(), None))
        };
        let ((s_schema, s_checkpoint), (t_schema, t_checkpoint)) =
            futures::future::try_join(schema(&source.value), schema(&target.value)).await?;
        let checkpoints = [s_checkpoint, t_checkpoint];
        if checkpoints.iter().any(Option::is_some)
            && (!group_by.is_empty() || spec.source_where.is_some() || spec.target_where.is_some())
        {
            return Err(RuleError::Rule(
                "a checkpoint records the profile of its whole table: profile_match against it takes no `group_by` or `where`".into(),
            ));
        }
        let group_by: Vec<String> = group_by.iter().map(|c| c.value.clone()).collect();
        let wanted: Vec<&str> = if columns.is_empty() {
            s_schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect()
        } else {
            columns.iter().map(|c| c.value.as_str()).collect()
        };
        let mut profiled = Vec::new();
        for name in wanted {
            if group_by.iter().any(|g| g == name) || exclude.iter().any(|e| e == name) {
                continue;
            }
            let Ok(s_field) = s_schema.field_with_name(name) else {
                continue;
            };
            // The same name, or the one column whose name differs only in case (a CSV header
            // against PostgreSQL's folded names).
            let t_field = t_schema.field_with_name(name).ok().or_else(|| {
                let mut alike = t_schema
                    .fields()
                    .iter()
                    .filter(|f| f.name().eq_ignore_ascii_case(name));
                match (alike.next(), alike.next()) {
                    (Some(one), None) => Some(one.as_ref()),
                    _ => None,
                }
            });
            let Some(t_field) = t_field else { continue };
            let kind = shared_kind(kind_of(s_field.data_type()), kind_of(t_field.data_type()));
            let stats: Vec<Stat> = Stat::of(kind)
                .iter()
                .copied()
                .filter(|s| statistics.is_empty() || statistics.iter().any(|n| n == s.name()))
                // A checkpoint keeps no value statistic of a sensitive column.
                .filter(|s| {
                    checkpoints
                        .iter()
                        .zip([s_field.name(), t_field.name()])
                        .all(|(c, column)| {
                            c.as_ref().is_none_or(|c| recorded(c, column, *s).is_some())
                        })
                })
                .collect();
            if stats.is_empty() {
                continue;
            }
            profiled.push(Column {
                stats,
                tolerance: tolerance_for(spec, tolerance, name, kind)?,
                source: std::sync::Arc::new(s_field.clone()),
                target: std::sync::Arc::new(t_field.clone()),
                kind,
            });
        }
        if profiled.is_empty() {
            return Err(RuleError::Rule(format!(
                "`{}` and `{}` share no column to profile besides the groups and exclusions, or none has the statistics asked for",
                source.value, target.value
            )));
        }
        Ok(Profile {
            tables: [&source.value, &target.value],
            wheres: [source_where(spec), target_where(spec)],
            group_by,
            columns: profiled,
            checkpoints,
        })
    }

    /// One side's statistics: its query's result, or what its checkpoint recorded.
    async fn side(&self, ctx: &SessionContext, side: Side) -> RuleResult<BTreeMap<String, Group>> {
        let Some(entry) = &self.checkpoints[side as usize] else {
            return self.read(side, &measure::collect(ctx, &self.sql(side)).await?);
        };
        let mut stats = Vec::new();
        for column in &self.columns {
            let field = match side {
                Side::Source => &column.source,
                Side::Target => &column.target,
            };
            for stat in &column.stats {
                let Some(observed) = recorded(entry, field.name(), *stat) else {
                    return Err(RuleError::Internal(format!(
                        "the checkpoint of `{}` has no {} of `{}`",
                        entry.name,
                        stat.name(),
                        field.name()
                    )));
                };
                stats.push(observed);
            }
        }
        let group = Group {
            values: vec![],
            rows: entry.rows,
            stats,
        };
        Ok(BTreeMap::from([(group_key(&[]), group)]))
    }

    /// One side's query: the groups, the rows of each, then every statistic (`s0`, `s1`…).
    fn sql(&self, side: Side) -> String {
        let i = side as usize;
        let groups: Vec<String> = self.group_by.iter().map(|g| ident(g)).collect();
        let mut select = groups.clone();
        select.push("count(*) AS rows_".into());
        let mut n = 0;
        for column in &self.columns {
            let field = match side {
                Side::Source => &column.source,
                Side::Target => &column.target,
            };
            for stat in &column.stats {
                select.push(format!(
                    "{} AS s{n}",
                    stat.sql(&ident(field.name()), field.data_type())
                ));
                n += 1;
            }
        }
        let group_clause = if groups.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", groups.join(", "))
        };
        format!(
            "SELECT {} {}{group_clause}",
            select.join(", "),
            from_where(&table(self.tables[i]), self.wheres[i].as_deref())
        )
    }

    /// Each group's statistics, by its values' JSON text.
    fn read(&self, side: Side, batches: &[RecordBatch]) -> RuleResult<BTreeMap<String, Group>> {
        let g = self.group_by.len();
        let stats: Vec<Stat> = self
            .columns
            .iter()
            .flat_map(|c| c.stats.iter().copied())
            .collect();
        let mut groups = BTreeMap::new();
        for batch in batches {
            if batch.num_columns() != g + 1 + stats.len() {
                return Err(RuleError::Internal(format!(
                    "the {} profile has {} columns, expected {}",
                    if side == Side::Source {
                        "source"
                    } else {
                        "target"
                    },
                    batch.num_columns(),
                    g + 1 + stats.len()
                )));
            }
            let instants: Vec<Option<ArrayRef>> = stats
                .iter()
                .enumerate()
                .map(|(k, stat)| match stat {
                    Stat::Earliest | Stat::Latest => micros(batch.column(g + 1 + k)),
                    _ => None,
                })
                .collect();
            for row in 0..batch.num_rows() {
                let values: Vec<Value> = (0..g).map(|c| cell(batch.column(c), row)).collect();
                let rows = as_u64(batch.column(g), row).unwrap_or(0);
                let observed = (0..stats.len())
                    .map(|k| observe(batch.column(g + 1 + k), instants[k].as_ref(), row))
                    .collect();
                let key = group_key(&values);
                groups.insert(
                    key,
                    Group {
                        values,
                        rows,
                        stats: observed,
                    },
                );
            }
        }
        Ok(groups)
    }

    /// Every statistic that differs, and how many were compared.
    fn compare(
        &self,
        source: &BTreeMap<String, Group>,
        target: &BTreeMap<String, Group>,
    ) -> Compared {
        let mut keys: Vec<&String> = source.keys().chain(target.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut out = Compared::default();
        for key in keys {
            out.groups += 1;
            let (s, t) = (source.get(key), target.get(key));
            let values = s.or(t).map(|g| g.values.clone()).unwrap_or_default();
            let before = out.differences.len();
            out.checked += 1;
            let rows = |g: Option<&Group>| g.map_or(0, |g| g.rows);
            if rows(s) != rows(t) {
                out.differences.push(Difference {
                    group: values.clone(),
                    column: "*".into(),
                    stat: None,
                    source: rows(s).into(),
                    target: rows(t).into(),
                });
            }
            // A group on one side only is one difference, its rows; nothing else compares.
            if let (Some(s), Some(t)) = (s, t) {
                let mut k = 0;
                for column in &self.columns {
                    for stat in &column.stats {
                        out.checked += 1;
                        let (a, b) = (&s.stats[k], &t.stats[k]);
                        if !same(*stat, column, a, b) {
                            out.differences.push(Difference {
                                group: values.clone(),
                                column: column.source.name().clone(),
                                stat: Some(*stat),
                                source: a.shown.clone(),
                                target: b.shown.clone(),
                            });
                        }
                        k += 1;
                    }
                }
            }
            if out.differences.len() > before {
                out.differing_groups += 1;
            }
        }
        out.differences
            .sort_by(|a, b| compare_values(&a.group, &b.group));
        out
    }

    fn measure(&self, m: &MeasureContext<'_>, compared: Compared) -> Measure {
        let origins =
            [self.tables[0], self.tables[1]].map(|t| (t.source.as_str(), t.table.as_str()));
        let sensitive = |column: &str| {
            origins
                .iter()
                .any(|o| m.masker.is_sensitive(Some(*o), column))
        };
        let masked = |v: &Value| Value::String(mask_text(&display(v)));
        // Counts say nothing of a value; the statistics that are values are masked.
        let mask = |d: &Difference, value: &Value| -> Value {
            let is_value = d.stat.is_some_and(Stat::is_value);
            if is_value && sensitive(&d.column) && !value.is_null() {
                masked(value)
            } else {
                value.clone()
            }
        };
        let group_values = |d: &Difference| -> Vec<Value> {
            d.group
                .iter()
                .zip(&self.group_by)
                .map(|(v, g)| {
                    if sensitive(g) && !v.is_null() {
                        masked(v)
                    } else {
                        v.clone()
                    }
                })
                .collect()
        };
        let listed: Vec<String> = compared
            .differences
            .iter()
            .take(5)
            .map(|d| {
                let group = if self.group_by.is_empty() {
                    String::new()
                } else {
                    let pairs: Vec<String> = self
                        .group_by
                        .iter()
                        .zip(group_values(d))
                        .map(|(g, v)| format!("{g}={}", display(&v)))
                        .collect();
                    format!("[{}] ", pairs.join(", "))
                };
                let what = if d.column == "*" {
                    "rows".to_string()
                } else {
                    format!("{} {}", d.column, d.stat_name())
                };
                format!(
                    "{group}{what}: source {}, target {}",
                    display(&mask(d, &d.source)),
                    display(&mask(d, &d.target))
                )
            })
            .collect();
        let violations = compared.differences.len() as u64;
        let columns = self.columns.len() as u64;
        let mut message = format!(
            "{} of {} {} of {} {} differ",
            fmt_count(violations),
            fmt_count(compared.checked),
            plural(compared.checked, "statistic", "statistics"),
            fmt_count(columns),
            plural(columns, "column", "columns"),
        );
        if !self.group_by.is_empty() {
            message.push_str(&format!(
                ", in {} of {} {}",
                fmt_count(compared.differing_groups),
                fmt_count(compared.groups),
                plural(compared.groups, "group", "groups")
            ));
        }
        if !listed.is_empty() {
            message.push_str(": ");
            message.push_str(&listed.join("; "));
            if compared.differences.len() > listed.len() {
                message.push_str("; …");
            }
        }
        let mut columns: Vec<String> = self.group_by.clone();
        columns.extend(["column", "statistic", "source", "target"].map(String::from));
        let rows = compared
            .differences
            .iter()
            .take(m.sample)
            .map(|d| {
                let mut row = group_values(d);
                row.extend([
                    Value::String(d.column.clone()),
                    Value::String(d.stat_name().to_string()),
                    mask(d, &d.source),
                    mask(d, &d.target),
                ]);
                row
            })
            .collect();
        Measure {
            violations,
            observed: Some(compared.checked.into()),
            checked: compared.checked,
            sample: Sample { columns, rows },
            message,
            diff: None,
            all_differences: None,
        }
    }
}

#[derive(Default)]
struct Compared {
    differences: Vec<Difference>,
    checked: u64,
    groups: u64,
    differing_groups: u64,
}

/// The tolerance of `column`'s value statistics: its own, else `*`'s when it fits the kind.
/// A tolerance named for a column it cannot apply to is an error, never silently unused.
fn tolerance_for(
    spec: &RuleSpec,
    tolerances: &[(String, Tolerance)],
    column: &str,
    kind: Kind,
) -> RuleResult<Option<Tolerance>> {
    let fits = |t: &Tolerance| match t {
        Tolerance::Absolute(_) | Tolerance::Relative(_) => matches!(kind, Kind::Number { .. }),
        Tolerance::Duration(_) => kind == Kind::Time,
    };
    if let Some((_, t)) = tolerances.iter().find(|(c, _)| c == column) {
        if fits(t) {
            return Ok(Some(*t));
        }
        return Err(RuleError::Rule(format!(
            "rule `{}`: the tolerance `{t}` of column `{column}` cannot apply to it: numbers take \
             a number or a percentage, times a duration, other columns none",
            spec.name.value
        )));
    }
    Ok(tolerances
        .iter()
        .find(|(c, t)| c == "*" && fits(t))
        .map(|(_, t)| *t))
}

/// Whether two statistics are equal: exactly, or within the column's tolerance for a value
/// statistic. Means (and sums of floating point) get a hair of slack, since the order the
/// engines add in changes the last digits.
fn same(stat: Stat, column: &Column, a: &Observed, b: &Observed) -> bool {
    if a.shown.is_null() || b.shown.is_null() {
        return a.shown.is_null() && b.shown.is_null();
    }
    if a.exact.is_some() && a.exact == b.exact {
        return true;
    }
    let (Some(x), Some(y)) = (a.number, b.number) else {
        return a.shown == b.shown;
    };
    let float = matches!(column.kind, Kind::Number { float: true });
    let slack = if stat == Stat::Mean || (float && stat == Stat::Sum) {
        1e-9 * x.abs().max(y.abs())
    } else {
        0.0
    };
    let allowed = match column.tolerance.filter(|_| stat.is_value()) {
        Some(Tolerance::Absolute(t)) => t,
        Some(Tolerance::Relative(t)) => t * x.abs(),
        Some(Tolerance::Duration(d)) => d.as_micros() as f64,
        None => 0.0,
    };
    (x - y).abs() <= allowed + slack
}

/// A time statistic as microseconds since the epoch (UTC), for comparing across types.
fn observe(array: &ArrayRef, instants: Option<&ArrayRef>, row: usize) -> Observed {
    let shown = cell(array, row);
    if let Some(instants) = instants {
        let micros = instants.as_primitive::<TimestampMicrosecondType>();
        if micros.is_valid(row) {
            return instant(shown, micros.value(row));
        }
    }
    observed(shown)
}

fn instant(shown: Value, micros: i64) -> Observed {
    Observed {
        shown,
        exact: Some(micros.to_string()),
        number: Some(micros as f64),
    }
}

/// What a checkpoint recorded of `column`'s `stat`, if it did.
fn recorded(entry: &TableEntry, column: &str, stat: Stat) -> Option<Observed> {
    let stats = entry.profile.get(column)?;
    let shown = stats.get(stat.name())?.clone();
    if matches!(stat, Stat::Earliest | Stat::Latest) && !shown.is_null() {
        let micros = stats.get(&utc_micros_key(stat))?.as_i64()?;
        return Some(instant(shown, micros));
    }
    Some(observed(shown))
}

/// A checkpoint's table as the profile sees it: its columns as they were read.
fn checkpoint_schema(entry: &TableEntry) -> RuleResult<datafusion::arrow::datatypes::SchemaRef> {
    let fields = entry
        .columns
        .iter()
        .map(|c| {
            let data_type: DataType = c.data_type.parse().map_err(|_| {
                RuleError::Rule(format!(
                    "the checkpoint of `{}` names the type `{}`, which this build does not read",
                    entry.name, c.data_type
                ))
            })?;
            Ok(datafusion::arrow::datatypes::Field::new(
                &c.name, data_type, c.nullable,
            ))
        })
        .collect::<RuleResult<Vec<_>>>()?;
    Ok(std::sync::Arc::new(
        datafusion::arrow::datatypes::Schema::new(fields),
    ))
}

/// A statistic's value as the engine returned it, compared by its number when it is one.
fn observed(shown: Value) -> Observed {
    let text = match &shown {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    let number = text.as_deref().and_then(|t| t.trim().parse::<f64>().ok());
    Observed {
        exact: text
            .as_deref()
            .filter(|_| number.is_some())
            .map(canonical_decimal),
        number,
        shown,
    }
}

/// A group's identity on both sides: numbers by their value (an integer group column on one
/// side and a float one on the other still meet), anything else as its JSON text.
fn group_key(values: &[Value]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::Number(n) => format!("n:{}", canonical_decimal(&n.to_string())),
            other => format!("v:{other}"),
        })
        .collect();
    parts.join("\u{1f}")
}

/// `12.500` → `12.5`, `7.0` → `7`, `-0` → `0`: the same number written alike by every engine.
fn canonical_decimal(text: &str) -> String {
    let text = text.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.contains(['e', 'E']) {
        return text.to_string();
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if int == "0" && frac.is_empty() {
        return "0".into();
    }
    match frac {
        "" => format!("{sign}{int}"),
        f => format!("{sign}{int}.{f}"),
    }
}

/// Groups in a stable order: numbers by value, text by its characters, NULL first.
fn compare_values(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            (Value::Number(x), Value::Number(y)) => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
            (x, y) => x.to_string().cmp(&y.to_string()),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_meet_by_the_value_of_their_numbers_not_by_how_they_are_written() {
        use serde_json::json;
        assert_eq!(
            group_key(&[json!(5), json!("a")]),
            group_key(&[json!(5.0), json!("a")])
        );
        assert_ne!(group_key(&[json!(5)]), group_key(&[json!("5")]));
        assert_ne!(group_key(&[Value::Null]), group_key(&[json!("null")]));
    }

    #[test]
    fn numbers_are_written_alike_whatever_engine_wrote_them() {
        assert_eq!(canonical_decimal("12.500"), "12.5");
        assert_eq!(canonical_decimal("7.0"), "7");
        assert_eq!(canonical_decimal("-0.00"), "0");
        assert_eq!(canonical_decimal("0012"), "12");
        assert_eq!(canonical_decimal("-3.10"), "-3.1");
        assert_eq!(canonical_decimal("0.05"), "0.05");
    }

    #[test]
    fn columns_of_different_kinds_are_profiled_by_what_both_have() {
        let int = kind_of(&DataType::Int64);
        let float = kind_of(&DataType::Float64);
        assert_eq!(shared_kind(int, float), Kind::Number { float: true });
        assert_eq!(shared_kind(int, kind_of(&DataType::Utf8)), Kind::Mixed);
        assert_eq!(
            shared_kind(kind_of(&DataType::Date32), kind_of(&DataType::Binary)),
            Kind::Other
        );
    }
}
