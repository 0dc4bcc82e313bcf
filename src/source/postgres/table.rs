//! A PostgreSQL table as a DataFusion table: `PgTable` plans (projection, filters and limit
//! pushed into the SQL it sends), `PgScanExec` streams the rows with binary COPY.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
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

use super::catalog::PgTableDef;
use super::decode::CopyDecoder;
use super::session::{PgSession, error_text};

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
        _state: &dyn Session,
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
        let select = self.select_sql(projection, &sql_filters, limit);
        Ok(Arc::new(PgScanExec::new(
            self.session.clone(),
            select,
            schema,
            kinds,
        )))
    }
}

/// The filter as PostgreSQL SQL, when it is one crosscheck knows means the same there:
/// comparisons, boolean logic, NULL tests and IN lists over columns and plain literals.
/// Ordering comparisons on text are kept in-process, since collations differ.
pub fn filter_to_sql(expr: &Expr, schema: &Schema) -> Option<String> {
    if !pushable(expr, schema) {
        return None;
    }
    // Columns arrive qualified with the DataFusion table name; PostgreSQL knows them bare.
    let bare = expr
        .clone()
        .transform(|e| match e {
            Expr::Column(mut c) => {
                c.relation = None;
                Ok(Transformed::yes(Expr::Column(c)))
            }
            other => Ok(Transformed::no(other)),
        })
        .ok()?
        .data;
    Unparser::new(&PostgreSqlDialect {})
        .expr_to_sql(&bare)
        .ok()
        .map(|ast| ast.to_string())
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
    select: String,
    schema: SchemaRef,
    kinds: Vec<super::decode::Kind>,
    properties: Arc<PlanProperties>,
}

impl PgScanExec {
    pub fn new(
        session: Arc<PgSession>,
        select: String,
        schema: SchemaRef,
        kinds: Vec<super::decode::Kind>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            session,
            select,
            schema,
            kinds,
            properties: Arc::new(properties),
        }
    }

    pub fn sql(&self) -> &str {
        &self.select
    }
}

impl fmt::Debug for PgScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgScanExec({}: {})", self.session.source, self.select)
    }
}

impl DisplayAs for PgScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "PgScanExec: source={} sql={}",
            self.session.source, self.select
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
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let stream = copy_stream(
            self.session.clone(),
            self.select.clone(),
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
        if let Err(message) = result {
            let _ = tx
                .send(Err(DataFusionError::External(message.into())))
                .await;
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
) -> Result<(), String> {
    let mut client = session.client().await?;
    let result = copy_into(session, &client, select, schema, kinds, tx).await;
    if !matches!(result, Ok(true)) {
        client.discard();
    }
    result.map(|_| ())
}

/// Streams the rows to `tx`; `Ok(false)` when the reader stopped early.
async fn copy_into(
    session: &Arc<PgSession>,
    client: &tokio_postgres::Client,
    select: &str,
    schema: SchemaRef,
    kinds: Vec<super::decode::Kind>,
    tx: &tokio::sync::mpsc::Sender<Result<datafusion::arrow::array::RecordBatch>>,
) -> Result<bool, String> {
    let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
    let source = session.source.clone();
    let failed =
        |e: tokio_postgres::Error| format!("PostgreSQL source `{source}`: {}", error_text(&e));
    let stream = client.copy_out(&copy).await.map_err(failed)?;
    futures::pin_mut!(stream);
    let mut decoder = CopyDecoder::new(schema, kinds, BATCH_ROWS);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(failed)?;
        for batch in decoder.push(&chunk)? {
            session
                .rows_read
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            if tx.send(Ok(batch)).await.is_err() {
                // The reader stopped early (a LIMIT above us): the COPY is abandoned mid-way.
                return Ok(false);
            }
        }
    }
    if let Some(batch) = decoder.finish()? {
        session
            .rows_read
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let _ = tx.send(Ok(batch)).await;
    }
    Ok(true)
}
