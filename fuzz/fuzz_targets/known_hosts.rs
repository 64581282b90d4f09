//! The known_hosts reader on arbitrary text: never panics, and an exact entry for the host,
//! appended after any garbage, is always found (unless the garbage revokes that very key).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rk_core::known_hosts::{self, HostKeyStatus};

const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key: ssh_key::PublicKey = HOST_KEY.parse().unwrap();
    let path = Path::new("known_hosts");
    let _ = known_hosts::check_text(text, path, "3.80.3.168", 32100, &key);
    let _ = known_hosts::check_text(text, path, "head-node.example", 22, &key);

    let with_entry = format!("{text}\n[3.80.3.168]:32100 {HOST_KEY}\n");
    match known_hosts::check_text(&with_entry, path, "3.80.3.168", 32100, &key) {
        HostKeyStatus::Known | HostKeyStatus::Revoked { .. } => {}
        other => panic!("the appended entry was not found: {other:?}"),
    }
});
