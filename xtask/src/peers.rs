//! The real programs the tests talk to (sshd, puttygen, Xvfb, …) and the Windows toolchain:
//! check that each is there, name the Debian package of each missing one, and install them
//! with apt-get when asked and able to (root on Debian/Ubuntu), saying so first.

use std::path::Path;
use std::process::Command;

/// One program (on PATH) or file (an absolute path) and the Debian package that provides it.
#[derive(Clone, Copy)]
pub struct Peer {
    pub what: &'static str,
    pub package: &'static str,
    pub why: &'static str,
}

impl Peer {
    /// A program looked up on PATH.
    pub const fn program(name: &'static str, package: &'static str, why: &'static str) -> Peer {
        Peer {
            what: name,
            package,
            why,
        }
    }

    /// A file at an absolute path (what `present` tells from the leading `/`).
    pub const fn file(path: &'static str, package: &'static str, why: &'static str) -> Peer {
        Peer::program(path, package, why)
    }

    pub fn present(&self) -> bool {
        if self.what.starts_with('/') {
            return Path::new(self.what).exists();
        }
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(self.what).is_file())
        })
    }
}

/// The peers of the Linux test suite.
pub const LINUX_TEST_PEERS: &[Peer] = &[
    Peer::file(
        "/usr/sbin/sshd",
        "openssh-server",
        "the throwaway SSH server of the tests",
    ),
    Peer::file(
        "/usr/lib/openssh/sftp-server",
        "openssh-sftp-server",
        "sftp-server as its own process, for rk-cp's broken-channel test",
    ),
    Peer::program(
        "ssh",
        "openssh-client",
        "the OpenSSH client rk is compared with",
    ),
    Peer::program("ssh-keygen", "openssh-client", "checks the keys rk makes"),
    Peer::program("ssh-agent", "openssh-client", "the agent tests"),
    Peer::program("puttygen", "putty-tools", "checks the .ppk files rk makes"),
    Peer::program("Xvfb", "xvfb", "an X server for the clipboard tests"),
    Peer::program("xclip", "xclip", "reads the clipboard back"),
    Peer::file("/usr/bin/time", "time", "peak memory of rk's processes"),
    Peer::program("groff", "groff-base", "renders the man pages"),
    Peer::program("ip", "iproute2", "the README test's network namespace"),
    Peer::program("unshare", "util-linux", "the README test's namespaces"),
    Peer::program("chattr", "e2fsprogs", "a file that cannot be written"),
    Peer::program("curl", "curl", "HTTP through the tunnels"),
    Peer::program("rsync", "rsync", "rsync -e rk-connect, as users run it"),
    Peer::program("git", "git", "git over rk-connect (GIT_SSH_COMMAND)"),
    Peer::program(
        "useradd",
        "passwd",
        "a throwaway account for the password login tests",
    ),
    Peer::program("pkill", "procps", "ends the throwaway account's sessions"),
    Peer::file(
        "/etc/pam.d/sshd",
        "openssh-server",
        "PAM for the keyboard-interactive test",
    ),
];

/// Packages that are installed without their recommendations (the Windows toolchain's pull in
/// hundreds of megabytes otherwise).
const NO_RECOMMENDS: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "gcc-mingw-w64-x86-64",
    "wine64",
];

/// The packages of the missing peers, once each, in order.
pub fn missing_packages(peers: &[Peer]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    for peer in peers.iter().filter(|p| !p.present()) {
        if !packages.contains(&peer.package) {
            packages.push(peer.package);
        }
    }
    packages
}

/// The command that installs `packages`.
pub fn install_command(packages: &[&str]) -> String {
    let (quiet, plain): (Vec<&str>, Vec<&str>) =
        packages.iter().partition(|p| NO_RECOMMENDS.contains(p));
    let mut parts = vec!["apt-get update".to_string()];
    if !plain.is_empty() {
        parts.push(format!("apt-get install -y {}", plain.join(" ")));
    }
    if !quiet.is_empty() {
        parts.push(format!(
            "apt-get install -y --no-install-recommends {}",
            quiet.join(" ")
        ));
    }
    parts.join(" && ")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure every peer is there. Missing ones are installed with apt-get when `install` is
/// set and this is root on a Debian-like system (each named, with why, before anything is
/// installed); otherwise the error names each missing program, its package and the command.
pub fn ensure(peers: &[Peer], install: bool) -> Result<(), String> {
    let missing: Vec<&Peer> = peers.iter().filter(|p| !p.present()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages = missing_packages(peers);
    let listing: String = missing
        .iter()
        .map(|p| format!("  {} (package {}): {}\n", p.what, p.package, p.why))
        .collect();
    let command = install_command(&packages);
    let can_install = install && is_root() && Path::new("/usr/bin/apt-get").exists();
    if !can_install {
        return Err(format!(
            "missing programs the tests need:\n{listing}install them with:\n  {command}"
        ));
    }
    eprintln!("xtask: installing what the tests need:\n{listing}xtask: running: {command}");
    let status = Command::new("sh")
        .args(["-c", &command])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e}"))?;
    if !status.success() {
        return Err(format!("`{command}` failed ({status})"));
    }
    let still: Vec<&str> = peers
        .iter()
        .filter(|p| !p.present())
        .map(|p| p.what)
        .collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!("still missing after apt-get: {}", still.join(", ")))
    }
}
