//! Faults from outside: a closed pipe, a server that never answers, a signal, a broken
//! connection, a corrupt file, a FIFO, hostile sizes. The exit code stays the verdict, and
//! crosscheck never hangs, leaks a sensitive value or panics.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pg::{execute, fresh_database, server};
use crate::support::{Output, project, root, runtime};

/// Waits for `child` at most `limit`; a child still running then is killed and the test fails,
/// so a hang is a failure rather than a stuck suite.
pub fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Read both pipes beside the wait, so a full pipe cannot block the child.
    let out_reader = std::thread::spawn(move || read_all(stdout.as_mut()));
    let err_reader = std::thread::spawn(move || read_all(stderr.as_mut()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (a hang); killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.signal().is_none(),
        "{what}: killed by signal {:?}",
        status.signal()
    );
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn read_all(pipe: Option<&mut impl Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `run --json - -q -j 1` in `dir` against the database `db` (the project reads `CC_DB`).
fn spawn_run(dir: &Path, db: &str) -> Child {
    binary(dir, &["run", "--json", "-", "-q", "-j", "1"])
        .env("CC_DB", db)
        .spawn()
        .expect("the binary starts")
}

pub fn binary(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crosscheck"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

// --- 1. a closed standard output ----------------------------------------------------------

/// Runs the bundled suite (it has failing rules) with standard output a pipe whose reading end
/// is already closed, so the first write gets EPIPE, like `crosscheck run | head -1`.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let child = binary(&root(), args)
        .stdout(writer)
        .spawn()
        .expect("the binary starts");
    wait_bounded(child, Duration::from_secs(120), "run into a closed pipe")
}

#[test]
fn a_closed_stdout_stops_the_printing_not_the_verdict() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let junit = dir.path().join("r.xml");
    let markdown = dir.path().join("r.md");
    let junit_arg = junit.to_string_lossy().into_owned();
    let markdown_arg = markdown.to_string_lossy().into_owned();
    let rules = crate::support::bundled_expected()["rules"]
        .as_object()
        .map(|r| r.len())
        .unwrap_or(0);
    for args in [
        vec!["run", "--junit", &junit_arg],
        // The JSON report goes to the closed pipe first; the files after it are still written.
        vec![
            "run",
            "--json",
            "-",
            "--junit",
            &junit_arg,
            "--markdown",
            &markdown_arg,
        ],
    ] {
        let _ = std::fs::remove_file(&junit);
        let out = run_into_closed_pipe(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        let xml = std::fs::read_to_string(&junit).expect("the JUnit report is written");
        assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), rules, "{xml}");
    }
    let md = std::fs::read_to_string(&markdown).expect("the Markdown report is written");
    assert!(md.contains("progress_user_exists"), "{md}");
}

// --- 2. a server that never answers ---------------------------------------------------------

#[test]
fn a_server_that_accepts_and_never_answers_ends_in_exit_2() {
    let port = crate::support::mute_server();
    let config = "sources:\n  mute:\n    postgres: ${CC_DB}\n";
    let rules = "rules:\n  - name: n\n    type: row_count\n    table: mute.t\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    for (url, limit) in [
        (
            format!("postgres://u:secret@127.0.0.1:{port}/db?connect_timeout=1"),
            20,
        ),
        // No connect_timeout: the documented default (10 s) still bounds the start-up.
        (format!("postgres://u:secret@127.0.0.1:{port}/db"), 40),
    ] {
        let child = binary(dir.path(), &["run"])
            .env("CC_DB", &url)
            .env_remove("PGCONNECT_TIMEOUT")
            .spawn()
            .expect("the binary starts");
        let out = wait_bounded(child, Duration::from_secs(limit), "a mute server");
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("source `mute`")
                && out.stderr.contains("no answer")
                && !out.stderr.contains("secret"),
            "{}",
            out.stderr
        );
    }
}

/// Sends `signal` to a process (`kill -SIG PID`).
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The backends running a query on `db`, other than the asking one.
fn active_queries(url: &str, db: &str) -> Vec<(i32, String)> {
    runtime().block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        client
            .query(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = $1 \
                 AND state = 'active' AND pid <> pg_backend_pid()",
                &[&db],
            )
            .await
            .expect("pg_stat_activity")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    })
}

