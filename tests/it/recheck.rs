//! `--recheck`: differences that converge while crosscheck waits are reported as in flight,
//! not as failures; the rest fail as before.

use crate::support::{crosscheck_with_env, rule};

/// Three writes the replica is behind on, two of which it catches up on during the wait.
struct Lagging<'a> {
    kind: &'a str,
    primary: String,
    replica: String,
    execute: fn(&str, &str),
    /// The lagging writes, then the two the replica catches up on.
    writes: [&'a str; 2],
}

fn converging_keys_are_in_flight(engine: Lagging<'_>) {
    let Lagging {
        kind,
        primary,
        replica,
        execute,
        writes: [lagging, caught_up],
    } = engine;
    execute(&primary, lagging);
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(
        dir.path().join("crosscheck.yaml"),
        format!(
            "sources:\n  primary:\n    {kind}: ${{PRIMARY}}\n  replica:\n    {kind}: ${{REPLICA}}\n"
        ),
    )
    .expect("project");
    let catch_up = {
        let (replica, caught_up) = (replica.clone(), caught_up.to_string());
        std::thread::spawn(move || {
            // Well after the first comparison, well before the recheck.
            std::thread::sleep(std::time::Duration::from_secs(3));
            execute(&replica, &caught_up);
        })
    };
    let out = crosscheck_with_env(
        dir.path(),
        &[
            "diff",
            "primary.orders",
            "replica.orders",
            "--key",
            "id",
            "--recheck",
            "8s",
            "--json",
            "-",
            "-q",
        ],
        &[("PRIMARY", primary.as_str()), ("REPLICA", replica.as_str())],
    );
    catch_up.join().expect("the replica caught up");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let diff = rule(&report, "diff");
    assert_eq!(diff["violations"], 1, "{diff}");
    assert_eq!(diff["sample"]["rows"][0][0], 30, "{diff}");
    let recheck = &diff["diff"]["recheck"];
    assert_eq!(
        (
            &recheck["rechecked"],
            &recheck["in_flight"],
            &recheck["still_differ"]
        ),
        (&4.into(), &3.into(), &1.into()),
        "{recheck}"
    );
    assert!(
        diff["message"]
            .as_str()
            .unwrap_or("")
            .contains("3 converged (in flight, not counted), 1 still differ"),
        "{diff}"
    );
    // Every key of the primary is matched on the replica by then.
    assert_eq!(diff["diff"]["matched"], 501, "{diff}");
}

const LAGGING: &str = "UPDATE orders SET total = 0 WHERE id IN (10, 20, 30);
     INSERT INTO orders VALUES (501, 1, 'new');";
const CAUGHT_UP: &str = "UPDATE orders SET total = 0 WHERE id IN (10, 20);
     INSERT INTO orders VALUES (501, 1, 'new');";

#[test]
fn keys_that_converge_during_the_wait_are_in_flight_and_the_rest_still_fail() {
    let Some(server) = crate::pg::server() else {
        return;
    };
    let primary = crate::pg::fresh_database(&server, "cc_recheck_primary");
    let replica = crate::pg::fresh_database(&server, "cc_recheck_replica");
    let table = "CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2), note text);
                 INSERT INTO orders SELECT g, g * 2, 'n' || g FROM generate_series(1, 500) g;";
    crate::pg::execute(&primary, table);
    crate::pg::execute(&replica, table);
    converging_keys_are_in_flight(Lagging {
        kind: "postgres",
        primary,
        replica,
        execute: |url, sql| crate::pg::execute(url, sql),
        writes: [LAGGING, CAUGHT_UP],
    });
}

/// MariaDB's snapshots are renewed too: every connection of the source starts a new one.
#[test]
fn keys_that_converge_on_mariadb_are_in_flight_too() {
    let Some(server) = crate::mysql::server() else {
        return;
    };
    let primary = crate::mysql::fresh_database(&server, "cc_recheck_primary");
    let replica = crate::mysql::fresh_database(&server, "cc_recheck_replica");
    let table = "CREATE TABLE orders (id INT PRIMARY KEY, total DECIMAL(10,2), note TEXT);
                 INSERT INTO orders SELECT seq, seq * 2, CONCAT('n', seq) FROM seq_1_to_500;";
    crate::mysql::execute(&primary, table);
    crate::mysql::execute(&replica, table);
    converging_keys_are_in_flight(Lagging {
        kind: "mysql",
        primary,
        replica,
        execute: |url, sql| crate::mysql::execute(url, sql),
        writes: [LAGGING, CAUGHT_UP],
    });
}
