//! Connection settings read the way libpq reads them: a URL or `key=value` string first,
//! then `PG*` environment variables, then defaults; the password from `~/.pgpass` (or
//! `PGPASSFILE`) when none was given. tokio-postgres parses only part of this, so it is ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a connection's start-up may take when `connect_timeout` is not given.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A larger `connect_timeout` (a year) is taken as this, so adding it to an instant cannot
/// overflow.
const MAX_CONNECT_TIMEOUT_SECS: u64 = 365 * 86400;

/// `sslmode` as libpq defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "invalid sslmode `{other}` (expected disable, allow, prefer, require, verify-ca or verify-full)"
                ));
            }
        })
    }
}

/// Everything needed to connect, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnInfo {
    /// Host names, addresses, or Unix-socket folders (starting with `/`).
    pub hosts: Vec<String>,
    /// `hostaddr`: the addresses to connect to, while `hosts` stay the names TLS verifies.
    pub hostaddrs: Vec<std::net::IpAddr>,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    /// The bound on each host's start-up; `None` only for `connect_timeout=0` (no limit).
    pub connect_timeout: Option<Duration>,
    pub application_name: String,
    pub options: Option<String>,
}

/// Where defaults come from: the environment and the home folder (injectable for tests).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub home: Option<PathBuf>,
    pub os_user: Option<String>,
}

impl Environment<'_> {
    pub fn process() -> Environment<'static> {
        Environment {
            var: &|name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            home: std::env::var_os("HOME").map(PathBuf::from),
            os_user: std::env::var("USER")
                .ok()
                .or_else(|| std::env::var("LOGNAME").ok()),
        }
    }
}

const KEYS: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("dbname", "PGDATABASE"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("application_name", "PGAPPNAME"),
    ("options", "PGOPTIONS"),
    ("passfile", "PGPASSFILE"),
];

/// A connection string, or a setting it names, that cannot be used; worded for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnInfoError(pub String);

/// Parses `conn` (URL or key=value) and fills the gaps from `env`.
pub fn resolve(conn: &str, env: &Environment) -> Result<ConnInfo, ConnInfoError> {
    resolve_text(conn, env).map_err(ConnInfoError)
}

fn resolve_text(conn: &str, env: &Environment) -> Result<ConnInfo, String> {
    let mut given = if crate::config::is_postgres_url(conn) {
        parse_url(conn)?
    } else {
        parse_key_values(conn)?
    };
    if let Some(service) = given.get("service") {
        return Err(format!(
            "connection services (`service={service}`) are not supported; give host, port and dbname"
        ));
    }
    for (key, var) in KEYS {
        if !given.contains_key(*key)
            && let Some(value) = (env.var)(var)
        {
            given.insert(key.to_string(), value);
        }
    }
    if let Some(unknown) = given.keys().find(|k| !KEYS.iter().any(|(key, _)| key == k)) {
        return Err(format!("unknown connection parameter `{unknown}`"));
    }
    build(given, env)
}

