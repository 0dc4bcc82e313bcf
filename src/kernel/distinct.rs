//! Exact distinct counts of columns as their batches stream past, in bounded memory: what a
//! checkpoint records per column while it reads a table once.
//!
//! Each value becomes a 128-bit key: the value itself when it fits (integers, decimals,
//! times, floats with `-0` as `0` and one NaN, as databases count them), else two XXH64
//! of its bytes under two seeds (text, wide decimals), whose collisions are out of reach
//! (about n²/2^129: one chance in 10^21 among a billion values). Keys are kept in a set per column until the sets together
//! pass `MEMORY_KEYS`; the largest set is then spilled: its keys, and every later key of
//! that column, are appended to one of `PARTITIONS` files by their hash, and each file is
//! counted on its own at the end. Equal keys fall in one file, so the counts add up.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int64Type, TimeUnit,
    TimestampMicrosecondType, UInt64Type,
};
use datafusion::common::Result;

/// Keys held in memory over all columns before the largest set is spilled (~70 MB at most,
/// with the sets' spare room).
const MEMORY_KEYS: usize = 2_000_000;
/// A column whose set reaches this size while more than half the values it has seen were new
/// is nearly unique: it would spill anyway, and a small set stays in the CPU's cache.
const EARLY_SPILL_KEYS: usize = 65_536;
/// Files a spilled column's keys are spread over; each is counted alone at the end, in a set
/// small enough for the cache (a 5,000,000-row unique column: 39,000 keys a file).
const PARTITIONS: usize = 128;
/// Keys buffered per file before they are appended to it.
const BUFFERED_KEYS: usize = 2048;

/// Distinct non-NULL values per column.
pub struct DistinctCounter {
    columns: Vec<Column>,
    spill_dir: PathBuf,
    in_memory: usize,
    memory_keys: usize,
}

struct Column {
    keys: Keys,
    /// Non-NULL values seen.
    seen: usize,
}

enum Keys {
    InMemory(KeySet),
    Spilled(Spill),
}

type KeySet = HashSet<u128, BuildHasherDefault<Mix>>;

impl DistinctCounter {
    /// A counter for `columns` columns. Spill files go under `spill_dir`, created when first
    /// needed and removed when the counter is dropped.
    pub fn new(columns: usize, spill_dir: PathBuf) -> Self {
        let columns = (0..columns)
            .map(|_| Column {
                keys: Keys::InMemory(KeySet::default()),
                seen: 0,
            })
            .collect();
        DistinctCounter {
            columns,
            spill_dir,
            in_memory: 0,
            memory_keys: MEMORY_KEYS,
        }
    }

    /// Counts the values of one batch: `arrays[i]` is column i's.
    pub fn add(&mut self, arrays: &[ArrayRef]) -> Result<()> {
        for (i, array) in arrays.iter().enumerate() {
            let column = &mut self.columns[i];
            column.seen += array.len() - array.null_count();
            match &mut column.keys {
                Keys::InMemory(set) => {
                    let before = set.len();
                    each_key(array, |k| {
                        set.insert(k);
                    })?;
                    self.in_memory += set.len() - before;
                    if set.len() >= EARLY_SPILL_KEYS && set.len() * 2 > column.seen {
                        self.spill(i)?;
                    }
                }
                Keys::Spilled(spill) => {
                    let mut failed = None;
                    each_key(array, |k| {
                        if failed.is_none()
                            && let Err(e) = spill.push(k)
                        {
                            failed = Some(e);
                        }
                    })?;
                    if let Some(e) = failed {
                        return Err(e.into());
                    }
                }
            }
        }
        while self.in_memory > self.memory_keys {
            self.spill_largest()?;
        }
        Ok(())
    }

    fn spill_largest(&mut self) -> std::io::Result<()> {
        let largest = self
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.keys {
                Keys::InMemory(set) => Some((i, set.len())),
                Keys::Spilled(_) => None,
            })
            .max_by_key(|(_, len)| *len);
        match largest {
            Some((i, _)) => self.spill(i),
            None => Ok(()),
        }
    }

    /// Moves column `i`'s keys, and every later one, to its spill files.
    fn spill(&mut self, i: usize) -> std::io::Result<()> {
        let Keys::InMemory(set) = &mut self.columns[i].keys else {
            return Ok(());
        };
        let set = std::mem::take(set);
        self.in_memory -= set.len();
        std::fs::create_dir_all(&self.spill_dir)?;
        let mut spill = Spill::new(self.spill_dir.join(format!("column-{i}")));
        for k in set {
            spill.push(k)?;
        }
        self.columns[i].keys = Keys::Spilled(spill);
        Ok(())
    }

    /// The distinct count of every column, in order.
    pub fn finish(mut self) -> std::io::Result<Vec<u64>> {
        let columns = std::mem::take(&mut self.columns);
        columns
            .into_iter()
            .map(|c| match c.keys {
                Keys::InMemory(set) => Ok(set.len() as u64),
                Keys::Spilled(spill) => spill.count(),
            })
            .collect()
    }
}

