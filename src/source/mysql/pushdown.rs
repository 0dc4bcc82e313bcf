//! Whole-query pushdown into MySQL or MariaDB: when every table a plan reads lives in one
//! MySQL source and the plan only uses operations whose meaning MySQL shares, the plan runs
//! there (unparsed in DataFusion's MySQL dialect) and only its result rows travel.
//!
//! MySQL's meaning differs from DataFusion's in places a verdict depends on, so a plan is
//! pushed only when none of them can show:
//! - **Collations.** MySQL's default collations fold case and ignore trailing spaces
//!   (`'a' = 'A '` is true), so a GROUP BY, DISTINCT, join, comparison, MIN/MAX or ORDER BY
//!   on text would merge values DataFusion keeps apart. Each table is read through a CTE that
//!   gives every text column a binary, no-pad collation (`utf8mb4_nopad_bin` on MariaDB,
//!   `utf8mb4_0900_bin` on MySQL 8): code-point order, as DataFusion compares.
//! - **Zero dates.** The table reader reads `0000-00-00` as NULL; the CTE does the same.
//! - **Types.** Division (decimal in MySQL), float literals (decimal in MySQL), string
//!   literals with a backslash (an escape in MySQL), casts that MySQL clamps where DataFusion
//!   fails, arithmetic on unsigned numbers, comparisons across type families (MySQL compares
//!   text with a number as doubles), LIKE (MySQL's default escape is `\`), and every scalar
//!   function but `character_length` (`length` counts bytes in MySQL, characters in
//!   DataFusion) keep the plan in-process.
//! - **NULL order.** MySQL sorts NULLs first ascending and last descending and has no
//!   `NULLS FIRST`: a sort asking otherwise stays in-process.

use std::any::Any;
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, NullEquality, ScalarValue, TableReference};
use datafusion::logical_expr::{Distinct, Expr, ExprSchemable, JoinType, LogicalPlan, Operator};
use datafusion::sql::unparser::Unparser;
use datafusion::sql::unparser::dialect::MySqlDialect;
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

use super::zero_dates::ColumnName;
use super::{MySession, MyTable, cancel, cell_of, quote};
use crate::source::cells::{Columns, Kind};
use crate::source::error::SourceError;
use crate::source::pushdown::{PushError, PushedQuery};
use crate::source::scan::BATCH_ROWS;

/// A query that will run inside one MySQL source.
pub struct Pushed {
    session: Arc<MySession>,
    /// The SQL the server receives: the tables' CTEs, then the unparsed plan.
    sql: String,
    /// The schema DataFusion expects back.
    schema: SchemaRef,
    /// The date and timestamp columns it reads: their zero dates become NULL inside MySQL,
    /// so a census counts them for the report's note.
    dates: Vec<(ColumnName, Kind)>,
}

/// The plan as MySQL SQL, if all of its tables are in one MySQL source and it uses nothing
/// whose meaning differs there.
pub fn try_push(plan: &LogicalPlan) -> Option<Pushed> {
    let tables = pushable_tables(plan)?;
    let session = tables.first()?.session.clone();
    // The output must be readable back into the types DataFusion planned.
    for field in plan.schema().fields() {
        expected_kind(field.data_type())?;
    }
    let renamed = plan
        .clone()
        .transform_up(|node| match node {
            LogicalPlan::TableScan(mut scan) => {
                let provider = source_as_provider(&scan.source)?;
                if let Some(t) = (provider.as_ref() as &dyn Any).downcast_ref::<MyTable>() {
                    // Named as its CTE, which is named as the table (the unparser qualifies
                    // columns by the bare table name); inside the CTE the name qualified by
                    // its database still means the base table.
                    scan.table_name = TableReference::bare(t.def.name.clone());
                }
                Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
            }
            other => other.map_expressions(|e| Ok(Transformed::yes(without_text_casts(e)?))),
        })
        .ok()?
        .data;
    let body = Unparser::new(&MySqlDialect {})
        .plan_to_sql(&renamed)
        .ok()?
        .to_string();
    let ctes: Vec<String> = tables
        .iter()
        .map(|t| format!("{} AS ({})", quote(&t.def.name), cte_body(t)))
        .collect();
    Some(Pushed {
        session,
        sql: format!("WITH {} {body}", ctes.join(", ")),
        schema: Arc::new(plan.schema().as_arrow().clone()),
        dates: dates_read(plan),
    })
}

