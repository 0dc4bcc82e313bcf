//! The command line: arguments parsed as typed (clap), then resolved into what to run.
//! Each subcommand returns its exit code; errors are rendered once, in `main`.

mod checkpoint;
mod diff;
mod explain;
mod init;
mod interrupt;
mod list;
mod run;
mod select;
mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::kernel::error::{Error, Result};

/// Exit codes (CONTRACT §4), decided here and nowhere else.
pub mod exit {
    /// Every selected rule passed.
    pub const PASS: u8 = 0;
    /// At least one rule failed (or warned, with `--fail-on warn`).
    pub const FAIL: u8 = 1;
    /// Nothing can be vouched for: invalid input, an unusable source, a rule that could not run.
    pub const ERROR: u8 = 2;
}

#[derive(Parser, Debug)]
#[command(
    name = "crosscheck",
    version,
    about = "Tells whether a data migration can be trusted: rules and diffs over PostgreSQL and file exports."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run rules (all under rules/, or the files and folders given).
    Run(RunArgs),
    /// Check crosscheck.yaml and every rule file.
    Validate(ValidateArgs),
    /// One line per rule: name, type, tables, severity, tags.
    List(ProjectArgs),
    /// The queries a rule runs and where each runs (which database, or in-process).
    Explain(ExplainArgs),
    /// Compare two tables row by row and column by column.
    Diff(DiffArgs),
    /// Fingerprint every table of some sources (keys, row hashes, counts, profiles; no
    /// values) into a folder, to compare against later as a `checkpoint:` source.
    Checkpoint(CheckpointArgs),
    /// A starter crosscheck.yaml, rules/ and queries/ that run as created.
    Init {
        /// The folder to create the project in (default: the current one).
        dir: Option<PathBuf>,
    },
    /// The JSON Schema of crosscheck.yaml and rule files, for editors.
    Schema,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The rule's name.
    pub rule: String,
    /// Project file.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        default_value = "crosscheck.yaml"
    )]
    pub config: std::path::PathBuf,
    /// Replace a source: a postgres:// URL or a folder path.
    #[arg(long = "source", value_name = "NAME=LOCATION", value_parser = parse_source_override)]
    pub source: Vec<(String, String)>,
    #[arg(skip)]
    pub project: ProjectArgs,
}

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The sources to fingerprint (names in the project file).
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<String>,
    /// The folder to write (created if missing; a checkpoint in it is replaced).
    #[arg(long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Project file.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        default_value = "crosscheck.yaml"
    )]
    pub config: PathBuf,
    /// Replace a source: a postgres:// URL or a folder path.
    #[arg(long = "source", value_name = "NAME=LOCATION", value_parser = parse_source_override)]
    pub source: Vec<(String, String)>,
    /// A table's key columns, where the database declares no primary key (files) or
    /// another is wanted: `users=id`, `enrolments=user_id,course_id`; `'*=id'` keys every
    /// other table that has an `id` column and no primary key. Repeatable.
    #[arg(long = "key", value_name = "TABLE=COLUMNS", value_parser = parse_key)]
    pub key: Vec<(String, String)>,
}

fn parse_wait(text: &str) -> std::result::Result<std::time::Duration, String> {
    crate::config::fields::parse_duration(text)
        .ok_or_else(|| "expected a duration such as 30s, 5m or 1h".into())
}

fn parse_key(text: &str) -> std::result::Result<(String, String), String> {
    split_pair(text).ok_or_else(|| "expected TABLE=COLUMNS, e.g. users=id".into())
}

#[derive(Args, Debug, Clone, Default)]
pub struct ProjectArgs {
    /// Project file.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        default_value = "crosscheck.yaml"
    )]
    pub config: PathBuf,
    /// Rule files or folders (default: every rule file under rules/).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Rule name glob or tag:WORD; repeatable.
    #[arg(short = 's', long = "select", value_name = "PATTERN")]
    pub select: Vec<String>,
    /// Rule name glob or tag:WORD to leave out; repeatable.
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Replace a source for this run: a postgres:// URL or a folder path.
    #[arg(long = "source", value_name = "NAME=LOCATION", value_parser = parse_source_override)]
    pub source: Vec<(String, String)>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How a run reports and decides its exit code (shared by `run` and `diff`).
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// What sets exit code 1.
    #[arg(long = "fail-on", value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Offending rows kept per rule.
    #[arg(long = "sample", value_name = "N")]
    pub sample: Option<usize>,
    /// Queries run at once (default: number of cores).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// After a diff finds differences, wait DURATION (`30s`, `5m`) and read only those keys
    /// again on both sides: the ones that agree then are in flight (replication lag), not
    /// failures.
    #[arg(long = "recheck", value_name = "DURATION", value_parser = parse_wait)]
    pub recheck: Option<std::time::Duration>,
    /// No terminal table (and no progress bar).
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// No progress bar on standard error.
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// Colour the terminal table (NO_COLOR is honoured by `auto`).
    #[arg(long = "color", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Report files; `-` writes to standard output. Any combination in one run.
