//! PostgreSQL's binary COPY format decoded straight into Arrow builders, one small decoder
//! per type family. No I/O here: bytes in, record batches out, so it is tested on bytes.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder,
    ListArray, RecordBatch, RecordBatchOptions, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{
    DataType, Field, IntervalMonthDayNano, IntervalUnit, SchemaRef, TimeUnit,
};

use crate::kernel::values::uuid_text;

/// Bytes of PostgreSQL's binary COPY that do not read as the type the catalog declared.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl From<String> for DecodeError {
    fn from(text: String) -> Self {
        DecodeError(text)
    }
}

impl From<&str> for DecodeError {
    fn from(text: &str) -> Self {
        DecodeError(text.to_string())
    }
}

impl From<DecodeError> for crate::source::error::SourceError {
    fn from(e: DecodeError) -> Self {
        crate::source::error::SourceError::Invalid(e.0)
    }
}

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
/// `infinity` and `-infinity` become 9999-12-31 and 0001-01-01 (23:59:59.999999 and 00:00):
/// order is kept and every tool can print them.
const DATE_INFINITY: (i32, i32) = (2_932_896, -719_162);
const TIMESTAMP_INFINITY: (i64, i64) = (253_402_300_799_999_999, -62_135_596_800_000_000);

/// How one column is read: the Arrow type and the decoder that fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(p, s)`: exact, as Decimal128 with the column's scale.
    Numeric {
        precision: u8,
        scale: i8,
    },
    /// Text of any kind; also every type read through a `::text` cast.
    Text,
    /// `jsonb`: a version byte, then text.
    Jsonb,
    Uuid,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    /// A one-dimensional array with lower bound 1 (others are an error: such columns are read
    /// as text).
    Array(ArrayOf),
}

/// The element types arrays are decoded for; other arrays are read as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayOf {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Text,
    Uuid,
    Date,
    Timestamp,
    TimestampTz,
}

impl ArrayOf {
    pub fn element(self) -> Kind {
        match self {
            ArrayOf::Bool => Kind::Bool,
            ArrayOf::Int2 => Kind::Int2,
            ArrayOf::Int4 => Kind::Int4,
            ArrayOf::Int8 => Kind::Int8,
            ArrayOf::Float4 => Kind::Float4,
            ArrayOf::Float8 => Kind::Float8,
            ArrayOf::Text => Kind::Text,
            ArrayOf::Uuid => Kind::Uuid,
            ArrayOf::Date => Kind::Date,
            ArrayOf::Timestamp => Kind::Timestamp,
            ArrayOf::TimestampTz => Kind::TimestampTz,
        }
    }

    /// The array type for an element kind, if arrays of it are decoded.
    pub fn of(element: Kind) -> Option<ArrayOf> {
        Some(match element {
            Kind::Bool => ArrayOf::Bool,
            Kind::Int2 => ArrayOf::Int2,
            Kind::Int4 => ArrayOf::Int4,
            Kind::Int8 => ArrayOf::Int8,
            Kind::Float4 => ArrayOf::Float4,
            Kind::Float8 => ArrayOf::Float8,
            Kind::Text => ArrayOf::Text,
            Kind::Uuid => ArrayOf::Uuid,
            Kind::Date => ArrayOf::Date,
            Kind::Timestamp => ArrayOf::Timestamp,
            Kind::TimestampTz => ArrayOf::TimestampTz,
            _ => return None,
        })
    }
}

impl Kind {
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int2 => DataType::Int16,
            Kind::Int4 => DataType::Int32,
            Kind::Int8 => DataType::Int64,
            Kind::Float4 => DataType::Float32,
            Kind::Float8 => DataType::Float64,
            Kind::Numeric { precision, scale } => DataType::Decimal128(precision, scale),
            Kind::Text | Kind::Jsonb | Kind::Uuid => DataType::Utf8,
            Kind::Bytea => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::Time => DataType::Time64(TimeUnit::Microsecond),
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            Kind::Array(of) => {
                DataType::List(Arc::new(Field::new("item", of.element().data_type(), true)))
            }
        }
    }
}