/// The date and timestamp columns the plan's table scans read: those in their projection
/// that some expression of the plan names (an unoptimised scan projects every column; a
/// `count(*)` names none).
fn dates_read(plan: &LogicalPlan) -> Vec<(ColumnName, Kind)> {
    let mut named = std::collections::BTreeSet::new();
    let _ = plan.apply(|node| {
        for e in node.expressions() {
            let _ = e.apply(|e| {
                if let Expr::Column(c) = e {
                    named.insert(c.name.clone());
                }
                Ok(TreeNodeRecursion::Continue)
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let mut dates = Vec::new();
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Ok(provider) = source_as_provider(&scan.source)
            && let Some(table) = (provider.as_ref() as &dyn Any).downcast_ref::<MyTable>()
        {
            let read: Vec<usize> = match &scan.projection {
                Some(p) => p.clone(),
                None => (0..table.def.columns.len()).collect(),
            };
            for column in read.iter().filter_map(|i| table.def.columns.get(*i)) {
                let name = (table.def.name.clone(), column.name.clone());
                if matches!(column.kind, Kind::Date | Kind::Timestamp { .. })
                    && named.contains(&column.name)
                    && !dates.iter().any(|(n, _)| *n == name)
                {
                    dates.push((name, column.kind));
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    dates
}

/// A `where` planned by DataFusion over `table`'s columns as MySQL SQL over the columns of
/// the table's CTE (`cte_body`, named as the table), when MySQL means by it what DataFusion
/// does; otherwise why not.
pub fn where_sql(table: &MyTable, predicate: &Expr) -> Result<String, String> {
    let bare = crate::kernel::sqlgen::bare_columns(predicate).map_err(|e| e.to_string())?;
    let schema = DFSchema::try_from(table.schema.as_ref().clone()).map_err(|e| e.to_string())?;
    let mut unreadable = None;
    let _ = bare.apply(|e| {
        if let Expr::Column(c) = e {
            let index = table.def.columns.iter().position(|d| d.name == c.name);
            if index.and_then(|i| column_expr(table, i)).is_none() {
                unreadable = Some(c.name.clone());
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    if let Some(column) = unreadable {
        return Err(format!(
            "it reads `{column}`, whose values MySQL does not hold as crosscheck reads them"
        ));
    }
    if !expr_ok(&bare, &schema) {
        return Err(
            "it uses an operation MySQL means otherwise (a function, LIKE, division, a float \
             literal or a comparison across types)"
                .into(),
        );
    }
    let bare = without_text_casts(bare).map_err(|e| e.to_string())?;
    Unparser::new(&MySqlDialect {})
        .expr_to_sql(&bare)
        .map(|sql| sql.to_string())
        .map_err(|e| e.to_string())
}

/// Casts to text dropped: every text column of the CTE is text already, in a binary
/// collation, and MySQL's `CAST(… AS CHAR)` would give it the connection's collation.
fn without_text_casts(expr: Expr) -> datafusion::common::Result<Expr> {
    Ok(expr
        .transform_up(|e| match e {
            Expr::Cast(c) if family(c.field.data_type()) == Some(Family::Text) => {
                Ok(Transformed::yes(*c.expr))
            }
            other => Ok(Transformed::no(other)),
        })?
        .data)
}

/// The distinct tables a pushable plan reads, all of one session; `None` when any part of
/// the plan must stay in-process.
fn pushable_tables(plan: &LogicalPlan) -> Option<Vec<Arc<MyTable>>> {
    let mut tables: Vec<Arc<MyTable>> = Vec::new();
    let mut ok = true;
    let _ = plan.apply(|node| {
        ok = node_ok(node, &mut tables);
        Ok(if ok {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    (ok && !tables.is_empty()).then_some(tables)
}

fn node_ok(node: &LogicalPlan, tables: &mut Vec<Arc<MyTable>>) -> bool {
    let shape_ok = match node {
        LogicalPlan::TableScan(scan) => {
            let Ok(provider) = source_as_provider(&scan.source) else {
                return false;
            };
            let Ok(table) = (provider as Arc<dyn Any + Send + Sync>).downcast::<MyTable>() else {
                return false;
            };
            if let Some(first) = tables.first()
                && !Arc::ptr_eq(&first.session, &table.session)
            {
                return false;
            }
            let read: Vec<usize> = match &scan.projection {
                Some(p) => p.clone(),
                None => (0..table.def.columns.len()).collect(),
            };
            if !read.iter().all(|i| column_expr(&table, *i).is_some()) {
                return false;
            }
            if !tables.iter().any(|t| t.def.name == table.def.name) {
                tables.push(table);
            }
            true
        }
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Aggregate(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Union(_)
        | LogicalPlan::Distinct(Distinct::All(_)) => true,
        // MySQL puts NULLs first ascending, last descending, and cannot be told otherwise.
        LogicalPlan::Sort(sort) => sort.expr.iter().all(|s| s.asc == s.nulls_first),
        LogicalPlan::Join(join) => {
            matches!(
                join.join_type,
                JoinType::Inner
                    | JoinType::Left
                    | JoinType::Right
                    | JoinType::LeftSemi
                    | JoinType::LeftAnti
            ) && join.null_equality == NullEquality::NullEqualsNothing
                && !join.null_aware
        }
        _ => false,
    };
    if !shape_ok {
        return false;
    }
    let inputs = node.inputs();
    let schema = match inputs.as_slice() {
        [] => DFSchema::empty(),
        [one] => one.schema().as_ref().clone(),
        [first, rest @ ..] => {
            let mut merged = first.schema().as_ref().clone();
            for other in rest {
                merged.merge(other.schema());
            }
            merged
        }
    };
    node.expressions().iter().all(|e| expr_ok(e, &schema))
}

fn expr_ok(expr: &Expr, schema: &DFSchema) -> bool {
    let mut ok = true;
    let _ = expr.apply(|e| {
        ok = expr_node_ok(e, schema);
        Ok(if ok {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    ok
}

/// One expression node, its children aside.
fn expr_node_ok(e: &Expr, schema: &DFSchema) -> bool {
    let ty = |e: &Expr| e.get_type(schema).ok();
    let same_family = |a: &Expr, b: &Expr| match (ty(a), ty(b)) {
        (Some(a), Some(b)) => {
            family(&a).is_some() && (family(&a) == family(&b) || a == b) && compared_alike(&a, &b)
        }
        _ => false,
    };
    match e {
        Expr::Alias(_)
        | Expr::Column(_)
        | Expr::Not(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::Case(_) => true,
        Expr::Literal(value, _) => literal_ok(value),
        Expr::Negative(inner) => ty(inner).is_some_and(|t| computed_alike(&t)),
        Expr::BinaryExpr(b) => match b.op {
            Operator::And | Operator::Or => true,
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom => same_family(&b.left, &b.right),
            Operator::Plus | Operator::Minus | Operator::Multiply => [&b.left, &b.right]
                .iter()
                .all(|side| ty(side).is_some_and(|t| computed_alike(&t))),
            _ => false,
        },
        Expr::Between(b) => same_family(&b.expr, &b.low) && same_family(&b.expr, &b.high),
        Expr::InList(list) => list.list.iter().all(|item| same_family(&list.expr, item)),
        Expr::Cast(c) => ty(&c.expr).is_some_and(|from| cast_ok(&from, c.field.data_type())),
        // Characters, as MySQL's CHARACTER_LENGTH counts them (its LENGTH counts bytes).
        Expr::ScalarFunction(f) => {
            f.name() == "character_length"
                && f.args
                    .iter()
                    .all(|a| ty(a).and_then(|t| family(&t)) == Some(Family::Text))
        }
        Expr::AggregateFunction(f) => {
            let params = &f.params;
            let arg_types: Option<Vec<DataType>> = params.args.iter().map(ty).collect();
            let Some(arg_types) = arg_types else {
                return false;
            };
            let kind_ok = match f.func.name() {
                "count" | "min" | "max" => true,
                "sum" => arg_types.iter().all(number),
                // An average of doubles is a double in both engines (of integers or
                // decimals, a decimal in MySQL).
                "avg" => arg_types.iter().all(|t| *t == DataType::Float64),
                _ => false,
            };
            kind_ok
                && params.filter.is_none()
                && params.order_by.is_empty()
                && params.null_treatment.is_none()
        }
        _ => false,
    }
}

/// Which types compare with which in both engines alike.
#[derive(PartialEq, Eq)]
enum Family {
    Number,
    Text,
    Bool,
    Binary,
    Null,
}

fn family(t: &DataType) -> Option<Family> {
    use DataType::*;
    Some(match t {
        _ if number(t) => Family::Number,
        Utf8 | LargeUtf8 | Utf8View => Family::Text,
        Boolean => Family::Bool,
        Binary | LargeBinary | BinaryView => Family::Binary,
        Null => Family::Null,
        // Dates and times compare only with their own type (the `a == b` above).
        Date32 | Timestamp(..) => return None,
        _ => return None,
    })
}

/// Arithmetic MySQL computes in the type DataFusion computes it in: MySQL widens `int` to
/// `bigint` and `float` to `double` where DataFusion keeps 32 bits (`2147483647 + 1` wraps to a
/// negative number in DataFusion, not in MySQL).
fn computed_alike(t: &DataType) -> bool {
    use DataType::*;
    matches!(t, Int64 | Float64 | Decimal128(..))
}

/// Two number types MySQL compares as DataFusion does: DataFusion compares a `float` with an
/// integer as a 32-bit float (16777217 = 16777216), MySQL as doubles.
fn compared_alike(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    let float32_alone =
        |x: &DataType, y: &DataType| *x == Float32 && !matches!(y, Float32 | Float64);
    !(float32_alone(a, b) || float32_alone(b, a))
}

fn signed_number(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Int8 | Int16 | Int32 | Int64 | Float32 | Float64 | Decimal128(..)
    )
}

fn number(t: &DataType) -> bool {
    use DataType::*;
    signed_number(t) || matches!(t, UInt8 | UInt16 | UInt32 | UInt64)
}

/// Digits of the largest value of an integer type.
fn integer_digits(t: &DataType) -> Option<i16> {
    use DataType::*;
    Some(match t {
        Int8 | UInt8 => 3,
        Int16 | UInt16 => 5,
        Int32 | UInt32 => 10,
        Int64 => 19,
        UInt64 => 20,
        _ => return None,
    })
}

/// Casts MySQL performs as DataFusion does: MySQL clamps a value a cast cannot hold (with a
/// warning) where DataFusion fails, so only casts every value fits are pushed.
fn cast_ok(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    if from == to || *from == Null {
        return true;
    }
    match (from, to) {
        // Text to text changes no value; `try_push` drops such casts, since MySQL's
        // `CAST(x AS CHAR)` would give the text the connection's folding collation.
        (a, b) if family(a) == Some(Family::Text) && family(b) == Some(Family::Text) => true,
        (_, b) if family(b) == Some(Family::Text) => false,
        (Int8 | Int16 | Int32, Int32) | (Int8 | Int16 | Int32 | Int64, Int64) => true,
        (Float32, Float64) => true,
        (t, Float64) if integer_digits(t).is_some() => true,
        (t, Decimal128(p, s)) if integer_digits(t).is_some() => {
            integer_digits(t).is_some_and(|d| *p as i16 - *s as i16 >= d)
        }
        (Decimal128(p1, s1), Decimal128(p2, s2)) => {
            s2 >= s1 && (*p2 as i16 - *s2 as i16) >= (*p1 as i16 - *s1 as i16)
        }
        _ => false,
    }
}

fn literal_ok(value: &ScalarValue) -> bool {
    use ScalarValue::*;
    match value {
        Null | Boolean(_) | Int8(_) | Int16(_) | Int32(_) | Int64(_) | UInt8(_) | UInt16(_)
        | UInt32(_) | UInt64(_) | Decimal128(..) => true,
        // A backslash is an escape inside a MySQL string literal.
        Utf8(v) | LargeUtf8(v) | Utf8View(v) => v.as_deref().is_none_or(|s| !s.contains('\\')),
        // `0.1` is a decimal in MySQL, a double in DataFusion.
        _ => false,
    }
}

/// What the CTE selects for a column, or `None` when the column cannot be pushed (its text
/// is not MySQL's text of it, or its values are not checked the way the reader checks them).
pub(super) fn column_expr(table: &MyTable, index: usize) -> Option<String> {
    let column = table.def.columns.get(index)?;
    let name = quote(&column.name);
    let declared = column.column_type.to_ascii_lowercase();
    match column.kind {
        Kind::Text if is_text_type(&declared) => Some(format!(
            "CONVERT({name} USING utf8mb4) COLLATE {} AS {name}",
            binary_collation(table.session.engine)
        )),
        // A wide decimal read as its text, a column of no known type: not MySQL's meaning.
        Kind::Text | Kind::AnyText => None,
        // The reader reads a zero date as NULL.
        Kind::Date | Kind::Timestamp { .. } => Some(format!(
            "IF({}, NULL, {name}) AS {name}",
            zero_date(column.kind, &name)
        )),
        Kind::Bool
        | Kind::Int(_)
        | Kind::UInt(_)
        | Kind::Float
        | Kind::Float32
        | Kind::Decimal(..)
        | Kind::Binary => Some(name),
        // Bits and durations are checked by the reader in ways MySQL's own operators are not.
        Kind::Bits | Kind::Time => None,
    }
}

/// The condition of a zero date as the reader reads it: `0000-00-00`, and for a `datetime`
/// or `timestamp` whatever its time of day (`0000-00-00 10:00:00` is read as NULL too).
pub(super) fn zero_date(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Timestamp { .. } => {
            format!("(YEAR({value}) = 0 AND MONTH({value}) = 0 AND DAYOFMONTH({value}) = 0)")
        }
        _ => format!("{value} = 0"),
    }
}

fn is_text_type(declared: &str) -> bool {
    [
        "char",
        "varchar",
        "tinytext",
        "text",
        "mediumtext",
        "longtext",
        "enum",
        "set",
        "json",
    ]
    .iter()
    .any(|t| {
        declared == *t
            || declared
                .strip_prefix(t)
                .is_some_and(|rest| rest.starts_with(['(', ' ']))
    })
}

/// The collation that compares UTF-8 text by code point, trailing spaces included.
pub(super) fn binary_collation(engine: &str) -> &'static str {
    if engine == "MariaDB" {
        "utf8mb4_nopad_bin"
    } else {
        "utf8mb4_0900_bin"
    }
}

pub(super) fn cte_body(table: &MyTable) -> String {
    let columns: Vec<String> = (0..table.def.columns.len())
        .filter_map(|i| column_expr(table, i))
        .collect();
    let list = if columns.is_empty() {
        "1 AS crosscheck_none".to_string()
    } else {
        columns.join(", ")
    };
    format!(
        "SELECT {list} FROM {}.{}",
        quote(&table.session.database),
        quote(&table.def.name)
    )
}

/// The kind a result column of this type is read in.
fn expected_kind(t: &DataType) -> Option<Kind> {
    use DataType::*;
    Some(match t {
        Boolean => Kind::Bool,
        Int8 => Kind::Int(8),
        Int16 => Kind::Int(16),
        Int32 => Kind::Int(32),
        Int64 => Kind::Int(64),
        UInt8 => Kind::UInt(8),
        UInt16 => Kind::UInt(16),
        UInt32 => Kind::UInt(32),
        UInt64 => Kind::UInt(64),
        Float32 => Kind::Float32,
        Float64 => Kind::Float,
        Decimal128(p, s) => Kind::Decimal(*p, *s),
        Utf8 | Null => Kind::Text,
        Binary => Kind::Binary,
        Date32 => Kind::Date,
        Timestamp(TimeUnit::Microsecond, tz) => Kind::Timestamp { utc: tz.is_some() },
        _ => return None,
    })
}

/// The kind a result column arrives in: MySQL sums integers as decimals.
fn wire_kind(expected: &DataType, column: &mysql_async::Column) -> Option<Kind> {
    match column.column_type() {
        ColumnType::MYSQL_TYPE_NEWDECIMAL | ColumnType::MYSQL_TYPE_DECIMAL
            if number(expected) && column.decimals() <= 38 =>
        {
            Some(Kind::Decimal(38, column.decimals() as i8))
        }
        _ => expected_kind(expected),
    }
}

/// Server errors that mean the unparsed SQL is not this server's: syntax, unknown names,
/// unsupported features, collations that do not mix.
fn not_understood(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Server(s) => {
            s.state.starts_with("42") || matches!(s.code, 1235 | 1253 | 1267 | 1270 | 1271 | 1273)
        }
        _ => false,
    }
}

#[async_trait::async_trait]
impl PushedQuery for Pushed {
    fn engine(&self) -> &'static str {
        self.session.engine
    }

    fn source(&self) -> &str {
        &self.session.source
    }

    fn sql(&self) -> &str {
        &self.sql
    }

    async fn execute(&self) -> Result<Vec<RecordBatch>, PushError> {
        let session = &self.session;
        // Zero dates are NULL inside MySQL: they are counted first, for the report's note.
        session
            .census_zero_dates(&self.dates)
            .await
            .map_err(PushError::Failed)?;
        let mut lease = session.lease().await.map_err(PushError::Failed)?;
        let mut conn = lease.take().map_err(PushError::Failed)?;
        let outcome = self.run(&mut conn).await;
        // Only a connection whose statement ended cleanly goes back.
        if outcome.is_ok() {
            lease.conn = Some(conn);
        }
        outcome
    }
}

impl Pushed {
    fn failed(&self, e: mysql_async::Error) -> PushError {
        if not_understood(&e) {
            PushError::NotUnderstood(e.to_string())
        } else {
            PushError::Failed(self.session.failed(e))
        }
    }

    async fn run(&self, conn: &mut Conn) -> Result<Vec<RecordBatch>, PushError> {
        let session = &self.session;
        let limit = session.answer_limit();
        let timed_out = || PushError::Failed(session.timed_out());
        session.not_stopping().map_err(PushError::Failed)?;
        let failed = |e: mysql_async::Error| self.failed(e);
        let _running = cancel::Running::new(&session.opts, conn.id());
        let mut result = tokio::time::timeout(limit, conn.exec_iter(self.sql.as_str(), ()))
            .await
            .map_err(|_| timed_out())?
            .map_err(failed)?;
        let meta = result.columns().unwrap_or_default();
        if meta.len() != self.schema.fields().len() {
            return Err(PushError::NotUnderstood(
                "the pushed query returns other columns".into(),
            ));
        }
        let mut fields = Vec::with_capacity(meta.len());
        for (i, (column, field)) in meta.iter().zip(self.schema.fields()).enumerate() {
            let kind = wire_kind(field.data_type(), column).ok_or_else(|| {
                PushError::NotUnderstood(format!("result column {i} has no readable type"))
            })?;
            fields.push((format!("c{i}"), kind, false));
        }
        let kinds: Vec<Kind> = fields.iter().map(|f| f.1).collect();
        let mut columns = Columns::new(Columns::schema(&fields), kinds);
        let mut out = Vec::new();
        loop {
            let row = tokio::time::timeout(limit, result.next())
                .await
                .map_err(|_| timed_out())?
                .map_err(failed)?;
            let Some(row) = row else { break };
            for i in 0..meta.len() {
                columns
                    .push(i, cell_of(row.as_ref(i).unwrap_or(&Value::NULL)))
                    .map_err(|m| {
                        PushError::Failed(SourceError::Invalid(format!(
                            "{} source `{}`: the pushed-down query's column `{}`, row {} {}",
                            session.engine,
                            session.source,
                            self.schema.field(m.column).name(),
                            m.row,
                            m.reason
                        )))
                    })?;
            }
            columns.end_row();
            if columns.len() == BATCH_ROWS {
                out.push(self.conform(&mut columns)?);
            }
        }
        if !columns.is_empty() || out.is_empty() {
            out.push(self.conform(&mut columns)?);
        }
        Ok(out)
    }

    /// The rows read so far, in the types DataFusion expects (a MySQL sum of integers is a
    /// decimal); a value the expected type cannot hold is an error, never NULL.
    fn conform(&self, columns: &mut Columns) -> Result<RecordBatch, PushError> {
        let failed = |e: datafusion::arrow::error::ArrowError| {
            PushError::Failed(SourceError::from(e).within("cannot read a pushed-down result"))
        };
        let wire = columns.finish().map_err(failed)?;
        self.session.count_rows(wire.num_rows());
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let arrays = wire
            .columns()
            .iter()
            .zip(self.schema.fields())
            .map(|(array, field)| cast_with_options(array, field.data_type(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let schema = Arc::new(Schema::new(
            self.schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        let options = RecordBatchOptions::new().with_row_count(Some(wire.num_rows()));
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_are_told_from_others_by_their_declared_name() {
        for t in [
            "varchar(255)",
            "char(3)",
            "text",
            "longtext",
            "enum('a','b')",
            "set('x')",
            "json",
        ] {
            assert!(is_text_type(t), "{t}");
        }
        for t in [
            "decimal(65,30)",
            "geometry",
            "charx",
            "textual",
            "binary(3)",
        ] {
            assert!(!is_text_type(t), "{t}");
        }
    }

    #[test]
    fn only_casts_every_value_fits_are_pushed() {
        use DataType::*;
        assert!(cast_ok(&Int32, &Int64));
        assert!(cast_ok(&Int64, &Decimal128(20, 0)));
        assert!(!cast_ok(&Int64, &Decimal128(20, 2)));
        assert!(!cast_ok(&Int64, &Int32));
        assert!(!cast_ok(&UInt64, &Int64));
        assert!(!cast_ok(&Utf8, &Int64));
        assert!(!cast_ok(&Int64, &Utf8));
        assert!(cast_ok(&Utf8, &Utf8View));
        assert!(cast_ok(&Decimal128(10, 2), &Decimal128(12, 2)));
        assert!(!cast_ok(&Decimal128(10, 2), &Decimal128(10, 1)));
    }

    #[test]
    fn literals_mysql_reads_otherwise_are_not_pushed() {
        assert!(literal_ok(&ScalarValue::Utf8(Some("it's".into()))));
        assert!(!literal_ok(&ScalarValue::Utf8(Some("a\\b".into()))));
        assert!(!literal_ok(&ScalarValue::Float64(Some(0.1))));
        assert!(literal_ok(&ScalarValue::Int64(Some(-3))));
    }
}
