//! Comparing aligned columns by meaning, not representation: each pair of source and
//! target arrays is brought to one comparable form (numbers, text, instants…), then
//! compared twice — as is, and under the column's tolerance and normalisation — so a
//! reviewer sees both what differs and what the policy forgave. Pure Arrow, no I/O.

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::cmp::not_distinct;
use datafusion::arrow::datatypes::{DataType, TimeUnit};

use super::error::{DiffError, DiffResult};
use crate::config::{Normalize, Tolerance};
pub use crate::source::keyed::{Family, Policy};

fn is_int(t: &DataType) -> bool {
    t.is_integer()
}

fn is_decimal(t: &DataType) -> bool {
    matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The family a source/target type pair compares in. A text column meets the other side's
/// type (a CSV column read as text against a database timestamp compares as timestamps).
pub fn family(source: &DataType, target: &DataType) -> Family {
    let numeric = |t: &DataType| is_int(t) || is_decimal(t) || t.is_floating();
    let temporal = |t: &DataType| matches!(t, DataType::Timestamp(..));
    match (source, target) {
        (s, t) if (is_int(s) || is_decimal(s)) && (is_int(t) || is_decimal(t)) => Family::Exact,
        (s, t) if numeric(s) && numeric(t) => Family::Float,
        // Text against an exact number is read as one, exactly (as a CSV field is): a string
        // column of `numeric` values (ADBC's export) keeps every digit.
        (s, t) if (is_int(s) || is_decimal(s)) && is_text(t) => Family::Exact,
        (s, t) if is_text(s) && (is_int(t) || is_decimal(t)) => Family::Exact,
        (s, t) if (numeric(s) && is_text(t)) || (is_text(s) && numeric(t)) => Family::Float,
        (s, t) if temporal(s) || temporal(t) => Family::Instant,
        (DataType::Date32 | DataType::Date64, _) | (_, DataType::Date32 | DataType::Date64) => {
            Family::Date
        }
        (DataType::Boolean, DataType::Boolean) => Family::Bool,
        (s, t) if is_text(s) && is_text(t) => Family::Text,
        // A column with no value on either side (a header-only CSV) has no type to meet.
        (DataType::Null, DataType::Null) => Family::Other,
        (DataType::Null, other) | (other, DataType::Null) => family(other, other),
        _ => Family::Other,
    }
}

/// The family of a column read as raw text (a CSV field) against a typed column: the
/// declared type decides what the text means.
pub fn family_against_text(typed: &DataType) -> Family {
    match typed {
        t if is_int(t) || is_decimal(t) => Family::Exact,
        t if t.is_floating() => Family::Float,
        DataType::Timestamp(..) => Family::Instant,
        DataType::Date32 | DataType::Date64 => Family::Date,
        DataType::Boolean => Family::Bool,
        t if is_text(t) => Family::Text,
        // Bytes, lists and the rest compare by the text an export writes for them.
        _ => Family::Other,
    }
}

use crate::kernel::values::NULL_IS_UNKNOWN;

/// Whether a field says its NULL means unknown.
pub fn null_is_unknown(field: &datafusion::arrow::datatypes::Field) -> bool {
    field
        .metadata()
        .get(NULL_IS_UNKNOWN)
        .is_some_and(|v| v == "true")
}

/// Per row: whether the pair differs, and whether it is equal only thanks to the policy.
pub struct Verdict {
    pub differs: BooleanArray,
    pub forgiven: BooleanArray,
}

pub fn compare(source: &ArrayRef, target: &ArrayRef, policy: &Policy) -> DiffResult<Verdict> {
    let strict = Policy {
        tolerance: None,
        normalize: Normalize::default(),
        ..policy.clone()
    };
    let raw_equal = equal(source, target, &strict)?;
    let equal_under_policy =
        if policy.tolerance.is_some() || policy.normalize != Normalize::default() {
            equal(source, target, policy)?
        } else {
            raw_equal.clone()
        };
    let unknown = |i: usize| policy.null_is_unknown && source.is_null(i) && target.is_null(i);
    let equal_under_policy: BooleanArray = equal_under_policy
        .iter()
        .enumerate()
        .map(|(i, e)| Some(e.unwrap_or(false) && !unknown(i)))
        .collect();
    let differs: BooleanArray = equal_under_policy
        .iter()
        .map(|e| Some(!e.unwrap_or(false)))
        .collect();
    let forgiven: BooleanArray = equal_under_policy
        .iter()
        .zip(raw_equal.iter())
        .map(|(p, r)| Some(p.unwrap_or(false) && !r.unwrap_or(false)))
        .collect();
    Ok(Verdict { differs, forgiven })
}

/// The largest absolute difference between the numbers of rows that differ (both sides
/// present), for a column compared as numbers; `None` for other columns or when no such pair
/// differs. Text read as a number counts by its value; text that is no number is left out.
pub fn largest_difference(
    source: &ArrayRef,
    target: &ArrayRef,
    differs: &BooleanArray,
    policy: &Policy,
) -> Option<f64> {
    if !matches!(policy.family, Family::Exact | Family::Float) {
        return None;
    }
    let (s, t) = (
        cast(source, &DataType::Float64).ok()?,
        cast(target, &DataType::Float64).ok()?,
    );
    let (s, t) = (
        s.as_primitive::<datafusion::arrow::datatypes::Float64Type>(),
        t.as_primitive::<datafusion::arrow::datatypes::Float64Type>(),
    );
    (0..differs.len())
        .filter(|&i| differs.value(i) && s.is_valid(i) && t.is_valid(i))
        .map(|i| (s.value(i) - t.value(i)).abs())
        .filter(|d| d.is_finite())
        .reduce(f64::max)
}

/// Null-safe equality per row under `policy` (NULL equals NULL). A value that cannot be
/// read in the family's form (a CSV field `N/A` against a number) is never equal to anything.
fn equal(source: &ArrayRef, target: &ArrayRef, policy: &Policy) -> DiffResult<BooleanArray> {
    // Same type and nothing to forgive: both sides would be cast alike, so compare as they are.
    let text_normalised = matches!(policy.family, Family::Text | Family::Other)
        && policy.normalize != Normalize::default();
    if source.data_type() == target.data_type()
        && policy.tolerance.is_none()
        && !text_normalised
        && !number_text(source, policy)
        && !policy.json
        && !source.data_type().is_floating()
        && let Ok(equal) = not_distinct(source, target)
    {
        return Ok(equal);
    }
    if policy.family == Family::Float
        && policy.tolerance.is_none()
        && let Some(equal) = super::float_exact::equal(source, target, policy.exact_text)?
    {
        return Ok(equal);
    }
    let (s, t) = (
        comparable(source, policy, target.data_type())?,
        comparable(target, policy, source.data_type())?,
    );
    // Only a parse turns a value into NULL (text normalisation may map '' to NULL on purpose).
    let parses = !matches!(policy.family, Family::Text | Family::Other)
        || super::interval::involved(source.data_type(), target.data_type());
    // Logical nulls: a column of the Null type (pandas writes one for a column that is NULL
    // in every row) has no null buffer, and `is_valid` would call its NULLs values.
    let (source_nulls, target_nulls) = (source.logical_nulls(), target.logical_nulls());
    let present =
        |nulls: &Option<NullBuffer>, i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    let unreadable = |nulls: &Option<NullBuffer>, read: &ArrayRef, i: usize| {
        parses && present(nulls, i) && read.is_null(i)
    };
    let readable =
        |i: usize| !unreadable(&source_nulls, &s, i) && !unreadable(&target_nulls, &t, i);
    let equal: BooleanArray = match (policy.family, policy.tolerance) {
        (Family::Float | Family::Exact, Some(tolerance)) => {
            let (a, b) = (to_f64(&s)?, to_f64(&t)?);
            a.iter()
                .zip(b.iter())
                .map(|(a, b)| Some(within(a, b, tolerance)))
                .collect()
        }
        (Family::Instant, Some(Tolerance::Duration(d))) => {
            let micros = |a: &ArrayRef| -> DiffResult<Vec<Option<i64>>> {
                let a = cast(a, &DataType::Int64)?;
                Ok(a.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .iter()
                    .collect())
            };
            let allowed = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
            micros(&s)?
                .into_iter()
                .zip(micros(&t)?)
                .map(|pair| {
                    Some(match pair {
                        (None, None) => true,
                        (Some(a), Some(b)) => a.abs_diff(b) <= allowed as u64,
                        _ => false,
                    })
                })
                .collect()
        }
        _ => not_distinct(&s, &t)?,
    };
    Ok(equal
        .iter()
        .enumerate()
        .map(|(i, e)| Some(e.unwrap_or(false) && readable(i)))
        .collect())
}

/// A number held as text (a CSV field, an unconstrained numeric): compared by its value.
fn number_text(array: &ArrayRef, policy: &Policy) -> bool {
    policy.family == Family::Exact && is_text(array.data_type())
}

fn within(a: Option<f64>, b: Option<f64>, tolerance: Tolerance) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) if a.is_nan() && b.is_nan() => true,
        (Some(a), Some(b)) => {
            let allowed = match tolerance {
                Tolerance::Absolute(x) => x,
                Tolerance::Relative(x) => x * a.abs(),
                Tolerance::Duration(_) => return a == b,
            };
            // A hair of slack so that 0.1 + 0.2 against 0.3 with tolerance 0 is not a change
            // only because of binary floating point.
            (a - b).abs() <= allowed + f64::EPSILON * a.abs().max(b.abs())
        }
        _ => false,
    }
}

