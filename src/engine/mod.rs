//! Rules compiled to SQL and run in one DataFusion session; thresholds turn what they
//! measured into outcomes. Rules reading the same table with the same `where` share one
//! scan; at most `jobs` queries run at once.

pub mod checkpoint;
mod checkpoint_pass;
pub mod compile;
pub mod error;
pub mod measure;
pub mod outcome;
pub mod profile_stats;
pub mod resolve;
pub mod rules;
pub mod schema;
mod schema_columns;
mod schema_objects;
mod schema_partitions;
mod sql_position;
pub mod time;

use crate::engine::error::RuleResult;
use std::collections::HashMap;
use std::time::Instant;

use datafusion::prelude::SessionContext;
use futures::StreamExt;

use crate::config::{Project, RuleSpec};
use crate::kernel::error::Result;
use crate::kernel::mask::Masker;
use crate::kernel::{error_text, mask, new_session, session_on};
use compile::{CompiledRule, Plan, ScanKey};
use measure::MeasureContext;
use outcome::{Measure, RuleOutcome, RunOutcome, Status};

/// Plans every query of `rule` without running it: unknown tables, columns, functions
/// and type errors in the user's SQL show up here.
pub async fn plan_rule(
    ctx: &SessionContext,
    rule: &CompiledRule,
) -> std::result::Result<(), crate::config::Diagnostic> {
    if let Plan::Diff {
        source,
        target,
        options,
    } = &rule.plan
    {
        // Plans both sides (with their sources' defaults) and checks key and columns.
        let planned = match crate::diff::plan::plan(ctx, source, target, options).await {
            Ok(_) => crate::diff::predicate::check(ctx, [source, target]).await,
            Err(e) => Err(e),
        };
        return planned.map_err(|e| {
            crate::config::Diagnostic::at(
                rule.sql_loc(),
                format!("rule `{}`: {e}", rule.spec.name.value),
            )
        });
    }
    let ctx = rule_session(ctx, rule);
    let queries = rules::queries(&ctx, rule).await.map_err(|e| {
        crate::config::Diagnostic::at(
            rule.sql_loc(),
            format!("rule `{}`: {e}", rule.spec.name.value),
        )
    })?;
    for query in queries {
        if let Err(e) = ctx.sql(&query.sql).await {
            let message = format!(
                "rule `{}` cannot be planned: {}",
                rule.spec.name.value,
                error_text(&e)
            );
            let loc = sql_position::located(&e, &query.sql, &rule.sql_texts());
            return Err(crate::config::Diagnostic::at(
                loc.as_ref().unwrap_or(rule.sql_loc()),
                message,
            ));
        }
    }
    Ok(())
}

/// The rule's SQL (a diff's `where`) planned once more before it runs, where its location is
/// known: a typo in a condition is reported at its line, as `validate --connect` does, rather
/// than as DataFusion's bare message when the query runs. Planning only: nothing is read.
async fn plan_before_run(
    ctx: &SessionContext,
    rule: &CompiledRule,
) -> std::result::Result<(), crate::config::Diagnostic> {
    match &rule.plan {
        Plan::Diff { source, target, .. } => crate::diff::predicate::check(ctx, [source, target])
            .await
            .map_err(|e| {
                crate::config::Diagnostic::at(
                    rule.sql_loc(),
                    format!("rule `{}`: {e}", rule.spec.name.value),
                )
            }),
        _ => plan_rule(ctx, rule).await,
    }
}

/// The session a rule's queries run in: with `on:`, unqualified names are that source's.
pub fn rule_session(ctx: &SessionContext, rule: &CompiledRule) -> SessionContext {
    match rule.on.as_deref() {
        Some(source) => session_on(ctx, source),
        None => ctx.clone(),
    }
}

/// Called with a rule's name each time one finishes (for a progress bar).
pub type Progress = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Options of one run.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub jobs: usize,
    pub sample: Option<usize>,
    pub on_rule_done: Option<Progress>,
    /// Keep every difference of diff rules (for `--output-diff`).
    pub keep_all_differences: bool,
    /// Re-read the keys a diff found differing after this wait (`--recheck`).
    pub recheck: Option<std::time::Duration>,
}

