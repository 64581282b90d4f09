//! `%` tokens (`misc.c` `percent_expand`) and `~` in paths, as ssh expands them in `HostName`,
//! `IdentityFile` and `Match exec`.

use std::path::{Path, PathBuf};

/// Replaces each `%c` by its value from `values`; `%%` is a `%`. A token not in `values`, or a
/// `%` at the end, is an error naming it (OpenSSH refuses those too).
pub(crate) fn expand(text: &str, values: &[(char, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(t) => match values.iter().find(|(k, _)| *k == t) {
                Some((_, v)) => out.push_str(v),
                None => return Err(format!("unknown token %{t} in {text:?}")),
            },
            None => return Err(format!("{text:?} ends with a lone %")),
        }
    }
    Ok(out)
}

/// `~` or `~/…` against `home` (`~user` is left as it is, like a path without `~`). The rest is
/// joined a component at a time, so `~/.ssh/x` is `C:\Users\me\.ssh\x` on Windows.
pub(crate) fn tilde(path: &str, home: &Path) -> PathBuf {
    let Some(rest) = path.strip_prefix('~') else {
        return PathBuf::from(path);
    };
    if !(rest.is_empty() || rest.starts_with(std::path::is_separator)) {
        return PathBuf::from(path);
    }
    let mut full = home.to_path_buf();
    for part in rest
        .split(std::path::is_separator)
        .filter(|p| !p.is_empty())
    {
        full.push(part);
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let v = [('h', "head"), ('u', "me")];
        assert_eq!(expand("%h.example", &v).unwrap(), "head.example");
        assert_eq!(expand("id_%u_%h%%", &v).unwrap(), "id_me_head%");
        assert!(expand("%z", &v).unwrap_err().contains("%z"));
        assert!(expand("50%", &v).is_err());
    }

    #[test]
    fn tilde_is_home() {
        let home = Path::new("/home/me");
        assert_eq!(tilde("~/.ssh/x", home), home.join(".ssh/x"));
        assert_eq!(tilde("~", home), home);
        assert_eq!(tilde("~bob/x", home), PathBuf::from("~bob/x"));
        assert_eq!(tilde("/etc/x", home), PathBuf::from("/etc/x"));
    }
}
