//! Checks, before a rule runs, that the tables and columns it names exist, so the user
//! gets "table `prod.userz` not found (did you mean `users`?)" at the rule's line rather
//! than a planner message.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;

use crate::config::diagnostic::{Diagnostic, did_you_mean};
use crate::config::location::Located;
use crate::config::{RuleSpec, TableName, TableRef};
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
    for (table, columns) in super::rules::of(&rule.kind).names(&rule.kind) {
        check_columns(&table_schema(ctx, sources, table).await?, table, columns)?;
    }
    Ok(())
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
