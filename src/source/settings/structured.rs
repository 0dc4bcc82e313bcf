//! JSON, YAML and TOML: nested keys joined with `.`, list items as `[i]`
//! (`database.replicas[0].host`), each leaf with the type it is written as and its line.

use std::path::Path;
use std::sync::Arc;

use super::Entry;
use crate::config::location::SourceFile;
use crate::config::yaml::{self, Node, Value as Yaml};

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A document that is one scalar has this key.
const ROOT: &str = "(root)";

fn leaf_key(prefix: &str) -> String {
    if prefix.is_empty() {
        ROOT.into()
    } else {
        prefix.to_string()
    }
}

pub fn yaml(path: &Path, text: &str) -> Vec<Entry> {
    match parse_yaml(path, text) {
        Ok(node) => {
            let mut out = Vec::new();
            flatten_yaml(&node, "", &mut out);
            out
        }
        Err(d) => vec![Entry::broken(
            d.loc.as_ref().map(|l| l.line as u64),
            d.message,
        )],
    }
}

fn parse_yaml(path: &Path, text: &str) -> Result<Node, crate::config::Diagnostic> {
    let file = Arc::new(SourceFile {
        display: path.display().to_string(),
        path: path.to_path_buf(),
        text: text.to_string(),
    });
    yaml::parse(&file)
}

fn flatten_yaml(node: &Node, prefix: &str, out: &mut Vec<Entry>) {
    let line = Some(node.line as u64);
    let (value, kind) = match &node.value {
        Yaml::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                let name = k.scalar_text().unwrap_or_else(|| "?".into());
                flatten_yaml(v, &join(prefix, &name), out);
            }
            return;
        }
        Yaml::Seq(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten_yaml(v, &format!("{prefix}[{i}]"), out);
            }
            return;
        }
        Yaml::Map(_) => (Some("{}".to_string()), "object"),
        Yaml::Seq(_) => (Some("[]".to_string()), "list"),
        Yaml::Null => (None, "null"),
        Yaml::Bool(b) => (Some(b.to_string()), "bool"),
        Yaml::Int(i) => (Some(i.to_string()), "number"),
        Yaml::Float(f) => (Some(f.to_string()), "number"),
        Yaml::Str(s) => (Some(s.clone()), "string"),
    };
    out.push(Entry::setting(leaf_key(prefix), value, kind, line));
}

/// JSON is read by a JSON parser (what YAML would forgive, a trailing comma or a single
/// quote, is an error); its lines come from the same text read as YAML, of which JSON is a
/// subset, when that reads alike.
pub fn json(text: &str) -> Vec<Entry> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let line = (e.line() > 0).then_some(e.line() as u64);
            return vec![Entry::broken(line, format!("invalid JSON: {e}"))];
        }
    };
    let mut out = Vec::new();
    flatten_json(&value, "", &mut out);
    if let Ok(node) = parse_yaml(Path::new("document.json"), text) {
        let mut positions = Vec::new();
        flatten_yaml(&node, "", &mut positions);
        if positions.len() == out.len() && positions.iter().zip(&out).all(|(p, e)| p.key == e.key) {
            for (e, p) in out.iter_mut().zip(positions) {
                e.line = p.line;
            }
        }
    }
    out
}

fn flatten_json(value: &serde_json::Value, prefix: &str, out: &mut Vec<Entry>) {
    use serde_json::Value as J;
    let (text, kind) = match value {
        J::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten_json(v, &join(prefix, k), out);
            }
            return;
        }
        J::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten_json(v, &format!("{prefix}[{i}]"), out);
            }
            return;
        }
        J::Object(_) => (Some("{}".to_string()), "object"),
        J::Array(_) => (Some("[]".to_string()), "list"),
        J::Null => (None, "null"),
        J::Bool(b) => (Some(b.to_string()), "bool"),
        J::Number(n) => (Some(n.to_string()), "number"),
        J::String(s) => (Some(s.clone()), "string"),
    };
    out.push(Entry::setting(leaf_key(prefix), text, kind, None));
}

pub fn toml(text: &str) -> Vec<Entry> {
    let line_of =
        |offset: usize| Some(text[..offset.min(text.len())].matches('\n').count() as u64 + 1);
    let doc = match toml_edit::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = e.span().and_then(|s| line_of(s.start));
            return vec![Entry::broken(
                line,
                format!("invalid TOML: {}", e.message()),
            )];
        }
    };
    let mut out = Vec::new();
    toml_table(doc.as_table(), "", &line_of, &mut out);
    out
}

fn toml_table(
    table: &toml_edit::Table,
    prefix: &str,
    line_of: &dyn Fn(usize) -> Option<u64>,
    out: &mut Vec<Entry>,
) {
    for (key, item) in table.iter() {
        let line = table
            .key(key)
            .and_then(|k| k.span())
            .and_then(|s| line_of(s.start));
        toml_item(item, &join(prefix, key), line, line_of, out);
    }
}

