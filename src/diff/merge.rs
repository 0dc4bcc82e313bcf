//! The join algorithm's core: two streams sorted by key, merged in one pass. Rows are
//! matched by key, and matched pairs are compared column by column in chunks (Arrow kernels
//! over aligned arrays), so memory holds a few batches whatever the table size. No I/O
//! besides pulling the two streams.

use std::cmp::Ordering;
use std::collections::VecDeque;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::compute::{SortOptions, cast, interleave};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use serde_json::Value;

use super::compare::{Policy, compare, largest_difference};
use super::error::{DiffError, DiffResult};
use crate::kernel::values::cell;

/// Matched pairs compared at a time.
const CHUNK: usize = 8192;

/// What a difference is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    OnlyInSource,
    OnlyInTarget,
    Changed,
    DuplicateKey,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OnlyInSource => "only_in_source",
            Kind::OnlyInTarget => "only_in_target",
            Kind::Changed => "changed",
            Kind::DuplicateKey => "duplicate_key",
        }
    }
}

/// One difference: the key, what differs, and the two values (for a changed column).
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub key: Vec<Value>,
    pub kind: Kind,
    pub column: Option<String>,
    pub source: Value,
    pub target: Value,
}

/// What the merge found.
#[derive(Clone, Debug, Default)]
pub struct MergeResult {
    pub only_in_source: u64,
    pub only_in_target: u64,
    pub changed: u64,
    pub duplicate_keys: u64,
    /// Rows matched by key and compared.
    pub matched: u64,
    pub source_rows: u64,
    pub target_rows: u64,
    /// Per compared column: rows where it differs, rows equal only thanks to the policy.
    pub column_differences: Vec<u64>,
    pub column_forgiven: Vec<u64>,
    /// Per compared column: changed values that are NULL on one side only.
    pub column_null_one_side: Vec<u64>,
    /// Per compared column of numbers: the largest absolute difference of a changed value.
    pub column_largest_difference: Vec<Option<f64>>,
    /// Differences in key order: the first `keep` of them, or all with `keep_all`.
    pub differences: Vec<Difference>,
}

/// How to merge: the layout both streams share (`keys` key columns, then the compared ones).
pub struct MergeSpec {
    pub keys: usize,
    pub key_types: Vec<DataType>,
    pub column_names: Vec<String>,
    pub policies: Vec<Policy>,
    pub keep: usize,
    pub keep_all: bool,
}

type Position = (u64, usize);

/// The differences kept, each with the merge step (key group) it was found at. Unmatched
/// rows are known at once, changed ones only when their chunk of pairs is compared, so each
/// kind keeps its own first `keep` and the two are put back in key order at the end.
#[derive(Default)]
struct Kept {
    unmatched: Vec<(u64, Difference)>,
    changed: Vec<(u64, Difference)>,
}

impl Kept {
    fn wants(list: &[(u64, Difference)], spec: &MergeSpec) -> bool {
        spec.keep_all || list.len() < spec.keep
    }

    /// Both kinds in key order, the first `keep` of them (all with `keep_all`).
    fn into_differences(self, spec: &MergeSpec) -> Vec<Difference> {
        let mut all: Vec<(u64, Difference)> = self.unmatched;
        all.extend(self.changed);
        // Stable: a changed row's column differences keep their column order.
        all.sort_by_key(|(step, _)| *step);
        if !spec.keep_all {
            all.truncate(spec.keep);
        }
        all.into_iter().map(|(_, d)| d).collect()
    }
}

/// One side: retained batches (by increasing id), their key rows, and a cursor.
struct Cursor {
    stream: SendableRecordBatchStream,
    batches: VecDeque<(RecordBatch, Rows)>,
    first_id: u64,
    position: Position,
    done: bool,
    rows: u64,
}

impl Cursor {
    fn new(stream: SendableRecordBatchStream) -> Self {
        Cursor {
            stream,
            batches: VecDeque::new(),
            first_id: 0,
            position: (0, 0),
            done: false,
            rows: 0,
        }
    }

