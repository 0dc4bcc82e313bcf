//! Bounded memory: the pool every in-process query shares, and the settings that let sorts
//! finish inside it by spilling to the temporary folder instead of failing.
//!
//! A sort reserves `sort_spill_reservation_bytes` it cannot spill (for merging its runs), per
//! partition; a diff sorts both sides at once. With DataFusion's greedy pool one sorter could
//! take the whole pool for its buffered rows, leaving another unable to reserve its merge
//! memory ("Resources exhausted … ExternalSorterMerge"); and at 10 MiB a partition, a machine
//! with many cores reserved more than the limit before sorting a row. So: a fair pool (each
//! spilling operator gets its share and spills past it), at most one partition per 32 MiB of
//! the limit, and merge reservations sized to the limit.

use std::num::NonZeroUsize;
use std::sync::Arc;

use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionConfig;

const MIB: usize = 1024 * 1024;

/// In-process memory for queries: `CROSSCHECK_MEMORY_LIMIT` (MiB), 256 MiB by default.
pub fn memory_limit() -> usize {
    std::env::var("CROSSCHECK_MEMORY_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|mb| *mb >= 16)
        .unwrap_or(256)
        * MIB
}

/// What the process needs besides the rows its queries hold: its code, the buffers of the
/// file readers and of spill files read back, batches in flight between operators, the
/// allocator's slack. Measured on a 3,000,000-row diff of shuffled CSV files (README).
const PROGRAM_RESERVE: usize = 96 * MIB;

/// The queries' pool: the limit less the program's reserve, so the whole process stays
/// within the limit; never under half of it (below 192 MiB the limit cannot cover both).
pub fn pool_size(limit: usize) -> usize {
    limit.saturating_sub(PROGRAM_RESERVE).max(limit / 2)
}

/// Partitions a query runs in: the machine's, at most one per 32 MiB of the limit.
pub fn partitions(limit: usize, cores: usize) -> usize {
    cores.clamp(1, (limit / (32 * MIB)).max(1))
}

/// Unspillable memory each sort keeps for merging: an eighth of a partition's share, so the
/// merge reservations of both sides of a diff take a quarter of the pool at most.
pub fn merge_reservation(limit: usize, partitions: usize) -> usize {
    (limit / (8 * partitions.max(1))).clamp(MIB / 4, 10 * MIB)
}

/// `config` with partitions and merge reservations fitted to the memory limit.
pub fn fit(config: SessionConfig, limit: usize) -> SessionConfig {
    let partitions = partitions(limit, config.target_partitions());
    config
        .with_target_partitions(partitions)
        .with_sort_spill_reservation_bytes(merge_reservation(limit, partitions))
}

/// The runtime: a fair pool of `limit` bytes that names its largest consumers when full,
/// spilling to the system's temporary folder.
pub fn runtime(limit: usize) -> datafusion::error::Result<Arc<RuntimeEnv>> {
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(limit),
        NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN),
    );
    RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .build_arc()
}

/// An error of a failed spill, said as one: which folder, and what to do about it.
pub fn spill_context(text: String) -> String {
    let folder = std::env::temp_dir();
    let folder = folder.to_string_lossy();
    let help = "sorts spill there past the memory limit (CROSSCHECK_MEMORY_LIMIT); \
                set TMPDIR to a folder with room";
    if text.contains("os error 28") {
        format!("the disk is full ({text}); if it is the temporary folder `{folder}`: {help}")
    } else if text.contains(&format!("{}/.tmp", folder.trim_end_matches('/'))) {
        format!("cannot spill to the temporary folder `{folder}` ({text}): {help}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_leaves_the_program_its_reserve() {
        assert_eq!(pool_size(256 * MIB), 160 * MIB);
        assert_eq!(pool_size(512 * MIB), 416 * MIB);
        // Below 192 MiB the limit cannot hold both: the pool keeps half of it.
        assert_eq!(pool_size(128 * MIB), 64 * MIB);
        assert_eq!(pool_size(16 * MIB), 8 * MIB);
    }

    #[test]
    fn settings_fit_the_limit() {
        assert_eq!(partitions(256 * MIB, 64), 8);
        assert_eq!(partitions(256 * MIB, 2), 2);
        assert_eq!(partitions(16 * MIB, 8), 1);
        for (limit, cores) in [
            (16 * MIB, 8),
            (256 * MIB, 64),
            (256 * MIB, 2),
            (4096 * MIB, 96),
        ] {
            let p = partitions(limit, cores);
            // Both sides of a diff: their merge reservations leave most of the pool to sort in.
            assert!(
                2 * p * merge_reservation(limit, p) <= limit / 4,
                "{limit} {cores}"
            );
        }
    }
}
