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
