use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(status) = rk_generate::answer(rk_connect::cli::command) {
        return status;
    }
    let cli = match rk_connect::cli::Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => {
            rk_connect::cli::print_version(std::env::args_os().any(|a| a == "--version"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let _ = e.print();
            // Help/version: 0; a bad option is rk-connect's own error: 255, as with ssh.
            return ExitCode::from(if e.use_stderr() { 255 } else { 0 });
        }
    };
    ExitCode::from(rk_connect::run(cli).clamp(0, 255) as u8)
}