/// Polls until `pred` holds (true) or `limit` passes (false).
pub fn eventually(limit: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A database with a view that sleeps for a minute: a query on it runs that long.
fn slow_database(server: &str, name: &str) -> String {
    let db = fresh_database(server, name);
    execute(
        &db,
        "CREATE VIEW slow AS SELECT 1::int4 AS id FROM pg_sleep(60); CREATE TABLE t (id int4); \
         INSERT INTO t VALUES (1);",
    );
    db
}

/// Resumes a stopped backend when dropped, even when the test fails.
struct Resume(u32);
impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

#[test]
fn a_frozen_backend_ends_in_exit_2_by_the_client_side_timeout() {
    let Some(server) = server() else { return };
    let db = slow_database(&server, "cc_frozen");
    // One connection: the rule after the frozen one gets it only if the client gave up on it.
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n    statement_timeout: 2s\n    max_connections: 1\n";
    let rules = "rules:
  - name: slow
    type: sql
    sql: SELECT id FROM db.slow
  - name: after
    type: sql
    sql: SELECT id FROM db.t WHERE id < 0
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let started = Instant::now();
    let child = spawn_run(dir.path(), &db);
    let mut backend = None;
    assert!(eventually(Duration::from_secs(20), || {
        backend = active_queries(&server, "cc_frozen")
            .into_iter()
            .find(|(_, q)| q.contains("slow"))
            .map(|(pid, _)| pid);
        backend.is_some()
    }));
    // Frozen: the server's own statement_timeout cannot fire, only the client's can.
    let pid = backend.expect("a backend") as u32;
    signal(pid, "STOP");
    let _resume = Resume(pid);
    let out = wait_bounded(child, Duration::from_secs(30), "a frozen backend");
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    // 2 s of statement_timeout and 5 s of margin, then the cancel request.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let report = out.json();
    let slow = crate::support::rule(&report, "slow");
    let message = slow["message"].as_str().unwrap_or_default();
    assert_eq!(slow["status"], "error", "{slow}");
    assert!(
        message.contains("`db`") && message.contains("no answer") && message.contains("2s"),
        "{message}"
    );
    let after = crate::support::rule(&report, "after");
    assert_eq!(after["status"], "pass", "{after}");
}

/// The checksum's statements (bounds, digests, each wrapped in its own planner setting) are
/// bounded by the same client-side limit: a backend frozen in one of them ends the rule in
/// an error naming the source, and the connection is not handed to the next rule.
#[test]
fn a_frozen_backend_in_a_checksum_ends_in_exit_2() {
    let Some(server) = server() else { return };
    let db = slow_database(&server, "cc_frozen_sum");
    execute(
        &db,
        "CREATE TABLE wide (id int4 PRIMARY KEY, v text);
         INSERT INTO wide SELECT g, 'v' || g FROM generate_series(1, 50) g;
         CREATE VIEW slow_wide AS SELECT id, v FROM wide, LATERAL pg_sleep(0.5) AS pause;",
    );
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n    statement_timeout: 2s\n    max_connections: 1\n";
    let rules = "rules:
  - name: slow_sum
    type: diff
    source: db.wide
    target: db.slow_wide
    key: [id]
    algorithm: checksum
  - name: after
    type: sql
    sql: SELECT id FROM db.t WHERE id < 0
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let started = Instant::now();
    let child = spawn_run(dir.path(), &db);
    let mut backend = None;
    assert!(eventually(Duration::from_secs(20), || {
        backend = active_queries(&server, "cc_frozen_sum")
            .into_iter()
            .find(|(_, q)| q.contains("slow_wide"))
            .map(|(pid, _)| pid);
        backend.is_some()
    }));
    let pid = backend.expect("a backend") as u32;
    signal(pid, "STOP");
    let _resume = Resume(pid);
    let out = wait_bounded(child, Duration::from_secs(30), "a frozen checksum");
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let report = out.json();
    let slow = crate::support::rule(&report, "slow_sum");
    let message = slow["message"].as_str().unwrap_or_default();
    assert_eq!(slow["status"], "error", "{slow}");
    assert!(
        message.contains("`db`") && message.contains("no answer"),
        "{message}"
    );
    let after = crate::support::rule(&report, "after");
    assert_eq!(after["status"], "pass", "{after}");
}

// --- 3. signals -----------------------------------------------------------------------------

#[test]
fn sigterm_cancels_the_server_queries_and_exits_2() {
    let Some(server) = server() else { return };
    let db = slow_database(&server, "cc_sigterm");
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n";
    let rules = "rules:\n  - name: slow\n    type: sql\n    sql: SELECT id FROM db.slow\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    // `diff` builds its rule from the command line: the same handling must apply. Its two
    // scans start one after the other, so the signal often comes while the second is still
    // connecting: that one must not start (a cancel request that arrives before its statement
    // is ignored by the server); a few rounds catch that race.
    let diff = &[
        "diff",
        "db.slow",
        "db.slow",
        "--key",
        "id",
        "--algorithm",
        "join",
    ][..];
    for args in [&["run"][..], diff, diff, diff] {
        let child = binary(dir.path(), args)
            .env("CC_DB", &db)
            .spawn()
            .expect("the binary starts");
        assert!(eventually(Duration::from_secs(20), || {
            active_queries(&server, "cc_sigterm")
                .iter()
                .any(|(_, q)| q.contains("slow"))
        }));
        signal(child.id(), "TERM");
        let out = wait_bounded(child, Duration::from_secs(20), "SIGTERM");
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("SIGTERM") && out.stderr.contains("cancelled"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            eventually(Duration::from_secs(5), || active_queries(
                &server,
                "cc_sigterm"
            )
            .is_empty()),
            "{args:?}: still running: {:?}",
            active_queries(&server, "cc_sigterm")
        );
    }
}

// --- 4. a connection broken by a failed statement is not reused ------------------------------

#[test]
fn a_failed_statement_never_poisons_the_next_rule() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_poison");
    execute(
        &db,
        "CREATE TABLE docs (id int4 PRIMARY KEY, body xml); \
         INSERT INTO docs SELECT g, '<a/>' FROM generate_series(1, 50) g; \
         CREATE TABLE t (id int4 PRIMARY KEY, v int4); \
         INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;",
    );
    let config = "sources:\n  a:\n    postgres: ${CC_DB}\n    max_connections: 1\n  b:\n    postgres: ${CC_DB}\n    max_connections: 1\n";
    let rules = "rules:
  - name: a_checksum_over_xml
    type: diff
    source: a.docs
    target: b.docs
    key: [id]
    algorithm: checksum
  - name: a_division_by_zero
    type: sql
    sql: SELECT id FROM a.t WHERE 10 / (v - v) > 1
  - name: then_a_count
    type: row_count
    table: a.t
    min: 50
  - name: and_a_checksum
    type: diff
    source: a.t
    target: b.t
    key: [id]
    algorithm: checksum
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let child = spawn_run(dir.path(), &db);
    let out = wait_bounded(child, Duration::from_secs(60), "a poisoned pool");
    let report = out.json();
    let status = |name: &str| crate::support::rule(&report, name)["status"].clone();
    let message = |name: &str| crate::support::rule(&report, name)["message"].clone();
    assert_eq!(status("a_division_by_zero"), "error", "{}", out.stdout);
    for name in ["then_a_count", "and_a_checksum"] {
        assert_eq!(status(name), "pass", "{name}: {}", message(name));
    }
}

