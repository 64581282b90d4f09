//! The words job logs use to name the connection fields, one row per language. A new language
//! is a new row of [`LANGUAGES`], not new code: the user labels feed the scanner's prefilter
//! (so a line that only says `ユーザー名：alice` is found) and the user pattern, the port labels
//! the port pattern, and all three name the columns of a table (`Username | Public IP | Port`).
//!
//! How they match: ASCII letters case-insensitively, on word boundaries; full-width forms are
//! read as their ASCII twins first (`：` is `:`, `３２１００` is `32100`: NFKC for U+FF01–U+FF5E
//! and the ideographic space). After a label comes a separator (`:` or `=`), one of the row's
//! linking words (`is`, `は`, `ist`, `est`), or — in languages written without spaces — the
//! value itself, touching it. The value is then taken as a whole token (see `token.rs`).
//!
//! | language | user | host | port |
//! |---|---|---|---|
//! | English | username, user name, user, login name, login | public IP address, public IP, IP address, IP, host name, hostname, host, address | port number, SSH port, port |
//! | Japanese | ユーザー名, ユーザ名, ユーザー, ユーザ, ログイン名 | パブリックIPアドレス, パブリックIP, IPアドレス, ホスト名, ホスト, アドレス | ポート番号, ポート |
//! | German | Benutzername, Benutzer, Anmeldename | öffentliche IP-Adresse, öffentliche IP, IP-Adresse, Adresse, Host | Portnummer, Port |
//! | French | nom d'utilisateur, utilisateur, identifiant | adresse IP publique, adresse IP, adresse, hôte | numéro de port, port |

/// The labels of one language, lower case, longest first within each field.
pub struct Labels {
    pub language: &'static str,
    pub user: &'static [&'static str],
    pub host: &'static [&'static str],
    pub port: &'static [&'static str],
    /// Words between a label and its value ("the username **is** x").
    pub linking: &'static [&'static str],
}

pub const LANGUAGES: &[Labels] = &[
    Labels {
        language: "English",
        user: &["user name", "username", "login name", "user", "login"],
        host: &[
            "public ipv4 address",
            "public ip address",
            "ipv4 address",
            "public ipv4",
            "public ip",
            "ip address",
            "ipv4",
            "ipv6",
            "host name",
            "hostname",
            "address",
            "host",
            "ip",
        ],
        port: &["port number", "ssh port", "port"],
        linking: &["is"],
    },
    Labels {
        language: "Japanese",
        user: &["ユーザー名", "ユーザ名", "ログイン名", "ユーザー", "ユーザ"],
        host: &[
            "パブリックipアドレス",
            "パブリックip",
            "ipアドレス",
            "ホスト名",
            "アドレス",
            "ホスト",
        ],
        port: &["ポート番号", "ポート"],
        linking: &["は"],
    },
    Labels {
        language: "German",
        user: &["benutzername", "anmeldename", "benutzer"],
        host: &[
            "öffentliche ip-adresse",
            "öffentliche ip",
            "ip-adresse",
            "adresse",
            "host",
        ],
        port: &["portnummer", "port"],
        linking: &["ist", "lautet"],
    },
    Labels {
        language: "French",
        user: &["nom d'utilisateur", "utilisateur", "identifiant"],
        host: &["adresse ip publique", "adresse ip", "adresse", "hôte"],
        port: &["numéro de port", "port"],
        linking: &["est"],
    },
];

/// Which field a label names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    User,
    Host,
    Port,
}

/// The field a table's header cell names, if any: `Username`, `Public IP`, `ポート`, and cells
/// of a few more words around a label (`Cluster IP`, `Login user`, `Public IPv4 address`). In
/// such a cell the label that ends last wins: column names are noun phrases whose last word
/// says what they are, in every language here (`Login user` is a user, `Login node IP` an
/// address, `numéro de port` a port). More than [`MAX_CELL_WORDS`] words is prose, not a
/// header.
pub(super) fn field_of_cell(cell: &str) -> Option<Field> {
    let cell = cell.trim().trim_end_matches([':', '：']).to_lowercase();
    // `Username: uprod_x` is a label with its value, in a line of prose.
    let has_value = cell.contains([':', '：', '=', '@']);
    if cell.is_empty() || has_value || cell.split_whitespace().count() > MAX_CELL_WORDS {
        return None;
    }
    // (where the label ends, its length, the field): the last end wins, then the longest.
    let mut best: Option<(usize, usize, Field)> = None;
    for l in LANGUAGES {
        for (field, labels) in [
            (Field::User, l.user),
            (Field::Host, l.host),
            (Field::Port, l.port),
        ] {
            for label in labels {
                for (start, _) in cell.match_indices(label) {
                    let end = start + label.len();
                    if whole_word(&cell, start, end)
                        && best.is_none_or(|(e, n, _)| (end, label.len()) > (e, n))
                    {
                        best = Some((end, label.len(), field));
                    }
                }
            }
        }
    }
    best.map(|(_, _, field)| field)
}