/// Registers the sources and runs `rules`; only an unusable source is an `Err`.
pub async fn run(
    project: &Project,
    rules: &[&RuleSpec],
    options: &RunOptions,
) -> Result<RunOutcome> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let ctx = new_session();
    let sources = crate::source::register_all(&ctx, &project.sources).await?;
    let masker = Masker::new(&project.sensitive);
    let compiled: Vec<CompiledRule> = rules
        .iter()
        .map(|r| {
            let mut spec = (*r).clone();
            if let Some(n) = options.sample {
                spec.sample = n;
            }
            compile::compile(&spec)
        })
        .collect();
    let mut results: Vec<Option<RuleOutcome>> = vec![None; compiled.len()];
    let mut runnable = Vec::new();
    for (i, rule) in compiled.iter().enumerate() {
        let checked = match resolve::check_rule(&ctx, &sources, &rule.spec).await {
            Ok(()) => plan_before_run(&ctx, rule).await,
            other => other,
        };
        match checked {
            Ok(()) => runnable.push(i),
            Err(d) => {
                results[i] = Some(errored(
                    &rule.spec,
                    resolve::one_line(&d),
                    std::time::Duration::ZERO,
                ))
            }
        }
    }
    let env = Env {
        ctx: &ctx,
        masker: &masker,
        now: started_at,
        keep_all_differences: options.keep_all_differences,
        recheck: options.recheck,
    };
    let jobs = plan_jobs(&compiled, &runnable);
    let mut stream =
        futures::stream::iter(jobs.into_iter().map(|job| run_job(&env, &compiled, job)))
            .buffer_unordered(options.jobs.max(1));
    while let Some(done) = stream.next().await {
        for (i, outcome) in done {
            if let Some(progress) = &options.on_rule_done {
                progress(&outcome.name);
            }
            results[i] = Some(outcome);
        }
    }
    drop(stream);
    // Error texts can quote the value that broke a query; sensitive data never leaves.
    // They can also quote megabytes of hostile input: quotes are cut.
    for outcome in results.iter_mut().flatten() {
        // Samples go into every report; the differences file keeps values whole.
        outcome
            .sample
            .rows
            .iter_mut()
            .flatten()
            .for_each(crate::shorten::sample_value);
        if let Some(error) = &outcome.error {
            let scrubbed = crate::shorten::message(&mask::scrub_error(error)).into_owned();
            outcome.message = scrubbed.clone();
            outcome.error = Some(scrubbed);
        }
    }
    let rules = results
        .into_iter()
        .zip(&compiled)
        .map(|(r, c)| {
            r.unwrap_or_else(|| {
                errored(
                    &c.spec,
                    crate::kernel::error::bug("the rule was never run"),
                    Default::default(),
                )
            })
        })
        .collect();
    Ok(RunOutcome {
        started_at,
        duration: started.elapsed(),
        sources,
        rules,
    })
}

struct Env<'a> {
    ctx: &'a SessionContext,
    masker: &'a Masker,
    now: chrono::DateTime<chrono::Utc>,
    keep_all_differences: bool,
    recheck: Option<std::time::Duration>,
}

/// A unit of work: rules sharing one table scan, or one rule alone.
enum Job {
    Scan { key: ScanKey, members: Vec<usize> },
    Single(usize),
}

fn plan_jobs(compiled: &[CompiledRule], runnable: &[usize]) -> Vec<Job> {
    let mut scans: Vec<(ScanKey, Vec<usize>)> = Vec::new();
    let mut index: HashMap<ScanKey, usize> = HashMap::new();
    let mut jobs = Vec::new();
    for &i in runnable {
        match &compiled[i].plan {
            Plan::RowPredicate { scan, .. } | Plan::RowCount { scan, .. } => {
                let slot = *index.entry(scan.clone()).or_insert_with(|| {
                    scans.push((scan.clone(), Vec::new()));
                    scans.len() - 1
                });
                scans[slot].1.push(i);
            }
            _ => jobs.push(Job::Single(i)),
        }
    }
    let mut all: Vec<Job> = scans
        .into_iter()
        .map(|(key, members)| Job::Scan { key, members })
        .collect();
    all.extend(jobs);
    all
}

