//! The scanner against wordings, traps and encodings (end-to-end fixtures live in tests/).
use super::*;

fn one(log: &str) -> Option<(String, String, Option<u16>)> {
    latest(log.as_bytes(), ScanOptions::default()).map(|f| (f.user, f.host, f.port))
}

fn r(u: &str, h: &str, p: Option<u16>) -> Option<(String, String, Option<u16>)> {
    Some((u.into(), h.into(), p))
}

#[test]
fn platform_wordings() {
    assert_eq!(
        one("Cluster started. Username: uprod_qpWia  IP address: 107.23.132.81  Port: 22\n"),
        r("uprod_qpWia", "107.23.132.81", Some(22))
    );
    assert_eq!(
        one(
            "SSH access: the job username is uprod_00Grm and the public IP address is 3.80.3.168, port 32100\n"
        ),
        r("uprod_00Grm", "3.80.3.168", Some(32100))
    );
    assert_eq!(
        one("\x1b[32mSSH\x1b[0m: uprod_Ab3dE@54.201.7.19 (port 32100)\r\n"),
        r("uprod_Ab3dE", "54.201.7.19", Some(32100))
    );
    assert_eq!(
        one("connect with ssh -p 32100 uprod_x1@3.3.3.3\n"),
        r("uprod_x1", "3.3.3.3", Some(32100))
    );
    assert_eq!(
        one("login: alice host 8.8.4.4:2222\n"),
        r("alice", "8.8.4.4", Some(2222))
    );
    assert_eq!(one("user=bob ip=9.9.9.9\n"), r("bob", "9.9.9.9", None));
    assert_eq!(
        one("ssh uprod_v6@[2600:1f18::5]:32100\n"),
        r("uprod_v6", "2600:1f18::5", Some(32100))
    );
    assert_eq!(
        one("Username: uprod_v6 address 2600:1f18:abcd::42 port 22\n"),
        r("uprod_v6", "2600:1f18:abcd::42", Some(22))
    );
}

#[test]
fn multi_line_block_combines_within_the_window_only() {
    let block = "SSH connection details:\n  Username: uprod_blk\n  Public IP: 52.1.2.3\n  SSH Port: 32100\n";
    assert_eq!(one(block), r("uprod_blk", "52.1.2.3", Some(32100)));
    let reversed = "Public IP: 52.1.2.3\nSSH Port: 22\nUsername: uprod_rev\n";
    assert_eq!(one(reversed), r("uprod_rev", "52.1.2.3", Some(22)));
    let far = "Username: uprod_far\na\nb\nc\nd\ne\nf\nPublic IP: 52.1.2.3\n";
    assert_eq!(one(far), None);
}

#[test]
fn public_address_wins_and_private_alone_is_not_an_answer() {
    assert_eq!(
        one("user uprod_p on 10.0.0.5 (public 18.2.3.4) port 22\n"),
        r("uprod_p", "18.2.3.4", Some(22))
    );
    assert_eq!(
        one(
            "Username: uprod_p IP: 10.1.2.3 private 192.168.1.1 172.20.0.1 100.64.1.1 169.254.1.1 127.0.0.1\n"
        ),
        None
    );
    assert_eq!(one("Username: uprod_p node ip-10-25-84-68 ready\n"), None);
    let opts = ScanOptions {
        allow_private: true,
        ..Default::default()
    };
    assert_eq!(
        latest(b"Username: uprod_p IP: 127.0.0.1 port 2022\n", opts).map(|f| f.host),
        Some("127.0.0.1".into())
    );
}

#[test]
fn invalid_addresses_urls_and_mail_are_not_fields() {
    assert_eq!(one("Username: uprod_x IP address: 3.80.3.999\n"), None);
    assert_eq!(
        one("Username: uprod_x data at https://52.216.1.9:443/bucket\n"),
        None
    );
    assert_eq!(one("mail support@example.com from 52.216.1.9:443\n"), None);
    assert_eq!(one("version 1.2.3.4.5 by user uprod_v\n"), None);
}

#[test]
fn injection_attempts_are_never_users() {
    for bad in ["$(reboot)", "`id`", "a;rm", "x'y", "\"q\"", "a b"] {
        let log = format!("Username: {bad} IP address: 3.80.3.1 port 22\n");
        let got = one(&log);
        assert!(
            got.as_ref()
                .is_none_or(|(u, _, _)| is_valid_user(u) && !u.contains(['$', '`', ';', '\''])),
            "{bad}: {got:?}"
        );
    }
}

