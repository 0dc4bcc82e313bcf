//! `schema_match`: tables, columns, types and nullability of two tables or two sources.

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::SessionContext;
use serde_json::Value;

use super::outcome::{Measure, Sample};
use super::resolve::reference;
use crate::config::{TableName, TableOrSource};
use crate::source;

/// One difference: the object, what differs, the source side, the target side.
type Difference = [Value; 4];

pub async fn schema_match(
    ctx: &SessionContext,
    source: &TableOrSource,
    target: &TableOrSource,
    sample: usize,
) -> Result<Measure, String> {
    let (differences, checked) = match (source, target) {
        (TableOrSource::Table(s), TableOrSource::Table(t)) => {
            let (s_schema, t_schema) = (schema_of(ctx, s).await?, schema_of(ctx, t).await?);
            let diffs = compare_columns("", &s_schema, &t_schema);
            (
                diffs,
                s_schema.fields().len().max(t_schema.fields().len()) as u64,
            )
        }
        (TableOrSource::Source(s), TableOrSource::Source(t)) => compare_sources(ctx, s, t).await?,
        _ => return Err("`source` and `target` must both be tables or both be sources".into()),
    };
    let violations = differences.len() as u64;
    let message = if violations == 0 {
        "schemas match".to_string()
    } else {
        format!(
            "{violations} schema {}",
            if violations == 1 {
                "difference"
            } else {
                "differences"
            }
        )
    };
    let rows = differences
        .into_iter()
        .take(sample)
        .map(Vec::from)
        .collect();
    let columns = ["object", "difference", "source", "target"]
        .map(String::from)
        .to_vec();
    Ok(Measure {
        violations,
        observed: Some(checked.into()),
        checked,
        sample: Sample { columns, rows },
        message,
    })
}

async fn schema_of(ctx: &SessionContext, table: &TableName) -> Result<SchemaRef, String> {
    let provider = ctx
        .table_provider(reference(table))
        .await
        .map_err(|e| super::error_text(&e))?;
    Ok(provider.schema())
}

async fn compare_sources(
    ctx: &SessionContext,
    source: &str,
    target: &str,
) -> Result<(Vec<Difference>, u64), String> {
    let (s_tables, t_tables) = (
        source::table_names(ctx, source),
        source::table_names(ctx, target),
    );
    let mut diffs = Vec::new();
    let mut checked = 0;
    for name in s_tables.iter().filter(|n| !t_tables.contains(n)) {
        diffs.push(difference(
            name,
            "table missing in target",
            Value::String("table".into()),
            Value::Null,
        ));
    }
    for name in t_tables.iter().filter(|n| !s_tables.contains(n)) {
        diffs.push(difference(
            name,
            "extra table in target",
            Value::Null,
            Value::String("table".into()),
        ));
    }
    for name in s_tables.iter().filter(|n| t_tables.contains(n)) {
        let table = |src: &str| TableName {
            source: src.to_string(),
            schema: None,
            table: name.clone(),
        };
        let (s_schema, t_schema) = (
            schema_of(ctx, &table(source)).await?,
            schema_of(ctx, &table(target)).await?,
        );
        checked += s_schema.fields().len() as u64 + 1;
        diffs.extend(compare_columns(&format!("{name}."), &s_schema, &t_schema));
    }
    Ok((diffs, checked))
}

fn compare_columns(prefix: &str, source: &SchemaRef, target: &SchemaRef) -> Vec<Difference> {
    let mut diffs = Vec::new();
    for s in source.fields() {
        let object = format!("{prefix}{}", s.name());
        match target.field_with_name(s.name()) {
            Err(_) => diffs.push(difference(
                &object,
                "column missing in target",
                type_name(s.data_type()).into(),
                Value::Null,
            )),
            Ok(t) => {
                let (st, tt) = (type_name(s.data_type()), type_name(t.data_type()));
                // A column of an empty export has no type to compare (Arrow's Null).
                let unknown = s.data_type().is_null() || t.data_type().is_null();
                if st != tt && !unknown {
                    diffs.push(difference(&object, "type differs", st.into(), tt.into()));
                }
                if s.is_nullable() != t.is_nullable() {
                    let null = |n: bool| Value::String(if n { "NULL" } else { "NOT NULL" }.into());
                    diffs.push(difference(
                        &object,
                        "nullability differs",
                        null(s.is_nullable()),
                        null(t.is_nullable()),
                    ));
                }
            }
        }
    }
    for t in target
        .fields()
        .iter()
        .filter(|t| source.field_with_name(t.name()).is_err())
    {
        diffs.push(difference(
            &format!("{prefix}{}", t.name()),
            "extra column in target",
            Value::Null,
            type_name(t.data_type()).into(),
        ));
    }
    diffs
}

fn difference(object: &str, what: &str, source: Value, target: Value) -> Difference {
    [
        Value::String(object.to_string()),
        Value::String(what.to_string()),
        source,
        target,
    ]
}

/// A SQL-style name for an Arrow type; the text encodings of Arrow are one type here.
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 | DataType::Int16 => "smallint".into(),
        DataType::Int32 => "integer".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            format!("{data_type}").to_lowercase()
        }
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double precision".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "bytea".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamptz".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("numeric({p},{s})"),
        DataType::Null => "null".into(),
        other => other.to_string().to_lowercase(),
    }
}
