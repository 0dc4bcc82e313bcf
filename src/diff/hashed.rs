//! The checksum over buckets of the key's hash, for keys that are not a single integer
//! (text, UUID, compound): level 1 groups rows by the hash's lowest 10 bits, level 2 by the
//! lowest 20 within the buckets that differed, and so on (`bisect`); a differing bucket
//! small enough is read (sorted by key) and merged like `join`. Each level is one scan per
//! side; reading a bucket scans too, so integer keys use key ranges instead (`checksum`),
//! which the index serves.

use super::bisect::{self, Digests};
use super::error::DiffResult;
use super::merge::{MergeResult, MergeSpec};
use crate::source::keyed::{Digester, HashBucket, MAX_HASH_LEVEL, MAX_READ_BUCKETS, Restriction};

async fn children(
    [source, target]: &[Box<dyn Digester + '_>; 2],
    parents: &[HashBucket],
) -> DiffResult<(Digests<HashBucket>, Digests<HashBucket>)> {
    Ok(tokio::try_join!(
        source.hash_digests(parents),
        target.hash_digests(parents)
    )?)
}

/// Drives the hash-bucket bisection, then merges the rows of the buckets that differ.
/// Returns the merge and the rows matched by agreeing digests.
pub async fn run(
    sides: &[Box<dyn Digester + '_>; 2],
    spec: &MergeSpec,
) -> DiffResult<(MergeResult, u64)> {
    let found = bisect::bisect(
        vec![HashBucket::ALL],
        |parents| async move { children(sides, &parents).await },
        |b: &HashBucket| b.level >= MAX_HASH_LEVEL,
    )
    .await?;
    // Past so many buckets a condition costs more than reading the side whole; then every
    // row is merged, those of agreeing buckets too, and none is counted twice.
    if found.read.len() > MAX_READ_BUCKETS {
        let merged = bisect::read_and_merge(sides, &Restriction::All, spec).await?;
        return Ok((merged, 0));
    }
    let restriction = Restriction::HashBuckets(found.read);
    let merged = bisect::read_and_merge(sides, &restriction, spec).await?;
    Ok((merged, found.agreed_rows))
}