fn toml_item(
    item: &toml_edit::Item,
    key: &str,
    line: Option<u64>,
    line_of: &dyn Fn(usize) -> Option<u64>,
    out: &mut Vec<Entry>,
) {
    match item {
        toml_edit::Item::None => {}
        toml_edit::Item::Value(v) => toml_value(v, key, line, line_of, out),
        toml_edit::Item::Table(t) if t.is_empty() => {
            out.push(Entry::setting(
                key.into(),
                Some("{}".into()),
                "object",
                line,
            ));
        }
        toml_edit::Item::Table(t) => toml_table(t, key, line_of, out),
        toml_edit::Item::ArrayOfTables(tables) => {
            for (i, t) in tables.iter().enumerate() {
                toml_table(t, &format!("{key}[{i}]"), line_of, out);
            }
        }
    }
}

fn toml_value(
    value: &toml_edit::Value,
    key: &str,
    line: Option<u64>,
    line_of: &dyn Fn(usize) -> Option<u64>,
    out: &mut Vec<Entry>,
) {
    use toml_edit::Value as T;
    let line = value.span().and_then(|s| line_of(s.start)).or(line);
    let (text, kind) = match value {
        T::String(s) => (s.value().clone(), "string"),
        T::Integer(i) => (i.value().to_string(), "number"),
        T::Float(f) => (f.value().to_string(), "number"),
        T::Boolean(b) => (b.value().to_string(), "bool"),
        T::Datetime(d) => (d.value().to_string(), "string"),
        T::Array(items) if items.is_empty() => ("[]".into(), "list"),
        T::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                toml_value(v, &format!("{key}[{i}]"), line, line_of, out);
            }
            return;
        }
        T::InlineTable(t) if t.is_empty() => ("{}".into(), "object"),
        T::InlineTable(t) => {
            for (k, v) in t.iter() {
                toml_value(v, &join(key, k), line, line_of, out);
            }
            return;
        }
    };
    out.push(Entry::setting(key.into(), Some(text), kind, line));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(entries: &[Entry]) -> Vec<(String, Option<String>, &'static str, Option<u64>)> {
        entries
            .iter()
            .map(|e| {
                (
                    e.key.clone().unwrap_or_default(),
                    e.value.clone(),
                    e.kind.unwrap_or("-"),
                    e.line,
                )
            })
            .collect()
    }

    fn row(
        key: &str,
        value: Option<&str>,
        kind: &'static str,
        line: u64,
    ) -> (String, Option<String>, &'static str, Option<u64>) {
        (key.into(), value.map(String::from), kind, Some(line))
    }

    #[test]
    fn the_three_formats_flatten_alike() {
        let yaml_text = "database:\n  replicas:\n    - host: a\n      port: 5432\n  tls: true\nempty: {}\nnothing: null\nquoted: \"5432\"\n";
        let json_text = "{\n  \"database\": {\n    \"replicas\": [\n      {\"host\": \"a\", \"port\": 5432}\n    ],\n    \"tls\": true\n  },\n  \"empty\": {},\n  \"nothing\": null,\n  \"quoted\": \"5432\"\n}\n";
        let toml_text = "empty = {}\nquoted = \"5432\"\n[database]\ntls = true\n[[database.replicas]]\nhost = \"a\"\nport = 5432\n";
        assert_eq!(
            rows(&yaml(Path::new("a.yaml"), yaml_text)),
            [
                row("database.replicas[0].host", Some("a"), "string", 3),
                row("database.replicas[0].port", Some("5432"), "number", 4),
                row("database.tls", Some("true"), "bool", 5),
                row("empty", Some("{}"), "object", 6),
                row("nothing", None, "null", 7),
                row("quoted", Some("5432"), "string", 8),
            ]
        );
        assert_eq!(
            rows(&json(json_text)),
            [
                row("database.replicas[0].host", Some("a"), "string", 4),
                row("database.replicas[0].port", Some("5432"), "number", 4),
                row("database.tls", Some("true"), "bool", 6),
                row("empty", Some("{}"), "object", 8),
                row("nothing", None, "null", 9),
                row("quoted", Some("5432"), "string", 10),
            ]
        );
        assert_eq!(
            rows(&toml(toml_text)),
            [
                row("empty", Some("{}"), "object", 1),
                row("quoted", Some("5432"), "string", 2),
                row("database.tls", Some("true"), "bool", 4),
                row("database.replicas[0].host", Some("a"), "string", 6),
                row("database.replicas[0].port", Some("5432"), "number", 7),
            ]
        );
    }

    #[test]
    fn a_broken_file_is_one_row_with_its_line() {
        for entries in [
            json("{\n  \"a\": 1,\n  \"b\": \n"),
            json("{\"a\": 1,}"),
            yaml(Path::new("a.yaml"), "a: [1, 2\nb: 3\n"),
            toml("a = 1\nb = \n"),
        ] {
            assert_eq!(entries.len(), 1, "{entries:?}");
            assert!(
                entries[0].error.is_some() && entries[0].key.is_none(),
                "{entries:?}"
            );
            assert!(entries[0].line.is_some(), "{entries:?}");
        }
    }
}
