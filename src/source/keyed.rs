//! What a diff asks of a database holding one of its sides: to read the side sorted by key,
//! and to digest its normalised rows per key bucket where they live, so that only the
//! buckets whose digests differ travel. `diff/` plans, bisects and merges; a database
//! source implements `KeyedTable` and `Digester`, and `keyed` finds it behind a table.
//! The types here are the request both sides of that seam speak.

use std::any::Any;
use std::collections::BTreeMap;

use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::SendableRecordBatchStream;

use super::error::SourceResult;
use crate::config::{Normalize, Tolerance};

/// What the values of a column pair mean, decided from both sides' types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Integers and decimals: exact.
    Exact,
    /// A float (or a number written as text) on either side: compared as f64.
    Float,
    Text,
    /// Timestamps; `aware` when either side carries a time zone.
    Instant,
    Date,
    Bool,
    /// Anything else compares by its text.
    Other,
}

/// How one column pair is compared.
#[derive(Clone, Debug)]
pub struct Policy {
    pub family: Family,
    pub tolerance: Option<Tolerance>,
    pub normalize: Normalize,
    /// The zone naive timestamps are read in, when compared with instants.
    pub timezone: chrono_tz::Tz,
    /// Both sides have the same Arrow type: the checksum may hash values as they are.
    pub same_type: bool,
    /// NULL means "could not be determined" (a tree file's `sha256` when it was not read):
    /// it equals nothing, not even another NULL.
    pub null_is_unknown: bool,
    /// The text side of the pair holds exact numbers (a database's unconstrained `numeric`):
    /// against a float it is not rounded to one (see `float_exact`).
    pub exact_text: bool,
    /// A float against an exact number (see `float_exact`): compared by the digits the float
    /// holds, which the checksum cannot hash.
    pub float_against_exact: bool,
    /// A database's `jsonb` column on either side: text compares as JSON values (see
    /// `json_text`). A `json` column's exact text is its value, and compares as text.
    pub json: bool,
}

/// How one side is read: its key expressions, then its compared columns, in merge order.
#[derive(Clone, Debug)]
pub struct SidePlan {
    /// `(column, cast to text)` per key.
    pub keys: Vec<(String, bool)>,
    /// Per key of a side read as raw text: the merge type its text is cast to before sorting.
    pub key_casts: Vec<Option<DataType>>,
    pub columns: Vec<String>,
    /// Per column: read as the source's own text form (a time or an interval compared with
    /// a CSV field holds what the database would write).
    pub as_text: Vec<bool>,
    /// Every column read as its exact text: a CSV side against a typed side.
    pub raw: bool,
}

/// Both sides of a diff as the digests see them: each side's read plan and each compared
/// column's policy (the hash of a column must agree with how the merge compares it).
#[derive(Clone, Copy)]
pub struct Pairing<'a> {
    pub source: &'a SidePlan,
    pub target: &'a SidePlan,
    pub policies: &'a [Policy],
}

/// Buckets a key range is cut into per level.
pub const FAN_OUT: i128 = 1024;

/// An inclusive range of integer keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub low: i64,
    pub high: i64,
}

impl Range {
    /// The bucket of `key` among `FAN_OUT` equal-width buckets of the range (fewer when the
    /// range holds fewer keys). A database computes the same with integer arithmetic.
    pub fn bucket_of(self, key: i64) -> i128 {
        let span = self.span();
        (key as i128 - self.low as i128) * FAN_OUT.min(span) / span
    }

    /// The keys of bucket `b`: the smallest keys whose bucket is `b` up to those of `b + 1`.
    pub fn bucket(self, b: i128) -> Range {
        let span = self.span();
        let n = FAN_OUT.min(span);
        // ceil(b * span / n): the first key offset that lands in bucket b.
        let first = |b: i128| (b * span + n - 1) / n;
        Range {
            low: (self.low as i128 + first(b)) as i64,
            high: (self.low as i128 + first(b + 1) - 1) as i64,
        }
    }

    /// Whether `bucket_of` can be computed in 64-bit integers: `(key - low) * FAN_OUT` cannot
    /// overflow. Past it a database computes it in exact decimals.
    pub fn buckets_in_64_bits(self) -> bool {
        self.span() * FAN_OUT < i64::MAX as i128
    }

    /// How many keys the range holds.
    pub fn span(self) -> i128 {
        self.high as i128 - self.low as i128 + 1
    }
}

/// Bits of the key hash added per level.
pub const HASH_BITS: u32 = 10;
/// Levels at most (60 bits of a 64-bit hash).
pub const MAX_HASH_LEVEL: u32 = 6;

/// A bucket of rows by the hash of their key: its lowest `level × HASH_BITS` bits equal
/// `value`. Level 0 is every row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HashBucket {
    pub level: u32,
    pub value: i64,
}

impl HashBucket {
    pub const ALL: HashBucket = HashBucket { level: 0, value: 0 };

    pub fn mask(level: u32) -> i64 {
        ((1u64 << (HASH_BITS * level)) - 1) as i64
    }
}

/// Count and hash sum of one bucket on one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub rows: u64,
    /// Distinct keys; fewer than `rows` means duplicated keys, which must be read to be reported.
    pub keys: u64,
    /// The sum of row hashes, as the database prints it.
    pub sum: String,
}

/// The smallest and largest integer key of a side, and whether some row has no key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyBounds {
    pub range: Option<Range>,
    pub null_keys: bool,
}

