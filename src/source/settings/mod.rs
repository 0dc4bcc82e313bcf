//! A `config` source: configuration files (`.env`, JSON, YAML, TOML, INI and `.properties`)
//! of a file, a folder or a glob, or the process's environment, as one table `entries` with
//! a row per leaf setting. A file that cannot be read or parsed is one row with `error` set,
//! never the end of the run. Values of secret keys are masked here, before the table exists:
//! no output, sample or error message can show them, and equal secrets still compare equal.

mod dotenv;
mod ini;
mod structured;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;

use super::error::{SourceError, SourceResult};
use crate::kernel::mask::{glob, mask_text};

/// The one table of a config source.
pub const TABLE: &str = "entries";

/// Files larger than this are one error row, not read.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One leaf setting, or a file that could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub file: String,
    pub key: Option<String>,
    pub value: Option<String>,
    /// `string`, `number`, `bool`, `null`, `list` or `object`: the type as written.
    pub kind: Option<&'static str>,
    pub line: Option<u64>,
    pub error: Option<String>,
}

impl Entry {
    fn setting(key: String, value: Option<String>, kind: &'static str, line: Option<u64>) -> Self {
        Entry {
            key: Some(key),
            value,
            kind: Some(kind),
            line,
            ..Default::default()
        }
    }

    fn broken(line: Option<u64>, reason: String) -> Self {
        Entry {
            line,
            error: Some(reason),
            ..Default::default()
        }
    }
}

/// The formats a file can be read in, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Dotenv,
    Json,
    Yaml,
    Toml,
    Ini,
}

fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name == ".env" || name.starts_with(".env.") || name.ends_with(".env") {
        return Some(Format::Dotenv);
    }
    match name.rsplit_once('.')?.1 {
        "json" => Some(Format::Json),
        "yaml" | "yml" => Some(Format::Yaml),
        "toml" => Some(Format::Toml),
        "ini" | "properties" | "cfg" | "conf" => Some(Format::Ini),
        _ => None,
    }
}

/// The entries of the files at `location`: one file, every config file under a folder, or
/// the files a glob (`config/*.yaml`) matches; `secret_keys` are globs over keys.
pub fn scan(location: &Path, secret_keys: &[String]) -> SourceResult<Vec<Entry>> {
    let files = list(location)?;
    let secrets = Secrets::new(secret_keys);
    let mut out = Vec::new();
    for (path, shown) in files {
        let mut entries = read_file(&path);
        for e in &mut entries {
            e.file = shown.clone();
            secrets.mask(e);
        }
        out.extend(entries);
    }
    Ok(out)
}

/// The variables of the running process whose names match `pattern` (`*` for all).
pub fn environment(pattern: &str, secret_keys: &[String]) -> Vec<Entry> {
    let secrets = Secrets::new(secret_keys);
    let pattern = pattern.to_lowercase();
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| glob(&pattern, &k.to_lowercase()))
        .collect();
    vars.sort();
    vars.into_iter()
        .map(|(k, v)| {
            let mut e = Entry::setting(k, Some(v), "string", None);
            e.file = "(environment)".into();
            secrets.mask(&mut e);
            e
        })
        .collect()
}

/// `(path, name shown in the table)` of every file to read, sorted.
fn list(location: &Path) -> SourceResult<Vec<(PathBuf, String)>> {
    let text = location.to_string_lossy();
    if text.contains(['*', '?']) {
        // The folder before the first wildcard is walked; the rest is matched.
        let mut base = PathBuf::new();
        for part in location.components() {
            if part.as_os_str().to_string_lossy().contains(['*', '?']) {
                break;
            }
            base.push(part);
        }
        let pattern = text.replace('\\', "/").to_lowercase();
        let mut out: Vec<(PathBuf, String)> = walk(&base)?
            .into_iter()
            .filter(|p| {
                glob(
                    &pattern,
                    &p.to_string_lossy().replace('\\', "/").to_lowercase(),
                )
            })
            .map(|p| {
                let shown = relative(&p, &base);
                (p, shown)
            })
            .collect();
        out.sort();
        if out.is_empty() {
            return Err(SourceError::Invalid(format!(
                "no file matches `{}`",
                location.display()
            )));
        }
        return Ok(out);
    }
    if location.is_dir() {
        let mut out: Vec<(PathBuf, String)> = walk(location)?
            .into_iter()
            .filter(|p| format_of(p).is_some())
            .map(|p| {
                let shown = relative(&p, location);
                (p, shown)
            })
            .collect();
        out.sort();
        return Ok(out);
    }
    if location.exists() {
        let shown = location
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| text.into_owned());
        return Ok(vec![(location.to_path_buf(), shown)]);
    }
    Err(SourceError::Invalid(format!(
        "no file or folder `{}`",
        location.display()
    )))
}