async fn run_job(env: &Env<'_>, compiled: &[CompiledRule], job: Job) -> Vec<(usize, RuleOutcome)> {
    match job {
        Job::Single(i) => {
            let started = Instant::now();
            let result = measure_single(env, &compiled[i]).await;
            vec![(i, finish(&compiled[i].spec, result, started))]
        }
        Job::Scan { key, members } => run_scan(env, compiled, &key, &members).await,
    }
}

/// One aggregate query counts every member's violations; if it fails, each member runs
/// alone so the error is reported on the rule that caused it.
async fn run_scan(
    env: &Env<'_>,
    compiled: &[CompiledRule],
    key: &ScanKey,
    members: &[usize],
) -> Vec<(usize, RuleOutcome)> {
    let started = Instant::now();
    let predicates: Vec<&str> = members
        .iter()
        .filter_map(|&i| match &compiled[i].plan {
            Plan::RowPredicate { violation, .. } => Some(violation.as_str()),
            _ => None,
        })
        .collect();
    let batches = match measure::collect(env.ctx, &compile::scan_sql(key, &predicates)).await {
        Ok(b) => b,
        Err(e) if members.len() == 1 => {
            return vec![(
                members[0],
                finish(&compiled[members[0]].spec, Err(e), started),
            )];
        }
        Err(_) => {
            let mut out = Vec::new();
            for &i in members {
                out.extend(Box::pin(run_scan(env, compiled, key, &[i])).await);
            }
            return out;
        }
    };
    let mut out = Vec::new();
    let mut predicate_index = 0;
    for &i in members {
        let rule = &compiled[i];
        let counted = measure::first_u64(&batches, rules::CHECKED).and_then(|checked| {
            let violations = match &rule.plan {
                Plan::RowCount { .. } => None,
                _ => {
                    let column = rules::violation_column(predicate_index);
                    predicate_index += 1;
                    Some(measure::first_u64(&batches, &column)?)
                }
            };
            Ok((checked, violations))
        });
        let result = match counted {
            Ok((checked, violations)) => {
                rules::of(&rule.spec.kind)
                    .measure_scanned(&measure_context(env, rule), rule, checked, violations)
                    .await
            }
            Err(e) => Err(e),
        };
        out.push((i, finish(&rule.spec, result, started)));
    }
    out
}

fn measure_context<'a>(env: &'a Env<'a>, rule: &'a CompiledRule) -> MeasureContext<'a> {
    MeasureContext {
        ctx: env.ctx,
        masker: env.masker,
        origin: rule
            .sample_origin
            .as_ref()
            .map(|(s, t)| (s.as_str(), t.as_str())),
        sample: rule.spec.sample,
        now: env.now,
        keep_all_differences: env.keep_all_differences,
        recheck: env.recheck,
    }
}

async fn measure_single(env: &Env<'_>, rule: &CompiledRule) -> RuleResult<Measure> {
    let on_ctx = rule.on.as_deref().map(|source| session_on(env.ctx, source));
    let ctx = on_ctx.as_ref().unwrap_or(env.ctx);
    let m = MeasureContext {
        ctx,
        ..measure_context(env, rule)
    };
    rules::of(&rule.spec.kind).measure(&m, rule).await
}

/// Applies the rule's threshold to what it measured.
fn finish(spec: &RuleSpec, result: RuleResult<Measure>, started: Instant) -> RuleOutcome {
    let duration = started.elapsed();
    let measure = match result {
        Ok(m) => m,
        Err(e) => return errored(spec, e.to_string(), duration),
    };
    let allowed = spec.max_violations.allowance(measure.checked);
    let status = match (measure.violations > allowed, spec.severity) {
        (false, _) => Status::Pass,
        (true, crate::config::Severity::Error) => Status::Fail,
        (true, crate::config::Severity::Warn) => Status::Warn,
    };
    RuleOutcome {
        status,
        violations: measure.violations,
        max_violations: allowed,
        observed: measure.observed,
        message: measure.message,
        sample: measure.sample,
        diff: measure.diff,
        all_differences: measure.all_differences,
        ..base_outcome(spec, duration)
    }
}

fn errored(spec: &RuleSpec, error: String, duration: std::time::Duration) -> RuleOutcome {
    RuleOutcome {
        message: error.clone(),
        error: Some(error),
        ..base_outcome(spec, duration)
    }
}

