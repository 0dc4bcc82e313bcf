//! `--output-diff FILE.parquet`: every difference of a diff, for triage in other tools.
//! All columns are text (values as the samples show them, NULL as null).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;

use crate::engine::outcome::Sample;
use crate::kernel::error::{Error, Result};
use crate::kernel::values::display;

pub fn write_differences(path: &std::path::Path, differences: &Sample) -> Result<()> {
    let schema = Arc::new(Schema::new(
        differences
            .columns
            .iter()
            .map(|c| Field::new(c, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = (0..differences.columns.len())
        .map(|i| {
            let values: StringArray = differences
                .rows
                .iter()
                .map(|row| row.get(i).filter(|v| !v.is_null()).map(display))
                .collect();
            Arc::new(values) as ArrayRef
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let failed =
        |e: &dyn std::fmt::Display| Error::Io(format!("cannot write `{}`: {e}", path.display()));
    let file =
        std::fs::File::create(path).map_err(|e| failed(&crate::filesystem::io_reason(&e)))?;
    let mut writer = ArrowWriter::try_new(file, schema, None).map_err(|e| failed(&e))?;
    writer.write(&batch).map_err(|e| failed(&e))?;
    writer.close().map_err(|e| failed(&e))?;
    Ok(())
}
