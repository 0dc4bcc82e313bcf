//! `config` and `environment` sources: configuration files of mixed formats as one table of
//! settings, every defect of the example found at its file and key, a broken file a finding,
//! and no secret value in any output.

use crate::support::{crosscheck, crosscheck_with_env, project, root, rule};

/// The secret values of the bundled example's two `.env` files (`examples/learning-platform/config`).
const SECRETS: [&str; 4] = [
    "Kx8-db-pass-2019",
    "3f9a1c5e7b2d",
    "example-live-key-2019",
    "example-test-key-2026",
];

fn violations(report: &serde_json::Value) -> Vec<(String, u64)> {
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_string(),
                r["violations"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[test]
fn the_example_finds_every_defect_at_its_file_and_key_and_shows_no_secret() {
    let out_dir = tempfile::tempdir().expect("a folder");
    let file = |name: &str| out_dir.path().join(name).to_string_lossy().into_owned();
    let (json, junit, markdown, html, parquet) = (
        file("r.json"),
        file("r.xml"),
        file("r.md"),
        file("r.html"),
        file("d.parquet"),
    );
    let out = crosscheck(
        &root(),
        &[
            "run",
            "rules/config.yaml",
            "--sample",
            "10",
            "--json",
            &json,
            "--junit",
            &junit,
            "--markdown",
            &markdown,
            "--html",
            &html,
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Every difference, written by `crosscheck diff --output-diff`.
    let written = crosscheck(
        &root(),
        &[
            "diff",
            "staging_config.entries",
            "prod_config.entries",
            "--key",
            "file,key",
            "--output-diff",
            &parquet,
            "-q",
        ],
    );
    assert_eq!(written.code, 1, "{}", written.stderr);
    let report = crate::support::json_file(std::path::Path::new(&json));
    assert_eq!(
        violations(&report),
        [
            ("prod_has_staging_settings".to_string(), 9),
            ("config_files_parse".to_string(), 1),
            ("no_localhost_in_prod".to_string(), 1),
            ("flags_are_booleans".to_string(), 1),
            ("ports_are_numbers".to_string(), 0),
            ("required_settings".to_string(), 1),
        ]
    );
    let diff = rule(&report, "prod_has_staging_settings");
    let found: Vec<String> = diff["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r[0].as_str().unwrap_or(""),
                r[1].as_str().unwrap_or(""),
                r[2].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ".env SMTP_HOST (row)",
            ".env STRIPE_API_KEY value",
            "app.yaml payments.url value",
            "feature_flags.json dark_mode type",
            "feature_flags.json new_checkout value",
            "limits.toml free.max_upload_mb (row)",
            "limits.toml free.requests_per_minute (row)",
            "limits.toml pro.max_upload_mb (row)",
            "limits.toml pro.requests_per_minute (row)",
        ]
    );
    // The differing secret is shown as two different hashes.
    let stripe = &diff["sample"]["rows"][1];
    assert!(
        stripe[3].as_str().unwrap_or("").starts_with("sha256:")
            && stripe[4].as_str().unwrap_or("").starts_with("sha256:")
            && stripe[3] != stripe[4],
        "{stripe}"
    );
    let broken = &rule(&report, "config_files_parse")["sample"]["rows"][0];
    assert_eq!(
        (&broken[0], &broken[4]),
        (&"limits.toml".into(), &8.into()),
        "{broken}"
    );
    assert_eq!(
        rule(&report, "required_settings")["sample"]["rows"][0],
        serde_json::json!(["SMTP_HOST", "missing"])
    );

    let mut outputs = vec![("terminal".to_string(), out.stdout.into_bytes())];
    for path in [&json, &junit, &markdown, &html, &parquet] {
        outputs.push((path.clone(), std::fs::read(path).expect("written")));
    }
    for (name, bytes) in &outputs {
        let text = String::from_utf8_lossy(bytes);
        for secret in SECRETS {
            assert!(!text.contains(secret), "{name} shows a secret");
        }
    }
}

#[test]
fn mixed_formats_globs_files_and_the_environment_are_settings_too() {
    let dir = project(&[
        (
            "written/app.properties",
            "# by someone else\ndb.url = jdbc:postgresql://db/app\ndb.password: s3cr3t-props\n[cache]\nttl=60\n",
        ),
        (
            "written/settings.ini",
            "[server]\nhost = 0.0.0.0\nport = 8443\n",
        ),
        (
            "written/nested.json",
            "{\"replicas\": [{\"host\": \"a\"}, {\"host\": \"b\", \"tags\": []}], \"auth\": {\"token\": \"tok-123\"}}",
        ),
        // In a folder, only configuration files are read; hidden folders are skipped.
        ("written/notes.txt", "not configuration\n"),
        ("written/.git/config", "[core]\nbare = false\n"),
        (
            "crosscheck.yaml",
            "sources:\n  all:\n    config: written\n  ini:\n    config: \"written/*.ini\"\n  one:\n    config: written/nested.json\n  job:\n    environment: \"CC_TEST_*\"\n",
        ),
        (
            "rules/r.yaml",
            "rules:
  - name: every_row
    type: sql
    sql: SELECT file, key, value, type, line FROM all.entries ORDER BY file, key
    sample: 100
  - name: ini_only
    type: row_count
    table: ini.entries
    min: 2
    max: 2
  - name: one_file
    type: row_count
    table: one.entries
    min: 4
    max: 4
  - name: job_has
    type: required_keys
    table: job.entries
    keys: [CC_TEST_PORT, CC_TEST_TOKEN, CC_TEST_MISSING]
  - name: job_rows
    type: sql
    sql: SELECT key, value FROM job.entries ORDER BY key
    sample: 10
",
        ),
    ]);
    let out = crosscheck_with_env(
        dir.path(),
        &["run", "-q", "--json", "-"],
        &[
            ("CC_TEST_PORT", "8080"),
            ("CC_TEST_TOKEN", "env-secret-value"),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("s3cr3t-props") && !out.stdout.contains("tok-123"));
    assert!(!out.stdout.contains("env-secret-value"));
    let report = out.json();
    let rows: Vec<String> = rule(&report, "every_row")["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let value = match &r[2] {
                serde_json::Value::String(s) if s.starts_with("sha256:") => "sha256".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "{} {} {} {} {}",
                r[0].as_str().unwrap_or(""),
                r[1].as_str().unwrap_or(""),
                value,
                r[3].as_str().unwrap_or(""),
                r[4]
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "app.properties cache.ttl 60 string 5",
            "app.properties db.password sha256 string 3",
            "app.properties db.url jdbc:postgresql://db/app string 2",
            "nested.json auth.token sha256 string 1",
            "nested.json replicas[0].host a string 1",
            "nested.json replicas[1].host b string 1",
            "nested.json replicas[1].tags [] list 1",
            "settings.ini server.host 0.0.0.0 string 2",
            "settings.ini server.port 8443 string 3",
        ]
    );
    assert_eq!(rule(&report, "ini_only")["status"], "pass");
    assert_eq!(rule(&report, "one_file")["status"], "pass");
    let job = rule(&report, "job_has");
    assert_eq!(job["violations"], 1);
    assert_eq!(
        job["sample"]["rows"][0],
        serde_json::json!(["CC_TEST_MISSING", "missing"])
    );
    let env_rows = rule(&report, "job_rows")["sample"]["rows"].to_string();
    assert!(
        env_rows.contains("8080") && env_rows.contains("sha256:"),
        "{env_rows}"
    );
}

/// A fifo named like a config file would block a read forever: it is a row with an error.
/// A link to a parent folder would list every file again at each level.
#[cfg(unix)]
#[test]
fn a_fifo_among_the_files_is_a_finding_and_a_link_loop_is_not_followed() {
    let dir = project(&[
        ("conf/app.yaml", "a: 1\n"),
        ("crosscheck.yaml", "sources:\n  c:\n    config: conf\n"),
        (
            "rules/r.yaml",
            "rules:\n  - {name: parse, type: expect, table: c.entries, condition: error IS NULL}\n",
        ),
    ]);
    let fifo = dir.path().join("conf/stuck.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // A link back to the parent folder is not followed: each file is read once.
    std::os::unix::fs::symlink("..", dir.path().join("conf/up")).expect("a link");
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let parse = rule(&report, "parse");
    assert_eq!(
        (&parse["violations"], &parse["observed"]),
        (&1.into(), &2.into()),
        "{parse}"
    );
    assert!(
        parse["sample"].to_string().contains("not a regular file"),
        "{parse}"
    );
}

#[test]
fn a_missing_config_location_is_an_error_naming_it() {
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  c:\n    config: nowhere\n"),
        (
            "rules/r.yaml",
            "rules:\n  - {name: n, type: row_count, table: c.entries, min: 1}\n",
        ),
    ]);
    let out = crosscheck(dir.path(), &["run", "-q"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("nowhere"), "{}", out.stderr);
    // A glob that matches nothing is a mistake too, not an empty table.
    std::fs::create_dir(dir.path().join("conf")).expect("a folder");
    std::fs::write(
        dir.path().join("crosscheck.yaml"),
        "sources:\n  c:\n    config: \"conf/*.yml\"\n",
    )
    .expect("written");
    let out = crosscheck(dir.path(), &["run", "-q"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no file matches"), "{}", out.stderr);
}

/// Files as other tools write them: Windows line endings, a byte-order mark, a key written
/// twice, an empty value against a JSON null, and a file that vanished after it was listed
/// (a dangling link) — each read as its meaning, the vanished one a row with an error.
#[cfg(unix)]
#[test]
fn files_written_by_other_tools_and_a_vanished_file_are_read_as_they_mean() {
    let dir = project(&[
        ("conf/.env", "EMPTY=\r\nNAME=app\r\n"),
        ("conf/app.ini", "\u{feff}[db]\r\nhost = h\r\n"),
        ("conf/flags.json", "{\"on\": true, \"on\": false, \"gone\": null}"),
        ("crosscheck.yaml", "sources:\n  c:\n    config: conf\n"),
        (
            "rules/r.yaml",
            "rules:
  - name: rows
    type: sql
    sql: SELECT file, key, value, type, error IS NOT NULL AS broken FROM c.entries ORDER BY file, key
    sample: 20
  - name: set
    type: required_keys
    table: c.entries
    keys: [NAME, EMPTY, gone, db.host]
",
        ),
    ]);
    std::os::unix::fs::symlink("vanished.yaml", dir.path().join("conf/moved.yaml"))
        .expect("a link");
    let out = crosscheck(dir.path(), &["run", "-q", "--json", "-"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let rows: Vec<String> = rule(&report, "rows")["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("a row")
                .iter()
                .map(|c| match c {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert_eq!(
        rows,
        [
            ".env|EMPTY||string|false",
            ".env|NAME|app|string|false",
            "app.ini|db.host|h|string|false",
            "flags.json|gone|null|null|false",
            "flags.json|on|false|bool|false",
            "moved.yaml|null|null|null|true",
        ]
    );
    // An empty value and a JSON null are both "not set".
    let set = rule(&report, "set");
    assert_eq!(set["violations"], 2, "{set}");
    assert_eq!(
        set["sample"]["rows"],
        serde_json::json!([["EMPTY", "empty"], ["gone", "empty"]])
    );
}
