//! A rule suite written independently of the engine, with counts worked out by hand
//! (tests/fixtures/edge_suite/README.md says why each count is what it is).

use crate::support::{assert_verdicts, fixture, run_json};

#[test]
fn independent_suite_gives_the_contracted_verdicts() {
    let dir = fixture("edge_suite");
    let expected: serde_json::Value = crate::support::json_file(&dir.join("expected.json"));
    let (out, report) = run_json(&dir, &[]);
    assert_verdicts(&report, &expected);
    assert_eq!(
        i64::from(out.code),
        expected["exit_code"].as_i64().expect("exit_code"),
        "{}",
        out.stderr
    );
}
