#!/usr/bin/env python3
"""Generate the learning-platform example that `crosscheck run` checks out of the box.

Writes, next to this file:

  staging/   the clean export (all CSV)
  prod/      the migrated export, with documented migration defects injected
             (CSV, plus user_progress.ndjson and a questions/ folder of two CSV parts)
  assets/staging/public/, assets/prod/public/
             the platform's public/ folder (images, documents, uploads, config) before and
             after the content migration, with content defects injected in prod; each is a
             `tree:` source. Kept out of staging/ and prod/, whose `files:` sources would read a
             sub-folder holding .json files as a table.
  config/staging/, config/prod/
             the platform's settings (.env, JSON feature flags, YAML app config, TOML limits)
             before and after the move, with configuration defects injected in prod; each is
             a `config:` source.
  expected.json
             the verdict of every rule in <repo>/rules/, computed by an oracle in this file
             that reads the written files back from disk and evaluates each rule in plain
             Python, independently of crosscheck.

Usage (from the repository root):

  python3 examples/learning-platform/generate.py           # (re)write data and expected.json
  python3 examples/learning-platform/generate.py --check   # regenerate into a temporary folder
                                                           # and compare with the committed files

Deterministic: one fixed seed, standard library only, and no wall clock. Freshness verdicts
depend on "now", so expected.json also records the window of dates in which they hold
(roughly 2024-06 to 2036-11); see README.md.

The oracle also mirrors every rule of rules/*.yaml (name, type, tables, columns, thresholds)
and refuses to write expected.json when the two disagree, so a rule edited in YAML but not
here (or the reverse) is caught at generation time.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import hashlib
import json
import math
import random
import re
import shutil
import stat
import struct
import sys
import tempfile
import tomllib
import zlib
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RULES_DIR = REPO / "rules"
QUERIES_DIR = REPO / "queries"

SEED = 20261120

# The timeline of the data set.
LAUNCH = datetime(2012, 1, 16, 9, 0, 0)  # first user signs up
LAST_SIGNUP = datetime(2026, 10, 31, 18, 0, 0)  # last user signs up
END = datetime(2026, 11, 20, 14, 3, 0)  # newest event: staging's newest user_progress.completed_at
LEGACY_BACKUP = datetime(2014, 6, 30, 23, 59, 59)  # prod.user_achievements was restored from this backup
FALLBACK_DATE = datetime(2012, 1, 1, 0, 0, 0)  # the import's fallback for unparsable dates
# The date at which the committed expected.json was produced. Only used to check that it lies
# inside the window in which the freshness verdicts hold; the output never depends on the clock.
REFERENCE_NOW = datetime(2026, 11, 26, 0, 0, 0)

N_USERS = 1500
N_QUESTIONS = 1200
N_ASSESSMENTS = 60

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = [
    ("Alex", "alex"), ("Maria", "maria"), ("James", "james"), ("Priya", "priya"), ("Chen", "chen"),
    ("Fatima", "fatima"), ("Lukas", "lukas"), ("Sofia", "sofia"), ("Kenji", "kenji"),
    ("Amara", "amara"), ("Noah", "noah"), ("Emma", "emma"), ("Mateo", "mateo"), ("Olivia", "olivia"),
    ("Arjun", "arjun"), ("Hannah", "hannah"), ("Diego", "diego"), ("Yuki", "yuki"), ("Lena", "lena"),
    ("Omar", "omar"), ("Chloé", "chloe"), ("José", "jose"), ("Zoë", "zoe"), ("Łukasz", "lukasz"),
    ("Søren", "soren"), ("Aiko", "aiko"), ("Grace", "grace"), ("Samuel", "samuel"), ("Ines", "ines"),
    ("Tomás", "tomas"), ("Nadia", "nadia"), ("Felix", "felix"), ("Ruth", "ruth"), ("Ivan", "ivan"),
    ("Leila", "leila"), ("Marco", "marco"), ("Anna", "anna"), ("David", "david"), ("Sara", "sara"),
    ("Jonas", "jonas"),
]
LAST_NAMES = [
    ("Smith", "smith"), ("Garcia", "garcia"), ("Müller", "mueller"), ("Kowalski", "kowalski"),
    ("Nguyen", "nguyen"), ("Patel", "patel"), ("Tanaka", "tanaka"), ("Okafor", "okafor"),
    ("Rossi", "rossi"), ("Dubois", "dubois"), ("Silva", "silva"), ("Johnson", "johnson"),
    ("Brown", "brown"), ("Jensen", "jensen"), ("Novak", "novak"), ("Haddad", "haddad"),
    ("Kim", "kim"), ("Lopez", "lopez"), ("Schmidt", "schmidt"), ("Wilson", "wilson"),
    ("Sato", "sato"), ("Ahmed", "ahmed"), ("Martin", "martin"), ("Fischer", "fischer"),
    ("Costa", "costa"), ("Ivanova", "ivanova"), ("Andersson", "andersson"), ("Moreau", "moreau"),
    ("Singh", "singh"), ("O'Brien", "obrien"), ("Walker", "walker"), ("Yamamoto", "yamamoto"),
    ("Hernández", "hernandez"), ("Bauer", "bauer"), ("Wright", "wright"),
]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "uni.example.edu"]

# (country, locale, weight)
LOCALES = [
    ("US", "en-US", 30), ("GB", "en-GB", 10), ("IN", "en-IN", 12), ("CA", "en-CA", 5),
    ("DE", "de-DE", 9), ("FR", "fr-FR", 7), ("ES", "es-ES", 5), ("MX", "es-MX", 5),
    ("BR", "pt-BR", 7), ("JP", "ja-JP", 4), ("NL", "nl-NL", 3), ("PL", "pl-PL", 3),
]
ACCEPTED_LOCALES = [loc for _, loc, _ in LOCALES]

BIOS = [
    "Lifelong learner, mostly here for the maths.",
    "Preparing for university entrance exams.",
    "Software developer brushing up on SQL.",
    "Teacher looking for practice material for my class.",
    "Learning German before moving to Berlin.",
    "Chemistry student, second year.",
    "I like streaks. Do not break the streak.",
    "Retired engineer, curious about everything.",
    "Python beginner, be kind.",
    "Studying physics at night, working during the day.",
    "Spanish learner; ¡hola a todos!",
    "Data analyst, \"SQL all the things\".",
]

# id, name, parent_id (None = root category; written as an empty CSV field)
CATEGORIES = [
    (1, "Mathematics", None), (2, "Science", None), (3, "Programming", None), (4, "Languages", None),
    (5, "Algebra", 1), (6, "Calculus", 1), (7, "Physics", 2), (8, "Chemistry", 2),
    (9, "Python", 3), (10, "SQL", 3), (11, "Spanish", 4), (12, "German", 4),
]
CATEGORY_WEIGHTS = {1: 5, 2: 5, 3: 5, 4: 5, 5: 11, 6: 9, 7: 10, 8: 9, 9: 12, 10: 11, 11: 9, 12: 9}

QUESTION_TEMPLATES = {
    1: ["What is {a}% of {b}?", "Round {a}.{b} to the nearest whole number.", "Is {b} a prime number?"],
    2: ["Which unit measures {u}?", "Name the scientist associated with {s}."],
    3: ["What does the acronym {acr} stand for?", "Which data structure works first-in, first-out?"],
    4: ["Which word is the odd one out: {w}?", "What is the plural of '{n}'?"],
    5: ["Solve for x: {a}x + {b} = {c}.", "Factor x^2 + {s2}x + {p2}.", "Simplify ({a}x + {b}) - ({c}x - {a})."],
    6: ["Differentiate f(x) = {a}x^{e} + {b}x.", "Integrate {a}x^{e} dx.", "Find the limit of ({a}x + {b}) / x as x grows."],
    7: ["A car accelerates at {a} m/s^2 for {b} s from rest. How far does it travel?",
        "What is the weight of a {a} kg mass on Earth (g = 9.81 m/s^2)?"],
    8: ["How many moles are in {a} g of water?", "Balance the equation: H2 + O2 -> H2O (variant {b}).",
        "What is the pH of a 0.{a} M HCl solution?"],
    9: ["What does len(range({a}, {c})) return?", "What is the output of print({a} // {b})?",
        "Which keyword defines a generator function? (item {b})"],
    10: ["Which clause filters groups after GROUP BY? (item {b})", "What does SELECT COUNT(*) FROM t WHERE x > {a} count?",
         "Write a query returning the {a} most recent orders."],
    11: ["Translate into Spanish: 'I have {a} books.'", "Conjugate 'tener' for 'nosotros' (item {b})."],
    12: ["Translate into German: 'I have {a} books.'", "Which article goes with 'Mädchen'? (item {b})"],
}
UNITS = ["force", "energy", "power", "pressure", "charge", "frequency"]
SCIENTISTS = ["relativity", "penicillin", "radioactivity", "evolution", "gravity", "the periodic table"]
ACRONYMS = ["API", "HTTP", "JSON", "SQL", "CPU", "URL", "CSV", "ORM"]
WORDS = ["apple, pear, carrot, plum", "run, swim, blue, jump", "red, green, table, yellow", "cat, dog, cow, chair"]
NOUNS = ["child", "mouse", "analysis", "criterion", "cactus", "person"]

ASSESSMENT_KINDS = ["Placement test", "Checkpoint", "Practice exam", "Final exam", "Quick quiz"]

# id, code, title. Achievement 20 is the retired beta badge the prod migration dropped.
ACHIEVEMENTS = [
    (1, "first_login", "Welcome aboard"), (2, "first_assessment", "First steps"),
    (3, "streak_7", "One-week streak"), (4, "perfect_score", "Flawless"),
    (5, "ten_assessments", "Getting serious"), (6, "night_owl", "Night owl"),
    (7, "early_bird", "Early bird"), (8, "streak_30", "One-month streak"),
    (9, "math_master", "Mathematician"), (10, "science_star", "Scientist"),
    (11, "code_ninja", "Coder"), (12, "polyglot", "Polyglot"),
    (13, "fifty_assessments", "Marathon learner"), (14, "helpful_peer", "Helpful peer"),
    (15, "comeback", "Welcome back"), (16, "speed_runner", "Speed runner"),
    (17, "category_complete", "Completionist"), (18, "streak_100", "Hundred-day streak"),
    (19, "streak_365", "One-year streak"), (20, "beta_tester", "Beta tester (2012)"),
]
ACHIEVEMENT_WEIGHTS = [30, 28, 14, 8, 10, 5, 5, 6, 5, 5, 5, 4, 2, 3, 4, 3, 2, 2, 1]  # ids 1..19

# ---------------------------------------------------------------------------------------------
# Table layout: the column order and the type of every column (for writing and reading back)
# ---------------------------------------------------------------------------------------------

SCHEMA = {
    "users": [("id", "int"), ("email", "text"), ("display_name", "text"), ("password_hash", "text"),
              ("created_at", "text"), ("updated_at", "text"), ("status", "text")],
    "user_profiles": [("user_id", "int"), ("country", "text"), ("locale", "text"), ("bio", "text")],
    "categories": [("id", "int"), ("name", "text"), ("parent_id", "int")],
    "questions": [("id", "int"), ("category_id", "int"), ("difficulty", "text"), ("body", "text"),
                  ("created_at", "text")],
    "assessments": [("id", "int"), ("title", "text"), ("category_id", "int"), ("passing_score", "int"),
                    ("created_at", "text")],
    "user_progress": [("id", "int"), ("user_id", "int"), ("assessment_id", "int"), ("score", "int"),
                      ("completed_at", "text")],
    "achievements": [("id", "int"), ("code", "text"), ("title", "text")],
    "user_achievements": [("user_id", "int"), ("achievement_id", "int"), ("earned_at", "text")],
}

# How each side stores each table: "csv", "ndjson" or ("parts", n).
LAYOUT = {
    "staging": {t: "csv" for t in SCHEMA},
    "prod": {**{t: "csv" for t in SCHEMA}, "user_progress": "ndjson", "questions": ("parts", 2)},
}


def ts_space(d: datetime) -> str:
    """Timestamp as a PostgreSQL `timestamp` column exports it: users.*, questions.created_at."""
    return d.strftime("%Y-%m-%d %H:%M:%S")


def ts_iso(d: datetime) -> str:
    """Timestamp as an ISO-8601 UTC instant: assessments, user_progress, user_achievements."""
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ValueError(f"unparsable timestamp {text!r}")


def between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    return lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds()) + 1))


# ---------------------------------------------------------------------------------------------
# Staging: the clean export
# ---------------------------------------------------------------------------------------------


def bcrypt_like(rng: random.Random) -> str:
    alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "$2b$12$" + "".join(rng.choice(alphabet) for _ in range(53))


def gen_users(rng: random.Random, plan: dict) -> list[dict]:
    span = (LAST_SIGNUP - LAUNCH).total_seconds()
    # Growth: more sign-ups in later years (u ** 0.8 leans towards the end of the span).
    created = sorted(LAUNCH + timedelta(seconds=int(span * rng.random() ** 0.8)) for _ in range(N_USERS))
    used: set[str] = set()
    users = []
    for uid, when in enumerate(created, start=1):
        (first, first_a), (last, last_a) = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = rng.choice(DOMAINS)
        base, email, k = f"{first_a}.{last_a}", f"{first_a}.{last_a}@{domain}", 2
        while email in used:
            email, k = f"{base}{k}@{domain}", k + 1
        used.add(email)
        updated = None if rng.random() < 0.3 else between(rng, when, END)
        users.append({
            "id": uid, "email": email, "display_name": f"{first} {last}",
            "password_hash": bcrypt_like(rng), "created_at": ts_space(when),
            "updated_at": ts_space(updated) if updated else None,
            "status": rng.choices(["active", "suspended", "deleted"], weights=[88, 4, 8])[0],
            "_created": when,
        })
    # Two accounts whose emails differ only in case: distinct in staging, collide in prod.
    lower_id, mixed_id = plan["case_pair"]
    # (A surname outside LAST_NAMES, so no generated address can equal either of them.)
    for uid, email in ((lower_id, "robin.castellano@example.com"), (mixed_id, "Robin.Castellano@example.com")):
        users[uid - 1].update(email=email, display_name="Robin Castellano", status="active")
    # Two plus-addressed emails: the prod migration's validator rejected them and wrote NULL.
    plus = [("sam.okafor+learn@example.org", "Sam Okafor"), ("ines.silva+quiz@example.net", "Ines Silva")]
    for uid, (email, name) in zip(plan["plus_addressed"], plus):
        users[uid - 1].update(email=email, display_name=name, status="active")
    for uid in plan["lost_users"]:
        users[uid - 1]["status"] = "active"
    return users


def gen_profiles(rng: random.Random, users: list[dict]) -> list[dict]:
    profiles = []
    for u in users:
        country, locale, _ = rng.choices(LOCALES, weights=[w for *_, w in LOCALES])[0]
        bio = None if rng.random() < 0.4 else rng.choice(BIOS)  # bio is optional: NULL is fine
        profiles.append({"user_id": u["id"], "country": country, "locale": locale, "bio": bio})
    return profiles


def question_body(rng: random.Random, category_id: int) -> str:
    a, b = rng.randint(2, 9), rng.randint(2, 60)
    s2_roots = (rng.randint(1, 6), rng.randint(1, 6))
    return rng.choice(QUESTION_TEMPLATES[category_id]).format(
        a=a, b=b, c=a * rng.randint(3, 12) + b, e=rng.randint(2, 5),
        s2=sum(s2_roots), p2=s2_roots[0] * s2_roots[1], u=rng.choice(UNITS), s=rng.choice(SCIENTISTS),
        acr=rng.choice(ACRONYMS), w=rng.choice(WORDS), n=rng.choice(NOUNS),
    )


def gen_questions(rng: random.Random) -> list[dict]:
    cats = list(CATEGORY_WEIGHTS)
    created = sorted(between(rng, datetime(2012, 2, 1), datetime(2026, 10, 15)) for _ in range(N_QUESTIONS))
    questions = []
    for qid, when in enumerate(created, start=1):
        cat = rng.choices(cats, weights=[CATEGORY_WEIGHTS[c] for c in cats])[0]
        questions.append({
            "id": qid, "category_id": cat,
            "difficulty": rng.choices(["easy", "medium", "hard"], weights=[40, 40, 20])[0],
            "body": question_body(rng, cat), "created_at": ts_space(when),
        })
    return questions


def gen_assessments(rng: random.Random) -> list[dict]:
    names = {cid: name for cid, name, _ in CATEGORIES}
    created = sorted(between(rng, datetime(2012, 1, 10), datetime(2026, 9, 30)) for _ in range(N_ASSESSMENTS))
    rows, seen = [], {}
    for aid, when in enumerate(created, start=1):
        cat = rng.randint(1, len(CATEGORIES))
        kind = rng.choice(ASSESSMENT_KINDS)
        seen[(cat, kind)] = seen.get((cat, kind), 0) + 1
        rows.append({
            "id": aid, "title": f"{names[cat]}: {kind} {seen[(cat, kind)]}", "category_id": cat,
            "passing_score": rng.choice([50, 60, 65, 70, 75, 80, 85, 90]), "created_at": ts_iso(when),
        })
    return rows


def gen_progress(rng: random.Random, users: list[dict], plan: dict) -> list[dict]:
    lost_counts = dict(zip(plan["lost_users"], [3, 2, 2]))  # 7 rows that become orphans in prod
    attempts = []  # (sort time, row without id)
    for u in users:
        n = lost_counts.get(u["id"]) or rng.choices(range(8), weights=[10, 20, 22, 18, 12, 8, 6, 4])[0]
        for _ in range(n):
            when = between(rng, u["_created"] + timedelta(hours=1), END)
            in_progress = u["id"] not in lost_counts and rng.random() < 0.03
            score = None if in_progress else max(0, min(100, round(rng.gauss(72, 14))))
            attempts.append((when, {"user_id": u["id"], "assessment_id": rng.randint(1, N_ASSESSMENTS),
                                    "score": score, "completed_at": None if in_progress else when}))
    # One guest attempt: guest mode lets anonymous visitors take an assessment (user_id NULL).
    when = datetime(2025, 3, 14, 16, 20, 0)
    attempts.append((when, {"user_id": None, "assessment_id": 7, "score": 64, "completed_at": when}))
    attempts.sort(key=lambda a: a[0])
    rows = []
    for pid, (_, row) in enumerate(attempts, start=1):
        rows.append({"id": pid, **row})
    # Pin the newest completion to END so the freshness window is exact.
    newest = max((r for r in rows if r["completed_at"]), key=lambda r: r["completed_at"])
    newest["completed_at"] = END
    for r in rows:
        r["completed_at"] = ts_iso(r["completed_at"]) if r["completed_at"] else None
    return rows


def weighted_distinct(rng: random.Random, population: list[int], weights: list[int], k: int) -> list[int]:
    chosen: list[int] = []
    while len(chosen) < k:
        pick = rng.choices(population, weights=weights)[0]
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def gen_user_achievements(rng: random.Random, users: list[dict], plan: dict) -> list[dict]:
    earned = []
    ids = list(range(1, 20))
    for u in users:
        if u["id"] in plan["lost_users"]:
            continue  # the lost accounts never earned anything: keeps their story to counts and progress
        k = rng.choices(range(6), weights=[25, 25, 20, 15, 10, 5])[0]
        horizon = min(u["_created"] + timedelta(days=3 * 365), END)
        for aid in weighted_distinct(rng, ids, ACHIEVEMENT_WEIGHTS, k):
            earned.append((between(rng, u["_created"], horizon), u["id"], aid))
    # The retired beta badge: held by exactly two 2012 accounts.
    for uid in plan["beta_testers"]:
        u = users[uid - 1]
        earned.append((between(rng, u["_created"], datetime(2012, 12, 31, 23, 0, 0)), uid, 20))
    earned.sort()
    return [{"user_id": uid, "achievement_id": aid, "earned_at": ts_iso(when)} for when, uid, aid in earned]


def make_plan(rng: random.Random) -> dict:
    """Which rows the defects touch. Chosen up front so the staging generators can keep them clean
    and give them the shape the story needs (e.g. the lost users hold exactly 7 progress rows)."""
    # User ids are assigned in sign-up order; with the growth curve, ids up to ~60 signed up in 2012
    # and ids above ~600 after 2018 (both asserted in build_staging).
    late = list(range(600, 1450))
    picks = rng.sample(late, 7)
    return {
        "lost_users": sorted(picks[:3]),
        "case_pair": (picks[3], picks[4]),
        "plus_addressed": sorted(picks[5:7]),
        "beta_testers": sorted(rng.sample(range(2, 40), 2)),
    }


def build_staging(rng: random.Random) -> tuple[dict, dict]:
    plan = make_plan(rng)
    users = gen_users(rng, plan)
    for uid in plan["beta_testers"]:
        assert users[uid - 1]["_created"].year == 2012, "beta testers must have signed up in 2012"
    for uid in plan["lost_users"] + list(plan["case_pair"]) + plan["plus_addressed"]:
        assert users[uid - 1]["_created"].year >= 2018
    staging = {
        "users": users,
        "user_profiles": gen_profiles(rng, users),
        "categories": [{"id": i, "name": n, "parent_id": p} for i, n, p in CATEGORIES],
        "questions": gen_questions(rng),
        "assessments": gen_assessments(rng),
        "user_progress": gen_progress(rng, users, plan),
        "achievements": [{"id": i, "code": c, "title": t} for i, c, t in ACHIEVEMENTS],
        "user_achievements": gen_user_achievements(rng, users, plan),
    }
    return staging, plan


# ---------------------------------------------------------------------------------------------
# Prod: the migrated export, with defects
# ---------------------------------------------------------------------------------------------


def copy_rows(rows: list[dict]) -> list[dict]:
    return [dict(r) for r in rows]


def build_prod(rng: random.Random, staging: dict, plan: dict) -> tuple[dict, dict]:
    """Apply the migration, defects included. Returns the prod tables and a log of what was done."""
    log: dict = {}
    users = [u for u in copy_rows(staging["users"]) if u["id"] not in plan["lost_users"]]
    log["lost_users"] = plan["lost_users"]
    for u in users:
        if u["email"] and "+" in u["email"]:
            u["email"] = None  # validator rejected plus-addressing
        elif u["email"]:
            u["email"] = u["email"].lower()  # normalisation: makes the case pair collide
    by_id = {u["id"]: u for u in staging["users"]}

    profiles = copy_rows(staging["user_profiles"])  # all 1,500 migrated, 3 now without a user
    legacy = rng.sample([p for p in profiles if p["user_id"] not in plan["lost_users"]], 6)
    for p in legacy:
        p["locale"] = p["locale"].replace("-", "_")  # legacy format not converted
    log["legacy_locales"] = sorted((p["user_id"], p["locale"]) for p in legacy)

    questions = copy_rows(staging["questions"])
    calculus = [q["id"] for q in questions if q["category_id"] == 6]
    lost_q = set(rng.sample(calculus, 18))  # failed batch in the question-bank migration
    questions = [q for q in questions if q["id"] not in lost_q]
    expert = rng.choice([q for q in questions if q["category_id"] == 9 and q["difficulty"] == "hard"])
    expert["difficulty"] = "Expert"  # legacy 4th level not mapped to 'hard'
    log["lost_questions"] = sorted(lost_q)
    log["expert_question"] = expert["id"]

    assessments = copy_rows(staging["assessments"])
    bad = rng.sample(range(1, N_ASSESSMENTS + 1), 2)
    assessments[bad[0] - 1]["passing_score"] = 120
    assessments[bad[1] - 1]["passing_score"] = -5
    log["bad_passing_scores"] = {bad[0]: 120, bad[1]: -5}

    progress = copy_rows(staging["user_progress"])
    # Intended cleanup: abandoned attempts (never completed) of deleted accounts are not migrated.
    purged = [p["id"] for p in progress
              if p["completed_at"] is None and p["user_id"] and by_id[p["user_id"]]["status"] == "deleted"]
    progress = [p for p in progress if p["id"] not in set(purged)]
    log["purged_abandoned_attempts"] = purged
    # Four completed rows whose legacy timestamp was unparsable: the import wrote its fallback date.
    newest = max(p["completed_at"] for p in progress if p["completed_at"])
    candidates = [p for p in progress
                  if p["completed_at"] and p["completed_at"] != newest and p["user_id"]
                  and p["user_id"] not in plan["lost_users"] and by_id[p["user_id"]]["status"] == "active"]
    fallback = rng.sample(candidates, 4)
    for p in fallback:
        p["completed_at"] = ts_iso(FALLBACK_DATE)
    log["fallback_dates"] = sorted(p["id"] for p in fallback)
    log["orphaned_progress"] = sorted(p["id"] for p in progress if p["user_id"] in plan["lost_users"])

    # prod.user_achievements was restored from the legacy gamification backup of 2014-06-30.
    ua = [r for r in copy_rows(staging["user_achievements"]) if parse_ts(r["earned_at"]) <= LEGACY_BACKUP]
    log["stale_user_achievements"] = {"staging_rows": len(staging["user_achievements"]), "prod_rows": len(ua)}

    prod = {
        "users": users,
        "user_profiles": profiles,
        "categories": copy_rows(staging["categories"]),
        "questions": questions,
        "assessments": assessments,
        "user_progress": progress,
        "achievements": [a for a in copy_rows(staging["achievements"]) if a["id"] != 20],  # retired badge dropped
        "user_achievements": ua,
    }
    return prod, log


# ---------------------------------------------------------------------------------------------
# Writing and reading back
# ---------------------------------------------------------------------------------------------


def write_csv(path: Path, table: str, rows: list[dict]) -> None:
    cols = [c for c, _ in SCHEMA[table]]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow(["" if r[c] is None else r[c] for c in cols])


def write_side(root: Path, side: str, tables: dict) -> None:
    d = root / side
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for table, rows in tables.items():
        layout = LAYOUT[side][table]
        if layout == "csv":
            write_csv(d / f"{table}.csv", table, rows)
        elif layout == "ndjson":
            cols = [c for c, _ in SCHEMA[table]]
            with (d / f"{table}.ndjson").open("w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps({c: r[c] for c in cols}, ensure_ascii=False) + "\n")
        else:
            _, n = layout
            (d / table).mkdir()
            size = math.ceil(len(rows) / n)
            for i in range(n):
                write_csv(d / table / f"part-{i}.csv", table, rows[i * size:(i + 1) * size])


def read_table(side_dir: Path, table: str) -> list[dict]:
    """Read one table back the way crosscheck's files source sees it (empty CSV field = NULL)."""
    types = dict(SCHEMA[table])

    def typed(col: str, raw):
        if raw is None or raw == "":
            return None
        return int(raw) if types[col] == "int" else raw

    if (side_dir / f"{table}.ndjson").exists():
        lines = (side_dir / f"{table}.ndjson").read_text(encoding="utf-8").splitlines()
        return [{c: typed(c, v) for c, v in json.loads(line).items()} for line in lines if line]
    files = sorted((side_dir / table).glob("*.csv")) if (side_dir / table).is_dir() else [side_dir / f"{table}.csv"]
    rows = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as f:
            rows += [{c: typed(c, v) for c, v in r.items()} for r in csv.DictReader(f)]
    return rows


