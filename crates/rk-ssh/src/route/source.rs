//! The destination before the ssh config: from a job log (`--from-log FILE` or `-`), the
//! command line, or the job `rk-parse-log --save` remembered.

use rk_core::destination::{self, Destination};
use rk_core::fs::display_path;
use rk_core::joblog::{self, ScanOptions};

use super::RouteRequest;
use crate::{error::Error, log::Log};

/// The destination as the user gave it: `--from-log`, else DESTINATION, else the saved job.
pub(super) fn destination(req: &RouteRequest, log: &Log) -> Result<Destination, Error> {
    if let Some(src) = &req.from_log {
        let options = ScanOptions {
            allow_private: req.allow_private,
            ..Default::default()
        };
        let (found, what, rejection) = if src.as_os_str() == "-" {
            let mut last = None;
            let (_, rejection) =
                joblog::scan_reader_report(&mut std::io::stdin().lock(), options, &mut |f| {
                    last = Some(f);
                    true
                })
                .map_err(|error| Error::ReadLog {
                    what: "the log from stdin".into(),
                    error,
                })?;
            (last, "standard input".to_string(), rejection)
        } else {
            let read_error = |error| Error::ReadLog {
                what: src.display().to_string(),
                error,
            };
            let mut file = std::fs::File::open(src).map_err(read_error)?;
            let mut last = None;
            let (_, rejection) = joblog::scan_reader_report(&mut file, options, &mut |f| {
                last = Some(f);
                true
            })
            .map_err(read_error)?;
            (last, src.display().to_string(), rejection)
        };
        let found = match (found, rejection) {
            (Some(found), _) => found,
            (None, Some(rejection)) => return Err(Error::MessageRefused { what, rejection }),
            (None, None) => return Err(Error::NoConnectionMessage { what }),
        };
        log.step(format!(
            "from the log (line {}): {}",
            found.line,
            found.to_url()
        ));
        return Ok(Destination {
            user: Some(found.user),
            host: found.host,
            port: found.port,
        });
    }
    if let Some(d) = &req.destination {
        return Ok(destination::parse(d)?);
    }
    match destination::saved_job()? {
        Some((dest, path)) => {
            log.notice(format!(
                "connecting to the saved job {} (from {}).",
                dest.display(),
                display_path(&path)
            ));
            Ok(dest)
        }
        None => Err(Error::NoDestination),
    }
}
