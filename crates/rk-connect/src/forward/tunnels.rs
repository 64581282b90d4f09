//! The forwards of one run: those of the command line and the ssh config, opened at start, and
//! those added or cancelled later from a session's `~C` command line, with ssh's spelling:
//! `-L`, `-R`, `-D` to add, `-KL`, `-KR`, `-KD` to cancel (the command line's own forwards
//! too). A cancelled listener stops accepting; connections already made through it go on.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::link::Link;
use super::spec::{self, DynamicForward, LocalForward};
use super::{local, remote};
use crate::error::Error;

/// A listener on this side (-L or -D).
struct Listening {
    dynamic: bool,
    bind: Option<String>,
    /// The port asked for (0: any) and the one bound.
    asked: u16,
    local: SocketAddr,
    what: String,
    task: JoinHandle<()>,
}

pub(crate) struct Tunnels {
    link: Link,
    remote: remote::Table,
    gateway_ports: bool,
    verbose: bool,
    listening: Vec<Listening>,
}

/// One `~C` command.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Nothing,
    Help,
    Local(LocalForward),
    Remote(LocalForward, String),
    Dynamic(DynamicForward),
    CancelLocal(DynamicForward),
    CancelRemote(DynamicForward),
    CancelDynamic(DynamicForward),
}

/// What `~C` then `?` shows.
const COMMANDS: &str = "Commands:
      -L[bind_address:]port:host:hostport    Request local forward
      -R[bind_address:]port:host:hostport    Request remote forward
      -D[bind_address:]port                  Request dynamic forward
      -KL[bind_address:]port                 Cancel local forward
      -KR[bind_address:]port                 Cancel remote forward
      -KD[bind_address:]port                 Cancel dynamic forward";

fn parse_command(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let usage = |e: Error| e.to_string();
    // Longest flags first: "-KL" before "-L"... (none is a prefix of another, but keep it so).
    let flags = ["-KL", "-KR", "-KD", "-L", "-R", "-D"];
    let Some(flag) = flags.iter().find(|f| line.starts_with(**f)) else {
        return match line {
            "" => Ok(Command::Nothing),
            "?" | "-h" | "help" => Ok(Command::Help),
            other => Err(format!("{other:?}: not a command (type ? for the list)")),
        };
    };
    let spec = line[flag.len()..].trim();
    if spec.is_empty() {
        return Err(format!("{flag} needs an address (type ? for the list)"));
    }
    let listen = |f: &str| spec::parse_listen_address(f, spec, "-KL 8888").map_err(usage);
    Ok(match *flag {
        "-L" => Command::Local(spec::parse_local(spec).map_err(usage)?),
        "-R" => Command::Remote(spec::parse_remote(spec).map_err(usage)?, spec.to_string()),
        "-D" => Command::Dynamic(spec::parse_dynamic(spec).map_err(usage)?),
        "-KL" => Command::CancelLocal(listen("-KL")?),
        "-KR" => Command::CancelRemote(listen("-KR")?),
        _ => Command::CancelDynamic(listen("-KD")?),
    })
}

impl Tunnels {
    pub(crate) fn new(
        link: Link,
        remote: remote::Table,
        gateway_ports: bool,
        verbose: bool,
    ) -> Tunnels {
        Tunnels {
            link,
            remote,
            gateway_ports,
            verbose,
            listening: Vec::new(),
        }
    }

    /// Starts a `-L` listener; returns where it listens.
    pub(crate) async fn open_local(&mut self, fwd: &LocalForward) -> Result<SocketAddr, Error> {
        let (listener, local) = self.listen(&fwd.bind, fwd.port).await?;
        let task = tokio::spawn(local::serve_local(
            listener,
            fwd.clone(),
            self.link.clone(),
            self.verbose,
        ));
        let what = format!("-L {local} → {}:{} on the cluster", fwd.host, fwd.host_port);
        self.record(false, &fwd.bind, fwd.port, local, what, task);
        Ok(local)
    }

    /// Starts a `-D` SOCKS listener; returns where it listens.
    pub(crate) async fn open_dynamic(&mut self, fwd: &DynamicForward) -> Result<SocketAddr, Error> {
        let (listener, local) = self.listen(&fwd.bind, fwd.port).await?;
        let task = tokio::spawn(local::serve_socks(
            listener,
            self.link.clone(),
            self.verbose,
        ));
        let what = format!("-D SOCKS proxy on {local}");
        self.record(true, &fwd.bind, fwd.port, local, what, task);
        Ok(local)
    }

    async fn listen(
        &self,
        bind: &Option<String>,
        port: u16,
    ) -> Result<(tokio::net::TcpListener, SocketAddr), Error> {
        let listener = local::listen(bind, port, self.gateway_ports).await?;
        let local = listener.local_addr().map_err(|error| Error::Listen {
            addr: "the local address".into(),
            port,
            error,
        })?;
        Ok((listener, local))
    }

    fn record(
        &mut self,
        dynamic: bool,
        bind: &Option<String>,
        asked: u16,
        local: SocketAddr,
        what: String,
        task: JoinHandle<()>,
    ) {
        self.listening.push(Listening {
            dynamic,
            bind: bind.clone(),
            asked,
            local,
            what,
            task,
        });
    }

