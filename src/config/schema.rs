//! The JSON Schema of `crosscheck.yaml` and rule files, for editors (yaml-language-server),
//! generated from the rule language table the parser checks against, so the two cannot drift.

use serde_json::{Map, Value, json};

use super::rule_types::{COMMON_FIELDS, FieldDef, RuleTypeDef, Shape, all_rule_types};

/// One schema validating either kind of file (a project file or a rule file).
pub fn schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://crosscheck.dev/schema/crosscheck.json",
        "title": "crosscheck project file or rule file",
        "anyOf": [{ "$ref": "#/definitions/project" }, { "$ref": "#/definitions/rule_file" }],
        "definitions": {
            "project": project(),
            "rule_file": {
                "type": "object",
                "description": "A rule file: a list of rules under `rules:`.",
                "properties": { "rules": { "type": "array", "items": { "$ref": "#/definitions/rule" } } },
                "required": ["rules"],
                "additionalProperties": false
            },
            "rule": {
                "description": "One rule; `type` decides its fields.",
                "oneOf": all_rule_types().map(|t| json!({ "$ref": format!("#/definitions/rule_{}", t.name) })).collect::<Vec<_>>()
            },
        }
    })
    .as_object()
    .cloned()
    .map(|mut root| {
        if let Some(Value::Object(defs)) = root.get_mut("definitions") {
            for t in all_rule_types() {
                defs.insert(format!("rule_{}", t.name), rule(t));
            }
        }
        Value::Object(root)
    })
    .unwrap_or(Value::Null)
}

