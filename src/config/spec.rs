//! What the user wrote, resolved into typed specs that still carry their positions.

use std::path::PathBuf;
use std::time::Duration;

use super::location::{Loc, Located};

/// A table named in a rule: `SOURCE.TABLE` or `SOURCE.SCHEMA.TABLE`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableName {
    pub source: String,
    pub schema: Option<String>,
    pub table: String,
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{}.{}.{}", self.source, schema, self.table),
            None => write!(f, "{}.{}", self.source, self.table),
        }
    }
}

pub type TableRef = Located<TableName>;

/// `SOURCE.TABLE(COL[, COL])`.
#[derive(Clone, Debug)]
pub struct KeyRef {
    pub table: TableRef,
    pub columns: Vec<Located<String>>,
}

/// A table or a whole source (for `schema_match`).
#[derive(Clone, Debug)]
pub enum TableOrSource {
    Table(TableRef),
    Source(Located<String>),
}

/// An integer, or a percentage of a base (rows checked, or the source count).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CountOrPercent {
    Count(u64),
    Percent(f64),
}

impl CountOrPercent {
    /// The allowance for `base`: a count as is, a percentage of `base` rounded down.
    pub fn allowance(self, base: u64) -> u64 {
        match self {
            CountOrPercent::Count(n) => n,
            // Rounded down: "1%" of 150 rows allows 1, never 2.
            CountOrPercent::Percent(p) => ((p / 100.0) * base as f64 + 1e-9).floor() as u64,
        }
    }
}

impl std::fmt::Display for CountOrPercent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CountOrPercent::Count(n) => write!(f, "{n}"),
            CountOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
        }
    }
}

/// A scalar from a `values:` list.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
}

/// SQL text written by the user, with where it was written (a rule field or a query file).
#[derive(Clone, Debug)]
pub struct SqlText {
    pub text: String,
    pub loc: Loc,
    /// The `queries/` file it came from, if any.
    pub file: Option<PathBuf>,
}

impl SqlText {
    /// Where line `line`, column `column` of the text (1-based, in characters) was written
    /// in the rule file (or in its `queries/` file), marking `len` characters. `None` when
    /// the text is not there as written: a scalar folded or escaped on its way into the
    /// text. Each line of the text is looked for in turn on the file's next lines (a block
    /// scalar's lines follow its `|`; an inline value sits on the key's line).
    pub fn loc_at(&self, line: usize, column: usize, len: usize) -> Option<Loc> {
        if line == 0 || column == 0 {
            return None;
        }
        if let Some(path) = &self.file {
            // The text is the whole query file.
            self.text.lines().nth(line - 1)?;
            let file = super::location::SourceFile {
                display: crate::filesystem::display_path(path),
                path: path.clone(),
                text: self.text.clone(),
            };
            return Some(Loc {
                file: std::sync::Arc::new(file),
                line,
                column,
                len: len.max(1),
            });
        }
        let file: Vec<&str> = self.loc.file.text.lines().collect();
        let text: Vec<&str> = self.text.lines().collect();
        let mut next = self.loc.line.checked_sub(1)?;
        for (i, wanted) in text.iter().enumerate().take(line) {
            let wanted = wanted.trim_end();
            // A line of the text is at most two lines further (a block scalar's `|` line).
            let (at_line, at_byte) = (next..(next + 3).min(file.len())).find_map(|j| {
                // On the value's own line, only what follows its start.
                let from = if j + 1 == self.loc.line {
                    byte_at(file[j], self.loc.column.saturating_sub(1))?
                } else {
                    0
                };
                let found = file[j].get(from..)?.find(wanted)?;
                Some((j, from + found))
            })?;
            if i + 1 == line {
                let before = file[at_line][..at_byte].chars().count();
                if column > wanted.chars().count() + 1 {
                    return None;
                }
                return Some(Loc {
                    file: self.loc.file.clone(),
                    line: at_line + 1,
                    column: before + column,
                    len: len.max(1),
                });
            }
            next = at_line + 1;
        }
        None
    }
}

