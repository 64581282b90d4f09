//! Text encodings of a log: UTF-8 (or any ASCII-compatible bytes) as they come, UTF-16 in
//! either byte order when a byte-order mark says so and the bytes after it agree, and the
//! legacy code pages Windows tools still write (Windows PowerShell 5.1's `Set-Content`, older
//! Notepad): Shift_JIS (CP932) and EUC-JP for Japanese, Windows-1252 for Western languages,
//! told by the first bytes that are not UTF-8 ([`guess_legacy`]) or forced with `--encoding`.

/// Text encodings of a log, told by its byte-order mark: PowerShell 5's `>` and `Out-File`
/// write UTF-16LE with a BOM. Without a BOM the bytes are taken as they are (UTF-8, or any
/// ASCII-compatible encoding; invalid bytes are tolerated by the patterns).
///
/// Two bytes `FF FE` may also just be junk at the start of a binary-ish log, so a UTF-16 BOM
/// counts only if the bytes after it look like UTF-16 text: every job log has ASCII (digits of
/// times and addresses, spaces, newlines), whose UTF-16 code units have a zero high byte — at
/// odd offsets after the BOM in little-endian, at even ones in big-endian.
pub(super) enum Decoding {
    /// The first bytes, until they can be told apart from a byte-order mark.
    Sniffing(Vec<u8>),
    /// UTF-8 or ASCII-compatible: copied as they come.
    Raw,
    /// UTF-16 (either order) or a legacy code page, decoded to UTF-8; characters split between
    /// reads are carried over by the decoder.
    Decoded(Box<encoding_rs::Decoder>),
    /// Bytes from the line where UTF-8 first broke, held until [`LEGACY_SNIFF`] of them (or the
    /// end, or a pause) tell the code page: the same bytes decide however the input is cut.
    Undecided(Vec<u8>),
}

/// How many bytes from the line where UTF-8 broke [`guess_legacy`] looks at.
pub(super) const LEGACY_SNIFF: usize = 4096;

/// How many bytes after a UTF-16 BOM are looked at before deciding (unless input ends or
/// pauses first).
const SNIFF_WINDOW: usize = 256;

pub(super) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The decoding for a log that starts with `head`, or `None` while more bytes are needed.
pub(super) fn sniff(head: &[u8], last: bool) -> Option<Decoding> {
    const BOMS: [&[u8]; 3] = [UTF8_BOM, b"\xFF\xFE", b"\xFE\xFF"];
    let could_become_bom = BOMS
        .iter()
        .any(|bom| bom.len() > head.len() && bom.starts_with(head));
    if could_become_bom && !last {
        return None;
    }
    let (encoding, zero_parity) = if head.starts_with(b"\xFF\xFE") {
        (encoding_rs::UTF_16LE, 1)
    } else if head.starts_with(b"\xFE\xFF") {
        (encoding_rs::UTF_16BE, 0)
    } else {
        return Some(Decoding::Raw);
    };
    let after = &head[2..];
    if after.len() < SNIFF_WINDOW && !last {
        return None;
    }
    let window = &after[..after.len().min(SNIFF_WINDOW)];
    let (mut expected, mut other) = (0usize, 0usize);
    for (i, &b) in window.iter().enumerate() {
        if b == 0 {
            if i % 2 == zero_parity {
                expected += 1;
            } else {
                other += 1;
            }
        }
    }
    Some(if expected > other {
        Decoding::Decoded(Box::new(encoding.new_decoder_without_bom_handling()))
    } else {
        Decoding::Raw
    })
}

/// Where `buf[from..]` first breaks UTF-8 (backing up over a character that `from` cuts), or
/// `None` when it is UTF-8 so far (a character cut by the end waits for the next bytes).
pub(super) fn first_invalid_utf8(buf: &[u8], from: usize) -> Option<usize> {
    // Back over a character that the previous bytes left unfinished (at most 3 bytes of it),
    // then forward over the tail of one they finished (checked then).
    let from = from.min(buf.len());
    let mut start = from;
    while start > 0 && from - start < 3 && buf[start - 1] >= 0x80 {
        start -= 1;
    }
    while start < from && (0x80..0xC0).contains(&buf[start]) {
        start += 1;
    }
    match std::str::from_utf8(&buf[start..]) {
        Ok(_) => None,
        Err(e) => e.error_len().map(|_| start + e.valid_up_to()),
    }
}

/// The legacy code page of `sample` (bytes that are not UTF-8), or `None` when it is UTF-8
/// with a few damaged bytes (more valid multi-byte characters than broken ones: leave it so).
/// Japanese text has kana in almost every line (every Japanese label here does), so
/// Shift_JIS or EUC-JP wins when it reads the sample without an error and finds kana;
/// otherwise Windows-1252, which reads any bytes.
pub(super) fn guess_legacy(sample: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let (mut broken, mut valid) = (0usize, 0usize);
    for c in String::from_utf8_lossy(sample).chars() {
        match c {
            '\u{FFFD}' => broken += 1,
            c if !c.is_ascii() => valid += 1,
            _ => {}
        }
    }
    if valid >= broken {
        return None;
    }
    for encoding in [encoding_rs::SHIFT_JIS, encoding_rs::EUC_JP] {
        let mut decoder = encoding.new_decoder_without_bom_handling();
        let room = decoder
            .max_utf8_buffer_length_without_replacement(sample.len())
            .unwrap_or(sample.len() * 3 + 16);
        let mut text = String::with_capacity(room);
        let (result, _) = decoder.decode_to_string_without_replacement(sample, &mut text, false);
        let kana = text.chars().any(|c| ('\u{3041}'..='\u{30FF}').contains(&c));
        if result == encoding_rs::DecoderResult::InputEmpty && kana {
            return Some(encoding);
        }
    }
    Some(encoding_rs::WINDOWS_1252)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_found_where_it_starts() {
        assert_eq!(first_invalid_utf8(b"abc", 0), None);
        assert_eq!(first_invalid_utf8("aé".as_bytes(), 2), None);
        // A character cut by the end waits; one cut by `from` is read whole.
        assert_eq!(first_invalid_utf8(b"ab\xE3\x83", 0), None);
        assert_eq!(first_invalid_utf8("ポート".as_bytes(), 4), None);
        assert_eq!(first_invalid_utf8(b"port\x83\x7C x", 0), Some(4));
        // A lead byte that the previous bytes ended with, broken by the next ones.
        assert_eq!(first_invalid_utf8(b"ab\xE3\x83A", 4), Some(2));
        assert_eq!(first_invalid_utf8("aポ".as_bytes(), 4), None);
    }

    #[test]
    fn code_pages_are_told_apart() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ユーザー名: uprod_x ポート: 22");
        let (euc, _, _) = encoding_rs::EUC_JP.encode("ユーザー名: uprod_x ポート: 22");
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Numéro de port : 22, Größe");
        assert_eq!(guess_legacy(&sjis), Some(encoding_rs::SHIFT_JIS));
        assert_eq!(guess_legacy(&euc), Some(encoding_rs::EUC_JP));
        assert_eq!(guess_legacy(&latin), Some(encoding_rs::WINDOWS_1252));
        // UTF-8 with one stray byte stays UTF-8.
        assert_eq!(guess_legacy("ユーザー名 \u{0}".as_bytes()), None);
        let mut damaged = "ユーザー名: x".as_bytes().to_vec();
        damaged.push(0xFF);
        assert_eq!(guess_legacy(&damaged), None);
    }
}