def read_side(side_dir: Path) -> dict:
    return {t: read_table(side_dir, t) for t in SCHEMA}


# ---------------------------------------------------------------------------------------------
# Content assets: the platform's public/ folder before and after the content migration
# ---------------------------------------------------------------------------------------------

# assets/<side>/public, each a `tree:` source (one table, `files`). Outside staging/ and prod/:
# a `files:` source would read a sub-folder holding .json files as one table.
ASSET_SIDES = {"staging_assets": "assets/staging/public", "prod_assets": "assets/prod/public"}
ASSET_SEED = SEED + 1  # a generator of its own: the tables above do not change when assets do

# The content defects of prod's public/ (README.md tells the story of each).
MISSING_IMAGE = "images/banners/spring-campaign.jpg"  # not copied to prod
STRAY_IMAGE = "images/tmp-upload.png"  # left behind in prod by an interrupted upload
CORRUPTED_DOCUMENT = "documents/syllabus-chemistry.pdf"  # a 256-byte block zeroed: same size
EXECUTABLE_UPLOAD = "uploads/submissions/assessment-23-user-1187.py"  # mode 755 in prod
BROKEN_CONFIG = "config/feature_flags.json"  # cut off half-way: not JSON any more

# Git records a file's mode as 644 or 755 only; these are the modes the generator sets and
# commits. A checkout gets them narrowed by its umask (664/775 under umask 002).
MODE_FILE, MODE_EXECUTABLE = 0o644, 0o755

