//! Fuzzing of rule files, repeatable and bounded: the project's own rule files (`rules/`,
//! `tests/fixtures/**/rules/`, the YAML examples of the docs) are mutated — byte flips,
//! deleted, duplicated and swapped lines, truncation, BOMs, CRLF, NUL bytes, tabs, huge
//! scalars, YAML alias bombs, deep nesting, operator chains, stray tags and `${…}` — and
//! loaded in-process the way `crosscheck validate` loads them. Every case must end in a
//! project or diagnostics (never a panic), within a bound (never a hang), with short messages.
//!
//! The seed is fixed, so a failure names a case that fails again; `CROSSCHECK_FUZZ_SEED`
//! and `CROSSCHECK_FUZZ_CASES` explore further locally.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crosscheck::config::{self, LoadOptions};

use crate::support::{crosscheck, root};

const DEFAULT_SEED: u64 = 0x00c0_55c8_ec4b;
const DEFAULT_CASES: usize = 2000;
/// Far above what any case takes (milliseconds); reaching it is a hang.
const CASE_LIMIT: Duration = Duration::from_secs(20);
/// Every this many cases, the same input also goes through the real binary.
const BINARY_EVERY: usize = 150;
/// The longest one rendered diagnostic may be.
const MESSAGE_LIMIT: usize = 16 * 1024;

/// splitmix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A rule file to start from and the project file it belongs with.
struct Seed {
    name: String,
    config: PathBuf,
    text: Vec<u8>,
}

fn seeds() -> Vec<Seed> {
    let root = root();
    let mut seeds = Vec::new();
    let mut add = |path: &Path, config: PathBuf| {
        let text = std::fs::read(path).expect("a seed rule file");
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        seeds.push(Seed { name, config, text });
    };
    crosscheck::filesystem::walk_files(&root.join("rules"), &mut |p| {
        add(p, root.join("crosscheck.yaml"))
    });
    crosscheck::filesystem::walk_files(&root.join("tests/fixtures"), &mut |p| {
        let is_yaml = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if !is_yaml || !p.components().any(|c| c.as_os_str() == "rules") {
            return;
        }
        // The project file of the fixture: beside its `rules/` folder.
        let config = p
            .ancestors()
            .map(|a| a.join("crosscheck.yaml"))
            .find(|c| c.is_file())
            .unwrap_or_else(|| root.join("crosscheck.yaml"));
        add(p, config)
    });
    for doc in ["docs/rules.md", "README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).expect("the docs");
        for (i, block) in text.split("```yaml\n").skip(1).enumerate() {
            let block = block.split("```").next().unwrap_or("");
            if block.contains("rules:") {
                seeds.push(Seed {
                    name: format!("{doc} example {i}"),
                    config: root.join("crosscheck.yaml"),
                    text: block.as_bytes().to_vec(),
                });
            }
        }
    }
    seeds
}