    fn batch(&self, id: u64) -> &(RecordBatch, Rows) {
        &self.batches[(id - self.first_id) as usize]
    }

    /// Makes the cursor point at a row, pulling batches as needed; false at the end.
    async fn ready(&mut self, spec: &MergeSpec, converter: &RowConverter) -> DiffResult<bool> {
        loop {
            let (id, row) = self.position;
            if id >= self.first_id && ((id - self.first_id) as usize) < self.batches.len() {
                if row < self.batch(id).0.num_rows() {
                    return Ok(true);
                }
                self.position = (id + 1, 0);
                continue;
            }
            if self.done {
                return Ok(false);
            }
            match self.stream.next().await {
                None => self.done = true,
                Some(batch) => {
                    let batch = batch.map_err(DiffError::from)?;
                    self.rows += batch.num_rows() as u64;
                    let keys = key_columns(&batch, spec)?;
                    let rows = converter.convert_columns(&keys)?;
                    self.batches.push_back((batch, rows));
                }
            }
        }
    }

    /// The key of the row at `position`, borrowed (no copy).
    fn row_at(&self, (id, row): Position) -> datafusion::arrow::row::Row<'_> {
        self.batch(id).1.row(row)
    }

    /// Consumes the rows sharing the current key; returns the first one and how many.
    async fn take_group(
        &mut self,
        spec: &MergeSpec,
        converter: &RowConverter,
    ) -> DiffResult<(Position, u64)> {
        let first = self.position;
        let mut count = 0;
        // The first row's batch stays retained while its group is read: compare in place.
        while self.ready(spec, converter).await? {
            if self.row_at(self.position) != self.row_at(first) {
                break;
            }
            count += 1;
            self.position = (self.position.0, self.position.1 + 1);
        }
        Ok((first, count))
    }

    /// Drops batches before `keep_from`.
    fn release(&mut self, keep_from: u64) {
        while self.first_id < keep_from && !self.batches.is_empty() {
            self.batches.pop_front();
            self.first_id += 1;
        }
    }

    fn value(&self, (id, row): Position, column: usize) -> Value {
        cell(self.batch(id).0.column(column), row)
    }

    fn key_values(&self, position: Position, keys: usize) -> Vec<Value> {
        (0..keys).map(|k| self.value(position, k)).collect()
    }
}

fn key_columns(batch: &RecordBatch, spec: &MergeSpec) -> DiffResult<Vec<ArrayRef>> {
    (0..spec.keys)
        .map(|k| {
            cast(batch.column(k), &spec.key_types[k])
                .map_err(|e| DiffError::Value(format!("key column: {e}")))
        })
        .collect()
}

