//! A column as `schema_match` sees it: crosscheck's name for its type, the type its database
//! declares, and how a type inferred from an export (CSV, NDJSON) compares with a declared one.

use datafusion::arrow::datatypes::DataType;

/// One column of a table being compared.
pub struct ColumnShape {
    pub name: String,
    /// The type in crosscheck's SQL names (`bigint`, `text`), comparable across kinds of source.
    pub type_name: String,
    /// The type as the database declares it, with modifiers (`numeric(10,2)`).
    pub declared_type: Option<String>,
    /// Whether the column may hold NULL, when the source declares it (files do not).
    pub nullable: Option<bool>,
    /// The type was inferred from text (CSV, NDJSON): it has no declared width or scale.
    pub inferred: bool,
}

impl ColumnShape {
    pub fn shown_type(&self) -> &str {
        self.declared_type.as_deref().unwrap_or(&self.type_name)
    }

    /// Whether this column's type, inferred from text, is what an export of `other`'s declared
    /// type infers: text has no integer width, so its integers are `bigint` against any
    /// integer or decimal column, its decimals `double precision` against any decimal or float
    /// column, and instants written with an offset (`+00`, as psql writes a `timestamptz`)
    /// `timestamp`. Text is what every type without a text form of its own reads as (psql's
    /// `t`/`f`, uuids, `\x…` bytea, `{…}` arrays, JSON, intervals, enums); only against
    /// numbers, dates and instants is it a difference (a value that is none). Two inferred
    /// types are both read from data and compare as they are, and whole numbers against a
    /// float column still differ (the data lost its fractions).
    pub fn inferred_fits(&self, other: &ColumnShape) -> bool {
        let timestamp = |c: &ColumnShape| c.type_name.starts_with("timestamp");
        let inferable =
            |c: &ColumnShape| c.number_kind().is_some() || timestamp(c) || c.type_name == "date";
        self.inferred
            && !other.inferred
            && (matches!(
                (self.number_kind(), other.number_kind()),
                (
                    Some(Number::Integer),
                    Some(Number::Integer | Number::Decimal)
                ) | (Some(Number::Float), Some(Number::Decimal | Number::Float))
            ) || (timestamp(self) && timestamp(other))
                || (self.type_name == "text" && !inferable(other)))
    }

    fn number_kind(&self) -> Option<Number> {
        let declared = self.declared_type.as_deref().unwrap_or_default();
        match self.type_name.as_str() {
            "smallint" | "integer" | "bigint" => Some(Number::Integer),
            "real" | "double precision" => Some(Number::Float),
            t if t.starts_with("numeric") || declared.starts_with("numeric") => {
                Some(Number::Decimal)
            }
            _ => None,
        }
    }
}

/// The families of number types, for comparing a type inferred from text.
enum Number {
    Integer,
    Decimal,
    Float,
}

/// A SQL-style name for an Arrow type; the text encodings of Arrow are one type here.
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 | DataType::Int16 => "smallint".into(),
        DataType::Int32 => "integer".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            format!("{data_type}").to_lowercase()
        }
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double precision".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "bytea".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamptz".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("numeric({p},{s})"),
        DataType::Null => "null".into(),
        // A list is its element type, whatever the writer named the element field (`item`
        // for Arrow, `element` for Parquet's standard layout).
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => {
            format!("{}[]", type_name(f.data_type()))
        }
        DataType::FixedSizeList(f, _) => format!("{}[]", type_name(f.data_type())),
        other => other.to_string().to_lowercase(),
    }
}

/// How a column's type changed, by crosscheck's type names: `type widened` when every
/// value of the source type fits the target's (an unsigned MySQL `int` into `bigint`,
/// `numeric(10,2)` into `numeric(12,2)`, `real` into `double precision`), `type narrowed`
/// for the reverse, else `type differs`.
pub fn type_change(source: &str, target: &str) -> &'static str {
    match (value_range(source), value_range(target)) {
        (Some(s), Some(t)) if t.contains(&s) => "type widened",
        (Some(s), Some(t)) if s.contains(&t) => "type narrowed",
        _ => "type differs",
    }
}