fn lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn alias_bomb(rng: &mut Rng) -> Vec<u8> {
    let width = 2 + rng.below(9);
    let mut text = format!("a0: &a0 [{}]\n", vec!["lol"; width].join(", "));
    for i in 1..(4 + rng.below(8)) {
        let refs = vec![format!("*a{}", i - 1); width].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("rules: *a3\n");
    text.into_bytes()
}

/// One mutation of `text`, and its name for the failure report.
fn mutate(rng: &mut Rng, text: &[u8]) -> (&'static str, Vec<u8>) {
    let mut out = text.to_vec();
    let at = |rng: &mut Rng, len: usize| rng.below(len + 1);
    let kind = match rng.below(18) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                if !out.is_empty() {
                    let i = rng.below(out.len());
                    out[i] ^= 1 + rng.below(255) as u8;
                }
            }
            "byte flips"
        }
        1 => {
            let specials = b"&*!%|>'\"{}[]:-#?,@`\t\r\\$";
            for _ in 0..1 + rng.below(4) {
                let i = at(rng, out.len());
                out.insert(i, *rng.pick(specials));
            }
            "YAML punctuation"
        }
        2 | 3 => {
            let mut ls = lines(&out);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                if rng.below(2) == 0 {
                    ls.remove(i);
                } else {
                    let line = ls[i].clone();
                    ls.insert(i, line);
                }
            }
            out = ls.concat();
            "deleted or duplicated line"
        }
        4 => {
            let mut ls = lines(&out);
            if ls.len() > 1 {
                let (i, j) = (rng.below(ls.len()), rng.below(ls.len()));
                ls.swap(i, j);
            }
            out = ls.concat();
            "swapped lines"
        }
        5 => {
            out.truncate(rng.below(out.len() + 1));
            "truncation"
        }
        6 => {
            let i = if rng.below(2) == 0 {
                0
            } else {
                at(rng, out.len())
            };
            out.splice(i..i, [0xef, 0xbb, 0xbf]);
            "BOM"
        }
        7 => {
            out = String::from_utf8_lossy(&out)
                .replace('\n', "\r\n")
                .into_bytes();
            "CRLF"
        }
        8 => {
            let i = at(rng, out.len());
            out.insert(i, 0);
            "NUL byte"
        }
        9 => {
            let mut ls = lines(&out);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let line = String::from_utf8_lossy(&ls[i]).into_owned();
                let size = 1 << (10 + rng.below(11));
                let giant = "x".repeat(size);
                ls[i] = match line.split_once(": ") {
                    Some((key, _)) => format!("{key}: {giant}\n"),
                    None => format!("{giant}: {giant}\n"),
                }
                .into_bytes();
            }
            out = ls.concat();
            "huge scalar"
        }
        10 => {
            out = alias_bomb(rng);
            "alias bomb"
        }
        11 => {
            // An anchored rule reused many times: a flat bomb inside a real file.
            let text = String::from_utf8_lossy(&out).into_owned();
            let refs = vec!["*r"; 1 + rng.below(5000)].join(", ");
            out = format!(
                "{text}\nr: &r {{name: x, type: row_count, table: a.b}}\nextra: [{refs}]\n"
            )
            .into_bytes();
            "anchor reuse"
        }
        12 => {
            let depth = 1 << rng.below(17);
            let (open, close) = *rng.pick(&[("[", "]"), ("{a: ", "}"), ("- ", "")]);
            let nested = format!("{}x{}", open.repeat(depth), close.repeat(depth));
            let i = at(rng, out.len());
            out.splice(i..i, nested.into_bytes());
            "deep nesting"
        }
        13 => {
            let mut ls = lines(&out);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                match rng.below(3) {
                    0 => ls[i].insert(0, b' '),
                    1 => ls[i].insert(0, b'\t'),
                    _ => {
                        if ls[i].first() == Some(&b' ') {
                            ls[i].remove(0);
                        }
                    }
                }
            }
            out = ls.concat();
            "indentation"
        }
        14 => {
            let inserts = [
                "!!binary ",
                "!custom ",
                "!!int ",
                "!!map ",
                "${",
                "${UNSET_CROSSCHECK_FUZZ}",
                "$${x}",
                "<<: ",
                "? ",
                "--- ",
                "...\n",
                "%YAML 1.1\n",
                "&a ",
                "*a ",
                "\u{2028}",
                "\u{fffd}",
                "é",
                "\u{1F600}",
                "'",
                "\"\\u",
            ];
            for _ in 0..1 + rng.below(3) {
                let i = at(rng, out.len());
                out.splice(i..i, rng.pick(&inserts).bytes());
            }
            "tags, interpolation and oddities"
        }
        16 => {
            // An operator chain as a value: a tree as deep as it is long once parsed.
            let terms = 1 << rng.below(19);
            let chain = vec!["1"; terms].join(*rng.pick(&[" + ", " AND ", " || "]));
            let mut ls = lines(&out);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let line = String::from_utf8_lossy(&ls[i]).into_owned();
                if let Some((key, _)) = line.split_once(": ") {
                    ls[i] = format!("{key}: \"id = {chain}\"\n").into_bytes();
                }
            }
            out = ls.concat();
            "operator chain"
        }
        15 => {
            // Invalid UTF-8 and control characters.
            let i = at(rng, out.len());
            out.splice(
                i..i,
                [*rng.pick(&[0xff_u8, 0xc3, 0x80, 0x1b, 0x7f, 0x0c, 0x0b])],
            );
            "bad bytes"
        }
        _ => {
            // A value of the wrong shape for a known field.
            let values = [
                "[]",
                "{}",
                "~",
                "-1",
                "1e309",
                "99999999999999999999999999999999999999999",
                "0x1F",
                "'%'",
                "\"5%%\"",
                "-0.5%",
                "NaN",
                ".inf",
                "[a, [b]]",
                "{a: {b: c}}",
                "''",
                "\"\"",
                "true",
                "9999999999d",
                "1.5.5h",
                "a.b.c.d.e",
                "(",
                "a.b(",
                "a.b()",
                "a.b(,)",
                "\"\\0\"",
            ];
            let mut ls = lines(&out);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let line = String::from_utf8_lossy(&ls[i]).into_owned();
                if let Some((key, _)) = line.split_once(": ") {
                    ls[i] = format!("{key}: {}\n", rng.pick(&values)).into_bytes();
                }
            }
            out = ls.concat();
            "wrong shapes"
        }
    };
    (kind, out)
}

/// What one case ended in, or the panic's message.
type Verdict = Result<Vec<String>, String>;

/// Loads the project with `rules` as its only rule file (or `project` as its project file),
/// compiles every rule and renders every diagnostic, as `validate` does.
fn load_case(config: &Path, rules: &Path) -> Vec<String> {
    let options = LoadOptions {
        config: config.to_path_buf(),
        rule_paths: vec![rules.to_path_buf()],
        ..Default::default()
    };
    match config::load(&options) {
        Ok(project) => {
            for rule in &project.rules {
                let _ = crosscheck::engine::compile::compile(rule);
            }
            vec![]
        }
        Err(diags) => diags.0.iter().map(|d| d.render()).collect(),
    }
}

