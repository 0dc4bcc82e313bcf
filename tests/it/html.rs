//! The HTML report (`--html`): one self-contained page rendered from the JSON report, opened
//! in a real headless Chromium. The browser tests need Debian's `chromium` (scripts/test.sh
//! installs it as root when missing); without one they skip with a warning, except in CI
//! (`CI=true`), where a missing browser is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{crosscheck, project, root};

/// Where the pages and the screenshot a reviewer opens are kept (under `target/`).
fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).expect("the output folder is created");
    dir
}

/// The bundled suite run once for every test here: its HTML page and its JSON report,
/// written by the same run.
fn bundled() -> &'static (PathBuf, Value) {
    static BUNDLED: OnceLock<(PathBuf, Value)> = OnceLock::new();
    BUNDLED.get_or_init(|| {
        let dir = output_dir();
        let (html, json) = (dir.join("bundled.html"), dir.join("bundled.json"));
        let out = crosscheck(
            &root(),
            &[
                "run",
                "-q",
                "--html",
                &html.to_string_lossy(),
                "--json",
                &json.to_string_lossy(),
            ],
        );
        assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
        (html, crate::support::json_file(&json))
    })
}

/// The JSON report the page carries in `<script type="application/json">`.
fn embedded_report(page: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"crosscheck-report\">";
    let start = page.find(open).expect("the page embeds its report") + open.len();
    let end = start
        + page[start..]
            .find("</script>")
            .expect("the element is closed");
    serde_json::from_str(&page[start..end]).expect("the embedded report is JSON")
}

/// The opening tags of the rule cards, in page order.
fn cards(dom: &str) -> Vec<&str> {
    dom.match_indices("<details ")
        .map(|(i, _)| &dom[i..i + dom[i..].find('>').expect("a closed tag")])
        .filter(|tag| tag.contains("class=\"rule "))
        .collect()
}

/// The value of attribute `name` in an opening tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// What the page says a count is (`<dd data-count="failed">14</dd>`).
fn shown_count(dom: &str, key: &str) -> u64 {
    let open = format!("data-count=\"{key}\">");
    let start = dom.find(&open).unwrap_or_else(|| panic!("no count {key}")) + open.len();
    dom[start..start + dom[start..].find('<').expect("closed")]
        .parse()
        .expect("a number")
}

/// The browser, or `None` (with a warning) where there is none and this is not CI.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("CROSSCHECK_TEST_CHROMIUM").map(PathBuf::from);
    let found = named.or_else(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/bin")])
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(browser) => Some(browser),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "CI=true but chromium is not installed: run the tests with scripts/test.sh, which \
             installs it as root"
        ),
        None => {
            eprintln!(
                "WARNING: skipped: chromium not found (apt-get install chromium, or set \
                 CROSSCHECK_TEST_CHROMIUM)"
            );
            None
        }
    }
}

/// What a headless Chromium did with a page.
struct Browsed {
    /// The DOM after the page's scripts ran (`--dump-dom`), empty for a screenshot.
    dom: String,
    /// Every console message (an error, an uncaught exception, a blocked request).
    console: Vec<String>,
    elapsed: Duration,
}

enum Visit<'a> {
    DumpDom,
    Screenshot(&'a Path),
}

/// Opens `page#fragment` in a fresh profile.
fn browse(browser: &Path, page: &Path, fragment: &str, visit: Visit<'_>) -> Browsed {
    let scratch = tempfile::tempdir().expect("a profile folder");
    let (stdout, stderr) = (scratch.path().join("out"), scratch.path().join("err"));
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    command.arg(format!(
        "--user-data-dir={}",
        scratch.path().join("profile").display()
    ));
    match visit {
        Visit::DumpDom => command.arg("--dump-dom"),
        Visit::Screenshot(png) => command
            .arg("--window-size=1280,2400")
            .arg(format!("--screenshot={}", png.display())),
    };
    let page = page.canonicalize().expect("the page exists");
    command.arg(format!("file://{}{fragment}", page.display()));
    let files = |path: &Path| Stdio::from(std::fs::File::create(path).expect("a log file"));
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(files(&stdout))
        .stderr(files(&stderr))
        .spawn()
        .expect("chromium starts");
    let status = wait_at_most(&mut child, Duration::from_secs(60), &page);
    let elapsed = started.elapsed();
    let log = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{log}");
    Browsed {
        dom: std::fs::read_to_string(&stdout).unwrap_or_default(),
        console: log
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(String::from)
            .collect(),
        elapsed,
    }
}