/// What a number type holds: integers in a range, decimals by digits before and after the
/// point, floats by precision. Two ranges compare only within one kind.
#[derive(PartialEq)]
enum ValueRange {
    Integer(i128, i128),
    Decimal(u32, u32),
    Float(u32),
}

impl ValueRange {
    fn contains(&self, other: &ValueRange) -> bool {
        match (self, other) {
            (ValueRange::Integer(lo, hi), ValueRange::Integer(a, b)) => lo <= a && b <= hi,
            (ValueRange::Decimal(whole, scale), ValueRange::Decimal(w, s)) => {
                whole >= w && scale >= s
            }
            (ValueRange::Float(bits), ValueRange::Float(b)) => bits >= b,
            _ => false,
        }
    }
}

fn value_range(name: &str) -> Option<ValueRange> {
    let signed = |bits: u32| ValueRange::Integer(-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
    let unsigned = |bits: u32| ValueRange::Integer(0, (1i128 << bits) - 1);
    Some(match name {
        "smallint" => signed(16),
        "integer" => signed(32),
        "bigint" => signed(64),
        "uint8" => unsigned(8),
        "uint16" => unsigned(16),
        "uint32" => unsigned(32),
        "uint64" => unsigned(64),
        "real" => ValueRange::Float(24),
        "double precision" => ValueRange::Float(53),
        _ => {
            let inner = name.strip_prefix("numeric(")?.strip_suffix(')')?;
            let (p, s) = inner.split_once(',')?;
            let (p, s): (u32, u32) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
            ValueRange::Decimal(p.checked_sub(s)?, s)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_and_narrowing_are_named() {
        assert_eq!(type_change("uint32", "bigint"), "type widened");
        assert_eq!(type_change("integer", "bigint"), "type widened");
        assert_eq!(type_change("bigint", "integer"), "type narrowed");
        assert_eq!(type_change("uint64", "bigint"), "type differs");
        assert_eq!(type_change("bigint", "uint64"), "type differs");
        assert_eq!(
            type_change("numeric(10,2)", "numeric(12,2)"),
            "type widened"
        );
        assert_eq!(
            type_change("numeric(10,2)", "numeric(10,3)"),
            "type differs"
        );
        assert_eq!(type_change("real", "double precision"), "type widened");
        assert_eq!(type_change("timestamp", "timestamptz"), "type differs");
        assert_eq!(type_change("integer", "double precision"), "type differs");
    }

    fn column(type_name: &str, declared: Option<&str>, inferred: bool) -> ColumnShape {
        ColumnShape {
            name: "c".into(),
            type_name: type_name.into(),
            declared_type: declared.map(str::to_string),
            nullable: None,
            inferred,
        }
    }

    #[test]
    fn an_inferred_type_fits_the_declared_types_its_text_could_come_from() {
        let csv = |t: &str| column(t, None, true);
        let db = |t: &str, declared: &str| column(t, Some(declared), false);
        assert!(csv("bigint").inferred_fits(&db("integer", "integer")));
        assert!(csv("bigint").inferred_fits(&db("numeric(5,2)", "numeric(5,2)")));
        assert!(csv("double precision").inferred_fits(&db("text", "numeric")));
        assert!(csv("timestamp").inferred_fits(&db("timestamptz", "timestamp with time zone")));
        assert!(!csv("bigint").inferred_fits(&db("double precision", "double precision")));
        assert!(!csv("double precision").inferred_fits(&db("integer", "integer")));
        for (name, declared) in [
            ("boolean", "boolean"),
            ("text", "uuid"),
            ("bytea", "bytea"),
            ("text[]", "text[]"),
            ("text", "jsonb"),
        ] {
            assert!(csv("text").inferred_fits(&db(name, declared)), "{declared}");
        }
        for (name, declared) in [
            ("integer", "integer"),
            ("numeric(5,2)", "numeric(5,2)"),
            ("date", "date"),
            ("timestamptz", "timestamp with time zone"),
        ] {
            assert!(
                !csv("text").inferred_fits(&db(name, declared)),
                "{declared}"
            );
        }
        assert!(
            !csv("bigint").inferred_fits(&csv("double precision")),
            "both inferred"
        );
        assert!(
            !db("integer", "integer").inferred_fits(&csv("bigint")),
            "declared side"
        );
    }
}