    /// Stops the listener for `-KL`/`-KD [BIND:]PORT` (the port asked for or the one bound).
    fn cancel_listener(&mut self, dynamic: bool, at: &DynamicForward) -> Result<String, String> {
        let found = self.listening.iter().position(|l| {
            l.dynamic == dynamic
                && (l.asked == at.port || l.local.port() == at.port)
                && at.bind.as_ref().is_none_or(|b| l.bind.as_ref() == Some(b))
        });
        let kind = if dynamic { "dynamic" } else { "local" };
        match found {
            Some(i) => {
                let gone = self.listening.remove(i);
                gone.task.abort();
                Ok(format!("Cancelled {kind} forward on {}.", gone.local))
            }
            None => Err(format!("no {kind} forward on port {}", at.port)),
        }
    }

    /// The forwards now, for `~#`.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.listening.iter().map(|l| l.what.clone()).collect();
        lines.extend(remote::describe(&self.remote));
        lines
    }

    /// Runs one `~C` command line; returns what to show (lines without line ends).
    pub(crate) async fn command(&mut self, line: &str) -> Vec<String> {
        match self.run(line).await {
            Ok(lines) => lines,
            Err(e) => vec![format!("rk-connect: {e}")],
        }
    }

    async fn run(&mut self, line: &str) -> Result<Vec<String>, String> {
        let connection = || async {
            let mut link = self.link.clone();
            link.current(Duration::ZERO)
                .await
                .ok_or_else(|| "the connection to the cluster is gone".to_string())
        };
        Ok(match parse_command(line)? {
            Command::Nothing => Vec::new(),
            Command::Help => COMMANDS.lines().map(str::to_string).collect(),
            Command::Local(fwd) => {
                let local = self.open_local(&fwd).await.map_err(|e| e.to_string())?;
                vec![format!(
                    "Forwarding {local} → {}:{} on the cluster",
                    fwd.host, fwd.host_port
                )]
            }
            Command::Dynamic(fwd) => {
                let local = self.open_dynamic(&fwd).await.map_err(|e| e.to_string())?;
                vec![format!("SOCKS proxy on {local} through the cluster")]
            }
            Command::Remote(fwd, spec) => {
                let handle = connection().await?;
                let port = remote::request(&handle, &fwd, &self.remote, &spec)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut lines = Vec::new();
                if fwd.port == 0 {
                    lines.push(format!(
                        "Allocated port {port} for remote forward to {}:{}",
                        fwd.host, fwd.host_port
                    ));
                }
                lines.push(format!(
                    "Forwarding port {port} on the cluster → {}:{} here",
                    fwd.host, fwd.host_port
                ));
                lines
            }
            Command::CancelLocal(at) => vec![self.cancel_listener(false, &at)?],
            Command::CancelDynamic(at) => vec![self.cancel_listener(true, &at)?],
            Command::CancelRemote(at) => {
                let handle = connection().await?;
                remote::cancel(&handle, &self.remote, at.bind.as_deref(), at.port).await?;
                vec![format!(
                    "Cancelled remote forward on port {} of the cluster.",
                    at.port
                )]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(parse_command(""), Ok(Command::Nothing));
        assert_eq!(parse_command("  ?  "), Ok(Command::Help));
        assert_eq!(
            parse_command("-L 8888:localhost:8888"),
            Ok(Command::Local(
                spec::parse_local("8888:localhost:8888").unwrap()
            ))
        );
        // As ssh: the flag may touch its address.
        assert_eq!(
            parse_command("-L8888:localhost:8888"),
            parse_command("-L 8888:localhost:8888")
        );
        assert_eq!(
            parse_command("-R 0:127.0.0.1:9"),
            Ok(Command::Remote(
                spec::parse_remote("0:127.0.0.1:9").unwrap(),
                "0:127.0.0.1:9".into()
            ))
        );
        assert_eq!(
            parse_command("-KL 127.0.0.1:8888"),
            Ok(Command::CancelLocal(DynamicForward {
                bind: Some("127.0.0.1".into()),
                port: 8888
            }))
        );
        assert_eq!(
            parse_command("-KR 40123"),
            Ok(Command::CancelRemote(DynamicForward {
                bind: None,
                port: 40123
            }))
        );
        assert!(matches!(
            parse_command("-KD1080"),
            Ok(Command::CancelDynamic(_))
        ));
        assert!(matches!(parse_command("-D 1080"), Ok(Command::Dynamic(_))));
    }

    #[test]
    fn bad_commands_say_what_to_do() {
        let e = parse_command("-L").unwrap_err();
        assert!(e.contains("needs an address"), "{e}");
        let e = parse_command("-L 8888:localhost").unwrap_err();
        assert!(e.contains("expected [BIND:]PORT:HOST:HOSTPORT"), "{e}");
        let e = parse_command("-KL x").unwrap_err();
        assert!(e.contains("not a port number"), "{e}");
        let e = parse_command("forward 80").unwrap_err();
        assert!(e.contains("type ? for the list"), "{e}");
    }
}
