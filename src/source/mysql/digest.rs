//! The checksum's queries on MySQL and MariaDB: each row hashed where it lives and the hashes
//! summed exactly per bucket of key ranges; the rows of the buckets that differ are read
//! back and sorted by DataFusion (MySQL's collations order text otherwise than Arrow).
//! `diff::checksum` decides which buckets to ask for; this module only says them in MySQL's
//! SQL.
//!
//! **The row hash.** The first 64 bits of the MD5 (on MySQL, which has none since 9, SHA-256)
//! of the row's encoding: the key, then each
//! compared column, each value as its bytes with their length in front (`5:hello`) or `n`
//! for NULL, joined by commas. The encoding is injective, and MD5 is a random function of
//! it, so a changed row (a swap of two rows' values, a value moved to the next column, NULL
//! for `''`) hashes to a fresh value, and the exact `DECIMAL` sum of a bucket's hashes can
//! only stay equal through a 64-bit coincidence (see `postgres::hash` for the argument).
//!
//! **Values by meaning.** Columns are read through the same CTE as pushed queries
//! (`pushdown::cte_body`): text in UTF-8, zero dates as NULL, as the table reader reads them.
//! Numbers hash as MySQL writes them: integers and decimals exactly (a pair of columns of one
//! type has one scale), doubles in their shortest round-trip digits (checked on MariaDB 10.11
//! and MySQL 9.7: 6,248 doubles across the exponent range and their neighbours all have texts
//! of their own and read back exactly; `-0` is `-0` on MySQL, which only makes its range read),
//! floats through a double on MariaDB. Only columns of
//! the same type on both sides, without tolerance or normalisation, are hashed; bytes as hex.
//! A boolean holding another number than 0 or 1 (which the reader reports as an error) makes
//! its bucket read, so the error shows as it does without the checksum.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;

use super::pushdown::{column_expr, cte_body};
use super::zero_dates::ColumnName;
use super::{MyTable, quote};
use crate::config::Normalize;
use crate::source::cells::Kind;
use crate::source::error::{SourceError, SourceResult};
use crate::source::keyed::{
    Digest, Digester, FAN_OUT, HashBucket, KeyBounds, Pairing, Range, Restriction, SidePlan,
    sorted_select,
};

/// One side of a checksum on MySQL, its queries' parts decided once.
pub struct Prepared {
    table: MyTable,
    plan: SidePlan,
    /// The key column, quoted.
    key: String,
    /// The key is the table's whole primary key: its values are distinct.
    key_unique: bool,
    key_not_null: bool,
    /// The row hash over the CTE's columns, a `DECIMAL(20,0)`; NULL for a row holding a
    /// value the reader rejects, or too large for MySQL's functions (`max_allowed_packet`).
    row_hash: String,
    /// Per column the reader checks (booleans, dates), the condition of a value it rejects.
    misfits: Vec<String>,
    /// The date columns read, whose zero dates the report counts.
    dates: Vec<(ColumnName, Kind)>,
    /// The user's `where` in MySQL's SQL, over the CTE's columns.
    predicate: Option<String>,
}

