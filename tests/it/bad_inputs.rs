//! Every project under tests/fixtures/bad_inputs has one defect: crosscheck exits with the
//! code its `case.json` names and prints every substring it lists, and never panics.

use crate::support::{crosscheck, fixture};

#[test]
fn each_defect_gets_a_clear_message() {
    let root = fixture("bad_inputs");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .expect("bad_inputs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "only {} cases", cases.len());
    let mut problems = Vec::new();
    for dir in &cases {
        let case: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("case.json")).expect("case.json"),
        )
        .expect("JSON");
        let out = crosscheck(dir, &["run"]);
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let text = if case["stream"] == "stdout" {
            &out.stdout
        } else {
            &out.stderr
        };
        if i64::from(out.code) != case["exit_code"].as_i64().unwrap_or(2) {
            problems.push(format!("{name}: exit code {}", out.code));
        }
        if out.stderr.contains("panicked") {
            problems.push(format!("{name}: panicked"));
        }
        for needle in case["must_contain"]
            .as_array()
            .expect("must_contain")
            .iter()
            .filter_map(|n| n.as_str())
        {
            if !text.contains(needle) {
                problems.push(format!("{name}: no `{needle}` in:\n{text}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
