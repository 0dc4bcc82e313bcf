//! What a SQLite file holds: its tables and views, and per column the declared type read
//! by meaning. SQLite stores any value in any column; the declared type only gives the
//! column an affinity (its documentation, "Datatypes In SQLite", § 3.1). crosscheck maps
//! the declared type to what a user means by it — `BOOLEAN` is true and false, `DATETIME`
//! a time stamp, `DECIMAL(10,2)` a decimal — and reports a stored value that does not fit
//! (see `cells`), instead of guessing per value.

use rusqlite::Connection;

use crate::source::cells::Kind;

/// One column: its name, declared type as written, the kind read, NOT NULL, primary key
/// position (1-based, 0 when not in the key).
#[derive(Clone, Debug, PartialEq)]
pub struct SqliteColumn {
    pub name: String,
    pub declared: String,
    pub kind: Kind,
    pub not_null: bool,
    pub key_position: u32,
}

#[derive(Clone, Debug)]
pub struct SqliteTableDef {
    pub name: String,
    pub is_view: bool,
    pub columns: Vec<SqliteColumn>,
}

/// The tables and views of the file's main schema, by name; SQLite's own tables left out.
pub fn load_tables(conn: &Connection) -> rusqlite::Result<Vec<SqliteTableDef>> {
    let mut stmt = conn.prepare(
        "SELECT name, type = 'view' FROM sqlite_schema \
         WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name",
    )?;
    let relations: Vec<(String, bool)> = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut columns = conn.prepare(
        "SELECT name, coalesce(type, ''), \"notnull\", pk FROM pragma_table_xinfo(?1) \
         WHERE hidden <> 1 ORDER BY cid",
    )?;
    let mut defs = Vec::with_capacity(relations.len());
    for (name, is_view) in relations {
        let columns = columns
            .query_map([&name], |row| {
                let declared: String = row.get(1)?;
                Ok(SqliteColumn {
                    name: row.get(0)?,
                    kind: kind_of(&declared),
                    declared,
                    not_null: row.get(2)?,
                    key_position: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        defs.push(SqliteTableDef {
            name,
            is_view,
            columns,
        });
    }
    Ok(defs)
}

/// The kind a declared type means. SQLite's affinity rules decide, in their order, except
/// where a name says more than its affinity: booleans, dates and times, and decimals with
/// a precision (NUMERIC affinity would hold them as integers or reals).
pub fn kind_of(declared: &str) -> Kind {
    let upper = declared.to_ascii_uppercase();
    let has = |word: &str| upper.contains(word);
    if has("BOOL") {
        Kind::Bool
    } else if has("INT") {
        Kind::Int(64)
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        Kind::Text
    } else if has("BLOB") {
        Kind::Binary
    } else if upper.trim().is_empty() {
        Kind::AnyText
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        Kind::Float
    } else if has("DATETIME") || has("TIMESTAMP") {
        Kind::Timestamp {
            utc: has("TZ") || has("WITH TIME ZONE"),
        }
    } else if has("DATE") {
        Kind::Date
    } else if has("TIME") {
        Kind::Time
    } else if has("DEC") || has("NUMERIC") {
        match precision(&upper) {
            Some((p, s)) => Kind::Decimal(p, s),
            None => Kind::Float,
        }
    } else {
        // NUMERIC affinity by SQLite's last rule (`STRING`, `JSON`, `MONEY`…): whatever is
        // stored, read as text.
        Kind::AnyText
    }
}

/// `(p, s)` of `DECIMAL(p, s)` / `NUMERIC(p)`, when Arrow's 128-bit decimal can hold it.
fn precision(upper: &str) -> Option<(u8, i8)> {
    let inner = upper.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inner.split(',').map(|p| p.trim().parse::<u8>());
    let p = parts.next()?.ok()?;
    let s = match parts.next() {
        Some(s) => s.ok()?,
        None => 0,
    };
    (1..=38).contains(&p).then_some(())?;
    (s <= p).then_some((p, s as i8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_are_read_by_meaning() {
        let cases = [
            ("INTEGER", Kind::Int(64)),
            ("bigint", Kind::Int(64)),
            ("TINYINT(1)", Kind::Int(64)),
            ("BOOLEAN", Kind::Bool),
            ("VARCHAR(255)", Kind::Text),
            ("NVARCHAR", Kind::Text),
            ("CLOB", Kind::Text),
            ("BLOB", Kind::Binary),
            ("", Kind::AnyText),
            ("REAL", Kind::Float),
            ("DOUBLE PRECISION", Kind::Float),
            ("FLOAT", Kind::Float),
            ("DATETIME", Kind::Timestamp { utc: false }),
            ("TIMESTAMP", Kind::Timestamp { utc: false }),
            ("TIMESTAMPTZ", Kind::Timestamp { utc: true }),
            ("timestamp with time zone", Kind::Timestamp { utc: true }),
            ("DATE", Kind::Date),
            ("TIME", Kind::Time),
            ("DECIMAL(10,2)", Kind::Decimal(10, 2)),
            ("NUMERIC(12)", Kind::Decimal(12, 0)),
            ("NUMERIC", Kind::Float),
            ("DECIMAL(60,2)", Kind::Float),
            ("STRING", Kind::AnyText),
            ("JSON", Kind::AnyText),
        ];
        for (declared, kind) in cases {
            assert_eq!(kind_of(declared), kind, "{declared}");
        }
    }
}
