//! Turning an archive entry name into safe components under the snapshot root.

/// One path component: never empty, `.`, `..`, and never containing `/` or NUL.
pub(crate) type Component = Vec<u8>;

/// Cleans an entry name: leading `/` stripped, `.` and empty components dropped, `..` resolved
/// lexically and clamped at the root (so `../../etc/x` becomes `etc/x`). Returns the components
/// and whether anything had to be neutralised. NUL bytes are refused.
pub(crate) fn clean(raw: &[u8]) -> Result<(Vec<Component>, bool), &'static str> {
    if raw.contains(&0) {
        return Err("name contains a NUL byte");
    }
    let mut out: Vec<Component> = Vec::new();
    let mut neutralised = raw.first() == Some(&b'/');
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                neutralised = true;
                out.pop();
            }
            c => out.push(c.to_vec()),
        }
    }
    Ok((out, neutralised))
}

/// Display form of components, for errors and bookkeeping keys.
pub(crate) fn join(c: &[Component]) -> String {
    let mut s = String::new();
    for (i, p) in c.iter().enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&String::from_utf8_lossy(p));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises() {
        let (c, n) = clean(b"../../etc/passwd").unwrap();
        assert_eq!(join(&c), "etc/passwd");
        assert!(n);
        let (c, n) = clean(b"/abs/./x/").unwrap();
        assert_eq!(join(&c), "abs/x");
        assert!(n);
        let (c, n) = clean(b"./a/b").unwrap();
        assert_eq!(join(&c), "a/b");
        assert!(!n);
        assert!(clean(b"./").unwrap().0.is_empty());
    }
}
