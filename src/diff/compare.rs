//! Comparing aligned columns by meaning, not representation: each pair of source and
//! target arrays is brought to one comparable form (numbers, text, instants…), then
//! compared twice — as is, and under the column's tolerance and normalisation — so a
//! reviewer sees both what differs and what the policy forgave. Pure Arrow, no I/O.

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeZone};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::cmp::not_distinct;
use datafusion::arrow::datatypes::{DataType, TimeUnit};

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
        (s, t) if (numeric(s) && is_text(t)) || (is_text(s) && numeric(t)) => Family::Float,
        (s, t) if temporal(s) || temporal(t) => Family::Instant,
        (DataType::Date32 | DataType::Date64, _) | (_, DataType::Date32 | DataType::Date64) => {
            Family::Date
        }
        (DataType::Boolean, DataType::Boolean) => Family::Bool,
        (s, t) if is_text(s) && is_text(t) => Family::Text,
        (DataType::Null, other) | (other, DataType::Null) => family(other, other),
        _ => Family::Other,
    }
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
}

/// Field metadata saying a column's NULL means unknown (see `Policy::null_is_unknown`).
pub const NULL_IS_UNKNOWN: &str = "crosscheck.null_is_unknown";

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

pub fn compare(source: &ArrayRef, target: &ArrayRef, policy: &Policy) -> Result<Verdict, String> {
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

/// Null-safe equality per row under `policy` (NULL equals NULL).
fn equal(source: &ArrayRef, target: &ArrayRef, policy: &Policy) -> Result<BooleanArray, String> {
    // Same type and nothing to forgive: both sides would be cast alike, so compare as they are.
    let text_normalised = matches!(policy.family, Family::Text | Family::Other)
        && policy.normalize != Normalize::default();
    if source.data_type() == target.data_type()
        && policy.tolerance.is_none()
        && !text_normalised
        && let Ok(equal) = not_distinct(source, target)
    {
        return Ok(equal);
    }
    let (s, t) = (
        comparable(source, policy, target.data_type())?,
        comparable(target, policy, source.data_type())?,
    );
    if let (Family::Float | Family::Exact, Some(tolerance)) = (policy.family, policy.tolerance) {
        let (s, t) = (to_f64(&s)?, to_f64(&t)?);
        return Ok(s
            .iter()
            .zip(t.iter())
            .map(|(a, b)| Some(within(a, b, tolerance)))
            .collect());
    }
    not_distinct(&s, &t).map_err(|e| e.to_string())
}

fn within(a: Option<f64>, b: Option<f64>, tolerance: Tolerance) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) if a.is_nan() && b.is_nan() => true,
        (Some(a), Some(b)) => {
            let allowed = match tolerance {
                Tolerance::Absolute(x) => x,
                Tolerance::Relative(x) => x * a.abs(),
            };
            // A hair of slack so that 0.1 + 0.2 against 0.3 with tolerance 0 is not a change
            // only because of binary floating point.
            (a - b).abs() <= allowed + f64::EPSILON * a.abs().max(b.abs())
        }
        _ => false,
    }
}

fn to_f64(array: &ArrayRef) -> Result<Float64Array, String> {
    Ok(cast(array, &DataType::Float64)
        .map_err(|e| e.to_string())?
        .as_primitive()
        .clone())
}

/// One side brought to the family's comparable form.
fn comparable(array: &ArrayRef, policy: &Policy, other: &DataType) -> Result<ArrayRef, String> {
    let cast_to = |t: &DataType| {
        cast(array, t)
            .map_err(|e| format!("cannot compare {} with {other}: {e}", array.data_type()))
    };
    match policy.family {
        Family::Exact => {
            let scale = |t: &DataType| match t {
                DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => *s,
                _ => 0,
            };
            let scale = scale(array.data_type()).max(scale(other)).max(0);
            cast_to(&DataType::Decimal128(38, scale))
        }
        Family::Float => cast_to(&DataType::Float64),
        Family::Text | Family::Other => {
            let text = cast_to(&DataType::Utf8)?;
            Ok(normalize_text(text.as_string::<i32>(), &policy.normalize))
        }
        Family::Instant => instant_micros(array, policy.timezone, other),
        Family::Date => cast_to(&DataType::Date32),
        Family::Bool => cast_to(&DataType::Boolean),
    }
}

/// What `trim` removes: spaces, tabs and line breaks (the same set the checksum trims).
pub const TRIMMED: [char; 4] = [' ', '\t', '\r', '\n'];

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
fn instant_micros(
    array: &ArrayRef,
    zone: chrono_tz::Tz,
    other: &DataType,
) -> Result<ArrayRef, String> {
    let naive = |t: &DataType| matches!(t, DataType::Timestamp(_, None));
    let micros = |tz: Option<Arc<str>>| DataType::Timestamp(TimeUnit::Microsecond, tz);
    let utc = micros(Some("UTC".into()));
    if naive(array.data_type()) && naive(other) {
        return cast(array, &micros(None)).map_err(|e| e.to_string());
    }
    match array.data_type() {
        DataType::Timestamp(_, Some(_)) => cast(array, &utc).map_err(|e| e.to_string()),
        DataType::Timestamp(_, None) => {
            let local = cast(array, &micros(None)).map_err(|e| e.to_string())?;
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
            let parsed =
                cast(array, &micros(Some(zone.name().into()))).map_err(|e| e.to_string())?;
            cast(&parsed, &utc).map_err(|e| e.to_string())
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
        }
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
        assert_eq!(family(&DataType::Utf8, &DataType::Int64), Family::Float);
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
}
