//! The checksum algorithm: both sides are PostgreSQL tables with one integer key. Each
//! database hashes its rows (normalised so equal meanings hash equal) and sums the hashes
//! per key bucket; only buckets whose count or sum differ are split further, and only small
//! differing buckets are read and merged. Empty buckets never come back (GROUP BY returns
//! only buckets with rows), so sparse keys cost nothing. When many buckets differ, bisecting
//! stops and those ranges are read whole: join speed, not worse.
//!
//! `Bisection` is the algorithm as a state machine with no I/O; `run` drives it with queries.

use std::collections::BTreeMap;

use postgres_protocol::escape::{escape_identifier, escape_literal};

use super::compare::{Family, Policy};
use super::plan::{DiffPlan, SidePlan};
use crate::source::postgres::PgTable;
use crate::source::postgres::catalog::PgColumn;
use crate::source::postgres::decode::Kind;
use crate::source::postgres::hash::{self, Direct, Element, HashAs};

/// Buckets a range is cut into per level.
pub const FAN_OUT: i128 = 1024;
/// Level-1 buckets digested first to judge whether bisecting pays.
const PROBES: i128 = 32;
/// A differing range with at most this many rows (on either side) is read, not split.
pub const READ_ROWS: u64 = 4096;
/// If more than this share of a level's buckets differ, they are read rather than split.
pub const DEGRADE_SHARE: f64 = 0.25;

/// An inclusive range of integer keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub low: i64,
    pub high: i64,
}

/// Count and hash sum of one bucket on one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub rows: u64,
    /// Distinct keys; fewer than `rows` means duplicated keys, which must be read to be reported.
    pub keys: u64,
    /// The sum of row hashes, as PostgreSQL prints the numeric.
    pub sum: String,
}

/// The bucket of `key` among `FAN_OUT` equal-width buckets of `range`.
pub fn bucket_of(range: Range, key: i64) -> i128 {
    let span = range.high as i128 - range.low as i128 + 1;
    (key as i128 - range.low as i128) * FAN_OUT.min(span) / span
}

/// The keys of bucket `b` of `range`: the smallest keys whose bucket is `b` up to those of `b + 1`.
pub fn bucket_range(range: Range, b: i128) -> Range {
    let span = range.high as i128 - range.low as i128 + 1;
    let n = FAN_OUT.min(span);
    // ceil(b * span / n): the first key offset that lands in bucket b.
    let first = |b: i128| (b * span + n - 1) / n;
    Range {
        low: (range.low as i128 + first(b)) as i64,
        high: (range.low as i128 + first(b + 1) - 1) as i64,
    }
}

/// What to do next with the ranges of one level.
#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// Ranges small (or numerous) enough to read and merge.
    pub read: Vec<Range>,
    /// Ranges to split at the next level.
    pub split: Vec<Range>,
    /// Rows in buckets whose digests agree: matched without being read.
    pub agreed_rows: u64,
}

/// Compares one level's bucket digests of both sides and decides each differing bucket.
pub fn decide(
    ranges: &[Range],
    source: &BTreeMap<(usize, i128), Digest>,
    target: &BTreeMap<(usize, i128), Digest>,
) -> Step {
    let mut differing = Vec::new();
    let mut agreed = 0;
    let buckets: std::collections::BTreeSet<&(usize, i128)> =
        source.keys().chain(target.keys()).collect();
    for key in &buckets {
        let (s, t) = (source.get(key), target.get(key));
        let duplicated = |d: Option<&Digest>| d.is_some_and(|d| d.keys != d.rows);
        if s == t && !duplicated(s) {
            agreed += s.map_or(0, |d| d.rows);
        }
        if s != t || duplicated(s) || duplicated(t) {
            let rows = s.map_or(0, |d| d.rows).max(t.map_or(0, |d| d.rows));
            differing.push((bucket_range(ranges[key.0], key.1), rows));
        }
    }
    let mut step = Step {
        agreed_rows: agreed,
        ..Step::default()
    };
    let degrade =
        !buckets.is_empty() && differing.len() as f64 > DEGRADE_SHARE * buckets.len() as f64;
    for (range, rows) in differing {
        if degrade || rows <= READ_ROWS || range.low == range.high {
            step.read.push(range);
        } else {
            step.split.push(range);
        }
    }
    step
}

