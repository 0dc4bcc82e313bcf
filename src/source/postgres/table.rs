//! A PostgreSQL table as a DataFusion table: `PgTable` plans (projection, filters and limit
//! pushed into the SQL it sends), `PgScanExec` streams the rows with binary COPY.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableType;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use datafusion::scalar::ScalarValue;
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::PostgreSqlDialect;
use futures::StreamExt;
use postgres_protocol::escape::escape_identifier;

use super::catalog::{PgColumn, PgTableDef};
use super::decode::CopyDecoder;
use super::session::{PgError, PgSession, PooledClient};
use crate::source::error::{SourceError, SourceResult};

const BATCH_ROWS: usize = 8192;

/// One PostgreSQL table, read on demand.
#[derive(Debug)]
pub struct PgTable {
    pub session: Arc<PgSession>,
    pub def: PgTableDef,
    schema: SchemaRef,
}

impl PgTable {
    pub fn new(session: Arc<PgSession>, def: PgTableDef) -> Self {
        let fields: Vec<Field> = def
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.kind.data_type(), !c.not_null))
            .collect();
        Self {
            session,
            def,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// `"schema"."table"` as PostgreSQL names it.
    pub fn qualified_name(&self) -> String {
        format!(
            "{}.{}",
            escape_identifier(&self.def.schema),
            escape_identifier(&self.def.name)
        )
    }

    /// The SELECT a scan sends (without the COPY around it).
    pub fn select_sql(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[String],
        limit: Option<usize>,
    ) -> String {
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.def.columns.len()).collect(),
        };
        let columns: Vec<&str> = indices
            .iter()
            .map(|i| self.def.columns[*i].select.as_str())
            .collect();
        let mut sql = format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            self.qualified_name()
        );
        if !filters.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(
                &filters
                    .iter()
                    .map(|f| format!("({f})"))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            );
        }
        if let Some(n) = limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }
}

#[async_trait]
impl TableProvider for PgTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if filter_to_sql(f, &self.schema).is_some() {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let sql_filters: Vec<String> = filters
            .iter()
            .filter_map(|f| filter_to_sql(f, &self.schema))
            .collect();
        if sql_filters.len() != filters.len() {
            return Err(DataFusionError::Internal(
                "a filter that cannot be pushed down reached the PostgreSQL scan".into(),
            ));
        }
        let kinds = match projection {
            Some(p) => p.iter().map(|i| self.def.columns[*i].kind).collect(),
            None => self.def.columns.iter().map(|c| c.kind).collect(),
        };
        let ranges = match limit {
            None => self.key_ranges(state.config().target_partitions()).await,
            Some(_) => vec![],
        };
        let selects = if ranges.is_empty() {
            vec![self.select_sql(projection, &sql_filters, limit)]
        } else {
            ranges
                .into_iter()
                .map(|range| {
                    let mut filters = sql_filters.clone();
                    filters.push(range);
                    self.select_sql(projection, &filters, None)
                })
                .collect()
        };
        Ok(Arc::new(PgScanExec::new(
            self.session.clone(),
            selects,
            schema,
            kinds,
        )))
    }
}

/// Tables with fewer rows than this are read by one connection.
const PARALLEL_MIN_ROWS: f64 = 1_000_000.0;

impl PgTable {
    /// Key-range predicates that split a large table with an integer primary key into about
    /// `partitions` parts read in parallel; empty when the table is read in one piece.
    async fn key_ranges(&self, partitions: usize) -> Vec<String> {
        // At most half the pool: one scan must leave connections for the rest of its query
        // and for the rules running beside it, or streams could wait on each other for ever.
        let parts = partitions.min(self.session.max_connections / 2) as i64;
        let Some(key) = self
            .def
            .integer_key()
            .filter(|_| parts > 1 && self.def.estimated_rows >= PARALLEL_MIN_ROWS)
        else {
            return vec![];
        };
        let column = escape_identifier(&key.name);
        let sql = format!(
            "SELECT min({column})::int8, max({column})::int8 FROM {}",
            self.qualified_name()
        );
        let Ok(client) = self.session.client().await else {
            return vec![];
        };
        // A failed query closes its connection; the table is then read in one piece.
        let bounds = match client.query_one(&sql, &[]).await {
            Ok(row) => (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)),
            Err(_) => return vec![],
        };
        let (Some(low), Some(high)) = bounds else {
            return vec![];
        };
        split_range(low, high, parts)
            .into_iter()
            .map(|(from, to)| match to {
                Some(to) => format!("{column} >= {from} AND {column} < {to}"),
                None => format!("{column} >= {from}"),
            })
            .collect()
    }
}

