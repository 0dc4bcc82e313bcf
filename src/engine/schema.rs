//! `schema_match`: tables, columns, types and nullability of two tables or two sources;
//! between two databases also key constraints, indexes, checks and defaults, and in a target
//! database sequences left behind their column's data (`schema_objects.rs`).

use crate::engine::error::{RuleError, RuleResult};
use std::any::Any;

use datafusion::prelude::SessionContext;
use serde_json::Value;

use super::outcome::{Measure, Sample};
use super::schema_columns::{ColumnShape, type_change, type_name};
use super::schema_objects::{behind_sequences, compare_objects, compare_types};
use super::schema_partitions::{
    TableDiffs, absent_with_parent, drop_inherited, exported_with_parent,
};
use crate::config::{TableName, TableOrSource};
use crate::kernel::mask::glob;
use crate::kernel::reference;
use crate::source;
use crate::source::csv::CsvTable;
use crate::source::guard::GuardedTable;
use crate::source::schema_facts::{self, Place, RelationKind, TableFacts};

/// One difference: the object, what differs, the source side, the target side.
pub type Difference = [Value; 4];

/// A table as far as schema comparison is concerned.
struct TableShape {
    columns: Vec<ColumnShape>,
    /// Table, view, partition…; only databases say (a data file is a table).
    kind: Option<RelationKind>,
    /// A partition's bound and a partitioned table's key (databases only).
    partition_bound: Option<String>,
    partition_key: Option<String>,
    /// Primary key, unique and foreign key constraints; only databases declare them.
    constraints: Option<Vec<String>>,
    /// Where a database table lives, to load its facts from.
    place: Option<Place>,
    /// Indexes, checks, defaults and sequences, once loaded (databases only).
    facts: Option<TableFacts>,
}

pub async fn schema_match(
    ctx: &SessionContext,
    source: &TableOrSource,
    target: &TableOrSource,
    ignore: &[String],
) -> RuleResult<Measure> {
    let (mut differences, checked) = match (source, target) {
        (TableOrSource::Table(s), TableOrSource::Table(t)) => {
            let (mut s_shape, mut t_shape) = (describe(ctx, s).await?, describe(ctx, t).await?);
            load_facts(&mut s_shape, &mut t_shape).await?;
            let checked = s_shape.columns.len().max(t_shape.columns.len()) as u64;
            let mut diffs = compare_tables("", &s_shape, &t_shape);
            diffs.extend(types_of(&[s_shape], &[t_shape]));
            (diffs, checked)
        }
        (TableOrSource::Source(s), TableOrSource::Source(t)) => compare_sources(ctx, s, t).await?,
        _ => {
            return Err(RuleError::Rule(
                "`source` and `target` must both be tables or both be sources".into(),
            ));
        }
    };
    differences.retain(|d| {
        !ignore
            .iter()
            .any(|pattern| d[0].as_str().is_some_and(|object| glob(pattern, object)))
    });
    let violations = differences.len() as u64;
    let message = match violations {
        0 => "schemas match".to_string(),
        1 => "1 schema difference".to_string(),
        n => format!("{n} schema differences"),
    };
    // Every difference is listed, one per line, whatever the sample size.
    let rows = differences.into_iter().map(Vec::from).collect();
    let columns = ["object", "difference", "source", "target"]
        .map(String::from)
        .to_vec();
    Ok(Measure {
        diff: None,
        all_differences: None,
        violations,
        observed: Some(checked.into()),
        checked,
        sample: Sample { columns, rows },
        message,
    })
}