fn to_f64(array: &ArrayRef) -> DiffResult<Float64Array> {
    Ok(cast(array, &DataType::Float64)?.as_primitive().clone())
}

/// One side brought to the family's comparable form. Text that must be read as a number
/// or a boolean becomes a canonical text, so that it compares exactly; text that cannot be
/// read becomes NULL, which `equal` counts as different.
fn comparable(array: &ArrayRef, policy: &Policy, other: &DataType) -> DiffResult<ArrayRef> {
    let cast_to = |t: &DataType| {
        cast(array, t).map_err(|e| {
            DiffError::Value(format!(
                "cannot compare {} with {other}: {e}",
                array.data_type()
            ))
        })
    };
    match policy.family {
        Family::Exact if is_text(array.data_type()) || is_text(other) => {
            let text = cast_to(&DataType::Utf8)?;
            let canonical: StringArray = text
                .as_string::<i32>()
                .iter()
                .map(|v| v.and_then(canonical_number))
                .collect();
            Ok(Arc::new(canonical))
        }
        Family::Exact => {
            let scale = |t: &DataType| match t {
                DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => *s,
                _ => 0,
            };
            let scale = scale(array.data_type()).max(scale(other)).max(0);
            cast_to(&DataType::Decimal128(38, scale))
        }
        // A `real` written as text, or widened to a double (pandas reads 1.1, not
        // 1.100000023841858), compares at the precision it was written from.
        Family::Float
            if matches!(
                (array.data_type(), other),
                (DataType::Float32, t) | (t, DataType::Float32)
                    if is_text(t) || t.is_floating()
            ) =>
        {
            Ok(without_negative_zero(&at_real_precision(array)?))
        }
        Family::Float => Ok(without_negative_zero(&cast_to(&DataType::Float64)?)),
        Family::Other if super::interval::involved(array.data_type(), other) => {
            super::interval::comparable(array, other)
        }
        // A uuid as 16 bytes (ADBC's `arrow.uuid`, DuckDB's UUID) against its text.
        Family::Other if *array.data_type() == DataType::FixedSizeBinary(16) && is_text(other) => {
            let uuids: StringArray = array
                .as_fixed_size_binary()
                .iter()
                .map(|v| v.map(crate::kernel::values::uuid_text).transpose())
                .collect::<Result<_, _>>()
                .map_err(|e| DiffError::Value(e.to_string()))?;
            Ok(Arc::new(uuids))
        }
        Family::Text | Family::Other => {
            let text = export_text(array)?;
            let text = normalize_text(text.as_string::<i32>(), &policy.normalize);
            Ok(if policy.json && policy.family == Family::Text {
                json_values(text.as_string::<i32>())
            } else {
                text
            })
        }
        Family::Instant => instant_micros(array, policy.timezone, other),
        Family::Date => cast_to(&DataType::Date32),
        Family::Bool if is_text(array.data_type()) => {
            let parsed: BooleanArray = array
                .as_string::<i32>()
                .iter()
                .map(|v| v.and_then(parse_bool))
                .collect();
            Ok(Arc::new(parsed))
        }
        Family::Bool => cast_to(&DataType::Boolean),
    }
}