/// The expression one column is hashed as: both sides produce the same form for the same
/// meaning (5 and 5.00 are both numeric, hashing alike; instants are timestamptz), in a form
/// PostgreSQL hashes with its full width (`hash::HashAs`).
pub fn hashed_expr(
    column: Option<&PgColumn>,
    other: Option<&PgColumn>,
    name: &str,
    policy: &Policy,
    trim_scale: bool,
) -> Element {
    let n = &policy.normalize;
    let select = column
        .map(|c| c.select.clone())
        .unwrap_or_else(|| escape_identifier(name));
    let kind = column.map(|c| c.kind).unwrap_or(Kind::Text);
    // Same type on both sides and nothing to normalise: hash the value as it is (cheapest).
    let text_normalised = matches!(policy.family, Family::Text | Family::Other)
        && *n != crate::config::Normalize::default();
    // A numeric read as its text hashes by value (1.0 = 1.00), as the join compares it.
    let number_text = column.is_some_and(|c| c.is_number_text());
    if policy.same_type && !text_normalised && !number_text {
        let form = column.map(|c| c.hash).unwrap_or(HashAs::Native);
        let other_kind = other.map(|c| c.kind).unwrap_or(Kind::Text);
        // Same Arrow type, different PostgreSQL types hashing differently (uuid against text):
        // both as text. Arrays are compared as their text (dimensions and bounds included).
        let form = match form {
            _ if kind != other_kind || matches!(kind, Kind::Array(_)) => HashAs::Text,
            // Both `numeric(p, s)` alike: every value has scale s already.
            HashAs::Numeric if matches!(kind, Kind::Numeric { .. }) => HashAs::NumericFixedScale,
            form => form,
        };
        return form.element(&select);
    }
    match policy.family {
        Family::Exact if trim_scale => HashAs::Numeric.element(&format!("({select})::numeric")),
        // Before PostgreSQL 13 (no trim_scale) 5.0 and 5.00 hash apart: such buckets are read
        // and compared by value, slower but never wrong.
        Family::Exact => HashAs::Text.element(&format!("({select})::numeric")),
        Family::Float => Element::Direct(Direct::Float8, format!("({select})::float8")),
        Family::Instant => HashAs::Send("timestamptz_send").element(&match kind {
            Kind::Timestamp => format!(
                "(({select}) AT TIME ZONE {})",
                escape_literal(policy.timezone.name())
            ),
            _ => format!("({select})::timestamptz"),
        }),
        Family::Date => Element::Record(format!("({select})::date")),
        Family::Bool => Element::Direct(Direct::Bool, format!("({select})::bool")),
        Family::Text | Family::Other => {
            let mut e = format!("({select})::text");
            if n.trim {
                e = format!("btrim({e}, E' \\t\\r\\n')");
            }
            if n.case_insensitive {
                e = format!("lower({e})");
            }
            if n.empty_as_null {
                e = format!("nullif({e}, '')");
            }
            Element::Direct(Direct::Text, e)
        }
    }
}

/// One side of a checksum, with the other side's table and plan to agree on hash forms.
#[derive(Clone, Copy)]
pub struct Hashing<'a> {
    pub table: &'a PgTable,
    pub side: &'a SidePlan,
    pub other: &'a PgTable,
    pub other_side: &'a SidePlan,
    pub plan: &'a DiffPlan,
}

impl<'a> Hashing<'a> {
    /// The source's and the target's view of one diff.
    pub fn pair(source: &'a PgTable, target: &'a PgTable, plan: &'a DiffPlan) -> (Self, Self) {
        (
            Hashing {
                table: source,
                side: &plan.source,
                other: target,
                other_side: &plan.target,
                plan,
            },
            Hashing {
                table: target,
                side: &plan.target,
                other: source,
                other_side: &plan.source,
                plan,
            },
        )
    }

    fn column(&self, name: &str) -> Option<&PgColumn> {
        self.table.def.columns.iter().find(|c| c.name == name)
    }

    fn other_column(&self, name: &str) -> Option<&PgColumn> {
        self.other.def.columns.iter().find(|c| c.name == name)
    }

    /// Each key part in a form both sides hash alike, with its full width.
    pub fn key_parts(&self) -> Vec<String> {
        self.side
            .keys
            .iter()
            .zip(&self.other_side.keys)
            .map(|((name, as_text), (other_name, _))| {
                let column = self.column(name);
                let select = column
                    .map(|c| c.select.clone())
                    .unwrap_or_else(|| escape_identifier(name));
                let kind = column.map(|c| c.kind);
                let other_kind = self.other_column(other_name).map(|c| c.kind);
                match (as_text, kind) {
                    (true, _) => format!("({select})::text"),
                    (false, Some(Kind::Int2 | Kind::Int4 | Kind::Int8)) => {
                        format!("int8send(({select})::int8)")
                    }
                    // Numeric keys as text, whatever the server version (buckets must agree).
                    (false, Some(Kind::Numeric { .. })) => format!("({select})::text"),
                    (false, Some(k)) if Some(k) == other_kind => column
                        .map(|c| c.hash)
                        .unwrap_or(HashAs::Native)
                        .wrap(&select),
                    _ => format!("({select})::text"),
                }
            })
            .collect()
    }

