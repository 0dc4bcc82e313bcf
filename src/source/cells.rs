//! Rows of a database that is not read as Arrow (SQLite, MySQL) into Arrow columns. Each
//! driver turns a value into a [`Cell`] — what the value is as the driver hands it — and a
//! [`Columns`] builder checks it against the column's [`Kind`], the Arrow type chosen for
//! what the column means. A value that does not fit its column (a text in an integer column
//! of SQLite, a time past 24 hours) is reported, never coerced or dropped.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, RecordBatch, RecordBatchOptions, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// A value as a driver hands it over.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// A calendar date; `0000-00-00` (MySQL's zero date) is `Date(0, 0, 0)`.
    Date(i32, u32, u32),
    /// A date and a time of day, to the microsecond.
    DateTime(i32, u32, u32, u32, u32, u32, u32),
    /// A signed duration as MySQL's `TIME` holds it: negative, hours, minutes, seconds, µs.
    Time(bool, u32, u32, u32, u32),
}

impl Cell<'_> {
    /// What the value is, in words, for a message that must not show the value itself.
    pub fn class(&self) -> &'static str {
        match self {
            Cell::Null => "NULL",
            Cell::Int(_) | Cell::UInt(_) => "an integer",
            Cell::Float(_) => "a real number",
            Cell::Text(_) => "a text",
            Cell::Bytes(_) => "bytes",
            Cell::Date(..) => "a date",
            Cell::DateTime(..) => "a date and time",
            Cell::Time(..) => "a time",
        }
    }
}

/// What a column holds, as Arrow will carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// A signed integer, carried in the given width (8, 16, 32 or 64 bits).
    Int(u8),
    /// An unsigned integer, carried in the given width.
    UInt(u8),
    /// MySQL's `bit(n)`: its bytes, big-endian, as an unsigned 64-bit integer.
    Bits,
    Float,
    /// A single-precision float (MySQL's `FLOAT`), carried as such.
    Float32,
    Decimal(u8, i8),
    /// Text, exactly: bytes must be UTF-8, numbers are not text.
    Text,
    /// Whatever the column holds, as text (a column without a declared type).
    AnyText,
    Binary,
    Date,
    /// A timestamp to the microsecond; `utc` when it is an instant read in UTC.
    Timestamp {
        utc: bool,
    },
    /// A time of day (0 to 24 hours).
    Time,
}

impl Kind {
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int(8) => DataType::Int8,
            Kind::Int(16) => DataType::Int16,
            Kind::Int(32) => DataType::Int32,
            Kind::Int(_) => DataType::Int64,
            Kind::UInt(8) => DataType::UInt8,
            Kind::UInt(16) => DataType::UInt16,
            Kind::UInt(32) => DataType::UInt32,
            Kind::UInt(_) | Kind::Bits => DataType::UInt64,
            Kind::Float => DataType::Float64,
            Kind::Float32 => DataType::Float32,
            Kind::Decimal(p, s) => DataType::Decimal128(p, s),
            Kind::Text | Kind::AnyText => DataType::Utf8,
            Kind::Binary => DataType::Binary,
            Kind::Date => DataType::Date32,
            Kind::Timestamp { utc } => {
                DataType::Timestamp(TimeUnit::Microsecond, utc.then(|| "UTC".into()))
            }
            Kind::Time => DataType::Time64(TimeUnit::Microsecond),
        }
    }
}

/// A value that does not fit its column: `column` (0-based) of the batch's row `row`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub column: usize,
    pub row: u64,
    pub reason: String,
}

enum Builder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    UInt(UInt64Builder),
    Float(Float64Builder),
    Decimal(Decimal128Builder, i8),
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Time(Time64MicrosecondBuilder),
}

/// The columns of one batch being built, row by row.
pub struct Columns {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    builders: Vec<Builder>,
    rows: usize,
    /// Rows pushed before this batch, for messages.
    offset: u64,
    /// Zero dates read as NULL so far, per column (every batch of this reader).
    zero_dates: Vec<u64>,
}

impl Columns {
    pub fn new(schema: SchemaRef, kinds: Vec<Kind>) -> Self {
        let builders = kinds.iter().map(|k| builder(*k)).collect();
        let zero_dates = vec![0; kinds.len()];
        Self {
            schema,
            kinds,
            builders,
            rows: 0,
            offset: 0,
            zero_dates,
        }
    }