/// A diff whose two sides share one pool: the source side fails first, which drops the
/// target side's query while it still runs on the server. That connection is busy (and its
/// transaction about to abort): it must never go back to the pool for the next rule.
#[test]
fn a_query_dropped_mid_flight_never_goes_back_to_the_pool() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_dropped");
    // pg_sleep in the select list runs per row: `fails_soon` fails after 0.3 s, `fails_late`
    // after 1.5 s.
    execute(
        &db,
        "CREATE TABLE t (id int4 PRIMARY KEY, v int4); \
         INSERT INTO t SELECT g, g FROM generate_series(1, 50) g; \
         CREATE VIEW fails_soon AS \
           SELECT 0 * length(pg_sleep(0.3)::text) + 10 / (v - v) AS id, v FROM t; \
         CREATE VIEW fails_late AS SELECT \
           0 * length(pg_sleep(0.03)::text) + id / (CASE WHEN id = 50 THEN 0 ELSE 1 END) AS id, \
           v FROM t;",
    );
    let config = "sources:\n  a:\n    postgres: ${CC_DB}\n    max_connections: 2\n";
    let rules = "rules:
  - name: sides_fail_apart
    type: diff
    source: a.fails_soon
    target: a.fails_late
    key: [id]
    algorithm: checksum
  - name: then_a_query
    type: sql
    sql: SELECT id FROM a.t WHERE v <> id
  - name: and_a_checksum
    type: diff
    source: a.t
    target: a.t
    key: [id]
    algorithm: checksum
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let child = spawn_run(dir.path(), &db);
    let out = wait_bounded(child, Duration::from_secs(60), "a dropped query");
    let report = out.json();
    let status = |name: &str| crate::support::rule(&report, name)["status"].clone();
    let message = |name: &str| crate::support::rule(&report, name)["message"].clone();
    assert!(
        message("sides_fail_apart")
            .as_str()
            .is_some_and(|m| m.contains("division by zero")),
        "{}",
        out.stdout
    );
    // Rules of one table scan run first, every other rule in file order: these two come after.
    for name in ["then_a_query", "and_a_checksum"] {
        assert_eq!(status(name), "pass", "{name}: {}", message(name));
    }
}

