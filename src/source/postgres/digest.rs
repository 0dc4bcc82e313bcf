//! The checksum's queries on PostgreSQL: each row hashed (normalised so equal meanings hash
//! equal, see `hash`) and the hashes summed per bucket of key ranges or of the key's hash,
//! and the rows of the buckets that differ read back. `diff::checksum` decides which
//! buckets to ask for; this module only says them in PostgreSQL's SQL.

use std::collections::BTreeMap;

use async_trait::async_trait;
use datafusion::physical_plan::SendableRecordBatchStream;
use postgres_protocol::escape::{escape_identifier, escape_literal};

use super::PgTable;
use super::catalog::PgColumn;
use super::decode::Kind;
use super::hash::{self, Direct, Element, HashAs};
use crate::source::error::{SourceError, SourceResult};
use crate::source::keyed::{
    Digest, Digester, FAN_OUT, Family, HashBucket, KeyBounds, Pairing, Policy, Range, Restriction,
    SidePlan,
};

/// The expression one column is hashed as: both sides produce the same form for the same
/// meaning (5 and 5.00 are both numeric, hashing alike; instants are timestamptz), in a form
/// PostgreSQL hashes with its full width (`hash::HashAs`).
pub fn hashed_expr(
    column: Option<&PgColumn>,
    other: Option<&PgColumn>,
    name: &str,
    policy: &Policy,
    trim_scale: bool,
) -> Element {
    let n = &policy.normalize;
    let select = column
        .map(|c| c.select.clone())
        .unwrap_or_else(|| escape_identifier(name));
    let kind = column.map(|c| c.kind).unwrap_or(Kind::Text);
    // Same type on both sides and nothing to normalise: hash the value as it is (cheapest).
    let text_normalised = matches!(policy.family, Family::Text | Family::Other)
        && *n != crate::config::Normalize::default();
    // A numeric read as its text hashes by value (1.0 = 1.00), as the join compares it.
    let number_text = column.is_some_and(|c| c.is_number_text());
    if policy.same_type && !text_normalised && !number_text {
        let form = column.map(|c| c.hash).unwrap_or(HashAs::Native);
        let other_kind = other.map(|c| c.kind).unwrap_or(Kind::Text);
        // Same Arrow type, different PostgreSQL types hashing differently (uuid against text):
        // both as text. Arrays are compared as their text (dimensions and bounds included).
        let form = match form {
            _ if kind != other_kind || matches!(kind, Kind::Array(_)) => HashAs::Text,
            // Both `numeric(p, s)` alike: every value has scale s already.
            HashAs::Numeric if matches!(kind, Kind::Numeric { .. }) => HashAs::NumericFixedScale,
            form => form,
        };
        return form.element(&select);
    }
    match policy.family {
        Family::Exact if trim_scale => HashAs::Numeric.element(&format!("({select})::numeric")),
        // Before PostgreSQL 13 (no trim_scale) 5.0 and 5.00 hash apart: such buckets are read
        // and compared by value, slower but never wrong.
        Family::Exact => HashAs::Text.element(&format!("({select})::numeric")),
        Family::Float => Element::Direct(Direct::Float8, format!("({select})::float8")),
        Family::Instant => HashAs::Send("timestamptz_send").element(&match kind {
            Kind::Timestamp => format!(
                "(({select}) AT TIME ZONE {})",
                escape_literal(policy.timezone.name())
            ),
            _ => format!("({select})::timestamptz"),
        }),
        Family::Date => Element::Record(format!("({select})::date")),
        Family::Bool => Element::Direct(Direct::Bool, format!("({select})::bool")),
        Family::Text | Family::Other => {
            let mut e = format!("({select})::text");
            if n.trim {
                e = format!("btrim({e}, E' \\t\\r\\n')");
            }
            if n.case_insensitive {
                e = format!("lower({e})");
            }
            if n.empty_as_null {
                e = format!("nullif({e}, '')");
            }
            Element::Direct(Direct::Text, e)
        }
    }
}

/// One side of a checksum, with the other side's table and plan to agree on hash forms.
#[derive(Clone, Copy)]
pub struct Hashing<'a> {
    pub table: &'a PgTable,
    pub side: &'a SidePlan,
    pub other: &'a PgTable,
    pub other_side: &'a SidePlan,
    pub policies: &'a [Policy],
}