    /// The schema of `fields` carrying `kinds`, nullable unless `not_null`.
    pub fn schema(fields: &[(String, Kind, bool)]) -> SchemaRef {
        Arc::new(Schema::new(
            fields
                .iter()
                .map(|(name, kind, not_null)| Field::new(name, kind.data_type(), !not_null))
                .collect::<Vec<_>>(),
        ))
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    /// Zero dates read as NULL so far, per column, since this reader began.
    pub fn zero_dates(&self) -> &[u64] {
        &self.zero_dates
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends `cell` to column `i`. Call once per column, in order, then [`Self::end_row`].
    pub fn push(&mut self, i: usize, cell: Cell) -> Result<(), Misfit> {
        let kind = self.kinds[i];
        let misfit = |reason: String| Misfit {
            column: i,
            row: self.offset + self.rows as u64 + 1,
            reason,
        };
        let mismatch = || {
            misfit(format!(
                "holds {} where the column holds {}",
                cell.class(),
                kind_words(kind)
            ))
        };
        match (&mut self.builders[i], cell) {
            (b, Cell::Null) => append_null(b),
            (Builder::Bool(b), Cell::Int(v @ (0 | 1))) => b.append_value(v == 1),
            (Builder::Bool(b), Cell::UInt(v @ (0 | 1))) => b.append_value(v == 1),
            (Builder::Bool(b), Cell::Bytes([v @ (0 | 1)])) => b.append_value(*v == 1),
            (Builder::Int(b), Cell::Int(v)) => b.append_value(v),
            (Builder::Int(b), Cell::UInt(v)) => match i64::try_from(v) {
                Ok(v) => b.append_value(v),
                Err(_) => return Err(misfit(format!("holds {v}, past a signed 64-bit integer"))),
            },
            (Builder::UInt(b), Cell::UInt(v)) => b.append_value(v),
            (Builder::UInt(b), Cell::Bytes(v)) if kind == Kind::Bits && v.len() <= 8 => {
                b.append_value(v.iter().fold(0u64, |n, byte| (n << 8) | *byte as u64))
            }
            (Builder::UInt(b), Cell::Int(v)) => match u64::try_from(v) {
                Ok(v) => b.append_value(v),
                Err(_) => return Err(misfit("holds a negative number".into())),
            },
            (Builder::Float(b), Cell::Float(v)) => b.append_value(v),
            (Builder::Float(b), Cell::Int(v)) => b.append_value(v as f64),
            (Builder::Float(b), Cell::UInt(v)) => b.append_value(v as f64),
            (Builder::Decimal(b, scale), cell) => match decimal(cell, *scale) {
                Some(v) => b.append_value(v),
                None => return Err(mismatch()),
            },
            (Builder::Text(b), cell) if kind == Kind::AnyText => match any_text(cell) {
                Some(v) => b.append_value(v),
                None => return Err(mismatch()),
            },
            (Builder::Text(b), Cell::Text(v)) => b.append_value(v),
            (Builder::Text(b), Cell::Bytes(v)) => match std::str::from_utf8(v) {
                Ok(v) => b.append_value(v),
                Err(_) => return Err(misfit("holds bytes that are not UTF-8 text".into())),
            },
            (Builder::Binary(b), Cell::Bytes(v)) => b.append_value(v),
            (Builder::Binary(b), Cell::Text(v)) => b.append_value(v.as_bytes()),
            // A date as a driver sends it, with a time of midnight.
            (Builder::Date(b), Cell::Date(0, 0, 0) | Cell::DateTime(0, 0, 0, 0, 0, 0, 0)) => {
                self.zero_dates[i] += 1;
                b.append_null()
            }
            (Builder::Date(b), Cell::Date(y, m, d) | Cell::DateTime(y, m, d, 0, 0, 0, 0)) => {
                match days(y, m, d) {
                    Some(v) => b.append_value(v),
                    None => return Err(misfit(format!("holds an impossible date {y}-{m}-{d}"))),
                }
            }
            (Builder::Date(b), Cell::Text(v)) => match parse_date(v) {
                Some(v) => b.append_value(v),
                None => return Err(misfit("holds a text that is not a YYYY-MM-DD date".into())),
            },
            (Builder::Timestamp(b), Cell::DateTime(0, 0, 0, ..) | Cell::Date(0, 0, 0)) => {
                self.zero_dates[i] += 1;
                b.append_null()
            }
            (Builder::Timestamp(b), Cell::DateTime(y, mo, d, h, mi, s, us)) => {
                match timestamp(y, mo, d, h, mi, s, us) {
                    Some(v) => b.append_value(v),
                    None => return Err(misfit("holds an impossible date and time".into())),
                }
            }
            (Builder::Timestamp(b), Cell::Date(y, m, d)) => match timestamp(y, m, d, 0, 0, 0, 0) {
                Some(v) => b.append_value(v),
                None => return Err(misfit("holds an impossible date".into())),
            },
            (Builder::Timestamp(b), Cell::Text(v)) => match parse_timestamp(v) {
                Some(v) => b.append_value(v),
                None => {
                    return Err(misfit(
                        "holds a text that is not a `YYYY-MM-DD HH:MM:SS[.ffffff]` time stamp"
                            .into(),
                    ));
                }
            },
            (Builder::Time(b), Cell::Time(negative, h, m, s, us)) => {
                if negative || h >= 24 {
                    return Err(misfit(
                        "holds a duration outside a day (a time of day is 00:00:00 to 23:59:59)"
                            .into(),
                    ));
                }
                b.append_value(((h as i64 * 60 + m as i64) * 60 + s as i64) * 1_000_000 + us as i64)
            }
            (Builder::Time(b), Cell::Text(v)) => match parse_time(v) {
                Some(v) => b.append_value(v),
                None => return Err(misfit("holds a text that is not a HH:MM:SS time".into())),
            },
            _ => return Err(mismatch()),
        }
        Ok(())
    }

    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// The rows built so far as a batch; the builder starts the next one.
    pub fn finish(&mut self) -> datafusion::arrow::error::Result<RecordBatch> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.builders.len());
        for (b, field) in self.builders.iter_mut().zip(self.schema.fields()) {
            let array = finish(b);
            let array = if array.data_type() == field.data_type() {
                array
            } else {
                cast(&array, field.data_type())?
            };
            arrays.push(array);
        }
        // A scan of no column (a count) still carries its number of rows.
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.offset += self.rows as u64;
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
    }
}

