//! `crosscheck_row_hash(c1, c2, …)`: one 64-bit hash of a row's values by meaning, computed
//! in-process over the values as read, so that it is the same whichever engine a table lives
//! in. A checkpoint stores it per key; comparing a live table with a checkpoint computes it
//! again over the same columns, in the checkpoint's order.
//!
//! Why not the checksum diff's row hash: that one is computed inside PostgreSQL by its own
//! type-specific functions and only ever compared with another PostgreSQL's; a checkpoint is
//! compared with whatever holds the data later (a restore, files, another engine).
//!
//! Each value is written as a tag, a length and canonical bytes, then the row's bytes are
//! hashed with XXH64. What the canonical form makes equal, and what it keeps apart:
//! * every number as its exact decimal digits, normalised: `5` as int2, int8, numeric `5.00`
//!   or a float `5.0` is `5`; a float is the shortest decimal that reads back as it (`0.1`);
//!   `-0` is `0`. Text `"5"` is text, never the number: lost leading zeros show.
//! * NULL is its own tag, so NULL and `''` differ; the length prefix keeps `("ab", "c")` and
//!   `("a", "bc")` apart, and columns are hashed in a fixed order, so values swapped between
//!   columns differ.
//! * instants (timestamps with a zone) as UTC microseconds, naive timestamps as their own
//!   tag: the same digits as a naive time and as an instant differ, as they mean.
//! * text in every string encoding Arrow has alike; other types by their display text.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Decimal256Array, Int64Array, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The function's name in SQL.
pub const ROW_HASH: &str = "crosscheck_row_hash";
/// The scheme's version: a checkpoint records it, and one written under another is refused.
pub const SCHEME: &str = "crosscheck-row-hash-1";
/// XXH64's seed (any fixed value; changing it is a new scheme).
const SEED: u64 = 0x6372_6f73_7363_6b31;

/// The query that reads a table as its keys and row hashes (named `alias`) over `columns`,
/// in that order: what a checkpoint stores, and what a live table is compared by.
pub fn rows_sql(
    from: &str,
    keys: &[String],
    columns: &[String],
    alias: &str,
    predicate: Option<&str>,
) -> String {
    use super::sqlgen::ident;
    let keys: String = keys.iter().map(|k| format!("{}, ", ident(k))).collect();
    let hash = if columns.is_empty() {
        "CAST(0 AS BIGINT)".to_string()
    } else {
        let columns: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        format!("{ROW_HASH}({})", columns.join(", "))
    };
    let filter = predicate.map(|p| format!(" WHERE {p}")).unwrap_or_default();
    format!("SELECT {keys}{hash} AS {alias} FROM {from}{filter}")
}

pub fn udf() -> ScalarUDF {
    ScalarUDF::from(RowHash {
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RowHash {
    signature: Signature,
}

impl ScalarUDFImpl for RowHash {
    fn name(&self) -> &str {
        ROW_HASH
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let hashes = hash_rows(&arrays, rows)?;
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            && rows == 1
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(
                hashes.value(0),
            ))));
        }
        Ok(ColumnarValue::Array(Arc::new(hashes)))
    }
}

/// The row hashes of `rows` rows of `columns`.
pub fn hash_rows(columns: &[ArrayRef], rows: usize) -> Result<Int64Array> {
    let encoders = columns
        .iter()
        .map(Encoder::new)
        .collect::<Result<Vec<_>>>()?;
    let mut buf = Vec::with_capacity(64 * columns.len().max(1));
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        buf.clear();
        for encoder in &encoders {
            encoder.write(row, &mut buf);
        }
        out.push(twox_hash::XxHash64::oneshot(SEED, &buf) as i64);
    }
    Ok(Int64Array::from(out))
}

/// One column, cast once to the form its values are written from.
enum Encoder {
    Null,
    Signed(ArrayRef),
    Unsigned(ArrayRef),
    Float(ArrayRef),
    Decimal(ArrayRef),
    Text(ArrayRef),
    Bool(ArrayRef),
    Date(ArrayRef),
    Instant(ArrayRef),
    Naive(ArrayRef),
    Binary(ArrayRef),
    /// A list: its offsets, and one encoder over all its elements (each list's count, then
    /// each element encoded as a value: `["a, b"]` and `["a", "b"]` differ).
    List {
        array: ArrayRef,
        offsets: Vec<usize>,
        items: Box<Encoder>,
    },
    /// A struct: each field in order.
    Struct {
        array: ArrayRef,
        fields: Vec<Encoder>,
    },
    /// Anything else, by its display text (times, intervals…), with its type: each row's
    /// text made once.
    Display {
        array: ArrayRef,
        texts: Vec<String>,
    },
}

