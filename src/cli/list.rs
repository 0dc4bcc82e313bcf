//! `crosscheck list`: one line per rule.

use comfy_table::{Table, presets::NOTHING};

use super::{ProjectArgs, exit, load_project};
use crate::engine::rule_tables;
use crate::kernel::error::Result;

pub fn list(args: ProjectArgs) -> Result<u8> {
    let project = load_project(&args, &[])?;
    let mut table = Table::new();
    table.load_style(NOTHING);
    table.set_header(["NAME", "TYPE", "TABLES", "SEVERITY", "TAGS"]);
    for rule in &project.rules {
        table.add_row([
            rule.name.value.clone(),
            rule.type_name.to_string(),
            rule_tables(rule).join(", "),
            rule.severity.as_str().to_string(),
            rule.tags.join(","),
        ]);
    }
    let text = table
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    crate::report::write_to(std::path::Path::new("-"), &format!("{text}\n"))?;
    Ok(exit::PASS)
}