fn rule(t: &RuleTypeDef) -> Value {
    let mut properties = Map::new();
    for f in COMMON_FIELDS.iter().chain(t.fields) {
        properties.insert(f.name.to_string(), field(f));
    }
    let names: Vec<&str> = std::iter::once(t.name)
        .chain(t.aliases.iter().copied())
        .collect();
    properties.insert(
        "type".into(),
        json!({ "enum": names, "description": t.doc }),
    );
    let required: Vec<&str> = COMMON_FIELDS
        .iter()
        .chain(t.fields)
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({
        "type": "object",
        "title": t.name,
        "description": t.doc,
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

fn field(f: &FieldDef) -> Value {
    let mut schema = shape(f.shape);
    if let Value::Object(o) = &mut schema {
        o.insert("description".into(), Value::String(f.doc.into()));
    }
    schema
}

fn shape(shape: Shape) -> Value {
    let string = json!({ "type": "string" });
    let names = json!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" }, "minItems": 1 }] });
    match shape {
        Shape::Text
        | Shape::Table
        | Shape::TableOrSource
        | Shape::Source
        | Shape::Column
        | Shape::QueryFile
        | Shape::Query => string,
        Shape::KeyRef => json!({ "type": "string", "pattern": "^[^()]+\\([^()]+\\)$" }),
        Shape::Columns | Shape::Tags => names,
        Shape::Values => {
            json!({ "type": "array", "items": { "type": ["string", "number", "boolean"] } })
        }
        Shape::Predicate => json!({ "type": ["string", "number", "boolean"] }),
        Shape::Count => json!({ "type": "integer", "minimum": 0 }),
        Shape::Integer => json!({ "type": "integer" }),
        Shape::CountOrPercent => {
            json!({ "anyOf": [{ "type": "integer", "minimum": 0 }, { "type": "string", "pattern": "^\\s*\\d+(\\.\\d+)?\\s*%?\\s*$" }] })
        }
        Shape::Duration => {
            json!({ "type": ["string", "integer"], "pattern": "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|sec|m|min|h|d|w)?\\s*$" })
        }
        Shape::Severity => json!({ "enum": ["error", "warn"] }),
        Shape::Rename => json!({ "type": "object", "additionalProperties": { "type": "string" } }),
        Shape::Tolerances => {
            json!({ "type": "object", "additionalProperties": { "anyOf": [{ "type": "number", "minimum": 0 }, { "type": "string", "pattern": "^\\s*\\d+(\\.\\d+)?\\s*%?\\s*$" }] } })
        }
        Shape::Normalize => json!({
            "type": "object",
            "properties": {
                "trim": { "type": "boolean" },
                "case_insensitive": { "type": "boolean" },
                "empty_as_null": { "type": "boolean" },
                "timezone": { "type": "string", "description": "An IANA zone such as Europe/Berlin (default UTC)." }
            },
            "additionalProperties": false
        }),
        Shape::Algorithm => json!({ "enum": ["auto", "join", "checksum"] }),
        Shape::Metrics => json!({
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "expr": { "type": "string", "description": "A SQL aggregate: `avg(score)`, `count(DISTINCT user_id)`." },
                    "min": { "type": "number", "description": "Smallest acceptable value." },
                    "max": { "type": "number", "description": "Largest acceptable value." }
                },
                "required": ["expr"],
                "anyOf": [{ "required": ["min"] }, { "required": ["max"] }],
                "additionalProperties": false
            }
        }),
    }
}

fn project() -> Value {
    use super::project::{CSV_KEYS, DEFAULT_KEYS, SOURCE_KEYS, TOP_KEYS};
    let described = |pairs: &[(&str, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<Map<String, Value>>()
    };
    let source_props = described(&[
        (
            "postgres",
            json!({ "type": "string", "description": "libpq URL or key=value string; PG* variables and ~/.pgpass fill gaps." }),
        ),
        (
            "files",
            json!({ "type": "string", "description": "A folder (or one file) of .csv, .parquet, .json/.ndjson tables." }),
        ),
        (
            "tree",
            json!({ "type": "string", "description": "A folder as the table `files` (path, name, extension, size, mode, modified, sha256, json_valid)." }),
        ),
        (
            "checkpoint",
            json!({ "type": "string", "description": "A folder `crosscheck checkpoint` wrote: each table as its keys and row hashes (no values), for row_count, row_count_match and diff." }),
        ),
        (
            "mysql",
            json!({ "type": "string", "description": "mysql://user@host:port/database URL (MySQL 8, MariaDB 10.11+); MYSQL_PWD fills a missing password; ssl-mode and ssl-ca as MySQL's clients take them." }),
        ),
        (
            "sqlite",
            json!({ "type": "string", "description": "A SQLite database file, opened read-only; its tables are in schema `main`." }),
        ),
        (
            "config",
            json!({ "type": "string", "description": "A configuration file, folder or glob (.env, JSON, YAML, TOML, INI, .properties) as the table `entries` (file, key, value, type, line, error)." }),
        ),
        (
            "environment",
            json!({ "type": "string", "description": "A glob of environment variable names (`APP_*`) whose variables are the table `entries`." }),
        ),
        (
            "schema",
            json!({ "type": "string", "default": "public", "description": "The schema of unqualified table names." }),
        ),
        (
            "statement_timeout",
            json!({ "type": ["string", "integer"], "default": "10m", "description": "Timeout of every query of the source." }),
        ),
        (
            "max_connections",
            json!({ "type": "integer", "minimum": 1, "default": 4, "description": "Connections opened at most." }),
        ),
        (
            "csv",
            json!({
                "type": "object",
                "properties": described(&[
                    ("delimiter", json!({ "type": "string", "default": "," })),
                    ("header", json!({ "type": "boolean", "default": true })),
                    ("null", json!({ "type": "string", "default": "", "description": "The text that stands for NULL." })),
                ]),
                "additionalProperties": false
            }),
        ),
    ]);
    debug_assert!(SOURCE_KEYS.iter().all(|k| source_props.contains_key(*k)));
    debug_assert!(CSV_KEYS.len() == 3 && DEFAULT_KEYS.len() == 2 && TOP_KEYS.len() == 4);
    json!({
        "type": "object",
        "description": "crosscheck.yaml: sources, defaults, sensitive columns and secret keys.",
        "properties": {
            "sources": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": source_props,
                    "oneOf": [{ "required": ["postgres"] }, { "required": ["mysql"] }, { "required": ["sqlite"] }, { "required": ["files"] }, { "required": ["tree"] }, { "required": ["checkpoint"] }, { "required": ["config"] }, { "required": ["environment"] }],
                    "additionalProperties": false
                }
            },
            "defaults": {
                "type": "object",
                "properties": {
                    "severity": { "enum": ["error", "warn"], "default": "error" },
                    "sample": { "type": "integer", "minimum": 0, "default": 10 }
                },
                "additionalProperties": false
            },
            "sensitive": { "type": "array", "items": { "type": "string" }, "description": "TABLE.COLUMN patterns (globs) whose values never appear in output." },
            "secret_keys": { "type": "array", "items": { "type": "string" }, "description": "Key globs whose values a config or environment source masks (default: *password*, *secret*, *token*, *api_key*, *private_key*, *credential*)." }
        },
        "required": ["sources"],
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_type_and_field_is_in_the_schema() {
        let s = schema();
        for t in all_rule_types() {
            let props = &s["definitions"][format!("rule_{}", t.name)]["properties"];
            for f in COMMON_FIELDS.iter().chain(t.fields) {
                assert!(props.get(f.name).is_some(), "{}.{} missing", t.name, f.name);
            }
        }
        let source = &s["definitions"]["project"]["properties"]["sources"]["additionalProperties"]
            ["properties"];
        // The same keys: the parser's list (for "expected one of") and the schema's.
        let mut in_schema: Vec<&str> = source
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut parsed = super::super::project::SOURCE_KEYS.to_vec();
        in_schema.sort();
        parsed.sort();
        assert_eq!(in_schema, parsed);
        for key in super::super::project::TOP_KEYS {
            assert!(
                s["definitions"]["project"]["properties"]
                    .get(*key)
                    .is_some(),
                "{key} missing"
            );
        }
    }
}
