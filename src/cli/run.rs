//! `crosscheck run`.

use std::io::IsTerminal;

use super::{FailOn, RunArgs, exit, load_project, select::select};
use crate::engine::outcome::{RunOutcome, Status};
use crate::engine::{self, RunOptions};
use crate::error::{Error, Result};
use crate::report;

pub async fn run(args: RunArgs) -> Result<u8> {
    let project = load_project(&args.project, &args.source)?;
    let rules = select(&project.rules, &args.select, &args.exclude);
    if rules.is_empty() && !(args.select.is_empty() && args.exclude.is_empty()) {
        return Err(Error::Usage(format!(
            "no rule matches the selection (--select {} --exclude {}); `crosscheck list` shows the rules",
            args.select.join(","),
            args.exclude.join(",")
        )));
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let outcome = engine::run(
        &project,
        &rules,
        &RunOptions {
            jobs,
            sample: args.sample,
        },
    )
    .await?;
    if let Some(path) = &args.json {
        report::write_to(path, &report::json::render(&outcome))?;
    }
    let stdout_taken = args.json.as_deref() == Some(std::path::Path::new("-"));
    if !args.quiet && !stdout_taken {
        let width = terminal_width();
        report::write_to(
            std::path::Path::new("-"),
            &report::terminal::render(&outcome, width),
        )?;
    }
    Ok(exit_code(&outcome, args.fail_on))
}

/// The width to fit tables to, when standard output is a terminal.
fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(120))
}

/// 2 when a rule could not run, 1 when one failed (or warned with `--fail-on warn`), else 0.
/// `--fail-on never` always gives 0 once the run completed.
pub fn exit_code(outcome: &RunOutcome, fail_on: FailOn) -> u8 {
    let any = |s| outcome.rules.iter().any(|r| r.status == s);
    match fail_on {
        FailOn::Never => exit::PASS,
        _ if any(Status::Error) => exit::ERROR,
        _ if any(Status::Fail) => exit::FAIL,
        FailOn::Warn if any(Status::Warn) => exit::FAIL,
        _ => exit::PASS,
    }
}