pub async fn merge(
    source: SendableRecordBatchStream,
    target: SendableRecordBatchStream,
    spec: &MergeSpec,
) -> DiffResult<MergeResult> {
    // Keys sort ascending with NULLs last, as both sides' queries order them.
    let fields = spec
        .key_types
        .iter()
        .map(|t| {
            SortField::new_with_options(
                t.clone(),
                SortOptions {
                    descending: false,
                    nulls_first: false,
                },
            )
        })
        .collect();
    let converter = RowConverter::new(fields)?;
    let (mut s, mut t) = (Cursor::new(source), Cursor::new(target));
    let mut result = MergeResult {
        column_differences: vec![0; spec.column_names.len()],
        column_forgiven: vec![0; spec.column_names.len()],
        column_null_one_side: vec![0; spec.column_names.len()],
        column_largest_difference: vec![None; spec.column_names.len()],
        ..Default::default()
    };
    let mut pairs: Vec<(Position, Position, u64)> = Vec::new();
    let mut kept = Kept::default();
    let mut step = 0u64;
    loop {
        step += 1;
        let (s_ready, t_ready) = (
            s.ready(spec, &converter).await?,
            t.ready(spec, &converter).await?,
        );
        let order = match (s_ready, t_ready) {
            (false, false) => break,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (true, true) => s.row_at(s.position).cmp(&t.row_at(t.position)),
        };
        match order {
            Ordering::Less => {
                let (first, n) = s.take_group(spec, &converter).await?;
                let kind = if n > 1 {
                    Kind::DuplicateKey
                } else {
                    Kind::OnlyInSource
                };
                let key = s.key_values(first, spec.keys);
                record_row(&mut result, &mut kept, spec, (step, kind), key, n);
            }
            Ordering::Greater => {
                let (first, n) = t.take_group(spec, &converter).await?;
                let kind = if n > 1 {
                    Kind::DuplicateKey
                } else {
                    Kind::OnlyInTarget
                };
                let key = t.key_values(first, spec.keys);
                record_row(&mut result, &mut kept, spec, (step, kind), key, n);
            }
            Ordering::Equal => {
                let (sf, sn) = s.take_group(spec, &converter).await?;
                let (tf, tn) = t.take_group(spec, &converter).await?;
                if sn > 1 || tn > 1 {
                    // Never matched silently: which of the duplicates would be the pair?
                    let key = s.key_values(sf, spec.keys);
                    let found = (step, Kind::DuplicateKey);
                    record_row(&mut result, &mut kept, spec, found, key, sn + tn);
                } else {
                    pairs.push((sf, tf, step));
                    if pairs.len() >= CHUNK {
                        compare_pairs(&mut result, &mut kept, spec, &s, &t, &pairs)?;
                        pairs.clear();
                    }
                }
            }
        }
        if pairs.is_empty() {
            s.release(s.position.0);
            t.release(t.position.0);
        }
    }
    compare_pairs(&mut result, &mut kept, spec, &s, &t, &pairs)?;
    result.differences = kept.into_differences(spec);
    result.source_rows = s.rows;
    result.target_rows = t.rows;
    Ok(result)
}

fn record_row(
    result: &mut MergeResult,
    kept: &mut Kept,
    spec: &MergeSpec,
    (step, kind): (u64, Kind),
    key: Vec<Value>,
    rows: u64,
) {
    let (source, target) = match kind {
        Kind::OnlyInSource => {
            result.only_in_source += 1;
            ("present".into(), "missing".into())
        }
        Kind::OnlyInTarget => {
            result.only_in_target += 1;
            ("missing".into(), "present".into())
        }
        _ => {
            result.duplicate_keys += 1;
            (
                Value::from(format!("{rows} rows share this key")),
                Value::Null,
            )
        }
    };
    if Kept::wants(&kept.unmatched, spec) {
        let difference = Difference {
            key,
            kind,
            column: None,
            source,
            target,
        };
        kept.unmatched.push((step, difference));
    }
}

/// Compares a chunk of matched pairs column by column.
fn compare_pairs(
    result: &mut MergeResult,
    kept: &mut Kept,
    spec: &MergeSpec,
    s: &Cursor,
    t: &Cursor,
    pairs: &[(Position, Position, u64)],
) -> DiffResult<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    result.matched += pairs.len() as u64;
    let mut row_differs = vec![false; pairs.len()];
    let mut column_verdicts = Vec::with_capacity(spec.column_names.len());
    for (j, policy) in spec.policies.iter().enumerate() {
        let column = spec.keys + j;
        let s_array = aligned(s, pairs.iter().map(|p| p.0), column)?;
        let t_array = aligned(t, pairs.iter().map(|p| p.1), column)?;
        let verdict = compare(&s_array, &t_array, policy)
            .map_err(|e| DiffError::Value(format!("column `{}`: {e}", spec.column_names[j])))?;
        for (i, differs) in verdict.differs.iter().enumerate() {
            if differs == Some(true) {
                row_differs[i] = true;
                result.column_differences[j] += 1;
            }
        }
        result.column_forgiven[j] +=
            verdict.forgiven.iter().filter(|f| *f == Some(true)).count() as u64;
        result.column_null_one_side[j] += (0..pairs.len())
            .filter(|&i| verdict.differs.value(i) && s_array.is_null(i) != t_array.is_null(i))
            .count() as u64;
        // Most chunks of a large table have no change: nothing to cast then.
        let any_differs = verdict.differs.true_count() > 0;
        if let Some(largest) = any_differs
            .then(|| largest_difference(&s_array, &t_array, &verdict.differs, policy))
            .flatten()
        {
            let slot = &mut result.column_largest_difference[j];
            *slot = Some(slot.map_or(largest, |d| d.max(largest)));
        }
        column_verdicts.push((verdict, s_array, t_array));
    }
    for (i, differs) in row_differs.iter().enumerate() {
        if !differs {
            continue;
        }
        result.changed += 1;
        if !Kept::wants(&kept.changed, spec) {
            continue;
        }
        let key = s.key_values(pairs[i].0, spec.keys);
        for (j, (verdict, s_array, t_array)) in column_verdicts.iter().enumerate() {
            if verdict.differs.value(i) && Kept::wants(&kept.changed, spec) {
                let difference = Difference {
                    key: key.clone(),
                    kind: Kind::Changed,
                    column: Some(spec.column_names[j].clone()),
                    source: cell(s_array, i),
                    target: cell(t_array, i),
                };
                kept.changed.push((pairs[i].2, difference));
            }
        }
    }
    Ok(())
}

