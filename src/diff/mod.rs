//! Row-level diff: are two tables (or two query results) the same, row by row and column by
//! column? `plan` resolves keys, renamed and compared columns and each column's policy;
//! `side` reads each side sorted by key; `merge` walks both in one pass; `compare` decides
//! equality by meaning. The result is plain data for the engine and the reports.

pub mod against_checkpoint;
pub mod bisect;
pub mod checksum;
pub mod compare;
pub mod error;
pub mod float_exact;
pub mod hashed;
pub mod interval;
pub mod json_text;
pub mod merge;
pub mod plan;
pub mod predicate;
pub mod recheck;
pub mod side;

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;

use crate::config::{Algorithm, DiffOptions, TableName};
use crate::source::keyed::{Digester, HashBucket, KeyedTable, Pairing, Range};
use error::{DiffError, DiffResult};
pub use merge::{Difference, Kind};

/// One side of a diff.
#[derive(Clone, Debug)]
pub enum Side {
    Table {
        table: TableName,
        predicate: Option<String>,
    },
    /// A query, run with `source` as the default for unqualified table names.
    Query { source: String, sql: String },
}

impl Side {
    pub fn describe(&self) -> String {
        match self {
            Side::Table { table, .. } => table.to_string(),
            Side::Query { source, .. } => format!("the query on `{source}`"),
        }
    }
}

/// What a diff found.
#[derive(Clone, Debug, Default)]
pub struct DiffOutcome {
    pub algorithm: &'static str,
    pub key_names: Vec<String>,
    /// The compared columns (source names), in the order of the merge's per-column counts.
    pub column_names: Vec<String>,
    /// Rows that differ, per compared column (source names).
    pub columns: BTreeMap<String, u64>,
    /// Values equal only thanks to a tolerance or normalisation, per column.
    pub forgiven: BTreeMap<String, u64>,
    /// The counts, rows read and differences the merge found.
    pub merged: merge::MergeResult,
    /// Columns on one side only: each one is a difference.
    pub one_sided: Vec<plan::OneSided>,
    /// Against a checkpoint: the live table, whose rows can be fetched for the keys found.
    pub live: Option<against_checkpoint::LiveSide>,
}

impl DiffOutcome {
    pub fn violations(&self) -> u64 {
        let m = &self.merged;
        m.only_in_source
            + m.only_in_target
            + m.changed
            + m.duplicate_keys
            + self.one_sided.len() as u64
    }

    /// The columns only the source (`"source"`) or only the target has.
    pub fn columns_only_in(&self, side: &str) -> Vec<String> {
        self.one_sided
            .iter()
            .filter(|c| c.side == side)
            .map(|c| c.column.clone())
            .collect()
    }
}

async fn join(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    plan: &plan::DiffPlan,
    spec: &merge::MergeSpec,
) -> DiffResult<merge::MergeResult> {
    let source_stream = side::sorted_stream(ctx, source, &plan.source).await?;
    let target_stream = side::sorted_stream(ctx, target, &plan.target).await?;
    merge::merge(source_stream, target_stream, spec).await
}

/// One integer key: bisect key ranges (the index serves them); otherwise hash buckets.
fn integer_key(plan: &plan::DiffPlan) -> bool {
    plan.key_names.len() == 1 && plan.key_types[0].is_integer() && !plan.source.keys[0].1
}

fn merged_with(mut merged: merge::MergeResult, agreed_rows: u64) -> merge::MergeResult {
    // Rows in agreeing buckets were matched without being read.
    merged.matched += agreed_rows;
    merged
}

/// Both sides as database tables the checksum algorithm can bisect, with their `where` in
/// their database's SQL, or why not.
async fn checksum_eligibility(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    plan: &plan::DiffPlan,
    options: &DiffOptions,
) -> DiffResult<Eligible> {
    let table = |side: &Side| match side {
        Side::Table { table, .. } => Ok(table.clone()),
        Side::Query { .. } => Err(DiffError::Plan(
            "`query_match` compares query results, which have no key ranges to hash".to_string(),
        )),
    };
    let (s, t) = (table(source)?, table(target)?);
    let (s, t) = (keyed_table(ctx, &s).await?, keyed_table(ctx, &t).await?);
    // Each database hashes with its own functions: only one kind's tables hash alike.
    if s.engine() != t.engine() {
        return Err(DiffError::Plan(format!(
            "the source is a {} table and the target a {} one, which hash differently",
            s.engine(),
            t.engine()
        )));
    }

    if plan.policies.iter().any(|p| p.tolerance.is_some()) || !options.tolerance.is_empty() {
        return Err(DiffError::Plan("tolerances cannot be hashed".into()));
    }
    if let Some(i) = plan.policies.iter().position(|p| p.float_against_exact) {
        return Err(DiffError::Plan(format!(
            "`{}` is a float against an exact number, compared by the digits the float holds, \
             which cannot be hashed",
            plan.column_names[i]
        )));
    }
    let s_where = predicate::side_where(ctx, source, s.as_ref()).await?;
    let t_where = predicate::side_where(ctx, target, t.as_ref()).await?;
    // Whether each column can be hashed as the merge compares it is the database's to say.
    s.digesters(
        t.as_ref(),
        pairing(plan),
        [s_where.clone(), t_where.clone()],
    )?;
    Ok(Eligible {
        tables: [s, t],
        wheres: [s_where, t_where],
    })
}

