use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Some(status) = rk_generate::answer(rk_parse_log::command) {
        return status;
    }
    let cli = match rk_parse_log::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help/version: 0. A bad option is an error (2), as documented.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match rk_parse_log::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("rk-parse-log: {}", f.message());
            ExitCode::from(f.exit_code())
        }
    }
}
