//! `crosscheck checkpoint`.

use std::collections::BTreeMap;

use super::{CheckpointArgs, exit};
use crate::engine::checkpoint::{Request, take};
use crate::kernel::error::{Error, Result};

pub async fn checkpoint(args: CheckpointArgs) -> Result<u8> {
    // The rules are not needed, and one that cannot read a checkpoint must not stop a new one.
    let options = crate::config::LoadOptions {
        config: args.config.clone(),
        rule_paths: vec![],
        source_overrides: args.source.clone(),
        skip_rules: true,
    };
    let project = crate::config::load(&options).map_err(Error::from)?;
    let mut keys = BTreeMap::new();
    for (table, columns) in &args.key {
        let columns: Vec<String> = columns.split(',').map(|c| c.trim().to_string()).collect();
        if columns.iter().any(String::is_empty) {
            return Err(Error::Usage(format!(
                "--key {table}={}: a column name is empty",
                columns.join(",")
            )));
        }
        keys.insert(table.clone(), columns);
    }
    let request = Request {
        sources: args.sources.clone(),
        keys,
        out: args.out.clone(),
    };
    let written = take(&project, &request).await?;
    let mut table = comfy_table::Table::new();
    table.set_header(["table", "rows", "key", "columns"]);
    for t in &written.manifest.tables {
        let key = if t.key.is_empty() {
            "(none: a multiset of row hashes)".to_string()
        } else {
            t.key.join(", ")
        };
        table.add_row([
            format!("{}.{}", t.source, t.name),
            crate::engine::measure::fmt_count(t.rows),
            key,
            t.columns.len().to_string(),
        ]);
    }
    let rows: u64 = written.manifest.tables.iter().map(|t| t.rows).sum();
    let per_row = if rows == 0 {
        String::new()
    } else {
        format!(", {:.1} bytes per row", written.bytes as f64 / rows as f64)
    };
    let text = format!(
        "{table}\ncheckpoint of {} table(s) written to {} ({} bytes of row hashes{per_row})\n",
        written.manifest.tables.len(),
        crate::filesystem::display_path(&args.out),
        written.bytes
    );
    crate::report::write_to(std::path::Path::new("-"), &text)?;
    Ok(exit::PASS)
}