/// The byte offset of character `index` of `line` (its end when `index` is its length).
fn byte_at(line: &str, index: usize) -> Option<usize> {
    line.char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(line.len()))
        .nth(index)
}

/// How close two numbers must be to count as equal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// `|source - target| <= x`.
    Absolute(f64),
    /// `|source - target| <= x × |source|` (x as a fraction: "0.1%" is 0.001).
    Relative(f64),
    /// Two instants at most this far apart (`1s`, `500ms`).
    Duration(std::time::Duration),
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tolerance::Absolute(x) => write!(f, "{x}"),
            Tolerance::Relative(x) => write!(f, "{}%", x * 100.0),
            Tolerance::Duration(d) => write!(f, "{}s", d.as_secs_f64()),
        }
    }
}

/// Which differences are representation, not meaning.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Normalize {
    pub trim: bool,
    pub case_insensitive: bool,
    pub empty_as_null: bool,
    /// The zone naive timestamps are read in when compared with instants (default UTC).
    pub timezone: Option<chrono_tz::Tz>,
}

impl Normalize {
    /// The on/off options, named alike in a rule's `normalize:` and in `--normalize`.
    pub const FLAGS: [&'static str; 3] = ["trim", "case_insensitive", "empty_as_null"];

    /// The on/off option called `name`, if there is one.
    pub fn flag_mut(&mut self, name: &str) -> Option<&mut bool> {
        match name {
            "trim" => Some(&mut self.trim),
            "case_insensitive" => Some(&mut self.case_insensitive),
            "empty_as_null" => Some(&mut self.empty_as_null),
            _ => None,
        }
    }
}

/// How a diff reads the two sides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// `checksum` when both sides are PostgreSQL tables and nothing needs a tolerance, else `join`.
    #[default]
    Auto,
    /// Both sides streamed in key order and merged.
    Join,
    /// Key ranges hashed inside each database; only ranges that differ are read.
    Checksum,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Auto, Algorithm::Join, Algorithm::Checksum];

    /// The algorithm a rule file or `--algorithm` names.
    pub fn named(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Auto => "auto",
            Algorithm::Join => "join",
            Algorithm::Checksum => "checksum",
        }
    }
}

/// The options of a row-level comparison (`diff`, `query_match`, `crosscheck diff`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiffOptions {
    /// Key columns, by their source names.
    pub key: Vec<String>,
    /// Non-key columns to compare (source names); `None` is every shared column.
    pub columns: Option<Vec<String>>,
    pub exclude: Vec<String>,
    /// `(target column, source column)` pairs.
    pub rename: Vec<(String, String)>,
    /// `(column, tolerance)`; the column `*` applies to every numeric column.
    pub tolerance: Vec<(String, Tolerance)>,
    pub normalize: Normalize,
    pub algorithm: Algorithm,
}