#[test]
fn latest_wins_and_all_lists_each() {
    let log = "u uprod_a@3.3.3.3 port 22\nx\nx\nx\nx\nx\nuprod_a@4.4.4.4 port 32100\n";
    let all = scan_all(log.as_bytes(), ScanOptions::default());
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].line, 1);
    assert_eq!(all[1].line, 7);
    assert_eq!(all[1].host, "4.4.4.4");
}

#[test]
fn json_lines() {
    let log = r#"{"ts":"2026-11-24T10:00:00Z","message":"\u001b[1mSSH\u001b[0m: username is uprod_js, IP 34.5.6.7, port 32100"}"#;
    assert_eq!(one(log), r("uprod_js", "34.5.6.7", Some(32100)));
    let fields = r#"{"event":"ssh_ready","user":"uprod_jf","public_ip":"34.5.6.8","port":22}"#;
    assert_eq!(one(fields), r("uprod_jf", "34.5.6.8", Some(22)));
}

#[test]
fn huge_line_is_cut_not_the_rest_of_the_file() {
    let mut log = vec![b'x'; 5 * 1024 * 1024];
    log.extend_from_slice(b"\nUsername: uprod_after IP address: 3.4.5.6 Port: 22\n");
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut found = Vec::new();
    for chunk in log.chunks(CHUNK) {
        scanner.push(chunk, &mut |f| {
            found.push(f);
            true
        });
        assert!(
            scanner.buf.len() <= CHUNK + MAX_LINE + 1024,
            "buffer grew to {}",
            scanner.buf.len()
        );
    }
    scanner.finish(&mut |f| {
        found.push(f);
        true
    });
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 2);
}

#[test]
fn byte_at_a_time_gives_the_same_as_all_at_once() {
    let log = b"a\nSSH connection details:\n  Username: uprod_blk\n  Public IP: 52.1.2.3\n  SSH Port: 32100\nz\n\xff\xfe garbage\nuprod_q@8.8.8.8 port 22";
    let whole = scan_all(log, ScanOptions::default());
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut pieces = Vec::new();
    for b in log.iter() {
        scanner.push(std::slice::from_ref(b), &mut |f| {
            pieces.push(f);
            true
        });
    }
    scanner.finish(&mut |f| {
        pieces.push(f);
        true
    });
    assert_eq!(whole, pieces);
    assert_eq!(whole.len(), 2);
    assert_eq!(whole[0].line, 3);
    assert_eq!(whole[1].line, 8);
}

#[test]
fn byte_order_marks_choose_the_decoding() {
    let text = "boot\r\nUsername: uprod_Wide Public IP: 3.80.3.168 Port: 32100\r\n";
    let expected = scan_all(text.as_bytes(), ScanOptions::default());
    assert_eq!(expected.len(), 1);
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let utf8_bom: Vec<u8> = b"\xEF\xBB\xBF"
        .iter()
        .chain(text.as_bytes())
        .copied()
        .collect();
    for (name, bytes) in [("le", &le), ("be", &be), ("utf-8 bom", &utf8_bom)] {
        assert_eq!(scan_all(bytes, ScanOptions::default()), expected, "{name}");
        // Through a reader as well (the file path of rk-parse-log).
        let mut got = Vec::new();
        scan_reader(&mut &bytes[..], ScanOptions::default(), &mut |f| {
            got.push(f);
            true
        })
        .unwrap();
        assert_eq!(got, expected, "{name} via reader");
    }
    // Too short to tell: taken as it is.
    assert!(scan_all(b"\xFF", ScanOptions::default()).is_empty());
    // FF FE followed by plain ASCII is junk before a UTF-8 log, not a UTF-16 BOM.
    let junk: Vec<u8> = b"\xFF\xFE\x00binary\n"
        .iter()
        .chain(text.as_bytes())
        .copied()
        .collect();
    assert_eq!(scan_all(&junk, ScanOptions::default()), {
        let mut e = expected.clone();
        e[0].line += 1;
        e
    });
}

#[test]
fn custom_patterns() {
    let p =
        CustomPattern::new(r"node (?P<host>\S+) ready for (?P<user>\w+) on (?P<port>\d+)").unwrap();
    let opts = ScanOptions {
        custom: vec![p],
        ..Default::default()
    };
    let got = latest(b"node head.example.org ready for alice on 2200\n", opts).unwrap();
    assert_eq!(
        (got.user.as_str(), got.host.as_str(), got.port),
        ("alice", "head.example.org", Some(2200))
    );
    assert!(CustomPattern::new("(unclosed").is_err());
    assert!(
        CustomPattern::new(r"(?P<user>\w+)")
            .unwrap_err()
            .contains("host")
    );
}

