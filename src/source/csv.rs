//! crosscheck's own CSV table: `CsvTable` plans (projection, limit), `CsvScanExec` streams each
//! file in batches through [`super::nullmark`] into arrow-csv's decoder.
//!
//! Why not DataFusion's CSV source: it never gives arrow-csv the configured NULL text (so `\N`
//! read as the text `\N`) and cannot keep a quoted empty field apart from an unquoted one,
//! which is how PostgreSQL's `COPY … CSV` tells '' from NULL. Each file is also checked against
//! its [`FileStamp`], so a file that vanished or changed under the run is an error, never an
//! empty table.

use super::error::{SourceError, SourceResult};
use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use regex::Regex;

use super::nullmark::{MarkedReader, NullMarker, SENTINEL_REGEX};
use super::stamp::FileStamp;
use crate::config::CsvOptions;
use crate::filesystem::display_path;

/// The field metadata key the raw-text view sets: the column's type was never declared.
pub const UNTYPED_KEY: &str = "crosscheck.untyped";

const BATCH_ROWS: usize = 8192;

/// One CSV file, or a folder of CSV parts sharing one header, read on demand.
#[derive(Debug, Clone)]
pub struct CsvTable {
    files: Arc<Vec<FileStamp>>,
    options: CsvOptions,
    schema: SchemaRef,
}

impl CsvTable {
    /// Stamps `files`, checks their headers and infers the column types from the first
    /// `infer_records` records (blocking I/O: call it off the async runtime).
    pub fn open(files: &[PathBuf], csv: &CsvOptions, infer_records: usize) -> SourceResult<Self> {
        let stamps = super::stamp::stamp_all(files)?;
        let schema = infer(&stamps, csv, infer_records)?;
        Ok(Self {
            files: Arc::new(stamps),
            options: csv.clone(),
            schema: Arc::new(schema),
        })
    }