impl<'a> Hashing<'a> {
    /// The source's and the target's view of one diff.
    pub fn pair(source: &'a PgTable, target: &'a PgTable, pairing: Pairing<'a>) -> (Self, Self) {
        (
            Hashing {
                table: source,
                side: pairing.source,
                other: target,
                other_side: pairing.target,
                policies: pairing.policies,
            },
            Hashing {
                table: target,
                side: pairing.target,
                other: source,
                other_side: pairing.source,
                policies: pairing.policies,
            },
        )
    }

    fn column(&self, name: &str) -> Option<&PgColumn> {
        self.table.def.columns.iter().find(|c| c.name == name)
    }

    fn other_column(&self, name: &str) -> Option<&PgColumn> {
        self.other.def.columns.iter().find(|c| c.name == name)
    }

    /// Each key part in a form both sides hash alike, with its full width.
    pub fn key_parts(&self) -> Vec<String> {
        self.side
            .keys
            .iter()
            .zip(&self.other_side.keys)
            .map(|((name, as_text), (other_name, _))| {
                let column = self.column(name);
                let select = column
                    .map(|c| c.select.clone())
                    .unwrap_or_else(|| escape_identifier(name));
                let kind = column.map(|c| c.kind);
                let other_kind = self.other_column(other_name).map(|c| c.kind);
                match (as_text, kind) {
                    (true, _) => format!("({select})::text"),
                    (false, Some(Kind::Int2 | Kind::Int4 | Kind::Int8)) => {
                        format!("int8send(({select})::int8)")
                    }
                    // Numeric keys as text, whatever the server version (buckets must agree).
                    (false, Some(Kind::Numeric { .. })) => format!("({select})::text"),
                    (false, Some(k)) if Some(k) == other_kind => column
                        .map(|c| c.hash)
                        .unwrap_or(HashAs::Native)
                        .wrap(&select),
                    _ => format!("({select})::text"),
                }
            })
            .collect()
    }

    /// The row hash under the policy, and the strict one when the policy forgives something
    /// (a bucket whose strict sums differ holds forgiven values, read to be counted as `join`
    /// counts them). `key` is the key as an int8 expression.
    pub fn row_hashes(&self, key: &str) -> (String, Option<String>) {
        let trim_scale = [self.table, self.other]
            .iter()
            .all(|t| t.session.server_version.get().is_some_and(|v| *v >= 130000));
        let values = |strict: bool| -> Vec<Element> {
            self.side
                .columns
                .iter()
                .zip(&self.other_side.columns)
                .zip(self.policies)
                .map(|((name, other_name), policy)| {
                    let policy = if strict {
                        Policy {
                            normalize: crate::config::Normalize::default(),
                            ..policy.clone()
                        }
                    } else {
                        policy.clone()
                    };
                    hashed_expr(
                        self.column(name),
                        self.other_column(other_name),
                        name,
                        &policy,
                        trim_scale,
                    )
                })
                .collect()
        };
        let forgives = self.policies.iter().any(|p| {
            matches!(p.family, Family::Text | Family::Other)
                && p.normalize != crate::config::Normalize::default()
        });
        let policy = hash::row_hash(&values(false), key);
        let strict = forgives.then(|| hash::row_hash(&values(true), key));
        (policy, strict)
    }
}

/// The digest aggregate of row hashes: the exact sum (and the strict one, when any).
pub fn digest_aggregate((policy, strict): &(String, Option<String>)) -> String {
    match strict {
        Some(strict) => format!(
            "{} || '/' || {}",
            hash::digest_sum(policy),
            hash::digest_sum(strict)
        ),
        None => hash::digest_sum(policy),
    }
}

/// One query computing every bucket digest of `ranges` on one side.
pub fn range_digest_sql(hashing: Hashing<'_>, predicate: Option<&str>, ranges: &[Range]) -> String {
    let (table, side) = (hashing.table, hashing.side);
    let key = escape_identifier(&side.keys[0].0);
    let key_int8 = format!("t.{key}::int8");
    let row_hashes = hashing.row_hashes(&key_int8);
    let filter = predicate.map(|p| format!(" AND ({p})")).unwrap_or_default();
    // Distinct keys only need counting when the key is not the table's primary key.
    let unique = table
        .def
        .integer_key()
        .is_some_and(|k| k.name == side.keys[0].0);
    let aggregate = digest_aggregate(&row_hashes);
    let distinct = if unique {
        "count(*)".to_string()
    } else {
        format!("count(DISTINCT t.{key})")
    };
    // One branch per range, each with its own bounds, so every branch is an index range
    // scan (a join with a VALUES list of ranges lets the planner scan the table per range).
    let branches: Vec<String> = ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (low, high) = (r.low as i128, r.high as i128);
            let span = high - low + 1;
            let n = FAN_OUT.min(span);
            // Integer arithmetic when no product can overflow; numeric for huge key spans.
            let bucket = if r.buckets_in_64_bits() {
                format!("(t.{key}::int8 - ({low})) * {n} / {span}")
            } else {
                format!("floor((t.{key}::numeric - ({low})) * {n} / {span})::int8")
            };
            format!(
                "SELECT {i}::int4, {bucket}, count(*), {distinct}, {aggregate} FROM {} AS t \
                 WHERE t.{key} BETWEEN {low} AND {high}{filter} GROUP BY 2",
                table.qualified_name()
            )
        })
        .collect();
    branches.join(" UNION ALL ")
}

