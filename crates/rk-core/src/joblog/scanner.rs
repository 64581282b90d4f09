//! The streaming scanner: chunks in, results out as soon as the lines that make them are in.

use std::io::Read;

use super::decode::{Decoding, LEGACY_SNIFF, UTF8_BOM, first_invalid_utf8, guess_legacy, sniff};
use super::fields::{LineFields, clean, fields, parse_ip, parse_port, patterns};
use super::table::{self, Row};
use super::{
    CHUNK, Found, MAX_LINE, Rejected, Rejection, ScanOptions, WINDOW, is_public, is_valid_hostname,
    is_valid_user,
};

type Fields = (String, String, Option<u16>);

/// Combines the fields of a window of lines (`center` names the user) into one result — or
/// says what was refused in the message's place: an address that is not public, an address or
/// a port with something glued to it (`Err(None)`: nothing resembling a message).
fn combine(
    window: &[LineFields],
    center: usize,
    allow_private: bool,
) -> Result<Fields, Option<(Rejected, usize)>> {
    let user = match window[center].users.first() {
        Some((_, u)) => u.clone(),
        None => return Err(None),
    };

    // Lines in order of closeness: the user's own line, then after it, then before it.
    let mut order = vec![center];
    for d in 1..=WINDOW {
        if center + d < window.len() {
            order.push(center + d);
        }
        if d <= center {
            order.push(center - d);
        }
    }
    let candidates = |public: bool| {
        order.iter().find_map(|&i| {
            let hosts = &window[i].hosts;
            // On the user's line, an address bound to the user (`user@addr`) comes first.
            hosts
                .iter()
                .filter(|(ip, _, _)| is_public(ip) == public)
                .min_by_key(|(_, _, bound)| !bound)
                .map(|h| (i, *h))
        })
    };
    let refused = |port_only: bool| {
        order.iter().find_map(|&i| {
            window[i]
                .rejected
                .iter()
                .find(|r| match r {
                    Rejected::Port(_) => true,
                    Rejected::Host(_) | Rejected::OptionLike(_) => !port_only,
                    _ => false,
                })
                .map(|r| (r.clone(), i))
        })
    };
    let chosen = candidates(true).or_else(|| {
        if allow_private {
            candidates(false)
        } else {
            None
        }
    });
    let Some((host_line, (ip, attached_port, _))) = chosen else {
        if let Some((i, (ip, _, _))) = candidates(false) {
            return Err(Some((Rejected::NotPublic(ip), i)));
        }
        return Err(refused(false));
    };

    let port = attached_port
        .or_else(|| window[host_line].ports.first().copied())
        .or_else(|| window[center].ports.first().copied())
        .or_else(|| order.iter().find_map(|&i| window[i].ports.first().copied()));
    // A port was given but is not one (`port 65536`, `32100abc`): the message is refused,
    // not answered without its port.
    if port.is_none()
        && let Some(r) = refused(true)
    {
        return Err(Some(r));
    }
    Ok((user, ip.to_string(), port))
}

/// Two lists of hits, each in order, as one list in order.
fn merge_sorted(
    a: Vec<(usize, Option<usize>)>,
    b: Vec<(usize, Option<usize>)>,
) -> Vec<(usize, Option<usize>)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => {
                out.push(if x <= y { a.next() } else { b.next() }.expect("peeked"))
            }
            (Some(_), None) => out.extend(a.by_ref()),
            (None, Some(_)) => out.extend(b.by_ref()),
            (None, None) => return out,
        }
    }
}

/// The line number at `offset`, counting on from the last one asked for (offsets only grow
/// within one pass).
fn line_number(buf: &[u8], cursor: &mut (usize, u64), offset: usize) -> u64 {
    let (off, n) = *cursor;
    let n = if offset >= off {
        n + bytecount::count(&buf[off..offset], b'\n') as u64
    } else {
        n - bytecount::count(&buf[offset..off], b'\n') as u64
    };
    *cursor = (offset, n);
    n
}

/// One value row of a table: each cell whole, or the row is refused.
fn table_result(
    user: &str,
    host: &str,
    port: &str,
    allow_private: bool,
) -> Result<Fields, Rejected> {
    if !is_valid_user(user) {
        return Err(Rejected::User(user.to_string()));
    }
    let Some(ip) = parse_ip(host).filter(|_| !host.starts_with('[')) else {
        return Err(Rejected::Host(host.to_string()));
    };
    if !allow_private && !is_public(&ip) {
        return Err(Rejected::NotPublic(ip));
    }
    let port = match port {
        "" => None,
        p => Some(parse_port(p).ok_or_else(|| Rejected::Port(p.to_string()))?),
    };
    Ok((user.to_string(), ip.to_string(), port))
}