impl Prepared {
    /// The side `plan` of `table`, or why MySQL cannot hash it as the merge compares it.
    pub fn new(
        table: &MyTable,
        plan: &SidePlan,
        pairing: Pairing<'_>,
        predicate: Option<String>,
    ) -> SourceResult<Prepared> {
        let refuse = |why: String| Err(SourceError::Invalid(why));
        let engine = table.session.engine;
        let column = |name: &str| {
            table
                .def
                .columns
                .iter()
                .enumerate()
                .find(|(_, c)| c.name == name)
        };
        let [(key_name, false)] = plan.keys.as_slice() else {
            return refuse(format!(
                "{engine} digests tables keyed by one integer column only"
            ));
        };
        let Some((_, key_column)) = column(key_name) else {
            return refuse(format!("`{key_name}` is not a column of the table"));
        };
        // Key ranges are 64-bit signed: a `bigint unsigned` key could pass them.
        if !matches!(key_column.kind, Kind::Int(_) | Kind::UInt(8 | 16 | 32)) {
            return refuse(format!(
                "{engine} digests tables keyed by one integer column (of at most 63 bits) \
                 only; `{key_name}` is `{}`",
                key_column.column_type
            ));
        }
        if plan.raw || plan.as_text.iter().any(|t| *t) || plan.key_casts.iter().any(Option::is_some)
        {
            return refuse("a column is compared as text with the other side".into());
        }
        let key = quote(key_name);
        let mut pieces = vec![piece(&key, &format!("CAST({key} AS SIGNED)"))];
        let mut misfits = Vec::new();
        let mut dates = Vec::new();
        for (name, policy) in plan.columns.iter().zip(pairing.policies) {
            if !policy.same_type
                || policy.normalize != Normalize::default()
                || policy.tolerance.is_some()
                || policy.null_is_unknown
                || policy.json
                || policy.exact_text
                || policy.float_against_exact
            {
                return refuse(format!(
                    "`{name}` is compared by meaning across types or with a normalisation, \
                     which {engine} does not hash"
                ));
            }
            let Some((index, c)) = column(name) else {
                return refuse(format!("`{name}` is not a column of the table"));
            };
            if column_expr(table, index).is_none() {
                return refuse(format!(
                    "`{name}` (`{}`) is checked by the reader in ways {engine} does not",
                    c.column_type
                ));
            }
            let value = quote(name);
            // A value the reader rejects has no text (NULL): its row's hash is NULL.
            let text = match c.kind {
                Kind::Bool => {
                    misfits.push(misfit(c.kind, &value));
                    format!("CASE WHEN {value} + 0 IN (0, 1) THEN CAST({value} + 0 AS CHAR) END")
                }
                Kind::Int(_) | Kind::UInt(_) | Kind::Decimal(..) => {
                    format!("CAST({value} AS CHAR)")
                }
                // MySQL widens a `float` to a double otherwise than exactly (through its short
                // text: 68 of 420 floats did not round-trip on MySQL 9.7, none on MariaDB).
                Kind::Float32 if engine != "MariaDB" => {
                    return refuse(format!(
                        "`{name}` is a float, which {engine} does not widen to a double exactly"
                    ));
                }
                Kind::Float | Kind::Float32 => format!("CAST(CAST({value} AS DOUBLE) AS CHAR)"),
                Kind::Text => value.clone(),
                Kind::Binary => format!("HEX({value})"),
                // `2024-00-00` (kept under a lax sql_mode) plus nothing is NULL.
                Kind::Date | Kind::Timestamp { .. } => {
                    misfits.push(misfit(c.kind, &value));
                    dates.push(((table.def.name.clone(), name.clone()), c.kind));
                    format!("CAST({value} + INTERVAL 0 SECOND AS CHAR)")
                }
                Kind::Bits | Kind::Time | Kind::AnyText => {
                    return refuse(format!(
                        "`{name}` (`{}`) is checked by the reader in ways {engine} does not",
                        c.column_type
                    ));
                }
            };
            pieces.push(piece(&value, &text));
        }
        // CONCAT, not CONCAT_WS: a NULL piece (a rejected or too large value) makes the
        // whole row NULL rather than vanish.
        // MySQL 9 has no MD5 (checked on 9.7); SHA2 is in both, MD5 cheaper on MariaDB.
        let row = format!("CONCAT({})", pieces.join(", ',', "));
        let digest = if engine == "MariaDB" {
            format!("MD5({row})")
        } else {
            format!("SHA2({row}, 256)")
        };
        let row_hash = format!("CAST(CONV(SUBSTRING({digest}, 1, 16), 16, 10) AS DECIMAL(20,0))");
        let key_unique = key_column.key_position == 1
            && table
                .def
                .columns
                .iter()
                .filter(|c| c.key_position > 0)
                .count()
                == 1;
        Ok(Prepared {
            table: MyTable::new(table.session.clone(), table.def.clone()),
            plan: plan.clone(),
            key: quote(key_name),
            key_unique,
            key_not_null: key_column.not_null,
            row_hash,
            misfits,
            dates,
            predicate,
        })
    }

    /// `WITH side AS (…)`: the table's columns as pushed queries read them.
    fn with(&self) -> String {
        format!("WITH `side` AS ({})", cte_body(&self.table))
    }

    fn and_where(&self) -> String {
        self.predicate
            .as_ref()
            .map(|p| format!(" AND ({p})"))
            .unwrap_or_default()
    }

    fn bounds_sql(&self) -> String {
        let key = &self.key;
        let filter = self
            .predicate
            .as_ref()
            .map(|p| format!(" WHERE ({p})"))
            .unwrap_or_default();
        let null_keys = if self.key_not_null {
            "0".to_string()
        } else {
            format!(
                "EXISTS (SELECT 1 FROM `side` WHERE {key} IS NULL{})",
                self.and_where()
            )
        };
        format!(
            "{} SELECT CAST(MIN({key}) AS SIGNED), CAST(MAX({key}) AS SIGNED), {null_keys} \
             FROM `side`{filter}",
            self.with()
        )
    }

