//! What a MySQL or MariaDB database holds: its tables and views, and per column the type
//! read by meaning (`information_schema.COLUMNS`: `DATA_TYPE` and the full `COLUMN_TYPE`,
//! which says `unsigned`, a display width of 1, a precision).

use crate::source::cells::Kind;

/// One column: its name, type as the server writes it, the kind read, NOT NULL, and the
/// position in the primary key (1-based, 0 when not in it).
#[derive(Clone, Debug, PartialEq)]
pub struct MyColumn {
    pub name: String,
    pub column_type: String,
    pub kind: Kind,
    pub not_null: bool,
    pub key_position: u32,
}

#[derive(Clone, Debug)]
pub struct MyTableDef {
    pub name: String,
    pub is_view: bool,
    pub columns: Vec<MyColumn>,
}

/// The tables and views of the connection's database, each with its columns in order.
pub const TABLES_SQL: &str = "SELECT TABLE_NAME, TABLE_TYPE = 'VIEW' FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME";

pub const COLUMNS_SQL: &str = "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, \
     c.IS_NULLABLE = 'NO', coalesce(k.ORDINAL_POSITION, 0) \
     FROM information_schema.COLUMNS c \
     LEFT JOIN information_schema.KEY_COLUMN_USAGE k ON k.TABLE_SCHEMA = c.TABLE_SCHEMA \
       AND k.TABLE_NAME = c.TABLE_NAME AND k.COLUMN_NAME = c.COLUMN_NAME \
       AND k.CONSTRAINT_NAME = 'PRIMARY' \
     WHERE c.TABLE_SCHEMA = DATABASE() ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION";

/// The kind a column's type means: `tinyint(1)` and `bit(1)` are booleans, unsigned
/// integers stay unsigned (a `bigint unsigned` past `i64::MAX` stays exact), `datetime` is
/// naive and `timestamp` an instant (read with the session in UTC), a `decimal` Arrow's
/// 128 bits cannot hold is read as its exact text.
pub fn kind_of(data_type: &str, column_type: &str) -> Kind {
    let data_type = data_type.to_ascii_lowercase();
    let column_type = column_type.to_ascii_lowercase();
    let unsigned = column_type.contains("unsigned");
    let int = |bits| {
        if unsigned {
            Kind::UInt(bits)
        } else {
            Kind::Int(bits)
        }
    };
    match data_type.as_str() {
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => Kind::Bool,
        "bool" | "boolean" => Kind::Bool,
        "tinyint" => int(8),
        "smallint" => int(16),
        "mediumint" | "int" | "integer" => int(32),
        "bigint" => int(64),
        "bit" if column_type == "bit(1)" => Kind::Bool,
        "bit" => Kind::Bits,
        "decimal" | "numeric" | "dec" | "fixed" => match precision(&column_type) {
            Some((p, s)) if p <= 38 => Kind::Decimal(p, s),
            _ => Kind::Text,
        },
        "float" => Kind::Float32,
        "double" | "real" | "double precision" => Kind::Float,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
        | "json" => Kind::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Binary,
        "date" => Kind::Date,
        "datetime" => Kind::Timestamp { utc: false },
        "timestamp" => Kind::Timestamp { utc: true },
        "time" => Kind::Time,
        "year" => Kind::Int(16),
        _ => Kind::AnyText,
    }
}

/// `(p, s)` of `decimal(p,s)`.
fn precision(column_type: &str) -> Option<(u8, i8)> {
    let inner = column_type.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inner.split(',').map(|p| p.trim().parse::<u8>());
    let p = parts.next()?.ok()?;
    let s = match parts.next() {
        Some(s) => s.ok()?,
        None => 0,
    };
    (s <= p).then_some((p, s as i8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_are_read_by_meaning() {
        let cases = [
            ("tinyint", "tinyint(1)", Kind::Bool),
            ("tinyint", "tinyint(4)", Kind::Int(8)),
            ("tinyint", "tinyint(1) unsigned", Kind::UInt(8)),
            ("tinyint", "tinyint", Kind::Int(8)),
            ("smallint", "smallint(5) unsigned", Kind::UInt(16)),
            ("mediumint", "mediumint(9)", Kind::Int(32)),
            ("int", "int(11)", Kind::Int(32)),
            ("int", "int(10) unsigned", Kind::UInt(32)),
            ("bigint", "bigint(20) unsigned", Kind::UInt(64)),
            ("bigint", "bigint(20)", Kind::Int(64)),
            ("bit", "bit(1)", Kind::Bool),
            ("bit", "bit(12)", Kind::Bits),
            ("decimal", "decimal(10,2)", Kind::Decimal(10, 2)),
            ("decimal", "decimal(65,30)", Kind::Text),
            ("float", "float", Kind::Float32),
            ("double", "double", Kind::Float),
            ("varchar", "varchar(255)", Kind::Text),
            ("char", "char(3)", Kind::Text),
            ("enum", "enum('a','b')", Kind::Text),
            ("set", "set('x','y')", Kind::Text),
            ("json", "json", Kind::Text),
            ("longtext", "longtext", Kind::Text),
            ("varbinary", "varbinary(16)", Kind::Binary),
            ("blob", "blob", Kind::Binary),
            ("date", "date", Kind::Date),
            ("datetime", "datetime(6)", Kind::Timestamp { utc: false }),
            ("timestamp", "timestamp", Kind::Timestamp { utc: true }),
            ("time", "time", Kind::Time),
            ("year", "year(4)", Kind::Int(16)),
            ("geometry", "geometry", Kind::AnyText),
        ];
        for (data_type, column_type, kind) in cases {
            assert_eq!(kind_of(data_type, column_type), kind, "{column_type}");
        }
    }
}
