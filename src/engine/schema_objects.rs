//! The `schema_match` differences beyond columns and key constraints: indexes, CHECK
//! constraints, column defaults (between two databases) and sequences left behind their
//! column's data (in a target database). Pure: the facts come from
//! `source::schema_facts`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::schema::{Difference, difference, text};
use crate::source::schema_facts::TableFacts;

/// A view's query, indexes, checks and defaults that differ; objects are `{prefix}{name}`
/// (a view's query: the table itself). Defaults are compared for the `shared` columns only: a
/// missing column is reported as such already.
pub fn compare_objects(
    prefix: &str,
    source: &TableFacts,
    target: &TableFacts,
    shared: &[&str],
) -> Vec<Difference> {
    let mut diffs = Vec::new();
    if let (Some(s), Some(t)) = (&source.view_query, &target.view_query)
        && s != t
    {
        let table = prefix.trim_end_matches('.');
        diffs.push(difference(
            if table.is_empty() { "table" } else { table },
            "view query differs",
            text(s),
            text(t),
        ));
    }
    named(
        prefix,
        "index",
        &source.indexes,
        &target.indexes,
        &mut diffs,
    );
    named(prefix, "check", &source.checks, &target.checks, &mut diffs);
    defaults(prefix, source, target, shared, &mut diffs);
    diffs
}

/// Enums and domains used on both sides whose definitions differ (labels added, removed or
/// reordered; a domain's checks, default or base type), one difference per type however many
/// columns use it. A type used on one side only shows as the columns' `type differs`.
pub fn compare_types<'a>(
    source: impl Iterator<Item = &'a TableFacts>,
    target: impl Iterator<Item = &'a TableFacts>,
) -> Vec<Difference> {
    let (s, t) = (all_types(source), all_types(target));
    s.iter()
        .filter_map(|(name, s_def)| {
            let t_def = t.get(name).filter(|t_def| *t_def != s_def)?;
            let kind = if s_def.starts_with("ENUM") {
                "enum"
            } else {
                "domain"
            };
            Some(difference(
                name,
                &format!("{kind} differs"),
                text(s_def),
                text(t_def),
            ))
        })
        .collect()
}

/// Every type the tables use, by name (one source's tables share one definition of each).
fn all_types<'a>(facts: impl Iterator<Item = &'a TableFacts>) -> BTreeMap<&'a str, &'a str> {
    facts
        .flat_map(|f| f.types.iter().map(|(n, d)| (n.as_str(), d.as_str())))
        .collect()
}

/// One kind of named object: missing, extra, or defined otherwise.
fn named(
    prefix: &str,
    kind: &str,
    source: &BTreeMap<String, String>,
    target: &BTreeMap<String, String>,
    diffs: &mut Vec<Difference>,
) {
    for (name, s) in source {
        let object = format!("{prefix}{name}");
        match target.get(name) {
            None => diffs.push(difference(
                &object,
                &format!("{kind} missing in target"),
                text(s),
                Value::Null,
            )),
            Some(t) if t != s => diffs.push(difference(
                &object,
                &format!("{kind} differs"),
                text(s),
                text(t),
            )),
            Some(_) => {}
        }
    }
    for (name, t) in target.iter().filter(|(n, _)| !source.contains_key(*n)) {
        diffs.push(difference(
            &format!("{prefix}{name}"),
            &format!("extra {kind} in target"),
            Value::Null,
            text(t),
        ));
    }
}

fn defaults(
    prefix: &str,
    source: &TableFacts,
    target: &TableFacts,
    shared: &[&str],
    diffs: &mut Vec<Difference>,
) {
    let columns: std::collections::BTreeSet<&String> = source
        .defaults
        .keys()
        .chain(target.defaults.keys())
        .collect();
    for column in columns.into_iter().filter(|c| shared.contains(&c.as_str())) {
        let (s, t) = (source.defaults.get(column), target.defaults.get(column));
        if s != t {
            let side = |d: Option<&String>| d.map_or(Value::Null, |d| text(d));
            diffs.push(difference(
                &format!("{prefix}{column}"),
                "default differs",
                side(s),
                side(t),
            ));
        }
    }
}