impl Drop for DistinctCounter {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.spill_dir);
    }
}

/// One column's keys, appended to files by hash.
struct Spill {
    prefix: PathBuf,
    buffers: Vec<Vec<u128>>,
    written: Vec<bool>,
}

impl Spill {
    fn new(prefix: PathBuf) -> Self {
        Spill {
            prefix,
            buffers: vec![Vec::new(); PARTITIONS],
            written: vec![false; PARTITIONS],
        }
    }

    fn path(&self, partition: usize) -> PathBuf {
        let mut name = self.prefix.as_os_str().to_owned();
        name.push(format!("-{partition}"));
        PathBuf::from(name)
    }

    fn push(&mut self, key: u128) -> std::io::Result<()> {
        // Other bits than the set's own hash uses, so a file's keys still spread in its set.
        let partition = (partition_hash(key) % PARTITIONS as u64) as usize;
        let buffer = &mut self.buffers[partition];
        buffer.push(key);
        if buffer.len() >= BUFFERED_KEYS {
            self.flush(partition)?;
        }
        Ok(())
    }

    fn flush(&mut self, partition: usize) -> std::io::Result<()> {
        let bytes: Vec<u8> = self.buffers[partition]
            .drain(..)
            .flat_map(u128::to_le_bytes)
            .collect();
        append(&self.path(partition), &bytes)?;
        self.written[partition] = true;
        Ok(())
    }

    fn count(mut self) -> std::io::Result<u64> {
        let mut total = 0;
        for partition in 0..PARTITIONS {
            let mut set = KeySet::default();
            if self.written[partition] {
                let mut bytes = Vec::new();
                std::fs::File::open(self.path(partition))?.read_to_end(&mut bytes)?;
                set.reserve(bytes.len() / 16);
                for chunk in bytes.chunks_exact(16) {
                    set.insert(u128::from_le_bytes(chunk.try_into().expect("16 bytes")));
                }
            }
            set.extend(self.buffers[partition].drain(..));
            total += set.len() as u64;
        }
        Ok(total)
    }
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(bytes)
}

/// Calls `f` with the key of every non-NULL value of `array`.
fn each_key(array: &ArrayRef, mut f: impl FnMut(u128)) -> Result<()> {
    use DataType as D;
    let to = |t: D| cast(array, &t);
    let signed = |a: &ArrayRef, f: &mut dyn FnMut(u128)| {
        a.as_primitive::<Int64Type>()
            .iter()
            .flatten()
            .for_each(|v| f(v as i128 as u128))
    };
    match array.data_type() {
        D::Dictionary(_, value) => return each_key(&cast(array, value)?, f),
        D::Int8 | D::Int16 | D::Int32 | D::Int64 => signed(&to(D::Int64)?, &mut f),
        D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => to(D::UInt64)?
            .as_primitive::<UInt64Type>()
            .iter()
            .flatten()
            .for_each(|v| f(u128::from(v))),
        D::Float16 | D::Float32 | D::Float64 => to(D::Float64)?
            .as_primitive::<Float64Type>()
            .iter()
            .flatten()
            .for_each(|v| f(u128::from(float_key(v)))),
        D::Decimal32(..) | D::Decimal64(..) | D::Decimal128(..) => {
            let (p, s) = decimal_of(array.data_type());
            to(D::Decimal128(p, s))?
                .as_primitive::<Decimal128Type>()
                .iter()
                .flatten()
                .for_each(|v| f(v as u128))
        }
        D::Boolean => array
            .as_boolean()
            .iter()
            .flatten()
            .for_each(|v| f(u128::from(v))),
        D::Date32 | D::Date64 => to(D::Date32)?
            .as_primitive::<Date32Type>()
            .iter()
            .flatten()
            .for_each(|v| f(v as i128 as u128)),
        // Instants keep their zone in the type, not the value: the same instant, one key.
        D::Timestamp(_, zone) => to(D::Timestamp(TimeUnit::Microsecond, zone.clone()))?
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .flatten()
            .for_each(|v| f(v as i128 as u128)),
        D::Utf8 | D::LargeUtf8 | D::Utf8View => {
            let text = to(D::Utf8)?;
            // By its bytes, as an engine compares text: also a `numeric` read as its text,
            // whose `1.0` and `1.00` crosscheck's own profile of the live side tells apart.
            for v in text.as_string::<i32>().iter().flatten() {
                f(bytes_key(v.as_bytes()))
            }
        }
        _ => {
            // Wide decimals and anything else: by the bytes of their display text.
            let formatter = datafusion::arrow::util::display::ArrayFormatter::try_new(
                array.as_ref(),
                &Default::default(),
            )?;
            for row in 0..array.len() {
                if array.is_valid(row) {
                    f(bytes_key(formatter.value(row).to_string().as_bytes()))
                }
            }
        }
    }
    Ok(())
}