const TAG_NULL: u8 = 0;
const TAG_NUMBER: u8 = b'n';
const TAG_TEXT: u8 = b's';
const TAG_BOOL: u8 = b'b';
const TAG_DATE: u8 = b'd';
const TAG_INSTANT: u8 = b'T';
const TAG_NAIVE: u8 = b'N';
const TAG_BINARY: u8 = b'x';
const TAG_OTHER: u8 = b'o';
const TAG_LIST: u8 = b'l';
const TAG_STRUCT: u8 = b'r';

impl Encoder {
    fn new(array: &ArrayRef) -> Result<Self> {
        use DataType as D;
        let to = |t: D| cast(array, &t);
        Ok(match array.data_type() {
            D::Null => Encoder::Null,
            D::Dictionary(_, value) => return Encoder::new(&cast(array, value)?),
            D::Int8 | D::Int16 | D::Int32 | D::Int64 => Encoder::Signed(to(D::Int64)?),
            D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => Encoder::Unsigned(to(D::UInt64)?),
            D::Float16 | D::Float32 | D::Float64 => Encoder::Float(to(D::Float64)?),
            D::Decimal128(..) | D::Decimal256(..) => Encoder::Decimal(array.clone()),
            D::Decimal32(p, s) | D::Decimal64(p, s) => Encoder::Decimal(to(D::Decimal128(*p, *s))?),
            D::Utf8 => Encoder::Text(array.clone()),
            D::LargeUtf8 | D::Utf8View => Encoder::Text(to(D::Utf8)?),
            D::Boolean => Encoder::Bool(array.clone()),
            D::Date32 | D::Date64 => Encoder::Date(to(D::Date32)?),
            D::Timestamp(_, Some(_)) => {
                Encoder::Instant(to(D::Timestamp(TimeUnit::Microsecond, Some("UTC".into())))?)
            }
            D::Timestamp(_, None) => Encoder::Naive(to(D::Timestamp(TimeUnit::Microsecond, None))?),
            D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => {
                Encoder::Binary(to(D::LargeBinary)?)
            }
            D::List(_)
            | D::LargeList(_)
            | D::ListView(_)
            | D::LargeListView(_)
            | D::FixedSizeList(..) => {
                let list = to(D::LargeList(Arc::new(
                    datafusion::arrow::datatypes::Field::new_list_field(
                        list_item_type(array.data_type()),
                        true,
                    ),
                )))?;
                let large = list.as_list::<i64>();
                let offsets = large.value_offsets().iter().map(|o| *o as usize).collect();
                let items = Box::new(Encoder::new(large.values())?);
                Encoder::List {
                    array: list,
                    offsets,
                    items,
                }
            }
            D::Struct(_) => {
                let fields = array
                    .as_struct()
                    .columns()
                    .iter()
                    .map(Encoder::new)
                    .collect::<Result<Vec<_>>>()?;
                Encoder::Struct {
                    array: array.clone(),
                    fields,
                }
            }
            // One unit, so that the display text does not depend on the one read.
            D::Time32(_) | D::Time64(_) => display(to(D::Time64(TimeUnit::Microsecond))?),
            _ => display(array.clone()),
        })
    }