    fn range_digest_sql(&self, ranges: &[Range]) -> String {
        let key = &self.key;
        let distinct = if self.key_unique {
            "COUNT(*)"
        } else {
            "COUNT(DISTINCT k)"
        };
        let branches: Vec<String> = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (low, high) = (r.low as i128, r.high as i128);
                let span = high - low + 1;
                let n = FAN_OUT.min(span);
                // Integer arithmetic when no product can overflow; exact decimals past it
                // (MySQL's DIV of decimals truncates exactly).
                let bucket = if r.buckets_in_64_bits() {
                    format!("(CAST({key} AS SIGNED) - ({low})) * {n} DIV {span}")
                } else {
                    format!("(CAST({key} AS DECIMAL(21,0)) - ({low})) * {n} DIV {span}")
                };
                // Rows whose hash is NULL are counted apart: their bucket is always read.
                format!(
                    "SELECT {i}, b, COUNT(*), {distinct}, CAST(SUM(h) AS CHAR), \
                     COUNT(*) - COUNT(h) FROM (SELECT {key} AS k, CAST({bucket} AS SIGNED) AS b, \
                     {} AS h FROM `side` WHERE {key} BETWEEN {low} AND {high}{}) AS hashed \
                     GROUP BY b",
                    self.row_hash,
                    self.and_where()
                )
            })
            .collect();
        format!("{} {}", self.with(), branches.join(" UNION ALL "))
    }

    /// The join reads every row of the columns it compares or filters on before it filters,
    /// and its reader rejects some values (a boolean that is 2, a date `2024-00-00`): with a
    /// `where`, the digests never see the rows outside it, so such a row is looked for
    /// there and read, for the reader to say what it says in the join.
    async fn reject_as_the_reader_does(&self) -> SourceResult<()> {
        let Some(predicate) = &self.predicate else {
            return Ok(());
        };
        let mut conditions: Vec<&str> = self.misfits.iter().map(String::as_str).collect();
        let filtered: Vec<String> = self
            .table
            .def
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| predicate.contains(&quote(&c.name)))
            .filter(|(i, _)| column_expr(&self.table, *i).is_some())
            .filter(|(_, c)| matches!(c.kind, Kind::Bool | Kind::Date | Kind::Timestamp { .. }))
            .map(|(_, c)| misfit(c.kind, &quote(&c.name)))
            .collect();
        conditions.extend(filtered.iter().map(String::as_str));
        if conditions.is_empty() {
            return Ok(());
        }
        let rejected = format!(
            "SELECT * FROM ({}) AS `side` WHERE {} LIMIT 1",
            cte_body(&self.table),
            conditions.join(" OR ")
        );
        let ctx = crate::kernel::new_session();
        let failed = |e: datafusion::error::DataFusionError| match e {
            datafusion::error::DataFusionError::External(e) => match e.downcast::<SourceError>() {
                Ok(e) => *e,
                Err(e) => SourceError::Internal(e.to_string()),
            },
            e => SourceError::from(e),
        };
        ctx.register_table("side", Arc::new(self.table.restricted(rejected)))
            .map_err(failed)?;
        ctx.sql("SELECT * FROM side")
            .await
            .map_err(failed)?
            .collect()
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// The rows of `restriction` (within the `where`) as a SELECT of the CTE's columns.
    fn rows_sql(&self, restriction: &Restriction) -> String {
        let key = &self.key;
        let ranges = match restriction {
            Restriction::KeyRanges { ranges, null_keys } => {
                let mut parts: Vec<String> = ranges
                    .iter()
                    .map(|r| format!("{key} BETWEEN {} AND {}", r.low, r.high))
                    .collect();
                if *null_keys {
                    parts.push(format!("{key} IS NULL"));
                }
                Some(if parts.is_empty() {
                    "FALSE".to_string()
                } else {
                    parts.join(" OR ")
                })
            }
            _ => None,
        };
        let condition = match (ranges, &self.predicate) {
            (Some(r), Some(p)) => format!(" WHERE ({r}) AND ({p})"),
            (Some(r), None) => format!(" WHERE {r}"),
            (None, Some(p)) => format!(" WHERE ({p})"),
            (None, None) => String::new(),
        };
        format!(
            "SELECT * FROM ({}) AS `side`{condition}",
            cte_body(&self.table)
        )
    }

    /// The layout the merge reads: `k0`, then `c0…`, in the table's types.
    fn merge_schema(&self) -> SchemaRef {
        let field = |name: &str, as_name: String| {
            let data_type = self
                .table
                .schema
                .field_with_name(name)
                .map(|f| f.data_type().clone())
                .unwrap_or(datafusion::arrow::datatypes::DataType::Utf8);
            Field::new(as_name, data_type, true)
        };
        let keys = self
            .plan
            .keys
            .iter()
            .enumerate()
            .map(|(i, (k, _))| field(k, format!("k{i}")));
        let columns = self
            .plan
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| field(c, format!("c{j}")));
        Arc::new(Schema::new(keys.chain(columns).collect::<Vec<_>>()))
    }

    /// The rows of `restriction`, sorted by key in DataFusion (spilling past its memory
    /// limit), laid out as the merge reads them.
    async fn sorted(
        &self,
        restriction: &Restriction,
    ) -> datafusion::error::Result<SendableRecordBatchStream> {
        let ctx = crate::kernel::new_session();
        let rows = self.table.restricted(self.rows_sql(restriction));
        ctx.register_table("side", Arc::new(rows))?;
        let sql = sorted_select(&self.plan, "FROM side");
        ctx.sql(&sql).await?.execute_stream().await
    }
}

