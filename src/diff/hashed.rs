//! The checksum algorithm for keys that are not a single integer (text, UUID, compound):
//! buckets are bits of a hash of the key rather than key ranges. Level 1 groups rows by the
//! hash's lowest 10 bits, level 2 by the lowest 20 within the buckets that differed, and so
//! on; a differing bucket small enough is read (sorted by key) and merged like `join`.
//! Each level is one scan per side; reading a bucket scans too, so integer keys use key
//! ranges instead (`checksum.rs`), which the index serves.

use std::collections::BTreeMap;

use super::checksum::{DEGRADE_SHARE, Digest, Hashing, READ_ROWS};
use super::plan::DiffPlan;
use crate::source::postgres::PgTable;
use crate::source::postgres::hash;

/// The key hash's column in the digest query's inner subquery.
const KEY_HASH: &str = "\"crosscheck key hash\"";

/// Bits of the key hash added per level.
pub const BITS: u32 = 10;
/// Levels at most (60 bits of a 64-bit hash).
pub const MAX_LEVEL: u32 = 6;

/// A bucket: the key hash's lowest `level × BITS` bits equal `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bucket {
    pub level: u32,
    pub value: i64,
}

impl Bucket {
    pub fn mask(level: u32) -> i64 {
        ((1u64 << (BITS * level)) - 1) as i64
    }

    /// The SQL condition selecting this bucket's rows, given the key hash expression.
    pub fn condition(&self, hash: &str) -> String {
        format!("({hash} & {}) = {}", Bucket::mask(self.level), self.value)
    }
}

/// The key hash: both sides bring each key part to the same form first, so equal keys hash alike.
pub fn key_hash(hashing: Hashing<'_>) -> String {
    hash::key_hash(&hashing.key_parts())
}

/// One scan computing the digests of the children of `parents` (all rows at level 1).
pub fn digest_sql(
    hashing: Hashing<'_>,
    predicate: Option<&str>,
    level: u32,
    parents: &[Bucket],
) -> String {
    let parts = hashing.key_parts();
    let hash = hash::key_hash(&parts);
    // The key hash seeds every column's hash (see `hash` for why): computed once per row in a
    // subquery the planner keeps (`OFFSET 0`), under a name no column has.
    let row_hashes = hashing.row_hashes(KEY_HASH);
    // The user's `where` inside; the parent buckets outside, on the key hash already
    // computed, so neither it nor the row hash is computed for rows of other buckets twice.
    let filter = predicate
        .map(|p| format!(" WHERE ({p})"))
        .unwrap_or_default();
    let buckets = if parents.is_empty() {
        String::new()
    } else {
        let any: Vec<String> = parents.iter().map(|b| b.condition(KEY_HASH)).collect();
        format!(" WHERE {}", any.join(" OR "))
    };
    let aggregate = match &row_hashes.1 {
        Some(_) => "sum(rh)::text || '/' || sum(rs)::text",
        None => "sum(rh)::text",
    };
    let strict = row_hashes
        .1
        .as_ref()
        .map(|s| format!(", {s} AS rs"))
        .unwrap_or_default();
    format!(
        "SELECT (h & {mask}) AS bucket, count(*), count(DISTINCT h), {aggregate} \
         FROM (SELECT {KEY_HASH} AS h, {} AS rh{strict} \
         FROM (SELECT {hash} AS {KEY_HASH}, * FROM {}{filter} OFFSET 0) AS keyed{buckets}) \
         AS hashed GROUP BY 1",
        row_hashes.0,
        hashing.table.qualified_name(),
        mask = Bucket::mask(level)
    )
}

/// Which differing buckets to read and which to split at the next level.
pub fn decide(
    level: u32,
    source: &BTreeMap<i64, Digest>,
    target: &BTreeMap<i64, Digest>,
) -> (Vec<Bucket>, Vec<Bucket>, u64) {
    let values: std::collections::BTreeSet<&i64> = source.keys().chain(target.keys()).collect();
    let mut differing = Vec::new();
    let mut agreed = 0;
    for value in &values {
        let (s, t) = (source.get(value), target.get(value));
        // Distinct key hashes fewer than rows: duplicated keys, which must be read.
        let duplicated = |d: Option<&Digest>| d.is_some_and(|d| d.keys != d.rows);
        if s == t && !duplicated(s) {
            agreed += s.map_or(0, |d| d.rows);
        } else {
            differing.push((
                Bucket {
                    level,
                    value: **value,
                },
                s.map_or(0, |d| d.rows).max(t.map_or(0, |d| d.rows)),
            ));
        }
    }
    let degrade =
        !values.is_empty() && differing.len() as f64 > DEGRADE_SHARE * values.len() as f64;
    let (mut read, mut split) = (Vec::new(), Vec::new());
    for (bucket, rows) in differing {
        if degrade || rows <= READ_ROWS || level >= MAX_LEVEL {
            read.push(bucket);
        } else {
            split.push(bucket);
        }
    }
    (read, split, agreed)
}

