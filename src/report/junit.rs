//! The JUnit XML report: one testsuite per rule file, one testcase per rule; a failed rule
//! has a failure, an errored one an error, a warned one passes and says so in system-out.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::sample_value::sample_value;
use crate::engine::outcome::{RuleOutcome, RunOutcome, Status};
use crate::kernel::error::{Error, Result};

pub fn render(run: &RunOutcome) -> Result<String> {
    let mut report = Report::new("crosscheck");
    report
        .set_timestamp(run.started_at.fixed_offset())
        .set_time(run.duration);
    let mut by_file: BTreeMap<&str, Vec<&RuleOutcome>> = BTreeMap::new();
    for r in &run.rules {
        by_file.entry(r.file.as_str()).or_default().push(r);
    }
    for (file, rules) in by_file {
        let mut suite = TestSuite::new(file);
        suite.add_test_cases(rules.into_iter().map(test_case));
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .map_err(|e| Error::Internal(format!("cannot write the JUnit report: {e}")))
}

fn test_case(r: &RuleOutcome) -> TestCase {
    let status = match r.status {
        Status::Pass | Status::Warn => TestCaseStatus::success(),
        Status::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.message.as_str())
                .set_type(r.type_name)
                .set_description(format!("{}\n{}", r.message, sample_text(r)));
            s
        }
        Status::Error => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(r.message.as_str()).set_type("error");
            s
        }
    };
    let mut case = TestCase::new(r.name.as_str(), status);
    case.set_classname(format!("crosscheck.{}", r.type_name))
        .set_time(r.duration);
    if r.status == Status::Warn {
        case.set_system_out(format!(
            "WARN (severity: warn): {}\n{}",
            r.message,
            sample_text(r)
        ));
    }
    case
}

/// The counts and the sample as plain text: a header line, then one line per row.
fn sample_text(r: &RuleOutcome) -> String {
    let mut out = format!(
        "violations: {} (allowed {})\n",
        r.violations, r.max_violations
    );
    if !r.sample.is_empty() {
        out.push_str(&r.sample.columns.join(" | "));
        out.push('\n');
        for row in &r.sample.rows {
            out.push_str(&row.iter().map(sample_value).collect::<Vec<_>>().join(" | "));
            out.push('\n');
        }
    }
    if let Some(diff) = &r.diff {
        let (rows, others) = super::column_stats::rows(diff);
        if !rows.is_empty() {
            out.push_str("per column: ");
            out.push_str(&super::column_stats::HEADER.join(" | "));
            out.push('\n');
            for row in &rows {
                out.push_str(&row.join(" | "));
                out.push('\n');
            }
        }
        if let Some(line) = super::column_stats::others_line(others, !rows.is_empty()) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