/// `[low, high]` cut into `parts` half-open ranges; the last one is open-ended.
pub fn split_range(low: i64, high: i64, parts: i64) -> Vec<(i64, Option<i64>)> {
    let span = (high as i128 - low as i128 + 1).max(1);
    let parts = parts.clamp(1, span.min(i64::MAX as i128) as i64);
    let step = span / parts as i128;
    (0..parts)
        .map(|i| {
            let from = (low as i128 + step * i as i128) as i64;
            let to = (i + 1 < parts).then(|| (low as i128 + step * (i as i128 + 1)) as i64);
            (from, to)
        })
        .collect()
}

/// The filter as PostgreSQL SQL, when it is one crosscheck knows means the same there:
/// comparisons, boolean logic, NULL tests and IN lists over columns and plain literals.
/// Ordering comparisons on text are kept in-process, since collations differ.
pub fn filter_to_sql(expr: &Expr, schema: &Schema) -> Option<String> {
    if !pushable(expr, schema) {
        return None;
    }
    bare_sql(expr).ok()
}

/// An expression DataFusion planned over a table, as PostgreSQL SQL over its bare columns
/// (columns arrive qualified with the DataFusion table name; PostgreSQL knows them bare).
pub fn bare_sql(expr: &Expr) -> Result<String> {
    let bare = crate::kernel::sqlgen::bare_columns(expr)?;
    Ok(Unparser::new(&PostgreSqlDialect {})
        .expr_to_sql(&bare)?
        .to_string())
}

fn pushable(expr: &Expr, schema: &Schema) -> bool {
    let is_text_column = |e: &Expr| match e {
        Expr::Column(c) => schema
            .field_with_name(&c.name)
            .map(|f| f.data_type().is_string())
            .unwrap_or(true),
        _ => false,
    };
    let mut ok = true;
    let _ = expr.apply(|e| {
        ok &= match e {
            Expr::Column(c) => schema.field_with_name(&c.name).is_ok(),
            Expr::Literal(value, _) => matches!(
                value,
                ScalarValue::Null
                    | ScalarValue::Boolean(_)
                    | ScalarValue::Int8(_)
                    | ScalarValue::Int16(_)
                    | ScalarValue::Int32(_)
                    | ScalarValue::Int64(_)
                    | ScalarValue::Float32(_)
                    | ScalarValue::Float64(_)
                    | ScalarValue::Utf8(_)
                    | ScalarValue::Utf8View(_)
                    | ScalarValue::LargeUtf8(_)
            ),
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
                Operator::Eq | Operator::NotEq | Operator::And | Operator::Or => true,
                Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                    !is_text_column(left) && !is_text_column(right)
                }
                _ => false,
            },
            Expr::Not(_) | Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::InList(_) => true,
            _ => false,
        };
        Ok(if ok {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    ok
}

/// Streams one SELECT's rows out of PostgreSQL with `COPY … TO STDOUT (FORMAT binary)`.
pub struct PgScanExec {
    session: Arc<PgSession>,
    /// One SELECT per partition (key ranges of one table, or the whole table).
    selects: Vec<String>,
    schema: SchemaRef,
    kinds: Vec<super::decode::Kind>,
    properties: Arc<PlanProperties>,
}

impl PgScanExec {
    pub fn new(
        session: Arc<PgSession>,
        selects: Vec<String>,
        schema: SchemaRef,
        kinds: Vec<super::decode::Kind>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(selects.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            session,
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

impl fmt::Debug for PgScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PgScanExec({}: {})",
            self.session.source,
            self.selects.join("; ")
        )
    }
}

impl DisplayAs for PgScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "PgScanExec: source={} sql={}",
            self.session.source,
            self.selects.join("; ")
        )
    }
}

