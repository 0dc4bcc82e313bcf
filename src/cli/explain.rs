//! `crosscheck explain RULE`: each query of a rule, and where it runs — inside one
//! PostgreSQL source (with the SQL it receives) or in-process, with the plan and what each
//! source is asked for.

use datafusion::physical_plan::displayable;

use super::{ExplainArgs, exit, load_project};
use crate::config::diagnostic::did_you_mean;
use crate::engine::{self, compile, measure, resolve};
use crate::kernel::error::{Error, Result};
use crate::source::pushdown;

pub async fn explain(args: ExplainArgs) -> Result<u8> {
    let project = load_project(&args.project, &args.source)?;
    let Some(spec) = project.rules.iter().find(|r| r.name.value == args.rule) else {
        let help = did_you_mean(
            &args.rule,
            project.rules.iter().map(|r| r.name.value.as_str()),
        );
        let hint = help.map(|h| format!(" ({h})")).unwrap_or_default();
        return Err(Error::Usage(format!(
            "no rule named `{}`{hint}; `crosscheck list` shows the rules",
            args.rule
        )));
    };
    let ctx = crate::kernel::new_session();
    let sources = crate::source::register_all(&ctx, &project.sources).await?;
    resolve::check_rule(&ctx, &sources, spec)
        .await
        .map_err(|d| Error::from(crate::config::Diagnostics(vec![d])))?;
    let rule = compile::compile(spec);
    let mut out = format!(
        "rule `{}` ({}, {})\n",
        spec.name.value, spec.type_name, spec.loc
    );
    // Diffs and schema comparisons describe themselves; every other rule is a set of queries.
    let described = match &rule.plan {
        compile::Plan::Diff {
            source,
            target,
            options,
        } => Some(
            crate::diff::explain(&ctx, source, target, options)
                .await
                .map_err(|e| e.to_string()),
        ),
        compile::Plan::Schema {
            source,
            target,
            ignore,
        } => Some(
            engine::schema::explain(&ctx, source, target, ignore)
                .await
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    };
    if let Some(text) = described {
        out.push('\n');
        out.push_str(&text.map_err(Error::Usage)?);
        crate::report::write_to(std::path::Path::new("-"), &out)?;
        return Ok(exit::PASS);
    }
    let ctx = engine::rule_session(&ctx, &rule);
    let queries = engine::rules::queries(&ctx, &rule)
        .await
        .map_err(|e| Error::Usage(format!("rule `{}`: {e}", spec.name.value)))?;
    for (i, query) in queries.iter().enumerate() {
        let frame = match query.sample_limit {
            Some(limit) => measure::sample_frame(&ctx, &query.sql, limit).await,
            None => ctx
                .sql(&query.sql)
                .await
                .map_err(engine::error::RuleError::from),
        }
        .map_err(|e| Error::Usage(format!("rule `{}` cannot be planned: {e}", spec.name.value)))?;
        out.push_str(&format!("\n{}. {}", i + 1, query.label));
        if let Some(limit) = query.sample_limit {
            out.push_str(&format!(
                " (the first {limit}, sorted by every column; only when there are violations)"
            ));
        }
        out.push_str(&format!("\n   engine SQL:\n{}\n", indent(&query.sql, 6)));
        match pushdown::try_push(frame.logical_plan()) {
            Some(pushed) => {
                out.push_str(&format!(
                    "   runs inside {} source `{}`, which receives:\n{}\n",
                    pushed.engine(),
                    pushed.source(),
                    indent(pushed.sql(), 6)
                ));
                out.push_str(&format!(
                    "   (if {} rejects that SQL, the query runs in-process instead)\n",
                    pushed.engine()
                ));
            }
            None => {
                let parts = pushdown::pushable_parts(frame.logical_plan());
                for (_, pushed) in &parts {
                    out.push_str(&format!(
                        "   an aggregate of it runs inside {} source `{}`, which receives:\n{}\n",
                        pushed.engine(),
                        pushed.source(),
                        indent(pushed.sql(), 6)
                    ));
                }
                if !parts.is_empty() {
                    out.push_str(
                        "   (a part its database rejects runs in-process instead); the plan below \
                         reads those parts' rows in place of their scans\n",
                    );
                }
                let plan = frame
                    .create_physical_plan()
                    .await
                    .map_err(|e| Error::Usage(crate::kernel::error_text(&e)))?;
                out.push_str("   runs in-process (DataFusion); each source is read by the scans at the leaves:\n");
                out.push_str(&indent(
                    &displayable(plan.as_ref()).indent(false).to_string(),
                    6,
                ));
                out.push('\n');
            }
        }
    }
    crate::report::write_to(std::path::Path::new("-"), &out)?;
    Ok(exit::PASS)
}

fn indent(text: &str, width: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}", " ".repeat(width)))
        .collect::<Vec<_>>()
        .join("\n")
}