fn build(mut given: BTreeMap<String, String>, env: &Environment) -> Result<ConnInfo, String> {
    let hostaddrs: Vec<std::net::IpAddr> = match given.remove("hostaddr") {
        Some(a) => a
            .split(',')
            .map(|a| {
                a.trim()
                    .parse()
                    .map_err(|_| format!("invalid hostaddr `{a}` (an IP address)"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![],
    };
    let hosts: Vec<String> = match given.remove("host") {
        Some(h) => h.split(',').map(str::to_string).collect(),
        None if !hostaddrs.is_empty() => hostaddrs.iter().map(|a| a.to_string()).collect(),
        None => vec![default_host()],
    };
    let port = match given.remove("port") {
        Some(p) => p
            .split(',')
            .next()
            .unwrap_or("")
            .parse()
            .map_err(|_| format!("invalid port `{p}`"))?,
        None => 5432,
    };
    let user = given
        .remove("user")
        .or_else(|| env.os_user.clone())
        .ok_or("no user given and none can be derived (set user or PGUSER)")?;
    let dbname = given.remove("dbname").unwrap_or_else(|| user.clone());
    let sslmode = SslMode::parse(&given.remove("sslmode").unwrap_or_else(|| "prefer".into()))?;
    let connect_timeout = match given.remove("connect_timeout") {
        Some(t) => {
            let secs: u64 = t
                .trim()
                .parse()
                .map_err(|_| format!("invalid connect_timeout `{t}` (seconds)"))?;
            // libpq's meanings: 0 waits for ever, and less than 2 seconds is 2.
            (secs > 0).then(|| Duration::from_secs(secs.clamp(2, MAX_CONNECT_TIMEOUT_SECS)))
        }
        // libpq waits for ever; crosscheck would rather end in a clear error.
        None => Some(DEFAULT_CONNECT_TIMEOUT),
    };
    let home_pg = |name: &str| env.home.as_ref().map(|h| h.join(".postgresql").join(name));
    let sslrootcert = given
        .remove("sslrootcert")
        .map(PathBuf::from)
        .or_else(|| home_pg("root.crt").filter(|p| p.exists()));
    let sslcert = given
        .remove("sslcert")
        .map(PathBuf::from)
        .or_else(|| home_pg("postgresql.crt").filter(|p| p.exists()));
    let sslkey = given
        .remove("sslkey")
        .map(PathBuf::from)
        .or_else(|| home_pg("postgresql.key").filter(|p| p.exists()));
    let passfile = given
        .remove("passfile")
        .map(PathBuf::from)
        .or_else(|| env.home.as_ref().map(|h| h.join(".pgpass")));
    let mut info = ConnInfo {
        hosts,
        hostaddrs,
        port,
        user,
        password: given.remove("password"),
        dbname,
        sslmode,
        sslrootcert,
        sslcert,
        sslkey,
        connect_timeout,
        application_name: given
            .remove("application_name")
            .unwrap_or_else(|| "crosscheck".into()),
        options: given.remove("options"),
    };
    if info.password.is_none()
        && let Some(file) = passfile
    {
        info.password = pgpass_lookup(&file, &info);
    }
    Ok(info)
}

/// libpq's default: the Unix socket folder when it exists, else localhost.
fn default_host() -> String {
    ["/var/run/postgresql", "/tmp"]
        .iter()
        .find(|d| Path::new(d).join(".s.PGSQL.5432").exists())
        .map(|d| d.to_string())
        .unwrap_or_else(|| "localhost".into())
}

fn parse_url(url: &str) -> Result<BTreeMap<String, String>, String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    let mut out = BTreeMap::new();
    let (userinfo, hostlist) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            out.insert("user".into(), percent_decode(user)?);
        }
        if let Some(p) = password {
            out.insert("password".into(), percent_decode(p)?);
        }
    }
    if !hostlist.is_empty() {
        let (mut hosts, mut ports) = (Vec::new(), Vec::new());
        for part in hostlist.split(',') {
            let (host, port) = split_host_port(part)?;
            if !host.is_empty() {
                hosts.push(percent_decode(&host)?);
            }
            ports.extend(port);
        }
        if !hosts.is_empty() {
            out.insert("host".into(), hosts.join(","));
        }
        if let Some(port) = ports.first() {
            out.insert("port".into(), port.clone());
        }
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        out.insert("dbname".into(), percent_decode(db)?);
    }
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("invalid URL parameter `{pair}`"))?;
        out.insert(percent_decode(k)?, percent_decode(v)?);
    }
    Ok(out)
}

/// `host`, `host:port`, `[::1]:port`.
fn split_host_port(part: &str) -> Result<(String, Option<String>), String> {
    if let Some(rest) = part.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("invalid host `{part}`"))?;
        return Ok((
            host.to_string(),
            after.strip_prefix(':').map(str::to_string),
        ));
    }
    Ok(match part.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), Some(p.to_string())),
        None => (part.to_string(), None),
    })
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("invalid percent-encoding in `{text}`"))?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("invalid percent-encoding in `{text}`"))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{text}` does not decode to UTF-8"))
}

/// `host=db port=5432 user='a b'` with libpq's quoting (`\'` and `\\` inside quotes).
fn parse_key_values(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(format!(
                "expected `key=value` in the connection string, found `{key}` without `=`"
            ));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("unterminated quoted value for `{key}`")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        out.insert(key, value);
    }
}

/// The password for `info` from a pgpass file, which libpq ignores when group or others
/// can read it.
pub fn pgpass_lookup(file: &Path, info: &ConnInfo) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let host = info
        .hosts
        .first()
        .map(String::as_str)
        .unwrap_or("localhost");
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    let port = info.port.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass_line(line);
            let [h, p, d, u, password] = fields.as_slice() else {
                return None;
            };
            let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
            (matches(h, host)
                && matches(p, &port)
                && matches(d, &info.dbname)
                && matches(u, &info.user))
            .then(|| password.clone())
        })
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields
                .last_mut()
                .map(|f| f.extend(chars.next()))
                .unwrap_or(()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().map(|f| f.push(c)).unwrap_or(()),
        }
    }
    fields
}

impl ConnInfo {
    /// The connection as shown to people: never the password.
    pub fn display(&self) -> String {
        let password = if self.password.is_some() { ":***" } else { "" };
        let host = self.hosts.join(",");
        format!(
            "postgres://{}{password}@{host}:{}/{}",
            self.user, self.port, self.dbname
        )
    }
}