    /// The row hash under the policy, and the strict one when the policy forgives something
    /// (a bucket whose strict sums differ holds forgiven values, read to be counted as `join`
    /// counts them). `key` is the key as an int8 expression.
    pub fn row_hashes(&self, key: &str) -> (String, Option<String>) {
        let trim_scale = [self.table, self.other]
            .iter()
            .all(|t| t.session.server_version.get().is_some_and(|v| *v >= 130000));
        let values = |strict: bool| -> Vec<Element> {
            self.side
                .columns
                .iter()
                .zip(&self.other_side.columns)
                .zip(&self.plan.policies)
                .map(|((name, other_name), policy)| {
                    let policy = if strict {
                        Policy {
                            normalize: crate::config::Normalize::default(),
                            ..policy.clone()
                        }
                    } else {
                        policy.clone()
                    };
                    hashed_expr(
                        self.column(name),
                        self.other_column(other_name),
                        name,
                        &policy,
                        trim_scale,
                    )
                })
                .collect()
        };
        let forgives = self.plan.policies.iter().any(|p| {
            matches!(p.family, Family::Text | Family::Other)
                && p.normalize != crate::config::Normalize::default()
        });
        let policy = hash::row_hash(&values(false), key);
        let strict = forgives.then(|| hash::row_hash(&values(true), key));
        (policy, strict)
    }
}

/// The digest aggregate of row hashes: the exact sum (and the strict one, when any).
pub fn digest_aggregate((policy, strict): &(String, Option<String>)) -> String {
    match strict {
        Some(strict) => format!(
            "{} || '/' || {}",
            hash::digest_sum(policy),
            hash::digest_sum(strict)
        ),
        None => hash::digest_sum(policy),
    }
}

/// One query computing every bucket digest of `ranges` on one side.
pub fn digest_sql(hashing: Hashing<'_>, predicate: Option<&str>, ranges: &[Range]) -> String {
    let (table, side) = (hashing.table, hashing.side);
    let key = escape_identifier(&side.keys[0].0);
    let key_int8 = format!("t.{key}::int8");
    let row_hashes = hashing.row_hashes(&key_int8);
    let filter = predicate.map(|p| format!(" AND ({p})")).unwrap_or_default();
    // Distinct keys only need counting when the key is not the table's primary key.
    let unique = table
        .def
        .integer_key()
        .is_some_and(|k| k.name == side.keys[0].0);
    let aggregate = digest_aggregate(&row_hashes);
    let distinct = if unique {
        "count(*)".to_string()
    } else {
        format!("count(DISTINCT t.{key})")
    };
    // One branch per range, each with its own bounds, so every branch is an index range
    // scan (a join with a VALUES list of ranges lets the planner scan the table per range).
    let branches: Vec<String> = ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (low, high) = (r.low as i128, r.high as i128);
            let span = high - low + 1;
            let n = FAN_OUT.min(span);
            // Integer arithmetic when no product can overflow; numeric for huge key spans.
            let bucket = if span * FAN_OUT < i64::MAX as i128 {
                format!("(t.{key}::int8 - ({low})) * {n} / {span}")
            } else {
                format!("floor((t.{key}::numeric - ({low})) * {n} / {span})::int8")
            };
            format!(
                "SELECT {i}::int4, {bucket}, count(*), {distinct}, {aggregate} FROM {} AS t \
                 WHERE t.{key} BETWEEN {low} AND {high}{filter} GROUP BY 2",
                table.qualified_name()
            )
        })
        .collect();
    branches.join(" UNION ALL ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_partition_the_range() {
        for range in [
            Range {
                low: 1,
                high: 5_000_000,
            },
            Range { low: -7, high: 9 },
            Range { low: 10, high: 10 },
            Range {
                low: i64::MIN,
                high: i64::MAX,
            },
        ] {
            let span = range.high as i128 - range.low as i128 + 1;
            let n = FAN_OUT.min(span);
            let mut next = range.low as i128;
            for b in 0..n {
                let r = bucket_range(range, b);
                assert_eq!(r.low as i128, next, "{range:?} bucket {b}");
                assert!(r.high >= r.low);
                assert_eq!(bucket_of(range, r.low), b);
                assert_eq!(bucket_of(range, r.high), b);
                next = r.high as i128 + 1;
            }
            assert_eq!(next, range.high as i128 + 1);
        }
    }

    #[test]
    fn differing_buckets_are_read_or_split() {
        let ranges = [Range {
            low: 1,
            high: 1_000_000,
        }];
        let digest = |rows, sum: &str| Digest {
            keys: rows,
            rows,
            sum: sum.into(),
        };
        let mut s = BTreeMap::new();
        let mut t = BTreeMap::new();
        for b in 0..100 {
            s.insert((0, b), digest(977, "1"));
            t.insert((0, b), digest(977, "1"));
        }
        t.insert((0, 3), digest(977, "2"));
        s.insert((0, 7), digest(10, "5"));
        t.remove(&(0, 7));
        let step = decide(&ranges, &s, &t);
        assert_eq!(
            step.read,
            [bucket_range(ranges[0], 3), bucket_range(ranges[0], 7)]
        );
        assert!(step.split.is_empty());
        // Many differences: read them, do not bisect.
        for b in 0..60 {
            t.insert((0, b), digest(9000, "x"));
        }
        let step = decide(&ranges, &s, &t);
        assert!(step.split.is_empty() && step.read.len() >= 60);
    }
}

