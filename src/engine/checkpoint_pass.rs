//! One read of a table for its checkpoint. Every batch, as it arrives, is
//! * hashed row by row, and its keys and row hashes written to the Parquet file;
//! * fed to the profile query (DataFusion's aggregates over a table that streams the batches
//!   read, so the profile costs no second read of the table);
//! * fed to the exact distinct counter (`kernel::distinct`, bounded memory).
//!
//! Reading once is what keeps a checkpoint near the cost of copying the table out: an
//! aggregate query pushed into the database read it a second time, and its one
//! `count(DISTINCT …)` per column (a sort each) cost more than the copy itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMicrosecondType};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::config::TableName;
use crate::engine::profile_stats::{Stat, kind_of, micros, utc_micros_key};
use crate::kernel::distinct::DistinctCounter;
use crate::kernel::error::{Error, Result};
use crate::kernel::sqlgen::ident;
use crate::kernel::values::cell;
use crate::kernel::{error_text, reference, row_hash};
use crate::source::checkpoint::{ColumnEntry, ROW_HASH_COLUMN};

pub type Profile =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>;

/// The name the streamed batches are queried under by the profile.
const TEE: &str = "crosscheck_checkpoint_stream";
/// Batches waiting for each consumer: enough to keep them busy, little memory.
const QUEUED: usize = 4;
/// What a reader returns when a consumer stopped (whose own error is then reported).
const STOPPED: &str = "a checkpoint consumer stopped";

/// What to read and where to write it.
pub struct Pass<'a> {
    pub name: &'a TableName,
    pub columns: &'a [ColumnEntry],
    pub key: &'a [String],
    /// The Parquet file of keys and row hashes.
    pub path: &'a Path,
    /// Where distinct counts may spill (created when needed, removed after).
    pub spill_dir: PathBuf,
    /// A one-column primary key: its distinct count is its non-NULL count, not counted.
    pub unique: Option<&'a str>,
}