/// Key ranges at most this many are read with a condition; more, and the whole side is.
pub const MAX_READ_RANGES: usize = 512;
/// Hash buckets at most this many are read with a condition; more, and the whole side is.
pub const MAX_READ_BUCKETS: usize = 2048;

/// Which rows of a side to read (always within the side's own `where`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Restriction {
    All,
    /// Rows whose integer key is in one of the ranges, and those without a key when asked.
    KeyRanges {
        ranges: Vec<Range>,
        null_keys: bool,
    },
    /// Rows whose key hash falls in one of the buckets.
    HashBuckets(Vec<HashBucket>),
}

/// One side of a pair of tables on the same kind of database, hashed alike: a query per
/// level of the bisection, then the rows of the differing buckets.
#[async_trait]
pub trait Digester: Send + Sync {
    /// The bounds of the side's integer key.
    async fn key_bounds(&self) -> SourceResult<KeyBounds>;
    /// The digests of the `FAN_OUT` buckets of each range, by (range index, bucket).
    async fn range_digests(
        &self,
        ranges: &[Range],
    ) -> SourceResult<BTreeMap<(usize, i128), Digest>>;
    /// The digests of the children of `parents` (all of one level).
    async fn hash_digests(
        &self,
        parents: &[HashBucket],
    ) -> SourceResult<BTreeMap<HashBucket, Digest>>;
    /// The statement `range_digests` sends (for `explain`).
    fn range_digest_sql(&self, ranges: &[Range]) -> String;
    /// The statement `hash_digests` sends (for `explain`).
    fn hash_digest_sql(&self, parents: &[HashBucket]) -> String;
    /// The rows of `restriction`, sorted by key, laid out as the merge reads them.
    fn read(&self, restriction: &Restriction) -> SendableRecordBatchStream;
}

/// A table a database holds, digested where it lives.
pub trait KeyedTable: Send + Sync {
    /// The database, as the user knows it ("PostgreSQL").
    fn engine(&self) -> &'static str;
    /// The name of the source it belongs to.
    fn source_name(&self) -> &str;
    /// A `where` planned by DataFusion over this table's bare column names, as this
    /// database's SQL; an error says why the database would not mean the same by it.
    fn where_sql(&self, predicate: &Expr) -> SourceResult<String>;
    /// Reading the side in key order where it lives, when the database orders keys as Arrow
    /// compares them; `None`: the diff sorts the side in-process.
    fn sorted_reader(&self) -> Option<&dyn SortedReader>;
    /// Why `auto` reads this database's tables rather than digest them, when hashing a row
    /// there costs more than sending it (`algorithm: checksum` still digests).
    fn reads_faster_than_it_hashes(&self) -> Option<String> {
        None
    }
    /// This table as the source and `target` as the target of a checksum, each with its
    /// `where` (from `where_sql`); an error says why the pair cannot be hashed alike.
    fn digesters<'a>(
        &'a self,
        target: &'a dyn KeyedTable,
        pairing: Pairing<'a>,
        predicates: [Option<String>; 2],
    ) -> SourceResult<[Box<dyn Digester + 'a>; 2]>;
    fn as_any(&self) -> &dyn Any;
}

/// A database table read sorted by key by the database itself (text in byte order).
pub trait SortedReader: Send + Sync {
    /// The statement that reads the side sorted by key (`predicate` from `where_sql`).
    fn sorted_sql(&self, predicate: Option<&str>, plan: &SidePlan) -> String;
    /// The side sorted by key, laid out as the merge reads it (`k0…`, then `c0…`).
    fn sorted(&self, predicate: Option<&str>, plan: &SidePlan) -> SendableRecordBatchStream;
}

/// The table behind a provider as a database that reads and digests where it lives, when it
/// is one.
pub fn keyed(provider: &dyn TableProvider) -> Option<Box<dyn KeyedTable>> {
    super::postgres::keyed::keyed(provider).or_else(|| super::mysql::keyed::keyed(provider))
}

/// `SELECT keys, columns FROM … ORDER BY keys` in DataFusion's SQL: a side laid out and
/// ordered as the merge reads it (`k0…`, then `c0…`), `from` being its `FROM` clause.
pub fn sorted_select(plan: &SidePlan, from: &str) -> String {
    let ident = crate::kernel::sqlgen::ident;
    let mut select: Vec<String> = plan
        .keys
        .iter()
        .enumerate()
        .map(|(i, (k, as_text))| {
            if *as_text {
                format!("CAST({} AS VARCHAR) AS k{i}", ident(k))
            } else {
                format!("{} AS k{i}", ident(k))
            }
        })
        .collect();
    select.extend(plan.columns.iter().enumerate().map(|(j, c)| {
        if plan.as_text[j] {
            format!("CAST({} AS VARCHAR) AS c{j}", ident(c))
        } else {
            format!("{} AS c{j}", ident(c))
        }
    }));
    let order: Vec<String> = (0..plan.keys.len())
        .map(|i| format!("k{i} ASC NULLS LAST"))
        .collect();
    format!(
        "SELECT {} {from} ORDER BY {}",
        select.join(", "),
        order.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_buckets_nest() {
        assert_eq!(HashBucket::mask(0), 0);
        assert_eq!(HashBucket::mask(1), 1023);
        assert_eq!(HashBucket::mask(MAX_HASH_LEVEL), (1i64 << 60) - 1);
    }
}