    fn write(&self, row: usize, buf: &mut Vec<u8>) {
        let array = match self {
            Encoder::Null => return buf.push(TAG_NULL),
            Encoder::Signed(a)
            | Encoder::Unsigned(a)
            | Encoder::Float(a)
            | Encoder::Decimal(a)
            | Encoder::Text(a)
            | Encoder::Bool(a)
            | Encoder::Date(a)
            | Encoder::Instant(a)
            | Encoder::Naive(a)
            | Encoder::Binary(a)
            | Encoder::List { array: a, .. }
            | Encoder::Struct { array: a, .. }
            | Encoder::Display { array: a, .. } => a,
        };
        if array.is_null(row) {
            return buf.push(TAG_NULL);
        }
        match self {
            Encoder::Null => {}
            Encoder::Signed(a) => {
                let v = a.as_primitive::<Int64Type>().value(row);
                number(buf, v < 0, u128::from(v.unsigned_abs()), 0);
            }
            Encoder::Unsigned(a) => {
                let v = a.as_primitive::<UInt64Type>().value(row);
                number(buf, false, u128::from(v), 0);
            }
            Encoder::Float(a) => {
                let v = a.as_primitive::<Float64Type>().value(row);
                float(buf, v);
            }
            Encoder::Decimal(a) => match a.as_any().downcast_ref::<Decimal128Array>() {
                Some(d) if d.scale() >= 0 => {
                    let v = d.value(row);
                    number(
                        buf,
                        v < 0,
                        v.unsigned_abs(),
                        d.scale().unsigned_abs().into(),
                    );
                }
                _ => {
                    let text = if let Some(d) = a.as_any().downcast_ref::<Decimal128Array>() {
                        d.value_as_string(row)
                    } else if let Some(d) = a.as_any().downcast_ref::<Decimal256Array>() {
                        d.value_as_string(row)
                    } else {
                        String::new()
                    };
                    field(buf, TAG_NUMBER, normalise_decimal(&text).as_bytes());
                }
            },
            Encoder::Text(a) => {
                let text = a.as_any().downcast_ref::<StringArray>();
                field(
                    buf,
                    TAG_TEXT,
                    text.map_or(&b""[..], |t| t.value(row).as_bytes()),
                );
            }
            Encoder::Bool(a) => field(buf, TAG_BOOL, &[u8::from(a.as_boolean().value(row))]),
            Encoder::Date(a) => {
                let days = a.as_primitive::<Date32Type>().value(row);
                field(buf, TAG_DATE, &days.to_le_bytes());
            }
            Encoder::Instant(a) => {
                let micros = a.as_primitive::<TimestampMicrosecondType>().value(row);
                field(buf, TAG_INSTANT, &micros.to_le_bytes());
            }
            Encoder::Naive(a) => {
                let micros = a.as_primitive::<TimestampMicrosecondType>().value(row);
                field(buf, TAG_NAIVE, &micros.to_le_bytes());
            }
            Encoder::Binary(a) => field(buf, TAG_BINARY, a.as_binary::<i64>().value(row)),
            Encoder::List { offsets, items, .. } => {
                let (start, end) = (offsets[row], offsets[row + 1]);
                buf.push(TAG_LIST);
                buf.extend_from_slice(&((end - start) as u32).to_le_bytes());
                for item in start..end {
                    items.write(item, buf);
                }
            }
            Encoder::Struct { fields, .. } => {
                buf.push(TAG_STRUCT);
                buf.extend_from_slice(&(fields.len() as u32).to_le_bytes());
                for f in fields {
                    f.write(row, buf);
                }
            }
            Encoder::Display { texts, .. } => field(buf, TAG_OTHER, texts[row].as_bytes()),
        }
    }
}

/// A column hashed by its display text, prefixed with its type.
fn display(array: ArrayRef) -> Encoder {
    let texts = {
        let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default());
        (0..array.len())
            .map(|row| {
                let text = formatter
                    .as_ref()
                    .map(|f| f.value(row).to_string())
                    .unwrap_or_default();
                format!("{}:{text}", array.data_type())
            })
            .collect()
    };
    Encoder::Display { array, texts }
}

/// The element type of any list type.
fn list_item_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => f.data_type().clone(),
        other => other.clone(),
    }
}

