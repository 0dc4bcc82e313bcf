//! `diff`: two tables compared row by row (the comparison itself is `src/diff/`); also how
//! `query_match` measures its two query results.

use crate::engine::error::RuleResult;
use async_trait::async_trait;
use serde_json::Value;

use super::{Compiled, RuleType, wrong_kind};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableName, TableRef};
use crate::engine::compile::{CompiledRule, Plan, source_where, target_where};
use crate::engine::measure::{MeasureContext, fmt_count, plural};
use crate::engine::outcome::{Measure, Sample};
use crate::kernel::mask::Masker;

pub struct Diff;

#[async_trait]
impl RuleType for Diff {
    fn names<'a>(&self, kind: &'a RuleKind) -> Vec<(&'a TableRef, &'a [Located<String>])> {
        match kind {
            RuleKind::Diff { source, target, .. } => vec![(source, &[]), (target, &[])],
            _ => vec![],
        }
    }

    fn compile(&self, spec: &RuleSpec) -> Compiled {
        let RuleKind::Diff {
            source,
            target,
            options,
        } = &spec.kind
        else {
            unreachable!("{}", wrong_kind("diff", spec))
        };
        let side = |t: &TableName, predicate: Option<String>| crate::diff::Side::Table {
            table: t.clone(),
            predicate,
        };
        Compiled::new(Plan::Diff {
            source: side(source, source_where(spec)),
            target: side(target, target_where(spec)),
            options: options.clone(),
        })
        .sampling(source)
    }

    async fn measure(&self, m: &MeasureContext<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
        measure_diff(m, rule).await
    }
}