BANNERS = ["welcome", "spring-campaign", "exam-season", "summer-school"]
HERO_IMAGES = ["home", "pricing", "about"]
SYLLABI = ["algebra", "calculus", "physics", "chemistry", "python", "sql"]


def zlib_stored(data: bytes) -> bytes:
    """A zlib stream of stored (uncompressed) deflate blocks. zlib.compress would do, but its
    bytes differ between zlib builds (zlib-ng); these are the same everywhere."""
    blocks = [data[i:i + 0xFFFF] for i in range(0, len(data), 0xFFFF)] or [b""]
    out = bytearray(b"\x78\x01")
    for i, block in enumerate(blocks):
        out += bytes([i == len(blocks) - 1]) + struct.pack("<HH", len(block), 0xFFFF ^ len(block)) + block
    return bytes(out + struct.pack(">I", zlib.adler32(data)))


def png(rng: random.Random, width: int = 16, height: int = 16) -> bytes:
    """A small valid PNG (8-bit RGB): a two-colour pattern."""
    fg, bg = bytes(rng.randrange(256) for _ in range(3)), bytes(rng.randrange(256) for _ in range(3))
    cell, shape = rng.choice([2, 4, 8]), rng.randrange(3)

    def pixel(x: int, y: int) -> bytes:
        on = ((x // cell + y // cell) % 2 == 0, x // cell == y // cell, (x // cell) % 2 == 0)[shape]
        return fg if on else bg

    raw = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib_stored(raw)) + chunk(b"IEND", b""))