#[derive(Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// Write the JSON report to FILE.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the JUnit XML report to FILE.
    #[arg(long = "junit", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the Markdown report to FILE.
    #[arg(long = "markdown", value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the HTML report (one self-contained page) to FILE.
    #[arg(long = "html", value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `crosscheck diff LEFT RIGHT`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// SOURCE.TABLE from crosscheck.yaml, a .csv/.parquet/.ndjson file, or postgres://…#[schema.]table.
    pub left: String,
    /// The same forms as LEFT.
    pub right: String,
    /// Key column(s), comma-separated (required, except against a checkpoint, which knows its key).
    #[arg(long = "key", value_name = "COL[,COL]", value_delimiter = ',')]
    pub key: Vec<String>,
    /// Non-key columns to compare (default: all shared).
    #[arg(long = "columns", value_name = "COL[,COL]", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Non-key columns not to compare.
    #[arg(long = "exclude", value_name = "COL[,COL]", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// A column renamed by the migration: TARGET_COLUMN=SOURCE_COLUMN; repeatable.
    #[arg(long = "rename", value_name = "TARGET=SOURCE", value_parser = parse_pair)]
    pub rename: Vec<(String, String)>,
    /// Tolerance: COL=0.01 or COL=0.1% for numbers, COL=1s for timestamps (`*` for every such
    /// column); repeatable.
    #[arg(long = "tolerance", value_name = "COL=V", value_parser = parse_pair)]
    pub tolerance: Vec<(String, String)>,
    /// Compare text after trimming, case-insensitively, with '' as NULL (comma-separated).
    #[arg(
        long = "normalize",
        value_name = "trim,case_insensitive,empty_as_null",
        value_delimiter = ','
    )]
    pub normalize: Vec<String>,
    /// The zone naive timestamps are read in when compared with instants.
    #[arg(long = "timezone", value_name = "ZONE")]
    pub timezone: Option<String>,
    /// SQL predicate limiting the rows of both sides.
    #[arg(long = "where", value_name = "SQL")]
    pub where_: Option<String>,
    /// How rows are compared: auto, join or checksum.
    #[arg(
        long = "algorithm",
        default_value = "auto",
        value_parser = clap::builder::PossibleValuesParser::new(
            crate::config::Algorithm::ALL.map(crate::config::Algorithm::as_str)
        )
    )]
    pub algorithm: String,
    /// Write every difference (key, kind, column, source, target) to a Parquet file.
    #[arg(long = "output-diff", value_name = "FILE.parquet")]
    pub output_diff: Option<PathBuf>,
    /// Project file, for SOURCE.TABLE names (optional for files and URLs).
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        default_value = "crosscheck.yaml"
    )]
    pub config: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `NAME=VALUE`, both parts non-empty.
fn split_pair(text: &str) -> Option<(String, String)> {
    let (a, b) = text.split_once('=')?;
    (!a.is_empty() && !b.is_empty()).then(|| (a.to_string(), b.to_string()))
}

fn parse_pair(text: &str) -> std::result::Result<(String, String), String> {
    split_pair(text).ok_or_else(|| "expected NAME=VALUE".into())
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Also check that every table and column exists in its source and that every rule plans.
    #[arg(long = "connect")]
    pub connect: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warn,
    Never,
}

fn parse_source_override(text: &str) -> std::result::Result<(String, String), String> {
    split_pair(text).ok_or_else(|| {
        "expected NAME=LOCATION, e.g. prod=postgres://app@db/prod or prod=exports/2025-10-19".into()
    })
}

/// Runs the parsed command line; returns the exit code.
pub fn main_with(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Run(args) => block_on(run::run(args)),
        Command::Validate(args) => block_on(validate::validate(args)),
        Command::List(args) => list::list(args),
        Command::Diff(args) => block_on(diff::diff(args)),
        Command::Checkpoint(args) => block_on(checkpoint::checkpoint(args)),
        Command::Init { dir } => init::init(dir),
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&crate::config::schema::schema())
                .map_err(|e| Error::Internal(e.to_string()))?;
            crate::report::write_to(std::path::Path::new("-"), &format!("{schema}\n"))?;
            Ok(exit::PASS)
        }
        Command::Explain(mut args) => {
            args.project = ProjectArgs {
                config: args.config.clone(),
                paths: vec![],
            };
            block_on(explain::explain(args))
        }
    }
}

/// Runs an async command on a runtime of its own; Ctrl-C and SIGTERM interrupt it.
fn block_on(command: impl std::future::Future<Output = Result<u8>>) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(interrupt::interruptible(command));
    // Dropping a runtime waits for its blocking threads (a tree scan, a file read) without
    // limit; an interrupted command must not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Loads the project named by the arguments.
fn load_project(
    project: &ProjectArgs,
    overrides: &[(String, String)],
) -> Result<crate::config::Project> {
    let options = crate::config::LoadOptions {
        config: project.config.clone(),
        rule_paths: project.paths.clone(),
        source_overrides: overrides.to_vec(),
        skip_rules: false,
    };
    crate::config::load(&options).map_err(Error::from)
}
