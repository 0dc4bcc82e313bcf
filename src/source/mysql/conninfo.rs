//! A MySQL source's location: `mysql://user[:password]@host[:port]/database[?options]`
//! (`mariadb://` too), the password from `MYSQL_PWD` when the URL has none (the variable
//! MySQL's own clients read), TLS as MySQL's clients name it (`ssl-mode`, `ssl-ca`).

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder, SslOpts};

/// How long connecting (TCP, TLS, authentication) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ConnInfoError {
    #[error("not a mysql:// URL")]
    NotAUrl,
    #[error("`{key}={value}`: {expected}")]
    Option {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("{0}")]
    Url(String),
}

/// The client's options for `url`; `env` reads the environment (`MYSQL_PWD`).
pub fn resolve(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Opts, ConnInfoError> {
    let rest = url
        .strip_prefix("mysql://")
        .or_else(|| url.strip_prefix("mariadb://"))
        .ok_or(ConnInfoError::NotAUrl)?;
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut passed = Vec::new();
    let mut mode = None;
    let mut ca = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key.replace('_', "-").to_ascii_lowercase().as_str() {
            "ssl-mode" | "sslmode" => mode = Some(value.to_ascii_uppercase().replace('-', "_")),
            "ssl-ca" | "sslrootcert" => ca = Some(value.to_string()),
            _ => passed.push(pair),
        }
    }
    let url = if passed.is_empty() {
        format!("mysql://{base}")
    } else {
        format!("mysql://{base}?{}", passed.join("&"))
    };
    let opts = Opts::from_url(&url).map_err(|e| ConnInfoError::Url(e.to_string()))?;
    let mut builder = OptsBuilder::from_opts(opts.clone());
    if opts.pass().is_none()
        && let Some(password) = env("MYSQL_PWD")
    {
        builder = builder.pass(Some(password));
    }
    // A CA without a mode asks for the server to be checked against it, as MySQL's client
    // reads `--ssl-ca` alone.
    if mode.is_none() && ca.is_some() {
        mode = Some("VERIFY_CA".into());
    }
    let ssl = match mode.as_deref() {
        None | Some("DISABLED") => None,
        Some("REQUIRED") => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(ca.is_none())
                .with_danger_skip_domain_validation(true),
        ),
        Some("VERIFY_CA") => Some(SslOpts::default().with_danger_skip_domain_validation(true)),
        Some("VERIFY_IDENTITY") => Some(SslOpts::default()),
        Some(other) => {
            return Err(ConnInfoError::Option {
                key: "ssl-mode".into(),
                value: other.into(),
                expected: "expected DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
            });
        }
    };
    let ssl = match (ssl, ca) {
        (Some(ssl), Some(ca)) => Some(
            ssl.with_root_certs(vec![std::path::PathBuf::from(ca).into()])
                .with_disable_built_in_roots(true),
        ),
        (ssl, _) => ssl,
    };
    Ok(builder
        .ssl_opts(ssl)
        .prefer_socket(false)
        .stmt_cache_size(Some(64))
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn urls_and_the_password_variable() {
        let opts = resolve("mysql://app:s3cret@db.example:3307/shop", &no_env).expect("parses");
        assert_eq!(
            (opts.ip_or_hostname(), opts.tcp_port(), opts.db_name()),
            ("db.example", 3307, Some("shop"))
        );
        assert_eq!(opts.pass(), Some("s3cret"));
        assert!(opts.ssl_opts().is_none());
        let env = |name: &str| (name == "MYSQL_PWD").then(|| "from-env".to_string());
        let opts = resolve("mariadb://app@db/shop", &env).expect("parses");
        assert_eq!(opts.pass(), Some("from-env"));
        let opts = resolve("mysql://app:url@db/shop", &env).expect("parses");
        assert_eq!(opts.pass(), Some("url"), "the URL's password wins");
    }

    #[test]
    fn tls_modes_as_mysql_clients_name_them() {
        let opts = resolve("mysql://a@h/d?ssl-mode=VERIFY_IDENTITY", &no_env).expect("parses");
        let ssl = opts.ssl_opts().expect("TLS");
        assert!(!ssl.accept_invalid_certs() && !ssl.skip_domain_validation());
        let opts = resolve("mysql://a@h/d?sslmode=verify-ca", &no_env).expect("parses");
        let ssl = opts.ssl_opts().expect("TLS");
        assert!(!ssl.accept_invalid_certs() && ssl.skip_domain_validation());
        let opts = resolve("mysql://a@h/d?ssl-mode=REQUIRED", &no_env).expect("parses");
        assert!(opts.ssl_opts().expect("TLS").accept_invalid_certs());
        let e = resolve("mysql://a@h/d?ssl-mode=sometimes", &no_env).expect_err("refused");
        assert!(e.to_string().contains("VERIFY_CA"), "{e}");
        assert!(resolve("postgres://a@h/d", &no_env).is_err());
    }
}