/// A float rounded to a `real` and widened back; a double too large for a `real` becomes
/// NULL, which `equal` counts as different (never the `real`'s infinity).
fn at_real_precision(array: &ArrayRef) -> DiffResult<ArrayRef> {
    let wide = cast(array, &DataType::Float64)?;
    let reals: Float64Array = wide
        .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
        .iter()
        .map(|v| {
            let v = v?;
            let real = v as f32;
            (real.is_finite() || !v.is_finite()).then_some(f64::from(real))
        })
        .collect();
    Ok(Arc::new(reals))
}

/// -0 as 0: equal in PostgreSQL (`'-0'::float8 = 0`), apart in Arrow's total order.
fn without_negative_zero(array: &ArrayRef) -> ArrayRef {
    let floats: Float64Array = array
        .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
        .iter()
        .map(|v| v.map(|f| if f == 0.0 { 0.0 } else { f }))
        .collect();
    Arc::new(floats)
}

/// A number's text in one canonical form — digits without leading or trailing zeros and
/// an exponent — so `1.50`, `1.5` and `15e-1` are one value while `01234` (read as a number
/// because the other side declares one) equals `1234`. `None` for text that is no number.
pub fn canonical_number(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "nan" {
        return Some("NaN".into());
    }
    if lower == "infinity" || lower == "inf" {
        return Some(if negative { "-Infinity" } else { "Infinity" }.into());
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_only(int) || !digits_only(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Some("0".into());
    }
    let trimmed = significant.trim_end_matches('0');
    let exponent = exponent
        .checked_sub(frac.len() as i64)?
        .checked_add((significant.len() - trimmed.len()) as i64)?;
    let sign = if negative { "-" } else { "" };
    Some(format!("{sign}{trimmed}e{exponent}"))
}

/// A boolean as PostgreSQL reads one (`t`, `true`, `yes`, `on`, `1`, and their opposites).
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A column as the text an export writes for it: bytes as `\x` and hex digits, lists as
/// PostgreSQL array literals (`{a,"b,c",NULL}`), booleans as `t`/`f`, the rest as Arrow
/// writes them.
fn export_text(array: &ArrayRef) -> DiffResult<ArrayRef> {
    use datafusion::arrow::array::{GenericListArray, OffsetSizeTrait};
    fn list_literals<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> DiffResult<ArrayRef> {
        let mut out = Vec::with_capacity(list.len());
        for i in 0..list.len() {
            if list.is_null(i) {
                out.push(None);
                continue;
            }
            let values = export_text(&list.value(i))?;
            let nested = matches!(
                list.value_type(),
                DataType::List(_) | DataType::LargeList(_)
            );
            let items: Vec<String> = values
                .as_string::<i32>()
                .iter()
                .map(|v| match v {
                    None => "NULL".to_string(),
                    Some(v) if nested => v.to_string(),
                    Some(v) => array_element(v),
                })
                .collect();
            out.push(Some(format!("{{{}}}", items.join(","))));
        }
        Ok(Arc::new(StringArray::from(out)))
    }
    match array.data_type() {
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            let bytes = cast(array, &DataType::LargeBinary)?;
            let hex: StringArray = bytes
                .as_binary::<i64>()
                .iter()
                .map(|v| v.map(crate::kernel::values::bytea_text))
                .collect();
            Ok(Arc::new(hex))
        }
        DataType::List(_) => list_literals(array.as_list::<i32>()),
        DataType::LargeList(_) => list_literals(array.as_list::<i64>()),
        DataType::Boolean => {
            let text: StringArray = array
                .as_boolean()
                .iter()
                .map(|v| v.map(|b| if b { "t" } else { "f" }))
                .collect();
            Ok(Arc::new(text))
        }
        _ => cast(array, &DataType::Utf8).map_err(DiffError::from),
    }
}