/// Header cells are short: `Public IPv4 address of the head node` is not one.
const MAX_CELL_WORDS: usize = 5;

/// Whether `text[start..end]` stands as a word: no ASCII letter or digit touches an end that is
/// one itself (CJK labels touch their neighbours: that text has no spaces).
fn whole_word(text: &str, start: usize, end: usize) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let (label, before, after) = (
        &text[start..end],
        text[..start].chars().next_back(),
        text[end..].chars().next(),
    );
    let touched_before = alnum(label.chars().next()) && alnum(before);
    let touched_after = alnum(label.chars().next_back()) && alnum(after);
    !touched_before && !touched_after
}

/// Every label of `field` in every language, longest first (so that `username` is tried
/// before `user`).
pub(super) fn all(field: Field) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = LANGUAGES
        .iter()
        .flat_map(|l| match field {
            Field::User => l.user,
            Field::Host => l.host,
            Field::Port => l.port,
        })
        .copied()
        .collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.chars().count()));
    out.dedup();
    out
}

/// Every linking word, longest first.
pub(super) fn linking_words() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = LANGUAGES.iter().flat_map(|l| l.linking).copied().collect();
    out.sort_by_key(|l| std::cmp::Reverse(l.chars().count()));
    out.dedup();
    out
}

/// The fewest literals that every user label contains one of: the user part of the scanner's
/// prefilter (`user` covers `username` and `user name`).
pub(super) fn user_stems() -> Vec<&'static str> {
    let labels = all(Field::User);
    let mut stems: Vec<&'static str> = labels
        .iter()
        .copied()
        .filter(|l| !labels.iter().any(|o| o != l && l.contains(o)))
        .collect();
    stems.sort_unstable();
    stems
}

/// A regex alternative matching `label` as a whole word: case-insensitive ASCII letters with
/// ASCII word boundaries where the label starts or ends with one (CJK text has no spaces to
/// bound it).
pub(super) fn pattern_of(label: &str) -> String {
    let mut p = String::new();
    if label.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        p.push_str(r"(?-u:\b)");
    }
    p.push_str(&regex::escape(label).replace(' ', r"\s+"));
    if label.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        p.push_str(r"(?-u:\b)");
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_is_lower_case_and_belongs_to_one_field_per_language() {
        for l in LANGUAGES {
            for label in l.user.iter().chain(l.host).chain(l.port) {
                assert_eq!(*label, label.to_lowercase(), "{}: {label}", l.language);
            }
            for u in l.user {
                assert!(!l.host.contains(u) && !l.port.contains(u), "{u}");
            }
        }
    }

    #[test]
    fn stems_cover_every_user_label() {
        let stems = user_stems();
        for label in all(Field::User) {
            assert!(stems.iter().any(|s| label.contains(s)), "{label}");
        }
        assert!(
            stems.contains(&"user") && stems.contains(&"ユーザ"),
            "{stems:?}"
        );
        assert!(!stems.contains(&"username"));
    }

    #[test]
    fn cells() {
        assert_eq!(field_of_cell(" Username "), Some(Field::User));
        assert_eq!(field_of_cell("Public IP"), Some(Field::Host));
        assert_eq!(field_of_cell("SSH Port"), Some(Field::Port));
        assert_eq!(field_of_cell("ポート"), Some(Field::Port));
        assert_eq!(field_of_cell("IPアドレス"), Some(Field::Host));
        assert_eq!(field_of_cell("Status"), None);
    }

    #[test]
    fn cells_of_more_words_name_their_last_label() {
        for (cell, field) in [
            ("Cluster IP", Some(Field::Host)),
            ("Login user", Some(Field::User)),
            ("Login User Name", Some(Field::User)),
            ("SSH port", Some(Field::Port)),
            ("Public IPv4 address", Some(Field::Host)),
            ("IPv4", Some(Field::Host)),
            ("Head node IP", Some(Field::Host)),
            ("Login node IP", Some(Field::Host)),
            ("SSH Port Number", Some(Field::Port)),
            ("Numéro de port", Some(Field::Port)),
            ("ログインユーザー", Some(Field::User)),
            ("接続先IPアドレス", Some(Field::Host)),
            ("Sport", None),
            ("Airport", None),
            ("Hostile", None),
            ("Users online", None),
            ("The public IP of the head node", None),
            ("", None),
            ("Username: uprod_x", None),
        ] {
            assert_eq!(field_of_cell(cell), field, "{cell:?}");
        }
    }
}