/// A connection string with any password replaced by `***`, for messages about text that
/// could not even be parsed.
pub fn mask(conn: &str) -> String {
    if let Some((scheme, rest)) = conn.split_once("://") {
        if let Some((userinfo, host)) = rest.rsplit_once('@')
            && let Some((user, _)) = userinfo.split_once(':')
        {
            return format!("{scheme}://{user}:***@{host}");
        }
        return conn.to_string();
    }
    conn.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(
        vars: &'static [(&'static str, &'static str)],
        home: Option<PathBuf>,
    ) -> impl Fn(&str) -> Option<String> {
        let _ = home;
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn resolve_with(
        conn: &str,
        vars: &'static [(&'static str, &'static str)],
        home: Option<PathBuf>,
    ) -> Result<ConnInfo, String> {
        let var = env_with(vars, home.clone());
        let env = Environment {
            var: &var,
            home,
            os_user: Some("osuser".into()),
        };
        resolve_text(conn, &env)
    }

    #[test]
    fn urls_with_everything() {
        let info = resolve_with(
            "postgresql://app:s%40cret@db.example:6543/prod?sslmode=require&connect_timeout=5",
            &[],
            None,
        )
        .unwrap();
        assert_eq!(info.hosts, ["db.example"]);
        assert_eq!(
            (info.port, info.user.as_str(), info.dbname.as_str()),
            (6543, "app", "prod")
        );
        assert_eq!(info.password.as_deref(), Some("s@cret"));
        assert_eq!(info.sslmode, SslMode::Require);
        assert_eq!(info.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(info.application_name, "crosscheck");
        assert_eq!(info.display(), "postgres://app:***@db.example:6543/prod");
        let v6 = resolve_with("postgres://[::1]:5433/x", &[], None).unwrap();
        assert_eq!(v6.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        let timeout = |conn: &str| resolve_with(conn, &[], None).unwrap().connect_timeout;
        assert_eq!(
            timeout("host=x connect_timeout=1"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            timeout("host=x connect_timeout=0"),
            None,
            "0 waits for ever"
        );
        assert_eq!(
            timeout("host=x connect_timeout=99999999999"),
            Some(Duration::from_secs(MAX_CONNECT_TIMEOUT_SECS))
        );
        assert!(
            resolve_with("host=x connect_timeout=-1", &[], None)
                .unwrap_err()
                .contains("invalid connect_timeout")
        );
        assert_eq!((v6.hosts[0].as_str(), v6.port), ("::1", 5433));
    }

    #[test]
    fn environment_fills_gaps_but_never_overrides() {
        let vars = &[
            ("PGHOST", "envhost"),
            ("PGUSER", "envuser"),
            ("PGPORT", "5555"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "pw"),
            ("PGSSLMODE", "disable"),
        ];
        let info = resolve_with("postgres:///given", vars, None).unwrap();
        assert_eq!(
            (
                info.hosts[0].as_str(),
                info.port,
                info.user.as_str(),
                info.dbname.as_str()
            ),
            ("envhost", 5555, "envuser", "given")
        );
        assert_eq!(
            (info.password.as_deref(), info.sslmode),
            (Some("pw"), SslMode::Disable)
        );
        let info = resolve_with("", &[], None).unwrap();
        assert_eq!(
            (info.user.as_str(), info.dbname.as_str(), info.port),
            ("osuser", "osuser", 5432)
        );
    }

    #[test]
    fn key_value_strings_with_quotes() {
        let info = resolve_with(
            "host=/tmp/sock port=5432 user='my user' password='it\\'s' dbname = prod",
            &[],
            None,
        )
        .unwrap();
        assert_eq!(info.hosts, ["/tmp/sock"]);
        assert_eq!(info.user, "my user");
        assert_eq!(info.password.as_deref(), Some("it's"));
        assert_eq!(info.dbname, "prod");
        assert!(
            resolve_with("host=x bogus=1", &[], None)
                .unwrap_err()
                .contains("unknown connection parameter `bogus`")
        );
        assert!(
            resolve_with("host=x sslmode=sometimes", &[], None)
                .unwrap_err()
                .contains("invalid sslmode")
        );
        assert!(
            resolve_with("service=prod", &[], None)
                .unwrap_err()
                .contains("not supported")
        );
    }

    #[test]
    fn pgpass_is_used_only_when_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:nope\ndb.example:5432:*:app:from\\:pgpass\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            let info = resolve_with(
                "postgres://app@db.example/prod",
                &[],
                Some(dir.path().into()),
            )
            .unwrap();
            assert_eq!(info.password.as_deref(), Some("from:pgpass"));
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let info = resolve_with(
                "postgres://app@db.example/prod",
                &[],
                Some(dir.path().into()),
            )
            .unwrap();
            assert_eq!(info.password, None, "a world-readable pgpass is ignored");
        }
    }

    #[test]
    fn masking() {
        assert_eq!(
            mask("postgres://app:secret@db/prod"),
            "postgres://app:***@db/prod"
        );
        assert_eq!(
            mask("host=db password=secret user=a"),
            "host=db password=*** user=a"
        );
        assert_eq!(mask("postgres://db/prod"), "postgres://db/prod");
    }
}
