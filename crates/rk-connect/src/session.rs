//! What runs once connected: a shell or a command (stdin/stdout/stderr, exit status,
//! window size, signals), or forwards only (-N).

use std::io::{Read, Write};
use std::time::Duration;

use rk_core::destination::Destination;
use rk_core::platform::interrupt::Interrupt;
use russh::ChannelMsg;

use crate::cli::Cli;
use crate::console;
use crate::escape::{self, Escapes, Event};
use crate::handler::Connection;
use crate::tunnels::Tunnels;
use crate::{Error, Log};

pub(crate) fn signal_number(sig: &russh::Sig) -> i32 {
    use russh::Sig::*;
    match sig {
        ABRT => 6,
        ALRM => 14,
        FPE => 8,
        HUP => 1,
        ILL => 4,
        INT => 2,
        KILL => 9,
        PIPE => 13,
        QUIT => 3,
        SEGV => 11,
        TERM => 15,
        USR1 => 10,
        Custom(_) => 0,
    }
}

/// `-N`: keep the forwards until Ctrl-C (exit 0) or until the connection is gone (255).
pub(crate) async fn forwards_only(handle: &Connection, dest: &Destination) -> Result<i32, Error> {
    rk_core::interrupt::defer_to_program(&[Interrupt::CtrlC, Interrupt::Terminate]);
    let mut ending = console::EndEvents::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            _ = ending.next() => return Ok(0),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if handle.is_closed() {
                    return Err(Error::ConnectionLost {
                        host: dest.host.clone(),
                        during: "while forwarding; forwards closed",
                    });
                }
            }
        }
    }
}

/// Standard input in chunks, read on a thread with big reads (tokio's stdin hops through a pool
/// 8 KiB at a time); the channel closes at end of input.
pub(crate) fn stdin_chunks() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    rx
}

pub(crate) async fn session(
    handle: &Connection,
    cli: &Cli,
    dest: &Destination,
    forward_agent: bool,
    tunnels: &mut Tunnels,
    log: &Log,
) -> Result<i32, Error> {
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|error| Error::Channel {
            what: "open a session",
            error: error.into(),
        })?;
    if forward_agent {
        // As ssh: asked without waiting for the answer; a server that refuses it still runs
        // the session (and `ssh-add -l` there says there is no agent).
        channel
            .agent_forward(false)
            .await
            .map_err(|error| Error::Channel {
                what: "ask for agent forwarding",
                error: error.into(),
            })?;
    }
    let interactive = cli.command.is_empty();
    let want_pty = !cli.no_tty && (cli.tty || (interactive && console::stdin_is_terminal()));
    if want_pty {
        let (cols, rows) = console::window_size().unwrap_or((80, 24));
        let term_name = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
        channel
            .request_pty(false, &term_name, cols, rows, 0, 0, &[])
            .await
            .map_err(|error| Error::Channel {
                what: "get a terminal on the cluster",
                error: error.into(),
            })?;
    }
    if interactive {
        channel
            .request_shell(true)
            .await
            .map_err(|error| Error::Channel {
                what: "start a shell",
                error: error.into(),
            })?;
        log.step("shell started");
    } else {
        let command = cli.command.join(" ");
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(|error| Error::Channel {
                what: "run the command",
                error: error.into(),
            })?;
        log.step(format!("exec {command:?}"));
    }
    // Raw mode only once the remote side is ready; restored when this guard drops, on every path.
    let _raw = if want_pty && console::stdin_is_terminal() {
        console::RawMode::enable()
    } else {
        None
    };

    let (mut reader, writer) = channel.split();

    let mut rx = stdin_chunks();

    let mut resizes = want_pty.then(console::Resizes::new);
    rk_core::interrupt::defer_to_program(&[Interrupt::Terminate, Interrupt::Hangup]);
    let mut ending = console::EndEvents::new();

    let mut out = console::stdout();
    let mut err = console::stderr();
    // Escapes only where a person types on a terminal, as with ssh.
    let escape_char = match &cli.escape_char {
        Some(spec) => escape::parse(spec).map_err(Error::Usage)?,
        None => Some(b'~'),
    };
    let mut escapes = escape_char
        .filter(|_| want_pty && console::stdin_is_terminal())
        .map(Escapes::new);
    let mut stdin_open = true;
    let mut status = None;
    loop {
        tokio::select! {
            msg = reader.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    if out.write_all(&data).is_err() {
                        break;
                    }
                }
                Some(ChannelMsg::ExtendedData { data, .. }) => {
                    let _ = err.write_all(&data);
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status as i32),
                Some(ChannelMsg::ExitSignal { signal_name, error_message, .. }) => {
                    if !error_message.is_empty() {
                        let _ = writeln!(err, "rk-connect: remote command killed: {error_message}");
                    }
                    status = Some(128 + signal_number(&signal_name));
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
            chunk = rx.recv(), if stdin_open => match chunk {
                Some(data) => {
                    let events = match escapes.as_mut() {
                        Some(e) => e.feed(&data),
                        None => vec![Event::Data(data)],
                    };
                    for event in events {
                        match event {
                            Event::Data(bytes) => {
                                if writer.data_bytes(bytes).await.is_err() {
                                    stdin_open = false;
                                }
                            }
                            Event::Disconnect => {
                                return Err(Error::EscapeDisconnect {
                                    host: dest.host.clone(),
                                });
                            }
                            Event::Help => {
                                let c = char::from(escape_char.unwrap_or(b'~'));
                                let _ = err.write_all(escape::help(c).as_bytes());
                            }
                            Event::Connections => {
                                let n = crate::pump::active_connections();
                                let mut text = String::from("Forwards:\r\n");
                                let forwards = tunnels.describe();
                                if forwards.is_empty() {
                                    text.push_str("  none (add one with ~C)\r\n");
                                }
                                for line in forwards {
                                    text.push_str(&format!("  {line}\r\n"));
                                }
                                text.push_str(&format!(
                                    "{n} forwarded connection{} open\r\n",
                                    if n == 1 { "" } else { "s" }
                                ));
                                let _ = err.write_all(text.as_bytes());
                            }
                            Event::Echo(bytes) => {
                                let _ = err.write_all(&bytes);
                                let _ = err.flush();
                            }
                            Event::Command(line) => {
                                for reply in tunnels.command(&line).await {
                                    let _ = write!(err, "{reply}\r\n");
                                }
                            }
                        }
                    }
                }
                None => {
                    stdin_open = false;
                    let _ = writer.eof().await;
                }
            },
            Some((cols, rows)) = async {
                match resizes.as_mut() {
                    Some(r) => r.next().await,
                    None => std::future::pending().await,
                }
            } => {
                let _ = writer.window_change(cols, rows, 0, 0).await;
            },
            why = ending.next() => return Err(Error::Signal(why)),
        }
    }
    drop(_raw);
    match status {
        Some(code) => Ok(code),
        None => Err(Error::ConnectionLost {
            host: dest.host.clone(),
            during: if interactive {
                "before the session finished"
            } else {
                "before the command finished"
            },
        }),
    }
}