/// Fields from a custom pattern's named groups, merged over what the window offers.
fn custom_result(
    caps: &regex::bytes::Captures<'_>,
    window: &[LineFields],
    center: usize,
) -> Option<(String, String, Option<u16>)> {
    let text = |name: &str| {
        caps.name(name)
            .map(|m| String::from_utf8_lossy(m.as_bytes()).trim().to_string())
    };
    let host = text("host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if parse_ip(&host).is_none() && !is_valid_hostname(&host) {
        return None;
    }
    let user = match text("user") {
        Some(u) if is_valid_user(&u) => u,
        Some(_) => return None,
        None => window[center].users.first().map(|(_, u)| u.clone())?,
    };
    let port = match text("port") {
        Some(p) => Some(parse_port(&p)?),
        None => window[center].ports.first().copied(),
    };
    Some((user, host, port))
}

/// Streaming scanner. Feed it bytes with [`push`](Scanner::push) (or let it read with
/// [`read_from`](Scanner::read_from)); it calls back with each result as soon as the lines that
/// make it are in.
pub struct Scanner {
    options: ScanOptions,
    pub(super) buf: Vec<u8>,
    /// Offset in `buf` where lines not yet searched begin.
    scan_from: usize,
    /// Line number (1-based) of `buf[0]`.
    first_line: u64,
    /// Inside an over-long line: drop bytes until its newline.
    skipping: bool,
    /// Last result, to drop repeats of one message within a window.
    last: Option<Found>,
    /// The latest connection message that was refused, and why.
    rejection: Option<Rejection>,
    /// How input bytes become the UTF-8 (or ASCII-compatible) text in `buf`.
    decoding: Decoding,
    /// Raw input is still checked for bytes that are not UTF-8 (a legacy code page); off once
    /// told, or with `--encoding`.
    watch_utf8: bool,
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytecount::count(bytes, b'\n') as u64
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Self {
        Scanner {
            buf: Vec::with_capacity(CHUNK * 2),
            scan_from: 0,
            first_line: 1,
            skipping: false,
            last: None,
            rejection: None,
            decoding: match options.encoding {
                Some(encoding) => {
                    Decoding::Decoded(Box::new(encoding.new_decoder_with_bom_removal()))
                }
                None => Decoding::Sniffing(Vec::new()),
            },
            watch_utf8: options.encoding.is_none(),
            options,
        }
    }

    /// Adds input to `buf`, decoded as its byte-order mark says. `last`: no more input
    /// follows, so the encoding must be decided with what is at hand.
    fn take_input(&mut self, data: &[u8], last: bool) {
        if let Decoding::Undecided(held) = &mut self.decoding {
            held.extend_from_slice(data);
            if held.len() >= LEGACY_SNIFF || last {
                self.decide_legacy(last);
            }
            return;
        }
        if let Decoding::Sniffing(head) = &mut self.decoding {
            head.extend_from_slice(data);
            if let Some(decoding) = sniff(head, last) {
                self.settle(decoding, last);
            }
            return;
        }
        self.decode(data, last);
    }

    /// Leaves the sniffing state for `decoding`, passing on the bytes held (less the BOM).
    fn settle(&mut self, decoding: Decoding, last: bool) {
        let Decoding::Sniffing(head) = std::mem::replace(&mut self.decoding, decoding) else {
            return;
        };
        let bom_len = match &self.decoding {
            Decoding::Decoded(_) => 2,
            _ if head.starts_with(UTF8_BOM) => 3,
            _ => 0,
        };
        self.decode(&head[bom_len..], last);
    }

    /// Decides the code page of the held bytes (their first [`LEGACY_SNIFF`]) and decodes them.
    fn decide_legacy(&mut self, last: bool) {
        let Decoding::Undecided(held) = std::mem::replace(&mut self.decoding, Decoding::Raw) else {
            return;
        };
        if let Some(encoding) = guess_legacy(&held[..held.len().min(LEGACY_SNIFF)]) {
            self.decoding =
                Decoding::Decoded(Box::new(encoding.new_decoder_without_bom_handling()));
        }
        self.decode(&held, last);
    }

