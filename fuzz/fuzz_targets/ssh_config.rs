//! The ssh config reader rk-connect uses (ssh2-config with rk's rules) on arbitrary text, then
//! the lookup rk-connect makes: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ssh2_config::{ParseRule, SshConfig};

fuzz_target!(|data: &[u8]| {
    let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
    let mut reader = std::io::BufReader::new(data);
    if let Ok(config) = SshConfig::default().parse(&mut reader, rules) {
        for host in ["rk-job", "3.80.3.168", "uprod_00Grm@3.80.3.168"] {
            let params = config.query(host);
            let _ = (
                params.host_name,
                params.user,
                params.port,
                params.identity_file,
            );
        }
    }
});
