//! `--recheck`: differences that converge while crosscheck waits are reported as in flight,
//! not as failures; the rest fail as before.

use crate::support::{crosscheck_with_env, rule};

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
    // The replica is behind on three writes; it catches up on two of them during the wait.
    crate::pg::execute(
        &primary,
        "UPDATE orders SET total = 0 WHERE id IN (10, 20, 30);
         INSERT INTO orders VALUES (501, 1, 'new');",
    );
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(
        dir.path().join("crosscheck.yaml"),
        "sources:\n  primary:\n    postgres: ${PRIMARY}\n  replica:\n    postgres: ${REPLICA}\n",
    )
    .expect("project");
    let catch_up = {
        let replica = replica.clone();
        std::thread::spawn(move || {
            // Well after the first comparison, well before the recheck.
            std::thread::sleep(std::time::Duration::from_secs(3));
            crate::pg::execute(
                &replica,
                "UPDATE orders SET total = 0 WHERE id IN (10, 20);
                 INSERT INTO orders VALUES (501, 1, 'new');",
            );
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
