//! Intervals by meaning, against the other forms exports hold them in: text written by
//! PostgreSQL or DuckDB (`1 year 2 mons 3 days 04:05:06.7`, `-3 months`, `-1 days +02:00:00`),
//! and durations (pandas' timedelta, Arrow's `duration`). An interval keeps months, days and
//! time apart, as PostgreSQL does; a duration has only time, so it equals an interval without
//! months whose days are read as 24 hours, and never one with months: an exporter that turned
//! a month into 30 days (pandas through psycopg, a year into 365) guessed, and the guess is a
//! difference, not a match. Pure Arrow, no I/O.

use super::error::DiffResult;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType,
    DurationSecondType, IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit,
    IntervalYearMonthType, TimeUnit,
};

const NANOS_PER_DAY: i128 = 86_400_000_000_000;

/// An interval's parts: months, days, nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parts {
    months: i64,
    days: i64,
    nanos: i128,
}

fn is_interval(t: &DataType) -> bool {
    matches!(t, DataType::Interval(_) | DataType::Duration(_))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Whether a column pair compares as intervals: an interval or a duration against another
/// one, or against text.
pub fn involved(a: &DataType, b: &DataType) -> bool {
    (is_interval(a) || is_interval(b))
        && (is_interval(a) || is_text(a))
        && (is_interval(b) || is_text(b))
}

/// One side in a form that compares with the other side's by equality: the parts, or, when
/// either side is a duration, the whole time (NULL for an interval with months, or for text
/// that is no interval: `compare` counts those as different).
pub fn comparable(array: &ArrayRef, other: &DataType) -> DiffResult<ArrayRef> {
    let as_duration = matches!(array.data_type(), DataType::Duration(_))
        || matches!(other, DataType::Duration(_));
    let parts = parts(array)?;
    let keys: StringArray = parts
        .iter()
        .map(|p| {
            let p = (*p)?;
            if !as_duration {
                return Some(format!("{} {} {}", p.months, p.days, p.nanos));
            }
            let total = i128::from(p.days)
                .checked_mul(NANOS_PER_DAY)?
                .checked_add(p.nanos)?;
            (p.months == 0).then(|| format!("{total}ns"))
        })
        .collect();
    Ok(Arc::new(keys))
}

fn parts(array: &ArrayRef) -> DiffResult<Vec<Option<Parts>>> {
    let duration = |nanos: Option<i128>| {
        nanos.map(|nanos| Parts {
            months: 0,
            days: 0,
            nanos,
        })
    };
    let scaled = |v: Option<i64>, unit: i128| duration(v.map(|v| i128::from(v) * unit));
    Ok(match array.data_type() {
        DataType::Duration(TimeUnit::Second) => {
            collect::<DurationSecondType, _>(array, |v| scaled(v, 1_000_000_000))
        }
        DataType::Duration(TimeUnit::Millisecond) => {
            collect::<DurationMillisecondType, _>(array, |v| scaled(v, 1_000_000))
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            collect::<DurationMicrosecondType, _>(array, |v| scaled(v, 1_000))
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            collect::<DurationNanosecondType, _>(array, |v| scaled(v, 1))
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            collect::<IntervalYearMonthType, _>(array, |v| {
                v.map(|months| Parts {
                    months: i64::from(months),
                    days: 0,
                    nanos: 0,
                })
            })
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            collect::<IntervalDayTimeType, _>(array, |v| {
                v.map(|v| Parts {
                    months: 0,
                    days: i64::from(v.days),
                    nanos: i128::from(v.milliseconds) * 1_000_000,
                })
            })
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            collect::<IntervalMonthDayNanoType, _>(array, |v| {
                v.map(|v| Parts {
                    months: i64::from(v.months),
                    days: i64::from(v.days),
                    nanos: i128::from(v.nanoseconds),
                })
            })
        }
        _ => {
            let text = cast(array, &DataType::Utf8)?;
            text.as_string::<i32>()
                .iter()
                .map(|v| v.and_then(parse))
                .collect()
        }
    })
}

fn collect<T, F>(array: &ArrayRef, f: F) -> Vec<Option<Parts>>
where
    T: datafusion::arrow::datatypes::ArrowPrimitiveType,
    F: Fn(Option<T::Native>) -> Option<Parts>,
{
    array.as_primitive::<T>().iter().map(f).collect()
}

/// An interval's text as PostgreSQL (`postgres` and `postgres_verbose` styles) and DuckDB
/// write it; `None` for anything else.
fn parse(text: &str) -> Option<Parts> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if words.first() == Some(&"@") {
        words.remove(0);
    }
    let ago = words.last().is_some_and(|w| w.eq_ignore_ascii_case("ago"));
    if ago {
        words.pop();
    }
    if words.is_empty() {
        return None;
    }
    let mut parts = Parts {
        months: 0,
        days: 0,
        nanos: 0,
    };
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word.contains(':') {
            parts.nanos = parts.nanos.checked_add(clock(word)?)?;
            continue;
        }
        let unit = words.next()?.to_ascii_lowercase();
        add(&mut parts, word, unit.as_str())?;
    }
    if ago {
        parts = Parts {
            months: parts.months.checked_neg()?,
            days: parts.days.checked_neg()?,
            nanos: parts.nanos.checked_neg()?,
        };
    }
    Some(parts)
}