def jpg_named(rng: random.Random) -> bytes:
    """JPEG-shaped bytes (SOI, a JFIF header, noise, EOI); not a decodable picture."""
    jfif = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + jfif + rng.randbytes(rng.randrange(600, 1400)) + b"\xff\xd9"


def webp_named(rng: random.Random) -> bytes:
    """WebP-shaped bytes (a RIFF/WEBP/VP8 container around noise); not a decodable picture."""
    payload = rng.randbytes(2 * rng.randrange(300, 700))
    return b"RIFF" + struct.pack("<I", 12 + len(payload)) + b"WEBP" + b"VP8 " + struct.pack("<I", len(payload)) + payload


def zip_named(rng: random.Random) -> bytes:
    """ZIP-shaped bytes (a local header, noise, an empty end-of-directory record)."""
    return b"PK\x03\x04" + rng.randbytes(rng.randrange(300, 900)) + b"PK\x05\x06" + bytes(18)


def pdf(title: str, lines: list[str]) -> bytes:
    """A minimal one-page PDF 1.4 with a correct cross-reference table."""
    esc = lambda t: t.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")  # noqa: E731
    text = [f"BT /F1 16 Tf 72 720 Td ({esc(title)}) Tj /F1 11 Tf"]
    text += [f"0 -{28 if i == 0 else 16} Td ({esc(line)}) Tj" for i, line in enumerate(lines)]
    content = ("\n".join(text) + "\nET\n").encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def syllabus(rng: random.Random, subject: str) -> bytes:
    weeks = [f"Week {w}: unit {w} of {subject.title()}, practice set {rng.randint(1, 40)}" for w in range(1, 13)]
    return pdf(f"{subject.title()} - course syllabus",
               ["Example Learning, course material. Assessments count towards the final grade."] + weeks)


def text_file(title: str, paragraphs: list[str]) -> bytes:
    return (title + "\n" + "=" * len(title) + "\n\n" + "\n\n".join(paragraphs) + "\n").encode("utf-8")