/// A builder per column.
enum Column {
    Bool(BooleanBuilder),
    Int2(Int16Builder),
    Int4(Int32Builder),
    Int8(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    Numeric(Decimal128Builder, i8),
    Text(StringBuilder, Kind),
    Bytea(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
    List {
        offsets: Vec<i32>,
        valid: Vec<bool>,
        values: Box<Column>,
        element: Kind,
    },
}

fn be<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

impl Column {
    fn new(kind: Kind, capacity: usize) -> Column {
        match kind {
            Kind::Bool => Column::Bool(BooleanBuilder::with_capacity(capacity)),
            Kind::Int2 => Column::Int2(Int16Builder::with_capacity(capacity)),
            Kind::Int4 => Column::Int4(Int32Builder::with_capacity(capacity)),
            Kind::Int8 => Column::Int8(Int64Builder::with_capacity(capacity)),
            Kind::Float4 => Column::Float4(Float32Builder::with_capacity(capacity)),
            Kind::Float8 => Column::Float8(Float64Builder::with_capacity(capacity)),
            Kind::Numeric { precision, scale } => Column::Numeric(
                Decimal128Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal128(precision, scale)),
                scale,
            ),
            Kind::Text | Kind::Jsonb | Kind::Uuid => {
                Column::Text(StringBuilder::with_capacity(capacity, capacity * 16), kind)
            }
            Kind::Bytea => Column::Bytea(BinaryBuilder::with_capacity(capacity, capacity * 16)),
            Kind::Date => Column::Date(Date32Builder::with_capacity(capacity)),
            Kind::Time => Column::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
            Kind::Timestamp => {
                Column::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
            }
            Kind::TimestampTz => Column::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            Kind::Interval => {
                Column::Interval(IntervalMonthDayNanoBuilder::with_capacity(capacity))
            }
            Kind::Array(of) => Column::List {
                offsets: vec![0],
                valid: Vec::with_capacity(capacity),
                values: Box::new(Column::new(of.element(), capacity)),
                element: of.element(),
            },
        }
    }

    fn append(&mut self, value: Option<&[u8]>) -> Result<(), String> {
        let Some(v) = value else {
            self.append_null();
            return Ok(());
        };
        match self {
            Column::Bool(b) => b.append_value(v.first().is_some_and(|x| *x != 0)),
            Column::Int2(b) => b.append_value(i16::from_be_bytes(be(v)?)),
            Column::Int4(b) => b.append_value(i32::from_be_bytes(be(v)?)),
            Column::Int8(b) => b.append_value(i64::from_be_bytes(be(v)?)),
            Column::Float4(b) => b.append_value(f32::from_be_bytes(be(v)?)),
            Column::Float8(b) => b.append_value(f64::from_be_bytes(be(v)?)),
            Column::Numeric(b, scale) => {
                b.append_option(numeric_to_i128(v, *scale).map_err(|e| e.0)?)
            }
            Column::Text(b, Kind::Jsonb) => b.append_value(
                std::str::from_utf8(v.get(1..).unwrap_or(&[])).map_err(|e| e.to_string())?,
            ),
            Column::Text(b, Kind::Uuid) => b.append_value(uuid_text(v).map_err(|e| e.to_string())?),
            Column::Text(b, _) => {
                b.append_value(std::str::from_utf8(v).map_err(|e| e.to_string())?)
            }
            Column::Bytea(b) => b.append_value(v),
            // ±infinity are i32::MAX/MIN on the wire.
            Column::Date(b) => b.append_value(match i32::from_be_bytes(be(v)?) {
                i32::MAX => DATE_INFINITY.0,
                i32::MIN => DATE_INFINITY.1,
                d => d.saturating_add(PG_EPOCH_DAYS),
            }),
            Column::Time(b) => b.append_value(i64::from_be_bytes(be(v)?)),
            Column::Timestamp(b) => b.append_value(match i64::from_be_bytes(be(v)?) {
                i64::MAX => TIMESTAMP_INFINITY.0,
                i64::MIN => TIMESTAMP_INFINITY.1,
                t => t.saturating_add(PG_EPOCH_MICROS),
            }),
            Column::Interval(b) => {
                let micros = i64::from_be_bytes(be(&v[..8.min(v.len())])?);
                let days = i32::from_be_bytes(be(v.get(8..12).unwrap_or(&[]))?);
                let months = i32::from_be_bytes(be(v.get(12..16).unwrap_or(&[]))?);
                b.append_value(IntervalMonthDayNano::new(
                    months,
                    days,
                    micros.saturating_mul(1000),
                ));
            }
            Column::List {
                offsets,
                valid,
                values,
                ..
            } => {
                let count = append_array_elements(v, values)?;
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last + count);
                valid.push(true);
            }
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            Column::Bool(b) => b.append_null(),
            Column::Int2(b) => b.append_null(),
            Column::Int4(b) => b.append_null(),
            Column::Int8(b) => b.append_null(),
            Column::Float4(b) => b.append_null(),
            Column::Float8(b) => b.append_null(),
            Column::Numeric(b, _) => b.append_null(),
            Column::Text(b, _) => b.append_null(),
            Column::Bytea(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Time(b) => b.append_null(),
            Column::Timestamp(b) => b.append_null(),
            Column::Interval(b) => b.append_null(),
            Column::List { offsets, valid, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                valid.push(false);
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Bool(b) => Arc::new(b.finish()),
            Column::Int2(b) => Arc::new(b.finish()),
            Column::Int4(b) => Arc::new(b.finish()),
            Column::Int8(b) => Arc::new(b.finish()),
            Column::Float4(b) => Arc::new(b.finish()),
            Column::Float8(b) => Arc::new(b.finish()),
            Column::Numeric(b, _) => Arc::new(b.finish()),
            Column::Text(b, _) => Arc::new(b.finish()),
            Column::Bytea(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Time(b) => Arc::new(b.finish()),
            Column::Timestamp(b) => Arc::new(b.finish()),
            Column::Interval(b) => Arc::new(b.finish()),
            Column::List {
                offsets,
                valid,
                values,
                element,
            } => {
                let field = Arc::new(Field::new("item", element.data_type(), true));
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                let nulls = NullBuffer::from(std::mem::take(valid));
                Arc::new(ListArray::new(field, offsets, values.finish(), Some(nulls)))
            }
        }
    }
}

/// Appends the elements of a binary array value; returns how many there were.
fn append_array_elements(v: &[u8], values: &mut Column) -> Result<i32, String> {
    let int = |at: usize| -> Result<i32, String> {
        Ok(i32::from_be_bytes(be(v
            .get(at..at + 4)
            .ok_or("truncated array")?)?))
    };
    let dims = int(0)?;
    if dims <= 0 {
        return Ok(0);
    }
    // A list holds one dimension from 1: flattening `{{1,2},{3,4}}` or dropping the bounds
    // of `[0:1]={5,6}` would make different arrays equal. Such columns are read as text
    // (see `schema_provider`); meeting one here is an error, never a silent flattening.
    if dims != 1 || int(16)? != 1 {
        return Err(format!(
            "an array with {dims} dimensions or a lower bound other than 1 cannot be read as \
             a list (cast it to text to compare it exactly)"
        ));
    }
    let count = int(12)?;
    if count < 0 {
        return Err("an array of negative length".into());
    }
    let mut at = 20;
    for _ in 0..count {
        let len = int(at)?;
        at += 4;
        if len < 0 {
            values.append(None)?;
        } else {
            let end = at + len as usize;
            values.append(Some(v.get(at..end).ok_or("truncated array element")?))?;
            at = end;
        }
    }
    Ok(count)
}

/// A binary `numeric` as an integer at `scale` decimal places. NaN and ±infinity have no
/// decimal form and read as NULL.
pub fn numeric_to_i128(v: &[u8], scale: i8) -> Result<Option<i128>, DecodeError> {
    if v.len() < 8 {
        return Err("truncated numeric".into());
    }
    let ndigits = u16::from_be_bytes([v[0], v[1]]) as usize;
    let weight = i16::from_be_bytes([v[2], v[3]]) as i32;
    let sign = u16::from_be_bytes([v[4], v[5]]);
    if matches!(sign, 0xC000 | 0xD000 | 0xF000) {
        return Ok(None);
    }
    let mut value: i128 = 0;
    for i in 0..ndigits {
        let at = 8 + 2 * i;
        let digit = i128::from(u16::from_be_bytes(be(v
            .get(at..at + 2)
            .ok_or("truncated numeric")?)?));
        // Each base-10000 digit i is worth 10000^(weight - i); shifted by the column scale.
        let exponent = 4 * (weight - i as i32) + i32::from(scale);
        let term = if exponent >= 0 {
            10i128
                .checked_pow(exponent as u32)
                .and_then(|p| digit.checked_mul(p))
        } else {
            10i128.checked_pow((-exponent) as u32).map(|p| digit / p)
        };
        value = term
            .and_then(|t| value.checked_add(t))
            .ok_or("numeric value too large for its precision")?;
    }
    Ok(Some(if sign == 0x4000 { -value } else { value }))
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Incremental reader of a binary COPY stream: feed chunks, take record batches.
pub struct CopyDecoder {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    columns: Vec<Column>,
    rows: usize,
    batch_size: usize,
    buffer: Vec<u8>,
    start: usize,
    header_done: bool,
    finished: bool,
}

impl CopyDecoder {
    pub fn new(schema: SchemaRef, kinds: Vec<Kind>, batch_size: usize) -> Self {
        let columns = kinds.iter().map(|k| Column::new(*k, batch_size)).collect();
        Self {
            schema,
            kinds,
            columns,
            rows: 0,
            batch_size,
            buffer: Vec::new(),
            start: 0,
            header_done: false,
            finished: false,
        }
    }

    /// Decodes every complete row in `chunk` (plus what was left over); returns the batches
    /// that filled up.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<RecordBatch>, DecodeError> {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(chunk);
        let mut batches = Vec::new();
        if !self.header_done && !self.read_header()? {
            return Ok(batches);
        }
        while !self.finished {
            if !self.read_row()? {
                break;
            }
            if self.rows >= self.batch_size {
                batches.push(self.take_batch()?);
            }
        }
        Ok(batches)
    }

    /// The last, partly filled batch; an error if the stream ended mid-row.
    pub fn finish(mut self) -> Result<Option<RecordBatch>, DecodeError> {
        if self.start < self.buffer.len() && !self.finished {
            return Err("the COPY stream ended in the middle of a row".into());
        }
        if self.rows == 0 {
            Ok(None)
        } else {
            Ok(self.take_batch().map(Some)?)
        }
    }

    fn read_header(&mut self) -> Result<bool, String> {
        let buf = &self.buffer[self.start..];
        if buf.len() < SIGNATURE.len() + 8 {
            return Ok(false);
        }
        if &buf[..SIGNATURE.len()] != SIGNATURE {
            return Err("not a binary COPY stream".into());
        }
        let ext = u32::from_be_bytes(be(&buf[SIGNATURE.len() + 4..SIGNATURE.len() + 8])?) as usize;
        let total = SIGNATURE.len() + 8 + ext;
        if buf.len() < total {
            return Ok(false);
        }
        self.start += total;
        self.header_done = true;
        Ok(true)
    }

    /// Decodes one row if it is complete in the buffer.
    fn read_row(&mut self) -> Result<bool, String> {
        let buf = &self.buffer[self.start..];
        if buf.len() < 2 {
            return Ok(false);
        }
        let fields = i16::from_be_bytes([buf[0], buf[1]]);
        if fields == -1 {
            self.finished = true;
            self.start += 2;
            return Ok(false);
        }
        if fields as usize != self.kinds.len() {
            return Err(format!(
                "a row has {fields} fields, expected {}",
                self.kinds.len()
            ));
        }
        // First find the row's extent, so a row split across chunks is decoded only once whole.
        let mut at = 2;
        let mut spans = Vec::with_capacity(self.kinds.len());
        for _ in 0..self.kinds.len() {
            let Some(len) = buf.get(at..at + 4) else {
                return Ok(false);
            };
            let len = i32::from_be_bytes(be(len)?);
            at += 4;
            if len < 0 {
                spans.push(None);
                continue;
            }
            let end = at + len as usize;
            if buf.len() < end {
                return Ok(false);
            }
            spans.push(Some((at, end)));
            at = end;
        }
        for (column, span) in self.columns.iter_mut().zip(spans) {
            column.append(span.map(|(s, e)| &buf[s..e]))?;
        }
        self.start += at;
        self.rows += 1;
        Ok(true)
    }

    fn take_batch(&mut self) -> Result<RecordBatch, String> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        // A scan of no columns (`count(*)`) still carries its row count.
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Decimal128Type, Field, Int32Type, Schema};

    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((digits.len() as u16).to_be_bytes());
        v.extend(weight.to_be_bytes());
        v.extend(sign.to_be_bytes());
        v.extend(dscale.to_be_bytes());
        for d in digits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    /// A binary int4 array: dimensions as (size, lower bound), then the elements.
    fn int4_array(dims: &[(i32, i32)], elements: &[i32]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((dims.len() as i32).to_be_bytes());
        v.extend(0i32.to_be_bytes());
        v.extend(23i32.to_be_bytes());
        for (size, lower) in dims {
            v.extend(size.to_be_bytes());
            v.extend(lower.to_be_bytes());
        }
        for e in elements {
            v.extend(4i32.to_be_bytes());
            v.extend(e.to_be_bytes());
        }
        v
    }

    #[test]
    fn only_one_dimension_from_1_is_a_list() {
        let mut values = Column::new(Kind::Int4, 4);
        assert_eq!(
            append_array_elements(&int4_array(&[(4, 1)], &[1, 2, 3, 4]), &mut values),
            Ok(4)
        );
        for (dims, elements) in [
            (&[(2, 1), (2, 1)][..], &[1, 2, 3, 4][..]),
            (&[(1, 1), (4, 1)][..], &[1, 2, 3, 4][..]),
            (&[(2, 0)][..], &[5, 6][..]),
        ] {
            let error = append_array_elements(&int4_array(dims, elements), &mut values);
            assert!(
                error
                    .as_ref()
                    .is_err_and(|e| e.contains("cannot be read as a list")),
                "{dims:?}: {error:?}"
            );
        }
    }

    #[test]
    fn numerics_are_exact() {
        // 12345.6789 = digits [1, 2345, 6789], weight 1
        assert_eq!(
            numeric_to_i128(&numeric(1, 0, 4, &[1, 2345, 6789]), 4),
            Ok(Some(123456789))
        );
        assert_eq!(
            numeric_to_i128(&numeric(1, 0x4000, 4, &[1, 2345, 6789]), 6),
            Ok(Some(-12345678900))
        );
        // 0.05 = digits [500], weight -1
        assert_eq!(numeric_to_i128(&numeric(-1, 0, 2, &[500]), 2), Ok(Some(5)));
        assert_eq!(numeric_to_i128(&numeric(0, 0, 0, &[]), 2), Ok(Some(0)));
        assert_eq!(
            numeric_to_i128(&numeric(0, 0xC000, 0, &[]), 2),
            Ok(None),
            "NaN"
        );
        assert_eq!(
            numeric_to_i128(&numeric(0, 0xD000, 0, &[]), 2),
            Ok(None),
            "+infinity"
        );
    }

    fn stream(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0u32.to_be_bytes());
        out.extend(0u32.to_be_bytes());
        for row in rows {
            out.extend((row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    Some(bytes) => {
                        out.extend((bytes.len() as i32).to_be_bytes());
                        out.extend(bytes);
                    }
                    None => out.extend((-1i32).to_be_bytes()),
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    #[test]
    fn rows_split_across_chunks_decode_once() {
        let kinds = vec![
            Kind::Int4,
            Kind::Text,
            Kind::Numeric {
                precision: 10,
                scale: 2,
            },
        ];
        let schema = Arc::new(Schema::new(
            kinds
                .iter()
                .enumerate()
                .map(|(i, k)| Field::new(format!("c{i}"), k.data_type(), true))
                .collect::<Vec<_>>(),
        ));
        let rows: Vec<Vec<Option<Vec<u8>>>> = (0..5)
            .map(|i: i32| {
                vec![
                    Some(i.to_be_bytes().to_vec()),
                    if i == 2 {
                        None
                    } else {
                        Some(format!("row {i}").into_bytes())
                    },
                    Some(numeric(0, 0, 2, &[i as u16])),
                ]
            })
            .collect();
        let bytes = stream(&rows);
        for chunk_size in [1, 3, 7, bytes.len()] {
            let mut decoder = CopyDecoder::new(schema.clone(), kinds.clone(), 2);
            let mut batches = Vec::new();
            for chunk in bytes.chunks(chunk_size) {
                batches.extend(decoder.push(chunk).unwrap());
            }
            batches.extend(decoder.finish().unwrap());
            assert_eq!(
                batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
                [2, 2, 1],
                "chunk size {chunk_size}"
            );
            let ids: Vec<i32> = batches
                .iter()
                .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
                .collect();
            assert_eq!(ids, [0, 1, 2, 3, 4]);
            assert!(batches[1].column(1).is_null(0));
            assert_eq!(
                batches[2]
                    .column(2)
                    .as_primitive::<Decimal128Type>()
                    .value(0),
                400
            );
        }
    }

    #[test]
    fn truncated_streams_are_errors() {
        let kinds = vec![Kind::Int8];
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let bytes = stream(&[vec![Some(7i64.to_be_bytes().to_vec())]]);
        let mut decoder = CopyDecoder::new(schema, kinds, 10);
        decoder.push(&bytes[..bytes.len() - 5]).unwrap();
        assert!(decoder.finish().is_err());
    }

    #[test]
    fn temporal_values_shift_to_the_unix_epoch() {
        let mut date = Column::new(Kind::Date, 1);
        date.append(Some(&0i32.to_be_bytes())).unwrap();
        date.append(Some(&i32::MAX.to_be_bytes())).unwrap();
        let array = date.finish();
        let dates = array.as_primitive::<datafusion::arrow::datatypes::Date32Type>();
        assert_eq!(dates.value(0), 10957);
        assert_eq!(dates.value(1), DATE_INFINITY.0, "infinity is 9999-12-31");
        assert_eq!(
            uuid_text(&[0x12; 16]).unwrap(),
            "12121212-1212-1212-1212-121212121212"
        );
    }
}