impl ExecutionPlan for PgScanExec {
    fn name(&self) -> &str {
        "PgScanExec"
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
            DataFusionError::Internal(format!("PgScanExec has no partition {partition}"))
        })?;
        let stream = copy_stream(
            self.session.clone(),
            select.clone(),
            self.schema.clone(),
            self.kinds.clone(),
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// The rows of `select` as record batches, decoded while they arrive.
pub fn copy_stream(
    session: Arc<PgSession>,
    select: String,
    schema: SchemaRef,
    kinds: Vec<super::decode::Kind>,
) -> futures::stream::BoxStream<'static, Result<datafusion::arrow::array::RecordBatch>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let result = run_copy(&session, &select, schema, kinds, &tx).await;
        if let Err(e) = result {
            let _ = tx.send(Err(DataFusionError::External(Box::new(e)))).await;
        }
    });
    tokio_stream_from(rx).boxed()
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn run_copy(
    session: &Arc<PgSession>,
    select: &str,
    schema: SchemaRef,
    kinds: Vec<super::decode::Kind>,
    tx: &tokio::sync::mpsc::Sender<Result<datafusion::arrow::array::RecordBatch>>,
) -> SourceResult<()> {
    let client = session.client().await.map_err(|e| {
        SourceError::from(e).within(format!("PostgreSQL source `{}`", session.source))
    })?;
    copy_into(session, &client, select, schema, kinds, tx).await
}

/// Streams the rows to `tx` until the end, an error, or the reader stopping early (a LIMIT
/// above us). A COPY left before its end leaves the connection busy: the pool closes it.
async fn copy_into(
    session: &Arc<PgSession>,
    client: &PooledClient,
    select: &str,
    schema: SchemaRef,
    kinds: Vec<super::decode::Kind>,
    tx: &tokio::sync::mpsc::Sender<Result<datafusion::arrow::array::RecordBatch>>,
) -> SourceResult<()> {
    let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
    let source = session.source.clone();
    let failed = |e: PgError| SourceError::from(e).within(format!("PostgreSQL source `{source}`"));
    let mut rows = client.copy_out(&copy).await.map_err(failed)?;
    let mut decoder = CopyDecoder::new(schema, kinds, BATCH_ROWS);
    loop {
        let chunk = tokio::select! {
            chunk = rows.next() => chunk,
            // Nobody reads any more: stop waiting for the server now.
            _ = tx.closed() => return Ok(()),
        };
        let Some(chunk) = chunk else { break };
        let chunk = chunk.map_err(failed)?;
        for batch in decoder.push(&chunk)? {
            session
                .rows_read
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            if tx.send(Ok(batch)).await.is_err() {
                return Ok(());
            }
        }
    }
    if let Some(batch) = decoder.finish()? {
        session
            .rows_read
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(())
}

/// The columns of a PostgreSQL table whose text holds a number (see `PgColumn::is_number_text`).
pub fn number_text_columns(provider: &dyn TableProvider) -> Vec<String> {
    columns_where(provider, PgColumn::is_number_text)
}

/// The `jsonb` columns of a PostgreSQL table.
pub fn jsonb_columns(provider: &dyn TableProvider) -> Vec<String> {
    columns_where(provider, PgColumn::is_jsonb)
}

fn columns_where(provider: &dyn TableProvider, wanted: fn(&PgColumn) -> bool) -> Vec<String> {
    let Some(table) = (provider as &dyn Any).downcast_ref::<PgTable>() else {
        return Vec::new();
    };
    table
        .def
        .columns
        .iter()
        .filter(|c| wanted(c))
        .map(|c| c.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_range;

    #[test]
    fn key_ranges_cover_everything_once() {
        assert_eq!(
            split_range(1, 100, 4),
            [(1, Some(26)), (26, Some(51)), (51, Some(76)), (76, None)]
        );
        assert_eq!(split_range(5, 6, 4), [(5, Some(6)), (6, None)]);
        assert_eq!(split_range(7, 7, 4), [(7, None)]);
        assert_eq!(
            split_range(i64::MIN, i64::MAX, 2),
            [(i64::MIN, Some(0)), (0, None)]
        );
    }
}
