//! File-system helpers every layer uses: paths as the user sees them, I/O errors without
//! their noise, the files of a folder. A leaf: it imports nothing of crosscheck.

use std::path::{Path, PathBuf};

/// A path as the user should see it: relative to the working directory when under it.
pub fn display_path(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

/// Calls `f` for every file under `dir`, recursively, in sorted order; hidden entries skipped.
pub fn walk_files(dir: &Path, f: &mut dyn FnMut(&Path)) {
    walk_files_keeping(dir, &|_| false, f);
}

/// As [`walk_files`], but hidden files whose name `keep` accepts (`.env`) are visited too;
/// hidden folders are always skipped, and so are links to folders (a link to a parent would
/// list every file again at each level of the loop).
pub fn walk_files_keeping(dir: &Path, keep: &dyn Fn(&str) -> bool, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let is_link = path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        let is_dir = path.is_dir();
        if is_dir && is_link {
            continue;
        }
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') && (is_dir || !keep(n)));
        if hidden {
            continue;
        }
        if is_dir {
            walk_files_keeping(&path, keep, f);
        } else {
            f(&path);
        }
    }
}

/// An I/O error's reason without the "(os error 2)" noise.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            }
        }
    }
}
