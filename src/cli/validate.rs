//! `crosscheck validate [--connect]`.

use super::{ValidateArgs, exit, load_project};
use crate::config::Diagnostics;
use crate::engine::{self, compile, resolve};
use crate::kernel::error::{Error, Result};

pub async fn validate(args: ValidateArgs) -> Result<u8> {
    let project = load_project(&args.project, &[])?;
    if args.connect {
        let ctx = crate::kernel::new_session();
        let sources = crate::source::register_all(&ctx, &project.sources).await?;
        let mut diags = Diagnostics::default();
        for rule in &project.rules {
            if let Err(d) = resolve::check_rule(&ctx, &sources, rule).await {
                diags.push(d);
                continue;
            }
            if let Err(d) = engine::plan_rule(&ctx, &compile::compile(rule)).await {
                diags.push(d);
            }
        }
        if !diags.is_empty() {
            return Err(Error::from(diags));
        }
    }
    let files: std::collections::BTreeSet<&str> =
        project.rules.iter().map(|r| r.file.as_str()).collect();
    let connected = if args.connect {
        ", every table and column found"
    } else {
        ""
    };
    let line = format!(
        "{} is valid: {} {} in {} rule {}, {} {}{connected}",
        crate::filesystem::display_path(&project.config_path),
        project.rules.len(),
        if project.rules.len() == 1 {
            "rule"
        } else {
            "rules"
        },
        files.len(),
        if files.len() == 1 { "file" } else { "files" },
        project.sources.len(),
        if project.sources.len() == 1 {
            "source"
        } else {
            "sources"
        },
    );
    crate::report::write_stdout(&format!("{line}\n"))?;
    Ok(exit::PASS)
}
