//! Bounded memory is a promise: a diff of two shuffled files larger than the memory limit
//! finishes by spilling to the temporary folder, with the exact answer; a temporary folder
//! that cannot take the spill is a clear error (exit 2).

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

const ROWS: u64 = 300_000;

/// `ROWS` rows in an order shuffled by `seed`; `change` rewrites or drops (None) a row.
fn shuffled_csv(path: &Path, seed: u64, change: impl Fn(u64, String) -> Option<String>) {
    let mut ids: Vec<u64> = (1..=ROWS).collect();
    let mut state = seed;
    for i in (1..ids.len()).rev() {
        // xorshift64: deterministic, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ids.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut out = String::from("id,name,amount,created_at,status\n");
    for id in ids {
        let row = format!(
            "{id},user_{id:08},{}.{:02},2024-{:02}-{:02},{}",
            id * 37 % 1000,
            id % 100,
            id % 12 + 1,
            id % 28 + 1,
            if id % 3 == 0 { "closed" } else { "active" }
        );
        if let Some(row) = change(id, row) {
            let _ = writeln!(out, "{row}");
        }
    }
    std::fs::write(path, out).expect("CSV written");
}

fn diff(dir: &Path, tmp: &Path) -> std::process::Output {
    let binary = std::env::var("CROSSCHECK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_crosscheck").to_string());
    Command::new(binary)
        .args([
            "diff",
            "s/big.csv",
            "t/big.csv",
            "--key",
            "id",
            "-q",
            "--json",
            "-",
        ])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // The smallest limit crosscheck accepts, far below the ~30 MB of rows per side.
        .env("CROSSCHECK_MEMORY_LIMIT", "16")
        .env("TMPDIR", tmp)
        .output()
        .expect("crosscheck runs")
}

fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for side in ["s", "t", "tmp"] {
        std::fs::create_dir(dir.path().join(side)).expect("folder");
    }
    shuffled_csv(&dir.path().join("s/big.csv"), 7, |_, row| Some(row));
    shuffled_csv(&dir.path().join("t/big.csv"), 11, |id, row| match id {
        5 | 150_000 => None,
        id if id % 50_000 == 1 => Some(row.replace("active", "ACTIVE")),
        _ => Some(row),
    });
    dir
}

#[test]
fn a_diff_larger_than_the_memory_limit_spills_and_finishes() {
    let dir = files();
    let out = diff(dir.path(), &dir.path().join("tmp"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("no JSON: {stdout}\n{stderr}"));
    let rule = &report["rules"][0];
    assert_eq!(out.status.code(), Some(1), "{rule}\n{stderr}");
    let d = &rule["diff"];
    // Of rows 1, 50001, …, 250001 those not divisible by 3 are `active` and change: 1,
    // 100001, 150001 and 250001.
    assert_eq!(
        (
            d["only_in_source"].as_u64(),
            d["only_in_target"].as_u64(),
            d["changed"].as_u64(),
            d["matched"].as_u64()
        ),
        (Some(2), Some(0), Some(4), Some(ROWS - 2)),
        "{rule}"
    );
}

#[test]
fn a_temporary_folder_that_cannot_take_the_spill_is_exit_2() {
    let dir = files();
    // A file where the temporary folder should be: every spill file fails to be created.
    let not_a_folder = dir.path().join("tmp/not-a-folder");
    std::fs::write(&not_a_folder, "x").expect("file written");
    let out = diff(dir.path(), &not_a_folder);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("temporary folder") && all.contains("not-a-folder"),
        "the message says the spill to the temporary folder failed: {all}"
    );
    assert!(!all.contains("panicked"), "{all}");
}

/// Unmounts the tiny file system when the test ends, passed or not.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_that_fills_while_spilling_is_exit_2() {
    let dir = files();
    let tiny = dir.path().join("tmp");
    // A 5 MB file system is the only honest full disk; mounting one needs root (CI runs the
    // tests as root). Elsewhere the unusable-folder test above covers the message.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=5m", "tmpfs"])
        .arg(&tiny)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("not run: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _unmount = Mounted(tiny.clone());
    let out = diff(dir.path(), &tiny);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("the disk is full") && all.contains("os error 28"),
        "{all}"
    );
    assert!(!all.contains("panicked"), "{all}");
}
