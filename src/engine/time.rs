//! Instants from query results: timestamps (naive ones read as UTC), dates and ISO text.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// The instant a value stands for, if it is one.
pub fn parse_instant(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    // Arrow's text for a timestamp with a zone: `2026-11-20T14:03:00+00:00` or `…Z`.
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `3d 4h`, `12y 40d`, `15m`: an age for people.
pub fn human_age(age: chrono::Duration) -> String {
    let secs = age.num_seconds();
    if secs < 0 {
        return format!("{} in the future", human_age(-age));
    }
    let (days, rem) = (secs / 86400, secs % 86400);
    match (days / 365, days % 365, rem / 3600, (rem % 3600) / 60) {
        (y, d, _, _) if y > 0 => format!("{y}y {d}d"),
        (_, d, h, _) if d > 0 => format!("{d}d {h}h"),
        (_, _, h, m) if h > 0 => format!("{h}h {m}m"),
        (_, _, _, m) => format!("{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let expect = "2026-11-20T14:03:00Z";
        for text in [
            "2026-11-20T14:03:00Z",
            "2026-11-20 14:03:00",
            "2026-11-20T15:03:00+01:00",
            "2026-11-20T14:03:00",
        ] {
            let t = parse_instant(&Value::String(text.into())).unwrap();
            assert_eq!(
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expect,
                "{text}"
            );
        }
        assert!(parse_instant(&Value::String("2026-11-20".into())).is_some());
        assert!(parse_instant(&Value::String("yesterday".into())).is_none());
        assert!(parse_instant(&Value::Null).is_none());
    }

    #[test]
    fn ages() {
        assert_eq!(human_age(chrono::Duration::minutes(15)), "15m");
        assert_eq!(human_age(chrono::Duration::hours(50)), "2d 2h");
        assert_eq!(human_age(chrono::Duration::days(800)), "2y 70d");
    }
}