/// An idle pooled connection that the server ends (an idle timeout, an administrator,
/// a failover) is never handed to the next rule.
#[test]
fn a_connection_the_server_closed_is_not_handed_out() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_closed");
    execute(
        &db,
        "CREATE TABLE t (id int4 PRIMARY KEY, v int4); \
         INSERT INTO t SELECT g, g FROM generate_series(1, 50000) g; \
         CREATE VIEW pause AS SELECT id + 0 * length(pg_sleep(2)::text) AS id FROM t WHERE id = 1;",
    );
    let config = "sources:\n  a:\n    postgres: ${CC_DB}\n    max_connections: 2\n";
    // A join streams both sides at once, several batches each, so it leaves two connections
    // in the pool whatever the timing (a checksum's short queries, or a one-batch COPY that
    // ends before the other side starts, may share one under load); the pause takes one.
    let rules = "rules:
  - name: two_connections
    type: diff
    source: a.t
    target: a.t
    key: [id]
    algorithm: join
  - name: pause
    type: sql
    sql: SELECT id FROM a.pause WHERE id < 0
  - name: after
    type: diff
    source: a.t
    target: a.t
    key: [id]
    algorithm: checksum
";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let child = spawn_run(dir.path(), &db);
    assert!(eventually(Duration::from_secs(20), || {
        active_queries(&server, "cc_closed")
            .iter()
            .any(|(_, q)| q.contains("pause"))
    }));
    // Every idle connection but the snapshot's holder.
    let (ended, seen): (i64, Vec<String>) = runtime().block_on(async {
        let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        let seen = client
            .query(
                "SELECT coalesce(state, '') || ': ' || left(query, 80) FROM pg_stat_activity \
                 WHERE datname = 'cc_closed'",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .iter()
            .map(|r| r.get(0))
            .collect();
        let ended = client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = 'cc_closed' AND state = 'idle in transaction' \
                 AND query NOT LIKE '%pg_export_snapshot%'",
                &[],
            )
            .await
            .expect("pg_terminate_backend")
            .get(0);
        (ended, seen)
    });
    assert!(ended >= 1, "no idle pooled connection to end: {seen:#?}");
    let out = wait_bounded(child, Duration::from_secs(60), "a closed connection");
    let report = out.json();
    for name in ["two_connections", "pause", "after"] {
        let rule = crate::support::rule(&report, name);
        assert_eq!(rule["status"], "pass", "{name}: {rule}");
    }
}

// --- 5. cancel tokens of closed connections are let go --------------------------------------

