//! rk-ssh on its own, no rk binary: a real OpenSSH sshd on 127.0.0.1 (throwaway config and host
//! key, see `rk_e2e::Sshd`), reached through the library's public API. It runs a command, opens
//! a `direct-tcpip` channel and an `sftp` subsystem channel, and shows that a refused host key
//! and a refused login come back as typed errors, with questions asked only through `Prompt`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rk_core::term::Passphrase;
use rk_e2e::{EchoServer, Sandbox, Sshd};
use rk_ssh::{
    ChannelMsg, ConnectOptions, Connector, Error, HostKeyAnswer, HostKeyPolicy, Log, NewHostKey,
    Prompt, Question, Route, RouteRequest,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zeroize::Zeroizing;

/// A prompt with scripted answers that records what it was asked.
#[derive(Default)]
struct Scripted {
    host_key: Option<HostKeyAnswer>,
    asked: Mutex<Vec<String>>,
}

impl Prompt for Scripted {
    fn unavailable(&self) -> Option<&'static str> {
        self.host_key.is_none().then_some("the test asks nothing")
    }
    fn new_host_key(&self, key: &NewHostKey<'_>) -> HostKeyAnswer {
        self.asked.lock().unwrap().push(format!(
            "host key {} {} {}",
            key.name, key.kind, key.fingerprint
        ));
        self.host_key.unwrap_or(HostKeyAnswer::Refuse)
    }
    fn passphrase(&self, prompt: &str) -> Result<Passphrase, rk_core::Error> {
        panic!("no key here is encrypted, yet asked: {prompt}")
    }
    fn password(&self, prompt: &str) -> Result<Zeroizing<String>, rk_core::Error> {
        panic!("the server takes no password, yet asked: {prompt}")
    }
    fn keyboard_interactive(
        &self,
        _: &str,
        _: &str,
        _: &[Question],
    ) -> Result<Vec<Zeroizing<String>>, rk_core::Error> {
        panic!("the server takes no keyboard-interactive")
    }
    fn login_name(&self) -> Option<String> {
        None
    }
    fn tell(&self, _: &str) {}
}

struct World {
    sb: Sandbox,
    sshd: Sshd,
    key: PathBuf,
}

fn world() -> World {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let public = sb.fixture("keys/openssh/ed25519.pub");
    let sshd = Sshd::start(&[&public]);
    World { sb, sshd, key }
}

fn route(w: &World, key: &Path) -> Route {
    let request = RouteRequest {
        destination: Some(w.sshd.dest()),
        identities: vec![key.to_path_buf()],
        ssh_config: Some("none".into()),
        ..Default::default()
    };
    let log = Log::new("rk-ssh-test", false, true);
    Route::resolve(&request, &Scripted::default(), &log).expect("route")
}

fn options(w: &World, policy: HostKeyPolicy) -> ConnectOptions {
    ConnectOptions {
        known_hosts: Some(w.sb.known_hosts()),
        host_keys: Some(policy),
        no_agent: true,
        connect_timeout: Some(10),
        ..Default::default()
    }
}

