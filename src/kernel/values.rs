//! Arrow values as JSON for samples: numbers stay numbers, exact decimals and temporal
//! values are text, NULL is null.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;

/// The value at `row` of `array`.
pub fn cell(array: &ArrayRef, row: usize) -> Value {
    // A column inferred from an empty file has the Null type, whose arrays carry no null mask.
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_string()),
        // Bytes as PostgreSQL and its exports write them, so both sides of a sample read alike.
        DataType::Binary => Value::String(bytea_text(array.as_binary::<i32>().value(row))),
        DataType::LargeBinary => Value::String(bytea_text(array.as_binary::<i64>().value(row))),
        DataType::BinaryView => Value::String(bytea_text(array.as_binary_view().value(row))),
        _ => Value::String(formatted(array, row)),
    }
}

/// Bytes as PostgreSQL's `bytea` output and its exports write them: `\\x` and hex digits.
pub fn bytea_text(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(2 + 2 * bytes.len());
    text.push_str("\\x");
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// NaN and infinities have no JSON number: they are written as text.
fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(v.to_string()))
}

fn formatted(array: &ArrayRef, row: usize) -> String {
    let options = FormatOptions::default().with_null("NULL");
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(f) => f.value(row).to_string(),
        Err(_) => format!("<{}>", array.data_type()),
    }
}

/// A sample value as text for terminal and Markdown tables.
pub fn display(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An integer from the first row of a column, for counts returned by queries.
pub fn as_u64(array: &ArrayRef, row: usize) -> Option<u64> {
    match cell(array, row) {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::Null => Some(0),
        _ => None,
    }
}

/// Field metadata a source sets on a column whose NULL means unknown (a folder tree's
/// missing hash), which the diff's comparison honours (see `diff::compare::Policy`).
pub const NULL_IS_UNKNOWN: &str = "crosscheck.null_is_unknown";

/// A uuid that is not 16 bytes wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected 16 bytes for a uuid, got {0}")]
pub struct UuidWidth(pub usize);

/// A uuid's 16 bytes as its text, `12345678-9abc-…`.
pub fn uuid_text(v: &[u8]) -> Result<String, UuidWidth> {
    let b: [u8; 16] = v.try_into().map_err(|_| UuidWidth(v.len()))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::BinaryArray;
    use std::sync::Arc;

    #[test]
    fn bytes_are_written_as_postgresql_writes_them() {
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![&[0x00u8, 0xff, 0x5c][..]]));
        assert_eq!(cell(&bytes, 0), Value::String("\\x00ff5c".into()));
    }
}
