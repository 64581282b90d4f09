//! `%` tokens (`misc.c` `percent_expand`), as ssh expands them in `HostName`, `IdentityFile` and
//! `Match exec`.

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
}