/// Runs a checksum query; a failed statement aborts the transaction, so the pool closes the
/// connection. The rows count as read from the source.
pub async fn query(table: &PgTable, sql: &str) -> Result<Vec<tokio_postgres::Row>, String> {
    let client = table.session.client().await?;
    match client.query_serial(sql).await {
        Ok(rows) => {
            table
                .session
                .rows_read
                .fetch_add(rows.len() as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(rows)
        }
        Err(e) => Err(format!("PostgreSQL source `{}`: {e}", table.session.source)),
    }
}

/// The read predicate: the differing buckets' condition (`None`: the whole table) and the
/// user's `where`.
pub fn restrict(buckets: Option<String>, user: Option<&str>) -> Option<String> {
    match (buckets, user) {
        (Some(b), Some(u)) => Some(format!("({b}) AND ({u})")),
        (Some(b), None) => Some(b),
        (None, u) => u.map(str::to_string),
    }
}

/// Merges touching or overlapping ranges.
pub fn coalesce(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort();
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.low as i128 <= last.high as i128 + 1 => {
                last.high = last.high.max(r.high)
            }
            _ => out.push(r),
        }
    }
    out
}

/// Ranges at most this many are read with a predicate; more, and the whole table is read.
const MAX_READ_RANGES: usize = 512;

/// What the checksum run did, besides what the merge found.
#[derive(Debug, Default)]
pub struct ChecksumRun {
    pub levels: usize,
    /// Rows matched by agreeing digests, never read.
    pub agreed_rows: u64,
    pub ranges_read: usize,
}