/// A `Diff` plan run: violations are rows only on one side, changed rows and duplicated keys.
pub(super) async fn measure_diff(
    m: &MeasureContext<'_>,
    rule: &CompiledRule,
) -> RuleResult<Measure> {
    let Plan::Diff {
        source,
        target,
        options,
    } = &rule.plan
    else {
        return Err(wrong_kind(rule.spec.type_name, &rule.spec));
    };
    let mut outcome = crate::diff::run(
        m.ctx,
        source,
        target,
        options,
        m.sample,
        m.keep_all_differences || m.recheck.is_some(),
    )
    .await?;
    let mut recheck = None;
    if let Some(wait) = m.recheck
        && outcome.violations() > 0
        && matches!(source, crate::diff::Side::Table { .. })
    {
        let (rechecked, found) = crate::diff::recheck::recheck(
            m.ctx,
            [source, target],
            options,
            outcome,
            wait,
            m.sample,
        )
        .await?;
        outcome = rechecked;
        recheck = Some(crate::engine::outcome::RecheckSummary {
            waited_seconds: found.waited.as_secs_f64(),
            rechecked: found.rechecked,
            in_flight: found.converged,
            still_differ: found.rechecked.saturating_sub(found.converged),
            skipped: found.skipped,
        });
    }
    let all = if m.keep_all_differences {
        let sample = diff_sample(&outcome, m.origin, m.masker, true);
        outcome.merged.differences.truncate(m.sample);
        Some(sample)
    } else {
        None
    };
    show_live_rows(m, &mut outcome).await?;
    let sample = diff_sample(&outcome, m.origin, m.masker, false);
    let merged = &outcome.merged;
    let summary = crate::engine::outcome::DiffSummary {
        algorithm: outcome.algorithm,
        only_in_source: merged.only_in_source,
        only_in_target: merged.only_in_target,
        changed: merged.changed,
        duplicate_keys: merged.duplicate_keys,
        columns: outcome.columns.clone(),
        forgiven: outcome.forgiven.clone(),
        matched: merged.matched,
        columns_only_in_source: outcome.columns_only_in("source"),
        columns_only_in_target: outcome.columns_only_in("target"),
        rows_read: crate::engine::outcome::RowsRead {
            source: merged.source_rows,
            target: merged.target_rows,
        },
        column_stats: column_stats(&outcome),
        recheck: recheck.clone(),
    };
    let violations = outcome.violations();
    let rows_differing = violations - outcome.one_sided.len() as u64;
    let mut message = if rows_differing == 0 {
        format!("{} rows match", fmt_count(merged.matched))
    } else {
        format!(
            "{} {}: {} only in source, {} only in target, {} changed",
            fmt_count(rows_differing),
            plural(rows_differing, "row differs", "rows differ"),
            fmt_count(merged.only_in_source),
            fmt_count(merged.only_in_target),
            fmt_count(merged.changed)
        )
    };
    if merged.duplicate_keys > 0 {
        message.push_str(&format!(
            ", {} duplicated {}",
            fmt_count(merged.duplicate_keys),
            plural(merged.duplicate_keys, "key", "keys")
        ));
    }
    for (side, other) in [("source", "target"), ("target", "source")] {
        let columns = outcome.columns_only_in(side);
        if !columns.is_empty() {
            let names: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
            message.push_str(&format!(
                "; {} {} only in {side}, not in {other} (exclude {} or list `columns` to compare without {})",
                plural(columns.len() as u64, "column", "columns"),
                names.join(", "),
                if columns.len() == 1 { "it" } else { "them" },
                if columns.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    if let Some(r) = &recheck {
        message.push_str(&if r.skipped {
            format!(
                "; not rechecked: more than {} keys differ, which is no replication lag",
                fmt_count(crate::diff::recheck::MAX_KEYS as u64)
            )
        } else {
            format!(
                "; rechecked after {}s: {} converged (in flight, not counted), {} still differ",
                r.waited_seconds,
                fmt_count(r.in_flight),
                fmt_count(r.still_differ)
            )
        });
    }
    let forgiven: u64 = outcome.forgiven.values().sum();
    if forgiven > 0 {
        message.push_str(&format!(
            " ({} {} equal only within tolerance or after normalisation)",
            fmt_count(forgiven),
            plural(forgiven, "value", "values")
        ));
    }
    Ok(Measure {
        violations,
        observed: Some(merged.source_rows.into()),
        checked: merged.source_rows.max(merged.target_rows),
        sample,
        message,
        diff: Some(summary),
        all_differences: all,
    })
}

/// Against a checkpoint a changed row is only a changed hash: its live side's value becomes
/// the row as it is now (sensitive columns masked), and so does a row the live side alone has.
async fn show_live_rows(
    m: &MeasureContext<'_>,
    outcome: &mut crate::diff::DiffOutcome,
) -> RuleResult<()> {
    let Some(live) = outcome.live.clone() else {
        return Ok(());
    };
    let only_live = if live.is_target {
        crate::diff::Kind::OnlyInTarget
    } else {
        crate::diff::Kind::OnlyInSource
    };
    let shown =
        |d: &crate::diff::Difference| d.kind == crate::diff::Kind::Changed || d.kind == only_live;
    let keys: Vec<Vec<Value>> = outcome
        .merged
        .differences
        .iter()
        .take(m.sample)
        .filter(|d| shown(d))
        .map(|d| d.key.clone())
        .collect();
    let rows = crate::diff::against_checkpoint::live_rows(m.ctx, &live, &keys).await?;
    let origin = Some((live.table.source.as_str(), live.table.table.as_str()));
    for d in outcome.merged.differences.iter_mut().take(m.sample) {
        if !shown(d) {
            continue;
        }
        let Some((_, values)) = rows.iter().find(|(key, _)| key == &d.key) else {
            continue;
        };
        let row: serde_json::Map<String, Value> = values
            .iter()
            .map(|(column, v)| (column.clone(), m.masker.apply(origin, column, v.clone())))
            .collect();
        let text = Value::String(Value::Object(row).to_string());
        if live.is_target {
            d.target = text;
        } else {
            d.source = text;
        }
    }
    Ok(())
}

/// Each compared column's match percentage, changed values, one-sided NULLs and largest
/// numeric difference, over the rows matched by key.
fn column_stats(outcome: &crate::diff::DiffOutcome) -> Vec<crate::engine::outcome::ColumnStats> {
    let merged = &outcome.merged;
    outcome
        .column_names
        .iter()
        .enumerate()
        .map(|(j, column)| {
            let differ = merged.column_differences.get(j).copied().unwrap_or(0);
            crate::engine::outcome::ColumnStats {
                column: column.clone(),
                match_percent: (merged.matched > 0).then(|| {
                    100.0 * merged.matched.saturating_sub(differ) as f64 / merged.matched as f64
                }),
                differ,
                null_one_side: merged.column_null_one_side.get(j).copied().unwrap_or(0),
                largest_difference: merged.column_largest_difference.get(j).copied().flatten(),
                forgiven: merged.column_forgiven.get(j).copied().unwrap_or(0),
            }
        })
        .collect()
}

/// Differences as sample rows: key columns, then (`with_kind`) the kind of difference, then
/// column, source value, target value.
fn diff_sample(
    outcome: &crate::diff::DiffOutcome,
    origin: Option<(&str, &str)>,
    masker: &Masker,
    with_kind: bool,
) -> Sample {
    let mut columns = outcome.key_names.clone();
    if with_kind {
        columns.push("kind".into());
    }
    columns.extend(["column", "source", "target"].map(String::from));
    let rows = outcome
        .merged
        .differences
        .iter()
        .map(|d| {
            let mut row: Vec<Value> = d
                .key
                .iter()
                .zip(&outcome.key_names)
                .map(|(v, k)| masker.apply(origin, k, v.clone()))
                .collect();
            if with_kind {
                row.push(Value::String(d.kind.as_str().into()));
            }
            let column = d.column.clone().unwrap_or_else(|| match d.kind {
                crate::diff::Kind::DuplicateKey => "(duplicate key)".into(),
                _ => "(row)".into(),
            });
            let (source, target) = match &d.column {
                Some(c) => (
                    masker.apply(origin, c, d.source.clone()),
                    masker.apply(origin, c, d.target.clone()),
                ),
                None => (d.source.clone(), d.target.clone()),
            };
            row.extend([Value::String(column), source, target]);
            row
        })
        .collect();
    Sample { columns, rows }
}