#[test]
fn urls_print_v6_in_brackets() {
    let f = Found {
        user: "u".into(),
        host: "2600::1".into(),
        port: Some(22),
        line: 1,
    };
    assert_eq!(f.to_url(), "ssh://u@[2600::1]:22");
    let f = Found {
        user: "u".into(),
        host: "1.2.3.4".into(),
        port: None,
        line: 1,
    };
    assert_eq!(f.to_url(), "ssh://u@1.2.3.4");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Pieces that real (and hostile) logs are made of, so generated input reaches deep
    /// into the patterns instead of stopping at the prefilter.
    fn fragment() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"Username: ".to_vec()),
            Just(b"the job username is ".to_vec()),
            Just(b"login as: ".to_vec()),
            Just(b"user ".to_vec()),
            Just(b"uprod_".to_vec()),
            Just(b"@".to_vec()),
            Just(b" port ".to_vec()),
            Just(b"Port: ".to_vec()),
            Just(b" -p ".to_vec()),
            Just(b"32100".to_vec()),
            Just(b"99999".to_vec()),
            Just(b"3.80.3.168".to_vec()),
            Just(b"10.0.0.1".to_vec()),
            Just(b"3.80.3.999".to_vec()),
            Just(b"2600:1f18::5".to_vec()),
            Just(b"[".to_vec()),
            Just(b"]:".to_vec()),
            Just(b":".to_vec()),
            Just(b"::".to_vec()),
            Just(b".".to_vec()),
            Just(b"\x1b[32m".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"{\"message\":\"".to_vec()),
            Just(b"\\u001b".to_vec()),
            Just(b"https://".to_vec()),
            Just(b"support@example.com".to_vec()),
            Just("ユーザー名：".as_bytes().to_vec()),
            Just("、ポート：".as_bytes().to_vec()),
            Just("IPアドレスは".as_bytes().to_vec()),
            Just("３２１００".as_bytes().to_vec()),
            Just(b"| Username | Public IP | Port |\n".to_vec()),
            Just(b"+------+-----+\n".to_vec()),
            Just(b" | ".to_vec()),
            Just(b"USER   PUBLIC IP   PORT\n".to_vec()),
            Just(b"   ".to_vec()),
            Just(b"-o".to_vec()),
            Just(b"Benutzername: ".to_vec()),
            "[a-zA-Z0-9_ $;`'\"|&()-]{0,12}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..8),
        ]
    }

    fn log() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(fragment(), 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = scan_all(&data, ScanOptions::default());
        }

        /// Every result is well-formed, and feeding the log in any pieces gives the same
        /// results as feeding it whole.
        #[test]
        fn results_are_valid_and_chunking_does_not_matter(data in log(), cut in 1usize..64) {
            let mut whole = Vec::new();
            let (_, refused) = scan_reader_report(&mut &data[..], ScanOptions::default(), &mut |f| {
                whole.push(f);
                true
            })
            .unwrap();
            for f in &whole {
                prop_assert!(is_valid_user(&f.user), "{:?}", f);
                let ip: IpAddr = f.host.parse().expect("host is an address");
                prop_assert!(is_public(&ip), "{:?}", f);
                prop_assert!(f.port != Some(0));
                prop_assert!(f.line >= 1);
            }
            let mut scanner = Scanner::new(ScanOptions::default());
            let mut pieces = Vec::new();
            for chunk in data.chunks(cut) {
                scanner.push(chunk, &mut |f| { pieces.push(f); true });
            }
            scanner.finish(&mut |f| { pieces.push(f); true });
            prop_assert_eq!(whole, pieces);
            // What was refused (and where) does not depend on the cuts either.
            prop_assert_eq!(refused.as_ref(), scanner.rejection());
        }

        /// A UTF-16 copy (either byte order, with its BOM, as PowerShell writes it) gives
        /// what the UTF-8 text gives, however it is cut, odd byte offsets included.
        #[test]
        fn utf16_copies_give_the_same_results(data in log(), cut in 1usize..64, big_endian: bool) {
            let text = String::from_utf8_lossy(&data).into_owned();
            let expected = scan_all(text.as_bytes(), ScanOptions::default());
            let mut utf16: Vec<u8> = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for unit in text.encode_utf16() {
                utf16.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            let mut scanner = Scanner::new(ScanOptions::default());
            let mut pieces = Vec::new();
            for chunk in utf16.chunks(cut) {
                scanner.push(chunk, &mut |f| { pieces.push(f); true });
            }
            scanner.finish(&mut |f| { pieces.push(f); true });
            prop_assert_eq!(expected, pieces);
        }

        /// A Japanese log saved in Shift_JIS (CP932) or EUC-JP, as Windows PowerShell 5.1 and
        /// older editors write it, gives what its UTF-8 text gives, however it is cut (the
        /// code page is told from the bytes: kana in the first line that is not UTF-8).
        #[test]
        fn japanese_code_pages_give_the_same_results(data in log(), cut in 1usize..64, euc: bool) {
            let encoding = if euc { encoding_rs::EUC_JP } else { encoding_rs::SHIFT_JIS };
            // Text the code page can hold: ASCII and Japanese, with kana up front.
            let text: String = "ジョブ開始\n".chars()
                .chain(String::from_utf8_lossy(&data).chars())
                .filter(|&c| c.is_ascii() || !encoding.encode(&c.to_string()).2)
                .collect();
            let expected = scan_all(text.as_bytes(), ScanOptions::default());
            let (bytes, _, _) = encoding.encode(&text);
            let mut scanner = Scanner::new(ScanOptions::default());
            let mut pieces = Vec::new();
            for chunk in bytes.chunks(cut) {
                scanner.push(chunk, &mut |f| { pieces.push(f); true });
            }
            scanner.finish(&mut |f| { pieces.push(f); true });
            prop_assert_eq!(expected, pieces);
        }
    }
}