/// Drives the bisection against both databases, then merges the rows of the ranges that differ.
pub async fn run(
    source: (&PgTable, Option<&str>),
    target: (&PgTable, Option<&str>),
    plan: &DiffPlan,
    spec: &super::merge::MergeSpec,
) -> Result<Option<(super::merge::MergeResult, ChecksumRun)>, String> {
    let key = escape_identifier(&plan.source.keys[0].0);
    let t_key = escape_identifier(&plan.target.keys[0].0);
    let ((s_bounds, s_nulls), (t_bounds, t_nulls)) = tokio::try_join!(
        bounds(source.0, &plan.source.keys[0].0, source.1),
        bounds(target.0, &plan.target.keys[0].0, target.1)
    )?;
    // Rows without a key fall in no range: they are always read, as join would match them.
    let null_keys = s_nulls || t_nulls;
    let mut stats = ChecksumRun::default();
    let (low, high) = match (s_bounds, t_bounds) {
        (None, None) => (0, -1),
        (Some((a, b)), None) | (None, Some((a, b))) => (a, b),
        (Some((a, b)), Some((c, d))) => (a.min(c), b.max(d)),
    };
    // Digest a sample of level-1 buckets first (32 of the 1,024, spread over the key range):
    // if most of them differ, bisecting would hash everything only to read everything, so
    // reading both sides once (join) is cheaper — many differences degrade to join speed.
    if high as i128 - low as i128 > FAN_OUT * 64 {
        let whole = Range { low, high };
        let sample: Vec<Range> = (0..PROBES)
            .map(|i| bucket_range(whole, i * FAN_OUT / PROBES + FAN_OUT / PROBES / 2))
            .collect();
        let (s, t) = both_digests(source, target, plan, &sample).await?;
        // A sampled bucket differs when any of its sub-buckets does.
        let differing: std::collections::BTreeSet<usize> = s
            .keys()
            .chain(t.keys())
            .filter(|k| s.get(k) != t.get(k))
            .map(|k| k.0)
            .collect();
        if differing.len() as f64 > DEGRADE_SHARE * PROBES as f64 {
            return Ok(None);
        }
    }
    let mut to_read = Vec::new();
    let mut ranges = if low <= high {
        vec![Range { low, high }]
    } else {
        vec![]
    };
    while !ranges.is_empty() {
        stats.levels += 1;
        let (s, t) = both_digests(source, target, plan, &ranges).await?;
        let step = decide(&ranges, &s, &t);
        stats.agreed_rows += step.agreed_rows;
        to_read.extend(step.read);
        ranges = step.split;
    }
    let to_read = coalesce(to_read);
    stats.ranges_read = to_read.len();
    let predicate = |key: &str, user: Option<&str>| -> Option<String> {
        let ranges = if to_read.len() > MAX_READ_RANGES {
            None
        } else {
            let mut parts: Vec<String> = to_read
                .iter()
                .map(|r| format!("{key} BETWEEN {} AND {}", r.low, r.high))
                .collect();
            if null_keys {
                parts.push(format!("{key} IS NULL"));
            }
            Some(if parts.is_empty() {
                "false".to_string()
            } else {
                parts.join(" OR ")
            })
        };
        restrict(ranges, user)
    };
    let s_pred = predicate(&key, source.1);
    let t_pred = predicate(&t_key, target.1);
    let s_stream = super::side::postgres_stream(source.0, s_pred.as_deref(), &plan.source);
    let t_stream = super::side::postgres_stream(target.0, t_pred.as_deref(), &plan.target);
    let merged = super::merge::merge(s_stream, t_stream, spec).await?;
    Ok(Some((merged, stats)))
}

/// The key's smallest and largest value, and whether some rows have no key. min and max alone
/// in their query read two entries of the key's index (one scan without an index), and a
/// NOT NULL key needs no look for NULLs: a `count(*) FILTER (WHERE key IS NULL)` beside them
/// read the whole table, a quarter of a checksum diff's time.
async fn bounds(
    table: &PgTable,
    key_name: &str,
    predicate: Option<&str>,
) -> Result<(Option<(i64, i64)>, bool), String> {
    let key = escape_identifier(key_name);
    let name = table.qualified_name();
    let filter = |and: &str| {
        predicate
            .map(|p| format!(" {and} ({p})"))
            .unwrap_or_default()
    };
    let not_null = table
        .def
        .columns
        .iter()
        .any(|c| c.name == key_name && c.not_null);
    let null_keys = if not_null {
        "false".to_string()
    } else {
        format!(
            "EXISTS (SELECT 1 FROM {name} WHERE {key} IS NULL{})",
            filter("AND")
        )
    };
    let sql = format!(
        "SELECT b.low::int8, b.high::int8, {null_keys} \
         FROM (SELECT min({key}) AS low, max({key}) AS high FROM {name}{}) AS b",
        filter("WHERE")
    );
    let rows = query(table, &sql).await?;
    let Some(row) = rows.first() else {
        return Ok((None, false));
    };
    let range = match (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    Ok((range, row.get::<_, bool>(2)))
}

/// Both sides' digests of `ranges`, computed concurrently.
type Digests = BTreeMap<(usize, i128), Digest>;

async fn both_digests(
    source: (&PgTable, Option<&str>),
    target: (&PgTable, Option<&str>),
    plan: &DiffPlan,
    ranges: &[Range],
) -> Result<(Digests, Digests), String> {
    let (s, t) = Hashing::pair(source.0, target.0, plan);
    let s_sql = digest_sql(s, source.1, ranges);
    let t_sql = digest_sql(t, target.1, ranges);
    tokio::try_join!(digests(source.0, &s_sql), digests(target.0, &t_sql))
}

async fn digests(table: &PgTable, sql: &str) -> Result<BTreeMap<(usize, i128), Digest>, String> {
    let rows = query(table, sql).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let (id, bucket, rows, keys): (i32, i64, i64, i64) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let digest = Digest {
                rows: rows as u64,
                keys: keys as u64,
                sum: row.get::<_, Option<String>>(4).unwrap_or_default(),
            };
            ((id as usize, bucket as i128), digest)
        })
        .collect())
}