struct Case {
    index: usize,
    config: PathBuf,
    rules: PathBuf,
}

#[test]
fn mutated_rule_files_never_panic_or_hang() {
    let seed = std::env::var("CROSSCHECK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let cases = std::env::var("CROSSCHECK_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seeds = seeds();
    assert!(seeds.len() >= 30, "only {} seed files", seeds.len());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut rng = Rng(seed);

    // One worker, with the main thread's stack size, loads each case; this thread times it.
    let (to_worker, cases_in) = mpsc::channel::<Case>();
    let (verdicts_out, verdicts) = mpsc::channel::<(usize, Verdict)>();
    let worker = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            for case in cases_in {
                let verdict =
                    catch_unwind(AssertUnwindSafe(|| load_case(&case.config, &case.rules)))
                        .map_err(|p| {
                            p.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "a panic".into())
                        });
                if verdicts_out.send((case.index, verdict)).is_err() {
                    return;
                }
            }
        })
        .expect("the worker starts");

    let started = Instant::now();
    let mut problems = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut rejected = 0;
    let mut time_by_kind: std::collections::BTreeMap<String, (usize, Duration)> =
        Default::default();
    for index in 0..cases {
        let seed_file = rng.pick(&seeds);
        let mut text = seed_file.text.clone();
        let mut kinds = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let (kind, mutated) = mutate(&mut rng, &text);
            kinds.push(kind);
            text = mutated;
        }
        // One case in eight mutates the project file instead, with the seed's rules.
        let mutate_project = rng.below(8) == 0;
        let (config, rules) = if mutate_project {
            let original = std::fs::read(&seed_file.config).expect("the project file");
            let (kind, mutated) = mutate(&mut rng, &original);
            kinds = vec![kind];
            let config = dir.path().join("crosscheck.yaml");
            std::fs::write(&config, mutated).expect("the case is written");
            let rules = dir.path().join("rules.yaml");
            std::fs::write(&rules, &seed_file.text).expect("the case is written");
            (config, rules)
        } else {
            let rules = dir.path().join("rules.yaml");
            std::fs::write(&rules, &text).expect("the case is written");
            (seed_file.config.clone(), rules)
        };
        let what = format!(
            "case {index} (seed {seed}): {} of {}{}",
            kinds.join(" + "),
            seed_file.name,
            if mutate_project {
                "'s project file"
            } else {
                ""
            }
        );
        let case_started = Instant::now();
        to_worker
            .send(Case {
                index,
                config: config.clone(),
                rules: rules.clone(),
            })
            .expect("the worker takes cases");
        match verdicts.recv_timeout(CASE_LIMIT) {
            Ok((_, Ok(messages))) => {
                rejected += usize::from(!messages.is_empty());
                if let Some(long) = messages.iter().find(|m| m.len() > MESSAGE_LIMIT) {
                    problems.push(format!("{what}: a {}-byte message", long.len()));
                }
            }
            Ok((_, Err(panic))) => problems.push(format!("{what}: panicked: {panic}")),
            Err(_) => {
                // The worker is stuck: nothing after this case can be timed.
                problems.push(format!("{what}: no answer within {CASE_LIMIT:?} (a hang)"));
                break;
            }
        }
        let took = case_started.elapsed();
        let entry = time_by_kind.entry(kinds.join(" + ")).or_default();
        *entry = (entry.0 + 1, entry.1 + took);
        if took > slowest.0 {
            slowest = (took, what.clone());
        }
        if index % BINARY_EVERY == 0 {
            // The real binary on the same files: exit 0, 1 or 2, never a panic or an abort.
            let config_arg = config.to_string_lossy().into_owned();
            let rules_arg = rules.to_string_lossy().into_owned();
            let out = crosscheck(dir.path(), &["validate", "-c", &config_arg, &rules_arg]);
            if !matches!(out.code, 0..=2) || out.stderr.contains("panicked") {
                problems.push(format!(
                    "{what}: `validate` exited {}: {}",
                    out.code, out.stderr
                ));
            }
        }
    }
    drop(to_worker);
    eprintln!(
        "{cases} cases in {:?} ({rejected} rejected); slowest {:?}: {}",
        started.elapsed(),
        slowest.0,
        slowest.1
    );
    let mut by_kind: Vec<_> = time_by_kind.into_iter().collect();
    by_kind.sort_by_key(|(_, (_, t))| std::cmp::Reverse(*t));
    for (kind, (n, t)) in by_kind.iter().take(8) {
        eprintln!("  {t:?} in {n} cases of {kind}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    worker.join().expect("the worker ends");
}
