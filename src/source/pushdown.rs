//! Whole-query pushdown, whatever the database: when every table a planned query reads
//! lives in one database source that can run SQL, the query runs there and only its result
//! rows travel. The engine and `explain` ask here; each database kind says whether it takes
//! a plan (`postgres::pushdown`, `mysql::pushdown`).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, col};

use super::{mysql, postgres};

/// Why a pushed query gave no rows.
pub enum PushError {
    /// The database did not accept the SQL (the unparser wrote something it lacks): run the
    /// query in-process instead.
    NotUnderstood(String),
    /// A real failure (timeout, cancel, connection): report it.
    Failed(super::error::SourceError),
}

/// A query one database source will run.
pub struct Pushed(Box<dyn PushedQuery>);

/// What a database kind implements for a query it takes whole.
#[async_trait]
pub trait PushedQuery: Send + Sync {
    /// The database, as the user knows it.
    fn engine(&self) -> &'static str;
    /// The source that runs it.
    fn source(&self) -> &str;
    /// The SQL the database receives.
    fn sql(&self) -> &str;
    /// Runs it there; the rows come back in the types DataFusion planned.
    async fn execute(&self) -> Result<Vec<RecordBatch>, PushError>;
}

impl Pushed {
    pub fn engine(&self) -> &'static str {
        self.0.engine()
    }

    pub fn source(&self) -> &str {
        self.0.source()
    }

    pub fn sql(&self) -> &str {
        self.0.sql()
    }

    pub async fn execute(&self) -> Result<Vec<RecordBatch>, PushError> {
        self.0.execute().await
    }
}

/// The plan as one database's SQL, if all of its tables are in that one source.
pub fn try_push(plan: &LogicalPlan) -> Option<Pushed> {
    if calls_engine_only_function(plan) {
        return None;
    }
    if let Some(pushed) = postgres::pushdown::try_push(plan) {
        return Some(Pushed(Box::new(pushed)));
    }
    let pushed = mysql::pushdown::try_push(plan)?;
    Some(Pushed(Box::new(pushed)))
}

/// Whether the plan calls a function only the engine has (the JSON functions): sent by name,
/// it would run whatever function of that name the server holds, if any.
fn calls_engine_only_function(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        found = node.expressions().iter().any(|e| {
            e.exists(|e| {
                Ok(matches!(e, Expr::ScalarFunction(f)
                    if crate::kernel::json::is_engine_only(f.name())))
            })
            .unwrap_or(true)
        });
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// The parts of a plan that read one database source and end in an aggregate (a count, a
/// grouped count, a sum): each can run there whole, and sends back only its few rows, while
/// the rest of the plan (joining two sources' counts, say) runs in-process.
pub fn pushable_parts(plan: &LogicalPlan) -> Vec<(LogicalPlan, Pushed)> {
    let mut parts = Vec::new();
    let _ = plan.apply(|node| {
        if matches!(node, LogicalPlan::Aggregate(_))
            && let Some(pushed) = in_order(node).as_ref().and_then(try_push)
        {
            parts.push((node.clone(), pushed));
            return Ok(TreeNodeRecursion::Jump);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    parts
}

/// The aggregate under a projection of its columns in order: unparsed alone, an aggregate
/// lists its aggregates before its groups, which would read back by position into the
/// wrong columns.
fn in_order(aggregate: &LogicalPlan) -> Option<LogicalPlan> {
    let columns = aggregate
        .schema()
        .columns()
        .into_iter()
        .map(datafusion::prelude::Expr::Column);
    LogicalPlanBuilder::from(aggregate.clone())
        .project(columns)
        .ok()?
        .build()
        .ok()
}

/// The plan with each part replaced by the rows it gave: a scan of those rows under the
/// part's own column names and qualifiers, so the plan above reads them unchanged.
pub fn replace_parts(
    plan: LogicalPlan,
    results: Vec<(LogicalPlan, Vec<RecordBatch>)>,
) -> datafusion::common::Result<LogicalPlan> {
    let mut replacements = Vec::with_capacity(results.len());
    for (i, (part, batches)) in results.into_iter().enumerate() {
        replacements.push((part.clone(), rows_as_plan(&part, batches, i)?));
    }
    Ok(plan
        .transform_down(
            |node| match replacements.iter().find(|(part, _)| *part == node) {
                Some((_, rows)) => Ok(Transformed::new(
                    rows.clone(),
                    true,
                    TreeNodeRecursion::Jump,
                )),
                None => Ok(Transformed::no(node)),
            },
        )?
        .data)
}

fn rows_as_plan(
    part: &LogicalPlan,
    batches: Vec<RecordBatch>,
    index: usize,
) -> datafusion::common::Result<LogicalPlan> {
    let expected = part.schema();
    // Columns by position (a part's names may repeat under different qualifiers), each
    // nullable as the part declared it: a NULL where it said none is an error here.
    let schema = Arc::new(Schema::new(
        expected
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| Field::new(format!("c{i}"), f.data_type().clone(), f.is_nullable()))
            .collect::<Vec<_>>(),
    ));
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    let table = MemTable::try_new(schema, vec![batches])?;
    let names = expected
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            let column = col(format!("c{i}"));
            match qualifier {
                Some(q) => column.alias_qualified(Some(q.clone()), field.name()),
                None => column.alias(field.name()),
            }
        })
        .collect::<Vec<_>>();
    LogicalPlanBuilder::scan(
        format!("crosscheck_pushed_{index}"),
        provider_as_source(Arc::new(table)),
        None,
    )?
    .project(names)?
    .build()
}