def json_file(value) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build_assets() -> dict[str, bytes]:
    """Staging's public/ folder: relative path -> content."""
    rng = random.Random(ASSET_SEED)
    files: dict[str, bytes] = {}
    for _, code, _ in ACHIEVEMENTS:
        files[f"images/badges/{code}.png"] = png(rng)
    for _, name, _ in CATEGORIES:
        files[f"images/categories/{name.lower()}.png"] = png(rng, 24, 16)
    for name in BANNERS:
        files[f"images/banners/{name}.jpg"] = jpg_named(rng)
    for name in HERO_IMAGES:
        files[f"images/hero/{name}.webp"] = webp_named(rng)

    for subject in SYLLABI:
        files[f"documents/syllabus-{subject}.pdf"] = syllabus(rng, subject)
    files["documents/terms-of-service.txt"] = text_file("Terms of service", [
        "By using Example Learning you agree to these terms.",
        "Accounts are personal. Assessment results may be used to recommend further material.",
        "We may suspend accounts that share assessment answers."])
    files["documents/privacy-policy.txt"] = text_file("Privacy policy", [
        "We store your email, display name, locale and the results of the assessments you take.",
        "Guest attempts are stored without a user. You can delete your account at any time."])
    files["documents/accessibility-statement.txt"] = text_file("Accessibility statement", [
        "Every assessment can be taken with a keyboard and a screen reader.",
        "Report a barrier to help@example.com."])
    files["documents/LICENSE"] = text_file("Course material licence", [
        "Course material © 2012-2026 Example Learning. Shared under CC BY-SA 4.0 unless noted."])

    for uid in (70, 513, 698, 1414):
        files[f"uploads/avatars/user-{uid:04d}.png"] = png(rng)
    files["uploads/submissions/assessment-23-user-1187.py"] = (
        "#!/usr/bin/env python3\n\"\"\"Assessment 23, exercise 4: the first n primes.\"\"\"\n\n\n"
        "def primes(n):\n    found = []\n    k = 2\n    while len(found) < n:\n"
        "        if all(k % p for p in found):\n            found.append(k)\n        k += 1\n"
        "    return found\n\n\nprint(primes(10))\n").encode("utf-8")
    files["uploads/submissions/assessment-41-user-0907.py"] = (
        "\"\"\"Assessment 41: what does len(range(3, 12)) return?\"\"\"\n\n"
        "answer = len(range(3, 12))\nassert answer == 9\n").encode("utf-8")
    files["uploads/submissions/assessment-12-user-0244.zip"] = zip_named(rng)
    files["uploads/submissions/assessment-55-user-1302.zip"] = zip_named(rng)
    files["uploads/notes/user-0321-study-plan.txt"] = text_file("Study plan", [
        "Mon: Algebra checkpoint. Wed: SQL quick quiz. Fri: Spanish practice exam.",
        "Goal: keep the streak going until the final exam."])
    files["uploads/certificates/user-0150-sql-basics.pdf"] = pdf(
        "Certificate of completion", ["SQL: Final exam 1", "Passed with a score of 88."])

    files["config/site.json"] = json_file({
        "name": "Example Learning", "base_url": "https://learn.example.com",
        "support_email": "help@example.com", "guest_mode": True, "max_upload_mb": 20})
    files["config/feature_flags.json"] = json_file({
        "new_editor": True, "guest_mode": True, "streak_freeze": False,
        "ai_hints": {"enabled": True, "rollout_percent": 25, "categories": [9, 10]},
        "legacy_badges": {"beta_tester": "hidden"}})
    files["config/locales.json"] = json_file({"default": "en-US", "supported": ACCEPTED_LOCALES})
    files["config/cdn.json"] = json_file({
        "origin": "https://assets.learn.example.com", "cache_seconds": {"images": 604800, "documents": 86400},
        "purge_on_deploy": ["config/*", "documents/*"]})
    files["config/email.json"] = json_file({
        "from": "Example Learning <no-reply@example.com>",
        "templates": {"welcome": "welcome-v3", "password_reset": "reset-v2", "streak_reminder": "streak-v1"}})
    return dict(sorted(files.items()))