    fn decode(&mut self, data: &[u8], last: bool) {
        match &mut self.decoding {
            Decoding::Sniffing(_) | Decoding::Undecided(_) => {
                unreachable!("decided before decoding")
            }
            Decoding::Raw => self.buf.extend_from_slice(data),
            Decoding::Decoded(decoder) => {
                let room = decoder
                    .max_utf8_buffer_length(data.len())
                    .unwrap_or(data.len() * 3 + 16);
                let old = self.buf.len();
                self.buf.resize(old + room, 0);
                let (_, _, written, _) = decoder.decode_to_utf8(data, &mut self.buf[old..], last);
                self.buf.truncate(old + written);
            }
        }
    }

    /// Lines read so far (a last line without a newline counts too).
    pub fn lines_read(&self) -> u64 {
        let partial = self.buf.last().is_some_and(|&b| b != b'\n');
        self.first_line - 1 + count_newlines(&self.buf) + u64::from(partial)
    }

    /// Feeds more of the log. Each result found is passed to `emit`; return `false` from it to
    /// stop early (the scanner then ignores the rest of this call's data).
    pub fn push(&mut self, data: &[u8], emit: &mut dyn FnMut(Found) -> bool) -> bool {
        let old = self.buf.len();
        self.take_input(data, false);
        self.appended(old, emit)
    }

    /// Reads up to one chunk from `reader` straight into the scanner's buffer (no copy) and
    /// processes it. Returns the number of bytes read (0 at end of input) and whether to go on.
    pub fn read_from(
        &mut self,
        reader: &mut dyn Read,
        emit: &mut dyn FnMut(Found) -> bool,
    ) -> std::io::Result<(usize, bool)> {
        if !matches!(self.decoding, Decoding::Raw) {
            let mut chunk = Vec::with_capacity(CHUNK);
            let n = reader.take(CHUNK as u64).read_to_end(&mut chunk)?;
            return Ok((n, self.push(&chunk, emit)));
        }
        let old = self.buf.len();
        let n = reader.take(CHUNK as u64).read_to_end(&mut self.buf)?;
        Ok((n, self.appended(old, emit)))
    }

