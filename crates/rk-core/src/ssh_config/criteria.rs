//! `Match` lines: each criterion as ssh evaluates it (`readconf.c` `match_cfg_line`).

use super::pattern::{self, ListMatch};
use super::tokens;
use super::{At, ConfigError, Evaluation};

impl Evaluation<'_, '_> {
    /// `Match CRITERION [ARG]…`, every criterion must hold (`match_cfg_line`).
    pub(super) fn match_line(&mut self, args: &[String], at: &At) -> Result<bool, ConfigError> {
        let query = self.query;
        let host = self.config.host_name.clone().unwrap_or(query.host.clone());
        let remote_user = query
            .user
            .clone()
            .or(self.config.user.clone())
            .unwrap_or(query.local_user.clone());
        let port = query.port.or(self.config.port).unwrap_or(22);
        let mut result = true;
        let mut criteria = 0;
        let mut args = args.iter();
        while let Some(attribute) = args.next() {
            let (negate, name) = match attribute.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, attribute.as_str()),
            };
            let name = name.to_ascii_lowercase();
            if name == "all" {
                // As ssh: alone, or after one `canonical`/`final`.
                if criteria > 1 || args.next().is_some() {
                    return Err(at.error(format!(
                        "Match {attribute} cannot be combined with other criteria"
                    )));
                }
                return Ok(result && !negate);
            }
            criteria += 1;
            if name == "canonical" || name == "final" {
                if name == "final" && !negate {
                    self.want_final_pass = true;
                }
                if self.final_pass == negate {
                    result = false;
                }
                continue;
            }
            let Some(value) = args.next() else {
                return Err(at.error(format!("Match {name} needs a value")));
            };
            let holds = match name.as_str() {
                "host" => pattern::host_matches(&host, value),
                "originalhost" => pattern::host_matches(&query.host, value),
                "user" => pattern::list_matches(&remote_user, value, false) == ListMatch::Matched,
                "localuser" => {
                    pattern::list_matches(&query.local_user, value, false) == ListMatch::Matched
                }
                "exec" => {
                    if !result {
                        // ssh does not run the command once an earlier criterion failed.
                        continue;
                    }
                    let command = self.exec_command(value, &host, &remote_user, port, at)?;
                    (self.exec)(&command)
                        .map_err(|e| at.error(format!("cannot run Match exec {command:?}: {e}")))?
                }
                other => {
                    self.config.warnings.push(at.warning(format_args!(
                        "\"Match {other}\" cannot be evaluated by rk: the lines under it are skipped"
                    )));
                    result = false;
                    continue;
                }
            };
            if holds == negate {
                result = false;
            }
        }
        if criteria == 0 {
            return Err(at.error("Match needs at least one criterion (e.g. Match host NAME)"));
        }
        Ok(result)
    }

    fn exec_command(
        &self,
        template: &str,
        host: &str,
        remote_user: &str,
        port: u16,
        at: &At,
    ) -> Result<String, ConfigError> {
        let query = self.query;
        let port = port.to_string();
        let home = query.home.display().to_string();
        let short_host = query.local_host.split('.').next().unwrap_or_default();
        let jump = self
            .config
            .proxy_jump
            .as_ref()
            .map(|hops| hops.join(","))
            .unwrap_or_default();
        let hash = connection_hash(&query.local_host, host, &port, remote_user, &jump);
        tokens::expand(
            template,
            &[
                ('C', &hash),
                ('L', short_host),
                ('d', &home),
                ('h', host),
                ('k', host),
                ('l', &query.local_host),
                ('n', &query.host),
                ('p', &port),
                ('r', remote_user),
                ('u', &query.local_user),
                ('j', &jump),
            ],
        )
        .map_err(|e| at.error(format!("Match exec: {e}")))
    }
}

/// `%C`: SHA-1 of `%l%h%p%r%j` in hex, as ssh computes it for `ControlPath` and `Match exec`.
fn connection_hash(local_host: &str, host: &str, port: &str, user: &str, jump: &str) -> String {
    use sha1::Digest;
    let digest = sha1::Sha1::new()
        .chain_update(local_host)
        .chain_update(host)
        .chain_update(port)
        .chain_update(user)
        .chain_update(jump)
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
