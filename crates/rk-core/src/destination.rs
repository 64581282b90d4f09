//! Where to connect: `user@host`, `ssh://user@host:port` (what `rk-parse-log` prints), a bare
//! host, or the job remembered by `rk-parse-log --save`.

use crate::error::{Error, Result};
use crate::joblog::{is_valid_hostname, is_valid_user};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub user: Option<String>,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: Option<u16>,
}

impl Destination {
    /// `user@host` for messages (IPv6 in brackets when a port follows).
    pub fn display(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let mut s = match &self.user {
            Some(u) => format!("{u}@{host}"),
            None => host,
        };
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        s
    }
}

fn bad(input: &str, why: &str) -> Error {
    Error::Usage(format!(
        "{input:?} is not a destination ({why}). Use USER@HOST, or ssh://USER@HOST:PORT as rk-parse-log prints it."
    ))
}

fn parse_host(input: &str, host: &str) -> Result<String> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.parse::<std::net::IpAddr>().is_ok() || is_valid_hostname(host) {
        Ok(host.to_string())
    } else {
        Err(bad(
            input,
            "the host is neither an IP address nor a host name",
        ))
    }
}

fn parse_user(input: &str, user: &str) -> Result<String> {
    if is_valid_user(user) {
        Ok(user.to_string())
    } else {
        Err(bad(
            input,
            "the user name has characters a login name cannot have",
        ))
    }
}

/// Parses a destination as `ssh` accepts it, plus `ssh://USER@HOST:PORT` and `USER@HOST:PORT`.
pub fn parse(input: &str) -> Result<Destination> {
    let s = input.trim();
    if let Some(rest) = s.strip_prefix("ssh://") {
        let rest = rest.trim_end_matches('/');
        let (user, hostport) = split_user(input, rest)?;
        let (host, port) = host_and_port(input, hostport)?;
        return Ok(Destination { user, host, port });
    }
    // `host:port` too, as `ssh -J` takes each hop (`[v6]:port` for IPv6 with a port; a bare
    // IPv6 address has no port).
    let (user, hostport) = split_user(input, s)?;
    let (host, port) = host_and_port(input, hostport)?;
    Ok(Destination { user, host, port })
}

fn split_user<'a>(input: &str, s: &'a str) -> Result<(Option<String>, &'a str)> {
    Ok(match s.rsplit_once('@') {
        Some((u, h)) => (Some(parse_user(input, u)?), h),
        None => (None, s),
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address (no port).
fn host_and_port(input: &str, hostport: &str) -> Result<(String, Option<u16>)> {
    if hostport.is_empty() {
        return Err(bad(input, "no host"));
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad(input, "unclosed '['"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad(input, "unexpected text after ']'")),
        };
        (h, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (hostport, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad(input, "bad port"))?,
        ),
        None => None,
    };
    Ok((parse_host(input, host)?, port))
}

/// The job `rk-parse-log --save` remembered, if any.
pub fn saved_job() -> Result<Option<(Destination, std::path::PathBuf)>> {
    let Some(path) = crate::joblog::last_job_path() else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let line = text.lines().next().unwrap_or_default();
            Ok(Some((parse(line)?, path)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", &path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(user: Option<&str>, host: &str, port: Option<u16>) -> Destination {
        Destination {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            parse("uprod_x@3.80.3.168").unwrap(),
            d(Some("uprod_x"), "3.80.3.168", None)
        );
        assert_eq!(
            parse("ssh://uprod_x@3.80.3.168:32100").unwrap(),
            d(Some("uprod_x"), "3.80.3.168", Some(32100))
        );
        assert_eq!(
            parse("ssh://u@[2600:1f18::5]:22").unwrap(),
            d(Some("u"), "2600:1f18::5", Some(22))
        );
        assert_eq!(
            parse("ssh://u@[2600:1f18::5]").unwrap(),
            d(Some("u"), "2600:1f18::5", None)
        );
        assert_eq!(
            parse("u@2600:1f18::5").unwrap(),
            d(Some("u"), "2600:1f18::5", None)
        );
        assert_eq!(
            parse("head.example.org").unwrap(),
            d(None, "head.example.org", None)
        );
        assert_eq!(
            d(Some("u"), "2600::5", Some(22)).display(),
            "u@[2600::5]:22"
        );
    }

    #[test]
    fn jump_hops_take_a_port_after_the_host() {
        assert_eq!(
            parse("root@127.0.0.1:2222").unwrap(),
            d(Some("root"), "127.0.0.1", Some(2222))
        );
        assert_eq!(parse("node2").unwrap(), d(None, "node2", None));
        assert_eq!(parse("u@[::1]:22").unwrap(), d(Some("u"), "::1", Some(22)));
        assert_eq!(
            parse("2600:1f18::5").unwrap(),
            d(None, "2600:1f18::5", None)
        );
        for bad in [
            "",
            "u@",
            "h:0",
            "h:x",
            "h:70000",
            "-oProxyCommand=x",
            "u@h:22:",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "u@",
            "$(x)@1.2.3.4",
            "u@host name",
            "ssh://u@1.2.3.4:0",
            "ssh://u@1.2.3.4:99999",
            "ssh://u@[::1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
