//! What tables a PostgreSQL source has and how each column is read: its Arrow type, its
//! decoder, and the expression that selects it (a `::text` cast for types read as text).

use postgres_protocol::escape::escape_identifier;

use super::decode::{ArrayOf, Kind};
use super::hash::HashAs;
use super::session::PooledClient;
use crate::source::error::{SourceError, SourceResult};
use crate::source::schema_facts::RelationKind;

/// One column of a PostgreSQL table.
#[derive(Clone, Debug)]
pub struct PgColumn {
    pub name: String,
    pub kind: Kind,
    /// The SELECT expression that yields the column in the decoder's wire format.
    pub select: String,
    /// How the checksum hashes the selected value.
    pub hash: HashAs,
    pub not_null: bool,
    /// The type as PostgreSQL names it, with modifiers (`numeric(10,2)`, `character varying(80)`).
    pub type_text: String,
}

impl PgColumn {
    /// Reads the column as PostgreSQL's text form of its values.
    /// A `numeric` without a usable precision, read as its exact text: still a number.
    pub fn is_number_text(&self) -> bool {
        self.kind == Kind::Text
            && (self.type_text == "numeric" || self.type_text.starts_with("numeric("))
    }

    /// A `jsonb` column: its text is one way of writing a JSON value. (A `json` column keeps
    /// its exact text, spaces and duplicate keys included, and that text is its value.)
    pub fn is_jsonb(&self) -> bool {
        self.type_text == "jsonb"
    }

    pub fn read_as_text(&mut self) {
        self.kind = Kind::Text;
        self.select = format!("{}::text", escape_identifier(&self.name));
        self.hash = HashAs::Text;
    }
}

/// From `relkind` and, for a partition, its parent's schema and name.
fn relation_kind(
    relkind: &str,
    own_schema: &str,
    parent: Option<(String, String)>,
) -> RelationKind {
    match (relkind, parent) {
        ("r", Some((schema, name))) if schema == own_schema => {
            RelationKind::Partition { parent: name }
        }
        ("r", Some((schema, name))) => RelationKind::Partition {
            parent: format!("{schema}.{name}"),
        },
        ("p", _) => RelationKind::PartitionedTable,
        ("v", _) => RelationKind::View,
        ("m", _) => RelationKind::MaterializedView,
        ("f", _) => RelationKind::ForeignTable,
        _ => RelationKind::Table,
    }
}

/// One table (or view) of a PostgreSQL source.
#[derive(Clone, Debug)]
pub struct PgTableDef {
    pub schema: String,
    pub name: String,
    pub kind: RelationKind,
    /// A partition's bound as PostgreSQL prints it (`FOR VALUES FROM ('2022-01-01') TO …`).
    pub partition_bound: Option<String>,
    /// A partitioned table's key (`RANGE (paid_on)`).
    pub partition_key: Option<String>,
    pub columns: Vec<PgColumn>,
    /// Primary key, unique and foreign key constraints as PostgreSQL prints them
    /// (`PRIMARY KEY (id)`, `FOREIGN KEY (user_id) REFERENCES users(id)`), sorted.
    pub constraints: Vec<String>,
    /// The planner's row estimate (negative when the table was never analysed).
    pub estimated_rows: f64,
}

impl PgTableDef {
    /// A single integer primary key column, by which the table can be read in ranges.
    pub fn integer_key(&self) -> Option<&PgColumn> {
        let [key] = crate::source::schema_facts::primary_key(&self.constraints)
            .try_into()
            .ok()?;
        self.columns
            .iter()
            .find(|c| c.name == key)
            .filter(|c| matches!(c.kind, Kind::Int2 | Kind::Int4 | Kind::Int8))
    }
}

const CONSTRAINTS_SQL: &str = "
SELECT n.nspname::text, c.relname::text, pg_get_constraintdef(con.oid)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3";

const COLUMNS_SQL: &str = "
SELECT n.nspname::text, c.relname::text, a.attname::text,
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END::text AS type_name,
       t.typtype::text,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       a.attnotnull,
       format_type(a.atttypid, a.atttypmod) AS type_text,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '' END AS base_type,
       c.reltuples::float8,
       c.relkind::text, pn.nspname::text AS parent_schema, pc.relname::text AS parent,
       pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_inherits inh ON c.relispartition AND inh.inhrelid = c.oid
LEFT JOIN pg_catalog.pg_class pc ON pc.oid = inh.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY n.nspname, c.relname, a.attnum";

/// Every user table and view with its columns.
pub async fn load_tables(client: &PooledClient) -> SourceResult<Vec<PgTableDef>> {
    let rows = client
        .query(COLUMNS_SQL, &[])
        .await
        .map_err(|e| SourceError::from(e).within("cannot list tables"))?;
    let mut tables: Vec<PgTableDef> = Vec::new();
    for row in rows {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let estimated_rows: f64 = row.get(9);
        let column = column(
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
            row.get(6),
            row.get(7),
            row.get(8),
        );
        match tables.last_mut() {
            Some(t) if t.schema == schema && t.name == table => t.columns.push(column),
            _ => tables.push(PgTableDef {
                kind: relation_kind(&row.get::<_, String>(10), &schema, parent_of(&row)),
                partition_bound: row.get(13),
                partition_key: row.get(14),
                schema,
                name: table,
                columns: vec![column],
                constraints: vec![],
                estimated_rows,
            }),
        }
    }
    let constraints = client
        .query(CONSTRAINTS_SQL, &[])
        .await
        .map_err(|e| SourceError::from(e).within("cannot list constraints"))?;
    for row in constraints {
        let (schema, table, definition): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        if let Some(t) = tables
            .iter_mut()
            .find(|t| t.schema == schema && t.name == table)
        {
            t.constraints.push(definition);
        }
    }
    Ok(tables)
}

