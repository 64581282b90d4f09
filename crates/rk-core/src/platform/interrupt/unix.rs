use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::Interrupt;

pub fn install(handler: fn(Interrupt) -> bool) -> bool {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return false;
    };
    std::thread::Builder::new()
        .name("rk-interrupt".into())
        .spawn(move || {
            for signal in signals.forever() {
                let interrupt = match signal {
                    SIGINT => Interrupt::CtrlC,
                    SIGHUP => Interrupt::Hangup,
                    _ => Interrupt::Terminate,
                };
                if !handler(interrupt) {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    // Only reached if the default action is to ignore the signal.
                    std::process::exit(128 + signal);
                }
            }
        })
        .is_ok()
}