def build_prod_assets(staging: dict[str, bytes]) -> tuple[dict[str, bytes], set[str]]:
    """Prod's public/ folder after the content migration, defects included; and the paths
    that are executable in prod."""
    prod = dict(staging)
    del prod[MISSING_IMAGE]
    prod[STRAY_IMAGE] = png(random.Random(ASSET_SEED + 1))
    doc = staging[CORRUPTED_DOCUMENT]
    assert len(doc) > 512
    prod[CORRUPTED_DOCUMENT] = doc[:256] + bytes(256) + doc[512:]  # same size, other bytes
    config = staging[BROKEN_CONFIG]
    prod[BROKEN_CONFIG] = config[: len(config) // 2]  # the write stopped half-way
    return dict(sorted(prod.items())), {EXECUTABLE_UPLOAD}


def write_tree(root: Path, files: dict[str, bytes], executable: set[str]) -> None:
    if root.exists():
        shutil.rmtree(root)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(MODE_EXECUTABLE if rel in executable else MODE_FILE)


def write_assets(root: Path) -> dict:
    staging = build_assets()
    prod, executable = build_prod_assets(staging)
    shutil.rmtree(root / "assets", ignore_errors=True)
    write_tree(root / ASSET_SIDES["staging_assets"], staging, set())
    write_tree(root / ASSET_SIDES["prod_assets"], prod, executable)
    return {"staging_assets": len(staging), "prod_assets": len(prod)}


def json_parses(data: bytes) -> bool:
    """Strict JSON (no NaN/Infinity, no BOM), as a JSON parser such as serde_json reads it."""
    def constant(name):
        raise ValueError(name)
    try:
        json.loads(data.decode("utf-8"), parse_constant=constant)
        return True
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return False


def read_tree(root: Path) -> dict:
    """A tree read back as the table `files`, one row per file (symlinks listed, not followed)."""
    rows = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        st = path.lstat()
        data = None if path.is_symlink() else path.read_bytes()
        ext = path.suffix[1:].lower()
        rows.append({
            "path": path.relative_to(root).as_posix(), "name": path.name, "extension": ext,
            "size": st.st_size, "mode": format(stat.S_IMODE(st.st_mode), "o"),
            "sha256": None if data is None else hashlib.sha256(data).hexdigest(),
            "json_valid": json_parses(data) if ext == "json" and data is not None else None,
        })
    return {"files": rows}


# ---------------------------------------------------------------------------------------------
# Configuration: the platform's settings before and after the move (`config:` sources)
# ---------------------------------------------------------------------------------------------

CONFIG_SIDES = {"staging_config": "config/staging", "prod_config": "config/prod"}

# Staging's settings, the source of truth: an .env, a JSON feature-flag file, a YAML app config
# and a TOML file of rate limits, written as people write them (comments, nesting, a list).
STAGING_CONFIG = {
    ".env": """\
# The platform's environment before the move (the source of truth)
APP_ENV=production
DATABASE_URL=postgres://app@db1.old-dc.example.net:5432/learning
DATABASE_PASSWORD=Kx8-db-pass-2019
SESSION_SECRET=3f9a1c5e7b2d
STRIPE_API_KEY=example-live-key-2019
SMTP_HOST=smtp.example.com
SMTP_PORT=587
CDN_URL=https://cdn.example.com
""",
    "app.yaml": """\
server:
  port: 8080
  workers: 4
payments:
  url: https://payments.example.com/v1
  timeout_ms: 5000
search:
  url: https://search.example.com
  replicas:
    - host: search-1.example.com
    - host: search-2.example.com
""",
    "feature_flags.json": """\
{
  "new_checkout": true,
  "dark_mode": false,
  "beta_quizzes": {
    "enabled": true,
    "rollout_percent": 25
  },
  "maintenance_banner": false
}
""",
    "limits.toml": """\
# Rate limits per plan
[free]
requests_per_minute = 60
max_upload_mb = 10

[pro]
requests_per_minute = 600
max_upload_mb = 100
""",
}

# Prod's settings: staging's with these edits, each (file, text before, text after). The first
# is the move itself (the database moved on purpose); the others are the defects README.md lists.
CONFIG_EDITS = [
    (".env", "before the move (the source of truth)", "after the move"),
    (".env", "db1.old-dc.example.net", "db.eu-west.cloud.example.com"),
    (".env", "SMTP_HOST=smtp.example.com\n", ""),                         # 18: a missing key
    ("feature_flags.json", '"new_checkout": true', '"new_checkout": false'),  # 19: a flag switched off
    ("feature_flags.json", '"dark_mode": false', '"dark_mode": "false"'),     # 20: a flag as text
    ("app.yaml", "https://payments.example.com/v1", "http://localhost:9090/v1"),  # 21: localhost
    ("limits.toml", "max_upload_mb = 100", "max_upload_mb ="),              # 22: cut off
    (".env", "example-live-key-2019", "example-test-key-2026"),            # 23: a secret differs
]


def build_prod_config() -> dict[str, str]:
    prod = dict(STAGING_CONFIG)
    for file, before, after in CONFIG_EDITS:
        assert prod[file].count(before) == 1, (file, before)
        prod[file] = prod[file].replace(before, after)
    return prod


def write_config(root: Path) -> dict:
    shutil.rmtree(root / "config", ignore_errors=True)
    for side, files in (("staging_config", STAGING_CONFIG), ("prod_config", build_prod_config())):
        folder = root / CONFIG_SIDES[side]
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            (folder / name).chmod(MODE_FILE)
    return {side: len(STAGING_CONFIG) for side in CONFIG_SIDES}


# Reading the settings back, independently of crosscheck: one row per leaf setting.


def setting(file: str, key: str, value) -> dict:
    """A leaf as crosscheck's `entries` table holds it: the value as text, the type as written."""
    if isinstance(value, dict) or isinstance(value, list):
        assert not value, (file, key)  # non-empty ones are flattened
        text, kind = ("{}", "object") if isinstance(value, dict) else ("[]", "list")
    elif value is None:
        text, kind = None, "null"
    elif isinstance(value, bool):  # before int: a bool is an int in Python
        text, kind = str(value).lower(), "bool"
    elif isinstance(value, int):
        text, kind = str(value), "number"
    else:
        assert isinstance(value, str), (file, key, value)
        text, kind = value, "string"
    return {"file": file, "key": key, "value": text, "type": kind, "error": None}


def flatten(file: str, value, prefix: str = "") -> list[dict]:
    """Nested keys joined with `.`, list items as `[i]`."""
    if isinstance(value, dict) and value:
        return [row for k, v in value.items() for row in flatten(file, v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(value, list) and value:
        return [row for i, v in enumerate(value) for row in flatten(file, v, f"{prefix}[{i}]")]
    return [setting(file, prefix, value)]


def dotenv_settings(file: str, text: str) -> list[dict]:
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and " " not in key.strip() and not value.startswith(("'", '"')), line
            rows.append(setting(file, key.strip(), value.strip()))
    return rows


def yaml_scalar(text: str):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if text in ("null", "~"):
        return None
    # Quoted, flow, anchored, block or float scalars are past what this reader understands.
    assert not re.fullmatch(r"[-+.\d eE]+|[\[{&*!|>%@`'\"].*|.*(: | #).*|.*:", text), f"unsupported YAML: {text!r}"
    return text


def yaml_block(lines: list[tuple[int, str]], i: int, indent: int):
    """The block of block-style YAML (maps, lists of maps or scalars, plain scalars) that
    starts at line i with that indent: (its value, the line after it)."""
    if lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            rest = lines[i][1][2:]
            if re.match(r"[\w.-]+:", rest):  # `- key: value` opens a map indented past the dash
                lines[i] = (indent + 2, rest)
                item, i = yaml_block(lines, i, indent + 2)
            else:
                item, i = yaml_scalar(rest), i + 1
            items.append(item)
        return items, i
    out: dict = {}
    while i < len(lines) and lines[i][0] == indent:
        m = re.fullmatch(r"([\w.-]+):(?: +(.*))?", lines[i][1])
        assert m, f"unsupported YAML line: {lines[i][1]!r}"
        key, value = m.group(1), m.group(2)
        i += 1
        nested = i < len(lines) and (lines[i][0] > indent or (lines[i][0] == indent and lines[i][1].startswith("- ")))
        if value is None and nested:
            out[key], i = yaml_block(lines, i, lines[i][0])
        else:
            out[key] = None if value is None else yaml_scalar(value)
    assert i == len(lines) or lines[i][0] < indent, f"unexpected indent at {lines[i][1]!r}"
    return out, i


def yaml_settings(file: str, text: str) -> list[dict]:
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines()
             if raw.strip() and not raw.lstrip().startswith("#")]
    value, _ = yaml_block(lines, 0, 0) if lines else (None, 0)
    return flatten(file, value)


def read_config(folder: Path) -> dict:
    """A config folder read back as the table `entries`; a file that does not parse is one
    row with `error` set."""
    rows = []
    for path in sorted(folder.iterdir()):
        text, file = path.read_text(encoding="utf-8"), path.name
        try:
            if file == ".env":
                rows += dotenv_settings(file, text)
            elif path.suffix == ".yaml":
                rows += yaml_settings(file, text)
            elif path.suffix == ".json":
                rows += flatten(file, json.loads(text))
            elif path.suffix == ".toml":
                rows += flatten(file, tomllib.loads(text))
            else:
                raise AssertionError(f"{path}: not a configuration file the oracle reads")
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
            rows.append({"file": file, "key": None, "value": None, "type": None, "error": str(e)})
    return {"entries": rows}


# ---------------------------------------------------------------------------------------------
# The oracle: every rule of rules/*.yaml, mirrored field by field and evaluated in Python
# ---------------------------------------------------------------------------------------------


def score_in_range(r: dict):
    return None if r["score"] is None else 0 <= r["score"] <= 100


def passing_score_in_range(r: dict):
    return None if r["passing_score"] is None else 0 <= r["passing_score"] <= 100


def completed_before_signup(db) -> list:
    users = {u["id"]: u for u in db("prod.users")}
    out = []
    for p in db("prod.user_progress"):
        u = users.get(p["user_id"])
        if u and p["completed_at"] and parse_ts(p["completed_at"]) < parse_ts(u["created_at"]):
            out.append(p)
    return out


def assessments_without_questions(db) -> list:
    cats = {q["category_id"] for q in db("prod.questions")}
    return [a for a in db("prod.assessments") if a["category_id"] not in cats]


# Keys starting with "_" are the Python side of a rule (never in YAML). Every other key must
# match the YAML exactly; `description`, `tags`, `sample`, and the text of `sql` are YAML-only.
ORACLE = [
    # counts.yaml
    {"name": "users_count_match", "type": "row_count_match", "source": "staging.users", "target": "prod.users"},
    {"name": "user_profiles_count_match", "type": "row_count_match",
     "source": "staging.user_profiles", "target": "prod.user_profiles"},
    {"name": "questions_per_category", "type": "row_count_match", "source": "staging.questions",
     "target": "prod.questions", "group_by": ["category_id"]},
    {"name": "progress_count_match", "type": "row_count_match", "source": "staging.user_progress",
     "target": "prod.user_progress", "tolerance": "1%"},
    {"name": "question_bank_size", "type": "row_count", "table": "prod.questions", "min": 1000, "max": 5000},
    # integrity.yaml
    {"name": "users_required_fields", "type": "not_null", "table": "prod.users", "columns": ["id", "email"]},
    {"name": "profiles_required_fields", "type": "not_null", "table": "prod.user_profiles",
     "columns": ["user_id", "country", "locale"]},
    {"name": "user_email_unique", "type": "unique", "table": "prod.users", "columns": ["email"]},
    {"name": "user_achievement_once", "type": "unique", "table": "prod.user_achievements",
     "columns": ["user_id", "achievement_id"]},
    {"name": "progress_user_exists", "type": "foreign_key",
     "child": "prod.user_progress(user_id)", "parent": "prod.users(id)"},
    {"name": "progress_assessment_in_staging", "type": "foreign_key",
     "child": "prod.user_progress(assessment_id)", "parent": "staging.assessments(id)"},
    {"name": "achievement_exists", "type": "foreign_key",
     "child": "prod.user_achievements(achievement_id)", "parent": "prod.achievements(id)"},
    {"name": "question_category_exists", "type": "foreign_key",
     "child": "prod.questions(category_id)", "parent": "prod.categories(id)"},
    {"name": "category_parent_exists", "type": "foreign_key",
     "child": "prod.categories(parent_id)", "parent": "prod.categories(id)"},
    {"name": "profile_user_exists", "type": "foreign_key", "severity": "warn",
     "child": "prod.user_profiles(user_id)", "parent": "prod.users(id)"},
    # content_quality.yaml
    {"name": "question_difficulty_valid", "type": "accepted_values", "table": "prod.questions",
     "column": "difficulty", "values": ["easy", "medium", "hard"]},
    {"name": "profile_locale_known", "type": "accepted_values", "table": "prod.user_profiles",
     "column": "locale", "values": ACCEPTED_LOCALES, "max_violations": "1%"},
    {"name": "passing_score_in_range", "type": "expect", "table": "prod.assessments",
     "condition": "passing_score BETWEEN 0 AND 100", "_check": passing_score_in_range},
    {"name": "progress_score_in_range", "type": "expect", "table": "prod.user_progress",
     "condition": "score BETWEEN 0 AND 100", "where": "completed_at IS NOT NULL",
     "_check": score_in_range, "_where": lambda r: r["completed_at"] is not None},
    # business.yaml
    {"name": "completed_before_signup", "type": "sql", "query": "completed_before_signup.sql", "on": "prod",
     "_rows": completed_before_signup},
    {"name": "assessments_have_questions", "type": "sql", "on": "prod", "_rows": assessments_without_questions},
    # freshness.yaml
    {"name": "staging_progress_fresh", "type": "freshness", "table": "staging.user_progress",
     "column": "completed_at", "max_age": "3650d"},
    {"name": "prod_progress_fresh", "type": "freshness", "table": "prod.user_progress",
     "column": "completed_at", "max_age": "3650d"},
    {"name": "prod_achievements_fresh", "type": "freshness", "table": "prod.user_achievements",
     "column": "earned_at", "max_age": "3650d"},
    # content.yaml (the tree sources staging_assets and prod_assets)
    {"name": "image_counts_per_extension", "type": "row_count_match", "source": "staging_assets.files",
     "target": "prod_assets.files", "group_by": ["extension"], "where": "path LIKE 'images/%'",
     "_where": lambda r: r["path"].startswith("images/")},
    {"name": "uploads_not_executable", "type": "expect", "table": "prod_assets.files",
     "condition": "mode IN ('644', '664')", "where": "path LIKE 'uploads/%'",
     "_check": lambda r: r["mode"] in ("644", "664"), "_where": lambda r: r["path"].startswith("uploads/")},
    {"name": "config_json_valid", "type": "expect", "table": "prod_assets.files", "condition": "json_valid",
     "where": "extension = 'json'", "_check": lambda r: r["json_valid"], "_where": lambda r: r["extension"] == "json"},
    {"name": "staging_config_json_valid", "type": "expect", "table": "staging_assets.files",
     "condition": "json_valid", "where": "extension = 'json'",
     "_check": lambda r: r["json_valid"], "_where": lambda r: r["extension"] == "json"},
    {"name": "assets_match_staging", "type": "diff", "source": "staging_assets.files",
     "target": "prod_assets.files", "key": ["path"], "columns": ["sha256", "size"]},
    # config.yaml (the config sources staging_config and prod_config)
    {"name": "prod_has_staging_settings", "type": "diff", "source": "staging_config.entries",
     "target": "prod_config.entries", "key": ["file", "key"], "columns": ["value", "type"],
     "where": "key IS NOT NULL AND key <> 'DATABASE_URL'",
     "_where": lambda r: r["key"] is not None and r["key"] != "DATABASE_URL"},
    {"name": "config_files_parse", "type": "expect", "table": "prod_config.entries", "condition": "error IS NULL",
     "_check": lambda r: r["error"] is None},
    {"name": "no_localhost_in_prod", "type": "expect", "table": "prod_config.entries", "where": "value IS NOT NULL",
     "condition": "value NOT LIKE '%localhost%' AND value NOT LIKE '%127.0.0.1%'",
     "_check": lambda r: "localhost" not in r["value"] and "127.0.0.1" not in r["value"],
     "_where": lambda r: r["value"] is not None},
    {"name": "flags_are_booleans", "type": "expect", "table": "prod_config.entries",
     "where": "file = 'feature_flags.json' AND key NOT LIKE '%rollout_percent'", "condition": "type = 'bool'",
     "_check": lambda r: None if r["type"] is None else r["type"] == "bool",
     "_where": lambda r: r["file"] == "feature_flags.json" and r["key"] is not None
     and not r["key"].endswith("rollout_percent")},
    {"name": "ports_are_numbers", "type": "expect", "table": "prod_config.entries", "where": "lower(key) LIKE '%port'",
     "condition": "regexp_like(value, '^[0-9]{1,5}$') AND CAST(value AS BIGINT) BETWEEN 1 AND 65535",
     "_check": lambda r: None if r["value"] is None else bool(re.fullmatch(r"[0-9]{1,5}", r["value"]))
     and 1 <= int(r["value"]) <= 65535,
     "_where": lambda r: r["key"] is not None and r["key"].lower().endswith("port")},
    {"name": "required_settings", "type": "required_keys", "table": "prod_config.entries",
     "keys": ["DATABASE_URL", "DATABASE_PASSWORD", "SESSION_SECRET", "STRIPE_API_KEY", "SMTP_HOST", "payments.url"]},
]


def parse_ref(ref: str) -> tuple[str, list[str]]:
    """'prod.user_progress(user_id)' -> ('prod.user_progress', ['user_id'])."""
    m = re.fullmatch(r"([\w.]+)\(([^)]*)\)", ref.replace(" ", ""))
    assert m, ref
    return m.group(1), m.group(2).split(",")


def parse_duration(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+)([mhd])", text)
    assert m, text
    return timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})


