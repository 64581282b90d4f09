//! Which side of the copy an argument names, as scp reads it: `[USER@]HOST:PATH` (or an ssh
//! config alias) and `job:PATH` are on the cluster; anything else is here. A `:` after a `/`
//! belongs to a local name (`./a:b`); with Windows' rules, `C:\data`, `C:/data`, `C:` and
//! `\\server\share` are local paths, never host `C` (Win32-OpenSSH's scp gets this wrong).

use std::path::PathBuf;

/// Where a remote side is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// `job:`: the job saved by `rk-parse-log --save`, or the one of `--from-log`.
    Job,
    /// `[USER@]HOST` or an ssh config alias, as typed.
    Named(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Local(PathBuf),
    /// A path as the server reads it: relative to the login folder unless it starts with `/`.
    Remote {
        host: Host,
        path: String,
    },
}

/// How the local platform spells paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRules {
    Unix,
    /// Drive letters and `\` separators are local path syntax.
    Windows,
}

impl PathRules {
    pub fn native() -> PathRules {
        if cfg!(windows) {
            PathRules::Windows
        } else {
            PathRules::Unix
        }
    }

    fn is_separator(self, c: char) -> bool {
        c == '/' || (self == PathRules::Windows && c == '\\')
    }
}

/// Reads one command-line argument.
pub fn parse(arg: &str, rules: PathRules) -> Endpoint {
    let local = || Endpoint::Local(PathBuf::from(arg));
    if rules == PathRules::Windows && is_drive_path(arg) {
        return local();
    }
    // [v6]:path and user@[v6]:path — a bracketed host may hold colons.
    let first_colon = arg.find(':');
    let split = match arg.find('[') {
        Some(b) if first_colon.is_some_and(|c| b < c) => arg.find("]:").map(|i| i + 1),
        _ => first_colon,
    };
    let Some(colon) = split else {
        return local();
    };
    let host = &arg[..colon];
    if host.is_empty() || host.chars().any(|c| rules.is_separator(c)) {
        return local();
    }
    let path = remote_path(&arg[colon + 1..]);
    let host = if host == "job" {
        Host::Job
    } else {
        Host::Named(host.to_string())
    };
    Endpoint::Remote { host, path }
}

/// `C:`, `C:\…`, `C:/…`.
fn is_drive_path(arg: &str) -> bool {
    let bytes = arg.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || bytes[2] == b'\\' || bytes[2] == b'/')
}

/// The path as the SFTP server takes it: empty and `~` are the login folder (`.`), `~/x` is
/// `x` (the server starts in the login folder).
fn remote_path(path: &str) -> String {
    match path {
        "" | "~" | "~/" => ".".to_string(),
        p => match p.strip_prefix("~/") {
            Some(rest) => rest.to_string(),
            None => p.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(host: &str, path: &str) -> Endpoint {
        Endpoint::Remote {
            host: if host == "job" {
                Host::Job
            } else {
                Host::Named(host.into())
            },
            path: path.into(),
        }
    }

    fn local(p: &str) -> Endpoint {
        Endpoint::Local(PathBuf::from(p))
    }

    #[test]
    fn scp_forms() {
        let unix = PathRules::Unix;
        assert_eq!(
            parse("job:results/out.h5", unix),
            remote("job", "results/out.h5")
        );
        assert_eq!(parse("job:", unix), remote("job", "."));
        assert_eq!(
            parse("u@3.80.3.168:~/a b", unix),
            remote("u@3.80.3.168", "a b")
        );
        assert_eq!(
            parse("rk-job:/scratch/x", unix),
            remote("rk-job", "/scratch/x")
        );
        assert_eq!(parse("[::1]:data", unix), remote("[::1]", "data"));
        assert_eq!(parse("u@[::1]:data", unix), remote("u@[::1]", "data"));
        assert_eq!(parse("plain.txt", unix), local("plain.txt"));
        assert_eq!(parse("./a:b", unix), local("./a:b"));
        assert_eq!(parse("/tmp/a:b", unix), local("/tmp/a:b"));
        assert_eq!(parse(":odd", unix), local(":odd"));
        // On Unix a one-letter host is a host, as with scp.
        assert_eq!(parse("C:data", unix), remote("C", "data"));
    }

    #[test]
    fn windows_paths_are_local() {
        let win = PathRules::Windows;
        for arg in [
            r"C:\data\in.dat",
            "C:/data",
            "c:",
            r"\\server\share\x",
            r"dir\a:b",
        ] {
            assert_eq!(parse(arg, win), local(arg), "{arg}");
        }
        assert_eq!(parse("job:out", win), remote("job", "out"));
        assert_eq!(parse("u@host:C:/x", win), remote("u@host", "C:/x"));
    }
}