/// `N unit` added to the parts; months and days must be whole, time may have a fraction.
fn add(parts: &mut Parts, number: &str, unit: &str) -> Option<()> {
    let whole = || number.parse::<i64>().ok();
    match unit {
        "year" | "years" | "yr" | "yrs" => {
            parts.months = parts.months.checked_add(whole()?.checked_mul(12)?)?
        }
        "mon" | "mons" | "month" | "months" => parts.months = parts.months.checked_add(whole()?)?,
        "week" | "weeks" => parts.days = parts.days.checked_add(whole()?.checked_mul(7)?)?,
        "day" | "days" => parts.days = parts.days.checked_add(whole()?)?,
        _ => {
            let unit_nanos: i128 = match unit {
                "hour" | "hours" | "hr" | "hrs" => 3_600_000_000_000,
                "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
                "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
                "msec" | "msecs" | "millisecond" | "milliseconds" => 1_000_000,
                "usec" | "usecs" | "microsecond" | "microseconds" => 1_000,
                _ => return None,
            };
            parts.nanos = parts.nanos.checked_add(scaled(number, unit_nanos)?)?;
        }
    }
    Some(())
}

/// `[+-]H:MM[:SS[.fraction]]` in nanoseconds.
fn clock(word: &str) -> Option<i128> {
    let (negative, body) = match word.as_bytes().first() {
        Some(b'-') => (true, &word[1..]),
        Some(b'+') => (false, &word[1..]),
        _ => (false, word),
    };
    let mut fields = body.split(':');
    let hours: i128 = unsigned(fields.next()?)?;
    let minutes: i128 = unsigned(fields.next()?)?;
    let seconds = match fields.next() {
        Some(s) => scaled(s, 1_000_000_000).filter(|s| *s >= 0)?,
        None => 0,
    };
    if fields.next().is_some() || minutes > 59 {
        return None;
    }
    let nanos = hours
        .checked_mul(3_600_000_000_000)?
        .checked_add(minutes * 60_000_000_000)?
        .checked_add(seconds)?;
    Some(if negative { -nanos } else { nanos })
}

fn unsigned(digits: &str) -> Option<i128> {
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// A decimal number of `unit`s (`6.7` seconds) in nanoseconds, when that is whole.
fn scaled(number: &str, unit: i128) -> Option<i128> {
    let (negative, body) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let int = if int.is_empty() { 0 } else { unsigned(int)? };
    let frac_value = if frac.is_empty() { 0 } else { unsigned(frac)? };
    let denominator = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    let frac_nanos = frac_value.checked_mul(unit)?;
    if frac_nanos % denominator != 0 {
        return None;
    }
    let nanos = int
        .checked_mul(unit)?
        .checked_add(frac_nanos / denominator)?;
    Some(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{DurationMicrosecondArray, IntervalMonthDayNanoArray};
    use datafusion::arrow::datatypes::IntervalMonthDayNano;

    use super::*;

    fn p(months: i64, days: i64, nanos: i128) -> Option<Parts> {
        Some(Parts {
            months,
            days,
            nanos,
        })
    }

    #[test]
    fn postgres_and_duckdb_text() {
        let second = 1_000_000_000;
        assert_eq!(parse("1 day 02:00:00"), p(0, 1, 7200 * second));
        assert_eq!(parse("-3 mons"), p(-3, 0, 0));
        assert_eq!(parse("-3 months"), p(-3, 0, 0));
        assert_eq!(
            parse("1 year 2 mons 3 days 04:05:06.7"),
            p(14, 3, 14706 * second + 700_000_000)
        );
        assert_eq!(parse("-1 days +02:00:00"), p(0, -1, 7200 * second));
        assert_eq!(parse("-00:00:01.5"), p(0, 0, -1_500_000_000));
        assert_eq!(parse("00:00:00"), p(0, 0, 0));
        assert_eq!(
            parse("@ 1 year 2 mons 4 hours 6.7 secs ago"),
            p(-14, 0, -(4 * 3600 * second + 6_700_000_000))
        );
        for bad in [
            "",
            "1",
            "1 fortnight",
            "1.5 days",
            "12:60",
            "1:2:3:4",
            "x:00",
            "P1D",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_have_no_months() {
        let day = 86_400_000_000i64;
        let intervals: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(vec![
            Some(IntervalMonthDayNano::new(0, 1, 7_200_000_000_000)),
            Some(IntervalMonthDayNano::new(-3, 0, 0)),
            None,
        ]));
        let durations: ArrayRef = Arc::new(DurationMicrosecondArray::from(vec![
            Some(day + 7_200_000_000),
            Some(-90 * day),
            None,
        ]));
        let (a, b) = (
            comparable(&intervals, durations.data_type()).unwrap(),
            comparable(&durations, intervals.data_type()).unwrap(),
        );
        let (a, b) = (a.as_string::<i32>(), b.as_string::<i32>());
        assert_eq!(a.value(0), b.value(0), "a day is 24 hours for a duration");
        assert!(a.is_null(1) && b.is_valid(1), "-3 months is no duration");
        assert!(a.is_null(2) && b.is_null(2));
        assert!(involved(intervals.data_type(), &DataType::Utf8View));
        assert!(!involved(&DataType::Utf8, &DataType::Int64));
    }
}
