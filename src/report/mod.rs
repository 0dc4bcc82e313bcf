//! Outcomes rendered for people and machines (terminal, JSON, JUnit, Markdown, HTML). Reads result types only; never runs a query.

pub mod column_stats;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod parquet;
pub mod sample_value;
pub mod terminal;

use std::io::Write;
use std::path::Path;

use crate::kernel::error::{Error, Result};

/// Writes `text` to `path`, or to standard output when `path` is `-`.
pub fn write_to(path: &Path, text: &str) -> Result<()> {
    if path == Path::new("-") {
        return write_stdout(text);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::Io(format!(
                "cannot create folder `{}`: {}",
                parent.display(),
                crate::filesystem::io_reason(&e)
            ))
        })?;
    }
    std::fs::write(path, text).map_err(|e| {
        Error::Io(format!(
            "cannot write `{}`: {}",
            path.display(),
            crate::filesystem::io_reason(&e)
        ))
    })
}

/// Writes to standard output. A reader that closed the pipe (`crosscheck run | head -1`)
/// stops the printing, not the run: the exit code must still be the verdict, and the report
/// files still get written, so a broken pipe is not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io(format!(
            "cannot write to standard output: {}",
            crate::filesystem::io_reason(&e)
        ))),
        _ => Ok(()),
    }
}

/// `12ms`, `1.24s`, `2m 03s`.
pub fn format_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}