fn builder(kind: Kind) -> Builder {
    match kind {
        Kind::Bool => Builder::Bool(BooleanBuilder::new()),
        Kind::Int(_) => Builder::Int(Int64Builder::new()),
        Kind::UInt(_) | Kind::Bits => Builder::UInt(UInt64Builder::new()),
        Kind::Float | Kind::Float32 => Builder::Float(Float64Builder::new()),
        Kind::Decimal(p, s) => Builder::Decimal(
            Decimal128Builder::new().with_data_type(DataType::Decimal128(p, s)),
            s,
        ),
        Kind::Text | Kind::AnyText => Builder::Text(StringBuilder::new()),
        Kind::Binary => Builder::Binary(BinaryBuilder::new()),
        Kind::Date => Builder::Date(Date32Builder::new()),
        Kind::Timestamp { .. } => {
            Builder::Timestamp(TimestampMicrosecondBuilder::new().with_data_type(kind.data_type()))
        }
        Kind::Time => Builder::Time(Time64MicrosecondBuilder::new()),
    }
}

fn append_null(b: &mut Builder) {
    match b {
        Builder::Bool(b) => b.append_null(),
        Builder::Int(b) => b.append_null(),
        Builder::UInt(b) => b.append_null(),
        Builder::Float(b) => b.append_null(),
        Builder::Decimal(b, _) => b.append_null(),
        Builder::Text(b) => b.append_null(),
        Builder::Binary(b) => b.append_null(),
        Builder::Date(b) => b.append_null(),
        Builder::Timestamp(b) => b.append_null(),
        Builder::Time(b) => b.append_null(),
    }
}

