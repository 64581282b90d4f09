use std::process::ExitCode;

use clap::Parser;
use rk_core::exit;

fn main() -> ExitCode {
    if let Some(status) = rk_generate::answer(rk_copy_pubkey::command) {
        return status;
    }
    let cli = match rk_copy_pubkey::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::REFUSED as u8
            } else {
                exit::OK as u8
            });
        }
    };
    let holder = cli.hold_clipboard;
    match rk_copy_pubkey::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The detached holder reports through its status pipe; its stderr is /dev/null.
            if !holder {
                eprintln!("rk-copy-pubkey: {e}");
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
