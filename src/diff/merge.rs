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

use super::compare::{Policy, compare};
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
    async fn ready(&mut self, spec: &MergeSpec, converter: &RowConverter) -> Result<bool, String> {
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
                    let batch = batch.map_err(|e| crate::kernel::error_text(&e))?;
                    self.rows += batch.num_rows() as u64;
                    let keys = key_columns(&batch, spec)?;
                    let rows = converter
                        .convert_columns(&keys)
                        .map_err(|e| e.to_string())?;
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
    ) -> Result<(Position, u64), String> {
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

fn key_columns(batch: &RecordBatch, spec: &MergeSpec) -> Result<Vec<ArrayRef>, String> {
    (0..spec.keys)
        .map(|k| cast(batch.column(k), &spec.key_types[k]).map_err(|e| format!("key column: {e}")))
        .collect()
}

pub async fn merge(
    source: SendableRecordBatchStream,
    target: SendableRecordBatchStream,
    spec: &MergeSpec,
) -> Result<MergeResult, String> {
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
    let converter = RowConverter::new(fields).map_err(|e| e.to_string())?;
    let (mut s, mut t) = (Cursor::new(source), Cursor::new(target));
    let mut result = MergeResult {
        column_differences: vec![0; spec.column_names.len()],
        column_forgiven: vec![0; spec.column_names.len()],
        ..Default::default()
    };
    let mut pairs: Vec<(Position, Position)> = Vec::new();
    loop {
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
                record_row(&mut result, spec, kind, s.key_values(first, spec.keys), n);
            }
            Ordering::Greater => {
                let (first, n) = t.take_group(spec, &converter).await?;
                let kind = if n > 1 {
                    Kind::DuplicateKey
                } else {
                    Kind::OnlyInTarget
                };
                record_row(&mut result, spec, kind, t.key_values(first, spec.keys), n);
            }
            Ordering::Equal => {
                let (sf, sn) = s.take_group(spec, &converter).await?;
                let (tf, tn) = t.take_group(spec, &converter).await?;
                if sn > 1 || tn > 1 {
                    // Never matched silently: which of the duplicates would be the pair?
                    record_row(
                        &mut result,
                        spec,
                        Kind::DuplicateKey,
                        s.key_values(sf, spec.keys),
                        sn + tn,
                    );
                } else {
                    pairs.push((sf, tf));
                    if pairs.len() >= CHUNK {
                        compare_pairs(&mut result, spec, &s, &t, &pairs)?;
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
    compare_pairs(&mut result, spec, &s, &t, &pairs)?;
    result.source_rows = s.rows;
    result.target_rows = t.rows;
    Ok(result)
}

fn wants_more(result: &MergeResult, spec: &MergeSpec) -> bool {
    spec.keep_all || result.differences.len() < spec.keep
}

fn record_row(result: &mut MergeResult, spec: &MergeSpec, kind: Kind, key: Vec<Value>, rows: u64) {
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
    if wants_more(result, spec) {
        result.differences.push(Difference {
            key,
            kind,
            column: None,
            source,
            target,
        });
    }
}

/// Compares a chunk of matched pairs column by column.
fn compare_pairs(
    result: &mut MergeResult,
    spec: &MergeSpec,
    s: &Cursor,
    t: &Cursor,
    pairs: &[(Position, Position)],
) -> Result<(), String> {
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
            .map_err(|e| format!("column `{}`: {e}", spec.column_names[j]))?;
        for (i, differs) in verdict.differs.iter().enumerate() {
            if differs == Some(true) {
                row_differs[i] = true;
                result.column_differences[j] += 1;
            }
        }
        result.column_forgiven[j] +=
            verdict.forgiven.iter().filter(|f| *f == Some(true)).count() as u64;
        column_verdicts.push((verdict, s_array, t_array));
    }
    for (i, differs) in row_differs.iter().enumerate() {
        if !differs {
            continue;
        }
        result.changed += 1;
        if !wants_more(result, spec) {
            continue;
        }
        let key = s.key_values(pairs[i].0, spec.keys);
        for (j, (verdict, s_array, t_array)) in column_verdicts.iter().enumerate() {
            if verdict.differs.value(i) && wants_more(result, spec) {
                result.differences.push(Difference {
                    key: key.clone(),
                    kind: Kind::Changed,
                    column: Some(spec.column_names[j].clone()),
                    source: cell(s_array, i),
                    target: cell(t_array, i),
                });
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
) -> Result<ArrayRef, String> {
    let arrays: Vec<&dyn Array> = cursor
        .batches
        .iter()
        .map(|(b, _)| b.column(column).as_ref())
        .collect();
    let indices: Vec<(usize, usize)> = positions
        .map(|(id, row)| ((id - cursor.first_id) as usize, row))
        .collect();
    interleave(&arrays, &indices).map_err(|e| e.to_string())
}