    fn appended(&mut self, old: usize, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf[old..]) {
                Some(nl) => {
                    self.skipping = false;
                    self.buf.drain(old..old + nl);
                }
                None => {
                    self.buf.truncate(old);
                    return true;
                }
            }
        }
        self.watch_for_legacy(old);
        let go_on = self.process(false, emit);
        // Bound the partial last line.
        let line_start = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
        if self.buf.len() - line_start > MAX_LINE {
            self.buf.truncate(line_start + MAX_LINE);
            self.skipping = true;
        }
        go_on
    }

    /// Raw input that breaks UTF-8 from `buf[from..]` on is in a legacy code page: from the
    /// start of that line (not yet searched), it is held until its code page is told
    /// ([`guess_legacy`]), then decoded.
    fn watch_for_legacy(&mut self, from: usize) {
        if !self.watch_utf8 || !matches!(self.decoding, Decoding::Raw) {
            return;
        }
        let Some(bad) = first_invalid_utf8(&self.buf, from) else {
            return;
        };
        self.watch_utf8 = false;
        let line_start = memchr::memrchr(b'\n', &self.buf[..bad]).map_or(0, |i| i + 1);
        let split = line_start.max(self.scan_from).min(bad);
        let tail = self.buf.split_off(split);
        self.decoding = Decoding::Undecided(Vec::new());
        self.take_input(&tail, false);
    }

    /// End of input: evaluates what is still waiting for following lines.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        // What the decoder still holds (a few bytes of an unfinished BOM or code unit).
        let old = self.buf.len();
        self.take_input(&[], true);
        if self.buf.len() > old && !self.appended(old, emit) {
            return false;
        }
        // Bytes that broke UTF-8 only now (told above): their code page, from what there is.
        if !self.decide_held(true, emit) {
            return false;
        }
        self.process(true, emit)
    }

    /// Input is idle (a live stream paused): evaluate waiting results with the lines at hand,
    /// as at the end of input, but keep going afterwards.
    pub fn flush_idle(&mut self, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        // A pause also ends the wait for enough bytes to tell the encoding.
        if let Decoding::Sniffing(head) = &self.decoding {
            let decoding = sniff(head, true).expect("sniff decides when told it is the end");
            let old = self.buf.len();
            self.settle(decoding, false);
            if !self.appended(old, emit) {
                return false;
            }
        }
        if !self.decide_held(false, emit) {
            return false;
        }
        self.process(true, emit)
    }

    /// Bytes held to tell a code page are decided with what there is, and read.
    fn decide_held(&mut self, last: bool, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        if !matches!(self.decoding, Decoding::Undecided(_)) {
            return true;
        }
        let old = self.buf.len();
        self.decide_legacy(last);
        self.appended(old, emit)
    }

    /// The latest connection message that was refused (a private address, an invalid user, a
    /// port out of range…), with its line: what to tell a user when there is no result.
    pub fn rejection(&self) -> Option<&Rejection> {
        self.rejection.as_ref()
    }

    /// The text of the line starting at `start` (cut at MAX_LINE, cleaned).
    fn line_text(&self, start: usize, end: usize) -> String {
        let e = memchr::memchr(b'\n', &self.buf[start..end]).map_or(end, |i| start + i);
        clean(&self.buf[start..e.min(start + MAX_LINE)])
    }

    /// The fields of the line starting at `start`.
    fn line_fields(&self, start: usize, end: usize, want_users: bool) -> LineFields {
        fields(&self.line_text(start, end), want_users)
    }

    fn process(&mut self, at_end: bool, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        let end = if at_end {
            self.buf.len()
        } else {
            match memchr::memrchr(b'\n', &self.buf) {
                Some(i) => i + 1,
                None => return true,
            }
        };
        if self.scan_from >= end {
            return true;
        }

        // Hits: the prefilter's, and every custom pattern's.
        let region = &self.buf[self.scan_from..end];
        let mut hits: Vec<(usize, Option<usize>)> = patterns()
            .prefilter
            .find_iter(region)
            .map(|m| (self.scan_from + m.start(), None))
            .collect();
        // `user@host`: `@` by memchr (see `Patterns::prefilter`), merged in order.
        let ats: Vec<(usize, Option<usize>)> = memchr::memchr_iter(b'@', region)
            .map(|i| (self.scan_from + i, None))
            .collect();
        if !ats.is_empty() {
            hits = merge_sorted(hits, ats);
        }
        for (k, c) in self.options.custom.iter().enumerate() {
            hits.extend(
                c.regex
                    .find_iter(region)
                    .map(|m| (self.scan_from + m.start(), Some(k))),
            );
        }
        if !self.options.custom.is_empty() {
            hits.sort_unstable();
        }

        let mut handled_until = self.scan_from; // lines before this offset are done
        let mut new_scan_from = end;
        let mut line_cursor = (0usize, self.first_line); // (offset, line number at offset)
        for (hit, custom) in hits {
            let line_start = memchr::memrchr(b'\n', &self.buf[..hit]).map_or(0, |i| i + 1);
            if line_start < handled_until && custom.is_none() {
                continue;
            }
            let line_end = memchr::memchr(b'\n', &self.buf[hit..end]).map_or(end, |i| hit + i);

            // The user's own line first: most hits (a stray "user" or "@") end here.
            let center_text = self.line_text(line_start, end);
            if custom.is_none()
                && let Some(header) = table::header(&center_text)
            {
                // A table: its rows follow the header; wait for them unless input ended.
                let mut rows = Vec::new();
                let mut pos = line_end;
                let mut complete = false;
                while rows.len() < WINDOW {
                    let next = pos + 1;
                    if next >= end {
                        break;
                    }
                    let row_end =
                        memchr::memchr(b'\n', &self.buf[next..end]).map_or(end, |i| next + i);
                    match table::row(&header, &self.line_text(next, end)) {
                        Row::Border => {}
                        Row::End => {
                            complete = true;
                            break;
                        }
                        Row::Values { user, host, port } => rows.push((next, user, host, port)),
                    }
                    pos = row_end;
                }
                if !(complete || rows.len() == WINDOW || at_end) {
                    new_scan_from = line_start;
                    break;
                }
                handled_until = pos + 1;
                for (row_start, user, host, port) in rows {
                    // An empty cell is no answer, and nothing to refuse either.
                    if user.is_empty() || host.is_empty() {
                        continue;
                    }
                    let n = line_number(&self.buf, &mut line_cursor, row_start);
                    match table_result(&user, &host, &port, self.options.allow_private) {
                        Ok(fields) => {
                            if !self.deliver(fields, n, emit) {
                                return false;
                            }
                        }
                        Err(why) => self.refuse(why, n),
                    }
                }
                continue;
            }
            let center_fields = fields(&center_text, true);
            if custom.is_none() && center_fields.users.is_empty() {
                handled_until = line_end + 1;
                // A user was written where a user goes, and refused: say so if nothing else
                // is found.
                if let Some(why) = center_fields
                    .rejected
                    .iter()
                    .find(|r| matches!(r, Rejected::User(_) | Rejected::OptionLike(_)))
                {
                    let n = line_number(&self.buf, &mut line_cursor, line_start);
                    self.refuse(why.clone(), n);
                }
                continue;
            }

            // The window: up to WINDOW lines before and after.
            let mut starts = vec![line_start];
            while starts.len() <= WINDOW {
                let s = starts[0];
                if s == 0 {
                    break;
                }
                starts.insert(
                    0,
                    memchr::memrchr(b'\n', &self.buf[..s - 1]).map_or(0, |i| i + 1),
                );
            }
            let center = starts.len() - 1;
            let mut pos = line_end;
            let mut after = 0;
            while after < WINDOW && pos < end {
                let next = pos + 1;
                if next >= end {
                    break;
                }
                starts.push(next);
                pos = memchr::memchr(b'\n', &self.buf[next..end]).map_or(end, |i| next + i);
                after += 1;
            }
            let complete_window = after == WINDOW || at_end;

            // A result that the user's own line gives completely (public host and port) is
            // final: no other line in the window could change it. Otherwise the neighbours are
            // read, and a result is only final once the lines after it are in.
            let result = if custom.is_none() {
                let alone = combine(std::slice::from_ref(&center_fields), 0, false);
                if alone.as_ref().is_ok_and(|r| r.2.is_some()) {
                    alone
                } else {
                    if !complete_window {
                        new_scan_from = line_start;
                        break;
                    }
                    let mut window: Vec<LineFields> = Vec::with_capacity(starts.len());
                    let mut center_fields = Some(center_fields);
                    for (i, &s) in starts.iter().enumerate() {
                        window.push(if i == center {
                            center_fields.take().unwrap_or_default()
                        } else {
                            self.line_fields(s, end, false)
                        });
                    }
                    combine(&window, center, self.options.allow_private)
                }
            } else {
                let line = &self.buf[line_start..line_end];
                let k = custom.unwrap_or_default();
                let caps = self.options.custom[k].regex.captures(line);
                let all_given = caps
                    .as_ref()
                    .is_some_and(|c| ["user", "host", "port"].iter().all(|n| c.name(n).is_some()));
                if !complete_window && !all_given {
                    new_scan_from = line_start;
                    break;
                }
                let window: Vec<LineFields> = starts
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| self.line_fields(s, end, i == center))
                    .collect();
                caps.and_then(|caps| custom_result(&caps, &window, center))
                    .ok_or(None)
            };
            // The line that holds what was refused (the quick path looked at the user's only).
            let result = result.map_err(|why| {
                why.map(|(r, i)| {
                    (
                        r,
                        if starts.len() > i {
                            starts[i]
                        } else {
                            line_start
                        },
                    )
                })
            });
            handled_until = line_end + 1;
            let n = line_number(&self.buf, &mut line_cursor, line_start);
            match result {
                Ok(fields) => {
                    if !self.deliver(fields, n, emit) {
                        return false;
                    }
                }
                Err(Some((why, at))) => {
                    let n = line_number(&self.buf, &mut line_cursor, at);
                    self.refuse(why, n)
                }
                Err(None) => {}
            }
        }
        self.scan_from = new_scan_from;
        self.compact();
        true
    }

    /// Passes a result on, unless it repeats the last one within a window; false: stop.
    fn deliver(
        &mut self,
        (user, host, port): Fields,
        line: u64,
        emit: &mut dyn FnMut(Found) -> bool,
    ) -> bool {
        let found = Found {
            user,
            host,
            port,
            line,
        };
        let repeat = self.last.as_ref().is_some_and(|l| {
            l.user == found.user
                && l.host == found.host
                && l.port == found.port
                && found.line.saturating_sub(l.line) <= WINDOW as u64
        });
        if repeat {
            if let Some(l) = self.last.as_mut() {
                l.line = found.line;
            }
            return true;
        }
        self.last = Some(found.clone());
        emit(found)
    }

    fn refuse(&mut self, why: Rejected, line: u64) {
        self.rejection = Some(Rejection::new(why, line));
    }

    /// Drops lines no window can reach any more, keeping WINDOW lines of context.
    fn compact(&mut self) {
        let mut keep_from = self.scan_from;
        for _ in 0..WINDOW {
            if keep_from == 0 {
                break;
            }
            keep_from = memchr::memrchr(b'\n', &self.buf[..keep_from - 1]).map_or(0, |i| i + 1);
        }
        if keep_from == 0 {
            return;
        }
        self.first_line += count_newlines(&self.buf[..keep_from]);
        self.buf.drain(..keep_from);
        self.scan_from -= keep_from;
    }
}