/// Waits for the browser; one still running after `limit` is killed and the test fails.
fn wait_at_most(child: &mut Child, limit: Duration, page: &Path) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("chromium is waited for") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {limit:?} on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_page_carries_the_json_report_of_its_run() {
    let (html, report) = bundled();
    let page = std::fs::read_to_string(html).expect("the page");
    assert_eq!(&embedded_report(&page), report);
    // Self-contained: nothing is fetched, not even a favicon. (The data may hold URLs as text:
    // the bundled configuration's `http://localhost…` is a finding, not a link.)
    for reference in ["href=\"http", "href='http", "src=", "@import", "url("] {
        assert!(
            !page.contains(reference),
            "the page refers to `{reference}`"
        );
    }
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn the_page_opens_with_no_console_message_and_the_counts_of_the_json_report() {
    let Some(browser) = chromium() else { return };
    let (html, report) = bundled();
    let browsed = browse(&browser, html, "", Visit::DumpDom);
    assert!(browsed.console.is_empty(), "{:#?}", browsed.console);
    let dom = &browsed.dom;
    assert!(
        dom.contains("data-js=\"ready\""),
        "the script did not run:\n{dom}"
    );
    let summary = &report["summary"];
    for key in ["total", "passed", "failed", "warned", "errored"] {
        assert_eq!(Some(shown_count(dom, key)), summary[key].as_u64(), "{key}");
    }
    let cards = cards(dom);
    let with = |status: &str| {
        let n = cards
            .iter()
            .filter(|c| attribute(c, "data-status") == Some(status))
            .count();
        Some(n as u64)
    };
    assert_eq!(with("pass"), summary["passed"].as_u64());
    assert_eq!(with("fail"), summary["failed"].as_u64());
    assert_eq!(with("warn"), summary["warned"].as_u64());
    assert_eq!(with("error"), summary["errored"].as_u64());
    let mut on_page: Vec<&str> = cards
        .iter()
        .filter_map(|c| attribute(c, "data-name"))
        .collect();
    let mut reported: Vec<&str> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    on_page.sort_unstable();
    reported.sort_unstable();
    assert_eq!(on_page, reported);
    // Every rule that did not pass comes before the first that did, open; passes are closed.
    let first_pass = cards
        .iter()
        .position(|c| attribute(c, "data-status") == Some("pass"))
        .expect("a passing rule");
    for (i, card) in cards.iter().enumerate() {
        let passed = attribute(card, "data-status") == Some("pass");
        assert_eq!(passed, i >= first_pass, "{card}");
        assert_eq!(attribute(card, "open").is_some(), !passed, "{card}");
        assert!(attribute(card, "hidden").is_none(), "{card}");
    }
    eprintln!("the bundled report opened in {:?}", browsed.elapsed);
}

#[test]
fn a_status_in_the_fragment_hides_every_other_rule() {
    let Some(browser) = chromium() else { return };
    let (html, report) = bundled();
    let browsed = browse(&browser, html, "#status=fail", Visit::DumpDom);
    assert!(browsed.console.is_empty(), "{:#?}", browsed.console);
    let shown_cards = cards(&browsed.dom);
    assert_eq!(
        shown_cards.len() as u64,
        report["summary"]["total"].as_u64().unwrap()
    );
    for card in &shown_cards {
        let failed = attribute(card, "data-status") == Some("fail");
        assert_eq!(attribute(card, "hidden").is_none(), failed, "{card}");
    }
    let shown = format!("data-shown=\"{}\"", report["summary"]["failed"]);
    assert!(browsed.dom.contains(&shown), "{shown}");
    // The tag filter narrows the same way.
    let browsed = browse(&browser, html, "#tag=assets", Visit::DumpDom);
    let tagged_cards = cards(&browsed.dom);
    assert!(
        tagged_cards
            .iter()
            .any(|c| attribute(c, "hidden").is_some())
    );
    for card in tagged_cards {
        let tagged =
            attribute(card, "data-tags").is_some_and(|t| t.split(' ').any(|t| t == "assets"));
        assert_eq!(attribute(card, "hidden").is_none(), tagged, "{card}");
    }
    // A link to a passing rule's card (as the timing chart has) opens it.
    let index = (report["rules"].as_array().unwrap().iter())
        .position(|r| r["status"] == "pass")
        .expect("a passing rule");
    let browsed = browse(&browser, html, &format!("#r{index}"), Visit::DumpDom);
    let id = format!("r{index}");
    let card = cards(&browsed.dom)
        .into_iter()
        .find(|c| attribute(c, "id") == Some(id.as_str()))
        .expect("the card");
    assert!(attribute(card, "open").is_some(), "{card}");
}

#[test]
fn with_scripts_off_the_summary_and_every_card_are_there() {
    let Some(browser) = chromium() else { return };
    let (html, report) = bundled();
    // Scripts off, as a mail client or a locked-down browser has them: a copy of the page
    // whose policy allows no script at all (`--dump-dom` itself needs scripting enabled).
    let page = std::fs::read_to_string(html).expect("the page");
    let start = page.find("script-src 'sha256-").expect("the script's hash");
    let end = start + page[start..].find('\'').expect("quoted") + 1;
    let end = end + page[end..].find('\'').expect("quoted") + 1;
    let scratch = tempfile::tempdir().expect("a folder");
    let copy = scratch.path().join("no-script.html");
    std::fs::write(
        &copy,
        format!("{}script-src 'none'{}", &page[..start], &page[end..]),
    )
    .expect("written");
    let browsed = browse(&browser, &copy, "#status=fail", Visit::DumpDom);
    assert!(
        browsed
            .console
            .iter()
            .all(|l| l.contains("Content Security Policy")),
        "{:#?}",
        browsed.console
    );
    let dom = &browsed.dom;
    assert!(!dom.contains("data-js="), "the script ran:\n{dom}");
    for key in ["total", "passed", "failed", "warned", "errored"] {
        assert_eq!(
            Some(shown_count(dom, key)),
            report["summary"][key].as_u64(),
            "{key}"
        );
    }
    let cards = cards(dom);
    assert_eq!(
        cards.len() as u64,
        report["summary"]["total"].as_u64().unwrap()
    );
    assert!(cards.iter().all(|c| attribute(c, "hidden").is_none()));
    // The filters need the script, so without one they are not offered.
    assert!(dom.contains("<nav id=\"filters\" hidden"), "{dom}");
    // Every failing rule's sample is on the page, open: each first row's first value.
    for rule in report["rules"].as_array().expect("rules") {
        let Some(value) = rule["sample"]["rows"].get(0).and_then(|row| row.get(0)) else {
            continue;
        };
        let cell =
            crosscheck::report::html::esc(&crosscheck::report::sample_value::sample_value(value));
        let card = format!("data-name=\"{}\"", rule["name"].as_str().expect("a name"));
        let at = dom.find(&card).expect("the card");
        let body = &dom[at..at + dom[at..].find("</details>").expect("closed")];
        assert!(
            body.contains(&format!(">{cell}</td>")),
            "{cell} not in {body}"
        );
    }
}

#[test]
fn a_screenshot_of_the_bundled_report() {
    let Some(browser) = chromium() else { return };
    let (html, _) = bundled();
    let png = output_dir().join("bundled.png");
    let _ = std::fs::remove_file(&png);
    let browsed = browse(&browser, html, "", Visit::Screenshot(&png));
    assert!(browsed.console.is_empty(), "{:#?}", browsed.console);
    let bytes = std::fs::read(&png).expect("the screenshot is written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // IHDR: width and height, big-endian, right after the signature and chunk header.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2400));
    assert!(bytes.len() > 20_000, "{} bytes: a blank page?", bytes.len());
    println!("screenshot of the bundled report: {}", png.display());
    eprintln!("screenshot of the bundled report: {}", png.display());
}

/// A value that would run a script if any text of the page were not escaped.
const PAYLOAD: &str = "</script><img src=x onerror=\"document.body.dataset.pwned=1\"><!--";

/// A project whose data, descriptions and messages carry markup and a sensitive column.
fn hostile_project() -> tempfile::TempDir {
    let config = "sources:\n  a:\n    files: a\n  b:\n    files: b\nsensitive: [\"*.email\"]\n";
    let a = format!(
        "id,name,email,score\n1,\"{}\",alice@private.example,1\n2,ok,bob@private.example,2\n",
        PAYLOAD.replace('"', "\"\"")
    );
    let b = "id,name,email,extra\n1,ok,alice@private.example,x\n3,ok,carol@private.example,y\n";
    let rules = format!(
        "rules:
  - name: names_ok
    type: expect
    description: '{payload}'
    table: a.people
    condition: name = 'ok'
  - name: people_identical
    type: diff
    tags: [people]
    source: a.people
    target: b.people
    key: [id]
  - name: schemas_match
    type: schema_match
    source: a.people
    target: b.people
  - name: emails_unique
    type: unique
    table: a.people
    columns: [email]
  - name: cannot_run
    type: sql
    on: a
    sql: SELECT no_such_column FROM people
",
        payload = PAYLOAD.replace('\'', "''")
    );
    project(&[
        ("crosscheck.yaml", config),
        ("a/people.csv", &a),
        ("b/people.csv", b),
        ("rules/r.yaml", &rules),
    ])
}

#[test]
fn markup_in_the_data_is_text_and_no_sensitive_value_is_on_the_page() {
    let dir = hostile_project();
    let out = crosscheck(
        dir.path(),
        &["run", "-q", "--html", "r.html", "--json", "r.json"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let page = std::fs::read_to_string(dir.path().join("r.html")).expect("the page");
    let report = crate::support::json_file(&dir.path().join("r.json"));
    assert_eq!(embedded_report(&page), report);
    // A rule that could not run is the verdict, first of all, with its error.
    assert!(page.contains("<title>crosscheck error: could not vouch for the data"));
    let statuses: Vec<&str> = cards(&page)
        .iter()
        .filter_map(|c| attribute(c, "data-status"))
        .collect();
    assert_eq!(statuses, ["error", "fail", "fail", "fail", "pass"]);
    assert!(page.contains("<pre class=\"error\">"), "{page}");
    assert!(!page.contains("<img") && !page.contains("<!--"), "{page}");
    assert!(
        page.contains("&lt;/script&gt;&lt;img src=x onerror=&quot;"),
        "{page}"
    );
    for secret in ["alice@", "bob@", "carol@", "private.example"] {
        assert!(!page.contains(secret), "`{secret}` leaked:\n{page}");
    }
    assert!(page.contains("sha256:"), "{page}");
    // The diff's bars and side-by-side values, the schema's differences as a list.
    assert!(
        page.contains("<ol class=\"bars\">\n<li><code>name</code>"),
        "{page}"
    );
    assert!(page.contains("<th class=\"src\">source</th><th class=\"tgt\">target</th>"));
    assert!(page.contains("<ul class=\"schema\">\n<li><code>"), "{page}");
    let Some(browser) = chromium() else { return };
    let browsed = browse(&browser, &dir.path().join("r.html"), "", Visit::DumpDom);
    assert!(browsed.console.is_empty(), "{:#?}", browsed.console);
    assert!(browsed.dom.contains("data-js=\"ready\""), "{}", browsed.dom);
    assert!(!browsed.dom.contains("data-pwned"), "{}", browsed.dom);
    assert!(!browsed.dom.contains("<img"), "{}", browsed.dom);
}

#[test]
fn diff_writes_the_page_too() {
    let dir = hostile_project();
    let out = crosscheck(
        dir.path(),
        &[
            "diff", "a.people", "b.people", "--key", "id", "-q", "--html", "d.html",
        ],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let page = std::fs::read_to_string(dir.path().join("d.html")).expect("the page");
    let report = embedded_report(&page);
    assert_eq!(report["rules"][0]["name"], "diff");
    assert_eq!(report["summary"]["failed"], 1);
    assert!(page.contains("data-name=\"diff\""), "{page}");
    assert!(page.contains("<th class=\"src\">source</th>"), "{page}");
    for secret in ["alice@", "private.example"] {
        assert!(!page.contains(secret), "`{secret}` leaked:\n{page}");
    }
}

#[test]
fn no_password_of_a_database_source_is_on_the_page() {
    let Some(server) = crate::pg::server() else {
        return;
    };
    let password = server
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, password)| password.to_string())
        .filter(|p| !p.is_empty())
        .expect("the test server's URL has a password");
    let db = crate::pg::fresh_database(&server, "cc_html");
    crate::pg::execute(
        &db,
        "CREATE TABLE t (id int4 PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let config = "sources:\n  db:\n    postgres: ${CC_DB}\n";
    let rules = "rules:\n  - name: one_row\n    type: row_count\n    table: db.t\n    max: 0\n";
    let dir = project(&[("crosscheck.yaml", config), ("rules/r.yaml", rules)]);
    let out = crate::support::crosscheck_with_env(
        dir.path(),
        &["run", "-q", "--html", "r.html"],
        &[("CC_DB", &db)],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let page = std::fs::read_to_string(dir.path().join("r.html")).expect("the page");
    assert!(!page.contains(&password), "the password leaked");
    assert!(page.contains(":***@"), "{page}");
}

/// A project of `n` rules over one table, half of them failing with a full sample.
fn many_rules(n: usize) -> tempfile::TempDir {
    let mut csv = String::from("id,name,email,score,status\n");
    for i in 0..200 {
        csv.push_str(&format!(
            "{i},person number {i},p{i}@private.example,{},{}\n",
            i % 101,
            ["active", "invited", "closed"][i % 3]
        ));
    }
    let mut rules = String::from("rules:\n");
    for i in 0..n {
        let body = match i % 4 {
            0 => format!("type: expect\n    table: a.people\n    condition: score >= {}", i % 50),
            1 => "type: not_null\n    table: a.people\n    columns: [id, name]".to_string(),
            2 => "type: accepted_values\n    table: a.people\n    column: status\n    values: [active, invited]".to_string(),
            _ => "type: row_count\n    table: a.people\n    min: 1".to_string(),
        };
        rules.push_str(&format!(
            "  - name: rule_{i:04}\n    description: Rule number {i} of a large migration suite.\n    \
             tags: [group{}, generated]\n    {body}\n",
            i % 20
        ));
    }
    project(&[
        (
            "crosscheck.yaml",
            "sources:\n  a:\n    files: data\nsensitive: [\"*.email\"]\n",
        ),
        ("data/people.csv", &csv),
        ("rules/many.yaml", &rules),
    ])
}

#[test]
fn a_report_of_2000_rules_stays_under_5_mb_and_opens() {
    let dir = many_rules(2000);
    let out = crosscheck(
        dir.path(),
        &["run", "-q", "--html", "r.html", "--json", "r.json"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let html = dir.path().join("r.html");
    let size = std::fs::metadata(&html).expect("the page").len();
    let report = crate::support::json_file(&dir.path().join("r.json"));
    assert_eq!(report["summary"]["total"], 2000);
    assert!(
        report["summary"]["failed"].as_u64().unwrap() >= 900,
        "{}",
        report["summary"]
    );
    eprintln!("2,000-rule report: {size} bytes");
    assert!(size < 5_000_000, "{size} bytes");
    let page = std::fs::read_to_string(&html).expect("the page");
    assert!(
        !page.contains("private.example"),
        "a sensitive value leaked"
    );
    let Some(browser) = chromium() else { return };
    let browsed = browse(&browser, &html, "#status=fail", Visit::DumpDom);
    assert!(browsed.console.is_empty(), "{:#?}", browsed.console);
    assert!(browsed.dom.contains("data-js=\"ready\""));
    assert_eq!(cards(&browsed.dom).len(), 2000);
    eprintln!(
        "2,000-rule report: opened and filtered in {:?}",
        browsed.elapsed
    );
}
