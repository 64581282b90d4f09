//! RFC 4716 ("SSH2") public keys: what PuTTYgen's "Save public key" writes.
//!
//! ```text
//! ---- BEGIN SSH2 PUBLIC KEY ----
//! Comment: "rsa-key-20240101"
//! AAAAB3NzaC1yc2EAAAADAQABAAABAQ...
//! ---- END SSH2 PUBLIC KEY ----
//! ```

use ssh_key::PublicKey;
use ssh_key::encoding::Decode;
use ssh_key::public::KeyData;

const BEGIN: &str = "---- BEGIN SSH2 PUBLIC KEY ----";
const END: &str = "---- END SSH2 PUBLIC KEY ----";
/// Headers are short in practice; this bounds a hostile file's endless headers.
const MAX_HEADER_BYTES: usize = 8 * 1024;
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Parses the first RFC 4716 block in `text`. The `Comment` header becomes the key's comment.
pub fn parse(text: &str) -> Result<PublicKey, String> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r').trim());
    lines
        .by_ref()
        .find(|l| *l == BEGIN)
        .ok_or("no '---- BEGIN SSH2 PUBLIC KEY ----' line")?;

    let mut comment = String::new();
    let mut body = String::new();
    let mut header_bytes = 0usize;
    let mut continuing: Option<(String, String)> = None;
    let mut ended = false;
    for line in lines.by_ref() {
        if line == END {
            ended = true;
            break;
        }
        if let Some((name, mut value)) = continuing.take() {
            header_bytes += line.len();
            if header_bytes > MAX_HEADER_BYTES {
                return Err("headers are far too long".into());
            }
            if let Some(more) = line.strip_suffix('\\') {
                value.push_str(more);
                continuing = Some((name, value));
            } else {
                value.push_str(line);
                set_header(&name, value, &mut comment);
            }
            continue;
        }
        if body.is_empty()
            && let Some((name, value)) = line.split_once(':')
        {
            header_bytes += line.len();
            if header_bytes > MAX_HEADER_BYTES {
                return Err("headers are far too long".into());
            }
            let value = value.trim_start();
            if let Some(more) = value.strip_suffix('\\') {
                continuing = Some((name.to_string(), more.to_string()));
            } else {
                set_header(name, value.to_string(), &mut comment);
            }
            continue;
        }
        body.push_str(line);
        if body.len() > MAX_BODY_BYTES {
            return Err("key body is far too long".into());
        }
    }
    if !ended {
        return Err("no '---- END SSH2 PUBLIC KEY ----' line".into());
    }
    use ssh_key::encoding::base64::{Base64, Encoding};
    let blob = Base64::decode_vec(&body).map_err(|_| "key body is not valid base64".to_string())?;
    let mut reader = &blob[..];
    let key_data = KeyData::decode(&mut reader).map_err(|e| format!("bad key data: {e}"))?;
    if !reader.is_empty() {
        return Err("trailing bytes after the key data".into());
    }
    Ok(PublicKey::new(key_data, comment))
}

fn set_header(name: &str, value: String, comment: &mut String) {
    if name.eq_ignore_ascii_case("Comment") {
        let v = value.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        *comment = v.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_and_continuation_lines() {
        let key = "AAAAC3NzaC1lZDI1NTE5AAAAIGAH0Gum5UT+0DwnNedugL/nCqvJTD0DwwP/7DE+NFH5";
        let text = format!(
            "{BEGIN}\nSubject: me\nComment: \"a long \\\ncomment\"\n{}\n{}\n{END}\n",
            &key[..40],
            &key[40..]
        );
        let pk = parse(&text).unwrap();
        assert_eq!(pk.comment().as_str_lossy(), "a long comment");
        assert_eq!(pk.algorithm(), ssh_key::Algorithm::Ed25519);
    }

    #[test]
    fn endless_headers_are_refused() {
        let mut text = format!("{BEGIN}\n");
        for _ in 0..10_000 {
            text.push_str("X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
        }
        assert!(parse(&text).unwrap_err().contains("headers"));
    }

    #[test]
    fn missing_end_is_refused() {
        assert!(parse(&format!("{BEGIN}\nAAAA\n")).is_err());
    }
}