/// Reads the table once: writes its keys and row hashes, and returns its row count and
/// profile.
pub async fn run(ctx: &SessionContext, pass: Pass<'_>) -> Result<(u64, Profile)> {
    let failed = |e: DataFusionError| sql_failed(pass.name, &e);
    let frame = ctx.table(reference(pass.name)).await.map_err(failed)?;
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    let streams = frame.execute_stream_partitioned().await.map_err(failed)?;

    let key_at: Vec<usize> = pass
        .key
        .iter()
        .map(|k| schema.index_of(k).map_err(|e| failed(e.into())))
        .collect::<Result<_>>()?;
    let mut fields: Vec<Field> = key_at.iter().map(|&i| schema.field(i).clone()).collect();
    fields.push(Field::new(ROW_HASH_COLUMN, DataType::Int64, true));
    let keyed_schema = Arc::new(Schema::new(fields));

    // The columns whose distinct values are counted here.
    let counted: Vec<usize> = pass
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            Stat::of(kind_of(schema.field(*i).data_type())).contains(&Stat::Distinct)
                && pass.unique != Some(c.name.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    let (tee_tx, tee_rx) = mpsc::channel(QUEUED);
    let tee = Tee {
        schema: schema.clone(),
        batches: Mutex::new(Some(tee_rx)),
    };
    let table = StreamingTable::try_new(schema.clone(), vec![Arc::new(tee)]).map_err(failed)?;
    let _ = ctx.deregister_table(TEE);
    ctx.register_table(TEE, Arc::new(table)).map_err(failed)?;

    let (write_tx, write_rx) = mpsc::channel::<RecordBatch>(QUEUED);
    let writer = write_parquet(pass.path.to_path_buf(), keyed_schema.clone(), write_rx);
    let (count_tx, count_rx) = mpsc::channel::<Vec<ArrayRef>>(QUEUED);
    let counter = count_distinct(
        DistinctCounter::new(counted.len(), pass.spill_dir.clone()),
        count_rx,
    );

    // One task per stream, so that streams are hashed on every core.
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            let (tee_tx, write_tx, count_tx) = (tee_tx.clone(), write_tx.clone(), count_tx.clone());
            let (key_at, counted, keyed_schema) =
                (key_at.clone(), counted.clone(), keyed_schema.clone());
            let name = pass.name.clone();
            tokio::spawn(async move {
                let failed = |e: DataFusionError| sql_failed(&name, &e);
                while let Some(batch) = stream.next().await {
                    let batch = batch.map_err(failed)?;
                    let hashes =
                        row_hash::hash_rows(batch.columns(), batch.num_rows()).map_err(failed)?;
                    let mut keyed: Vec<ArrayRef> =
                        key_at.iter().map(|&i| batch.column(i).clone()).collect();
                    keyed.push(Arc::new(hashes));
                    let keyed = RecordBatch::try_new(keyed_schema.clone(), keyed)
                        .map_err(|e| failed(e.into()))?;
                    let values = counted.iter().map(|&i| batch.column(i).clone()).collect();
                    // A consumer that stopped has failed; its own error is reported below.
                    if write_tx.send(keyed).await.is_err()
                        || count_tx.send(values).await.is_err()
                        || tee_tx.send(Ok(batch)).await.is_err()
                    {
                        return Err(Error::Internal(STOPPED.into()));
                    }
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    drop((tee_tx, write_tx, count_tx));
    let read = async {
        for reader in readers {
            reader
                .await
                .map_err(|e| Error::Internal(format!("a checkpoint reader stopped: {e}")))??;
        }
        Ok::<_, Error>(())
    };
    let profile = profile_of(ctx, pass.name, pass.columns, &schema);
    let (read, profile) = futures::future::join(read, profile).await;
    let _ = ctx.deregister_table(TEE);
    let written = writer.await;
    let distinct = counter.await;
    // The first cause: a consumer's own error before the reader's "it stopped".
    let stopped = matches!(&read, Err(Error::Internal(m)) if m == STOPPED);
    written?;
    let distinct = distinct?;
    let (rows, mut profile) = match (read, profile) {
        (Ok(()), profile) => profile?,
        (Err(_), Err(profile)) if stopped => return Err(profile),
        (Err(read), _) => return Err(read),
    };
    for (&i, n) in counted.iter().zip(distinct) {
        let stats = profile.entry(pass.columns[i].name.clone()).or_default();
        stats.insert(Stat::Distinct.name().into(), n.into());
    }
    if let Some(unique) = pass.unique {
        let stats = profile.entry(unique.to_string()).or_default();
        let nulls = stats
            .get(Stat::Nulls.name())
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        stats.insert(Stat::Distinct.name().into(), (rows - nulls).into());
    }
    Ok((rows, profile))
}

pub(super) fn sql_failed(table: &TableName, e: &DataFusionError) -> Error {
    Error::Source {
        name: table.source.clone(),
        source: format!("checkpoint of `{table}`: {}", error_text(e)).into(),
    }
}

/// The batches read, as one stream the profile query scans.
#[derive(Debug)]
struct Tee {
    schema: SchemaRef,
    batches: Mutex<Option<mpsc::Receiver<datafusion::error::Result<RecordBatch>>>>,
}

impl PartitionStream for Tee {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }
    fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
        let receiver = self.batches.lock().ok().and_then(|mut r| r.take());
        let stream = futures::stream::unfold(receiver, |receiver| async move {
            let mut receiver = receiver?;
            let batch = receiver.recv().await?;
            Some((batch, Some(receiver)))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// Writes the keyed batches received into `path`, on a thread of its own.
fn write_parquet(
    path: PathBuf,
    schema: SchemaRef,
    mut batches: mpsc::Receiver<RecordBatch>,
) -> impl Future<Output = Result<()>> {
    let task = tokio::task::spawn_blocking(move || {
        let cannot = |e: &dyn std::fmt::Display| {
            Error::Io(format!("cannot write `{}`: {e}", path.display()))
        };
        let file =
            std::fs::File::create(&path).map_err(|e| cannot(&crate::filesystem::io_reason(&e)))?;
        // Row hashes are random: no dictionary, and the cheapest zstd (keys still shrink).
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(1).map_err(|e| cannot(&e))?,
            ))
            .set_dictionary_enabled(false)
            .build();
        let mut writer =
            ArrowWriter::try_new(file, schema, Some(properties)).map_err(|e| cannot(&e))?;
        while let Some(batch) = batches.blocking_recv() {
            writer.write(&batch).map_err(|e| cannot(&e))?;
        }
        writer.close().map_err(|e| cannot(&e))?;
        Ok(())
    });
    async move {
        task.await
            .map_err(|e| Error::Internal(format!("the checkpoint writer stopped: {e}")))?
    }
}

/// Counts the distinct values received, on a thread of its own.
fn count_distinct(
    mut counter: DistinctCounter,
    mut batches: mpsc::Receiver<Vec<ArrayRef>>,
) -> impl Future<Output = Result<Vec<u64>>> {
    let task = tokio::task::spawn_blocking(move || {
        let spill =
            |e: &dyn std::fmt::Display| Error::Io(format!("cannot count distinct values: {e}"));
        while let Some(columns) = batches.blocking_recv() {
            counter.add(&columns).map_err(|e| spill(&error_text(&e)))?;
        }
        counter
            .finish()
            .map_err(|e| spill(&crate::filesystem::io_reason(&e)))
    });
    async move {
        task.await
            .map_err(|e| Error::Internal(format!("the distinct counter stopped: {e}")))?
    }
}

/// The row count and every statistic but the distinct counts, in one aggregate query over
/// the streamed batches.
async fn profile_of(
    ctx: &SessionContext,
    name: &TableName,
    columns: &[ColumnEntry],
    schema: &SchemaRef,
) -> Result<(u64, Profile)> {
    let mut select = vec!["count(*) AS \"rows\"".to_string()];
    let mut slots = Vec::new();
    for (column, field) in columns.iter().zip(schema.fields()) {
        for stat in Stat::of(kind_of(field.data_type())) {
            if (column.sensitive && stat.is_value()) || *stat == Stat::Distinct {
                continue;
            }
            select.push(format!(
                "{} AS \"s{}\"",
                stat.sql(&ident(&column.name), field.data_type()),
                slots.len()
            ));
            slots.push((column.name.clone(), *stat));
        }
    }
    let sql = format!("SELECT {} FROM {}", select.join(", "), ident(TEE));
    let batches = crate::engine::measure::collect(ctx, &sql)
        .await
        .map_err(|e| Error::Source {
            name: name.source.clone(),
            source: format!("profile of `{name}`: {e}").into(),
        })?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Err(Error::Internal(format!(
            "the profile of `{name}` returned no row"
        )));
    };
    let rows = cell(batch.column(0), 0).as_u64().unwrap_or(0);
    let mut out = Profile::new();
    for c in columns {
        out.entry(c.name.clone()).or_default();
    }
    for (i, (column, stat)) in slots.into_iter().enumerate() {
        let array = batch.column(i + 1);
        let stats = out.entry(column).or_default();
        // An instant also as UTC microseconds, as `profile_match` compares times.
        if matches!(stat, Stat::Earliest | Stat::Latest)
            && let Some(utc) = micros(array)
            && utc.is_valid(0)
        {
            let v = utc.as_primitive::<TimestampMicrosecondType>().value(0);
            stats.insert(utc_micros_key(stat), v.into());
        }
        let value = match cell(array, 0) {
            serde_json::Value::Number(n) if n.is_f64() => serde_json::Value::String(n.to_string()),
            serde_json::Value::Number(n) => serde_json::Value::Number(n),
            serde_json::Value::Null => serde_json::Value::Null,
            other => serde_json::Value::String(crate::kernel::values::display(&other)),
        };
        stats.insert(stat.name().to_string(), value);
    }
    Ok((rows, out))
}