    /// The same table with every column read as its exact text (`Utf8`), NULL only where
    /// the null rule says, each field marked [`UNTYPED_KEY`].
    pub fn untyped(&self) -> Self {
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .map(|f| {
                Field::new(f.name(), DataType::Utf8, true).with_metadata(
                    [(UNTYPED_KEY.to_string(), "true".to_string())]
                        .into_iter()
                        .collect(),
                )
            })
            .collect();
        Self {
            files: self.files.clone(),
            options: self.options.clone(),
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The files this table reads, as stamped when it was opened.
    pub fn files(&self) -> &[FileStamp] {
        &self.files
    }
}

fn sentinel_regex() -> Result<Regex, String> {
    Regex::new(SENTINEL_REGEX).map_err(|e| format!("the NULL marker pattern is invalid: {e}"))
}

fn marked(stamp: &FileStamp, csv: &CsvOptions) -> std::io::Result<MarkedReader<File>> {
    let file = File::open(&stamp.path)?;
    Ok(MarkedReader::new(
        file,
        NullMarker::new(csv.delimiter, &csv.null, csv.header),
    ))
}

/// The table's schema: the header of the first file (every file must repeat it), and per
/// column the type arrow-csv infers, merged across files as DataFusion merges them.
fn infer(stamps: &[FileStamp], csv: &CsvOptions, infer_records: usize) -> SourceResult<Schema> {
    let format = Format::default()
        .with_header(csv.header)
        .with_delimiter(csv.delimiter)
        .with_null_regex(sentinel_regex().map_err(SourceError::Internal)?);
    let mut names: Option<(Vec<String>, &FileStamp)> = None;
    let mut types: Vec<HashSet<DataType>> = Vec::new();
    let mut remaining = infer_records;
    for stamp in stamps {
        let file = display_path(&stamp.path);
        let reader = marked(stamp, csv).map_err(|source| SourceError::Io {
            what: format!("cannot read `{file}`"),
            source,
        })?;
        // Even when enough records were read, later files still have their header checked.
        let (schema, read) = format
            .infer_schema(reader, Some(remaining.max(1)))
            .map_err(|e| SourceError::Invalid(format!("`{file}`: {}", arrow_text(&e))))?;
        let read = if remaining == 0 { 0 } else { read };
        remaining -= read.min(remaining);
        let file_names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        if file_names.is_empty() {
            return Err(SourceError::Invalid(empty_file(&file, csv.header)));
        }
        check_unique(&file_names, &file)?;
        match &names {
            None => {
                types = vec![HashSet::new(); file_names.len()];
                names = Some((file_names, stamp));
            }
            Some((first, first_stamp)) if *first != file_names => {
                return Err(SourceError::Invalid(format!(
                    "`{file}` has columns ({}) but `{}` has ({}): the files of a folder table \
                     must share one header",
                    file_names.join(", "),
                    display_path(&first_stamp.path),
                    first.join(", ")
                )));
            }
            Some(_) => {}
        }
        if read > 0 {
            for (set, field) in types.iter_mut().zip(schema.fields()) {
                set.insert(field.data_type().clone());
            }
        }
    }
    let names = names.map(|(n, _)| n).unwrap_or_default();
    let fields: Vec<Field> = names
        .into_iter()
        .zip(types)
        .map(|(name, types)| Field::new(name, merged_type(types), true))
        .collect();
    Ok(Schema::new(fields))
}

/// DataFusion's rule for a column seen with several types: NULL-only files do not count,
/// integers and floats make floats, anything else in conflict is text.
fn merged_type(mut types: HashSet<DataType>) -> DataType {
    types.remove(&DataType::Null);
    match types.len() {
        0 => DataType::Null,
        1 => types.into_iter().next().unwrap_or(DataType::Utf8),
        2 if types.contains(&DataType::Int64) && types.contains(&DataType::Float64) => {
            DataType::Float64
        }
        _ => DataType::Utf8,
    }
}

/// A file with no line at all has no columns: it is no table, not even an empty one (an
/// empty table still has its header), so it is an error rather than a table with no columns.
fn empty_file(file: &str, header: bool) -> String {
    if header {
        format!("`{file}` is empty: no header line (an empty table still has its header)")
    } else {
        format!("`{file}` is empty: no record to take its columns from (`csv.header` is false)")
    }
}

/// A header naming a column twice makes every read of the table fail (or pick one of the
/// two silently), so it is an error when the table is opened.
fn check_unique(names: &[String], file: &str) -> SourceResult<()> {
    let mut seen = HashSet::new();
    match names.iter().find(|n| !seen.insert(n.as_str())) {
        Some(name) => Err(SourceError::Invalid(format!(
            "`{file}`: column `{name}` appears more than once in the header"
        ))),
        None => Ok(()),
    }
}

fn arrow_text(e: &datafusion::arrow::error::ArrowError) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("Csv error: ").unwrap_or(&text);
    text.strip_prefix("CSV error: ").unwrap_or(text).to_string()
}

#[async_trait]
impl TableProvider for CsvTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(CsvScanExec::try_new(
            self.clone(),
            projection.cloned(),
            limit,
        )?))
    }
}