/// Buckets at most this many are read with a predicate; more, and the whole table is read.
const MAX_READ_BUCKETS: usize = 2048;

/// Drives the hash-bucket bisection, then merges the rows of the buckets that differ.
/// Returns the merge and the rows matched by agreeing digests.
pub async fn run(
    source: (&PgTable, Option<&str>),
    target: (&PgTable, Option<&str>),
    plan: &DiffPlan,
    spec: &super::merge::MergeSpec,
) -> Result<(super::merge::MergeResult, u64), String> {
    let (s_hashing, t_hashing) = Hashing::pair(source.0, target.0, plan);
    let (mut level, mut parents, mut to_read, mut agreed) = (1, Vec::new(), Vec::new(), 0);
    loop {
        let s_sql = digest_sql(s_hashing, source.1, level, &parents);
        let t_sql = digest_sql(t_hashing, target.1, level, &parents);
        let (s, t) = tokio::try_join!(digests(source.0, &s_sql), digests(target.0, &t_sql))?;
        let (read, split, a) = decide(level, &s, &t);
        agreed += a;
        to_read.extend(read);
        if split.is_empty() {
            break;
        }
        parents = split;
        level += 1;
    }
    let predicate = |hashing: Hashing<'_>, user: Option<&str>| -> Option<String> {
        let hash = key_hash(hashing);
        let buckets = if to_read.len() > MAX_READ_BUCKETS {
            None
        } else if to_read.is_empty() {
            Some("false".to_string())
        } else {
            Some(
                to_read
                    .iter()
                    .map(|b| b.condition(&hash))
                    .collect::<Vec<_>>()
                    .join(" OR "),
            )
        };
        super::checksum::restrict(buckets, user)
    };
    let s_pred = predicate(s_hashing, source.1);
    let t_pred = predicate(t_hashing, target.1);
    let s_stream = super::side::postgres_stream(source.0, s_pred.as_deref(), &plan.source);
    let t_stream = super::side::postgres_stream(target.0, t_pred.as_deref(), &plan.target);
    let merged = super::merge::merge(s_stream, t_stream, spec).await?;
    Ok((merged, agreed))
}

async fn digests(table: &PgTable, sql: &str) -> Result<BTreeMap<i64, Digest>, String> {
    let rows = super::checksum::query(table, sql).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let (bucket, rows, keys): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            (
                bucket,
                Digest {
                    rows: rows as u64,
                    keys: keys as u64,
                    sum: row.get::<_, Option<String>>(3).unwrap_or_default(),
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_nest() {
        let parent = Bucket { level: 1, value: 5 };
        assert_eq!(Bucket::mask(1), 1023);
        assert_eq!(parent.condition("h"), "(h & 1023) = 5");
        assert_eq!(Bucket::mask(6), (1i64 << 60) - 1);
    }

    #[test]
    fn small_differences_are_read_large_ones_split() {
        let digest = |rows: u64, sum: &str| Digest {
            rows,
            keys: rows,
            sum: sum.into(),
        };
        let mut s = BTreeMap::new();
        let mut t = BTreeMap::new();
        for v in 0..100 {
            s.insert(v, digest(10_000, "1"));
            t.insert(v, digest(10_000, "1"));
        }
        t.insert(3, digest(10_000, "2"));
        s.insert(7, digest(10, "1"));
        t.insert(7, digest(9, "1"));
        let (read, split, agreed) = decide(1, &s, &t);
        assert_eq!(read, [Bucket { level: 1, value: 7 }]);
        assert_eq!(split, [Bucket { level: 1, value: 3 }]);
        assert_eq!(agreed, 98 * 10_000);
    }
}