fn base_outcome(spec: &RuleSpec, duration: std::time::Duration) -> RuleOutcome {
    RuleOutcome {
        name: spec.name.value.clone(),
        type_name: spec.type_name,
        file: spec.file.clone(),
        description: spec.description.clone(),
        severity: spec.severity,
        tags: spec.tags.clone(),
        tables: rule_tables(spec),
        status: Status::Error,
        violations: 0,
        max_violations: spec.max_violations.allowance(0),
        threshold: spec.max_violations.to_string(),
        observed: None,
        message: String::new(),
        error: None,
        sample: Default::default(),
        diff: None,
        all_differences: None,
        duration,
    }
}

/// The tables (or sources) a rule reads, as written.
pub fn rule_tables(spec: &RuleSpec) -> Vec<String> {
    rules::of(&spec.kind).tables(&spec.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(yaml: &str) -> Vec<RuleSpec> {
        let (rules, diags) = crate::config::rules::parse_for_test(yaml);
        assert!(diags.is_empty(), "{diags}");
        rules
    }

    fn status(spec: &RuleSpec, violations: u64, checked: u64) -> (Status, u64) {
        let measure = Measure {
            violations,
            checked,
            ..Default::default()
        };
        let outcome = finish(spec, Ok(measure), Instant::now());
        (outcome.status, outcome.max_violations)
    }

    /// A count allows that many; a percentage is of the rows checked, rounded down; a warn
    /// rule over its threshold warns; a rule that could not measure is an error, whatever
    /// its severity.
    #[test]
    fn thresholds_turn_measures_into_verdicts() {
        let rules = specs(
            "rules:
  - {name: zero, type: not_null, table: prod.users, columns: [id]}
  - {name: two, type: not_null, table: prod.users, columns: [id], max_violations: 2}
  - {name: pct, type: not_null, table: prod.users, columns: [id], max_violations: 1%}
  - {name: warn, type: not_null, table: prod.users, columns: [id], severity: warn}
",
        );
        assert_eq!(status(&rules[0], 0, 10), (Status::Pass, 0));
        assert_eq!(status(&rules[0], 1, 10), (Status::Fail, 0));
        assert_eq!(status(&rules[1], 2, 10), (Status::Pass, 2));
        assert_eq!(status(&rules[1], 3, 10), (Status::Fail, 2));
        // 1% of 150 is 1.5: one allowed, never two; of 99 rows, none.
        assert_eq!(status(&rules[2], 1, 150), (Status::Pass, 1));
        assert_eq!(status(&rules[2], 2, 150), (Status::Fail, 1));
        assert_eq!(status(&rules[2], 1, 99), (Status::Fail, 0));
        assert_eq!(status(&rules[3], 1, 10), (Status::Warn, 0));
        let broken = finish(
            &rules[3],
            Err(crate::engine::error::RuleError::Rule(
                "no such table".into(),
            )),
            Instant::now(),
        );
        assert_eq!(broken.status, Status::Error);
        assert_eq!(broken.error.as_deref(), Some("no such table"));
    }

    /// Rules on one table with one `where` share a scan; another `where`, another table or a
    /// rule that is not a row predicate runs on its own.
    #[test]
    fn jobs_group_rules_by_table_and_where() {
        let rules = specs(
            "rules:
  - {name: a, type: not_null, table: prod.users, columns: [id]}
  - {name: b, type: row_count, table: prod.users, min: 1}
  - {name: c, type: not_null, table: prod.users, columns: [id], where: id > 1}
  - {name: d, type: unique, table: prod.users, columns: [id]}
  - {name: e, type: not_null, table: staging.users, columns: [id]}
  - {name: f, type: not_null, table: prod.users, columns: [email]}
",
        );
        let compiled: Vec<CompiledRule> = rules.iter().map(compile::compile).collect();
        let runnable: Vec<usize> = (0..compiled.len()).collect();
        let mut shapes: Vec<Vec<usize>> = plan_jobs(&compiled, &runnable)
            .into_iter()
            .map(|job| match job {
                Job::Scan { members, .. } => members,
                Job::Single(i) => vec![100 + i],
            })
            .collect();
        shapes.sort();
        assert_eq!(shapes, [vec![0, 1, 5], vec![2], vec![4], vec![103]]);
    }
}
