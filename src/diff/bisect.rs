//! One bisection over buckets, for key ranges (`checksum`) and key-hash bits (`hashed`)
//! alike: both sides digest the children of the buckets that still differ; agreeing
//! children are matched without being read, small differing ones are read, large ones are
//! split at the next level. When many buckets of a level differ, splitting stops and they
//! are read: join speed, not worse. No I/O here but what the `Digester`s do.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use super::error::DiffResult;
use super::merge::{MergeResult, MergeSpec, merge};
use crate::source::keyed::{Digest, Digester, Restriction};

/// A differing bucket with at most this many rows (on either side) is read, not split.
pub const READ_ROWS: u64 = 4096;
/// If more than this share of a level's buckets differ, they are read rather than split.
pub const DEGRADE_SHARE: f64 = 0.25;

/// Both sides' digests of one level, by bucket.
pub type Digests<B> = BTreeMap<B, Digest>;

/// What to do next with the buckets of one level.
#[derive(Debug, PartialEq)]
pub struct Step<B> {
    /// Buckets small (or numerous) enough to read and merge.
    pub read: Vec<B>,
    /// Buckets to split at the next level.
    pub split: Vec<B>,
    /// Rows in buckets whose digests agree: matched without being read.
    pub agreed_rows: u64,
}

/// Compares one level's digests of both sides and decides each differing bucket; a bucket
/// `indivisible` says cannot be split (one key, the last level) is read.
pub fn decide<B: Ord + Copy>(
    source: &Digests<B>,
    target: &Digests<B>,
    indivisible: impl Fn(&B) -> bool,
) -> Step<B> {
    let buckets: BTreeSet<&B> = source.keys().chain(target.keys()).collect();
    let mut differing = Vec::new();
    let mut agreed_rows = 0;
    for bucket in &buckets {
        let (s, t) = (source.get(bucket), target.get(bucket));
        // Distinct keys fewer than rows: duplicated keys, which must be read to be reported.
        let duplicated = |d: Option<&Digest>| d.is_some_and(|d| d.keys != d.rows);
        if s == t && !duplicated(s) {
            agreed_rows += s.map_or(0, |d| d.rows);
        } else {
            let rows = s.map_or(0, |d| d.rows).max(t.map_or(0, |d| d.rows));
            differing.push((**bucket, rows));
        }
    }
    let degrade =
        !buckets.is_empty() && differing.len() as f64 > DEGRADE_SHARE * buckets.len() as f64;
    let mut step = Step {
        read: Vec::new(),
        split: Vec::new(),
        agreed_rows,
    };
    for (bucket, rows) in differing {
        if degrade || rows <= READ_ROWS || indivisible(&bucket) {
            step.read.push(bucket);
        } else {
            step.split.push(bucket);
        }
    }
    step
}

/// What a bisection found: the buckets to read, and the rows matched without being read.
#[derive(Debug, PartialEq)]
pub struct Bisected<B> {
    pub read: Vec<B>,
    pub agreed_rows: u64,
}

/// Bisects from `roots` down: `children` digests the children of a level's buckets on both
/// sides, until no bucket is left to split.
pub async fn bisect<B, F, Fut>(
    roots: Vec<B>,
    mut children: F,
    indivisible: impl Fn(&B) -> bool,
) -> DiffResult<Bisected<B>>
where
    B: Ord + Copy,
    F: FnMut(Vec<B>) -> Fut,
    Fut: Future<Output = DiffResult<(Digests<B>, Digests<B>)>>,
{
    let mut found = Bisected {
        read: Vec::new(),
        agreed_rows: 0,
    };
    let mut parents = roots;
    while !parents.is_empty() {
        let (s, t) = children(parents).await?;
        let step = decide(&s, &t, &indivisible);
        found.agreed_rows += step.agreed_rows;
        found.read.extend(step.read);
        parents = step.split;
    }
    Ok(found)
}

/// Reads the rows of `restriction` from both sides, sorted by key, and merges them.
pub async fn read_and_merge(
    [source, target]: &[Box<dyn Digester + '_>; 2],
    restriction: &Restriction,
    spec: &MergeSpec,
) -> DiffResult<MergeResult> {
    merge(source.read(restriction), target.read(restriction), spec).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(rows: u64, sum: &str) -> Digest {
        Digest {
            rows,
            keys: rows,
            sum: sum.into(),
        }
    }

    #[test]
    fn small_differences_are_read_large_ones_split() {
        let (mut s, mut t) = (BTreeMap::new(), BTreeMap::new());
        for b in 0..100 {
            s.insert(b, digest(10_000, "1"));
            t.insert(b, digest(10_000, "1"));
        }
        t.insert(3, digest(10_000, "2"));
        s.insert(7, digest(10, "1"));
        t.insert(7, digest(9, "1"));
        // Only on one side.
        s.insert(200, digest(5, "5"));
        let step = decide(&s, &t, |_| false);
        assert_eq!(step.read, [7, 200]);
        assert_eq!(step.split, [3]);
        assert_eq!(step.agreed_rows, 98 * 10_000);
        // A bucket that cannot be split is read however large.
        assert_eq!(decide(&s, &t, |b| *b == 3).read, [3, 7, 200]);
    }

    #[test]
    fn equal_digests_of_duplicated_keys_are_read() {
        let dup = Digest {
            rows: 2,
            keys: 1,
            sum: "9".into(),
        };
        let s = BTreeMap::from([(0, dup.clone()), (1, digest(4, "1"))]);
        let t = BTreeMap::from([(0, dup), (1, digest(4, "1"))]);
        let step = decide(&s, &t, |_| false);
        assert_eq!((step.read, step.agreed_rows), (vec![0], 4));
    }

    #[test]
    fn many_differences_are_read_not_split() {
        let (mut s, mut t) = (BTreeMap::new(), BTreeMap::new());
        for b in 0..100 {
            s.insert(b, digest(977, "1"));
            t.insert(b, digest(if b < 60 { 9000 } else { 977 }, "1"));
        }
        let step = decide(&s, &t, |_| false);
        assert!(step.split.is_empty());
        assert_eq!(step.read.len(), 60);
    }

    #[tokio::test]
    async fn bisecting_descends_until_nothing_differs_that_can_be_split() {
        // A bucket b has children 10b..10b+9: two-digit buckets hold 10,000 rows (split),
        // three-digit ones 1,000 (read); one row differs, under 15 then 155.
        let level = |parents: Vec<u64>| async move {
            let (mut s, mut t) = (BTreeMap::new(), BTreeMap::new());
            for p in parents {
                for c in p * 10..p * 10 + 10 {
                    let rows = if c < 100 { 10_000 } else { 1_000 };
                    s.insert(c, digest(rows, "1"));
                    let sum = if [15, 155].contains(&c) { "2" } else { "1" };
                    t.insert(c, digest(rows, sum));
                }
            }
            Ok((s, t))
        };
        let found = bisect(vec![1], level, |_| false).await.unwrap();
        assert_eq!(found.read, [155]);
        assert_eq!(found.agreed_rows, 9 * 10_000 + 9 * 1_000);
        // Nothing to bisect: nothing asked, nothing read.
        let none = bisect(Vec::<u64>::new(), level, |_| false).await.unwrap();
        assert_eq!((none.read.len(), none.agreed_rows), (0, 0));
    }
}