/// Streams a [`CsvTable`]: one partition per file, each decoded on a blocking thread.
pub struct CsvScanExec {
    table: CsvTable,
    projection: Option<Vec<usize>>,
    /// The schema after projection.
    schema: SchemaRef,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl CsvScanExec {
    pub fn try_new(
        table: CsvTable,
        projection: Option<Vec<usize>>,
        limit: Option<usize>,
    ) -> Result<Self> {
        let schema = match &projection {
            Some(p) => Arc::new(table.schema.project(p)?),
            None => table.schema.clone(),
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(table.files.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(Self {
            table,
            projection,
            schema,
            limit,
            properties: Arc::new(properties),
        })
    }
}

impl fmt::Debug for CsvScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CsvScanExec({} files)", self.table.files.len())
    }
}

impl DisplayAs for CsvScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let files: Vec<String> = self
            .table
            .files
            .iter()
            .map(|s| display_path(&s.path))
            .collect();
        write!(f, "CsvScanExec: files=[{}]", files.join(", "))?;
        if let Some(limit) = self.limit {
            write!(f, " limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for CsvScanExec {
    fn name(&self) -> &str {
        "CsvScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let Some(stamp) = self.table.files.get(partition).cloned() else {
            // A table of no files (an empty folder) has one partition and no rows.
            if self.table.files.is_empty() {
                return Ok(builder.build());
            }
            // Not DataFusion's Internal: its text blames DataFusion's code.
            return Err(DataFusionError::Execution(crate::kernel::error::bug(
                format!("CsvScanExec has no partition {partition}"),
            )));
        };
        let read = FileRead {
            stamp,
            options: self.table.options.clone(),
            schema: self.table.schema.clone(),
            projection: self.projection.clone(),
            limit: self.limit,
        };
        let tx = builder.tx();
        builder.spawn_blocking(move || read.run(&mut |batch| tx.blocking_send(Ok(batch)).is_ok()));
        Ok(builder.build())
    }
}

/// Everything one partition needs to read its file.
struct FileRead {
    stamp: FileStamp,
    options: CsvOptions,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    limit: Option<usize>,
}

impl FileRead {
    /// Decodes the file, handing each batch to `send` (false: the reader went away). The
    /// file must be the one stamped at open time, before the read and after it.
    fn run(&self, send: &mut dyn FnMut(RecordBatch) -> bool) -> Result<()> {
        self.stamp.verify()?;
        let mut reader = marked(&self.stamp, &self.options).map_err(|_| self.stamp.vanished())?;
        let mut builder = ReaderBuilder::new(self.schema.clone())
            .with_header(self.options.header)
            .with_header_validation(self.options.header)
            .with_delimiter(self.options.delimiter)
            .with_null_regex(sentinel_regex().map_err(DataFusionError::Internal)?)
            .with_batch_size(BATCH_ROWS);
        if let Some(p) = &self.projection {
            builder = builder.with_projection(p.clone());
        }
        let mut decoder = builder.build_decoder();
        let mut left = self.limit.unwrap_or(usize::MAX);
        while left > 0 {
            let batch = match self.next_batch(&mut reader, &mut decoder)? {
                Some(batch) => batch,
                None => break,
            };
            let batch = if batch.num_rows() > left {
                batch.slice(0, left)
            } else {
                batch
            };
            left -= batch.num_rows();
            if !send(batch) {
                return Ok(());
            }
        }
        // A file that shrank or grew while read is not the file the table was opened on.
        if self.limit.is_none() && reader.bytes_read != self.stamp.size {
            return Err(self.stamp.changed());
        }
        self.stamp.verify()
    }

    /// The next batch, as arrow-csv's own buffered reader loops: decode until a batch is
    /// full or the input ends (an empty buffer marks the end of the last record).
    fn next_batch(
        &self,
        reader: &mut MarkedReader<File>,
        decoder: &mut datafusion::arrow::csv::reader::Decoder,
    ) -> Result<Option<RecordBatch>> {
        loop {
            let buf = reader.fill_buf().map_err(|e| self.io_error(&e))?;
            let decoded = decoder.decode(buf).map_err(|e| self.decode_error(&e))?;
            reader.consume(decoded);
            if decoded == 0 || decoder.capacity() == 0 {
                break;
            }
        }
        decoder.flush().map_err(|e| self.decode_error(&e))
    }

    /// A read error, or the file having changed, whichever explains the failure.
    fn io_error(&self, e: &std::io::Error) -> DataFusionError {
        if let Err(changed) = self.stamp.verify() {
            return changed;
        }
        DataFusionError::Execution(format!(
            "`{}`: {}",
            display_path(&self.stamp.path),
            if e.kind() == std::io::ErrorKind::InvalidData {
                e.to_string()
            } else {
                crate::filesystem::io_reason(e)
            }
        ))
    }

    fn decode_error(&self, e: &datafusion::arrow::error::ArrowError) -> DataFusionError {
        if let Err(changed) = self.stamp.verify() {
            return changed;
        }
        DataFusionError::Execution(format!(
            "`{}`: {}",
            display_path(&self.stamp.path),
            arrow_text(e)
        ))
    }
}