/// A value's bytes with their length in front, or `n` for NULL: joined by commas, the pieces
/// of a row can be told apart however the values look. `text` is the value's text, NULL when
/// the reader would reject `value`.
fn piece(value: &str, text: &str) -> String {
    format!(
        "CASE WHEN {value} IS NULL THEN 'n' \
         ELSE CONCAT(LENGTH(CAST({text} AS BINARY)), ':', CAST({text} AS BINARY)) END"
    )
}

/// The condition of a value of `kind` the table reader rejects.
fn misfit(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Bool => format!("{value} + 0 NOT IN (0, 1)"),
        _ => format!("({value} IS NOT NULL AND {value} + INTERVAL 0 SECOND IS NULL)"),
    }
}

/// One side of a checksum on MySQL.
pub struct MyDigester {
    side: Arc<Prepared>,
}

impl MyDigester {
    pub fn new(side: Arc<Prepared>) -> Self {
        Self { side }
    }
}

#[async_trait]
impl Digester for MyDigester {
    async fn key_bounds(&self) -> SourceResult<KeyBounds> {
        let session = &self.side.table.session;
        session.census_zero_dates(&self.side.dates).await?;
        self.side.reject_as_the_reader_does().await?;
        let rows = self
            .side
            .table
            .session
            .query_rows(&self.side.bounds_sql())
            .await?;
        let Some(row) = rows.first() else {
            return Ok(KeyBounds::default());
        };
        let get = |i: usize| row.get::<Option<i64>, _>(i).flatten();
        let range = match (get(0), get(1)) {
            (Some(low), Some(high)) => Some(Range { low, high }),
            _ => None,
        };
        Ok(KeyBounds {
            range,
            null_keys: get(2).is_some_and(|n| n != 0),
        })
    }

    async fn range_digests(
        &self,
        ranges: &[Range],
    ) -> SourceResult<BTreeMap<(usize, i128), Digest>> {
        let rows = self
            .side
            .table
            .session
            .query_rows(&self.side.range_digest_sql(ranges))
            .await?;
        let mut out = BTreeMap::new();
        for row in &rows {
            let number = |i: usize| row.get::<Option<i64>, _>(i).flatten().unwrap_or(0);
            let rows = number(2) as u64;
            let misfits = number(5);
            let digest = Digest {
                rows,
                // A bucket holding a row without a hash (a value the reader rejects, or one
                // too large to hash) is read: its keys are given as fewer than its rows, as
                // duplicated keys are, which are always read.
                keys: if misfits > 0 { 0 } else { number(3) as u64 },
                sum: row
                    .get::<Option<String>, _>(4)
                    .flatten()
                    .unwrap_or_default(),
            };
            out.insert((number(0) as usize, number(1) as i128), digest);
        }
        Ok(out)
    }

    async fn hash_digests(
        &self,
        _parents: &[HashBucket],
    ) -> SourceResult<BTreeMap<HashBucket, Digest>> {
        Err(SourceError::Internal(
            "a MySQL table is digested by key ranges only".into(),
        ))
    }

    fn range_digest_sql(&self, ranges: &[Range]) -> String {
        self.side.range_digest_sql(ranges)
    }

    fn hash_digest_sql(&self, _parents: &[HashBucket]) -> String {
        "(a MySQL table is digested by key ranges only)".into()
    }

    fn read(&self, restriction: &Restriction) -> SendableRecordBatchStream {
        let side = self.side.clone();
        let restriction = restriction.clone();
        let schema = side.merge_schema();
        let stream =
            futures::stream::once(async move { side.sorted(&restriction).await }).try_flatten();
        Box::pin(RecordBatchStreamAdapter::new(schema, stream))
    }
}
