//! A throwaway OpenSSH sshd on 127.0.0.1 (own config, host keys, authorized_keys), and a real
//! ssh-agent.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{
    ChildGuard, OutputExt, children_of, current_user, free_low_port, free_port, kill_pid, peer, run,
};

/// A throwaway OpenSSH server on 127.0.0.1: its own config, host key, authorized_keys and log
/// in a temp dir, on a port the OS picked; stopped by PID on drop (also when a test fails).
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The address it listens on (127.0.0.1 unless a test set up another loopback address).
    pub listen: String,
    /// sshd_config lines that come before the defaults (sshd keeps the first value it reads),
    /// e.g. "PasswordAuthentication yes\n"; set before `launch`.
    pub config_first: String,
    server: Option<ChildGuard>,
}

impl Sshd {
    /// Starts sshd accepting the given public keys (files) for the current user.
    pub fn start(authorized: &[&Path]) -> Sshd {
        let mut sshd = Sshd::prepare(authorized);
        sshd.port = 0;
        sshd.launch();
        sshd
    }

    /// Starts sshd accepting one OpenSSH key fixture (`ed25519`, `rsa4096_pp`…).
    pub fn accepting_fixture(key: &str) -> Sshd {
        let pubkey = crate::fixtures().join(format!("keys/openssh/{key}.pub"));
        Sshd::start(&[pubkey.as_path()])
    }

    /// Everything but the server itself: config files and a chosen free port; `launch` later.
    pub fn prepare(authorized: &[&Path]) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut keys = String::new();
        for k in authorized {
            keys.push_str(&std::fs::read_to_string(k).unwrap());
            keys.push('\n');
        }
        std::fs::write(dir.path().join("authorized_keys"), keys).unwrap();
        // A port below the ephemeral range, so no other test's bind(0) can take it meanwhile.
        let sshd = Sshd {
            dir,
            port: free_low_port(),
            listen: "127.0.0.1".into(),
            config_first: String::new(),
            server: None,
        };
        sshd.new_host_key();
        sshd
    }

    /// Replaces the host key (takes effect at the next launch).
    pub fn new_host_key(&self) {
        let key = self.dir.path().join("host_ed25519");
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(key.with_extension("pub"));
        run(peer("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f"])
            .arg(&key))
        .assert_ok("host key");
    }

    pub fn host_key_pub(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host_ed25519.pub")).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// (Re)starts the server, on the same port if it had one.
    pub fn launch(&mut self) {
        let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let sshd_bin = sshd_bin
            .expect("sshd is not installed: run .ci/run or `apt-get install -y openssh-server`");
        std::fs::create_dir_all("/run/sshd")
            .expect("/run/sshd (sshd's privilege separation directory; tests run as root)");
        for attempt in 0..10 {
            let port = if self.port != 0 {
                self.port
            } else {
                free_port()
            };
            let d = self.dir.path();
            let config = format!(
                "{first}ListenAddress {listen}\nPort {port}\nHostKey {hk}\nAuthorizedKeysFile {ak}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
                 PidFile {pid}\n{sftp}LogLevel DEBUG1\nMaxStartups 100\nMaxSessions 100\nUseDNS no\nPrintMotd no\nAcceptEnv LANG\n",
                first = self.config_first,
                // sshd refuses a second Subsystem line: a test's own comes first, alone.
                sftp = if self.config_first.contains("Subsystem") {
                    ""
                } else {
                    "Subsystem sftp internal-sftp\n"
                },
                listen = self.listen,
                hk = d.join("host_ed25519").display(),
                ak = d.join("authorized_keys").display(),
                pid = d.join("sshd.pid").display(),
            );
            std::fs::write(d.join("sshd_config"), config).unwrap();
            let mut cmd = Command::new(sshd_bin);
            cmd.arg("-D")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .arg("-E")
                .arg(d.join("sshd.log"));
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut guard = ChildGuard::spawn(&mut cmd).expect("start sshd");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if std::net::TcpStream::connect((self.listen.as_str(), port)).is_ok() {
                    // Make sure the listener is ours: a server that lost the bind race exits.
                    std::thread::sleep(Duration::from_millis(50));
                    if guard.child().try_wait().ok().flatten().is_none() {
                        self.port = port;
                        self.server = Some(guard);
                        return;
                    }
                    break;
                }
                if guard.child().try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(guard);
            if attempt == 9 {
                panic!("sshd did not start; its log:\n{}", self.log());
            }
            if self.port != 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// The listening server's PID (its session processes are its children).
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(ChildGuard::id)
    }

    /// Stops the listening server and every session process it forked (by PID).
    pub fn kill_all(&mut self) {
        if let Some(mut g) = self.server.take() {
            let pid = g.id();
            for child in children_of(pid) {
                kill_pid(child);
            }
            let _ = g.child().kill();
            let _ = g.child().wait();
            g.0 = None;
        }
    }

    /// PIDs of the per-connection sshd processes.
    pub fn sessions(&self) -> Vec<u32> {
        self.server
            .as_ref()
            .map(|g| children_of(g.id()))
            .unwrap_or_default()
    }

    /// An rk-connect-style destination for the current user.
    pub fn dest(&self) -> String {
        format!("ssh://{}@127.0.0.1:{}", current_user(), self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// A real ssh-agent on a socket in `dir`, holding `key`; stopped by PID on drop.
pub fn ssh_agent_holding(dir: &Path, key: &Path) -> (ChildGuard, PathBuf) {
    let sock = dir.join("agent.sock");
    let agent = ChildGuard::spawn(
        peer("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start ssh-agent");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    run(peer("ssh-add").arg(key).env("SSH_AUTH_SOCK", &sock)).assert_ok("ssh-add");
    (agent, sock)
}
