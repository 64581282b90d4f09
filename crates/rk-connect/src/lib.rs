//! `rk-connect`: an SSH client for the platform's head nodes. Reaching the cluster (the route,
//! each hop's host key, logging in) is `rk-ssh`'s job; this crate is what runs over the
//! connection, as `ssh` has it.
//!
//! A run, in order: [`cli`] what was typed → [`settings`] the plan, with the ssh config applied
//! (`-G` prints it) → `rk_ssh::Connector` connects → [`forward`] listeners and `-R` requests →
//! [`session`] the shell, the command, `-W`, or only the forwards (with `--reconnect`).
//! [`console`] is the terminal's platform seam; [`error`] is every way a run can stop.

mod background;
pub mod cli;
mod console;
mod error;
mod forward;
mod heap;
mod session;
mod settings;

use std::sync::Arc;

use rk_ssh::{Connection, Connector};

use cli::Cli;
use forward::{Link, Tunnels, remote};
use settings::Plan;

pub use error::{EXIT_RK_ERROR, Error};

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let cli = cli.normalise();
    // -f: before anything else, so that only the copy that goes on connects.
    if cli.background
        && let Some(status) = background::start_or_continue()
    {
        return status;
    }
    heap::keep_freed_memory();
    // Ctrl-C at a passphrase prompt must not leave the terminal without echo.
    rk_core::interrupt::install();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
        .and_then(|runtime| runtime.block_on(connect_and_run(cli)));
    // The one place an error is reported and turned into the exit status.
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rk-connect: {error}");
            error.exit_code()
        }
    }
}

async fn connect_and_run(cli: Cli) -> Result<i32, Error> {
    let mut plan = Plan::new(&cli)?;
    if cli.print_config {
        settings::print::print_config(&plan);
        return Ok(0);
    }
    plan.settings.check_work()?;
    let log = plan.log;
    plan.settings.forward_agent = plan.settings.forward_agent && agent_to_forward(&plan).await;
    let remote_table = remote::Table::new(log.verbose);
    let prompt = rk_ssh::user_prompt(plan.options.batch);
    let connector = Connector::new(&plan.route, &plan.options, prompt, log)?
        .forward_agent(plan.settings.forward_agent)
        .forwarded_tcpip(Arc::new(remote_table.clone()));

    // Connect, verify each host key, authenticate on each hop.
    let connection = connector.connect().await?;
    let host = plan.route.destination.host.clone();
    let code = match &plan.settings.stdio_target {
        // -W: standard input and output are the one connection; no forwards, as ssh -W.
        Some(target) => session::stdio::forward_stdio(&connection, target).await,
        None => forward_and_run(connection, &connector, &plan, remote_table, &host).await,
    };
    log.step(format!("done, exit status {:?}", code.as_ref().ok()));
    code
}

/// `-A`: whether there is a local agent to forward (said at once when there is none).
async fn agent_to_forward(plan: &Plan) -> bool {
    match rk_ssh::agent_to_forward().await {
        Ok(address) => {
            plan.log.step(format!("forwarding the agent at {address}"));
            true
        }
        Err(why) => {
            plan.log.warn(format!("-A: no agent to forward ({why})."));
            false
        }
    }
}

/// Opens the forwards, then runs the shell, the command, or only the forwards.
async fn forward_and_run(
    connection: Connection,
    connector: &Connector,
    plan: &Plan,
    remote_table: remote::Table,
    host: &str,
) -> Result<i32, Error> {
    let (settings, log) = (&plan.settings, &plan.log);
    let (link_tx, link) = Link::new(Arc::clone(connection.handle()));
    // Listeners first: a port in use is an error before anything runs.
    let mut tunnels = Tunnels::new(
        link,
        remote_table.clone(),
        settings.gateway_ports,
        log.verbose,
    );
    // With -f, Ctrl-C no longer reaches the run: the line that follows says how to stop it.
    let to_stop = if settings.no_command && !settings.background {
        " (Ctrl-C to stop)"
    } else {
        ""
    };
    for spec in &settings.forwards.local {
        let fwd = &spec.forward;
        let local = tunnels.open_local(fwd).await?;
        log.say(format!(
            "Forwarding {local} → {}:{} on the cluster{to_stop}",
            fwd.host, fwd.host_port
        ));
    }
    for spec in &settings.forwards.dynamic {
        let local = tunnels.open_dynamic(&spec.forward).await?;
        log.say(format!(
            "SOCKS proxy on {local} through the cluster{to_stop}"
        ));
    }
    // Remote forwards: the cluster listens; a refusal is an error before anything runs.
    let remote_forwards = &settings.forwards.remote;
    remote::request_all(
        connection.handle(),
        remote_forwards,
        &remote_table,
        settings.no_command,
        log,
    )
    .await?;

    background::up(log);
    if settings.reconnect {
        let remote = session::reconnect::RemoteForwards {
            forwards: remote_forwards,
            table: &remote_table,
        };
        return session::reconnect::supervise(connection, connector, link_tx, remote, host, log)
            .await;
    }
    let code = if settings.no_command {
        session::forwards_only(&connection, host).await
    } else {
        session::shell::session(&connection, settings, host, &mut tunnels, log).await
    };
    connection.disconnect().await;
    code
}
