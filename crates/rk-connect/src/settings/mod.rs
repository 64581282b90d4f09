//! What a run of rk-connect does, once the command line and the ssh config are read together:
//! the command line wins and the config fills what it left open, as with ssh. [`Cli`] is only
//! what was typed; [`Plan`] is what will be done: the route and connection options (for
//! `rk-ssh`) and rk-connect's own [`Settings`].

pub(crate) mod print;

use rk_core::ssh_config::Setting;
use rk_ssh::{ConnectOptions, HostKeyPolicy, Log, Route, RouteRequest};

use crate::cli::Cli;
use crate::error::Error;
use crate::forward::Forwards;
use crate::session::{escape, stdio};

/// `-t`, `-T` or RequestTTY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tty {
    /// A terminal for a shell on a terminal (RequestTTY auto).
    Auto,
    Force,
    Never,
}

/// rk-connect's own settings: what runs once connected.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The command; empty: a shell.
    pub(crate) command: Vec<String>,
    /// `-N` / SessionType none: only the forwards.
    pub(crate) no_command: bool,
    pub(crate) tty: Tty,
    /// `-e` / EscapeChar as written (for `-G`), and the character (None: `none`).
    pub(crate) escape_spec: Option<String>,
    pub(crate) escape: Option<u8>,
    pub(crate) gateway_ports: bool,
    pub(crate) reconnect: bool,
    /// `-f`.
    pub(crate) background: bool,
    /// `-W HOST:PORT`.
    pub(crate) stdio_target: Option<(String, u16)>,
    pub(crate) forwards: Forwards,
    /// `-A` once an agent was found to forward.
    pub(crate) forward_agent: bool,
}

/// Everything a run needs, decided before anything connects.
pub(crate) struct Plan {
    pub(crate) route: Route,
    pub(crate) options: ConnectOptions,
    pub(crate) settings: Settings,
    pub(crate) log: Log,
}

impl Plan {
    /// Reads the command line, the job log or saved job, and the ssh config; refuses what
    /// cannot work (a bad forward, `--reconnect` without `-N`…) before any connection.
    pub(crate) fn new(cli: &Cli) -> Result<Plan, Error> {
        let mut log = Log::new("rk-connect", cli.verbose, cli.quiet);
        log.step(crate::cli::version_line());
        let mut forwards = Forwards::default();
        forwards.add(
            &cli.local_forward,
            &cli.remote_forward,
            &cli.dynamic_forward,
        )?;
        if cli
            .connect
            .from_log
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-")
            && !cli.no_command
            && cli.command.is_empty()
        {
            return Err(Error::Usage(
                "--from-log - reads the log from stdin, so stdin cannot also be your shell: \
                 add a command or -N, or give the log as a file."
                    .into(),
            ));
        }
        let prompt = rk_ssh::user_prompt(cli.connect.batch);
        let route = Route::resolve(&route_request(cli), &*prompt, &log)?;
        let mut options = connect_options(cli);
        for note in options.fill_from_config(&route.settings, &log)? {
            log.warn(note);
        }
        log = log.with_quiet(options.quiet);
        let mut settings = Settings::from_cli(cli, &route, forwards)?;
        settings.fill_from_config(&route, &log)?;
        if settings.reconnect && !settings.no_command {
            return Err(Error::Usage(
                "--reconnect keeps forwards up across reconnections, so it goes with -N: a shell or \
                 command cannot move to a new connection (its processes belong to the old one)"
                    .into(),
            ));
        }
        Ok(Plan {
            route,
            options,
            settings,
            log,
        })
    }
}

fn route_request(cli: &Cli) -> RouteRequest {
    RouteRequest {
        login: cli.login.clone(),
        port: cli.port,
        forward_agent: if cli.forward_agent {
            Some(true)
        } else if cli.no_forward_agent {
            Some(false)
        } else {
            None
        },
        ask_login: !cli.print_config,
        ..cli.connect.route_request(cli.destination.clone())
    }
}

fn connect_options(cli: &Cli) -> ConnectOptions {
    let shared = cli.connect.connect_options();
    ConnectOptions {
        host_keys: if cli.insecure_ignore_host_key {
            Some(HostKeyPolicy::Insecure)
        } else {
            shared.host_keys
        },
        wait: cli.wait,
        keepalive: cli.keepalive,
        rekey_limit: cli.rekey_limit,
        quiet: cli.quiet,
        ..shared
    }
}