fn walk(dir: &Path) -> SourceResult<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(SourceError::Invalid(format!(
            "no folder `{}`",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    // `.env` files are hidden by their name; other hidden files and folders (`.git`) are not
    // configuration.
    let is_env = |name: &str| name == ".env" || name.starts_with(".env.");
    crate::filesystem::walk_files_keeping(dir, &is_env, &mut |p| out.push(p.to_path_buf()));
    Ok(out)
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn read_file(path: &Path) -> Vec<Entry> {
    let Some(format) = format_of(path) else {
        return vec![Entry::broken(
            None,
            "not a configuration file crosscheck reads (.env, .json, .yaml, .yml, .toml, .ini, .properties, .cfg, .conf)".into(),
        )];
    };
    // A fifo or a device would block the read or never end: listed, never opened.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return vec![Entry::broken(None, crate::filesystem::io_reason(&e))],
    };
    if !meta.is_file() {
        return vec![Entry::broken(
            None,
            "not a regular file (a fifo, a socket or a device): not opened".into(),
        )];
    }
    let size = meta.len();
    if size > MAX_FILE_BYTES {
        return vec![Entry::broken(
            None,
            format!("the file is {size} bytes, more than the {MAX_FILE_BYTES} read"),
        )];
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => return vec![Entry::broken(None, "the file is not UTF-8 text".into())],
        },
        Err(e) => {
            return vec![Entry::broken(None, crate::filesystem::io_reason(&e))];
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match format {
        Format::Dotenv => dotenv::parse(text),
        Format::Ini => ini::parse(text),
        Format::Json => structured::json(text),
        Format::Yaml => structured::yaml(path, text),
        Format::Toml => structured::toml(text),
    }
}

/// Key globs whose values are secrets.
struct Secrets(Vec<String>);

impl Secrets {
    fn new(patterns: &[String]) -> Self {
        Secrets(patterns.iter().map(|p| p.to_lowercase()).collect())
    }

    fn is_secret(&self, key: &str) -> bool {
        let key = key.to_lowercase();
        let last = key.rsplit('.').next().unwrap_or(&key).to_string();
        self.0.iter().any(|p| glob(p, &key) || glob(p, &last))
    }

    /// An empty secret stays empty, so "is it set" can still be checked.
    fn mask(&self, e: &mut Entry) {
        if let (Some(key), Some(value)) = (&e.key, &mut e.value)
            && !value.is_empty()
            && self.is_secret(key)
        {
            *value = mask_text(value);
        }
    }
}

/// The entries as the source's table.
pub fn table(entries: &[Entry]) -> SourceResult<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, true),
        Field::new("value", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("line", DataType::UInt64, true),
        Field::new("error", DataType::Utf8, true),
    ]));
    let text = |f: &dyn Fn(&Entry) -> Option<&str>| -> ArrayRef {
        Arc::new(entries.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|e| Some(e.file.as_str())),
        text(&|e| e.key.as_deref()),
        text(&|e| e.value.as_deref()),
        text(&|e| e.kind),
        Arc::new(entries.iter().map(|e| e.line).collect::<UInt64Array>()),
        text(&|e| e.error.as_deref()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    MemTable::try_new(schema, vec![vec![batch]])
        .map(Arc::new)
        .map_err(SourceError::DataFusion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_masked_and_empty_ones_stay_empty() {
        let secrets = Secrets::new(&crate::config::spec::DEFAULT_SECRET_KEYS.map(String::from));
        let mut e = Entry::setting(
            "database.PASSWORD".into(),
            Some("hunter2".into()),
            "string",
            None,
        );
        secrets.mask(&mut e);
        assert_eq!(e.value.as_deref(), Some(mask_text("hunter2").as_str()));
        let mut empty = Entry::setting("API_KEY".into(), Some(String::new()), "string", None);
        secrets.mask(&mut empty);
        assert_eq!(empty.value.as_deref(), Some(""));
        let mut plain = Entry::setting("port".into(), Some("5432".into()), "number", None);
        secrets.mask(&mut plain);
        assert_eq!(plain.value.as_deref(), Some("5432"));
    }

    #[test]
    fn formats_are_told_by_the_file_name() {
        assert_eq!(format_of(Path::new("a/.env")), Some(Format::Dotenv));
        assert_eq!(
            format_of(Path::new(".env.production")),
            Some(Format::Dotenv)
        );
        assert_eq!(format_of(Path::new("prod.env")), Some(Format::Dotenv));
        assert_eq!(format_of(Path::new("flags.JSON")), Some(Format::Json));
        assert_eq!(format_of(Path::new("app.yml")), Some(Format::Yaml));
        assert_eq!(format_of(Path::new("app.properties")), Some(Format::Ini));
        assert_eq!(format_of(Path::new("README.md")), None);
    }
}
