//! Running the built binary the way a user does, and reading what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root (where the bundled example lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `crosscheck ARGS` in `dir` with a clean environment for colour and width.
pub fn crosscheck(dir: &Path, args: &[&str]) -> Output {
    crosscheck_with_env(dir, args, &[])
}

/// `crosscheck ARGS` with extra environment variables (a database URL for `${VAR}`).
pub fn crosscheck_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    // CROSSCHECK_BIN runs the suite against another build (e.g. an older one, to show what a
    // test would have caught).
    let binary = std::env::var("CROSSCHECK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_crosscheck").to_string());
    let output = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .envs(env.iter().copied())
        .output()
        .expect("the crosscheck binary runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `run --json - -q` and the parsed report.
pub fn run_json(dir: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["run", "--json", "-", "-q"];
    args.extend_from_slice(extra);
    let out = crosscheck(dir, &args);
    let report = out.json();
    (out, report)
}

/// `run --json - -q` of a project whose rules find violations (exit 1), and the report.
pub fn run_failing(dir: &Path, extra: &[&str]) -> Value {
    let (out, report) = run_json(dir, extra);
    assert_eq!(out.code, 1, "{}", out.stderr);
    report
}

/// The rule named `name` in a JSON report.
pub fn rule<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no rule `{name}` in the report"))
}

/// Writes a small project into a temporary folder: `files` maps relative paths to contents.
/// The port of a local server that accepts every connection and keeps it open without a word.
pub fn mute_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, contents) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent folder"))
            .expect("folders are created");
        std::fs::write(path, contents).expect("the file is written");
    }
    dir
}

/// Asserts every rule of `expected` (`{"rules": {NAME: {status, violations}}}`) against a report.
pub fn assert_verdicts(report: &Value, expected: &Value) {
    let expected_rules = expected["rules"].as_object().expect("expected rules");
    let mut problems = Vec::new();
    for (name, want) in expected_rules {
        let got = rule(report, name);
        if got["status"] != want["status"] || got["violations"] != want["violations"] {
            problems.push(format!(
                "{name}: expected {} with {} violations, got {} with {} ({})",
                want["status"],
                want["violations"],
                got["status"],
                got["violations"],
                got["message"]
            ));
        }
    }
    let reported = report["rules"].as_array().map(Vec::len).unwrap_or(0);
    if reported != expected_rules.len() {
        problems.push(format!(
            "{} rules reported, {} expected",
            reported,
            expected_rules.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "verdicts differ:\n{}",
        problems.join("\n")
    );
}

/// A runtime for the async setup some tests do themselves (loading data, reading files).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A JSON file of the repository or a fixture.
pub fn json_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The verdicts the bundled example's generator computed.
pub fn bundled_expected() -> Value {
    json_file(&root().join("examples/learning-platform/expected.json"))
}

/// The report files `run_all_formats` writes.
pub const REPORTS: [&str; 3] = ["out.json", "out.xml", "out.md"];

/// `run` with the JSON, JUnit and Markdown reports written to files: the output and each
/// report's text, by file name.
pub fn run_all_formats(dir: &Path, env: &[(&str, &str)]) -> (Output, Vec<(&'static str, String)>) {
    let out = crosscheck_with_env(
        dir,
        &[
            "run",
            "--json",
            REPORTS[0],
            "--junit",
            REPORTS[1],
            "--markdown",
            REPORTS[2],
        ],
        env,
    );
    let reports = REPORTS
        .iter()
        .map(|report| {
            let text = std::fs::read_to_string(dir.join(report))
                .unwrap_or_else(|e| panic!("{report}: {e}\n{}", out.stderr));
            (*report, text)
        })
        .collect();
    (out, reports)
}
