//! JSON functions in rule SQL: `datafusion-functions-json` (`json_get_str(doc, 'a', 'b')`,
//! `json_get_int`, `json_contains`, `json_length`, the `->` and `->>` operators) and
//! `json_valid(text)`. They exist only in the engine: a query using one is never sent to a
//! database as it is (a server could hold a function of the same name that does something
//! else), so its pushdown stops below them.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// The name of the function that says whether a text is one JSON document.
pub const JSON_VALID: &str = "json_valid";

/// Registers every JSON function on the session.
pub fn register(ctx: &mut SessionContext) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    ctx.register_udf(json_valid());
    Ok(())
}

/// Whether the scalar function `name` is one of the engine's JSON functions. Asked for every
/// function of every plan that could be pushed down: the names are collected once.
pub fn is_engine_only(name: &str) -> bool {
    static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(engine_only_names);
    NAMES.iter().any(|n| n == name)
}

fn engine_only_names() -> Vec<String> {
    use datafusion_functions_json::udfs::*;
    let udfs = [
        json_get_udf(),
        json_get_bool_udf(),
        json_get_float_udf(),
        json_get_int_udf(),
        json_get_json_udf(),
        json_get_array_udf(),
        json_as_text_udf(),
        json_get_str_udf(),
        json_contains_udf(),
        json_length_udf(),
        json_object_keys_udf(),
        json_from_scalar_udf(),
        json_union_to_text_udf(),
    ];
    let mut names = vec![JSON_VALID.to_string()];
    for udf in &udfs {
        names.push(udf.name().to_string());
        names.extend(udf.aliases().iter().cloned());
    }
    names
}

/// `json_valid(text)`: true when the text parses as one JSON value, false when it does not,
/// NULL for NULL.
fn json_valid() -> ScalarUDF {
    create_udf(
        JSON_VALID,
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let text = cast(&arrays[0], &DataType::Utf8)?;
            let text = as_string_array(&text)?;
            let valid: BooleanArray = text
                .iter()
                .map(|t| t.map(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok()))
                .collect();
            let valid: ArrayRef = Arc::new(valid);
            // A scalar argument gives a scalar back.
            if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) && valid.len() == 1 {
                return Ok(ColumnarValue::Scalar(
                    datafusion::common::ScalarValue::try_from_array(&valid, 0)?,
                ));
            }
            Ok(ColumnarValue::Array(valid))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_valid_tells_documents_from_broken_text() {
        let mut ctx = SessionContext::new();
        register(&mut ctx).expect("registered");
        let batches = ctx
            .sql(
                "SELECT json_valid(t) AS v FROM (VALUES ('{\"a\": [1, 2]}'), ('{\"a\": '), ('3'), (NULL)) AS d(t)",
            )
            .await
            .expect("planned")
            .collect()
            .await
            .expect("ran");
        let v = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("booleans");
        let got: Vec<Option<bool>> = v.iter().collect();
        assert_eq!(got, [Some(true), Some(false), Some(true), None]);
        assert!(is_engine_only("json_get_str") && is_engine_only("json_valid"));
        assert!(!is_engine_only("lower") && !is_engine_only("json_agg"));
    }
}
