//! The job-log scanner on arbitrary bytes: never panics, finds only valid results, and finds
//! the same (results and the refused message) whether the log arrives in one piece or in
//! arbitrary chunks (a live `tail -f`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rk_core::joblog::{self, ScanOptions, Scanner};

fuzz_target!(|data: &[u8]| {
    let Some((&control, log)) = data.split_first() else {
        return;
    };
    // Bits 1-2: an encoding forced as --encoding would (else told from the bytes).
    let forced = [None, Some("shift_jis"), Some("euc-jp"), Some("windows-1252")];
    let options = ScanOptions {
        allow_private: control & 1 == 1,
        encoding: forced[usize::from((control >> 1) & 3)].and_then(joblog::encoding),
        ..Default::default()
    };
    let mut whole = Vec::new();
    let (_, refused) = joblog::scan_reader_report(&mut &log[..], options.clone(), &mut |f| {
        whole.push(f);
        true
    })
    .expect("reading a slice");
    for found in &whole {
        assert!(joblog::is_valid_user(&found.user), "{found:?}");
        assert!(found.port.is_none_or(|p| p != 0), "{found:?}");
    }

    // The same log in chunks whose sizes come from the control byte.
    let chunk = usize::from(control >> 1) + 1;
    let mut scanner = Scanner::new(options);
    let mut chunked = Vec::new();
    for piece in log.chunks(chunk) {
        scanner.push(piece, &mut |f| {
            chunked.push(f);
            true
        });
    }
    scanner.finish(&mut |f| {
        chunked.push(f);
        true
    });
    assert_eq!(whole, chunked);
    // What was refused, and on which line, does not depend on the chunks either.
    assert_eq!(refused.as_ref(), scanner.rejection());
});
