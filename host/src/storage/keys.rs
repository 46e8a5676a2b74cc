//! The one way composite keys are built: `scope \0 rest`. Ids never contain NUL
//! (plugin ids, household and device ids are validated), so scopes cannot overlap.

/// `scope \0 key`.
pub fn scoped_key(scope: &str, key: &str) -> Vec<u8> {
    let mut scoped = Vec::with_capacity(scope.len() + 1 + key.len());
    scoped.extend_from_slice(scope.as_bytes());
    scoped.push(0);
    scoped.extend_from_slice(key.as_bytes());
    scoped
}

/// The scope and the rest of a key built by [`scoped_key`].
pub fn split_scoped(key: &[u8]) -> Option<(&str, &str)> {
    let at = key.iter().position(|&byte| byte == 0)?;
    let scope = std::str::from_utf8(&key[..at]).ok()?;
    let rest = std::str::from_utf8(&key[at + 1..]).ok()?;
    Some((scope, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_keys_split_back_and_scopes_do_not_overlap() {
        let key = scoped_key("plugin", "a/b");
        assert_eq!(split_scoped(&key), Some(("plugin", "a/b")));
        assert!(!scoped_key("ab", "c").starts_with(&scoped_key("a", "")));
    }
}