impl Settings {
    fn from_cli(cli: &Cli, route: &Route, mut forwards: Forwards) -> Result<Settings, Error> {
        // The Host block's LocalForward/RemoteForward/DynamicForward come after -L/-R/-D.
        forwards.add(
            &route.local_forwards,
            &route.remote_forwards,
            &route.dynamic_forwards,
        )?;
        Ok(Settings {
            command: cli.command.clone(),
            no_command: cli.no_command,
            tty: if cli.tty {
                Tty::Force
            } else if cli.no_tty {
                Tty::Never
            } else {
                Tty::Auto
            },
            escape_spec: cli.escape_char.clone(),
            escape: Some(b'~'),
            gateway_ports: cli.gateway_ports,
            reconnect: cli.reconnect,
            background: cli.background,
            stdio_target: cli
                .stdio_forward
                .as_deref()
                .map(stdio::parse_target)
                .transpose()?,
            forwards,
            forward_agent: route.forward_agent,
        })
    }

    /// The config's GatewayPorts, RequestTTY, SessionType and EscapeChar, where the command line
    /// said nothing.
    fn fill_from_config(&mut self, route: &Route, log: &Log) -> Result<(), Error> {
        for (keyword, setting) in &route.settings {
            let value = setting.args.first().map(String::as_str).unwrap_or_default();
            let lower = value.to_ascii_lowercase();
            let bad = |expected: &str| Error::from(rk_ssh::bad_value(keyword, setting, expected));
            match keyword.as_str() {
                "gatewayports" if !self.gateway_ports => match lower.as_str() {
                    "yes" => self.gateway_ports = true,
                    "no" => {}
                    _ => return Err(bad("yes or no")),
                },
                "requesttty" if self.tty == Tty::Auto => match lower.as_str() {
                    "yes" | "force" => self.tty = Tty::Force,
                    "no" => self.tty = Tty::Never,
                    "auto" => {}
                    _ => return Err(bad("yes, no, force or auto")),
                },
                "sessiontype" if !self.no_command => {
                    self.session_type(&lower, setting, log, bad)?;
                }
                "escapechar" if self.escape_spec.is_none() => {
                    self.escape_spec = Some(value.into());
                }
                // As ssh: every forward of the config and of the command line is dropped (scp
                // and VS Code Remote-SSH pass it so a Host block's forwards cannot collide).
                "clearallforwardings" => match lower.as_str() {
                    "yes" | "true" => self.forwards = Forwards::default(),
                    "no" | "false" => {}
                    _ => return Err(bad("yes or no")),
                },
                _ => {}
            }
        }
        if let Some(spec) = &self.escape_spec {
            self.escape = escape::parse(spec).map_err(Error::Usage)?;
        }
        Ok(())
    }

    fn session_type(
        &mut self,
        lower: &str,
        setting: &Setting,
        log: &Log,
        bad: impl Fn(&str) -> Error,
    ) -> Result<(), Error> {
        match lower {
            "none" => self.no_command = true,
            "default" => {}
            "subsystem" => log.warn(format!(
                "{}: SessionType subsystem is not supported by rk-connect; ignored",
                setting.origin
            )),
            _ => return Err(bad("none, subsystem or default")),
        }
        Ok(())
    }

    /// `-N` needs something to keep running (checked after `-G`, which only prints).
    pub(crate) fn check_work(&self) -> Result<(), Error> {
        if self.background && self.stdio_target.is_some() {
            return Err(Error::Usage(
                "-f and -W do not go together: -W's standard input and output are the \
                 connection, which cannot go to the background"
                    .into(),
            ));
        }
        if self.background && !self.no_command && self.command.is_empty() {
            return Err(Error::Usage(
                "-f goes to the background once the connection is up, so a shell has no terminal \
                 there: add -N (forwards only, e.g. -f -N -L 8888:localhost:8888) or a command, \
                 as with ssh -f"
                    .into(),
            ));
        }
        if self.stdio_target.is_none() && self.no_command && self.forwards.is_empty() {
            return Err(Error::Usage(
                "-N keeps only forwards running: add -L PORT:HOST:HOSTPORT, -R PORT:HOST:HOSTPORT or -D PORT"
                    .into(),
            ));
        }
        Ok(())
    }
}
