//! SQLite varints, record decoding and the little of `CREATE TABLE` parsing
//! needed to find the columns of rpm's `Packages` table.

/// A decoded column value, borrowing from the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Integer(i64),
    Float(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// Reads a varint at `at`: returns the value and its length in bytes.
pub(crate) fn varint(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..9 {
        let byte = *bytes.get(at + i)?;
        if i == 8 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Decodes the columns of a record (the payload of a table row). Missing
/// trailing columns (added later by `ALTER TABLE`) read as `Null`.
pub(crate) fn columns(payload: &[u8]) -> Option<Vec<Value<'_>>> {
    let (header_len, mut at) = varint(payload, 0)?;
    let header_len = usize::try_from(header_len).ok()?;
    if header_len > payload.len() || header_len < at {
        return None;
    }
    let mut body = header_len;
    let mut out = Vec::new();
    while at < header_len {
        let (serial, used) = varint(payload, at)?;
        at += used;
        let (len, value_of): (usize, fn(&[u8]) -> Value<'_>) = match serial {
            0 => (0, |_| Value::Null),
            1 => (1, int_value),
            2 => (2, int_value),
            3 => (3, int_value),
            4 => (4, int_value),
            5 => (6, int_value),
            6 => (8, int_value),
            7 => (8, |b| {
                let mut raw = [0; 8];
                raw.copy_from_slice(b);
                Value::Float(f64::from_be_bytes(raw))
            }),
            8 => (0, |_| Value::Integer(0)),
            9 => (0, |_| Value::Integer(1)),
            10 | 11 => return None,
            n if n % 2 == 0 => (usize::try_from((n - 12) / 2).ok()?, |b| Value::Blob(b)),
            n => (usize::try_from((n - 13) / 2).ok()?, |b| Value::Text(b)),
        };
        let end = body.checked_add(len)?;
        let raw = payload.get(body..end)?;
        out.push(value_of(raw));
        body = end;
    }
    if at != header_len {
        return None;
    }
    Some(out)
}

fn int_value(bytes: &[u8]) -> Value<'_> {
    // Sign-extend from the first byte.
    let first = bytes.first().copied().unwrap_or(0);
    let mut value: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        value = (value << 8) | i64::from(*b);
    }
    Value::Integer(value)
}

/// The column definitions of a `CREATE TABLE` statement: (name, rest of the
/// definition in upper case), table constraints left out.
pub(crate) fn column_defs(sql: &str) -> Vec<(String, String)> {
    let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
        return Vec::new();
    };
    let Some(body) = sql.get(open + 1..close) else {
        return Vec::new();
    };
    let mut defs = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                defs.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    defs.push(&body[start..]);
    defs.into_iter()
        .filter_map(|def| {
            let def = def.trim();
            let mut words = def.split_whitespace();
            let first = words.next()?;
            let upper = first.to_ascii_uppercase();
            if ["PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"].contains(&upper.as_str()) {
                return None;
            }
            let name = first.trim_matches(|c| matches!(c, '"' | '\'' | '`' | '[' | ']'));
            let rest = words.collect::<Vec<_>>().join(" ").to_ascii_uppercase();
            Some((name.to_string(), rest))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_varints() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn decodes_records() {
        // header: len 4, NULL, int8, blob(2)
        let payload = [4, 0, 1, 16, 0xfe, 0xaa, 0xbb];
        let values = columns(&payload).unwrap();
        assert_eq!(
            values,
            [Value::Null, Value::Integer(-2), Value::Blob(&[0xaa, 0xbb])]
        );
        // Blob running past the payload.
        assert_eq!(columns(&[2, 20, 0]), None);
    }

    #[test]
    fn parses_rpm_create_table() {
        let defs = column_defs(
            "CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)",
        );
        assert_eq!(defs[0].0, "hnum");
        assert!(defs[0].1.contains("INTEGER PRIMARY KEY"));
        assert_eq!(defs[1].0, "blob");
    }
}