/// What `auto` takes of tables a checksum could digest: not those of a database that sends
/// rows faster than it hashes them.
fn auto_choice(algorithm: Algorithm, eligible: DiffResult<Eligible>) -> DiffResult<Eligible> {
    match eligible {
        Ok(e) if algorithm == Algorithm::Auto => match e.tables[0].reads_faster_than_it_hashes() {
            Some(why) => Err(DiffError::Plan(why)),
            None => Ok(e),
        },
        other => other,
    }
}

/// Two tables a checksum can digest, and each one's `where` in its database's SQL.
struct Eligible {
    tables: [Box<dyn KeyedTable>; 2],
    wheres: [Option<String>; 2],
}

async fn keyed_table(ctx: &SessionContext, name: &TableName) -> DiffResult<Box<dyn KeyedTable>> {
    let provider = ctx
        .table_provider(crate::kernel::reference(name))
        .await
        .map_err(DiffError::from)?;
    crate::source::keyed::keyed(provider.as_ref()).ok_or_else(|| {
        DiffError::Plan(format!(
            "`{name}` is not a table of a database that digests its rows where they live \
                 (PostgreSQL and MySQL do; files and SQLite sides are read and merged)"
        ))
    })
}

fn pairing(plan: &plan::DiffPlan) -> Pairing<'_> {
    Pairing {
        source: &plan.source,
        target: &plan.target,
        policies: &plan.policies,
    }
}

/// Both sides' digesters, each with its `where` in its database's SQL.
fn digesters<'a>(
    eligible: &'a Eligible,
    plan: &'a plan::DiffPlan,
) -> DiffResult<[Box<dyn Digester + 'a>; 2]> {
    let [s, t] = &eligible.tables;
    Ok(s.digesters(t.as_ref(), pairing(plan), eligible.wheres.clone())?)
}

/// Runs a diff of `source` against `target`; keeps the first `keep` differences (all of
/// them with `keep_all`, for `--output-diff`).
pub async fn run(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    options: &DiffOptions,
    keep: usize,
    keep_all: bool,
) -> DiffResult<DiffOutcome> {
    let rewritten = against_checkpoint::sides(ctx, source, target, options).await?;
    let (source, target, options) =
        against_checkpoint::or_as_given(&rewritten, [source, target], options);
    let plan = plan::plan(ctx, source, target, options).await?;
    let spec = merge::MergeSpec {
        keys: plan.key_names.len(),
        key_types: plan.key_types.clone(),
        column_names: plan.column_names.clone(),
        policies: plan.policies.clone(),
        keep,
        keep_all,
    };
    let checksum_sides = auto_choice(
        options.algorithm,
        checksum_eligibility(ctx, source, target, &plan, options).await,
    );
    let (algorithm, merged) = match (options.algorithm, checksum_sides) {
        (Algorithm::Checksum, Err(reason)) => {
            return Err(DiffError::Plan(format!(
                "the checksum algorithm cannot run here: {reason}; use `algorithm: join`"
            )));
        }
        (Algorithm::Checksum | Algorithm::Auto, Ok(eligible)) => {
            let sides = digesters(&eligible, &plan)?;
            let result = if integer_key(&plan) {
                checksum::run(&sides, &spec)
                    .await?
                    .map(|(m, agreed)| merged_with(m, agreed))
            } else {
                let (merged, agreed) = hashed::run(&sides, &spec).await?;
                Some(merged_with(merged, agreed))
            };
            match result {
                Some(merged) => ("checksum", merged),
                // A sample of buckets differed almost everywhere: reading both sides once is
                // cheaper than hashing them first (the report says join, which is what ran).
                None => ("join", join(ctx, source, target, &plan, &spec).await?),
            }
        }
        _ => {
            let source_stream = side::sorted_stream(ctx, source, &plan.source).await?;
            let target_stream = side::sorted_stream(ctx, target, &plan.target).await?;
            (
                "join",
                merge::merge(source_stream, target_stream, &spec).await?,
            )
        }
    };
    let by_column = |counts: &[u64]| {
        plan.column_names
            .iter()
            .cloned()
            .zip(counts.iter().copied())
            .filter(|(_, n)| *n > 0)
            .collect()
    };
    Ok(DiffOutcome {
        algorithm,
        key_names: plan.key_names,
        columns: by_column(&merged.column_differences),
        column_names: plan.column_names.clone(),
        forgiven: by_column(&merged.column_forgiven),
        merged,
        one_sided: plan
            .one_sided
            .into_iter()
            .chain(rewritten.iter().flat_map(|r| r.one_sided.clone()))
            .collect(),
        live: rewritten.and_then(|r| r.live),
    })
}

