//! Checkpoints: a fingerprint of a source taken before a migration, compared later with what
//! holds the data then — on files and on PostgreSQL; every change reported with its key and
//! nothing else, and no value of the table in the checkpoint's files.

use std::path::Path;

use crate::support::{crosscheck, root, rule, run_json};

const USERS: &str = "examples/learning-platform/staging/users.csv";

/// A project with the bundled staging export copied to `live/` and a checkpoint source
/// `before` at `cp/`.
fn files_project(rules: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a folder");
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).expect("live/");
    for table in ["users", "user_achievements"] {
        std::fs::copy(
            root().join(format!("examples/learning-platform/staging/{table}.csv")),
            live.join(format!("{table}.csv")),
        )
        .expect("copied");
    }
    std::fs::write(
        dir.path().join("crosscheck.yaml"),
        "sources:\n  live:\n    files: live\n  before:\n    checkpoint: cp\nsensitive: [users.password_hash, \"*.email\"]\n",
    )
    .expect("project");
    std::fs::create_dir_all(dir.path().join("rules")).expect("rules/");
    std::fs::write(dir.path().join("rules/r.yaml"), rules).expect("rules");
    dir
}

fn take_checkpoint(dir: &Path, extra: &[&str]) {
    let mut args = vec!["checkpoint", "live", "--out", "cp"];
    args.extend_from_slice(extra);
    let out = crosscheck(dir, &args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("bytes per row"), "{}", out.stdout);
}

