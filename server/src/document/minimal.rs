//! Shrinking a replacement to the bytes that really change.
//!
//! Editors report changes at different granularities (Neovim sends whole lines,
//! VS Code the exact characters); trimming the common prefix and suffix of the
//! replaced and inserted text makes every report of the same change the same
//! edit. The document store and the proposal differ both rely on it.

/// The lengths, in bytes, of the prefix and suffix that a replacement of `old`
/// by `new` leaves unchanged, so only `old[prefix..old.len() - suffix]` needs to
/// become `new[prefix..new.len() - suffix]`.
///
/// Trimming stops at char boundaries, the prefix and suffix never overlap, and
/// no boundary of the trimmed replacement falls between `\r` and `\n` in the text
/// before or after it. `preceding` and `following` are the bytes around `old` in
/// its document. A caller whose replacement starts just after a `\r` or ends just
/// before a `\n` must first widen it to include that byte (in both `old` and
/// `new`), because trimming only shrinks.
pub fn unchanged_affix_lengths(
    old: &str,
    new: &str,
    preceding: Option<u8>,
    following: Option<u8>,
) -> (usize, usize) {
    let mut prefix: usize = old
        .chars()
        .zip(new.chars())
        .take_while(|(old_char, new_char)| old_char == new_char)
        .map(|(old_char, _)| old_char.len_utf8())
        .sum();
    let longest_suffix = old.len().min(new.len()) - prefix;
    let mut suffix: usize = old
        .chars()
        .rev()
        .zip(new.chars().rev())
        .take_while(|(old_char, new_char)| old_char == new_char)
        .map(|(old_char, _)| old_char.len_utf8())
        .scan(0, |total, length| {
            *total += length;
            Some(*total)
        })
        .take_while(|total| *total <= longest_suffix)
        .last()
        .unwrap_or(0);
    let old = old.as_bytes();
    let new = new.as_bytes();
    // Each step moves a boundary off a `\r` `\n` pair and never undoes another
    // step, so this ends after at most two steps.
    loop {
        let before_start = if prefix > 0 {
            Some(old[prefix - 1])
        } else {
            preceding
        };
        let after_start_old = old.get(prefix).copied().or(following);
        let after_start_new = new.get(prefix).copied().or(following);
        if prefix > 0 && splits_crlf(before_start, after_start_old, after_start_new) {
            prefix -= 1;
            continue;
        }
        let old_end = old.len() - suffix;
        let new_end = new.len() - suffix;
        let before_end_old = old_end.checked_sub(1).map(|index| old[index]).or(preceding);
        let before_end_new = new_end.checked_sub(1).map(|index| new[index]).or(preceding);
        let after_end = if suffix > 0 {
            Some(old[old_end])
        } else {
            following
        };
        if suffix > 0
            && (splits_crlf(before_end_old, after_end, None)
                || splits_crlf(before_end_new, after_end, None))
        {
            suffix -= 1;
            continue;
        }
        return (prefix, suffix);
    }
}

/// Whether a boundary with `before` on its left and either `after` on its right
/// sits inside a `\r\n` pair.
fn splits_crlf(before: Option<u8>, after: Option<u8>, other_after: Option<u8>) -> bool {
    before == Some(b'\r') && (after == Some(b'\n') || other_after == Some(b'\n'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
mod tests {
    use super::*;

    #[test]
    fn trims_common_prefix_and_suffix_at_char_boundaries() {
        assert_eq!(unchanged_affix_lengths("a😀b", "a😃b", None, None), (1, 1));
        assert_eq!(
            unchanged_affix_lengths("中文", "中国文", None, None),
            (3, 3)
        );
    }

    #[test]
    fn prefix_and_suffix_never_overlap() {
        assert_eq!(unchanged_affix_lengths("aa", "aaa", None, None), (2, 0));
        assert_eq!(unchanged_affix_lengths("abc", "abc", None, None), (3, 0));
    }

    #[test]
    fn never_leaves_a_boundary_inside_crlf() {
        // Turning `\r\n` into `\n` must remove the `\r` together with the `\n`.
        assert_eq!(
            unchanged_affix_lengths("a\r\nb", "a\nb", None, None),
            (1, 1)
        );
        // Turning `\n` into `\r\n` must not insert a bare `\r` before the `\n`.
        assert_eq!(
            unchanged_affix_lengths("a\nb", "a\r\nb", None, None),
            (1, 1)
        );
        // Appending after a `\r` that becomes half of a `\r\n`.
        assert_eq!(unchanged_affix_lengths("a\r", "a\r\n", None, None), (1, 0));
    }
}