/// How a diff would run, for `crosscheck explain`: the algorithm and what each side is sent.
pub async fn explain(
    ctx: &SessionContext,
    source: &Side,
    target: &Side,
    options: &DiffOptions,
) -> DiffResult<String> {
    let rewritten = against_checkpoint::sides(ctx, source, target, options).await?;
    let (source, target, options) =
        against_checkpoint::or_as_given(&rewritten, [source, target], options);
    let plan = plan::plan(ctx, source, target, options).await?;
    let mut out = String::new();
    let eligible = auto_choice(
        options.algorithm,
        checksum_eligibility(ctx, source, target, &plan, options).await,
    );
    let algorithm = match (options.algorithm, &eligible) {
        (Algorithm::Checksum, Err(reason)) => {
            return Err(DiffError::Plan(format!(
                "the checksum algorithm cannot run here: {reason}"
            )));
        }
        (Algorithm::Checksum | Algorithm::Auto, Ok(_)) => "checksum",
        _ => "join",
    };
    out.push_str(&format!(
        "algorithm: {algorithm} (asked: {})",
        options.algorithm.as_str()
    ));
    if let (Algorithm::Auto, Err(reason)) = (options.algorithm, &eligible) {
        out.push_str(&format!("; not checksum because {reason}"));
    }
    out.push('\n');
    out.push_str(&format!(
        "key: {}; compared columns: {}\n",
        plan.key_names.join(", "),
        plan.column_names.join(", ")
    ));
    if let Ok(eligible) = &eligible
        && algorithm == "checksum"
    {
        let [s, _] = digesters(eligible, &plan)?;
        let digest = if integer_key(&plan) {
            let sql = s.range_digest_sql(&[Range { low: 0, high: 0 }]);
            format!(
                "key ranges ({} buckets a level), e.g. the source receives:\n  {}",
                crate::source::keyed::FAN_OUT,
                sql.replace("BETWEEN 0 AND 0", "BETWEEN LOW AND HIGH")
            )
        } else {
            let sql = s.hash_digest_sql(&[HashBucket::ALL]);
            format!(
                "buckets of the key's hash ({} bits a level), e.g. the source receives:\n  {sql}",
                crate::source::keyed::HASH_BITS
            )
        };
        out.push_str(&format!("each database sums row hashes per {digest}\n"));
        out.push_str(&format!(
            "differing buckets of at most {} rows are read sorted by key and merged\n",
            bisect::READ_ROWS
        ));
        return Ok(out);
    }
    for (label, side, side_plan) in [
        ("source", source, &plan.source),
        ("target", target, &plan.target),
    ] {
        match side {
            Side::Table { table, .. } => match keyed_table(ctx, table).await {
                Ok(keyed) if keyed.sorted_reader().is_some() => {
                    let keyed_where = predicate::side_where(ctx, side, keyed.as_ref()).await?;
                    let sql = keyed.sorted_reader().map(|r| r.sorted_sql(keyed_where.as_deref(), side_plan)).unwrap_or_default();
                    out.push_str(&format!("{label}: {} source `{}` streams, in key order:\n  {sql}\n", keyed.engine(), table.source));
                }
                _ => out.push_str(&format!("{label}: read and sorted in-process (DataFusion, spilling to disk if needed):\n  {}\n", side::datafusion_sql(side, side_plan))),
            },
            Side::Query { source, .. } => out.push_str(&format!("{label}: the query on `{source}`, sorted in-process:\n  {}\n", side::datafusion_sql(side, side_plan))),
        }
    }
    out.push_str("both streams are merged by key in one pass\n");
    Ok(out)
}
