//! `crosscheck run`.

use std::io::IsTerminal;

use std::path::Path;

use super::{
    ColorChoice, FailOn, OutputArgs, ReportArgs, RunArgs, exit, load_project, select::select,
};
use crate::config::{Project, RuleSpec};
use crate::engine::outcome::{RunOutcome, Status};
use crate::engine::{self, RunOptions};
use crate::kernel::error::{Error, Result};
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
    let (_, code) = execute(&project, &rules, &args.output, false).await?;
    Ok(code)
}

/// Runs `rules`, writes the reports and the terminal table, and decides the exit code.
pub async fn execute(
    project: &Project,
    rules: &[&RuleSpec],
    output: &OutputArgs,
    keep_all_differences: bool,
) -> Result<(RunOutcome, u8)> {
    let jobs = output.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let progress = progress_bar(output, rules.len());
    let on_rule_done = progress.clone().map(|bar| {
        let callback: engine::Progress = std::sync::Arc::new(move |name: &str| {
            bar.set_message(name.to_string());
            bar.inc(1);
        });
        callback
    });
    let options = RunOptions {
        jobs,
        sample: output.sample,
        on_rule_done,
        keep_all_differences,
        recheck: output.recheck,
    };
    // A signal (see `interrupt`) drops this future: the bar is cleared then too.
    let bar = ClearOnDrop(progress);
    let outcome = engine::run(project, rules, &options).await;
    drop(bar);
    let outcome = outcome?;
    let stdout_taken = write_reports(&output.reports, &outcome)?;
    if !output.quiet && !stdout_taken {
        let style = report::terminal::Style {
            width: terminal_width(),
            color: use_color(output.color),
        };
        report::write_to(Path::new("-"), &report::terminal::render(&outcome, style))?;
    }
    let code = exit_code(&outcome, output.fail_on);
    Ok((outcome, code))
}

/// Clears the progress bar when the run ends, however it ends.
struct ClearOnDrop(Option<indicatif::ProgressBar>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Writes every requested report; says whether one of them went to standard output.
pub fn write_reports(reports: &ReportArgs, outcome: &RunOutcome) -> Result<bool> {
    let mut stdout_taken = false;
    let formats = [
        (&reports.json, Format::Json),
        (&reports.junit, Format::Junit),
        (&reports.markdown, Format::Markdown),
        (&reports.html, Format::Html),
    ];
    for (path, format) in formats {
        let Some(path) = path else { continue };
        let text = match format {
            Format::Json => report::json::render(outcome),
            Format::Junit => report::junit::render(outcome)?,
            Format::Markdown => report::markdown::render(outcome),
            Format::Html => report::html::render(outcome),
        };
        report::write_to(path, &text)?;
        stdout_taken |= path == Path::new("-");
    }
    Ok(stdout_taken)
}

enum Format {
    Json,
    Junit,
    Markdown,
    Html,
}

/// A progress bar on standard error, only when it is a terminal and not turned off.
fn progress_bar(args: &OutputArgs, rules: usize) -> Option<indicatif::ProgressBar> {
    if args.quiet || args.no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(rules as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} rules  {elapsed}  {wide_msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// Colour when asked, or by default when standard output is a terminal and NO_COLOR is unset.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The width to fit tables to, when standard output is a terminal.
fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // comfy-table asks the terminal itself; COLUMNS is the fallback.
    comfy_table::Table::new()
        .width()
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
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
