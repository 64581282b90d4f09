//! What runs once connected: a shell or a command (stdin/stdout/stderr, exit status,
//! window size, signals), or forwards only (-N).

use std::io::{Read, Write};
use std::time::Duration;

use rk_core::destination::Destination;
use rk_core::platform::interrupt::Interrupt;
use russh::ChannelMsg;

use crate::cli::Cli;
use crate::handler::Connection;
use crate::tty;
use crate::{Error, Log};

/// Standard output/error written straight to the descriptor (no line buffering).
pub(crate) fn raw_out(fd: i32) -> std::mem::ManuallyDrop<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fds 1 and 2 stay open for the life of the process; ManuallyDrop never closes them.
    std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) })
}

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
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            Some(()) = async { match term.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => return Ok(0),
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

pub(crate) async fn session(
    handle: &Connection,
    cli: &Cli,
    dest: &Destination,
    forward_agent: bool,
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
    let want_pty = !cli.no_tty && (cli.tty || (interactive && tty::is_terminal(0)));
    if want_pty {
        let (cols, rows) = tty::window_size(1)
            .or_else(|| tty::window_size(0))
            .unwrap_or((80, 24));
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
    let _raw = if want_pty && tty::is_terminal(0) {
        tty::RawMode::enable(0)
    } else {
        None
    };

    let (mut reader, writer) = channel.split();

    // stdin on a thread with big reads (tokio's stdin hops through a pool 8 KiB at a time).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
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

    let mut winch = if want_pty {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok()
    } else {
        None
    };
    rk_core::interrupt::defer_to_program(&[Interrupt::Terminate, Interrupt::Hangup]);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();

    let mut out = raw_out(1);
    let mut err = raw_out(2);
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
                    if writer.data_bytes(data).await.is_err() {
                        stdin_open = false;
                    }
                }
                None => {
                    stdin_open = false;
                    let _ = writer.eof().await;
                }
            },
            Some(()) = async { match winch.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                if let Some((cols, rows)) = tty::window_size(1).or_else(|| tty::window_size(0)) {
                    let _ = writer.window_change(cols, rows, 0, 0).await;
                }
            },
            Some(()) = async { match term.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                return Err(Error::Signal("terminated"));
            },
            Some(()) = async { match hup.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                return Err(Error::Signal("hang-up"));
            },
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
