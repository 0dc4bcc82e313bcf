//! The checksum over key ranges, for one integer key: each database hashes its rows and
//! sums the hashes per range of keys (`Digester::range_digests`); ranges whose count or sum
//! differ are cut into `FAN_OUT` smaller ones (`bisect`), and the small differing ranges are
//! read and merged. Empty buckets never come back, so sparse keys cost nothing; the key's
//! index serves every range.

use std::collections::BTreeSet;

use super::bisect::{self, DEGRADE_SHARE, Digests};
use super::error::DiffResult;
use super::merge::{MergeResult, MergeSpec};
use crate::source::keyed::{Digester, FAN_OUT, MAX_READ_RANGES, Range, Restriction};

/// Level-1 buckets digested first to judge whether bisecting pays.
const PROBES: i128 = 32;

/// Both sides' digests of the buckets of `parents`, keyed by the buckets' own ranges.
async fn children(
    [source, target]: &[Box<dyn Digester + '_>; 2],
    parents: &[Range],
) -> DiffResult<(Digests<Range>, Digests<Range>)> {
    let (s, t) = tokio::try_join!(source.range_digests(parents), target.range_digests(parents))?;
    let by_range = |digests: std::collections::BTreeMap<(usize, i128), _>| {
        digests
            .into_iter()
            .map(|((i, b), d)| (parents[i].bucket(b), d))
            .collect()
    };
    Ok((by_range(s), by_range(t)))
}

/// Drives the bisection of key ranges, then merges the rows of the ranges that differ.
/// `None`: a sample of buckets differed almost everywhere, and reading both sides whole
/// (join) is cheaper. Otherwise the merge and the rows matched by agreeing digests.
pub async fn run(
    sides: &[Box<dyn Digester + '_>; 2],
    spec: &MergeSpec,
) -> DiffResult<Option<(MergeResult, u64)>> {
    let (s, t) = tokio::try_join!(sides[0].key_bounds(), sides[1].key_bounds())?;
    // Rows without a key fall in no range: they are always read, as join would match them.
    let null_keys = s.null_keys || t.null_keys;
    let whole = match (s.range, t.range) {
        (None, None) => None,
        (Some(r), None) | (None, Some(r)) => Some(r),
        (Some(a), Some(b)) => Some(Range {
            low: a.low.min(b.low),
            high: a.high.max(b.high),
        }),
    };
    // Digest a sample of level-1 buckets first (32 of the 1,024, spread over the key range):
    // if most of them differ, bisecting would hash everything only to read everything.
    if let Some(whole) = whole
        && whole.span() - 1 > FAN_OUT * 64
    {
        let sample: Vec<Range> = (0..PROBES)
            .map(|i| whole.bucket(i * FAN_OUT / PROBES + FAN_OUT / PROBES / 2))
            .collect();
        let (s, t) = tokio::try_join!(
            sides[0].range_digests(&sample),
            sides[1].range_digests(&sample)
        )?;
        // A sampled bucket differs when any of its sub-buckets does.
        let differing: BTreeSet<usize> = s
            .keys()
            .chain(t.keys())
            .filter(|k| s.get(k) != t.get(k))
            .map(|k| k.0)
            .collect();
        if differing.len() as f64 > DEGRADE_SHARE * PROBES as f64 {
            return Ok(None);
        }
    }
    let found = bisect::bisect(
        whole.into_iter().collect(),
        |parents| async move { children(sides, &parents).await },
        |r: &Range| r.low == r.high,
    )
    .await?;
    let ranges = coalesce(found.read);
    // Past so many ranges a condition costs more than reading the side whole; then every
    // row is merged, those of agreeing ranges too, and none is counted twice.
    if ranges.len() > MAX_READ_RANGES {
        let merged = bisect::read_and_merge(sides, &Restriction::All, spec).await?;
        return Ok(Some((merged, 0)));
    }
    let restriction = Restriction::KeyRanges { ranges, null_keys };
    let merged = bisect::read_and_merge(sides, &restriction, spec).await?;
    Ok(Some((merged, found.agreed_rows)))
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
            let n = FAN_OUT.min(range.span());
            let mut next = range.low as i128;
            for b in 0..n {
                let r = range.bucket(b);
                assert_eq!(r.low as i128, next, "{range:?} bucket {b}");
                assert!(r.high >= r.low);
                assert_eq!(range.bucket_of(r.low), b);
                assert_eq!(range.bucket_of(r.high), b);
                next = r.high as i128 + 1;
            }
            assert_eq!(next, range.high as i128 + 1);
        }
    }

    #[test]
    fn touching_ranges_coalesce() {
        let r = |low, high| Range { low, high };
        assert_eq!(
            coalesce(vec![r(10, 12), r(1, 3), r(4, 5), r(7, 8), r(8, 9)]),
            [r(1, 5), r(7, 12)]
        );
        assert_eq!(
            coalesce(vec![r(i64::MAX, i64::MAX), r(i64::MIN, 0)]).len(),
            2
        );
    }
}
