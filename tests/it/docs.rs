//! Every runnable example of docs/rules.md runs against the bundled data without error.

use crate::support::{crosscheck, root};

/// The ```yaml blocks of the reference that are whole rule files, each with the project it
/// runs in: the bundled one, or the one an `<!-- project: PATH -->` line just above names.
fn examples() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("docs/rules.md")).expect("docs/rules.md");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut project = "crosscheck.yaml".to_string();
    let mut previous = "";
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => {
                project = previous
                    .trim()
                    .strip_prefix("<!-- project: ")
                    .and_then(|p| p.strip_suffix(" -->"))
                    .unwrap_or("crosscheck.yaml")
                    .to_string();
                current = Some(String::new());
            }
            (Some(block), "```") => {
                if block.trim_start().starts_with("rules:") {
                    out.push((std::mem::take(block), project.clone()));
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
        previous = line;
    }
    out
}

#[test]
fn every_reference_example_runs() {
    let examples = examples();
    assert!(
        examples.len() >= 12,
        "only {} runnable examples",
        examples.len()
    );
    let dir = tempfile::tempdir().expect("a folder");
    let mut problems = Vec::new();
    for (i, (example, project)) in examples.iter().enumerate() {
        let file = dir.path().join(format!("example{i}.yaml"));
        std::fs::write(&file, example).expect("written");
        let path = file.to_string_lossy().to_string();
        let validate = crosscheck(&root(), &["validate", "-c", project, "--connect", &path]);
        if validate.code != 0 {
            problems.push(format!(
                "example {i} does not validate:\n{example}\n{}",
                validate.stderr
            ));
            continue;
        }
        let run = crosscheck(&root(), &["run", "-c", project, &path, "-q", "--json", "-"]);
        let report = run.json();
        for rule in report["rules"].as_array().expect("rules") {
            if rule["status"] == "error" {
                problems.push(format!(
                    "example {i}: rule {} errors: {}",
                    rule["name"], rule["error"]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