/// A partition's parent (schema, name) from a row of `COLUMNS_SQL`.
fn parent_of(row: &tokio_postgres::Row) -> Option<(String, String)> {
    let schema: Option<String> = row.get(11);
    let name: Option<String> = row.get(12);
    schema.zip(name)
}

#[allow(clippy::too_many_arguments)]
fn column(
    name: String,
    type_name: String,
    typtype: String,
    typmod: i32,
    not_null: bool,
    type_text: String,
    base_type: String,
) -> PgColumn {
    let ident = escape_identifier(&name);
    let (kind, cast) = kind_of(&type_name, &typtype, typmod);
    let select = match (cast, base_type.is_empty()) {
        (true, _) => format!("{ident}::text"),
        // A domain is read as its base type, whose binary format the decoder knows.
        (false, false) => format!("{ident}::{base_type}"),
        (false, true) => ident,
    };
    PgColumn {
        name,
        kind,
        select,
        hash: HashAs::of(&type_name, &typtype, cast),
        not_null,
        type_text,
    }
}

/// The decoder for a type, and whether it must be selected as text.
pub fn kind_of(type_name: &str, typtype: &str, typmod: i32) -> (Kind, bool) {
    let native = |k| (k, false);
    match type_name {
        "bool" => native(Kind::Bool),
        "int2" => native(Kind::Int2),
        "int4" => native(Kind::Int4),
        "int8" => native(Kind::Int8),
        "float4" => native(Kind::Float4),
        "float8" => native(Kind::Float8),
        "numeric" => match numeric_precision_scale(typmod) {
            Some((precision, scale)) if precision <= 38 => {
                native(Kind::Numeric { precision, scale })
            }
            // Unconstrained (or wider than Decimal128) numerics are read as their exact text,
            // so no digit is ever lost; comparisons cast them where a number is needed.
            _ => (Kind::Text, true),
        },
        "text" | "varchar" | "bpchar" | "name" | "char" | "citext" | "json" | "xml" => {
            native(Kind::Text)
        }
        "jsonb" => native(Kind::Jsonb),
        "uuid" => native(Kind::Uuid),
        "bytea" => native(Kind::Bytea),
        "date" => native(Kind::Date),
        "time" => native(Kind::Time),
        "timestamp" => native(Kind::Timestamp),
        "timestamptz" => native(Kind::TimestampTz),
        "interval" => native(Kind::Interval),
        // An enum's binary form is its label.
        _ if typtype == "e" => native(Kind::Text),
        // Arrays (`_int4`…) of an element type the decoder knows become lists.
        array if array.starts_with('_') => match kind_of(&array[1..], "b", typmod) {
            (element, false) => match ArrayOf::of(element) {
                Some(of) => native(Kind::Array(of)),
                None => (Kind::Text, true),
            },
            _ => (Kind::Text, true),
        },
        // inet, cidr, macaddr, money, arrays, ranges, composites… are read as text.
        _ => (Kind::Text, true),
    }
}

/// `numeric(p, s)` from the type modifier: `((tm - 4) >> 16) & 0xffff`, `(tm - 4) & 0xffff`.
pub fn numeric_precision_scale(typmod: i32) -> Option<(u8, i8)> {
    if typmod < 4 {
        return None;
    }
    let precision = ((typmod - 4) >> 16) & 0xffff;
    let scale = (typmod - 4) & 0xffff;
    Some((u8::try_from(precision).ok()?, i8::try_from(scale).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_modifiers() {
        // numeric(10, 2) has typmod (10 << 16 | 2) + 4
        assert_eq!(numeric_precision_scale((10 << 16 | 2) + 4), Some((10, 2)));
        assert_eq!(numeric_precision_scale(-1), None);
        assert_eq!(kind_of("numeric", "b", -1), (Kind::Text, true));
        assert_eq!(kind_of("numeric", "b", (50 << 16) + 4), (Kind::Text, true));
        assert_eq!(kind_of("inet", "b", -1), (Kind::Text, true));
        assert_eq!(kind_of("mood", "e", -1), (Kind::Text, false));
    }

    #[test]
    fn relation_kinds_are_named() {
        let parent = |schema: &str| Some((schema.to_string(), "payment".to_string()));
        let named = |relkind: &str, parent| relation_kind(relkind, "public", parent).described();
        assert_eq!(named("r", None), "table");
        assert_eq!(named("r", parent("public")), "partition of payment");
        assert_eq!(named("r", parent("old")), "partition of old.payment");
        assert_eq!(named("p", None), "partitioned table");
        assert_eq!(named("v", None), "view");
        assert_eq!(named("m", None), "materialized view");
        assert_eq!(named("f", None), "foreign table");
    }
}