fn rejection(log: &str) -> Option<String> {
    let mut results = Vec::new();
    let (_, why) = scan_reader_report(&mut log.as_bytes(), ScanOptions::default(), &mut |f| {
        results.push(f);
        true
    })
    .unwrap();
    assert!(results.is_empty(), "{results:?}");
    why.map(|w| w.to_string())
}

#[test]
fn tokens_are_taken_whole_or_not_at_all() {
    for log in [
        "Username: uprod_x$(reboot)  IP address: 3.80.3.168  Port: 22\n",
        "ssh uprod_x;rm -rf ~ on 3.80.3.168 port 22\n",
        "user: uprod_x`id`, host 3.80.3.168, port 22\n",
        "login uprod_x|sh at 3.80.3.168 port 22\n",
        "Username: uprod_x&&reboot IP 3.80.3.168 port 22\n",
        "Username: \"uprod_x\"x IP 3.80.3.168 port 22\n",
        "Username: alice'; IP 3.80.3.168 port 22\n",
        "Username: -oProxyCommand=x IP 3.80.3.168 port 22\n",
        "connect with -oProxyCommand=sh@3.80.3.168 (port 22)\n",
    ] {
        assert_eq!(one(log), None, "{log}");
    }
    // A host or port with something glued to it is not trimmed either.
    for log in [
        "Username: uprod_x  IP address: 3.80.3.168x  Port: 22\n",
        "Username: uprod_x  IP address: 3.80.3.168.5  Port: 22\n",
        "Username: uprod_x  IP address: -3.80.3.168  Port: 22\n",
        "Username: uprod_x  IP address: 3.80.3.168  Port: 32100abc\n",
        "Username: uprod_x  IP address: 3.80.3.168  Port: 0\n",
        "Username: uprod_x  IP address: 3.80.3.168  Port: 65536\n",
        "Username: uprod_x  IP address: 3.80.3.168:65536\n",
    ] {
        assert_eq!(one(log), None, "{log}");
    }
    // Punctuation that ends a sentence or a field still ends the token.
    assert_eq!(
        one("Your user is uprod_x; the host is 3.80.3.168. Port 22.\n"),
        r("uprod_x", "3.80.3.168", Some(22))
    );
    assert_eq!(
        one("user=uprod_x,ip=3.80.3.168,port=32100\n"),
        r("uprod_x", "3.80.3.168", Some(32100))
    );
    assert_eq!(
        one("(user 'uprod_x' at [3.80.3.168], port \"22\")\n"),
        r("uprod_x", "3.80.3.168", Some(22))
    );
    // Backticks run a command in a shell: never a quote around a user.
    assert_eq!(one("user `uprod_x` at 3.80.3.168 port 22\n"), None);
}

