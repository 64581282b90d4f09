//! `-G`: the settings a connection would use, one `keyword value` line each like `ssh -G`.
//! Forwards are in rk's `-L`/`-R` syntax; the port of a first hop without one is `32100,22`
//! (rk-connect tries the platform's two ports in turn).

use rk_core::fs::display_path;
use rk_ssh::{Hop, HostKeyPolicy};

use super::{Plan, Tty};

pub(crate) fn print_config(plan: &Plan) {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k} {v}\n"));
    route_lines(plan, &mut line);
    option_lines(plan, &mut line);
    let forwards = &plan.settings.forwards;
    for spec in &forwards.local {
        line("localforward", &spec.text);
    }
    for spec in &forwards.remote {
        line("remoteforward", &spec.text);
    }
    for spec in &forwards.dynamic {
        line("dynamicforward", &spec.text);
    }
    print!("{out}");
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Where: user, hostname, port, keys, jump hosts, agent forwarding.
fn route_lines(plan: &Plan, line: &mut impl FnMut(&str, &str)) {
    let route = &plan.route;
    let (last, jumps) = route.hops.split_last().expect("a route has a destination");
    let hop = |h: &Hop| match h.port {
        Some(port) => format!("{}@{}:{port}", h.user, h.host),
        None => format!("{}@{}", h.user, h.host),
    };
    line("user", &last.user);
    line("hostname", &last.host);
    match last.port {
        Some(port) => line("port", &port.to_string()),
        None if jumps.is_empty() => line("port", "32100,22"),
        None => line("port", "22"),
    }
    if route.identity_files.is_empty() {
        for name in ["id_rsa", "id_ed25519", "id_ecdsa"] {
            line("identityfile", &format!("~/.ssh/{name}"));
        }
    }
    for path in &route.identity_files {
        line("identityfile", &display_path(path));
    }
    if !jumps.is_empty() {
        line(
            "proxyjump",
            &jumps.iter().map(hop).collect::<Vec<_>>().join(","),
        );
    }
    line("forwardagent", yes_no(route.forward_agent));
}

/// How: the connection's options, then rk-connect's own, in ssh -G's spelling.
fn option_lines(plan: &Plan, line: &mut impl FnMut(&str, &str)) {
    let (options, settings) = (&plan.options, &plan.settings);
    line("connecttimeout", &options.connect_timeout().to_string());
    line("serveraliveinterval", &options.keepalive().to_string());
    line("serveralivecountmax", "3");
    match options.rekey_limit {
        Some(bytes) => line("rekeylimit", &bytes.to_string()),
        None => line("rekeylimit", "1073741824"),
    }
    line(
        "stricthostkeychecking",
        match options.host_key_policy() {
            HostKeyPolicy::Insecure => "false",
            HostKeyPolicy::AcceptNew => "accept-new",
            HostKeyPolicy::Strict => "true",
            HostKeyPolicy::Ask => "ask",
        },
    );
    match &options.known_hosts {
        Some(path) => line("userknownhostsfile", &display_path(path)),
        None => line("userknownhostsfile", "~/.ssh/known_hosts"),
    }
    line("gatewayports", yes_no(settings.gateway_ports));
    line(
        "requesttty",
        match settings.tty {
            Tty::Force => "true",
            Tty::Never => "false",
            Tty::Auto => "auto",
        },
    );
    line(
        "sessiontype",
        if settings.no_command {
            "none"
        } else {
            "default"
        },
    );
    line("escapechar", settings.escape_spec.as_deref().unwrap_or("~"));
    line("batchmode", yes_no(options.batch));
    line("loglevel", if options.quiet { "QUIET" } else { "INFO" });
    line("identitiesonly", yes_no(options.identities_only));
    if let Some(ciphers) = &options.ciphers {
        line("ciphers", ciphers);
    }
}
