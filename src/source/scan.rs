//! The scan of a database table that a driver reads row by row (SQLite, MySQL): one
//! DataFusion leaf whose partitions each run one SELECT, the rows arriving batch by batch
//! through a bounded channel, so that a slow reader holds the driver back rather than
//! filling memory, and a reader that stops early (a LIMIT above) stops the query.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::cells::Kind;

/// Batches of rows a driver reads, in this size.
pub const BATCH_ROWS: usize = 8192;

/// Where a scan's rows come from: one SELECT per partition.
pub trait RowReader: Send + Sync + fmt::Debug {
    /// The engine and source, for plans (`SQLite source dev`).
    fn label(&self) -> String;
    /// The rows of `select` from `table`, in `schema`, batch by batch.
    fn read(
        self: Arc<Self>,
        table: &str,
        select: &str,
        schema: SchemaRef,
        kinds: Vec<Kind>,
    ) -> BoxStream<'static, Result<RecordBatch>>;
}

#[derive(Debug)]
pub struct RowScanExec {
    reader: Arc<dyn RowReader>,
    /// The table read, for messages.
    table: String,
    selects: Vec<String>,
    schema: SchemaRef,
    kinds: Vec<Kind>,
    properties: Arc<PlanProperties>,
}

impl RowScanExec {
    pub fn new(
        reader: Arc<dyn RowReader>,
        table: String,
        selects: Vec<String>,
        schema: SchemaRef,
        kinds: Vec<Kind>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(selects.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            reader,
            table,
            selects,
            schema,
            kinds,
            properties: Arc::new(properties),
        }
    }

    pub fn sql(&self) -> &[String] {
        &self.selects
    }
}

impl DisplayAs for RowScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "RowScanExec: {} sql={}",
            self.reader.label(),
            self.selects.join("; ")
        )
    }
}

impl ExecutionPlan for RowScanExec {
    fn name(&self) -> &str {
        "RowScanExec"
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
        let select = self.selects.get(partition).ok_or_else(|| {
            DataFusionError::Internal(format!("RowScanExec has no partition {partition}"))
        })?;
        let stream =
            self.reader
                .clone()
                .read(&self.table, select, self.schema.clone(), self.kinds.clone());
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// The receiving end of a bounded channel as a stream.
pub fn channel_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> BoxStream<'static, T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}