/// The keys of a diff rule's sample, with the column or `(row)` each differs in.
fn sample_keys(report: &serde_json::Value, name: &str) -> Vec<String> {
    rule(report, name)["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| format!("{} {}", r[0], r[1].as_str().unwrap_or("")))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

const RULES: &str = "rules:
  - name: users_since_checkpoint
    type: diff
    source: before.users
    target: live.users
    key: [id]
    sample: 20
  - name: users_count_since_checkpoint
    type: row_count_match
    source: before.users
    target: live.users
  - name: awards_count_since_checkpoint
    type: row_count_match
    source: before.user_achievements
    target: live.user_achievements
";

#[test]
fn a_checkpoint_of_files_finds_every_change_by_key_and_nothing_else() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    // Unchanged: everything matches the checkpoint.
    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(rule(&report, "users_since_checkpoint")["violations"], 0);

    // The migration: one row changed, one lost, one added, and two names swapped between
    // rows (a swap keeps every column's set of values: a per-column aggregate would miss it).
    let path = dir.path().join("live/users.csv");
    let text = std::fs::read_to_string(&path).expect("users.csv");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let field = |line: &str, i: usize| line.split(',').nth(i).unwrap_or("").to_string();
    let set = |line: &str, i: usize, value: &str| {
        let mut parts: Vec<String> = line.split(',').map(String::from).collect();
        parts[i] = value.to_string();
        parts.join(",")
    };
    lines[5] = set(&lines[5], 6, "suspended"); // id 5
    let (name10, name11) = (field(&lines[10], 2), field(&lines[11], 2));
    lines[10] = set(&lines[10], 2, &name11);
    lines[11] = set(&lines[11], 2, &name10);
    lines.remove(7); // id 7
    lines.push(set(&lines[1], 0, "9999"));
    std::fs::write(&path, lines.join("\n") + "\n").expect("migrated");

    let (out, report) = run_json(dir.path(), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        sample_keys(&report, "users_since_checkpoint"),
        [
            "5 crosscheck_row_hash",
            "7 (row)",
            "10 crosscheck_row_hash",
            "11 crosscheck_row_hash",
            "9999 (row)",
        ]
    );
    // A changed row is shown as it is now, its sensitive columns masked.
    let now = rule(&report, "users_since_checkpoint")["sample"]["rows"][0][3]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        now.contains("\"status\":\"suspended\"")
            && now.contains("\"email\":\"sha256:")
            && !now.contains('@'),
        "{now}"
    );
    let diff = &rule(&report, "users_since_checkpoint")["diff"];
    assert_eq!(
        (
            &diff["only_in_source"],
            &diff["only_in_target"],
            &diff["changed"]
        ),
        (&1.into(), &1.into(), &3.into()),
        "{diff}"
    );
    // One lost and one added: the count alone cannot tell.
    assert_eq!(
        rule(&report, "users_count_since_checkpoint")["status"],
        "pass"
    );
    assert_eq!(
        rule(&report, "awards_count_since_checkpoint")["status"],
        "pass"
    );

    // A day later: a second checkpoint, compared with the first, finds the same keys.
    let out = crosscheck(
        dir.path(),
        &["checkpoint", "live", "--out", "cp2", "--key", "users=id"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(
        dir.path().join("days.yaml"),
        "sources:\n  day1:\n    checkpoint: cp\n  day2:\n    checkpoint: cp2\n",
    )
    .expect("project");
    let out = crosscheck(
        dir.path(),
        &[
            "diff",
            "-c",
            "days.yaml",
            "day1.users",
            "day2.users",
            "--json",
            "-",
            "-q",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let between = out.json();
    let diff = &rule(&between, "diff")["diff"];
    assert_eq!(
        (
            &diff["only_in_source"],
            &diff["only_in_target"],
            &diff["changed"]
        ),
        (&1.into(), &1.into(), &3.into()),
        "{diff}"
    );
}

#[test]
fn a_checkpoint_holds_no_value_of_the_table() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    let mut files = Vec::new();
    walk(&dir.path().join("cp"), &mut files);
    assert!(files.len() >= 3, "{files:?}");
    let contents: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).expect("read")))
        .collect();
    let users = std::fs::read_to_string(root().join(USERS)).expect("users.csv");
    let mut checked = 0;
    for line in users.lines().skip(1) {
        // email, display name, password hash: text values, sensitive or not.
        for value in line.split(',').skip(1).take(3).filter(|v| v.len() >= 6) {
            for (name, bytes) in &contents {
                assert!(
                    !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                    "{name} holds `{value}`"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 4000, "{checked}");
    let manifest = std::fs::read_to_string(dir.path().join("cp/manifest.json")).expect("manifest");
    assert!(!manifest.contains('@'), "{manifest}");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("JSON");
    let users = manifest["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "users")
        .expect("users");
    assert_eq!(users["rows"], 1500);
    assert_eq!(users["key"], serde_json::json!(["id"]));
    assert_eq!(users["profile"]["id"]["max"], 1500);
    assert_eq!(users["profile"]["email"]["nulls"], 0);
    // A sensitive column's statistics are counts only.
    assert!(users["profile"]["email"].get("max_length").is_some());
    let awards = manifest["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "user_achievements")
        .expect("user_achievements");
    assert_eq!(awards["key"], serde_json::json!([]));
}

#[test]
fn rules_that_need_values_and_keyless_diffs_are_refused_clearly() {
    let dir = files_project(
        "rules:
  - name: emails_present
    type: expect
    table: before.users
    condition: email IS NOT NULL
",
    );
    take_checkpoint(dir.path(), &[]);
    let out = crosscheck(dir.path(), &["run"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("`before` is a checkpoint, which holds only keys and row hashes")
            && out.stderr.contains("rules/r.yaml:4"),
        "{}",
        out.stderr
    );
    // Taken without a key for users: matching by key says how to get one.
    let out = crosscheck(
        dir.path(),
        &["diff", "before.users", "live.users", "--key", "id"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("--key users=COLUMNS"), "{}", out.stdout);
    // A checkpoint folder that is not one.
    std::fs::write(
        dir.path().join("other.yaml"),
        "sources:\n  live:\n    files: live\n  before:\n    checkpoint: live\n",
    )
    .expect("project");
    let out = crosscheck(
        dir.path(),
        &["diff", "-c", "other.yaml", "before.users", "live.users"],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("manifest.json") && out.stderr.contains("crosscheck checkpoint"),
        "{}",
        out.stderr
    );
    // A sensitive key is refused: a checkpoint stores its keys.
    let out = crosscheck(
        dir.path(),
        &["checkpoint", "live", "--out", "cp2", "--key", "users=email"],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("is sensitive"), "{}", out.stderr);
}

#[test]
fn a_keyless_table_is_compared_as_a_multiset_of_row_hashes() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &[]);
    let out = crosscheck(
        dir.path(),
        &["diff", "before.user_achievements", "live.user_achievements"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // One award's date changed, one award duplicated: the old row's hash is only in the
    // checkpoint, the new one's only in the table, and the duplicate's count went 1 → 2.
    let path = dir.path().join("live/user_achievements.csv");
    let text = std::fs::read_to_string(&path).expect("awards");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[1] = lines[1].replace("2012", "2013");
    let copy = lines[2].clone();
    lines.push(copy);
    std::fs::write(&path, lines.join("\n") + "\n").expect("changed");
    let out = crosscheck(
        dir.path(),
        &[
            "diff",
            "before.user_achievements",
            "live.user_achievements",
            "--json",
            "-",
            "-q",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let diff = &rule(&report, "diff")["diff"];
    assert_eq!(
        (
            &diff["only_in_source"],
            &diff["only_in_target"],
            &diff["changed"]
        ),
        (&1.into(), &1.into(), &1.into()),
        "{diff}"
    );
}

#[test]
fn a_column_the_table_gained_since_the_checkpoint_is_a_difference_unless_excluded() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    let path = dir.path().join("live/users.csv");
    let text = std::fs::read_to_string(&path).expect("users.csv");
    let widened: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l},{}\n", if i == 0 { "tier" } else { "gold" }))
        .collect();
    std::fs::write(&path, widened).expect("column added");
    let out = crosscheck(dir.path(), &["diff", "before.users", "live.users"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("column `tier` only in target"),
        "{}",
        out.stdout
    );
    let out = crosscheck(
        dir.path(),
        &["diff", "before.users", "live.users", "--exclude", "tier"],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    // A column the checkpoint hashed cannot be left out of the comparison.
    let out = crosscheck(
        dir.path(),
        &["diff", "before.users", "live.users", "--exclude", "status"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("covers every column"), "{}", out.stdout);
}

#[test]
fn a_column_the_checkpoint_hashed_and_the_table_lost_is_named() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    let path = dir.path().join("live/users.csv");
    let text = std::fs::read_to_string(&path).expect("users.csv");
    let dropped: String = text
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string() + "\n")
        .collect();
    std::fs::write(&path, dropped).expect("column dropped");
    let out = crosscheck(dir.path(), &["diff", "before.users", "live.users"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout.contains("has no column `status`"),
        "{}",
        out.stdout
    );
}

/// The keys the PostgreSQL migration below touches, and how each differs.
const MIGRATED_ACCOUNTS: [&str; 8] = [
    "10 crosscheck_row_hash",
    "20 crosscheck_row_hash",
    "30 crosscheck_row_hash",
    "31 crosscheck_row_hash",
    "40 (row)",
    "41 (row)",
    "50 crosscheck_row_hash",
    "5000 (row)",
];

#[test]
fn postgres_checkpoint_after_migration_and_restore_drill() {
    let Some(server) = crate::pg::server() else {
        return;
    };
    let prod = crate::pg::fresh_database(&server, "cc_cp_prod");
    let backup = crate::pg::fresh_database(&server, "cc_cp_backup");
    let schema = "CREATE TABLE accounts (id int PRIMARY KEY, email text, balance numeric(12,2), \
                  opened timestamptz, active boolean);
                  CREATE TABLE events (kind text, at timestamp);";
    let rows = "INSERT INTO accounts SELECT g, 'user' || g || '@example.com', g * 1.5, \
                timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour', g % 2 = 0 \
                FROM generate_series(1, 2000) g;
                INSERT INTO events SELECT 'login', timestamp '2024-01-01' + g * interval '1 minute' \
                FROM generate_series(1, 50) g;";
    crate::pg::execute(&prod, &format!("{schema}{rows}"));
    // The backup of migration day: the same rows.
    crate::pg::execute(&backup, &format!("{schema}{rows}"));
    let dir = crate::support::project(&[
        (
            "crosscheck.yaml",
            "sources:\n  prod:\n    postgres: ${PROD_URL}\n  before:\n    checkpoint: cp\nsensitive: [\"*.email\"]\n",
        ),
        (
            "rules/r.yaml",
            "rules:
  - name: accounts_since_checkpoint
    type: diff
    source: before.accounts
    target: prod.accounts
    key: [id]
    sample: 20
  - name: events_since_checkpoint
    type: row_count_match
    source: before.events
    target: prod.events
  - name: schema_since_checkpoint
    type: schema_match
    source: before
    target: prod
  - name: profile_since_checkpoint
    type: profile_match
    source: before.accounts
    target: prod.accounts
    sample: 50
",
        ),
    ]);
    let env = [("PROD_URL", prod.as_str())];
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--json", "-", "-q"];
        args.extend_from_slice(extra);
        let out = crate::support::crosscheck_with_env(dir.path(), &args, &env);
        let report = out.json();
        (out, report)
    };
    let out = crate::support::crosscheck_with_env(
        dir.path(),
        &["checkpoint", "prod", "--out", "cp"],
        &env,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let manifest = std::fs::read_to_string(dir.path().join("cp/manifest.json")).expect("manifest");
    assert!(manifest.contains("\"kind\": \"postgres\""), "{manifest}");
    assert!(!manifest.contains("@example.com"), "{manifest}");

    // The migration: a column widened (no value changes), rows updated, lost and added, and
    // a bulk update to one value that leaves the balance's sum alone (+1 and -1).
    crate::pg::execute(
        &prod,
        "ALTER TABLE accounts ALTER COLUMN id TYPE bigint;
         UPDATE accounts SET active = NOT active WHERE id IN (10, 20);
         UPDATE accounts SET balance = balance + 1 WHERE id = 30;
         UPDATE accounts SET balance = balance - 1 WHERE id = 31;
         DELETE FROM accounts WHERE id IN (40, 41);
         INSERT INTO accounts VALUES (5000, 'new@example.com', 0, now(), true);
         UPDATE accounts SET email = NULL WHERE id = 50;",
    );
    let (out, report) = run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        sample_keys(&report, "accounts_since_checkpoint"),
        MIGRATED_ACCOUNTS
    );
    assert_eq!(rule(&report, "events_since_checkpoint")["status"], "pass");
    assert!(!out.stdout.contains("@example.com"), "{}", out.stdout);
    // The schema as it was: the one change is the widened key.
    let schema = rule(&report, "schema_since_checkpoint");
    assert_eq!(schema["violations"], 1, "{schema}");
    let shown = schema["sample"].to_string();
    assert!(
        shown.contains("accounts.id") && shown.contains("bigint"),
        "{shown}"
    );
    // The profile as it was, from the manifest: rows, the key, the flags flipped, the new
    // row's opening time; the email's values were never kept, only its counts and lengths.
    let profile = rule(&report, "profile_since_checkpoint");
    let differing: Vec<String> = profile["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r[0].as_str().unwrap_or(""),
                r[1].as_str().unwrap_or("")
            )
        })
        .collect();
    for expected in [
        "* rows",
        "id max",
        "email nulls",
        "opened latest",
        "active trues",
    ] {
        assert!(
            differing.iter().any(|d| d == expected),
            "{expected}: {differing:?}"
        );
    }
    assert!(
        !differing
            .iter()
            .any(|d| d == "email min" || d == "email max"),
        "{differing:?}"
    );

    // The rollback drill: the migration-day backup, restored, equals the checkpoint.
    let (out, report) = run(&["--source", &format!("prod={backup}")]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(rule(&report, "accounts_since_checkpoint")["violations"], 0);

    // A newer checkpoint against the older backup: exactly the rows written in between.
    let out = crate::support::crosscheck_with_env(
        dir.path(),
        &["checkpoint", "prod", "--out", "cp"],
        &env,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (out, report) = run(&["--source", &format!("prod={backup}")]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        sample_keys(&report, "accounts_since_checkpoint"),
        MIGRATED_ACCOUNTS
    );
}

// --- attacks: inputs that would make a checkpoint answer differently from a full comparison ---

/// Rewrites `live/users.csv` with `edit` applied to every data line.
fn edit_users(dir: &Path, edit: impl Fn(&str) -> String) {
    let path = dir.join("live/users.csv");
    let text = std::fs::read_to_string(&path).expect("users.csv");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("a header"));
    for line in lines {
        out.push_str(&edit(line));
        out.push('\n');
    }
    std::fs::write(&path, out).expect("rewritten");
}

fn changed_rows(dir: &Path) -> serde_json::Value {
    let out = crosscheck(
        dir,
        &["diff", "before.users", "live.users", "--json", "-", "-q"],
    );
    assert!(out.code <= 1, "{}", out.stderr);
    rule(&out.json(), "diff")["diff"].clone()
}

#[test]
fn a_bulk_update_to_one_value_is_every_row_it_changed() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    let users = std::fs::read_to_string(root().join(USERS)).expect("users.csv");
    let not_active = users
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with(",active"))
        .count();
    assert!(not_active > 0);
    // Every status set to one value: a per-column count of distinct values could stay the
    // same; each row's hash cannot.
    edit_users(dir.path(), |l| match l.rsplit_once(',') {
        Some((head, _)) => format!("{head},active"),
        None => l.to_string(),
    });
    let diff = changed_rows(dir.path());
    assert_eq!(diff["changed"], not_active as u64, "{diff}");
    assert_eq!(diff["only_in_source"], 0, "{diff}");
}

#[test]
fn null_and_empty_text_and_a_lost_leading_zero_are_changes() {
    let dir = files_project(RULES);
    // Here `NULL` stands for NULL, so an empty field is the empty string.
    std::fs::write(
        dir.path().join("crosscheck.yaml"),
        "sources:\n  live:\n    files: live\n    csv: { null: \"NULL\" }\n  before:\n    checkpoint: cp\nsensitive: [users.password_hash, \"*.email\"]\n",
    )
    .expect("project");
    std::fs::write(
        dir.path().join("live/users.csv"),
        "id,code,note\n1,007,\n2,42,NULL\n3,x,y\n",
    )
    .expect("users");
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    // '' → NULL, NULL → '', and 007 → 7 (an export that lost the leading zeros).
    std::fs::write(
        dir.path().join("live/users.csv"),
        "id,code,note\n1,7,NULL\n2,42,\n3,x,y\n",
    )
    .expect("users");
    let diff = changed_rows(dir.path());
    assert_eq!(diff["changed"], 2, "{diff}");
    let out = crosscheck(
        dir.path(),
        &["diff", "before.users", "live.users", "-q", "--json", "-"],
    );
    let keys: Vec<String> = rule(&out.json(), "diff")["sample"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].to_string())
        .collect();
    assert_eq!(keys, ["1", "2"]);
}

#[test]
fn a_vanished_or_damaged_checkpoint_is_an_error_naming_its_file() {
    let dir = files_project(RULES);
    take_checkpoint(dir.path(), &["--key", "users=id"]);
    let table = dir.path().join("cp/tables/users.parquet");
    let bytes = std::fs::read(&table).expect("the table's file");
    // Gone: never a pass, never a panic.
    std::fs::remove_file(&table).expect("removed");
    let out = crosscheck(dir.path(), &["diff", "before.users", "live.users"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("users.parquet"), "{}", out.stderr);
    // Cut short (a copy that stopped half-way).
    std::fs::write(&table, &bytes[..bytes.len() / 2]).expect("truncated");
    let out = crosscheck(dir.path(), &["diff", "before.users", "live.users"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("users.parquet"), "{}", out.stderr);
    // A manifest that is not JSON, or from another version of the scheme.
    std::fs::write(&table, &bytes).expect("restored");
    let manifest = dir.path().join("cp/manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, &text[..text.len() / 2]).expect("truncated");
    let out = crosscheck(dir.path(), &["diff", "before.users", "live.users"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("is not a checkpoint manifest: line"),
        "{}",
        out.stderr
    );
    std::fs::write(
        &manifest,
        text.replace("crosscheck-row-hash-1", "crosscheck-row-hash-0"),
    )
    .expect("edited");
    let out = crosscheck(dir.path(), &["diff", "before.users", "live.users"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("take the checkpoint again"),
        "{}",
        out.stderr
    );
    // A folder that cannot be written: a file stands where it would go.
    std::fs::write(dir.path().join("blocked"), "a file").expect("a file");
    let out = crosscheck(dir.path(), &["checkpoint", "live", "--out", "blocked"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("blocked"), "{}", out.stderr);
}

#[test]
fn a_checkpoint_of_a_server_that_never_answers_ends_in_exit_2() {
    let port = crate::support::mute_server();
    let dir = crate::support::project(&[(
        "crosscheck.yaml",
        "sources:\n  mute:\n    postgres: ${CC_DB}\n",
    )]);
    let child = crate::faults::binary(dir.path(), &["checkpoint", "mute", "--out", "cp"])
        .env(
            "CC_DB",
            format!("postgres://u:secret@127.0.0.1:{port}/db?connect_timeout=1"),
        )
        .spawn()
        .expect("the binary starts");
    let out = crate::faults::wait_bounded(
        child,
        std::time::Duration::from_secs(20),
        "a checkpoint of a mute server",
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no answer") && !out.stderr.contains("secret"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("cp/manifest.json").exists());
}

/// The profile is counted in-process while the rows are read, and the live side is profiled
/// later, inside PostgreSQL where it can be: floats equal by meaning but not by bits (`-0`
/// and `0`, two NaNs) must count alike on both, an unconstrained numeric (read as its exact
/// text) counts as crosscheck profiles it live, and a table whose distinct values pass the
/// counter's memory budget must count exactly.
#[test]
fn a_profile_counted_while_reading_agrees_with_postgresql() {
    let Some(server) = crate::pg::server() else {
        return;
    };
    let db = crate::pg::fresh_database(&server, "cc_cp_profile");
    crate::pg::execute(
        &db,
        "CREATE TABLE measures (id int PRIMARY KEY, v numeric, f float8, t text, at timestamptz);
         INSERT INTO measures VALUES
           (1, 1.0, 0, 'a', '2024-01-01 00:00:00+00'),
           (2, 1.00, '-0', 'A', '2024-01-01 01:00:00+01'),
           (3, 'NaN', 'NaN', 'a ', NULL),
           (4, -0.0, 'NaN', '', '2024-06-01 12:00:00+00'),
           (5, NULL, NULL, NULL, NULL);
         CREATE TABLE wide AS SELECT g AS id, 'name-' || g AS name, g % 1000 AS grp
           FROM generate_series(1, 1200000) g;",
    );
    let dir = crate::support::project(&[
        (
            "crosscheck.yaml",
            "sources:\n  live:\n    postgres: ${LIVE_URL}\n  before:\n    checkpoint: cp\n",
        ),
        (
            "rules/r.yaml",
            "rules:
  - name: measures_profile
    type: profile_match
    source: before.measures
    target: live.measures
  - name: wide_profile
    type: profile_match
    source: before.wide
    target: live.wide
",
        ),
    ]);
    let env = [("LIVE_URL", db.as_str())];
    let out = crate::support::crosscheck_with_env(
        dir.path(),
        &["checkpoint", "live", "--out", "cp", "--key", "wide=id"],
        &env,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("cp/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let profile = |table: &str, column: &str| {
        manifest["tables"]
            .as_array()
            .expect("tables")
            .iter()
            .find(|t| t["name"] == table)
            .expect("the table")["profile"][column]
            .clone()
    };
    // `1.0`, `1.00`, `NaN`, `0.0` as read; 0 = -0, NaN; four texts; two instants.
    assert_eq!(profile("measures", "v")["distinct"], 4);
    assert_eq!(profile("measures", "f")["distinct"], 2);
    assert_eq!(profile("measures", "t")["distinct"], 4);
    assert_eq!(profile("measures", "at")["distinct"], 2);
    assert_eq!(profile("measures", "id")["distinct"], 5);
    // Past the in-memory budget (2,000,000 keys over all columns): spilled and exact.
    assert_eq!(profile("wide", "id")["distinct"], 1_200_000);
    assert_eq!(profile("wide", "name")["distinct"], 1_200_000);
    assert_eq!(profile("wide", "grp")["distinct"], 1000);
    assert!(
        std::fs::read_dir(dir.path().join("cp"))
            .expect("cp/")
            .all(|e| !e
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .starts_with('.')),
        "spill files left in the checkpoint"
    );
    let out = crate::support::crosscheck_with_env(dir.path(), &["run", "--json", "-", "-q"], &env);
    let report = out.json();
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(rule(&report, "measures_profile")["status"], "pass");
    assert_eq!(rule(&report, "wide_profile")["status"], "pass");
}

/// A table with no rows: the one read yields no batch, so the Parquet file and the profile
/// must still be written, as zeros, and compare equal to the live table.
#[test]
fn an_empty_table_is_checkpointed_as_zeros_and_compares_clean() {
    let dir = files_project(RULES);
    std::fs::write(dir.path().join("live/empty.csv"), "id,name\n").expect("empty.csv");
    take_checkpoint(dir.path(), &["--key", "*=id"]);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("cp/manifest.json")).expect("manifest"),
    )
    .expect("json");
    let empty = manifest["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "empty")
        .expect("the empty table")
        .clone();
    assert_eq!(empty["rows"], 0, "{empty}");
    assert_eq!(empty["profile"]["id"]["nulls"], 0, "{empty}");
    // A header alone gives no type: only NULLs are counted, as for any untyped column.
    assert!(empty["profile"]["id"]["distinct"].is_null(), "{empty}");
    assert!(dir.path().join("cp/tables/empty.parquet").exists());
    let out = crosscheck(dir.path(), &["diff", "before.empty", "live.empty", "-q"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}
