//! Forwards as typed: `-L`/`-R` `[BIND:]PORT:HOST:HOSTPORT`, `-D` `[BIND:]PORT`, from the
//! command line, the ssh config's LocalForward/RemoteForward/DynamicForward lines, and `~C`.
//! [`Forwards`] is the one place where the command line's and the config's are put together.

use crate::error::Error;

/// `[BIND:]PORT:HOST:HOSTPORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalForward {
    pub(crate) bind: Option<String>,
    pub(crate) port: u16,
    pub(crate) host: String,
    pub(crate) host_port: u16,
}

/// `[BIND:]PORT` for -D.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DynamicForward {
    pub(crate) bind: Option<String>,
    pub(crate) port: u16,
}

/// Splits on ':' outside brackets, dropping the brackets ("[::1]:80" → ["::1", "80"]).
fn fields(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in spec.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn port(s: &str, spec: &str) -> Result<u16, Error> {
    s.parse::<u16>()
        .map_err(|_| Error::Usage(format!("{spec:?}: {s:?} is not a port number")))
}

pub(crate) fn parse_local(spec: &str) -> Result<LocalForward, Error> {
    parse_forward("-L", spec, "-L 8888:localhost:8888")
}

/// `-R [BIND:]PORT:HOST:HOSTPORT`: the same fields, the listening side on the cluster.
pub(crate) fn parse_remote(spec: &str) -> Result<LocalForward, Error> {
    parse_forward("-R", spec, "-R 27000:licence.example.org:27000")
}

fn parse_forward(flag: &str, spec: &str, example: &str) -> Result<LocalForward, Error> {
    let f = fields(spec);
    let (bind, rest) = match f.len() {
        3 => (None, &f[..]),
        4 => (Some(f[0].clone()), &f[1..]),
        _ => {
            return Err(Error::Usage(format!(
                "{flag} {spec:?}: expected [BIND:]PORT:HOST:HOSTPORT, e.g. {example}"
            )));
        }
    };
    let host_port = port(&rest[2], spec)?;
    if host_port == 0 || rest[1].is_empty() {
        return Err(Error::Usage(format!(
            "{flag} {spec:?}: the destination needs a host and a port"
        )));
    }
    Ok(LocalForward {
        bind: bind.filter(|b| !b.is_empty()),
        port: port(&rest[0], spec)?,
        host: rest[1].clone(),
        host_port,
    })
}

pub(crate) fn parse_dynamic(spec: &str) -> Result<DynamicForward, Error> {
    parse_listen_address("-D", spec, "-D 1080")
}

/// `[BIND:]PORT`: where something listens (-D, and the ~C cancels -KL/-KR/-KD).
pub(crate) fn parse_listen_address(
    flag: &str,
    spec: &str,
    example: &str,
) -> Result<DynamicForward, Error> {
    let f = fields(spec);
    match f.len() {
        1 => Ok(DynamicForward {
            bind: None,
            port: port(&f[0], spec)?,
        }),
        2 => Ok(DynamicForward {
            bind: Some(f[0].clone()).filter(|b| !b.is_empty()),
            port: port(&f[1], spec)?,
        }),
        _ => Err(Error::Usage(format!(
            "{flag} {spec:?}: expected [BIND:]PORT, e.g. {example}"
        ))),
    }
}

/// A forward as written (for `-G` and messages) and as understood.
#[derive(Clone, Debug)]
pub(crate) struct Spec<T> {
    pub(crate) text: String,
    pub(crate) forward: T,
}

/// Every forward of a run: the command line's first, then the ssh config's, as ssh does.
#[derive(Debug, Default)]
pub(crate) struct Forwards {
    pub(crate) local: Vec<Spec<LocalForward>>,
    pub(crate) remote: Vec<Spec<LocalForward>>,
    pub(crate) dynamic: Vec<Spec<DynamicForward>>,
}

impl Forwards {
    /// Adds `-L`, `-R` and `-D` specs (from the command line, then from the config).
    pub(crate) fn add(
        &mut self,
        local: &[String],
        remote: &[String],
        dynamic: &[String],
    ) -> Result<(), Error> {
        let spec = |text: &String, forward| Spec {
            text: text.clone(),
            forward,
        };
        for text in local {
            self.local.push(spec(text, parse_local(text)?));
        }
        for text in remote {
            self.remote.push(spec(text, parse_remote(text)?));
        }
        for text in dynamic {
            self.dynamic.push(Spec {
                text: text.clone(),
                forward: parse_dynamic(text)?,
            });
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.local.is_empty() && self.remote.is_empty() && self.dynamic.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            parse_local("8888:localhost:8888").unwrap(),
            LocalForward {
                bind: None,
                port: 8888,
                host: "localhost".into(),
                host_port: 8888
            }
        );
        assert_eq!(
            parse_local("[::1]:0:[2600::5]:22").unwrap(),
            LocalForward {
                bind: Some("::1".into()),
                port: 0,
                host: "2600::5".into(),
                host_port: 22
            }
        );
        assert_eq!(
            parse_local("*:80:web:8080").unwrap().bind.as_deref(),
            Some("*")
        );
        assert!(parse_local("8888:localhost").is_err());
        assert!(parse_local("x:localhost:80").is_err());
        assert!(parse_local("80:host:0").is_err());
        assert_eq!(
            parse_dynamic("1080").unwrap(),
            DynamicForward {
                bind: None,
                port: 1080
            }
        );
        assert_eq!(
            parse_dynamic("0.0.0.0:1080").unwrap().bind.as_deref(),
            Some("0.0.0.0")
        );
    }
}
