use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(status) = rk_generate::answer(rk_cp::cli::command) {
        return status;
    }
    let cli = match rk_cp::cli::Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help/version: 0; a bad option changes nothing and ends with 1, as scp's.
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    ExitCode::from(rk_cp::run(cli).clamp(0, 255) as u8)
}
