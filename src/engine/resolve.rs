//! Checks, before a rule runs, that the tables and columns it names exist, so the user
//! gets "table `prod.userz` not found (did you mean `users`?)" at the rule's line rather
//! than a planner message.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;

use crate::config::diagnostic::{Diagnostic, did_you_mean};
use crate::config::location::Located;
use crate::config::{RuleKind, RuleSpec, TableName, TableOrSource, TableRef};
use crate::kernel::reference;
use crate::source::{self, SourceInfo};

/// The schema of a table, or a diagnostic saying why it cannot be used.
pub async fn table_schema(
    ctx: &SessionContext,
    sources: &[SourceInfo],
    table: &TableRef,
) -> Result<SchemaRef, Diagnostic> {
    let name = &table.value;
    let broken = sources
        .iter()
        .find(|s| s.name == name.source)
        .and_then(|s| s.broken.get(&name.table));
    if let Some(reason) = broken.filter(|_| name.schema.is_none()) {
        return Err(Diagnostic::at(
            &table.loc,
            format!("table `{name}` cannot be read: {reason}"),
        ));
    }
    match ctx.table_provider(reference(name)).await {
        Ok(provider) => Ok(provider.schema()),
        // The table exists but could not be prepared (its array columns could not be checked).
        Err(datafusion::error::DataFusionError::Execution(reason)) => Err(Diagnostic::at(
            &table.loc,
            format!("table `{name}` cannot be read: {reason}"),
        )),
        Err(_) => {
            let known = source::table_names(ctx, &name.source);
            let help = did_you_mean(&name.table, known.iter().map(String::as_str));
            let listing = if known.is_empty() {
                "it has no tables".to_string()
            } else {
                format!("it has: {}", known.join(", "))
            };
            Err(Diagnostic::at(
                &table.loc,
                format!(
                    "table `{name}` not found in source `{}` ({listing})",
                    name.source
                ),
            )
            .with_help(help))
        }
    }
}

fn check_columns(
    schema: &SchemaRef,
    table: &TableName,
    columns: &[Located<String>],
) -> Result<(), Diagnostic> {
    for column in columns {
        if schema.field_with_name(&column.value).is_err() {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let help = did_you_mean(&column.value, names.iter().copied());
            return Err(Diagnostic::at(
                &column.loc,
                format!(
                    "column `{}` not found in `{table}` ({})",
                    column.value,
                    crate::source::columns_note(&names)
                ),
            )
            .with_help(help));
        }
    }
    Ok(())
}

/// Every table and column the rule names exists.
pub async fn check_rule(
    ctx: &SessionContext,
    sources: &[SourceInfo],
    rule: &RuleSpec,
) -> Result<(), Diagnostic> {
    match &rule.kind {
        RuleKind::RowCount { table, .. } | RuleKind::Expect { table, .. } => {
            table_schema(ctx, sources, table).await.map(|_| ())
        }
        RuleKind::NotNull { table, columns } | RuleKind::Unique { table, columns } => {
            check_columns(&table_schema(ctx, sources, table).await?, table, columns)
        }
        RuleKind::AcceptedValues { table, column, .. }
        | RuleKind::Freshness { table, column, .. } => check_columns(
            &table_schema(ctx, sources, table).await?,
            table,
            std::slice::from_ref(column),
        ),
        RuleKind::RowCountMatch {
            source,
            target,
            group_by,
            ..
        } => {
            check_columns(&table_schema(ctx, sources, source).await?, source, group_by)?;
            check_columns(&table_schema(ctx, sources, target).await?, target, group_by)
        }
        RuleKind::ForeignKey { child, parent } => {
            check_columns(
                &table_schema(ctx, sources, &child.table).await?,
                &child.table,
                &child.columns,
            )?;
            check_columns(
                &table_schema(ctx, sources, &parent.table).await?,
                &parent.table,
                &parent.columns,
            )
        }
        RuleKind::SchemaMatch { source, target, .. } => {
            for side in [source, target] {
                if let TableOrSource::Table(t) = side {
                    table_schema(ctx, sources, t).await?;
                }
            }
            Ok(())
        }
        RuleKind::Diff { source, target, .. } => {
            table_schema(ctx, sources, source).await?;
            table_schema(ctx, sources, target).await.map(|_| ())
        }
        RuleKind::Sql { .. } | RuleKind::QueryMatch { .. } => Ok(()),
    }
}

/// One-line form of a diagnostic for rule outcomes: `file:line:col: message (help)`.
pub fn one_line(d: &Diagnostic) -> String {
    let mut text = match &d.loc {
        Some(loc) => format!("{loc}: {}", d.message),
        None => d.message.clone(),
    };
    if let Some(help) = &d.help {
        text.push_str(&format!(" ({help})"));
    }
    text
}
