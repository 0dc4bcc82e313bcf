//! `crosscheck init [DIR]`: a starter project that runs as created — two small exports,
//! commented rules, a query file, and the JSON Schema so editors complete and check files.

use std::path::PathBuf;

use super::exit;
use crate::kernel::error::{Error, Result};

const CONFIG: &str = r#"# yaml-language-server: $schema=.crosscheck/schema.json
# crosscheck project file. Each source is a set of tables that rules name as SOURCE.TABLE.
sources:
  staging:
    files: data/staging            # every .csv/.parquet/.json/.ndjson here is a table (users.csv -> staging.users)
    csv: { delimiter: ",", header: true, null: "" }
  prod:
    files: data/prod
    # A database instead:  postgres: ${PROD_DATABASE_URL}   (${VAR:-default} works anywhere here)

defaults:
  severity: error                  # error | warn
  sample: 10                       # offending rows kept per rule

# Values of these columns never appear in any output (shown as sha256:xxxxxxxx).
sensitive: ["*.email"]
"#;

const RULES: &str = r#"# yaml-language-server: $schema=../.crosscheck/schema.json
# Rules: `crosscheck run` runs every file under rules/; `crosscheck explain NAME` shows how one runs.
rules:
  - name: users_reached_prod
    description: Every staging user exists in prod.
    type: row_count_match          # counts per group (or in total) must match
    source: staging.users
    target: prod.users

  - name: users_have_email
    type: not_null
    table: prod.users
    columns: [email]

  - name: emails_unique
    type: unique
    table: prod.users
    columns: [email]

  - name: plans_known
    type: accepted_values
    table: prod.users
    column: plan
    values: [free, pro]

  - name: users_identical
    type: diff                     # row by row, column by column
    source: staging.users
    target: prod.users
    key: [id]
    normalize: { trim: true }

  - name: no_future_signups
    type: sql                      # every row the query returns is a violation
    query: future_signups.sql
    severity: warn
"#;

const QUERY: &str = "-- Users who signed up in the future: clock or time zone trouble in the migration.\n\
SELECT id, signed_up_at FROM prod.users WHERE CAST(signed_up_at AS TIMESTAMP) > now()\n";

const USERS: &str = "id,email,plan,signed_up_at\n1,ada@example.com,pro,2025-01-05T10:00:00Z\n2,ben@example.com,free,2025-02-11T08:30:00Z\n3,cy@example.com,free,2025-03-20T17:45:00Z\n";

pub fn init(dir: Option<PathBuf>) -> Result<u8> {
    let dir = dir.unwrap_or_else(|| PathBuf::from("."));
    let schema =
        serde_json::to_string_pretty(&crate::config::schema::schema()).unwrap_or_default() + "\n";
    let files: Vec<(&str, &str)> = vec![
        ("crosscheck.yaml", CONFIG),
        ("rules/example.yaml", RULES),
        ("queries/future_signups.sql", QUERY),
        ("data/staging/users.csv", USERS),
        ("data/prod/users.csv", USERS),
        (".crosscheck/schema.json", &schema),
    ];
    let existing: Vec<&str> = files
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| dir.join(p).exists())
        .collect();
    if !existing.is_empty() {
        return Err(Error::Usage(format!(
            "`{}` already has {}; init never overwrites files",
            crate::filesystem::display_path(&dir),
            existing.join(", ")
        )));
    }
    for (path, text) in &files {
        crate::report::write_to(&dir.join(path), text)?;
    }
    let shown = crate::filesystem::display_path(&dir);
    let cd = if shown.is_empty() || shown == "." {
        String::new()
    } else {
        format!("cd {shown} && ")
    };
    let mut text = format!(
        "created a crosscheck project in `{}`:\n",
        if shown.is_empty() { "." } else { &shown }
    );
    for (path, _) in &files {
        text.push_str(&format!("  {path}\n"));
    }
    text.push_str(&format!(
        "next: {cd}crosscheck validate --connect && crosscheck run\n"
    ));
    crate::report::write_stdout(&text)?;
    Ok(exit::PASS)
}