async fn connect(
    w: &World,
    key: &Path,
    policy: HostKeyPolicy,
    prompt: Arc<Scripted>,
) -> Result<rk_ssh::Connection, Error> {
    let log = Log::new("rk-ssh-test", false, true);
    let connector = Connector::new(&route(w, key), &options(w, policy), prompt, log)?;
    tokio::time::timeout(Duration::from_secs(30), connector.connect())
        .await
        .expect("connect within 30 s")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Everything a channel sends until it closes (bounded in time).
async fn read_all(channel: &mut rk_ssh::Channel<rk_ssh::Msg>) -> (Vec<u8>, Option<u32>) {
    let mut out = Vec::new();
    let mut status = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, channel.wait()).await {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    (out, status)
}

#[test]
fn runs_a_command_and_opens_tcp_and_sftp_channels() {
    let w = world();
    let echo = EchoServer::start();
    runtime().block_on(async {
        let connection = connect(&w, &w.key, HostKeyPolicy::AcceptNew, Arc::default())
            .await
            .expect("connected");
        // The host key was learnt (accept-new) into the given known_hosts.
        let known = std::fs::read_to_string(w.sb.known_hosts()).unwrap();
        assert!(
            known.contains(&format!("[127.0.0.1]:{}", w.sshd.port)),
            "{known}"
        );

        let mut exec = connection.open_exec("echo rk-ssh; exit 3").await.unwrap();
        let (out, status) = read_all(&mut exec).await;
        assert_eq!(String::from_utf8_lossy(&out), "rk-ssh\n");
        assert_eq!(status, Some(3));

        let tcp = connection
            .open_direct_tcpip("127.0.0.1", echo.port, None)
            .await
            .unwrap();
        let mut stream = tcp.into_stream();
        stream.write_all(b"through the head node").await.unwrap();
        let mut back = [0u8; 21];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut back))
            .await
            .expect("echo within 10 s")
            .unwrap();
        assert_eq!(&back, b"through the head node");

        // SFTP: the server's sftp subsystem answers SSH_FXP_INIT (version 3) with
        // SSH_FXP_VERSION (type 2), RFC draft-ietf-secsh-filexfer-02 section 4.
        let sftp = connection.open_subsystem("sftp").await.unwrap();
        let mut sftp = sftp.into_stream();
        sftp.write_all(&[0, 0, 0, 5, 1, 0, 0, 0, 3]).await.unwrap();
        let mut head = [0u8; 9];
        tokio::time::timeout(Duration::from_secs(10), sftp.read_exact(&mut head))
            .await
            .expect("SSH_FXP_VERSION within 10 s")
            .unwrap();
        assert_eq!(head[4], 2, "not SSH_FXP_VERSION: {head:?}");
        assert_eq!(&head[5..9], &[0, 0, 0, 3], "version: {head:?}");

        let refused = connection.open_subsystem("no-such-subsystem").await;
        assert!(
            matches!(refused, Err(Error::Channel { .. })),
            "{:?}",
            refused.err()
        );
        connection.disconnect().await;
    });
}

#[test]
fn a_refused_host_key_and_a_refused_login_are_typed_errors() {
    let w = world();
    runtime().block_on(async {
        // Strict: the unknown host is refused without a question.
        let prompt = Arc::new(Scripted {
            host_key: Some(HostKeyAnswer::Remember),
            ..Default::default()
        });
        let strict = connect(&w, &w.key, HostKeyPolicy::Strict, Arc::clone(&prompt)).await;
        match strict {
            Err(Error::HostKey(msg)) => assert!(msg.contains("StrictHostKeyChecking"), "{msg}"),
            other => panic!("expected a host key refusal, got {:?}", other.err()),
        }
        assert!(prompt.asked.lock().unwrap().is_empty());

        // Ask: the question goes through the Prompt; "no" refuses and nothing is remembered.
        let prompt = Arc::new(Scripted {
            host_key: Some(HostKeyAnswer::Refuse),
            ..Default::default()
        });
        let refused = connect(&w, &w.key, HostKeyPolicy::Ask, Arc::clone(&prompt)).await;
        match refused {
            Err(Error::HostKey(msg)) => assert!(msg.contains("not trusted"), "{msg}"),
            other => panic!("expected a host key refusal, got {:?}", other.err()),
        }
        let asked = prompt.asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(asked[0].contains("ED25519 SHA256:"), "{asked:?}");
        assert!(!w.sb.known_hosts().exists());

        // No terminal to ask on: refused, saying why.
        let silent = connect(&w, &w.key, HostKeyPolicy::Ask, Arc::default()).await;
        match silent {
            Err(Error::HostKey(msg)) => assert!(msg.contains("the test asks nothing"), "{msg}"),
            other => panic!("expected a host key refusal, got {:?}", other.err()),
        }

        // A key the server does not take: PermissionDenied, naming what was tried.
        let stranger = w.sb.fixture("keys/openssh/ecdsa256");
        let denied = connect(&w, &stranger, HostKeyPolicy::AcceptNew, Arc::default()).await;
        match denied {
            Err(Error::PermissionDenied { allowed, tried, .. }) => {
                assert_eq!(allowed, ["publickey"]);
                assert_eq!(tried.len(), 1, "{tried:?}");
                assert!(tried[0].contains("ecdsa256"), "{tried:?}");
            }
            other => panic!("expected PermissionDenied, got {:?}", other.err()),
        }
    });
}
