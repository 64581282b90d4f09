use std::process::ExitCode;

use clap::Parser;
use rk_core::exit;

fn main() -> ExitCode {
    if let Some(status) = rk_generate::answer(rk_keygen::cli::command) {
        return status;
    }
    let cli = match rk_keygen::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; a bad option is a refusal (1).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::REFUSED as u8
            } else {
                exit::OK as u8
            });
        }
    };
    // Ctrl-C/SIGTERM/SIGHUP: no temporary key files left behind, the terminal's echo restored.
    rk_core::interrupt::install();
    match rk_keygen::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rk-keygen: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
