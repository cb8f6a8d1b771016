//! Which database a URL names, and how to show it without credentials.

use std::path::PathBuf;

use crate::error::DbError;

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite file.
    Sqlite { path: PathBuf },
    /// A PostgreSQL server; `url` goes to libpq as given, `shown` has no
    /// credentials or query parameters.
    Postgres { url: String, shown: String },
}

/// Chooses the backend: `postgres://` or `postgresql://` for PostgreSQL;
/// `sqlite://PATH`, `sqlite:PATH` or a plain path for SQLite.
pub(crate) fn parse(url: &str) -> Result<Target, DbError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(DbError::EmptyUrl);
    }

    if let Some((scheme, _)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "postgres" || scheme == "postgresql" {
            return Ok(Target::Postgres {
                url: url.to_owned(),
                shown: redact_postgres(url),
            });
        }
        if scheme != "sqlite" {
            return Err(DbError::UnsupportedScheme { scheme });
        }
    }

    let path = strip_prefix_ignore_case(url, "sqlite://")
        .or_else(|| strip_prefix_ignore_case(url, "sqlite:"))
        .unwrap_or(url);
    sqlite_path(path)
}

fn sqlite_path(path: &str) -> Result<Target, DbError> {
    if path.is_empty() {
        return Err(DbError::EmptyUrl);
    }
    if path == ":memory:" || path.contains("mode=memory") {
        return Err(DbError::SqliteInMemory);
    }
    if strip_prefix_ignore_case(path, "file:").is_some() {
        return Err(DbError::SqliteUri);
    }
    Ok(Target::Sqlite {
        path: PathBuf::from(path),
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `scheme://host:port/dbname`: everything up to the last `@` before the
/// query (user name, password) and the query (which may hold a password)
/// are left out. Nothing before an `@` is ever shown, even in a URL that
/// libpq would read differently.
fn redact_postgres(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "postgres://".to_owned();
    };
    let before_query = rest.split(['?', '#']).next().unwrap_or_default();
    let after_credentials = before_query
        .rsplit_once('@')
        .map_or(before_query, |(_, host_and_path)| host_and_path);
    format!("{}://{after_credentials}", scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &str) -> Target {
        Target::Sqlite {
            path: PathBuf::from(path),
        }
    }

    #[test]
    fn sqlite_forms_name_the_file() {
        assert_eq!(
            parse("sqlite:///var/lib/mfa.db"),
            Ok(sqlite("/var/lib/mfa.db"))
        );
        assert_eq!(parse("sqlite://mfa.db"), Ok(sqlite("mfa.db")));
        assert_eq!(parse("sqlite:data/mfa.db"), Ok(sqlite("data/mfa.db")));
        assert_eq!(parse("SQLite:mfa.db"), Ok(sqlite("mfa.db")));
        assert_eq!(parse("./mfa.db"), Ok(sqlite("./mfa.db")));
        assert_eq!(parse("  /tmp/x.db\n"), Ok(sqlite("/tmp/x.db")));
    }

    #[test]
    fn postgres_urls_are_kept_for_libpq_and_shown_without_credentials() {
        let url = "postgres://app:s3cret@db.example:5432/mfa?sslmode=require&password=x";
        let Ok(Target::Postgres { url: kept, shown }) = parse(url) else {
            panic!("not parsed as PostgreSQL");
        };
        assert_eq!(kept, url);
        assert_eq!(shown, "postgres://db.example:5432/mfa");

        let Ok(Target::Postgres { shown, .. }) = parse("postgresql://h/db") else {
            panic!("not parsed as PostgreSQL");
        };
        assert_eq!(shown, "postgresql://h/db");
    }

    #[test]
    fn a_password_with_odd_characters_is_never_shown() {
        let Ok(Target::Postgres { shown, .. }) = parse("postgres://u:pa/ss@word@host:1/db") else {
            panic!("not parsed as PostgreSQL");
        };
        assert!(!shown.contains("pa"), "{shown}");
        assert_eq!(shown, "postgres://host:1/db");
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        assert_eq!(parse(""), Err(DbError::EmptyUrl));
        assert_eq!(parse("sqlite://"), Err(DbError::EmptyUrl));
        assert_eq!(parse(":memory:"), Err(DbError::SqliteInMemory));
        assert_eq!(parse("sqlite::memory:"), Err(DbError::SqliteInMemory));
        assert_eq!(parse("file:x.db?mode=ro"), Err(DbError::SqliteUri));
        assert_eq!(
            parse("mysql://root@localhost/mfa"),
            Err(DbError::UnsupportedScheme {
                scheme: "mysql".to_owned()
            })
        );
    }
}