fn finish(b: &mut Builder) -> ArrayRef {
    match b {
        Builder::Bool(b) => Arc::new(b.finish()),
        Builder::Int(b) => Arc::new(b.finish()),
        Builder::UInt(b) => Arc::new(b.finish()),
        Builder::Float(b) => Arc::new(b.finish()),
        Builder::Decimal(b, _) => Arc::new(b.finish()),
        Builder::Text(b) => Arc::new(b.finish()),
        Builder::Binary(b) => Arc::new(b.finish()),
        Builder::Date(b) => Arc::new(b.finish()),
        Builder::Timestamp(b) => Arc::new(b.finish()),
        Builder::Time(b) => Arc::new(b.finish()),
    }
}

fn kind_words(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool => "booleans",
        Kind::Int(_) => "integers",
        Kind::UInt(_) | Kind::Bits => "unsigned integers",
        Kind::Float | Kind::Float32 => "real numbers",
        Kind::Decimal(..) => "decimals",
        Kind::Text | Kind::AnyText => "text",
        Kind::Binary => "bytes",
        Kind::Date => "dates",
        Kind::Timestamp { .. } => "time stamps",
        Kind::Time => "times of day",
    }
}

/// A column without a declared type, as text: numbers as written, bytes as `\x` hex.
fn any_text(cell: Cell) -> Option<String> {
    Some(match cell {
        Cell::Int(v) => v.to_string(),
        Cell::UInt(v) => v.to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Text(v) => v.to_string(),
        Cell::Bytes(v) => match std::str::from_utf8(v) {
            Ok(v) => v.to_string(),
            Err(_) => {
                let mut hex = String::from("\\x");
                for byte in v {
                    hex.push_str(&format!("{byte:02x}"));
                }
                hex
            }
        },
        _ => return None,
    })
}

/// A decimal cell as the unscaled integer of `scale` digits: exact from text or an integer,
/// rounded half away from zero from a float (SQLite stores decimals as REAL).
fn decimal(cell: Cell, scale: i8) -> Option<i128> {
    let factor = 10i128.checked_pow(scale.max(0) as u32)?;
    match cell {
        Cell::Int(v) => (v as i128).checked_mul(factor),
        Cell::UInt(v) => (v as i128).checked_mul(factor),
        Cell::Float(v) if v.is_finite() => {
            let scaled = (v * factor as f64).round();
            (scaled.abs() < 1e37).then_some(scaled as i128)
        }
        Cell::Text(v) => decimal_text(v, scale),
        Cell::Bytes(v) => decimal_text(std::str::from_utf8(v).ok()?, scale),
        _ => None,
    }
}

/// `-12.345` at scale 2 is -1235 (half away from zero), exactly.
fn decimal_text(text: &str, scale: i8) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for b in whole
        .bytes()
        .chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(scale))
    {
        value = value.checked_mul(10)?.checked_add((b - b'0') as i128)?;
    }
    if fraction.as_bytes().get(scale).is_some_and(|b| *b >= b'5') {
        value = value.checked_add(1)?;
    }
    Some(if negative { -value } else { value })
}

fn days(y: i32, m: u32, d: u32) -> Option<i32> {
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(date.signed_duration_since(epoch).num_days()).ok()
}

