//! `tree:` sources: a folder as the table `files` — one row per file with its path, name,
//! extension, size, mode, modification time, SHA-256 and (for `.json`) whether it parses.
//! Files are hashed in parallel while they stream (a JSON file is validated in the same
//! pass), never read into memory whole. Symlinks are listed, never followed; a file that
//! cannot be read is listed with the reason.

use super::error::{SourceError, SourceResult};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use sha2::{Digest, Sha256};

use crate::filesystem::display_path;

/// The table a tree source holds.
pub const TABLE: &str = "files";

/// One entry of the tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileRow {
    pub path: String,
    pub name: String,
    pub extension: String,
    pub size: i64,
    pub mode: String,
    pub modified: Option<i64>,
    pub sha256: Option<String>,
    pub json_valid: Option<bool>,
    /// `file`, `symlink`, or for special files `fifo`, `socket`, `char_device`, `block_device`.
    pub kind: &'static str,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("extension", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
        Field::new("mode", DataType::Utf8, false),
        Field::new(
            "modified",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        // NULL when the content was not read (a symlink, a special or unreadable file):
        // unknown, so a diff never finds two of them equal.
        Field::new("sha256", DataType::Utf8, true).with_metadata(
            [(
                crate::kernel::values::NULL_IS_UNKNOWN.to_string(),
                "true".to_string(),
            )]
            .into(),
        ),
        Field::new("json_valid", DataType::Boolean, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
    ]))
}

/// Lists and hashes the tree under `root` (blocking: run it off the async runtime).
pub fn scan(root: &Path) -> SourceResult<Vec<FileRow>> {
    if !root.is_dir() {
        return Err(SourceError::Invalid(format!(
            "`{}` is not a folder",
            display_path(root)
        )));
    }
    let mut entries = Vec::new();
    walk(root, root, &mut entries)?;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(entries.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Vec<std::sync::Mutex<Option<FileRow>>> = entries
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, relative)) = entries.get(i) else {
                        break;
                    };
                    let row = describe(path, relative);
                    if let Ok(mut slot) = done[i].lock() {
                        *slot = Some(row);
                    }
                }
            });
        }
    });
    Ok(done
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect())
}

/// Every entry below `dir` (files and symlinks), sorted, with its `/`-separated relative path.
fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> SourceResult<()> {
    let read = std::fs::read_dir(dir).map_err(|source| SourceError::Io {
        what: format!("cannot read folder `{}`", display_path(dir)),
        source,
    })?;
    let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((path, relative));
        }
    }
    Ok(())
}

fn describe(path: &Path, relative: &str) -> FileRow {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut row = FileRow {
        path: relative.to_string(),
        name,
        extension,
        kind: "file",
        ..Default::default()
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            row.error = Some(crate::filesystem::io_reason(&e));
            return row;
        }
    };
    row.size = meta.len() as i64;
    row.mode = mode_text(&meta);
    row.modified = meta.modified().ok().and_then(|t| {
        chrono::DateTime::<chrono::Utc>::from(t)
            .timestamp_micros()
            .into()
    });
    if meta.file_type().is_symlink() {
        // Never followed: a link can point out of the tree.
        row.kind = "symlink";
        return row;
    }
    if let Some(kind) = special_kind(&meta.file_type()) {
        // Opening a FIFO blocks until a writer comes, a device can stream for ever: listed,
        // never opened.
        row.kind = kind;
        row.error = Some(format!("not a regular file (a {kind}): not read"));
        return row;
    }
    match hash(path, row.extension == "json") {
        Ok((digest, json_valid)) => {
            row.sha256 = Some(digest);
            row.json_valid = json_valid;
        }
        Err(e) => row.error = Some(e),
    }
    row
}

/// The kind of a file that is neither a regular file nor a symlink, if it is one.
#[cfg(unix)]
fn special_kind(file_type: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        Some("fifo")
    } else if file_type.is_socket() {
        Some("socket")
    } else if file_type.is_char_device() {
        Some("char_device")
    } else if file_type.is_block_device() {
        Some("block_device")
    } else {
        None
    }
}