/// An element of a PostgreSQL array literal, quoted where PostgreSQL quotes it.
fn array_element(v: &str) -> String {
    let needs_quotes = v.is_empty()
        || v.eq_ignore_ascii_case("NULL")
        || v.chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
    if !needs_quotes {
        return v.to_string();
    }
    let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// What `trim` removes: spaces, tabs and line breaks (the same set the checksum trims).
pub const TRIMMED: [char; 4] = [' ', '\t', '\r', '\n'];

/// Text as JSON values: a JSON text becomes its canonical form, and other text stays itself
/// under another prefix, so it never equals the JSON it resembles.
fn json_values(array: &StringArray) -> ArrayRef {
    let values: StringArray = array
        .iter()
        .map(|v| {
            v.map(|v| match super::json_text::canonical(v) {
                Some(json) => format!("j{json}"),
                None => format!("t{v}"),
            })
        })
        .collect();
    Arc::new(values)
}

fn normalize_text(array: &StringArray, n: &Normalize) -> ArrayRef {
    if *n == Normalize::default() || (!n.trim && !n.case_insensitive && !n.empty_as_null) {
        return Arc::new(array.clone());
    }
    let out: StringArray = array
        .iter()
        .map(|v| {
            let mut v = v?.to_string();
            if n.trim {
                v = v.trim_matches(TRIMMED).to_string();
            }
            if n.case_insensitive {
                v = v.to_lowercase();
            }
            (!(n.empty_as_null && v.is_empty())).then_some(v)
        })
        .collect();
    Arc::new(out)
}

/// Microseconds since the epoch, decided for both sides alike: when both are naive
/// timestamps they compare as they are; otherwise everything becomes a UTC instant —
/// instants stay instants, naive timestamps and text without an offset are read in `zone`,
/// text with an offset honours it.
fn instant_micros(array: &ArrayRef, zone: chrono_tz::Tz, other: &DataType) -> DiffResult<ArrayRef> {
    let naive = |t: &DataType| matches!(t, DataType::Timestamp(_, None));
    let micros = |tz: Option<Arc<str>>| DataType::Timestamp(TimeUnit::Microsecond, tz);
    let utc = micros(Some("UTC".into()));
    if naive(array.data_type()) && naive(other) {
        return cast(array, &micros(None)).map_err(DiffError::from);
    }
    match array.data_type() {
        DataType::Timestamp(_, Some(_)) => cast(array, &utc).map_err(DiffError::from),
        DataType::Timestamp(_, None) => {
            let local = cast(array, &micros(None))?;
            let local =
                local.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            let converted: TimestampMicrosecondArray = local
                .iter()
                .map(|v| v.and_then(|m| local_to_utc_micros(m, zone)))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC");
            Ok(Arc::new(converted))
        }
        _ => {
            let parsed = cast(array, &micros(Some(zone.name().into())))?;
            cast(&parsed, &utc).map_err(DiffError::from)
        }
    }
}

fn local_to_utc_micros(micros: i64, zone: chrono_tz::Tz) -> Option<i64> {
    let naive: NaiveDateTime = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
    // In a DST gap or fold, the earlier reading wins.
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Decimal128Array, Int64Array, TimestampMicrosecondArray};

    fn policy(family: Family) -> Policy {
        Policy {
            same_type: false,
            family,
            tolerance: None,
            normalize: Normalize::default(),
            timezone: chrono_tz::UTC,
            null_is_unknown: false,
            exact_text: false,
            float_against_exact: false,
            json: false,
        }
    }

    #[test]
    fn columns_with_no_type_on_either_side_have_a_family() {
        assert_eq!(family(&DataType::Null, &DataType::Null), Family::Other);
        assert_eq!(family(&DataType::Null, &DataType::Int64), Family::Exact);
    }

    #[test]
    fn an_unknown_null_equals_nothing() {
        let s: ArrayRef = Arc::new(StringArray::from(vec![None, None, Some("a")]));
        let t: ArrayRef = Arc::new(StringArray::from(vec![None, Some("a"), Some("a")]));
        assert_eq!(
            flags(&compare(&s, &t, &policy(Family::Text)).unwrap().differs),
            [false, true, false]
        );
        let unknown = Policy {
            null_is_unknown: true,
            ..policy(Family::Text)
        };
        let v = compare(&s, &t, &unknown).unwrap();
        assert_eq!(flags(&v.differs), [true, true, false]);
        assert_eq!(flags(&v.forgiven), [false, false, false]);
    }

    fn flags(a: &BooleanArray) -> Vec<bool> {
        a.iter().map(|v| v.unwrap_or(false)).collect()
    }

    #[test]
    fn numbers_compare_by_value() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(5), Some(7), None, None]));
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(500), Some(701), None, Some(0)])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        assert_eq!(
            family(ints.data_type(), decimals.data_type()),
            Family::Exact
        );
        let v = compare(&ints, &decimals, &policy(Family::Exact)).unwrap();
        assert_eq!(
            flags(&v.differs),
            [false, true, false, true],
            "5 = 5.00, 7 ≠ 7.01, NULL = NULL, NULL ≠ 0"
        );
    }

    #[test]
    fn tolerances_forgive_and_say_so() {
        let s: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 100.0, 100.0]));
        let t: ArrayRef = Arc::new(Float64Array::from(vec![1.005, 100.05, 101.0]));
        let p = Policy {
            tolerance: Some(Tolerance::Absolute(0.01)),
            ..policy(Family::Float)
        };
        let v = compare(&s, &t, &p).unwrap();
        assert_eq!(flags(&v.differs), [false, true, true]);
        assert_eq!(flags(&v.forgiven), [true, false, false]);
        let p = Policy {
            tolerance: Some(Tolerance::Relative(0.001)),
            ..policy(Family::Float)
        };
        assert_eq!(
            flags(&compare(&s, &t, &p).unwrap().differs),
            [true, false, true]
        );
    }

    #[test]
    fn text_normalisation() {
        let s: ArrayRef = Arc::new(StringArray::from(vec![
            Some("Ada "),
            Some("x"),
            Some(""),
            Some("b"),
        ]));
        let t: ArrayRef = Arc::new(StringArray::from(vec![
            Some("ada"),
            Some("x"),
            None,
            Some("B"),
        ]));
        let n = Normalize {
            trim: true,
            case_insensitive: true,
            empty_as_null: true,
            timezone: None,
        };
        let v = compare(
            &s,
            &t,
            &Policy {
                normalize: n,
                ..policy(Family::Text)
            },
        )
        .unwrap();
        assert_eq!(flags(&v.differs), [false, false, false, false]);
        assert_eq!(flags(&v.forgiven), [true, false, true, true]);
        assert_eq!(
            flags(&compare(&s, &t, &policy(Family::Text)).unwrap().differs),
            [true, false, true, true]
        );
    }

    #[test]
    fn instants_and_naive_times() {
        // 12:00 in Berlin (winter) is 11:00 UTC.
        let aware: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(11 * 3_600_000_000i64)]).with_timezone("UTC"),
        );
        let naive: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(
            12 * 3_600_000_000i64,
        )]));
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("1970-01-01T12:00:00+01:00")]));
        let berlin = Policy {
            timezone: chrono_tz::Europe::Berlin,
            ..policy(family(aware.data_type(), naive.data_type()))
        };
        assert_eq!(berlin.family, Family::Instant);
        assert_eq!(
            flags(&compare(&aware, &naive, &berlin).unwrap().differs),
            [false]
        );
        assert_eq!(
            flags(
                &compare(&aware, &naive, &policy(Family::Instant))
                    .unwrap()
                    .differs
            ),
            [true],
            "read in UTC they differ"
        );
        assert_eq!(
            flags(
                &compare(&aware, &text, &policy(Family::Instant))
                    .unwrap()
                    .differs
            ),
            [false],
            "the same instant with another offset"
        );
    }

    #[test]
    fn families() {
        assert_eq!(family(&DataType::Utf8, &DataType::Int64), Family::Exact);
        assert_eq!(family(&DataType::Utf8, &DataType::Float64), Family::Float);
        assert_eq!(family(&DataType::Utf8, &DataType::Utf8View), Family::Text);
        assert_eq!(
            family(
                &DataType::Utf8,
                &DataType::Timestamp(TimeUnit::Microsecond, None)
            ),
            Family::Instant
        );
        assert_eq!(family(&DataType::Null, &DataType::Int64), Family::Exact);
    }

    fn text(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn numbers_written_as_text_compare_by_value_and_only_by_value() {
        assert_eq!(canonical_number("1.50"), canonical_number("1.5"));
        assert_eq!(canonical_number("15e-1"), canonical_number("+1.5"));
        assert_eq!(canonical_number("01234"), canonical_number("1234"));
        assert_eq!(canonical_number("-0.0"), canonical_number("0"));
        assert_ne!(canonical_number("100"), canonical_number("1"));
        assert_eq!(canonical_number("N/A"), None);
        assert_eq!(canonical_number(""), None);
        assert_eq!(canonical_number("1e99999999999999999999"), None);
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(1234), Some(5), None, Some(7)]));
        let csv = text(&[Some("01234"), Some("N/A"), Some(""), None]);
        let v = compare(&ints, &csv, &policy(Family::Exact)).unwrap();
        assert_eq!(
            flags(&v.differs),
            [false, true, true, true],
            "a number is its value; unreadable text and '' never equal anything"
        );
    }

    #[test]
    fn reals_and_uuids_exported_by_other_tools() {
        // A real read back as a double (pandas): 1.1, not 1.100000023841858; a double no real
        // can hold is no real's infinity.
        let reals: ArrayRef = Arc::new(datafusion::arrow::array::Float32Array::from(vec![
            1.1,
            f32::NEG_INFINITY,
            2.5,
        ]));
        let doubles: ArrayRef = Arc::new(Float64Array::from(vec![1.1, -1e300, 2.5000001]));
        let float = policy(family(reals.data_type(), doubles.data_type()));
        let v = compare(&reals, &doubles, &float).unwrap();
        assert_eq!(flags(&v.differs), [false, true, false]);

        // A uuid as 16 bytes against the database's text.
        let bytes: ArrayRef = Arc::new(
            datafusion::arrow::array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                vec![Some([0xa0u8; 16]), None].into_iter(),
                16,
            )
            .unwrap(),
        );
        let uuids = text(&[Some("a0a0a0a0-a0a0-a0a0-a0a0-a0a0a0a0a0a0"), None]);
        let other = policy(family(bytes.data_type(), uuids.data_type()));
        let v = compare(&bytes, &uuids, &other).unwrap();
        assert_eq!(flags(&v.differs), [false, false]);
    }

    #[test]
    fn numeric_text_of_another_tool_keeps_every_digit() {
        // A numeric exported as its text (ADBC) against the database's exact text.
        let exact = family(&DataType::Decimal128(38, 0), &DataType::Utf8);
        let db = text(&[Some("12345678901234567890.123456789"), Some("1.50")]);
        let export = text(&[Some("12345678901234567890.123456788"), Some("1.5")]);
        let v = compare(&db, &export, &policy(exact)).unwrap();
        assert_eq!(flags(&v.differs), [true, false]);
    }

    #[test]
    fn a_column_of_the_null_type_holds_nulls() {
        let nulls: ArrayRef = Arc::new(datafusion::arrow::array::NullArray::new(2));
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![None, Some(1)]));
        let v = compare(
            &ints,
            &nulls,
            &policy(family(ints.data_type(), nulls.data_type())),
        );
        assert_eq!(flags(&v.unwrap().differs), [false, true]);
    }

    #[test]
    fn json_columns_compare_as_json_values() {
        let db = text(&[Some(r#"{"n": 1.50, "name": "Zoë"}"#), Some("1"), Some("x")]);
        let export = text(&[Some(r#"{"name":"Zo\u00eb","n":1.5}"#), Some("2"), Some("x")]);
        let json = Policy {
            json: true,
            ..policy(Family::Text)
        };
        let v = compare(&db, &export, &json).unwrap();
        assert_eq!(flags(&v.differs), [false, true, false]);
        let v = compare(&db, &export, &policy(Family::Text)).unwrap();
        assert_eq!(
            flags(&v.differs),
            [true, true, false],
            "text columns stay text"
        );
    }

    #[test]
    fn text_stays_text_against_a_text_column() {
        let db = text(&[Some("01234"), Some(""), None]);
        let csv = text(&[Some("1234"), None, Some("")]);
        let v = compare(&db, &csv, &policy(family_against_text(&DataType::Utf8))).unwrap();
        assert_eq!(flags(&v.differs), [true, true, true]);
    }

    #[test]
    fn exports_of_booleans_bytes_and_lists() {
        let bools: ArrayRef = Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            Some(true),
        ]));
        let csv = text(&[Some("t"), Some("false"), Some("maybe")]);
        let v = compare(
            &bools,
            &csv,
            &policy(family_against_text(bools.data_type())),
        )
        .unwrap();
        assert_eq!(flags(&v.differs), [false, false, true]);

        let bytes: ArrayRef = Arc::new(datafusion::arrow::array::BinaryArray::from(vec![
            &b"\x00\xff"[..],
            &b""[..],
        ]));
        let csv = text(&[Some("\\x00ff"), Some("\\x")]);
        let v = compare(
            &bytes,
            &csv,
            &policy(family_against_text(bytes.data_type())),
        )
        .unwrap();
        assert_eq!(flags(&v.differs), [false, false]);

        use datafusion::arrow::array::ListBuilder;
        use datafusion::arrow::array::StringBuilder;
        let mut lists = ListBuilder::new(StringBuilder::new());
        lists.values().append_value("a");
        lists.values().append_value("b,c");
        lists.values().append_null();
        lists.values().append_value("");
        lists.append(true);
        let lists: ArrayRef = Arc::new(lists.finish());
        let csv = text(&[Some("{a,\"b,c\",NULL,\"\"}")]);
        let v = compare(
            &lists,
            &csv,
            &policy(family_against_text(lists.data_type())),
        )
        .unwrap();
        assert_eq!(flags(&v.differs), [false]);
    }

    #[test]
    fn instants_within_a_duration() {
        let a: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![Some(0), Some(0)]).with_timezone("UTC"));
        let b: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(900_000), Some(1_100_000)])
                .with_timezone("UTC"),
        );
        let p = Policy {
            tolerance: Some(Tolerance::Duration(std::time::Duration::from_secs(1))),
            ..policy(Family::Instant)
        };
        let v = compare(&a, &b, &p).unwrap();
        assert_eq!(flags(&v.differs), [false, true]);
        assert_eq!(flags(&v.forgiven), [true, false]);
    }

    #[test]
    fn psql_timestamptz_text_is_an_instant() {
        let db: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![Some(0), Some(1_500_000)]).with_timezone("UTC"),
        );
        let csv = text(&[
            Some("1970-01-01 02:00:00+02"),
            Some("1970-01-01 00:00:01.5+00"),
        ]);
        let v = compare(&db, &csv, &policy(Family::Instant)).unwrap();
        assert_eq!(flags(&v.differs), [false, false]);
    }
}