/// Tag, length, bytes: no two different sequences of values write the same bytes.
fn field(buf: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    buf.push(tag);
    buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// A number field of `magnitude` × 10^-`scale`, as `normalise_decimal` would write its text
/// (`-0.05`, `5`, `12.5`), written straight into `buf`: rows are hashed by the million.
fn number(buf: &mut Vec<u8>, negative: bool, mut magnitude: u128, mut scale: u32) {
    while scale > 0 && magnitude.is_multiple_of(10) {
        magnitude /= 10;
        scale -= 1;
    }
    let mut digits = [0u8; 40];
    let mut start = digits.len();
    // 128-bit division is a library call: digits of values that fit 64 bits (nearly all)
    // are taken with 64-bit arithmetic.
    while magnitude > u128::from(u64::MAX) {
        start -= 1;
        digits[start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
    }
    let mut small = magnitude as u64;
    loop {
        start -= 1;
        digits[start] = b'0' + (small % 10) as u8;
        small /= 10;
        if small == 0 {
            break;
        }
    }
    let digits = &digits[start..];
    let zero = digits == b"0";
    let scale = scale as usize;
    let sign = usize::from(negative && !zero);
    let len = sign
        + if scale == 0 {
            digits.len()
        } else {
            digits.len().max(scale + 1) + 1
        };
    buf.push(TAG_NUMBER);
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    if sign == 1 {
        buf.push(b'-');
    }
    if scale == 0 {
        buf.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        buf.extend_from_slice(int);
        buf.push(b'.');
        buf.extend_from_slice(frac);
    } else {
        buf.extend_from_slice(b"0.");
        buf.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        buf.extend_from_slice(digits);
    }
}

/// A float as exact decimal digits: the shortest that reads back as it, `-0` as `0`.
fn float(buf: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if v.is_nan() {
        return field(buf, TAG_NUMBER, b"NaN");
    }
    if v.is_infinite() {
        return field(
            buf,
            TAG_NUMBER,
            if v > 0.0 { b"Infinity" } else { b"-Infinity" },
        );
    }
    // Rust prints the shortest round-trip digits without an exponent, and with no leading or
    // trailing zero: already the normalised form (a unit test holds them equal).
    buf.push(TAG_NUMBER);
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let _ = write!(buf, "{}", v + 0.0);
    let len = (buf.len() - at - 4) as u32;
    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// `-05.500` → `-5.5`, `5.000` → `5`, `-0.0` → `0`.
pub(crate) fn normalise_decimal(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let body = if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    };
    if negative && body != "0" {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        BooleanArray, Decimal128Array, Float32Array, Float64Array, Int16Array, StringViewArray,
        TimestampMicrosecondArray,
    };

    fn one(columns: Vec<ArrayRef>) -> i64 {
        hash_rows(&columns, 1).expect("hashed").value(0)
    }
    fn text(v: Option<&str>) -> ArrayRef {
        Arc::new(StringArray::from(vec![v]))
    }
    fn int(v: i64) -> ArrayRef {
        Arc::new(Int64Array::from(vec![v]))
    }

    #[test]
    fn numbers_hash_by_value_whatever_their_type() {
        let five = one(vec![int(5)]);
        assert_eq!(five, one(vec![Arc::new(Int16Array::from(vec![5]))]));
        assert_eq!(five, one(vec![Arc::new(Float64Array::from(vec![5.0]))]));
        let decimal = Decimal128Array::from(vec![500])
            .with_precision_and_scale(10, 2)
            .expect("a decimal");
        assert_eq!(five, one(vec![Arc::new(decimal)]));
        // Text that looks like a number is text: a lost leading zero shows.
        assert_ne!(five, one(vec![text(Some("5"))]));
        assert_ne!(one(vec![text(Some("00123"))]), one(vec![text(Some("123"))]));
        let tenth = Decimal128Array::from(vec![10])
            .with_precision_and_scale(5, 2)
            .expect("a decimal");
        assert_eq!(
            one(vec![Arc::new(Float64Array::from(vec![0.1]))]),
            one(vec![Arc::new(tenth)])
        );
        assert_eq!(
            one(vec![Arc::new(Float64Array::from(vec![-0.0]))]),
            one(vec![Arc::new(Float64Array::from(vec![0.0]))])
        );
        // A float32 is its exact value, which is not 0.1.
        assert_ne!(
            one(vec![Arc::new(Float32Array::from(vec![0.1f32]))]),
            one(vec![Arc::new(Float64Array::from(vec![0.1]))])
        );
    }

    #[test]
    fn null_empty_moves_and_swaps_all_differ() {
        assert_ne!(one(vec![text(None)]), one(vec![text(Some(""))]));
        assert_ne!(
            one(vec![text(Some("ab")), text(Some("c"))]),
            one(vec![text(Some("a")), text(Some("bc"))])
        );
        assert_ne!(
            one(vec![text(Some("x")), text(Some("y"))]),
            one(vec![text(Some("y")), text(Some("x"))])
        );
        assert_ne!(
            one(vec![text(None), text(Some("y"))]),
            one(vec![text(Some("y")), text(None)])
        );
        assert_ne!(one(vec![int(1), int(2)]), one(vec![int(12)]));
        assert_ne!(
            one(vec![Arc::new(BooleanArray::from(vec![true]))]),
            one(vec![int(1)])
        );
        assert_eq!(
            one(vec![text(Some("same"))]),
            one(vec![Arc::new(StringViewArray::from(vec!["same"]))])
        );
    }

    #[test]
    fn instants_and_naive_times_differ_and_zones_do_not() {
        let at = |zone: Option<&str>| -> ArrayRef {
            let a = TimestampMicrosecondArray::from(vec![1_700_000_000_000_000]);
            Arc::new(match zone {
                Some(z) => a.with_timezone(z),
                None => a,
            })
        };
        assert_eq!(one(vec![at(Some("UTC"))]), one(vec![at(Some("+05:00"))]));
        assert_ne!(one(vec![at(Some("UTC"))]), one(vec![at(None)]));
    }

    #[test]
    fn every_row_of_a_batch_is_hashed_on_its_own() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 1]));
        let names: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("a")]));
        let hashes = hash_rows(&[ids, names], 3).expect("hashed");
        assert_eq!(hashes.value(0), hashes.value(2));
        assert_ne!(hashes.value(0), hashes.value(1));
    }

    #[test]
    fn lists_hash_by_their_elements_not_their_display() {
        use datafusion::arrow::array::ListArray;
        use datafusion::arrow::datatypes::Int32Type;
        let texts = |items: Vec<Option<Vec<Option<&str>>>>| -> ArrayRef {
            let mut builder = datafusion::arrow::array::ListBuilder::new(
                datafusion::arrow::array::StringBuilder::new(),
            );
            for item in items {
                match item {
                    Some(values) => {
                        for v in values {
                            builder.values().append_option(v);
                        }
                        builder.append(true);
                    }
                    None => builder.append(false),
                }
            }
            Arc::new(builder.finish())
        };
        let one = |a: ArrayRef| hash_rows(&[a], 1).expect("hashed").value(0);
        assert_ne!(
            one(texts(vec![Some(vec![Some("a, b")])])),
            one(texts(vec![Some(vec![Some("a"), Some("b")])]))
        );
        assert_ne!(one(texts(vec![Some(vec![])])), one(texts(vec![None])));
        assert_ne!(
            one(texts(vec![Some(vec![None])])),
            one(texts(vec![Some(vec![Some("")])]))
        );
        assert_ne!(
            one(texts(vec![Some(vec![Some("x"), Some("y")])])),
            one(texts(vec![Some(vec![Some("y"), Some("x")])]))
        );
        // Rows of one batch: each list by its own elements.
        let lists = texts(vec![
            Some(vec![Some("a")]),
            Some(vec![Some("b")]),
            Some(vec![Some("a")]),
        ]);
        let hashes = hash_rows(&[lists], 3).expect("hashed");
        assert_eq!(hashes.value(0), hashes.value(2));
        assert_ne!(hashes.value(0), hashes.value(1));
        // Integers in a list hash as numbers, whatever their width.
        let narrow: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
        ]));
        let wide: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
        ]));
        assert_eq!(one(narrow), one(wide));
    }

    #[test]
    fn decimals_normalise() {
        for (text, want) in [
            ("5.00", "5"),
            ("-0.00", "0"),
            ("-05.500", "-5.5"),
            ("0.010", "0.01"),
            ("12", "12"),
        ] {
            assert_eq!(normalise_decimal(text), want);
        }
    }

    /// The bytes of one number field, as `field` writes them for `text`.
    fn field_of(text: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        field(&mut buf, TAG_NUMBER, text.as_bytes());
        buf
    }

    /// Numbers are written digit by digit, straight into the row's bytes: they must be the
    /// bytes of the normalised text they stand for, whatever the sign, scale and zeros.
    #[test]
    fn numbers_are_written_as_their_normalised_text() {
        let mut values: Vec<i128> = vec![0, 1, -1, 5, 10, -10, 500, -500, 1005, 99, 100_000];
        let widest = 10i128.pow(38) - 1;
        values.extend([i64::MAX as i128, i64::MIN as i128, widest, -widest]);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x as i64 as i128) >> (x % 50));
        }
        for v in values {
            for scale in [0i8, 1, 2, 3, 7, 20, 38] {
                let Ok(d) = Decimal128Array::from(vec![v]).with_precision_and_scale(38, scale)
                else {
                    continue;
                };
                let mut buf = Vec::new();
                number(&mut buf, v < 0, v.unsigned_abs(), scale as u32);
                let want = field_of(&normalise_decimal(&d.value_as_string(0)));
                assert_eq!(buf, want, "{v} at scale {scale}");
            }
        }
        for v in [
            1e21,
            1e-7,
            0.1,
            -0.5,
            5.0,
            -0.0,
            123.456,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let mut buf = Vec::new();
            float(&mut buf, v);
            assert_eq!(
                buf,
                field_of(&normalise_decimal(&format!("{}", v + 0.0))),
                "{v}"
            );
        }
        let mut buf = Vec::new();
        float(&mut buf, 1e21);
        assert_eq!(buf, field_of("1000000000000000000000"));
    }
}
