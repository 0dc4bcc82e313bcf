//! What a data file looked like when its table was opened, so that a scan can tell when the
//! file vanished or changed under the run. Without this check a deleted file reads as an empty
//! table and `expect`, `unique` or `not_null` pass on "0 of 0 rows": a false PASS.

use super::error::{SourceError, SourceResult};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use datafusion::error::DataFusionError;

use crate::filesystem::display_path;

/// A file's size and modification time at open time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    pub path: PathBuf,
    pub size: u64,
    pub modified: Option<SystemTime>,
}

impl FileStamp {
    /// Stamps `path` as it is now.
    pub fn take(path: &Path) -> SourceResult<FileStamp> {
        let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
            what: format!("cannot read `{}`", display_path(path)),
            source,
        })?;
        Ok(FileStamp {
            path: path.to_path_buf(),
            size: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// An error unless the file still has the size and modification time it had at open time.
    pub fn verify(&self) -> Result<(), DataFusionError> {
        match std::fs::metadata(&self.path) {
            Err(_) => Err(self.vanished()),
            Ok(meta) if meta.len() != self.size || meta.modified().ok() != self.modified => {
                Err(self.changed())
            }
            Ok(_) => Ok(()),
        }
    }

    pub fn vanished(&self) -> DataFusionError {
        DataFusionError::Execution(format!(
            "`{}` vanished during the run: it existed when its table was opened and can no \
             longer be read",
            display_path(&self.path)
        ))
    }

    pub fn changed(&self) -> DataFusionError {
        DataFusionError::Execution(format!(
            "`{}` changed during the run: its size or modification time differ from when its \
             table was opened",
            display_path(&self.path)
        ))
    }
}

/// Stamps every file in `files`, or says which one could not be read.
pub fn stamp_all(files: &[PathBuf]) -> SourceResult<Vec<FileStamp>> {
    files.iter().map(|p| FileStamp::take(p)).collect()
}

/// The first file that vanished or changed, as an error.
pub fn verify_all(stamps: &[FileStamp]) -> Result<(), DataFusionError> {
    stamps.iter().try_for_each(FileStamp::verify)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_or_rewritten_file_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "a\n1\n").expect("write");
        let stamp = FileStamp::take(&path).expect("stamp");
        assert!(stamp.verify().is_ok());
        std::fs::write(&path, "a\n1\n2\n").expect("rewrite");
        let changed = stamp.verify().expect_err("changed").to_string();
        assert!(
            changed.contains("t.csv` changed during the run"),
            "{changed}"
        );
        std::fs::remove_file(&path).expect("delete");
        let vanished = stamp.verify().expect_err("vanished").to_string();
        assert!(
            vanished.contains("t.csv` vanished during the run"),
            "{vanished}"
        );
    }
}
