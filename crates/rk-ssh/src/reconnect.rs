//! `--reconnect`'s pace, shared by rk-connect's tunnels and rk-cp's copies: the first try a
//! second after the loss, then twice as long after each failed try, never more than 30 s apart
//! (a server coming back is found within half a minute, and a dead one is not hammered).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(30);

/// How long to wait before the next try.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { delay: FIRST_DELAY }
    }
}

impl Backoff {
    /// The wait before the next try.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// A try failed: the next wait is twice as long, up to the cap.
    pub fn failed(&mut self) {
        self.delay = (self.delay * 2).min(MAX_DELAY);
    }
}

/// `HH:MM:SS` (UTC) for the reconnection messages, so a user reading them later knows when.
pub fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let mut backoff = Backoff::default();
        let mut seen = vec![backoff.delay().as_secs()];
        for _ in 0..7 {
            backoff.failed();
            seen.push(backoff.delay().as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn clock_for_messages() {
        let t = clock();
        assert_eq!(t.len(), 8);
        assert_eq!(&t[2..3], ":");
        assert_eq!(&t[5..6], ":");
    }
}
