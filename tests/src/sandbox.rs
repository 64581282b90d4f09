//! A throwaway HOME for one test, files in it, the real peers (ssh-keygen, puttygen, …), and
//! a throwaway system account.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{OutputExt, bin, fixtures, rand_u64, run, run_with_input};

/// A scratch directory that is also the HOME of the commands run in it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn home(&self) -> PathBuf {
        let h = self.dir.path().join("home");
        std::fs::create_dir_all(&h).unwrap();
        h
    }
    /// A command for an rk binary, with HOME pointing into the sandbox and a plain environment.
    pub fn rk(&self, name: &str) -> Command {
        let mut cmd = Command::new(bin(name));
        cmd.current_dir(self.path())
            .env("HOME", self.home())
            .env("USER", "tester")
            .env_remove("SSH_AUTH_SOCK")
            // A desktop's askpass program (KDE sets one) would open windows during the tests.
            .env_remove("SSH_ASKPASS")
            .env_remove("SSH_ASKPASS_REQUIRE")
            .env("NO_COLOR", "1");
        cmd
    }
    /// Copies a fixture in and makes it private (git does not keep modes).
    pub fn fixture(&self, rel: &str) -> PathBuf {
        let src = fixtures().join(rel);
        let dst = self.path().join(Path::new(rel).file_name().unwrap());
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        set_mode(&dst, 0o600);
        dst
    }
    /// The known_hosts file rk-connect uses in this sandbox.
    pub fn known_hosts(&self) -> PathBuf {
        self.path().join("known_hosts")
    }
    /// rk-connect trusting hosts on first use into the sandbox's known_hosts.
    pub fn rk_connect(&self) -> Command {
        let mut cmd = self.rk("rk-connect");
        cmd.arg("--known-hosts")
            .arg(self.known_hosts())
            .arg("--accept-new");
        cmd
    }
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A real peer program (ssh-keygen, puttygen); the error says which package installs it.
pub fn peer(program: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: run .ci/run or `apt-get install -y openssh-client putty-tools`"
    );
    let mut cmd = Command::new(program);
    cmd.env_remove("SSH_AUTH_SOCK")
        .env_remove("SSH_ASKPASS")
        .env_remove("SSH_ASKPASS_REQUIRE");
    cmd
}

/// The `type base64` of a public key line (tools differ on whether they print the comment).
pub fn type_and_blob(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Files in a directory, sorted (to prove nothing extra was left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The SHA-256 of `data` as `sha256sum` prints it (hex).
pub fn sha256_hex(data: &[u8]) -> String {
    let out = run_with_input(
        &mut Command::new("sha256sum"),
        data,
        Duration::from_secs(20),
    );
    out.stdout_str()
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_string()
}

/// A throwaway local account with a known password, for password and keyboard-interactive
/// logins; removed (with `userdel`) on drop, also when the test fails. Tests run as root.
pub struct TestUser {
    pub name: String,
    pub password: String,
}

impl TestUser {
    pub fn create() -> TestUser {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("rkpw{}x{n}", std::process::id());
        let password = format!("Pw-{:x}-tEst", rand_u64() & 0xffff_ffff);
        let _ = Command::new("userdel").arg(&name).output();
        run(Command::new("useradd").args(["-M", "-d", "/", "-s", "/bin/sh", &name]))
            .assert_ok("useradd (tests run as root; the passwd package provides it)");
        let user = TestUser { name, password };
        run_with_input(
            &mut Command::new("chpasswd"),
            format!("{}:{}\n", user.name, user.password).as_bytes(),
            Duration::from_secs(20),
        )
        .assert_ok("chpasswd");
        user
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Its sessions first (sshd may still be closing one), then the account.
        let _ = Command::new("pkill")
            .args(["-9", "-u", &self.name])
            .status();
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
                .unwrap()
                .trim()
                .to_string()
        })
}
