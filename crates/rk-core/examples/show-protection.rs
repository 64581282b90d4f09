//! Prints how a file is protected, as the platform reports it (`mode 0600`; on Windows the
//! owner, whether the DACL is protected, and each entry). The Windows test suite runs it under
//! Wine to read back what rk-keygen.exe set; it is not shipped.

fn main() -> std::process::ExitCode {
    let mut status = std::process::ExitCode::SUCCESS;
    let mut create = false;
    for path in std::env::args_os().skip(1) {
        if path == "--create" {
            create = true;
            continue;
        }
        let path = std::path::PathBuf::from(path);
        if create {
            use std::io::Write;
            let mut f = rk_core::platform::files::create_new(
                &path,
                rk_core::platform::files::Protection::Private,
            )
            .expect("create");
            f.write_all(b"x").expect("write");
        }
        match rk_core::platform::files::describe_protection(&path) {
            Ok(text) => print!("{}\n{text}", path.display()),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                status = std::process::ExitCode::FAILURE;
            }
        }
        match rk_core::platform::files::readable_by_others(&path, &path.display().to_string()) {
            Ok(None) => println!("exposure none"),
            Ok(Some(e)) => println!("exposure {}; fix: {}", e.problem, e.fix),
            Err(e) => println!("exposure unknown: {e}"),
        }
    }
    status
}