#[cfg(not(unix))]
fn special_kind(file_type: &std::fs::FileType) -> Option<&'static str> {
    (!file_type.is_file()).then_some("special")
}

#[cfg(unix)]
fn mode_text(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::PermissionsExt;
    format!("{:o}", meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_text(meta: &std::fs::Metadata) -> String {
    if meta.permissions().readonly() {
        "444".into()
    } else {
        "644".into()
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The SHA-256 of the file, and for JSON whether it parses — one streaming pass.
fn hash(path: &Path, json: bool) -> Result<(String, Option<bool>), String> {
    let file = std::fs::File::open(path).map_err(|e| crate::filesystem::io_reason(&e))?;
    let mut reader = Hashing {
        inner: BufReader::with_capacity(256 * 1024, file),
        hasher: Sha256::new(),
    };
    let json_valid = if json {
        let mut de = serde_json::Deserializer::from_reader(&mut reader);
        let valid = serde::de::IgnoredAny::deserialize_json(&mut de).is_ok() && de.end().is_ok();
        Some(valid)
    } else {
        None
    };
    // Whatever the JSON parser did not consume is hashed too.
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(|e| crate::filesystem::io_reason(&e))?;
    let digest = reader.hasher.finalize();
    Ok((
        digest.iter().map(|b| format!("{b:02x}")).collect(),
        json_valid,
    ))
}

trait DeserializeJson {
    fn deserialize_json<R: serde_json::de::Read<'static>>(
        de: &mut serde_json::Deserializer<R>,
    ) -> Result<(), serde_json::Error>;
}

impl DeserializeJson for serde::de::IgnoredAny {
    fn deserialize_json<R: serde_json::de::Read<'static>>(
        de: &mut serde_json::Deserializer<R>,
    ) -> Result<(), serde_json::Error> {
        serde::Deserialize::deserialize(de).map(|_: serde::de::IgnoredAny| ())
    }
}

/// The rows as the `files` table.
pub fn table(rows: &[FileRow]) -> SourceResult<Arc<dyn TableProvider>> {
    let text = |f: &dyn Fn(&FileRow) -> Option<String>| {
        Arc::new(rows.iter().map(f).collect::<StringArray>()) as ArrayRef
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|r| Some(r.path.clone())),
        text(&|r| Some(r.name.clone())),
        text(&|r| Some(r.extension.clone())),
        Arc::new(rows.iter().map(|r| r.size).collect::<Int64Array>()),
        text(&|r| Some(r.mode.clone())),
        Arc::new(
            rows.iter()
                .map(|r| r.modified)
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        text(&|r| r.sha256.clone()),
        Arc::new(rows.iter().map(|r| r.json_valid).collect::<BooleanArray>()),
        text(&|r| Some(r.kind.to_string())),
        text(&|r| r.error.clone()),
    ];
    let batch = RecordBatch::try_new(schema(), columns)?;
    let table = MemTable::try_new(schema(), vec![vec![batch]])?;
    Ok(Arc::new(table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hashes_and_validates_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("config")).unwrap();
        std::fs::write(root.join("a.PNG"), b"png").unwrap();
        std::fs::write(root.join("config/ok.json"), br#"{"a": [1, 2]}"#).unwrap();
        std::fs::write(root.join("config/bad.json"), br#"{"a": "#).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
        let rows = scan(root).unwrap();
        let get = |p: &str| rows.iter().find(|r| r.path == p).unwrap().clone();
        let png = get("a.PNG");
        assert_eq!(
            (png.extension.as_str(), png.size, png.json_valid),
            ("png", 3, None)
        );
        assert_eq!(png.sha256.as_ref().map(String::len), Some(64));
        assert_eq!(get("config/ok.json").json_valid, Some(true));
        assert_eq!(get("config/bad.json").json_valid, Some(false));
        #[cfg(unix)]
        {
            let link = get("link");
            assert_eq!((link.kind, link.sha256.clone()), ("symlink", None));
        }
        let ok = get("config/ok.json");
        let expected: String = Sha256::digest(br#"{"a": [1, 2]}"#)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            ok.sha256,
            Some(expected),
            "the whole file is hashed even though JSON was parsed from the same stream"
        );
    }
}