#[test]
fn japanese_and_other_languages() {
    for (log, expected) in [
        (
            "ユーザー名：uprod_00Grm、IPアドレス：3.80.3.168、ポート：32100。\n",
            r("uprod_00Grm", "3.80.3.168", Some(32100)),
        ),
        (
            "ジョブのユーザー名はalice、パブリックIPは３.８０.３.１６８、ポート番号は２２です。\n",
            r("alice", "3.80.3.168", Some(22)),
        ),
        (
            "SSH接続情報（ユーザー：uprod_x ／ ホスト：3.80.3.168 ／ ポート：32100）\n",
            r("uprod_x", "3.80.3.168", Some(32100)),
        ),
        (
            "クラスターの準備ができました\nユーザー名: uprod_jp\nパブリックIP: 54.1.2.3\nポート: 22\n",
            r("uprod_jp", "54.1.2.3", Some(22)),
        ),
        (
            "Benutzername: bob, öffentliche IP-Adresse: 3.80.3.168, Port: 32100\n",
            r("bob", "3.80.3.168", Some(32100)),
        ),
        (
            "Nom d'utilisateur : carol ; adresse IP publique : 3.80.3.168 ; port : 22\n",
            r("carol", "3.80.3.168", Some(22)),
        ),
    ] {
        assert_eq!(one(log), expected, "{log}");
    }
}

#[test]
fn tables() {
    let bordered = "\
+-------------+-------------+-------+
| Username    | Public IP   | Port  |
+-------------+-------------+-------+
| uprod_00Grm | 3.80.3.168  | 32100 |
+-------------+-------------+-------+
";
    assert_eq!(one(bordered), r("uprod_00Grm", "3.80.3.168", Some(32100)));
    let all = scan_all(bordered.as_bytes(), ScanOptions::default());
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].line, 4);
    let aligned = "\
Connection details:
USER        PUBLIC IP      PORT   STATUS
alice       54.201.7.19    22     ready
";
    assert_eq!(one(aligned), r("alice", "54.201.7.19", Some(22)));
    let japanese = "ユーザー名 | IPアドレス | ポート\nuprod_x | 3.80.3.168 | 32100\n";
    assert_eq!(one(japanese), r("uprod_x", "3.80.3.168", Some(32100)));
    // A table cell is whole too, and a private address is refused with its line.
    assert_eq!(
        rejection("| User | IP | Port |\n| x;rm | 3.80.3.168 | 22 |\n").as_deref(),
        Some(
            "line 2 names the user \"x;rm\", which is not a login name (letters, digits, _ . - only, not starting with -): the log may be damaged or not the platform's"
        )
    );
    // Byte at a time: the same result once the rows are in.
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut got = Vec::new();
    for b in bordered.as_bytes() {
        scanner.push(std::slice::from_ref(b), &mut |f| {
            got.push(f);
            true
        });
    }
    scanner.finish(&mut |f| {
        got.push(f);
        true
    });
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].port, Some(32100));
}

#[test]
fn what_was_refused_is_said_with_its_line() {
    assert_eq!(
        rejection("job started\n\n\n\nSSH: uprod_x@127.0.0.1 port 22\n").as_deref(),
        Some(
            "line 5 names 127.0.0.1, a loopback address, not a public one: pass --allow-private if this cluster is on your own network (VPN, on-premises)"
        )
    );
    assert_eq!(
        rejection("Username: uprod_x  IP address: 10.0.0.5  Port: 22\n").as_deref(),
        Some(
            "line 1 names 10.0.0.5, a private address, not a public one: pass --allow-private if this cluster is on your own network (VPN, on-premises)"
        )
    );
    assert_eq!(
        rejection("Username: uprod_x$(reboot)  IP address: 3.80.3.168  Port: 22\n").as_deref(),
        Some(
            "line 1 names the user \"uprod_x$(reboot)\", which is not a login name (letters, digits, _ . - only, not starting with -): the log may be damaged or not the platform's"
        )
    );
    assert_eq!(
        rejection("Username: uprod_x  IP address: 3.80.3.168  Port: 65536\n").as_deref(),
        Some("line 1 names the port \"65536\", which is not a port number (1-65535)")
    );
    assert_eq!(
        rejection("Username: uprod_x  IP address: 3.80.3.168x  Port: 22\n").as_deref(),
        Some("line 1 names \"3.80.3.168x\", which is not an IP address")
    );
    // Nothing resembling a message: nothing to say.
    assert_eq!(rejection("compiling...\nuser time 3.2s\n"), None);
}