/// The values of `column` at the given positions, as one array.
fn aligned(
    cursor: &Cursor,
    positions: impl Iterator<Item = Position>,
    column: usize,
) -> DiffResult<ArrayRef> {
    let arrays: Vec<&dyn Array> = cursor
        .batches
        .iter()
        .map(|(b, _)| b.column(column).as_ref())
        .collect();
    let indices: Vec<(usize, usize)> = positions
        .map(|(id, row)| ((id - cursor.first_id) as usize, row))
        .collect();
    interleave(&arrays, &indices).map_err(DiffError::from)
}

/// The merge against a naive count over maps, on the shapes that break a streaming merge:
/// duplicate-key groups and runs of equal keys split across batch boundaries, empty and
/// one-row batches, a side that ends first, and more matched pairs than one chunk.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    use super::*;
    use crate::config::Normalize;
    use crate::diff::compare::Family;

    /// A deterministic pseudo-random sequence (no dependency for it).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    type Rows = Vec<(i64, Option<i64>)>;

    /// `rows` (sorted by key) as a stream of batches of random sizes, empty ones included.
    fn stream(rows: &Rows, rng: &mut Lcg) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
        ]));
        let mut batches = Vec::new();
        let mut at = 0;
        while at < rows.len() {
            let size = [0, 1, 2, 7, 300, 5000][rng.next(6) as usize].min(rows.len() - at);
            let part = &rows[at..at + size];
            batches.push(Ok(RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.0))),
                    Arc::new(Int64Array::from_iter(part.iter().map(|r| r.1))),
                ],
            )
            .unwrap()));
            at += size;
        }
        Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(batches),
        ))
    }

    fn spec() -> MergeSpec {
        MergeSpec {
            keys: 1,
            key_types: vec![DataType::Int64],
            column_names: vec!["v".into()],
            policies: vec![Policy {
                family: Family::Exact,
                tolerance: None,
                normalize: Normalize::default(),
                timezone: chrono_tz::UTC,
                same_type: true,
                null_is_unknown: false,
                exact_text: false,
                float_against_exact: false,
                json: false,
            }],
            keep: 5,
            keep_all: false,
        }
    }

    async fn merged(source: &Rows, target: &Rows, rng: &mut Lcg) -> MergeResult {
        let (s, t) = (stream(source, rng), stream(target, rng));
        merge(s, t, &spec()).await.unwrap()
    }

    /// `(only in source, only in target, changed, duplicate keys, matched)` counted naively.
    fn naive(source: &Rows, target: &Rows) -> (u64, u64, u64, u64, u64) {
        let group = |rows: &Rows| {
            let mut m: BTreeMap<i64, Vec<Option<i64>>> = BTreeMap::new();
            for (k, v) in rows {
                m.entry(*k).or_default().push(*v);
            }
            m
        };
        let (s, t) = (group(source), group(target));
        let mut counts = (0, 0, 0, 0, 0);
        let keys: std::collections::BTreeSet<&i64> = s.keys().chain(t.keys()).collect();
        for key in keys {
            match (s.get(key), t.get(key)) {
                (Some(a), Some(b)) if a.len() == 1 && b.len() == 1 => {
                    counts.4 += 1;
                    counts.2 += u64::from(a[0] != b[0]);
                }
                (Some(a), None) if a.len() == 1 => counts.0 += 1,
                (None, Some(b)) if b.len() == 1 => counts.1 += 1,
                _ => counts.3 += 1,
            }
        }
        counts
    }

    fn table(rng: &mut Lcg, rows: usize) -> Rows {
        let mut out: Rows = (0..rows as i64)
            .map(|k| (k, (k % 11 != 0).then_some(k * 3)))
            .collect();
        // Duplicate keys in runs of 2 and 3, wherever the batches happen to split them.
        for _ in 0..rows / 500 {
            let k = rng.next(rows as u64) as i64;
            for _ in 0..1 + rng.next(2) {
                out.push((k, Some(k * 3)));
            }
        }
        out.sort_by_key(|r| r.0);
        out
    }

    #[tokio::test]
    async fn a_merge_over_any_batch_split_counts_what_a_naive_compare_counts() {
        let mut rng = Lcg(7);
        for round in 0..12 {
            let rows = [0, 1, 40, 20_000][round % 4];
            let source = table(&mut rng, rows);
            let mut target = table(&mut rng, rows);
            // Changes: values (to NULL, from NULL, another), rows dropped, rows added past
            // the source's end.
            for row in target.iter_mut() {
                match rng.next(40) {
                    0 => row.1 = None,
                    1 => row.1 = Some(-1),
                    2 if row.1.is_none() => row.1 = Some(0),
                    _ => {}
                }
            }
            target.retain(|_| rng.next(50) != 0);
            let end = rows as i64;
            target.extend((end..end + (rng.next(3) as i64)).map(|k| (k, Some(k))));
            let result = merged(&source, &target, &mut rng).await;
            let got = (
                result.only_in_source,
                result.only_in_target,
                result.changed,
                result.duplicate_keys,
                result.matched,
            );
            assert_eq!(got, naive(&source, &target), "round {round}, {rows} rows");
            assert_eq!(result.source_rows, source.len() as u64);
            assert_eq!(result.target_rows, target.len() as u64);
            assert_eq!(result.column_differences, [result.changed]);
            let keys: Vec<i64> = result
                .differences
                .iter()
                .map(|d| d.key[0].as_i64().unwrap())
                .collect();
            assert!(
                keys.is_sorted(),
                "round {round}: differences out of key order {keys:?}"
            );
            let expected = naive(&source, &target);
            let found = expected.0 + expected.1 + expected.2 + expected.3;
            assert_eq!(
                keys.len() as u64,
                found.min(5),
                "round {round}: the first five"
            );
        }
    }

    #[tokio::test]
    async fn differences_come_in_key_order_with_both_values() {
        let mut rng = Lcg(1);
        let source: Rows = vec![(1, Some(10)), (2, Some(20)), (4, None)];
        let target: Rows = vec![(2, Some(21)), (3, Some(30)), (4, Some(0))];
        let result = merged(&source, &target, &mut rng).await;
        let shown: Vec<(Value, Kind, Value, Value)> = result
            .differences
            .iter()
            .map(|d| (d.key[0].clone(), d.kind, d.source.clone(), d.target.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    1.into(),
                    Kind::OnlyInSource,
                    "present".into(),
                    "missing".into()
                ),
                (2.into(), Kind::Changed, 20.into(), 21.into()),
                (
                    3.into(),
                    Kind::OnlyInTarget,
                    "missing".into(),
                    "present".into()
                ),
                (4.into(), Kind::Changed, Value::Null, 0.into()),
            ]
        );
    }
}