#[allow(clippy::too_many_arguments)]
fn timestamp(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> Option<i64> {
    let date = chrono::NaiveDate::from_ymd_opt(y, mo, d)?;
    let time = chrono::NaiveTime::from_hms_micro_opt(h, mi, s, us)?;
    Some(date.and_time(time).and_utc().timestamp_micros())
}

fn parse_date(text: &str) -> Option<i32> {
    let date = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    days(
        chrono::Datelike::year(&date),
        chrono::Datelike::month(&date),
        chrono::Datelike::day(&date),
    )
}

/// `YYYY-MM-DD HH:MM[:SS[.f…]]`, with a space or a `T`, or a bare date (midnight). A text
/// that names its offset (`Z`, `+02:00`) is the instant it names, as a time in UTC.
fn parse_timestamp(text: &str) -> Option<i64> {
    const NAIVE: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ];
    let text = text.trim();
    let naive = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    for format in NAIVE {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    for format in NAIVE.map(|f| format!("{f}%#z")) {
        if let Ok(t) = chrono::DateTime::parse_from_str(text, &format) {
            return Some(t.timestamp_micros());
        }
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(
        date.and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_micros(),
    )
}

fn parse_time(text: &str) -> Option<i64> {
    let time = chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M:%S%.f").ok()?;
    let since = time.signed_duration_since(chrono::NaiveTime::MIN);
    since.num_microseconds()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Decimal128Type, Int8Type, UInt64Type};

    fn one(kind: Kind, cell: Cell) -> Result<ArrayRef, Misfit> {
        let schema = Columns::schema(&[("c".into(), kind, false)]);
        let mut columns = Columns::new(schema, vec![kind]);
        columns.push(0, cell)?;
        columns.end_row();
        Ok(columns.finish().expect("a batch").column(0).clone())
    }

    #[test]
    fn decimals_are_exact_and_round_half_away_from_zero() {
        assert_eq!(decimal_text("12.345", 2), Some(1235));
        assert_eq!(decimal_text("-12.344", 2), Some(-1234));
        assert_eq!(decimal_text("-12.345", 2), Some(-1235));
        assert_eq!(decimal_text("7", 3), Some(7000));
        assert_eq!(decimal_text(".5", 0), Some(1));
        assert_eq!(decimal_text("1e3", 0), None);
        assert_eq!(decimal_text("", 0), None);
        assert_eq!(decimal_text(".", 0), None);
        let a = one(
            Kind::Decimal(38, 10),
            Cell::Text("12345678901234567890123456.0123456789"),
        )
        .expect("fits");
        assert_eq!(
            a.as_primitive::<Decimal128Type>().value(0),
            123456789012345678901234560123456789
        );
    }

    #[test]
    fn an_unsigned_past_i64_stays_exact() {
        let a = one(Kind::UInt(64), Cell::UInt(u64::MAX)).expect("fits");
        assert_eq!(a.as_primitive::<UInt64Type>().value(0), u64::MAX);
        assert!(one(Kind::Int(64), Cell::UInt(u64::MAX)).is_err());
    }

    #[test]
    fn narrow_integers_are_carried_in_their_width() {
        let a = one(Kind::Int(8), Cell::Int(-128)).expect("fits");
        assert_eq!(a.as_primitive::<Int8Type>().value(0), -128);
        assert_eq!(a.data_type(), &DataType::Int8);
    }

    #[test]
    fn a_value_of_another_class_is_a_misfit_naming_the_row_not_the_value() {
        let e = one(Kind::Int(64), Cell::Text("secret-ish")).expect_err("text in an int");
        assert_eq!(e.row, 1);
        assert!(
            e.reason.contains("a text where the column holds integers"),
            "{}",
            e.reason
        );
        assert!(!e.reason.contains("secret"));
        assert!(one(Kind::Bool, Cell::Int(2)).is_err());
        assert!(one(Kind::Text, Cell::Int(2)).is_err());
        assert!(one(Kind::Time, Cell::Time(false, 25, 0, 0, 0)).is_err());
        assert!(one(Kind::Time, Cell::Time(true, 1, 0, 0, 0)).is_err());
    }

    #[test]
    fn zero_dates_are_null_and_counted() {
        let schema = Columns::schema(&[
            ("d".into(), Kind::Date, false),
            ("t".into(), Kind::Timestamp { utc: false }, false),
        ]);
        let mut columns = Columns::new(schema, vec![Kind::Date, Kind::Timestamp { utc: false }]);
        columns.push(0, Cell::Date(0, 0, 0)).expect("null");
        columns
            .push(1, Cell::DateTime(0, 0, 0, 0, 0, 0, 0))
            .expect("null");
        columns.end_row();
        let batch = columns.finish().expect("a batch");
        assert_eq!(columns.zero_dates(), [1, 1]);
        assert!(batch.column(0).is_null(0) && batch.column(1).is_null(0));
    }

    #[test]
    fn texts_of_dates_and_times_parse() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_timestamp("1970-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_timestamp("1970-01-01T00:01"), Some(60_000_000));
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400_000_000));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(
            parse_timestamp("1970-01-01 02:00:01+02:00"),
            Some(1_000_000)
        );
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01.5-01"),
            Some(3_601_500_000)
        );
        assert_eq!(parse_time("00:00:02.25"), Some(2_250_000));
        assert_eq!(
            any_text(Cell::Bytes(&[0xff, 0x01])).as_deref(),
            Some("\\xff01")
        );
    }
}
