//! Where things are: the workspace, the shared fixtures, and the built rk binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::OutputExt;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/fixtures` beside the checkout (read-only: copy before chmod-ing).
pub fn fixtures() -> PathBuf {
    workspace_root().join("../shared/fixtures")
}

/// Every `X.log` with an `X.expected.json` in a folder, sorted by name (new fixtures count
/// without code changes).
pub fn job_log_fixtures(dir: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let mut pairs: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|log| {
            let expected = log.with_extension("expected.json");
            let text = std::fs::read_to_string(&expected)
                .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
            (log, serde_json::from_str(&text).unwrap())
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

/// Checks `rk-parse-log --format json` output against a fixture's expected JSON: the user, host
/// and port; or for `{"error": "not-found"}` exit 1, nothing on stdout and the "no message"
/// reason; or for `{"error": "rejected", "stderr": TEXT}` exit 1 and TEXT in what stderr says
/// was refused (the line, the token and why).
pub fn assert_job_log_result(what: &str, out: &Output, expected: &serde_json::Value) {
    if let Some(error) = expected.get("error") {
        assert_eq!(
            out.code(),
            Some(1),
            "{what}: expected no result, got {}",
            out.stdout_str()
        );
        assert!(out.stdout_str().is_empty(), "{what}");
        let said = match error.as_str() {
            Some("rejected") => expected["stderr"]
                .as_str()
                .expect("\"stderr\" with \"rejected\""),
            _ => "no SSH connection message",
        };
        assert!(
            out.stderr_str().contains(said),
            "{what}: expected {said:?} in {}",
            out.stderr_str()
        );
    } else {
        out.assert_ok(what);
        let got: serde_json::Value = serde_json::from_str(out.stdout_str().trim())
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", out.stdout_str()));
        for field in ["user", "host", "port"] {
            assert_eq!(got[field], expected[field], "{what}: {field}");
        }
        assert!(got["line"].as_u64().unwrap() >= 1, "{what}");
    }
}

/// The binary crates the tests drive (each builds one binary of the same name).
pub const BINARIES: &[&str] = &[
    "rk-keygen",
    "rk-parse-log",
    "rk-copy-pubkey",
    "rk-connect",
    "rk-cp",
];

/// Path of a built rk binary. The first call builds all of them (a no-op when fresh), so a test
/// never runs a stale binary even under `cargo test -p rk-e2e`.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        // target/<profile>/deps/<test-exe> → target/<profile>
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .args(["build", "--quiet", "--bins"]);
        for pkg in BINARIES {
            cmd.args(["-p", pkg]);
        }
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("running cargo build for the rk binaries");
        assert!(status.success(), "cargo build of the rk binaries failed");
        profile_dir
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// What `rk-cp -v` says it moved over the network (its `[  1.234s] N bytes moved` step), for
/// the tests and the bench's resume check.
pub fn bytes_moved(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| {
        l.split("] ")
            .nth(1)?
            .strip_suffix(" bytes moved")?
            .parse()
            .ok()
    })
}
