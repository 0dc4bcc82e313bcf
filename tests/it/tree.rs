//! `tree` sources: every content check a QA team runs is a rule, and each reports exactly
//! the files it should.

use crate::support::{project, rule, run_json};

#[test]
fn content_rules_report_exactly_the_defective_files() {
    let config = "sources:\n  staging:\n    tree: staging\n  prod:\n    tree: prod\n";
    let rules = r#"rules:
  - name: images_per_extension
    type: row_count_match
    source: staging.files
    target: prod.files
    group_by: [extension]
    where: "path LIKE 'images/%'"
  - name: uploads_are_644
    type: expect
    table: prod.files
    condition: "mode = '644'"
    where: "path LIKE 'uploads/%'"
  - name: configs_parse
    type: expect
    table: prod.files
    condition: json_valid
    where: "extension = 'json'"
  - name: trees_identical
    type: diff
    source: staging.files
    target: prod.files
    key: [path]
    columns: [sha256, size]
"#;
    let mut files: Vec<(String, String)> = Vec::new();
    for side in ["staging", "prod"] {
        for i in 0..5 {
            files.push((format!("{side}/images/p{i}.png"), format!("png {i}")));
        }
        files.push((format!("{side}/images/photo.jpg"), "jpg".into()));
        files.push((format!("{side}/uploads/a.txt"), "a".into()));
        files.push((format!("{side}/uploads/b.txt"), "b".into()));
        files.push((format!("{side}/config/app.json"), r#"{"ok": true}"#.into()));
        files.push((
            format!("{side}/docs/guide.txt"),
            if side == "prod" {
                "corrupted!".into()
            } else {
                "the guide".into()
            },
        ));
    }
    files.retain(|(p, _)| p != "prod/images/photo.jpg");
    files.push(("prod/images/stray.png".into(), "stray".into()));
    files.push(("prod/config/broken.json".into(), r#"{"ok": "#.into()));
    files.push(("staging/config/broken.json".into(), r#"{"ok": 1}"#.into()));
    let mut all: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    all.push(("crosscheck.yaml", config));
    all.push(("rules/content.yaml", rules));
    let dir = project(&all);
    for side in ["staging", "prod"] {
        for f in ["uploads/a.txt", "uploads/b.txt"] {
            set_mode(&dir.path().join(side).join(f), 0o644);
        }
    }
    set_mode(&dir.path().join("prod/uploads/b.txt"), 0o755);
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);

    let images = rule(&report, "images_per_extension");
    assert_eq!(images["violations"], 2, "{images}");
    assert_eq!(
        images["sample"]["rows"],
        serde_json::json!([["jpg", 1, 0], ["png", 5, 6]])
    );

    let uploads = rule(&report, "uploads_are_644");
    assert_eq!(uploads["violations"], 1);
    assert_eq!(uploads["sample"]["rows"][0][0], "uploads/b.txt");

    let configs = rule(&report, "configs_parse");
    assert_eq!(configs["violations"], 1);
    assert_eq!(configs["sample"]["rows"][0][0], "config/broken.json");

    let diff = rule(&report, "trees_identical");
    let d = &diff["diff"];
    assert_eq!(
        (d["only_in_source"].as_u64(), d["only_in_target"].as_u64()),
        (Some(1), Some(1)),
        "{diff}"
    );
    // guide.txt is corrupted; broken.json differs too (its prod copy is the broken one).
    assert_eq!(d["changed"], 2);
    let changed: Vec<&str> = diff["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r[1] == "sha256")
        .filter_map(|r| r[0].as_str())
        .collect();
    assert_eq!(changed, ["config/broken.json", "docs/guide.txt"]);
    let missing: Vec<String> = diff["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r[1] == "(row)")
        .map(|r| format!("{} {}", r[0], r[2]))
        .collect();
    assert_eq!(
        missing,
        [
            "\"images/photo.jpg\" \"present\"",
            "\"images/stray.png\" \"missing\""
        ]
    );
}

fn set_mode(path: &std::path::Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let _ = (path, mode);
}

#[test]
fn a_missing_tree_is_a_source_error() {
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  t:\n    tree: nowhere\n"),
        ("rules/r.yaml", "rules: []\n"),
    ]);
    let out = crate::support::crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("source `t`: `nowhere` is not a folder"),
        "{}",
        out.stderr
    );
}

/// The bundled project's own rule comparing two trees (`assets_match_staging`), run on
/// `staging/` and `prod/` of `dir`.
fn assets_rule_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let config = "sources:\n  staging_assets:\n    tree: staging\n  prod_assets:\n    tree: prod\n";
    let rules = std::fs::read_to_string(crate::support::root().join("rules/content.yaml"))
        .expect("the bundled content rules");
    let mut all = files.to_vec();
    all.push(("crosscheck.yaml", config));
    all.push(("rules/content.yaml", &rules));
    project(&all)
}

/// The paths `assets_match_staging` reports as changed.
fn changed_paths(report: &serde_json::Value) -> Vec<String> {
    let diff = rule(report, "assets_match_staging");
    diff["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r[1] == "sha256")
        .filter_map(|r| r[0].as_str().map(String::from))
        .collect()
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_never_equal_in_the_assets_rule() {
    let dir = assets_rule_project(&[
        ("staging/images/a.png", "a"),
        ("prod/images/a.png", "a"),
        ("staging/images/locked.png", "one content"),
        ("prod/images/locked.png", "another one"),
    ]);
    for side in ["staging", "prod"] {
        set_mode(&dir.path().join(side).join("images/locked.png"), 0o000);
        // A FIFO is never opened: its content is as unknown as an unreadable file's.
        let fifo = dir.path().join(side).join("images/pipe.png");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
    }
    // Root reads a mode-000 file anyway: run without the capabilities that let it (CI runs as
    // root), or as is when not root. Never skipped.
    let binary = std::env::var("CROSSCHECK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_crosscheck").to_string());
    let binary = binary.as_str();
    let mut command = if runs_as_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search",
            binary,
        ]);
        c
    } else {
        std::process::Command::new(binary)
    };
    let out = command
        .args(["run", "--json", "-", "-q", "-s", "assets_match_staging"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("crosscheck runs (setpriv, from util-linux, is needed when running as root)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{report}");
    let diff = rule(&report, "assets_match_staging");
    assert_eq!(diff["violations"], 2, "{diff}");
    assert_eq!(
        changed_paths(&report),
        ["images/locked.png", "images/pipe.png"]
    );
    for side in ["staging", "prod"] {
        set_mode(&dir.path().join(side).join("images/locked.png"), 0o644);
    }
}

/// Whether this process runs as root (read from /proc, no libc call).
fn runs_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
