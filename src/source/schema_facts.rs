//! What `schema_match` compares beyond columns, whatever the database: what a relation is,
//! the constraints, partitioning and facts (indexes, checks, defaults, sequences) a
//! database declares for it, and how to load those facts. Each database kind reads them
//! from its own catalog (PostgreSQL: `postgres::catalog`, `postgres::schema_facts`); the
//! engine compares them here without naming one.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::catalog::TableProvider;

use super::database::Database;

/// What a relation of a database source is: a table, a partition, a view…
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelationKind {
    Table,
    PartitionedTable,
    /// A partition of `parent`, named as in its own schema (schema-qualified when the parent
    /// lives in another).
    Partition {
        parent: String,
    },
    View,
    MaterializedView,
    ForeignTable,
}

impl RelationKind {
    /// The kind in words: `table`, `partition`, `partitioned table`, `view`…
    pub fn name(&self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::PartitionedTable => "partitioned table",
            Self::Partition { .. } => "partition",
            Self::View => "view",
            Self::MaterializedView => "materialized view",
            Self::ForeignTable => "foreign table",
        }
    }

    /// The kind with what it belongs to: `partition of payment`, else [`Self::name`].
    pub fn described(&self) -> String {
        match self {
            Self::Partition { parent } => format!("partition of {parent}"),
            other => other.name().to_string(),
        }
    }
}

/// What one table has besides its columns, each part keyed by name, definitions in a form
/// that compares across databases (no schema or index names inside).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableFacts {
    /// Indexes that back no primary key or unique constraint (those are compared as
    /// constraints): index name → `CREATE [UNIQUE] INDEX ON table USING …`.
    pub indexes: BTreeMap<String, String>,
    /// A partition's index → the index of its partitioned table it is attached to (the
    /// partition's share of that index, created with it and dropped with it).
    pub index_parents: BTreeMap<String, String>,
    /// CHECK constraint name → `CHECK (…)`.
    pub checks: BTreeMap<String, String>,
    /// Column → its default (`nextval('users_id_seq'::regclass)`), identity or generation.
    pub defaults: BTreeMap<String, String>,
    /// A view's or materialized view's query as PostgreSQL prints it (`pg_get_viewdef`), its
    /// white space collapsed.
    pub view_query: Option<String>,
    /// The enum and domain types its columns use (arrays of them too): type name →
    /// `ENUM ('a', 'b')` or `DOMAIN integer NOT NULL CHECK (…)`. Named `mood` when the type
    /// lives in the table's schema, else `schema.mood`.
    pub types: BTreeMap<String, String>,
    /// Integer columns fed by a sequence (serial, identity, or a `nextval` default).
    pub sequences: Vec<SequenceUse>,
}

/// A column fed by a sequence, and where both stand.
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceUse {
    pub column: String,
    /// `schema.sequence`, quoted where PostgreSQL would quote.
    pub sequence: String,
    /// The value the next `nextval` returns; `None` when the user may not read the sequence.
    pub next_value: Option<i64>,
    pub increment: i64,
    /// The column's largest value (its smallest for a descending sequence); `None` when the
    /// table is empty.
    pub extreme: Option<i64>,
}

impl SequenceUse {
    /// Whether the next value is one the column already holds (or passed): inserts that rely
    /// on the sequence would fail on a unique key, or silently duplicate.
    pub fn is_behind(&self) -> bool {
        match (self.next_value, self.extreme) {
            (Some(next), Some(extreme)) if self.increment >= 0 => next <= extreme,
            (Some(next), Some(extreme)) => next >= extreme,
            _ => false,
        }
    }
}

/// What a database declares about one of its tables beyond the Arrow schema.
pub struct Declared {
    pub kind: RelationKind,
    /// A partition's bound and a partitioned table's key.
    pub partition_bound: Option<String>,
    pub partition_key: Option<String>,
    /// Primary key, unique and foreign key constraints.
    pub constraints: Vec<String>,
    /// Per column, in schema order: its type as the database names it, and NOT NULL.
    pub columns: Vec<(String, bool)>,
    /// Where the rest of its facts are loaded from.
    pub place: Place,
}

/// A database table's place: its source, schema and name, and the connection to ask.
#[derive(Clone)]
pub struct Place {
    pub database: Arc<dyn Database>,
    pub schema: String,
    pub table: String,
}

impl Place {
    /// The source's name.
    pub fn source(&self) -> &str {
        self.database.source_name()
    }
}

impl Declared {
    /// The primary key's columns, as its `PRIMARY KEY (a, b)` constraint names them; empty
    /// when there is none.
    pub fn primary_key(&self) -> Vec<String> {
        primary_key(&self.constraints)
    }
}

/// The columns of the `PRIMARY KEY (…)` among `constraints` (PostgreSQL's
/// `pg_get_constraintdef` form), unquoted.
pub fn primary_key(constraints: &[String]) -> Vec<String> {
    constraints
        .iter()
        .find_map(|c| c.strip_prefix("PRIMARY KEY (")?.strip_suffix(')'))
        .map(|cols| {
            cols.split(", ")
                .map(
                    |c| match c.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
                        Some(quoted) => quoted.replace("\"\"", "\""),
                        None => c.to_string(),
                    },
                )
                .collect()
        })
        .unwrap_or_default()
}

/// What the database behind `provider` declares, if it is a database table.
pub fn declared(provider: &dyn TableProvider) -> Option<Declared> {
    super::postgres::schema_facts::declared(provider)
}

/// The facts of every table at `places`, keyed by (source, schema, table): one round of
/// catalog queries per source and schema. With `sequences`, also each sequence-backed
/// column's next value against its current maximum.
pub async fn load(
    places: &[&Place],
    sequences: bool,
) -> super::error::SourceResult<BTreeMap<(String, String, String), TableFacts>> {
    type Group = (Arc<dyn Database>, Vec<String>);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for place in places {
        groups
            .entry((place.source().to_string(), place.schema.clone()))
            .or_insert_with(|| (place.database.clone(), Vec::new()))
            .1
            .push(place.table.clone());
    }
    let mut loaded = BTreeMap::new();
    for ((source, schema), (database, tables)) in &groups {
        let facts = database
            .clone()
            .table_facts(schema, tables, sequences)
            .await?;
        for (table, facts) in facts {
            loaded.insert((source.clone(), schema.clone(), table), facts);
        }
    }
    Ok(loaded)
}
