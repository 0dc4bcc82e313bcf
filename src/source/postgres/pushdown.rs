//! Whole-query pushdown: when every table a query reads lives in one PostgreSQL source, the
//! query runs inside PostgreSQL (unparsed from DataFusion's plan), so a count, a grouped
//! count or an orphan anti-join moves a few result rows instead of the tables.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::TableReference;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::PostgreSqlDialect;
use futures::StreamExt;

use super::catalog::kind_of;
use super::session::PgSession;
use super::table::{PgTable, copy_stream};
use crate::source::error::{SourceError, SourceResult};
use crate::source::pushdown::{PushError, PushedQuery};

/// A query that will run inside one PostgreSQL source.
pub struct Pushed {
    pub session: Arc<PgSession>,
    /// The SQL PostgreSQL receives.
    pub sql: String,
    /// The schema DataFusion expects back.
    pub schema: SchemaRef,
}

/// The plan as PostgreSQL SQL, if all of its tables are in one PostgreSQL source.
pub fn try_push(plan: &LogicalPlan) -> Option<Pushed> {
    let mut session: Option<Arc<PgSession>> = None;
    let mut all_pg = true;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            let provider = source_as_provider(&scan.source).ok();
            let table = provider
                .as_ref()
                .and_then(|p| (p.as_ref() as &dyn Any).downcast_ref::<PgTable>());
            match (table, &session) {
                (Some(t), None) => session = Some(t.session.clone()),
                (Some(t), Some(s)) if Arc::ptr_eq(&t.session, s) => {}
                _ => all_pg = false,
            }
        }
        Ok(if all_pg {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    let session = session.filter(|_| all_pg)?;
    // Table names as PostgreSQL knows them: `prod.users` is `"public"."users"` there.
    let renamed = plan
        .clone()
        .transform_up(|node| match node {
            LogicalPlan::TableScan(mut scan) => {
                let provider = source_as_provider(&scan.source)?;
                if let Some(t) = (provider.as_ref() as &dyn Any).downcast_ref::<PgTable>() {
                    scan.table_name =
                        TableReference::partial(t.def.schema.clone(), t.def.name.clone());
                }
                Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
            }
            other => Ok(Transformed::no(other)),
        })
        .ok()?
        .data;
    let sql = Unparser::new(&PostgreSqlDialect {})
        .plan_to_sql(&renamed)
        .ok()?
        .to_string();
    Some(Pushed {
        session,
        sql,
        schema: Arc::new(plan.schema().as_arrow().clone()),
    })
}

/// Why a pushed query did not give a result.
#[async_trait::async_trait]
impl PushedQuery for Pushed {
    fn engine(&self) -> &'static str {
        "PostgreSQL"
    }

    fn source(&self) -> &str {
        &self.session.source
    }

    fn sql(&self) -> &str {
        &self.sql
    }

    /// Runs the query in PostgreSQL and returns its rows in the types DataFusion expects.
    async fn execute(&self) -> Result<Vec<RecordBatch>, PushError> {
        let client = self
            .session
            .client()
            .await
            .map_err(|e| PushError::Failed(e.into()))?;
        let statement = match client.prepare(&self.sql).await {
            Ok(statement) => statement,
            Err(e) => {
                // The failed statement aborted this connection's transaction: the pool
                // closes it.
                // Syntax, unknown names or types (42…) and unsupported features (0A000) mean
                // the unparsed SQL is not PostgreSQL's: DataFusion runs the query instead.
                return Err(match e.code().map(|c| c.code()) {
                    Some(code) if code.starts_with("42") || code == "0A000" => {
                        PushError::NotUnderstood(e.to_string())
                    }
                    _ => PushError::Failed(e.into()),
                });
            }
        };
        drop(client);
        if statement.columns().len() != self.schema.fields().len() {
            return Err(PushError::NotUnderstood(
                "the pushed query returns other columns".into(),
            ));
        }
        // Columns renamed by position, so duplicate or odd names cannot clash.
        let names: Vec<String> = (0..statement.columns().len())
            .map(|i| format!("c{i}"))
            .collect();
        let mut selects = Vec::new();
        let mut kinds = Vec::new();
        let mut wire_fields = Vec::new();
        for (i, column) in statement.columns().iter().enumerate() {
            let (mut kind, mut as_text) = kind_of(
                column.type_().name(),
                kind_letter(column.type_()),
                column.type_modifier(),
            );
            // An array DataFusion expects as text (a column holding arrays of other shapes,
            // see `schema_provider`) is read as PostgreSQL's text of it.
            if matches!(kind, super::decode::Kind::Array(_))
                && !matches!(self.schema.field(i).data_type(), DataType::List(_))
            {
                (kind, as_text) = (super::decode::Kind::Text, true);
            }
            selects.push(if as_text {
                format!("c{i}::text")
            } else {
                format!("c{i}")
            });
            kinds.push(kind);
            wire_fields.push(Field::new(format!("c{i}"), kind.data_type(), true));
        }
        let select = format!(
            "SELECT {} FROM ({}) AS pushed({})",
            selects.join(", "),
            self.sql,
            names.join(", ")
        );
        let wire_schema = Arc::new(Schema::new(wire_fields));
        let mut stream = copy_stream(self.session.clone(), select, wire_schema, kinds);
        let mut out = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(|e| PushError::Failed(e.into()))?;
            out.push(self.conform(&batch).map_err(PushError::Failed)?);
        }
        Ok(out)
    }
}

impl Pushed {
    /// PostgreSQL's result types cast to DataFusion's (`sum(int8)` is numeric there, Int64 here).
    fn conform(&self, batch: &RecordBatch) -> SourceResult<RecordBatch> {
        let columns = batch
            .columns()
            .iter()
            .zip(self.schema.fields())
            .map(|(array, field)| {
                cast(array, field.data_type()).map_err(|e| {
                    SourceError::from(e).within(format!(
                        "cannot read a pushed-down result column `{}`",
                        field.name()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::new(Schema::new(
            self.schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        let options = datafusion::arrow::array::RecordBatchOptions::new()
            .with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            schema, columns, &options,
        )?)
    }
}

fn kind_letter(t: &tokio_postgres::types::Type) -> &'static str {
    match t.kind() {
        tokio_postgres::types::Kind::Enum(_) => "e",
        _ => "b",
    }
}