/// Runs a checksum query; a failed statement aborts the transaction, so the pool closes the
/// connection. The rows count as read from the source.
async fn query(table: &PgTable, sql: &str) -> SourceResult<Vec<tokio_postgres::Row>> {
    let within = || format!("PostgreSQL source `{}`", table.session.source);
    let client = table
        .session
        .client()
        .await
        .map_err(|e| SourceError::from(e).within(within()))?;
    match client.query_serial(sql).await {
        Ok(rows) => {
            table
                .session
                .rows_read
                .fetch_add(rows.len() as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(rows)
        }
        Err(e) => Err(SourceError::from(e).within(within())),
    }
}

/// The key's smallest and largest value, and whether some rows have no key. min and max alone
/// in their query read two entries of the key's index (one scan without an index), and a
/// NOT NULL key needs no look for NULLs: a `count(*) FILTER (WHERE key IS NULL)` beside them
/// read the whole table, a quarter of a checksum diff's time.
pub async fn bounds(
    table: &PgTable,
    key_name: &str,
    predicate: Option<&str>,
) -> SourceResult<KeyBounds> {
    let key = escape_identifier(key_name);
    let name = table.qualified_name();
    let filter = |and: &str| {
        predicate
            .map(|p| format!(" {and} ({p})"))
            .unwrap_or_default()
    };
    let not_null = table
        .def
        .columns
        .iter()
        .any(|c| c.name == key_name && c.not_null);
    let null_keys = if not_null {
        "false".to_string()
    } else {
        format!(
            "EXISTS (SELECT 1 FROM {name} WHERE {key} IS NULL{})",
            filter("AND")
        )
    };
    let sql = format!(
        "SELECT b.low::int8, b.high::int8, {null_keys} \
         FROM (SELECT min({key}) AS low, max({key}) AS high FROM {name}{}) AS b",
        filter("WHERE")
    );
    let rows = query(table, &sql).await?;
    let Some(row) = rows.first() else {
        return Ok(KeyBounds::default());
    };
    let range = match (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)) {
        (Some(low), Some(high)) => Some(Range { low, high }),
        _ => None,
    };
    Ok(KeyBounds {
        range,
        null_keys: row.get::<_, bool>(2),
    })
}

/// The key hash's column in the digest query's inner subquery.
const KEY_HASH: &str = "\"crosscheck key hash\"";

/// The key hash: both sides bring each key part to the same form first, so equal keys hash alike.
pub fn key_hash(hashing: Hashing<'_>) -> String {
    hash::key_hash(&hashing.key_parts())
}

/// One scan computing the digests of the children of `parents` (all of one level; the
/// children of `HashBucket::ALL` are every row's level-1 bucket).
pub fn hash_digest_sql(
    hashing: Hashing<'_>,
    predicate: Option<&str>,
    parents: &[HashBucket],
) -> String {
    let level = parents.first().map_or(0, |p| p.level) + 1;
    let parts = hashing.key_parts();
    let hash = hash::key_hash(&parts);
    // The key hash seeds every column's hash (see `hash` for why): computed once per row in a
    // subquery the planner keeps (`OFFSET 0`), under a name no column has.
    let row_hashes = hashing.row_hashes(KEY_HASH);
    // The user's `where` inside; the parent buckets outside, on the key hash already
    // computed, so neither it nor the row hash is computed for rows of other buckets twice.
    let filter = predicate
        .map(|p| format!(" WHERE ({p})"))
        .unwrap_or_default();
    let buckets = if level == 1 {
        String::new()
    } else {
        let any: Vec<String> = parents.iter().map(|b| condition(b, KEY_HASH)).collect();
        format!(" WHERE {}", any.join(" OR "))
    };
    let aggregate = match &row_hashes.1 {
        Some(_) => "sum(rh)::text || '/' || sum(rs)::text",
        None => "sum(rh)::text",
    };
    let strict = row_hashes
        .1
        .as_ref()
        .map(|s| format!(", {s} AS rs"))
        .unwrap_or_default();
    format!(
        "SELECT (h & {mask}) AS bucket, count(*), count(DISTINCT h), {aggregate} \
         FROM (SELECT {KEY_HASH} AS h, {} AS rh{strict} \
         FROM (SELECT {hash} AS {KEY_HASH}, * FROM {}{filter} OFFSET 0) AS keyed{buckets}) \
         AS hashed GROUP BY 1",
        row_hashes.0,
        hashing.table.qualified_name(),
        mask = HashBucket::mask(level)
    )
}

