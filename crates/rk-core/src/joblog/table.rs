//! Connection details printed as a table: a header row naming the columns (`Username | Public
//! IP | Port`, with or without `+----+` borders, or columns aligned with spaces) and value rows
//! under it, where the port is a bare number that only its column names.

use super::labels::{Field, field_of_cell};

/// The columns of a header row, in order (`None`: a column rk does not read, e.g. `Status`).
#[derive(Debug)]
pub(super) struct Header {
    columns: Vec<Option<Field>>,
    bars: bool,
}

/// A line under a header.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Row {
    /// `+-----+------+`, `|-----|------|`, `-----  ----`: drawn, not data.
    Border,
    /// user, host and port cells (empty when the table has no such column).
    Values {
        user: String,
        host: String,
        port: String,
    },
    /// Anything else ends the table.
    End,
}

/// Cells of a line: split on `|` when it has bars, else on runs of two or more spaces or a tab.
fn cells(line: &str, bars: bool) -> Vec<String> {
    let line = line.trim();
    if bars {
        let inner = line.strip_prefix('|').unwrap_or(line);
        let inner = inner.strip_suffix('|').unwrap_or(inner);
        return inner.split('|').map(|c| c.trim().to_string()).collect();
    }
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut spaces = 0;
    for c in line.chars() {
        if c == '\t' || c == ' ' {
            spaces += if c == '\t' { 2 } else { 1 };
            continue;
        }
        if spaces >= 2 && !cell.is_empty() {
            out.push(std::mem::take(&mut cell));
        } else if spaces == 1 {
            cell.push(' ');
        }
        spaces = 0;
        cell.push(c);
    }
    if !cell.is_empty() {
        out.push(cell);
    }
    out
}

/// A header row: at least two columns, one naming the user and one the host (the port column
/// is optional: 22 is assumed without one). A table without a host column is not where the
/// connection is written; the scanner reads such lines as prose.
pub(super) fn header(line: &str) -> Option<Header> {
    let bars = line.contains('|');
    if !bars && !line.contains("  ") && !line.contains('\t') {
        return None;
    }
    let columns: Vec<Option<Field>> = cells(line, bars).iter().map(|c| field_of_cell(c)).collect();
    let has = |f: Field| columns.iter().filter(|c| **c == Some(f)).count() == 1;
    (columns.len() >= 2 && has(Field::User) && has(Field::Host)).then_some(Header { columns, bars })
}

/// What a line under `header` is.
pub(super) fn row(header: &Header, line: &str) -> Row {
    let t = line.trim();
    if t.is_empty() {
        return Row::End;
    }
    if t.chars().all(|c| "+-=|: \t".contains(c)) && t.contains(['-', '=']) {
        return Row::Border;
    }
    let cells = cells(line, header.bars);
    if cells.len() != header.columns.len() {
        return Row::End;
    }
    let cell = |f: Field| {
        header
            .columns
            .iter()
            .position(|c| *c == Some(f))
            .map(|i| cells[i].clone())
            .unwrap_or_default()
    };
    Row::Values {
        user: cell(Field::User),
        host: cell(Field::Host),
        port: cell(Field::Port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(u: &str, h: &str, p: &str) -> Row {
        Row::Values {
            user: u.into(),
            host: h.into(),
            port: p.into(),
        }
    }

    #[test]
    fn bordered() {
        let h = header("| Username    | Public IP  | Port  | Status  |").unwrap();
        assert_eq!(
            row(&h, "+-------------+------------+-------+---------+"),
            Row::Border
        );
        assert_eq!(
            row(&h, "| uprod_00Grm | 3.80.3.168 | 32100 | running |"),
            values("uprod_00Grm", "3.80.3.168", "32100")
        );
        assert_eq!(row(&h, "Job finished."), Row::End);
    }

    #[test]
    fn aligned() {
        let h = header("USER          PUBLIC IP       PORT").unwrap();
        assert_eq!(row(&h, "------------  --------------  -----"), Row::Border);
        assert_eq!(
            row(&h, "uprod_Ab3dE   54.201.7.19     22"),
            values("uprod_Ab3dE", "54.201.7.19", "22")
        );
    }

    #[test]
    fn japanese_header() {
        let h = header("ユーザー名 | IPアドレス | ポート").unwrap();
        assert_eq!(
            row(&h, "uprod_x | 3.80.3.168 | 32100"),
            values("uprod_x", "3.80.3.168", "32100")
        );
    }

    #[test]
    fn prose_is_not_a_header() {
        assert!(header("The user logged in from 1.2.3.4 on port 22").is_none());
        assert!(header("user  status").is_none());
        assert!(header("Username: uprod_x  IP address: 1.2.3.4").is_none());
        // No address column: not where the connection is written (nothing to refuse as "").
        assert!(header("| Username | Port |").is_none());
    }
}
