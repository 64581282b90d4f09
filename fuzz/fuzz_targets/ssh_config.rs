//! rk-core's ssh config evaluator (what rk-connect reads ~/.ssh/config with) on arbitrary text,
//! for a few destinations, then the IdentityFile expansion rk-connect makes: never panics, never
//! hangs.
//!
//! Files come from memory, so `Include` is exercised without touching the real filesystem: the
//! input itself is `/fuzz/.ssh/config`, and it can include itself (`Include config`, `Include *`)
//! or `/fuzz/.ssh/other` (its second half); a file that includes itself must stop at the depth
//! limit with an error.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use rk_core::ssh_config::{self, ConfigFiles, Query};

struct Memory<'a> {
    config: &'a [u8],
    other: &'a [u8],
}

const CONFIG: &str = "/fuzz/.ssh/config";
const OTHER: &str = "/fuzz/.ssh/other";

impl ConfigFiles for Memory<'_> {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        match path.to_str()? {
            CONFIG => Some(self.config.to_vec()),
            OTHER => Some(self.other.to_vec()),
            _ => None,
        }
    }

    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        [CONFIG, OTHER]
            .iter()
            .filter(|p| glob::Pattern::new(pattern).is_ok_and(|g| g.matches(p)))
            .map(PathBuf::from)
            .collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let files = Memory {
        config: data,
        other: &data[data.len() / 2..],
    };
    for (host, user) in [
        ("rk-job", None),
        ("3.80.3.168", Some("uprod_00Grm")),
        ("", None),
    ] {
        let query = Query {
            host: host.to_string(),
            user: user.map(str::to_string),
            port: None,
            local_user: "me".into(),
            local_host: "laptop.example".into(),
            home: PathBuf::from("/fuzz"),
            // The input's first line is also given as an -o option.
            options: String::from_utf8_lossy(data)
                .lines()
                .take(1)
                .map(str::to_string)
                .collect(),
        };
        // `Match exec` answers from the command's length: deterministic, no process.
        let mut exec = |command: &str| Ok(command.len() % 2 == 0);
        if let Ok(config) = ssh_config::evaluate(&files, Path::new(CONFIG), &query, &mut exec) {
            let host_name = config.host_name.as_deref().unwrap_or(host);
            let user = config.user.as_deref().unwrap_or("me");
            for raw in &config.identity_files {
                let _ = ssh_config::expand_path(
                    raw,
                    &query,
                    host_name,
                    user,
                    config.port.unwrap_or(22),
                );
            }
        }
    }
});