fn decimal_of(data_type: &DataType) -> (u8, i8) {
    match data_type {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => (*p, *s),
        _ => (38, 0),
    }
}

/// A float's bits, with `-0` as `0` and every NaN as one: equal as databases count them.
fn float_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        (v + 0.0).to_bits()
    }
}

/// Text and other bytes: two XXH64 of them under different seeds, as one 128-bit key.
fn bytes_key(bytes: &[u8]) -> u128 {
    let low = twox_hash::XxHash64::oneshot(0x5eed_0001, bytes);
    let high = twox_hash::XxHash64::oneshot(0x5eed_0002, bytes);
    (u128::from(high) << 64) | u128::from(low)
}

/// The partition a spilled key goes to: a multiply-shift of both halves, other bits than `Mix`.
fn partition_hash(key: u128) -> u64 {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    folded.wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(17) >> 8
}

/// A fast hasher for keys that are values or already hashes: a multiply and xor-shift.
#[derive(Default)]
struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(31);
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    fn count(arrays: Vec<Vec<ArrayRef>>, dir: &Path) -> Vec<u64> {
        let mut counter = DistinctCounter::new(arrays[0].len(), dir.to_path_buf());
        counter.memory_keys = 20_000;
        for batch in arrays {
            counter.add(&batch).expect("counted");
        }
        counter.finish().expect("finished")
    }

    fn floats2() -> ArrayRef {
        Arc::new(Float64Array::from(vec![1.5, 2.5, 0.0, -0.0, 1.5, 1.5]))
    }

    #[test]
    fn counts_as_databases_do() {
        let dir = std::env::temp_dir().join(format!("distinct-test-{}", std::process::id()));
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(0.0),
            Some(-0.0),
            Some(f64::NAN),
            Some(-f64::NAN),
            None,
            Some(1.5),
        ]));
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("A"),
            Some("a "),
            Some(""),
            None,
            Some("a"),
        ]));
        let got = count(
            vec![vec![floats, text.clone()], vec![floats2(), text]],
            &dir,
        );
        // 0 = -0, NaN = NaN; text by its bytes; a value seen in two batches once.
        assert_eq!(got, vec![4, 4]);
    }

    /// Past the memory budget, spilled columns count exactly what an unbounded set counts,
    /// including values seen before and after the spill, and the spill files are removed.
    #[test]
    fn spilled_counts_are_exact_and_leave_nothing() {
        let dir = std::env::temp_dir().join(format!("distinct-spill-{}", std::process::id()));
        let batches: Vec<Vec<ArrayRef>> = (0..30)
            .map(|b: i64| {
                let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(
                    (0..5_000).map(|i| b * 5_000 + i),
                ));
                // Repeats across batches: every value seen 3 times, some before the spill
                // and some after.
                let repeats: ArrayRef = Arc::new(Int64Array::from_iter_values(
                    (0..5_000).map(|i| (b % 10) * 5_000 + i),
                ));
                let names: ArrayRef = Arc::new(StringArray::from_iter_values(
                    (0..5_000).map(|i| format!("n{}", (b * 5_000 + i) % 125_000)),
                ));
                vec![ids, repeats, names]
            })
            .collect();
        let got = count(batches, &dir);
        assert_eq!(got, vec![150_000, 50_000, 125_000]);
        assert!(!dir.exists(), "spill files left behind");
    }
}
