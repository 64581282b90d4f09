//! Text encodings of a log: UTF-8 (or any ASCII-compatible bytes) as they come, or UTF-16 in
//! either byte order when a byte-order mark says so and the bytes after it agree.

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
    /// UTF-16 (either order), decoded to UTF-8; code units and surrogate pairs split between
    /// reads are carried over by the decoder.
    Utf16(Box<encoding_rs::Decoder>),
}

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
        Decoding::Utf16(Box::new(encoding.new_decoder_without_bom_handling()))
    } else {
        Decoding::Raw
    })
}