def allowed(max_violations, rows_checked: int) -> int:
    if max_violations is None:
        return 0
    if isinstance(max_violations, str) and max_violations.endswith("%"):
        return math.floor(Fraction(max_violations[:-1]) / 100 * rows_checked)
    return int(max_violations)


def evaluate(rule: dict, db, now: datetime) -> dict:
    """Violations and rows checked of one rule, with the semantics of CONTRACT.md §3."""
    t = rule["type"]
    where = rule.get("_where", lambda r: True)
    rows = lambda ref: [r for r in db(ref) if where(r)]  # noqa: E731 - `where` applies to both sides
    if t == "row_count":
        n = len(rows(rule["table"]))
        return {"violations": int(not rule.get("min", 0) <= n <= rule.get("max", math.inf)), "checked": n}
    if t == "row_count_match":
        keys = rule.get("group_by", [])
        count = lambda ref: _group_counts(rows(ref), keys)  # noqa: E731
        src, tgt = count(rule["source"]), count(rule["target"])
        tol = rule.get("tolerance", 0)
        bad = 0
        for g in set(src) | set(tgt):
            s, c = src.get(g, 0), tgt.get(g, 0)
            limit = Fraction(tol[:-1]) / 100 * s if isinstance(tol, str) else tol
            bad += (g not in src or g not in tgt) or abs(s - c) > limit
        return {"violations": bad, "checked": sum(src.values())}
    if t == "not_null":
        data = rows(rule["table"])
        return {"violations": sum(any(r[c] is None for c in rule["columns"]) for r in data), "checked": len(data)}
    if t == "unique":
        data = rows(rule["table"])
        keys = [tuple(r[c] for c in rule["columns"]) for r in data]
        counts: dict = {}
        for k in keys:
            if None not in k:
                counts[k] = counts.get(k, 0) + 1
        return {"violations": sum(n for n in counts.values() if n > 1), "checked": len(data)}
    if t == "accepted_values":
        data = rows(rule["table"])
        col, ok = rule["column"], set(rule["values"])
        return {"violations": sum(r[col] is not None and r[col] not in ok for r in data), "checked": len(data)}
    if t == "expect":
        data = rows(rule["table"])
        return {"violations": sum(rule["_check"](r) is not True for r in data), "checked": len(data)}
    if t == "foreign_key":
        (child, ccols), (parent, pcols) = parse_ref(rule["child"]), parse_ref(rule["parent"])
        have = {tuple(r[c] for c in pcols) for r in db(parent) if where(r)}
        data = rows(child)
        keys = [tuple(r[c] for c in ccols) for r in data]
        return {"violations": sum(None not in k and k not in have for k in keys), "checked": len(data)}
    if t == "required_keys":
        # A key no row has, or whose every value is empty or NULL.
        data = rows(rule["table"])
        is_set = {r["key"] for r in data if r["value"] not in (None, "")}
        return {"violations": sum(k not in is_set for k in rule["keys"]), "checked": len(rule["keys"])}
    if t == "sql":
        return {"violations": len(rule["_rows"](db)), "checked": None}
    if t == "freshness":
        values = [parse_ts(r[rule["column"]]) for r in rows(rule["table"]) if r[rule["column"]] is not None]
        stale = not values or max(values) < now - parse_duration(rule["max_age"])
        return {"violations": int(stale), "checked": len(values), "newest": max(values) if values else None}
    if t == "diff":
        # Rows only in source + rows only in target + changed rows (a compared column differs).
        def keyed(ref: str) -> dict:
            data = rows(ref)
            out = {tuple(r[k] for k in rule["key"]): r for r in data}
            assert len(out) == len(data), f"{rule['name']}: duplicate keys in {ref}"
            return out

        src, tgt = keyed(rule["source"]), keyed(rule["target"])
        columns: dict = {}
        for k in sorted(src.keys() & tgt.keys()):
            for c in rule["columns"]:
                if src[k][c] != tgt[k][c]:
                    columns[c] = columns.get(c, 0) + 1
        changed = sum(any(src[k][c] != tgt[k][c] for c in rule["columns"]) for k in src.keys() & tgt.keys())
        diff = {"only_in_source": len(src.keys() - tgt.keys()), "only_in_target": len(tgt.keys() - src.keys()),
                "changed": changed, "duplicate_keys": 0, "columns": dict(sorted(columns.items()))}
        return {"violations": diff["only_in_source"] + diff["only_in_target"] + changed,
                "checked": len(src), "diff": diff}
    raise AssertionError(f"no oracle for rule type {t}")


def _group_counts(rows: list[dict], keys: list[str]) -> dict:
    out: dict = {}
    for r in rows:
        g = tuple(r[k] for k in keys)
        out[g] = out.get(g, 0) + 1
    return out


def verdict(rule: dict, result: dict) -> str:
    limit = allowed(rule.get("max_violations"), result["checked"] or 0)
    if result["violations"] <= limit:
        return "pass"
    return "warn" if rule.get("severity", "error") == "warn" else "fail"


