//! The shell or the command on the cluster: standard input, output and error, the exit status,
//! a terminal's size and its changes, signals, and the escapes (`~.`, `~C`…) typed on it.

use std::io::Write;

use rk_core::platform::interrupt::Interrupt;
use rk_ssh::{Channel, ChannelMsg, Connection, Log, Msg};
use russh::ChannelWriteHalf;

use super::escape::{self, Escapes, Event};
use super::input::stdin_chunks;
use crate::console;
use crate::forward::Tunnels;
use crate::settings::{Settings, Tty};
use crate::{error::Error, forward};

fn signal_number(sig: &russh::Sig) -> i32 {
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

/// Runs the shell (no command) or the command, until it exits; returns its status (128+N if
/// signal N killed it).
pub(crate) async fn session(
    connection: &Connection,
    settings: &Settings,
    host: &str,
    tunnels: &mut Tunnels,
    log: &Log,
) -> Result<i32, Error> {
    let interactive = settings.command.is_empty();
    let want_pty = match settings.tty {
        Tty::Force => true,
        Tty::Never => false,
        Tty::Auto => interactive && console::stdin_is_terminal(),
    };
    let channel = start(connection, settings, want_pty, log).await?;
    // Raw mode only once the remote side is ready; restored when this guard drops, on every path.
    let raw = if want_pty && console::stdin_is_terminal() {
        console::RawMode::enable()
    } else {
        None
    };
    // Escapes only where a person types on a terminal, as with ssh.
    let escapes = settings
        .escape
        .filter(|_| want_pty && console::stdin_is_terminal())
        .map(Escapes::new);
    let status = relay(channel, escapes, want_pty, host, tunnels).await?;
    drop(raw);
    status.ok_or_else(|| Error::ConnectionLost {
        host: host.to_string(),
        during: if interactive {
            "before the session finished"
        } else {
            "before the command finished"
        },
    })
}

/// Opens the session channel and starts the shell or the command on it (with agent forwarding
/// and a terminal when asked).
async fn start(
    connection: &Connection,
    settings: &Settings,
    want_pty: bool,
    log: &Log,
) -> Result<Channel<Msg>, Error> {
    let channel = connection.open_session().await?;
    if settings.forward_agent {
        // As ssh: asked without waiting for the answer; a server that refuses it still runs
        // the session (and `ssh-add -l` there says there is no agent).
        channel
            .agent_forward(false)
            .await
            .map_err(Error::channel("ask for agent forwarding"))?;
    }
    if want_pty {
        let (cols, rows) = console::window_size().unwrap_or((80, 24));
        let term_name = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
        channel
            .request_pty(false, &term_name, cols, rows, 0, 0, &[])
            .await
            .map_err(Error::channel("get a terminal on the cluster"))?;
    }
    if settings.command.is_empty() {
        channel
            .request_shell(true)
            .await
            .map_err(Error::channel("start a shell"))?;
        log.step("shell started");
    } else {
        let command = settings.command.join(" ");
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(Error::channel("run the command"))?;
        log.step(format!("exec {command:?}"));
    }
    Ok(channel)
}

/// Moves bytes both ways until the channel closes; returns the exit status, if one came.
async fn relay(
    channel: Channel<Msg>,
    mut escapes: Option<Escapes>,
    want_pty: bool,
    host: &str,
    tunnels: &mut Tunnels,
) -> Result<Option<i32>, Error> {
    let (mut reader, writer) = channel.split();
    let mut rx = stdin_chunks();
    let mut resizes = want_pty.then(console::Resizes::new);
    rk_core::interrupt::defer_to_program(&[Interrupt::Terminate, Interrupt::Hangup]);
    let mut ending = console::EndEvents::new();
    let mut out = console::stdout();
    let mut err = console::stderr();
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
                    let escape = escapes.as_ref().map_or(b'~', Escapes::escape_char);
                    for event in events {
                        let done = typed(event, &writer, escape, host, tunnels, &mut err).await?;
                        stdin_open &= !done;
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
    Ok(status)
}

/// Acts on one thing typed: bytes for the cluster, or an escape. True when the remote side no
/// longer takes input.
async fn typed(
    event: Event,
    writer: &ChannelWriteHalf<Msg>,
    escape: u8,
    host: &str,
    tunnels: &mut Tunnels,
    err: &mut console::Stream,
) -> Result<bool, Error> {
    match event {
        Event::Data(bytes) => return Ok(writer.data_bytes(bytes).await.is_err()),
        Event::Disconnect => {
            return Err(Error::EscapeDisconnect {
                host: host.to_string(),
            });
        }
        Event::Help => {
            let _ = err.write_all(escape::help(char::from(escape)).as_bytes());
        }
        Event::Connections => {
            let _ = err.write_all(connections(tunnels).as_bytes());
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
    Ok(false)
}

/// What `~#` shows: the forwards, and how many forwarded connections are open.
fn connections(tunnels: &Tunnels) -> String {
    let n = forward::pump::active_connections();
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
    text
}
