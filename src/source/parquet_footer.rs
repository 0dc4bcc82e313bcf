//! A Parquet file's frame checked before the parquet reader sees it: a footer whose length
//! points outside the file makes the reader panic (an overflow in its footer decoder), so a
//! truncated export would crash crosscheck instead of naming the broken file.

use super::error::{SourceError, SourceResult};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::filesystem::display_path;

const MAGIC: &[u8; 4] = b"PAR1";
/// The leading magic, the footer length and the trailing magic.
const FRAME: u64 = 4 + 4 + 4;

/// Checks every `.parquet` file of a table (one file, or a folder of them).
pub fn check_table(path: &Path) -> SourceResult<()> {
    if !path.is_dir() {
        return check_file(path);
    }
    let mut first_error = None;
    crate::filesystem::walk_files(path, &mut |file| {
        let is_parquet = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        if is_parquet && first_error.is_none() {
            first_error = check_file(file).err();
        }
    });
    first_error.map_or(Ok(()), Err)
}

/// The file starts and ends with `PAR1` and its footer length fits inside it.
pub fn check_file(path: &Path) -> SourceResult<()> {
    let broken = |why: String| {
        SourceError::Invalid(format!(
            "`{}` is not a valid Parquet file: {why}",
            display_path(path)
        ))
    };
    let io = |e: std::io::Error| broken(crate::filesystem::io_reason(&e));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len < FRAME {
        return Err(broken(format!("{len} bytes, too short for a Parquet file")));
    }
    let mut head = [0u8; 4];
    file.read_exact(&mut head).map_err(io)?;
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    if &head != MAGIC || &tail[4..] != MAGIC {
        return Err(broken(
            "no `PAR1` marker at its start and end (truncated?)".into(),
        ));
    }
    let footer = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer + FRAME > len {
        return Err(broken(format!(
            "its footer claims {footer} bytes but the file has {len} (truncated?)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_file;

    #[test]
    fn frames_that_do_not_fit_are_refused() {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("x.parquet");
        let case = |bytes: &[u8]| {
            std::fs::write(&path, bytes).expect("written");
            check_file(&path)
        };
        assert!(case(b"PAR1").unwrap_err().to_string().contains("too short"));
        assert!(case(b"PAR1xxxx\x04\0\0\0PAR1").is_ok());
        assert!(
            case(b"PAR1xxxx\xff\0\0\0PAR1")
                .unwrap_err()
                .to_string()
                .contains("footer claims 255")
        );
        assert!(
            case(b"PAR1xxxx\x04\0\0\0PAR2")
                .unwrap_err()
                .to_string()
                .contains("marker")
        );
    }
}