/// The SQL condition selecting a bucket's rows, given the key hash expression.
pub fn condition(bucket: &HashBucket, hash: &str) -> String {
    format!(
        "({hash} & {}) = {}",
        HashBucket::mask(bucket.level),
        bucket.value
    )
}

/// One side of a checksum on PostgreSQL: its hash forms agreed with the other side, and its
/// `where` in PostgreSQL's SQL.
pub struct PgDigester<'a> {
    pub hashing: Hashing<'a>,
    pub predicate: Option<String>,
}

impl PgDigester<'_> {
    fn predicate(&self) -> Option<&str> {
        self.predicate.as_deref()
    }

    /// The rows of `restriction` as a condition, with the user's `where` (`None`: every row).
    fn restriction_sql(&self, restriction: &Restriction) -> Option<String> {
        let buckets = match restriction {
            Restriction::All => None,
            Restriction::KeyRanges { ranges, null_keys } => {
                let key = escape_identifier(&self.hashing.side.keys[0].0);
                let mut parts: Vec<String> = ranges
                    .iter()
                    .map(|r| format!("{key} BETWEEN {} AND {}", r.low, r.high))
                    .collect();
                if *null_keys {
                    parts.push(format!("{key} IS NULL"));
                }
                Some(parts)
            }
            Restriction::HashBuckets(buckets) => {
                let hash = key_hash(self.hashing);
                Some(buckets.iter().map(|b| condition(b, &hash)).collect())
            }
        };
        let buckets = buckets.map(|parts| {
            if parts.is_empty() {
                "false".to_string()
            } else {
                parts.join(" OR ")
            }
        });
        match (buckets, self.predicate()) {
            (Some(b), Some(u)) => Some(format!("({b}) AND ({u})")),
            (Some(b), None) => Some(b),
            (None, u) => u.map(str::to_string),
        }
    }
}

#[async_trait]
impl Digester for PgDigester<'_> {
    async fn key_bounds(&self) -> SourceResult<KeyBounds> {
        bounds(
            self.hashing.table,
            &self.hashing.side.keys[0].0,
            self.predicate(),
        )
        .await
    }

    async fn range_digests(
        &self,
        ranges: &[Range],
    ) -> SourceResult<BTreeMap<(usize, i128), Digest>> {
        let rows = query(self.hashing.table, &self.range_digest_sql(ranges)).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let (id, bucket): (i32, i64) = (row.get(0), row.get(1));
                ((id as usize, bucket as i128), digest_at(row, 2))
            })
            .collect())
    }

    async fn hash_digests(
        &self,
        parents: &[HashBucket],
    ) -> SourceResult<BTreeMap<HashBucket, Digest>> {
        let level = parents.first().map_or(0, |p| p.level) + 1;
        let rows = query(self.hashing.table, &self.hash_digest_sql(parents)).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let value: i64 = row.get(0);
                (HashBucket { level, value }, digest_at(row, 1))
            })
            .collect())
    }

    fn range_digest_sql(&self, ranges: &[Range]) -> String {
        range_digest_sql(self.hashing, self.predicate(), ranges)
    }

    fn hash_digest_sql(&self, parents: &[HashBucket]) -> String {
        hash_digest_sql(self.hashing, self.predicate(), parents)
    }

    fn read(&self, restriction: &Restriction) -> SendableRecordBatchStream {
        let predicate = self.restriction_sql(restriction);
        super::keyed::sorted_stream(self.hashing.table, predicate.as_deref(), self.hashing.side)
    }
}

/// A digest's rows, distinct keys and sum, from column `at` of a digest query's row on.
fn digest_at(row: &tokio_postgres::Row, at: usize) -> Digest {
    let (rows, keys): (i64, i64) = (row.get(at), row.get(at + 1));
    Digest {
        rows: rows as u64,
        keys: keys as u64,
        sum: row.get::<_, Option<String>>(at + 2).unwrap_or_default(),
    }
}