#[test]
fn the_cancel_tokens_hold_only_open_connections() {
    let Some(server) = server() else { return };
    let db = fresh_database(&server, "cc_tokens");
    runtime().block_on(async {
        let (session, _) = crosscheck::source::postgres::open("db", &db, Duration::from_secs(5), 2)
            .await
            .expect("the source opens");
        // Each failed statement closes its connection; the next query opens another.
        for _ in 0..6 {
            let mut client = session.client().await.expect("a connection");
            assert!(client.query("SELECT 1 / 0", &[]).await.is_err());
            client.discard();
        }
        // The snapshot's holder and at most the pool's connections stay open.
        let open = || session.open_connections();
        assert!(
            eventually(Duration::from_secs(5), || open() <= 3),
            "{} cancel tokens for at most 3 open connections",
            open()
        );
    });
}

// --- 6. a corrupt Parquet file --------------------------------------------------------------

#[test]
fn a_parquet_file_with_a_corrupt_footer_is_an_error_naming_it() {
    let dir = project(&[
        ("l.csv", "id,v\n1,a\n2,b\n"),
        ("r.csv", "id,v\n1,a\n2,c\n3,d\n"),
        ("crosscheck.yaml", "sources:\n  f:\n    files: data\n"),
        (
            "rules/r.yaml",
            "rules:\n  - name: n\n    type: row_count\n    table: f.broken\n",
        ),
    ]);
    // A real Parquet file, written by crosscheck itself.
    let made = binary(
        dir.path(),
        &[
            "diff",
            "l.csv",
            "r.csv",
            "--key",
            "id",
            "--output-diff",
            "o.parquet",
            "-q",
        ],
    )
    .output()
    .expect("diff runs");
    assert_eq!(made.status.code(), Some(1));
    let bytes = std::fs::read(dir.path().join("o.parquet")).expect("a Parquet file");
    let footer_len =
        u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    std::fs::create_dir_all(dir.path().join("data")).expect("data/");
    let cases = [
        // Half the footer cut away, its length and magic kept: the length points before the file.
        [
            &bytes[..bytes.len() - 8 - footer_len / 2],
            &bytes[bytes.len() - 8..],
        ]
        .concat(),
        // Only the last bytes.
        bytes[bytes.len() - 6..].to_vec(),
        // The length says more than the file holds.
        [
            &bytes[..bytes.len() - 8],
            &u32::MAX.to_le_bytes()[..],
            b"PAR1",
        ]
        .concat(),
    ];
    for (i, case) in cases.iter().enumerate() {
        std::fs::write(dir.path().join("data/broken.parquet"), case).expect("written");
        let child = binary(dir.path(), &["run"]).spawn().expect("starts");
        let out = wait_bounded(child, Duration::from_secs(60), "a corrupt Parquet file");
        assert_eq!(out.code, 2, "case {i}: {}{}", out.stdout, out.stderr);
        assert!(
            (out.stdout.clone() + &out.stderr).contains("broken.parquet"),
            "case {i}: {}{}",
            out.stdout,
            out.stderr
        );
    }
}

// --- 7. a FIFO in a tree -------------------------------------------------------------------

#[test]
fn a_fifo_in_a_tree_is_listed_with_an_error_and_never_opened() {
    let dir = project(&[
        ("crosscheck.yaml", "sources:\n  t:\n    tree: tree\n"),
        ("tree/a.txt", "hello"),
        (
            "rules/r.yaml",
            "rules:\n  - name: unreadable\n    type: sql\n    sql: SELECT path, kind, error FROM t.files WHERE error IS NOT NULL\n",
        ),
    ]);
    let status = Command::new("mkfifo")
        .arg(dir.path().join("tree/pipe"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let child = binary(dir.path(), &["run", "--json", "-", "-q"])
        .spawn()
        .expect("starts");
    let out = wait_bounded(child, Duration::from_secs(30), "a FIFO in a tree");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let rule = crate::support::rule(&report, "unreadable");
    assert_eq!(rule["violations"], 1, "{rule}");
    let row = rule["sample"]["rows"][0].to_string();
    assert!(
        row.contains("pipe") && row.contains("fifo") && row.contains("not a regular file"),
        "{row}"
    );
}
