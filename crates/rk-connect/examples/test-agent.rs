//! A throwaway SSH agent on a Windows named pipe, for the Windows test suite under Wine, where
//! neither Pageant nor the OpenSSH agent service runs: serves russh's agent on PIPE, loads KEY
//! (an unencrypted OpenSSH private key) into it, prints `ready`, and runs until it is killed.
//! Test glue, not shipped.
//!
//! usage: test-agent PIPE KEY

#[cfg(windows)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    use std::io::Write;

    use russh::keys::agent::client::AgentClient;
    use tokio::net::windows::named_pipe::ServerOptions;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pipe, key] = &args[..] else {
        eprintln!("usage: test-agent PIPE KEY");
        return std::process::ExitCode::from(2);
    };
    let first = match ServerOptions::new().first_pipe_instance(true).create(pipe) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("test-agent: cannot create {pipe}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    // Each client gets its own pipe instance; a new one listens as soon as one is taken.
    let name = pipe.clone();
    let connections = futures::stream::unfold(Some(first), move |server| {
        let name = name.clone();
        async move {
            let server = server?;
            let connected = server.connect().await.map(|()| server);
            let next = ServerOptions::new().create(&name).ok();
            Some((connected, next))
        }
    });
    tokio::spawn(russh::keys::agent::server::serve(Box::pin(connections), ()));

    let loaded = async {
        let key = russh::keys::load_secret_key(key, None).map_err(|e| e.to_string())?;
        let mut client = AgentClient::connect_named_pipe(pipe)
            .await
            .map_err(|e| e.to_string())?;
        client
            .add_identity(&key, &[])
            .await
            .map_err(|e| e.to_string())
    };
    if let Err(e) = loaded.await {
        eprintln!("test-agent: cannot load {key}: {e}");
        return std::process::ExitCode::from(1);
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}

#[cfg(not(windows))]
fn main() {
    eprintln!("test-agent: a named-pipe agent for the Windows tests; Windows only");
    std::process::exit(2);
}