/// What a `schema_match` compares between these sides, for `crosscheck explain`.
pub async fn explain(
    ctx: &SessionContext,
    source: &TableOrSource,
    target: &TableOrSource,
    ignore: &[String],
) -> RuleResult<String> {
    // Whether a side is a database: a table of one, or a source whose tables are.
    async fn side_is_database(ctx: &SessionContext, side: &TableOrSource) -> RuleResult<bool> {
        match side {
            TableOrSource::Table(t) => Ok(describe(ctx, &t.value).await?.place.is_some()),
            TableOrSource::Source(s) => is_database(ctx, s, &source::table_names(ctx, s)).await,
        }
    }
    let name = |side: &TableOrSource| match side {
        TableOrSource::Table(t) => format!("table `{}`", t.value),
        TableOrSource::Source(s) => format!("source `{}`", s.value),
    };
    let (s_db, t_db) = (
        side_is_database(ctx, source).await?,
        side_is_database(ctx, target).await?,
    );
    let kind = |db: bool| if db { "a database" } else { "files" };
    let mut out = format!(
        "compares the schema of {} ({}) with {} ({}); reads catalogs and file headers, no rows:
",
        name(source),
        kind(s_db),
        name(target),
        kind(t_db)
    );
    let mut compared = Vec::new();
    if matches!(source, TableOrSource::Source(_)) {
        compared.push(
            "tables missing in the target or extra in it (every table of both sources); a \
             change on a partitioned table counts once, not once more per partition",
        );
    }
    compared.extend([
        "columns missing in the target or extra in it",
        "column types: the declared types when both sides are databases (`numeric(10,2)`, \
         `varchar(80)`), otherwise crosscheck's type names (`bigint`, `text`, `integer[]`); \
         a type inferred from a CSV or NDJSON export has no width or scale (its `bigint` \
         matches any integer column)",
    ]);
    let both = s_db && t_db;
    if both {
        compared.extend([
            "what each relation is (table, view, materialized view, partition…), and the \
             query of each view",
            "nullability (NULL / NOT NULL)",
            "primary key, unique and foreign key constraints",
            "indexes, unique and plain, by definition",
            "CHECK constraints",
            "column defaults",
            "the enums (labels) and domains (base type, checks, default) the columns use, \
             once per type",
        ]);
    }
    if t_db {
        compared.push(
            "in the target, sequences and identity columns whose next value is not above the \
             column's maximum (one max() per such column)",
        );
    }
    for c in compared {
        out.push_str(&format!("  - {c}\n"));
    }
    if !both {
        out.push_str(
            "not compared: nullability, constraints, indexes, checks and defaults, which only \
             databases declare (files have none, so their absence is no difference)\n",
        );
    }
    if !ignore.is_empty() {
        out.push_str(&format!(
            "differences on objects matching {} are accepted\n",
            ignore
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(out)
}

async fn describe(ctx: &SessionContext, table: &TableName) -> RuleResult<TableShape> {
    let provider = ctx
        .table_provider(reference(table))
        .await
        .map_err(RuleError::from)?;
    if let Some(checkpoint) = crate::source::checkpoint::checkpoint_table(provider.as_ref()) {
        return Ok(checkpoint_shape(&checkpoint.entry));
    }
    let schema = provider.schema();
    let any = provider.as_ref() as &dyn Any;
    let declared = schema_facts::declared(provider.as_ref());
    let inferred = any.downcast_ref::<CsvTable>().is_some()
        || any
            .downcast_ref::<GuardedTable>()
            .is_some_and(GuardedTable::types_inferred);
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let column = declared.as_ref().and_then(|d| d.columns.get(i));
            ColumnShape {
                name: field.name().clone(),
                type_name: type_name(field.data_type()),
                declared_type: column.map(|(type_text, _)| type_text.clone()),
                nullable: column.map(|(_, not_null)| !not_null),
                inferred,
            }
        })
        .collect();
    Ok(match declared {
        Some(d) => TableShape {
            columns,
            kind: Some(d.kind),
            partition_bound: d.partition_bound,
            partition_key: d.partition_key,
            constraints: Some(d.constraints),
            place: Some(d.place),
            facts: None,
        },
        None => TableShape {
            columns,
            kind: None,
            partition_bound: None,
            partition_key: None,
            constraints: None,
            place: None,
            facts: None,
        },
    })
}

/// A checkpoint's table as it was when the checkpoint was taken: its columns, their types
/// and nullability, and the constraints its database declared (no other facts are kept).
fn checkpoint_shape(entry: &crate::source::checkpoint::TableEntry) -> TableShape {
    let from_database = entry.constraints.is_some();
    TableShape {
        columns: entry
            .columns
            .iter()
            .map(|c| ColumnShape {
                name: c.name.clone(),
                type_name: c.type_name.clone(),
                declared_type: c.declared_type.clone(),
                nullable: from_database.then_some(c.nullable),
                inferred: !from_database,
            })
            .collect(),
        kind: None,
        partition_bound: None,
        partition_key: None,
        constraints: entry.constraints.clone(),
        place: None,
        facts: None,
    }
}

/// Loads what the comparison needs beyond columns: the objects of both sides when both are
/// databases, the sequences of a target database. Files have none of these facts, so a
/// database compared with files is never told that the files lack its indexes.
async fn load_facts(source: &mut TableShape, target: &mut TableShape) -> RuleResult<()> {
    let mut s = [source];
    let mut t = [target];
    load_facts_of(&mut s, &mut t).await
}

/// `load_facts` for many tables of each side, with one round of catalog queries per schema.
async fn load_facts_of(
    sources: &mut [&mut TableShape],
    targets: &mut [&mut TableShape],
) -> RuleResult<()> {
    let all_pg = |shapes: &[&mut TableShape]| shapes.iter().all(|s| s.place.is_some());
    if all_pg(sources) && all_pg(targets) && !sources.is_empty() {
        attach(sources, false).await?;
    }
    attach(targets, true).await
}

async fn attach(shapes: &mut [&mut TableShape], sequences: bool) -> RuleResult<()> {
    let places: Vec<&Place> = shapes.iter().filter_map(|s| s.place.as_ref()).collect();
    let mut loaded = schema_facts::load(&places, sequences).await?;
    for shape in shapes.iter_mut() {
        if let Some(place) = &shape.place {
            let key = (
                place.source().to_string(),
                place.schema.clone(),
                place.table.clone(),
            );
            shape.facts = loaded.remove(&key);
        }
    }
    Ok(())
}

async fn compare_sources(
    ctx: &SessionContext,
    source: &str,
    target: &str,
) -> RuleResult<(Vec<Difference>, u64)> {
    let (s_tables, t_tables) = (
        source::table_names(ctx, source),
        source::table_names(ctx, target),
    );
    let mut diffs = one_sided_tables(ctx, [source, target], [&s_tables, &t_tables]).await?;
    let common: Vec<&String> = s_tables.iter().filter(|n| t_tables.contains(n)).collect();
    let (mut s_shapes, mut t_shapes) = (Vec::new(), Vec::new());
    for name in &common {
        s_shapes.push(describe(ctx, &table(source, name)).await?);
        t_shapes.push(describe(ctx, &table(target, name)).await?);
    }
    {
        let mut s_refs: Vec<&mut TableShape> = s_shapes.iter_mut().collect();
        let mut t_refs: Vec<&mut TableShape> = t_shapes.iter_mut().collect();
        load_facts_of(&mut s_refs, &mut t_refs).await?;
    }
    let mut checked = 0;
    let mut per_table: Vec<TableDiffs> = Vec::new();
    for ((name, s_shape), t_shape) in common.iter().zip(&s_shapes).zip(&t_shapes) {
        checked += s_shape.columns.len() as u64 + 1;
        per_table.push(TableDiffs {
            name,
            source_kind: s_shape.kind.as_ref(),
            target_kind: t_shape.kind.as_ref(),
            source_facts: s_shape.facts.as_ref(),
            target_facts: t_shape.facts.as_ref(),
            diffs: compare_tables(&format!("{name}."), s_shape, t_shape),
        });
    }
    drop_inherited(&mut per_table);
    diffs.extend(per_table.into_iter().flat_map(|t| t.diffs));
    diffs.extend(types_of(&s_shapes, &t_shapes));
    Ok((diffs, checked))
}

/// The enums and domains that differ between the types these tables use (databases only).
fn types_of(source: &[TableShape], target: &[TableShape]) -> Vec<Difference> {
    compare_types(
        source.iter().filter_map(|s| s.facts.as_ref()),
        target.iter().filter_map(|t| t.facts.as_ref()),
    )
}

/// A table name of a source's default schema.
fn table(source: &str, name: &str) -> TableName {
    TableName {
        source: source.to_string(),
        schema: None,
        table: name.to_string(),
    }
}

/// The tables, views… on one side only, but for the partitions that went (or came) with
/// their partitioned table, or that an export of their partitioned table holds.
async fn one_sided_tables(
    ctx: &SessionContext,
    sources: [&str; 2],
    tables: [&[String]; 2],
) -> RuleResult<Vec<Difference>> {
    let mut diffs = Vec::new();
    for (side, other) in [(0, 1), (1, 0)] {
        let other_is_database = is_database(ctx, sources[other], tables[other]).await?;
        let only_here: Vec<&String> = tables[side]
            .iter()
            .filter(|n| !tables[other].contains(n))
            .collect();
        for name in &only_here {
            let kind = describe(ctx, &table(sources[side], name)).await?.kind;
            if !absent_with_parent(kind.as_ref(), &only_here)
                && !exported_with_parent(kind.as_ref(), tables[other], other_is_database)
            {
                diffs.push(one_sided(name, kind.as_ref(), side == 1));
            }
        }
    }
    Ok(diffs)
}

/// Whether a source's tables live in a database (a source is all one kind).
async fn is_database(ctx: &SessionContext, source: &str, tables: &[String]) -> RuleResult<bool> {
    match tables.first() {
        Some(name) => Ok(describe(ctx, &table(source, name)).await?.place.is_some()),
        None => Ok(false),
    }
}

/// A table, view… on one side only: `view missing in target`, `extra table in target`.
fn one_sided(name: &str, kind: Option<&RelationKind>, in_target: bool) -> Difference {
    let (word, described) = match kind {
        Some(kind) => (kind.name(), text(&kind.described())),
        None => ("table", text("table")),
    };
    if in_target {
        difference(
            name,
            &format!("extra {word} in target"),
            Value::Null,
            described,
        )
    } else {
        difference(
            name,
            &format!("{word} missing in target"),
            described,
            Value::Null,
        )
    }
}

fn compare_tables(prefix: &str, source: &TableShape, target: &TableShape) -> Vec<Difference> {
    let mut diffs = Vec::new();
    let find =
        |shape: &'_ TableShape, name: &str| shape.columns.iter().position(|c| c.name == name);
    for s in &source.columns {
        let object = format!("{prefix}{}", s.name);
        let Some(t) = find(target, &s.name).map(|i| &target.columns[i]) else {
            diffs.push(difference(
                &object,
                "column missing in target",
                text(s.shown_type()),
                Value::Null,
            ));
            continue;
        };
        // Declared types when both sides declare them; otherwise crosscheck's type names. A
        // column of an empty export has no type to compare (Arrow's Null).
        let (st, tt) = match (&s.declared_type, &t.declared_type) {
            (Some(a), Some(b)) => (a.clone(), b.clone()),
            _ => (s.type_name.clone(), t.type_name.clone()),
        };
        if st != tt
            && s.type_name != "null"
            && t.type_name != "null"
            && !s.inferred_fits(t)
            && !t.inferred_fits(s)
        {
            let change = type_change(&s.type_name, &t.type_name);
            diffs.push(difference(&object, change, text(&st), text(&tt)));
        }
        if let (Some(sn), Some(tn)) = (s.nullable, t.nullable)
            && sn != tn
        {
            // `nullable` rather than `NULL`, which a sample would have to quote to keep it
            // apart from a missing value.
            let null = |n: bool| text(if n { "nullable" } else { "NOT NULL" });
            diffs.push(difference(
                &object,
                "nullability differs",
                null(sn),
                null(tn),
            ));
        }
    }
    for t in target
        .columns
        .iter()
        .filter(|t| find(source, &t.name).is_none())
    {
        diffs.push(difference(
            &format!("{prefix}{}", t.name),
            "extra column in target",
            Value::Null,
            text(t.shown_type()),
        ));
    }
    let table = prefix.trim_end_matches('.');
    let table_object = if table.is_empty() { "table" } else { table };
    if let (Some(sk), Some(tk)) = (&source.kind, &target.kind)
        && sk != tk
    {
        diffs.push(difference(
            table_object,
            "kind differs",
            text(&sk.described()),
            text(&tk.described()),
        ));
    }
    let partitioning = [
        (
            "partition bounds differ",
            &source.partition_bound,
            &target.partition_bound,
        ),
        (
            "partition key differs",
            &source.partition_key,
            &target.partition_key,
        ),
    ];
    for (what, s, t) in partitioning {
        if let (Some(s), Some(t)) = (s, t)
            && s != t
        {
            diffs.push(difference(table_object, what, text(s), text(t)));
        }
    }
    if let (Some(sc), Some(tc)) = (&source.constraints, &target.constraints) {
        let object = table_object;
        for c in sc.iter().filter(|c| !tc.contains(c)) {
            diffs.push(difference(
                object,
                "constraint missing in target",
                text(c),
                Value::Null,
            ));
        }
        for c in tc.iter().filter(|c| !sc.contains(c)) {
            diffs.push(difference(
                object,
                "extra constraint in target",
                Value::Null,
                text(c),
            ));
        }
    }
    if let (Some(sf), Some(tf)) = (&source.facts, &target.facts) {
        let shared: Vec<&str> = source
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| find(target, n).is_some())
            .collect();
        diffs.extend(compare_objects(prefix, sf, tf, &shared));
    }
    if let Some(tf) = &target.facts {
        diffs.extend(behind_sequences(prefix, tf));
    }
    diffs
}

pub(super) fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

pub(super) fn difference(object: &str, what: &str, source: Value, target: Value) -> Difference {
    [text(object), text(what), source, target]
}
