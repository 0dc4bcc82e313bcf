//! Parquet and NDJSON tables are DataFusion's own providers, wrapped so that a file that
//! vanished or changed after the table was opened is an error: DataFusion lists a folder's
//! files when the table is opened and a missing one would read as no rows at all.
//!
//! `GuardedTable` delegates planning; `GuardExec` checks every stamped file when a partition
//! starts, when its stream ends, and when the inner scan fails (so a "file not found" deep in
//! the Parquet reader becomes "vanished during the run").

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;

use super::stamp::{FileStamp, verify_all};

/// A DataFusion table whose files are checked against their stamps at every scan.
#[derive(Debug)]
pub struct GuardedTable {
    inner: Arc<dyn TableProvider>,
    files: Arc<Vec<FileStamp>>,
    types_inferred: bool,
}

impl GuardedTable {
    pub fn new(inner: Arc<dyn TableProvider>, files: Vec<FileStamp>) -> Self {
        Self {
            inner,
            files: Arc::new(files),
            types_inferred: false,
        }
    }

    /// Marks the column types as inferred from the data (NDJSON), not declared (Parquet).
    pub fn with_inferred_types(self) -> Self {
        Self {
            types_inferred: true,
            ..self
        }
    }

    /// Whether the column types were inferred from the data rather than declared.
    pub fn types_inferred(&self) -> bool {
        self.types_inferred
    }
}

#[async_trait]
impl TableProvider for GuardedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = self.inner.scan(state, projection, filters, limit).await?;
        Ok(Arc::new(GuardExec {
            input,
            files: self.files.clone(),
        }))
    }
}

/// Passes its input's batches through, checking the stamped files around them.
///
/// It reports no statistics of its own on purpose: an aggregate answered from the Parquet
/// footers read at open time would never touch the files, and a vanished file would pass.
pub struct GuardExec {
    input: Arc<dyn ExecutionPlan>,
    files: Arc<Vec<FileStamp>>,
}

impl fmt::Debug for GuardExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuardExec({} files)", self.files.len())
    }
}

impl DisplayAs for GuardExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "GuardExec: files={}", self.files.len())
    }
}

impl ExecutionPlan for GuardExec {
    fn name(&self) -> &str {
        "GuardExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|_| {
            DataFusionError::Execution(crate::kernel::error::bug("GuardExec takes one child"))
        })?;
        Ok(Arc::new(GuardExec {
            input,
            files: self.files.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        verify_all(&self.files)?;
        let inner = self.input.execute(partition, context)?;
        let schema = inner.schema();
        let files = self.files.clone();
        let on_error = files.clone();
        // Each batch passes; an error is replaced by the file change that explains it; the
        // end of the stream is one more check.
        let batches = inner.map(move |item| {
            item.map_err(|e| match verify_all(&on_error) {
                Err(changed) => changed,
                Ok(()) => e,
            })
        });
        let end = futures::stream::once(async move { verify_all(&files) })
            .filter_map(|r| async move { r.err().map(Err) });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            schema,
            batches.chain(end),
        )))
    }
}