/// One aggregate of a `metric` rule and its bounds (at least one is set).
#[derive(Clone, Debug)]
pub struct Metric {
    /// A SQL aggregate expression: `avg(score)`, `count(DISTINCT user_id)`.
    pub expr: SqlText,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The part of a rule that depends on its type: its fields as read (by its module under
/// `rule_types/`).
#[derive(Clone, Debug)]
pub enum RuleKind {
    RowCount {
        table: TableRef,
        min: Option<i64>,
        max: Option<i64>,
    },
    RowCountMatch {
        source: TableRef,
        target: TableRef,
        group_by: Vec<Located<String>>,
        tolerance: CountOrPercent,
    },
    NotNull {
        table: TableRef,
        columns: Vec<Located<String>>,
    },
    Unique {
        table: TableRef,
        columns: Vec<Located<String>>,
    },
    AcceptedValues {
        table: TableRef,
        column: Located<String>,
        values: Vec<Scalar>,
    },
    Expect {
        table: TableRef,
        condition: SqlText,
    },
    Metric {
        table: TableRef,
        metrics: Vec<Metric>,
        group_by: Vec<Located<String>>,
    },
    ProfileMatch {
        source: TableRef,
        target: TableRef,
        /// The columns profiled (source names); empty is every column both sides share.
        columns: Vec<Located<String>>,
        exclude: Vec<String>,
        group_by: Vec<Located<String>>,
        /// `(column, tolerance)` for its value statistics; `*` applies to every column.
        tolerance: Vec<(String, Tolerance)>,
        /// The statistics compared (names of [`PROFILE_STATISTICS`]); empty is all.
        statistics: Vec<String>,
    },
    RequiredKeys {
        table: TableRef,
        keys: Vec<String>,
        /// `key` and `value`, located at the table, for the check that they exist.
        columns: Vec<Located<String>>,
    },
    ForeignKey {
        child: KeyRef,
        parent: KeyRef,
    },
    Sql {
        query: SqlText,
        on: Option<String>,
        /// A query returning the number a percentage `max_violations` is of.
        out_of: Option<SqlText>,
    },
    Diff {
        source: TableRef,
        target: TableRef,
        options: DiffOptions,
    },
    QueryMatch {
        query: SqlText,
        source: Located<String>,
        target: Located<String>,
        options: DiffOptions,
    },
    SchemaMatch {
        source: TableOrSource,
        target: TableOrSource,
        /// Accepted differences: globs over the object (`users.legacy_*`, `audit_log`).
        ignore: Vec<String>,
    },
    Freshness {
        table: TableRef,
        column: Located<String>,
        max_age: Duration,
        max_age_text: String,
    },
}

/// One rule as written, resolved and checked against the rule language.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    pub name: Located<String>,
    /// The canonical type name (aliases resolved).
    pub type_name: &'static str,
    pub kind: RuleKind,
    pub description: Option<String>,
    pub severity: Severity,
    pub tags: Vec<String>,
    /// `where` / `source_where`: the predicate for the (first or only) side.
    pub source_where: Option<SqlText>,
    /// `where` / `target_where`: the predicate for the second side of a two-table rule.
    pub target_where: Option<SqlText>,
    pub max_violations: CountOrPercent,
    pub sample: usize,
    /// The rule file, as shown to the user.
    pub file: String,
    /// Where the rule starts.
    pub loc: Loc,
}

/// CSV reading options of a `files` source.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub header: bool,
    /// The text that stands for NULL (default: the empty field).
    pub null: String,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            header: true,
            null: String::new(),
        }
    }
}

/// Where a source's data lives.
#[derive(Clone, Debug)]
pub enum SourceKind {
    Postgres {
        url: String,
        schema: String,
        statement_timeout: Duration,
        /// Connections opened to the database at most (besides the one holding the snapshot).
        max_connections: usize,
    },
    Files {
        dir: PathBuf,
        csv: CsvOptions,
    },
    Tree {
        dir: PathBuf,
    },
    /// A folder `crosscheck checkpoint` wrote: keys and row hashes, no values.
    Checkpoint {
        dir: PathBuf,
    },
    /// A MySQL or MariaDB database.
    Mysql {
        url: String,
        statement_timeout: Duration,
        max_connections: usize,
    },
    /// A SQLite database file, read-only.
    Sqlite {
        path: PathBuf,
    },
    /// Configuration files (a file, a folder or a glob) as one table of settings; the
    /// values of keys matching `secret_keys` are masked.
    Config {
        location: PathBuf,
        secret_keys: Vec<String>,
    },
    /// The variables of the running process whose names match `pattern`, as that table.
    Environment {
        pattern: String,
        secret_keys: Vec<String>,
    },
}

/// The statistics a `profile_match` can compare, as its `statistics:` names them.
pub const PROFILE_STATISTICS: [&str; 11] = [
    "nulls",
    "distinct",
    "trues",
    "min",
    "max",
    "sum",
    "mean",
    "min_length",
    "max_length",
    "earliest",
    "latest",
];

/// Key globs whose values a `config` source masks unless `secret_keys:` says otherwise.
pub const DEFAULT_SECRET_KEYS: [&str; 6] = [
    "*password*",
    "*secret*",
    "*token*",
    "*api_key*",
    "*private_key*",
    "*credential*",
];