/// The target's sequences whose next value its column already holds (data copied, sequence
/// left at its start: the first insert fails), or that cannot be read to tell.
pub fn behind_sequences(prefix: &str, target: &TableFacts) -> Vec<Difference> {
    let mut diffs = Vec::new();
    for s in &target.sequences {
        let object = format!("{prefix}{}", s.column);
        let bound = if s.increment >= 0 { "max" } else { "min" };
        match (s.next_value, s.extreme) {
            (None, _) => diffs.push(difference(
                &object,
                "sequence cannot be checked",
                Value::Null,
                text(&format!(
                    "{}: no SELECT or USAGE privilege to read its next value",
                    s.sequence
                )),
            )),
            (Some(next), Some(extreme)) if s.is_behind() => diffs.push(difference(
                &object,
                "sequence behind the column's data",
                Value::Null,
                text(&format!(
                    "{} next value {next}, {bound}({}) = {extreme}",
                    s.sequence, s.column
                )),
            )),
            _ => {}
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::schema_facts::SequenceUse;

    fn facts(indexes: &[(&str, &str)], defaults: &[(&str, &str)]) -> TableFacts {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        TableFacts {
            indexes: map(indexes),
            defaults: map(defaults),
            ..Default::default()
        }
    }

    fn rows(diffs: &[Difference]) -> Vec<String> {
        diffs
            .iter()
            .map(|d| serde_json::Value::from(d.to_vec()).to_string())
            .collect()
    }

    #[test]
    fn objects_missing_extra_and_changed() {
        let s = facts(
            &[
                ("a_idx", "CREATE INDEX ON t USING btree (a)"),
                ("b_idx", "B"),
            ],
            &[("n", "0"), ("m", "1")],
        );
        let t = facts(
            &[
                ("a_idx", "CREATE INDEX ON t USING hash (a)"),
                ("c_idx", "C"),
            ],
            &[("n", "0"), ("k", "now()")],
        );
        assert_eq!(
            rows(&compare_objects("t.", &s, &t, &["n", "m", "k"])),
            [
                r#"["t.a_idx","index differs","CREATE INDEX ON t USING btree (a)","CREATE INDEX ON t USING hash (a)"]"#,
                r#"["t.b_idx","index missing in target","B",null]"#,
                r#"["t.c_idx","extra index in target",null,"C"]"#,
                r#"["t.k","default differs",null,"now()"]"#,
                r#"["t.m","default differs","1",null]"#,
            ]
        );
        assert!(compare_objects("t.", &s, &s, &["n", "m"]).is_empty());
        let view = |query: &str| TableFacts {
            view_query: Some(query.into()),
            ..Default::default()
        };
        assert_eq!(
            rows(&compare_objects(
                "v.",
                &view("SELECT 1;"),
                &view("SELECT 2;"),
                &[]
            )),
            [r#"["v","view query differs","SELECT 1;","SELECT 2;"]"#]
        );
        assert_eq!(
            compare_objects("t.", &s, &t, &["n"]).len(),
            3,
            "the defaults of a column only one side has are not compared"
        );
    }

    #[test]
    fn a_type_differs_once_however_many_tables_use_it() {
        let with = |types: &[(&str, &str)]| TableFacts {
            types: types
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let s = [
            with(&[("mood", "ENUM ('sad', 'ok')"), ("year", "DOMAIN integer")]),
            with(&[("mood", "ENUM ('sad', 'ok')"), ("only_here", "ENUM ('x')")]),
        ];
        let t = [
            with(&[
                ("mood", "ENUM ('sad', 'ok', 'happy')"),
                ("year", "DOMAIN integer"),
            ]),
            with(&[("mood", "ENUM ('sad', 'ok', 'happy')")]),
        ];
        assert_eq!(
            rows(&compare_types(s.iter(), t.iter())),
            [r#"["mood","enum differs","ENUM ('sad', 'ok')","ENUM ('sad', 'ok', 'happy')"]"#]
        );
    }

    #[test]
    fn only_sequences_behind_or_unreadable_are_reported() {
        let seq = |column: &str, next, extreme| SequenceUse {
            column: column.into(),
            sequence: format!("public.t_{column}_seq"),
            next_value: next,
            increment: 1,
            extreme,
        };
        let t = TableFacts {
            sequences: vec![
                seq("id", Some(1), Some(3)),
                seq("ok", Some(4), Some(3)),
                seq("secret", None, Some(3)),
            ],
            ..Default::default()
        };
        assert_eq!(
            rows(&behind_sequences("t.", &t)),
            [
                r#"["t.id","sequence behind the column's data",null,"public.t_id_seq next value 1, max(id) = 3"]"#,
                r#"["t.secret","sequence cannot be checked",null,"public.t_secret_seq: no SELECT or USAGE privilege to read its next value"]"#,
            ]
        );
    }
}
