//! A float against an exact number — an integer, a decimal, a database's `numeric` text —
//! as exports made through floats need it (pandas turns an integer column with a NULL, and
//! every `numeric`, into float64). Casting the exact side to a float would make
//! 9007199254740993 equal 9007199254740992.0 and hide every digit a float lost, so the
//! float is read as the decimal it stands for instead: its shortest form (`3.1`, what
//! Python and Rust print, for `numeric` 3.10) or, for a whole float, its exact integer
//! (2^60 for `bigint` 1152921504606846976). A float equals the exact number when either
//! is that number's value; anything it rounded away is a difference. Pure Arrow, no I/O.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};

use super::compare::canonical_number;
use super::error::DiffResult;

/// Whether a type holds exact numbers (`exact_text`: its text does, a database's `numeric`).
fn is_exact(t: &DataType, exact_text: bool) -> bool {
    t.is_integer()
        || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..))
        || (exact_text && matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
}

/// Whether a column pair is a float against an exact number (`exact_text`: a text side
/// holds a database's `numeric`). The checksum cannot hash such pairs: no one form of both
/// sides is equal exactly when `equal` says they are.
pub fn applies(source: &DataType, target: &DataType, exact_text: bool) -> bool {
    (source.is_floating() && is_exact(target, exact_text))
        || (target.is_floating() && is_exact(source, exact_text))
}

/// Null-safe equality per row of a float side against an exact side, or `None` when the
/// pair is not one float and one exact number.
pub fn equal(
    source: &ArrayRef,
    target: &ArrayRef,
    exact_text: bool,
) -> DiffResult<Option<BooleanArray>> {
    let (s, t) = (source.data_type(), target.data_type());
    let (float, exact) = if s.is_floating() && is_exact(t, exact_text) {
        (source, target)
    } else if t.is_floating() && is_exact(s, exact_text) {
        (target, source)
    } else {
        return Ok(None);
    };
    let floats = float_forms(float)?;
    let exact = cast(exact, &DataType::Utf8)?;
    let equal = floats
        .iter()
        .zip(exact.as_string::<i32>().iter())
        .map(|(forms, exact)| {
            Some(match (forms, exact.and_then(canonical_number)) {
                (None, None) => true,
                (Some(forms), Some(exact)) => forms.iter().flatten().any(|f| *f == exact),
                // A NULL against a value, or exact text that is no number.
                _ => false,
            })
        })
        .collect();
    Ok(Some(equal))
}

/// Per row, the canonical decimal forms a float stands for: its shortest form, and for a
/// whole float its exact integer.
fn float_forms(array: &ArrayRef) -> DiffResult<Vec<Option<[Option<String>; 2]>>> {
    let forms = |shortest: String, value: f64| {
        let whole = (value.is_finite() && value.fract() == 0.0 && value.abs() < 1e38)
            .then(|| canonical_number(&format!("{}", value as i128)))
            .flatten();
        [canonical_number(&shortest), whole]
    };
    Ok(match array.data_type() {
        // A `real`'s shortest form is its own (1.1), not that of its widening (1.100000023841858).
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(|v| forms(v.to_string(), f64::from(v))))
            .collect(),
        _ => cast(array, &DataType::Float64)?
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map(|v| forms(v.to_string(), v)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        Decimal128Array, Float32Array, Float64Array, Int64Array, StringArray,
    };

    use super::*;

    fn flags(a: Option<BooleanArray>) -> Vec<bool> {
        a.expect("a float against an exact number")
            .iter()
            .map(|v| v.unwrap_or(false))
            .collect()
    }

    #[test]
    fn a_float_equals_an_integer_only_when_it_holds_it() {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(9007199254740992.0),
            Some(-1.0),
            None,
            Some(1152921504606846976.0),
            Some(0.5),
            Some(f64::NAN),
            None,
        ]));
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(9007199254740993),
            Some(-1),
            None,
            Some(1152921504606846976),
            Some(0),
            Some(0),
            Some(0),
        ]));
        assert_eq!(
            flags(equal(&floats, &ints, false).unwrap()),
            [false, true, true, true, false, false, false],
            "2^53 + 1 was rounded away; 2^60 is held exactly; NaN and NULL are no integer"
        );
    }

    #[test]
    fn a_float_equals_a_decimal_it_is_the_shortest_form_of() {
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![
            3.1,
            99999999.99,
            -0.0001,
            1.2345678901234567e19,
            -0.0,
            f64::INFINITY,
        ]));
        let decimals: ArrayRef = Arc::new(StringArray::from(vec![
            "3.10",
            "99999999.99",
            "-0.000100",
            "12345678901234567890.123456789",
            "0",
            "Infinity",
        ]));
        assert_eq!(
            flags(equal(&decimals, &floats, true).unwrap()),
            [true, true, true, false, true, true]
        );
        assert!(
            equal(&decimals, &floats, false).unwrap().is_none(),
            "text that is not a database numeric is read as a float elsewhere"
        );
        let decimal128: ArrayRef = Arc::new(
            Decimal128Array::from(vec![310, 311])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![3.1, 3.1]));
        assert_eq!(
            flags(equal(&floats, &decimal128, false).unwrap()),
            [true, false]
        );
    }

    #[test]
    fn near_misses_of_a_float_against_a_decimal() {
        // 0.1 + 0.2 is not 0.3; a whole float equals the decimal with trailing zeros; NaN is
        // NaN; a float one step off a decimal's shortest form differs.
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![
            0.1 + 0.2,
            100.0,
            f64::NAN,
            f64::from_bits(3.1f64.to_bits() + 1),
            -5.0,
        ]));
        let decimals: ArrayRef =
            Arc::new(StringArray::from(vec!["0.3", "100.00", "NaN", "3.10", "5"]));
        assert_eq!(
            flags(equal(&decimals, &floats, true).unwrap()),
            [false, true, true, false, false]
        );
    }

    #[test]
    fn a_real_is_read_at_its_own_precision() {
        let reals: ArrayRef = Arc::new(Float32Array::from(vec![1.1, 16777216.0]));
        let decimals: ArrayRef = Arc::new(StringArray::from(vec!["1.1", "16777217"]));
        assert_eq!(
            flags(equal(&reals, &decimals, true).unwrap()),
            [true, false]
        );
    }
}