/// A `mysql://` or `mariadb://` URL.
pub fn is_mysql_url(text: &str) -> bool {
    text.starts_with("mysql://") || text.starts_with("mariadb://")
}

/// `sqlite:PATH`, the location of a SQLite file where a URL or a path could stand.
pub fn sqlite_path(text: &str) -> Option<&str> {
    text.strip_prefix("sqlite://")
        .or_else(|| text.strip_prefix("sqlite:"))
}

/// A PostgreSQL source's `statement_timeout` unless it says otherwise.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(600);
/// Connections per PostgreSQL source unless `max_connections` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4;

/// A `postgres://` or `postgresql://` URL.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

impl SourceKind {
    /// A PostgreSQL source at `url` with the default limits.
    pub fn postgres(url: &str, schema: &str) -> SourceKind {
        SourceKind::Postgres {
            url: url.to_string(),
            schema: schema.to_string(),
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self {
            SourceKind::Postgres { .. } => "postgres",
            SourceKind::Files { .. } => "files",
            SourceKind::Tree { .. } => "tree",
            SourceKind::Checkpoint { .. } => "checkpoint",
            SourceKind::Sqlite { .. } => "sqlite",
            SourceKind::Mysql { .. } => "mysql",
            SourceKind::Config { .. } => "config",
            SourceKind::Environment { .. } => "environment",
        }
    }
}

#[derive(Clone, Debug)]
pub struct SourceSpec {
    pub name: String,
    pub kind: SourceKind,
    pub loc: Option<Loc>,
}

#[derive(Clone, Debug)]
pub struct Defaults {
    pub severity: Severity,
    pub sample: usize,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            severity: Severity::Error,
            sample: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentage_allowance_rounds_down() {
        assert_eq!(CountOrPercent::Percent(1.0).allowance(150), 1);
        assert_eq!(CountOrPercent::Percent(0.5).allowance(1000), 5);
        assert_eq!(CountOrPercent::Percent(10.0).allowance(30), 3);
        assert_eq!(CountOrPercent::Count(3).allowance(0), 3);
        assert_eq!(CountOrPercent::Percent(50.0).allowance(0), 0);
    }

    fn sql_in(yaml: &str, text: &str, line: usize, column: usize) -> super::SqlText {
        let file = std::sync::Arc::new(super::super::location::SourceFile {
            display: "r.yaml".into(),
            path: std::path::PathBuf::new(),
            text: yaml.into(),
        });
        super::SqlText {
            text: text.into(),
            loc: Loc {
                file,
                line,
                column,
                len: 1,
            },
            file: None,
        }
    }

    #[test]
    fn sql_positions_map_into_the_file_or_nowhere_and_never_panic() {
        let at = |t: &super::SqlText, l, c| t.loc_at(l, c, 2).map(|loc| (loc.line, loc.column));
        // Multi-byte characters before the place, CRLF line ends, a block scalar.
        let block = sql_in(
            "q:\r\n  sql: |\r\n    select 'é', ñame\r\n    from t\r\n",
            "select 'é', ñame\nfrom t\n",
            2,
            8,
        );
        assert_eq!(at(&block, 1, 13), Some((3, 17)));
        assert_eq!(at(&block, 2, 6), Some((4, 10)));
        // Past the end of a line or of the text, line or column 0: nowhere.
        assert_eq!(at(&block, 1, 40), None);
        assert_eq!(at(&block, 3, 1), None);
        assert_eq!(at(&block, 0, 1), None);
        assert_eq!(at(&block, 1, 0), None);
        // An escaped scalar is not in the file as written.
        let escaped = sql_in("sql: \"a = '\\t'\"\n", "a = '\t'", 1, 6);
        assert_eq!(at(&escaped, 1, 5), None);
        // A value whose place says column 0, and an empty text.
        assert_eq!(at(&sql_in("sql: x\n", "x", 1, 0), 1, 1), Some((1, 6)));
        assert_eq!(at(&sql_in("sql: ''\n", "", 1, 6), 1, 1), None);
    }
}