# ---------------------------------------------------------------------------------------------
# Reading the rule files (just enough YAML for the flat shape our rule files use)
# ---------------------------------------------------------------------------------------------

YAML_ONLY = {"description", "tags", "sample", "sql"}


def parse_scalar(text: str):
    text = re.sub(r"\s+#.*$", "", text) if not text.startswith(('"', "'")) else text
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [parse_scalar(x.strip()) for x in inner.split(",")] if inner else []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def load_rule_files() -> list[dict]:
    rules: list[dict] = []
    for path in sorted(RULES_DIR.rglob("*.yaml")):
        cur, item_indent, block = None, None, None
        for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.rstrip()
            indent = len(line) - len(line.lstrip())
            if block and (not line.strip() or indent > item_indent):
                cur[block] += line.strip() + "\n"
                continue
            block = None
            if not line.strip() or line.lstrip().startswith("#") or line.strip() == "rules:":
                continue
            m = re.match(r"^(\s*)- name:\s*(\S+)$", line)
            if m:
                cur = {"name": m.group(2), "_file": path.relative_to(REPO).as_posix()}
                rules.append(cur)
                item_indent = len(m.group(1)) + 2
                continue
            m = re.match(r"^\s*([a-z_]+):\s*(.*)$", line)
            if not (cur and m and indent == item_indent):
                sys.exit(f"{path}:{lineno}: generate.py's rule reader does not understand: {raw!r}")
            key, val = m.group(1), m.group(2).strip()
            if val in ("|", "|-", ">", ">-"):
                cur[key], block = "", key
            else:
                cur[key] = parse_scalar(val)
    return rules


def check_rules_match_oracle(yaml_rules: list[dict]) -> None:
    problems = []
    names = [r["name"] for r in yaml_rules]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        problems.append(f"duplicate rule names: {sorted(dupes)}")
    oracle = {r["name"]: r for r in ORACLE}
    if set(names) != set(oracle):
        problems.append(f"only in rules/: {sorted(set(names) - set(oracle))}; "
                        f"only in generate.py: {sorted(set(oracle) - set(names))}")
    for y in yaml_rules:
        o = oracle.get(y["name"])
        if o is None:
            continue
        for field in ("description", "tags"):
            if field not in y:
                problems.append(f"{y['name']}: no `{field}`")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", y["name"]):
            problems.append(f"{y['name']}: not snake_case")
        keys = {k for k in y if not k.startswith("_")} - YAML_ONLY
        okeys = {k for k in o if not k.startswith("_")}
        for k in sorted(keys | okeys):
            yv, ov = y.get(k, "error" if k == "severity" else None), o.get(k, "error" if k == "severity" else None)
            if yv != ov:
                problems.append(f"{y['name']}.{k}: rules/ says {yv!r}, generate.py says {ov!r}")
        if y["type"] == "sql" and ("sql" in y) == ("query" in y):
            problems.append(f"{y['name']}: a sql rule needs exactly one of `sql` and `query`")
        if "query" in y and not (QUERIES_DIR / y["query"]).is_file():
            problems.append(f"{y['name']}: queries/{y['query']} does not exist")
    if problems:
        sys.exit("rules/*.yaml and generate.py's oracle disagree:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# expected.json
# ---------------------------------------------------------------------------------------------


def compute_expected(root: Path) -> dict:
    yaml_rules = load_rule_files()
    check_rules_match_oracle(yaml_rules)
    data = {side: read_side(root / side) for side in ("staging", "prod")}
    data.update({side: read_tree(root / folder) for side, folder in ASSET_SIDES.items()})
    data.update({side: read_config(root / folder) for side, folder in CONFIG_SIDES.items()})
    staging_of = {"prod": "staging", "prod_assets": "staging_assets", "prod_config": "staging_config"}

    def db_for(substitute_prod: bool):
        def db(ref: str) -> list[dict]:
            side, table = ref.split(".", 1)
            return data[staging_of.get(side, side) if substitute_prod else side][table]
        return db

    oracle = {r["name"]: r for r in ORACLE}
    rules_out, lower, upper = {}, datetime.min, datetime.max
    for y in yaml_rules:
        rule = oracle[y["name"]]
        result = evaluate(rule, db_for(False), REFERENCE_NOW)
        rules_out[rule["name"]] = {"status": verdict(rule, result), "violations": result["violations"]}
        if "diff" in result:
            rules_out[rule["name"]]["diff"] = result["diff"]
        if rule["type"] == "freshness":
            # The verdict holds while `now` stays on the same side of newest + max_age.
            edge = result["newest"] + parse_duration(rule["max_age"])
            if result["violations"]:
                lower = max(lower, edge)
            else:
                upper = min(upper, edge)
        # Staging is clean: every rule, pointed at staging only, passes with no violation at all.
        clean = evaluate(rule, db_for(True), REFERENCE_NOW)
        assert clean["violations"] == 0, f"{rule['name']} has {clean['violations']} violations on staging"
    assert lower < REFERENCE_NOW <= upper, (lower, upper)

    statuses = [r["status"] for r in rules_out.values()]
    summary = {"total": len(statuses), "passed": statuses.count("pass"), "failed": statuses.count("fail"),
               "warned": statuses.count("warn"), "errored": 0}
    return {
        "comment": "Written by examples/learning-platform/generate.py from the data it wrote; do not edit.",
        "exit_code": 1 if summary["failed"] else 0,
        "summary": summary,
        "freshness_verdicts_hold": {"after": ts_iso(lower), "until": ts_iso(upper)},
        "rules": rules_out,
    }


def generate(root: Path) -> dict:
    rng = random.Random(SEED)
    staging, plan = build_staging(rng)
    prod, log = build_prod(rng, staging, plan)
    write_side(root, "staging", staging)
    write_side(root, "prod", prod)
    assets = write_assets(root)
    assets.update(write_config(root))
    log["content"] = {"missing_image": MISSING_IMAGE, "stray_image": STRAY_IMAGE,
                      "corrupted_document": CORRUPTED_DOCUMENT, "executable_upload": EXECUTABLE_UPLOAD,
                      "broken_config": BROKEN_CONFIG}
    expected = compute_expected(root)
    (root / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    return {"plan": plan, "log": log, "expected": expected, "assets": assets,
            "rows": {side: {t: len(v) for t, v in tables.items()} for side, tables in
                     (("staging", staging), ("prod", prod))}}


def compare_trees(a: Path, b: Path) -> list[str]:
    diffs = []
    names = lambda root: {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}  # noqa: E731
    # What git records of a file: its bytes, and whether it is executable.
    executable = lambda p: bool(p.stat().st_mode & stat.S_IXUSR)  # noqa: E731
    for sub in ("staging", "prod", *ASSET_SIDES.values(), *CONFIG_SIDES.values()):
        left, right = names(a / sub), names(b / sub)
        diffs += [f"{sub}/{n}: missing or extra" for n in sorted(left ^ right)]
        diffs += [f"{sub}/{n}: differs" for n in sorted(left & right)
                  if not filecmp.cmp(a / sub / n, b / sub / n, shallow=False)]
        diffs += [f"{sub}/{n}: executable bit differs" for n in sorted(left & right)
                  if executable(a / sub / n) != executable(b / sub / n)]
    for top, sides in (("assets", ASSET_SIDES), ("config", CONFIG_SIDES)):
        left, right = names(a / top), names(b / top)
        diffs += [f"{top}/{n}: missing or extra" for n in sorted(left ^ right)
                  if not any(f"{top}/{n}".startswith(f + "/") for f in sides.values())]
    if not filecmp.cmp(a / "expected.json", b / "expected.json", shallow=False):
        diffs.append("expected.json: differs")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare")
    ap.add_argument("--verbose", "-v", action="store_true", help="print which rows each defect touched")
    args = ap.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            diffs = compare_trees(Path(tmp), HERE)
        print("\n".join(diffs) if diffs else "committed files match generate.py")
        return 1 if diffs else 0
    info = generate(HERE)
    for side, counts in info["rows"].items():
        print(f"{side:8} " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    print("files    " + ", ".join(f"{side} {n}" for side, n in info["assets"].items()))
    if args.verbose:
        print(json.dumps({"plan": info["plan"], "defects": info["log"]}, indent=1, default=str))
    for name, r in info["expected"]["rules"].items():
        print(f"  {r['status']:4}  {r['violations']:>3}  {name}")
    print(f"expected exit code {info['expected']['exit_code']}; wrote {HERE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
