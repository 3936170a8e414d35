//! `ls -l` output without modification times, for the RESULTS the model
//! reads: the times change from run to run (so the same job would see a
//! different conversation each time, and runs could not be reproduced) and a
//! small model mistakes them for content. Sizes, modes and names stay.
//!
//! Two layouts are recognised in a line that starts with a mode string
//! (`-rw-r--r--`, `drwxr-xr-x.`): the default `Mon DD HH:MM` / `Mon DD YYYY`
//! and the ISO ones (`YYYY-MM-DD HH:MM[:SS.nnn] [+ZONE]`). Anything else is
//! left as it is.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn is_mode(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(kind) = chars.next() else {
        return false;
    };
    let perms: String = chars.by_ref().take(9).collect();
    "-dlcbpsD".contains(kind) && perms.len() == 9 && perms.chars().all(|c| "rwxsStTl-".contains(c))
}

fn all_digits(word: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&word.len()) && word.chars().all(|c| c.is_ascii_digit())
}

fn is_clock(word: &str) -> bool {
    match word.split_once(':') {
        Some((h, rest)) => {
            let m = rest.split(':').next().unwrap_or("");
            all_digits(h, 1, 2) && all_digits(m, 2, 2)
        }
        None => false,
    }
}

fn is_iso_date(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if all_digits(y, 4, 4) && all_digits(m, 2, 2) && all_digits(d, 2, 2))
}

/// The words of `line` with their byte spans.
fn spans(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            (true, None) | (false, Some(_)) => {}
        }
    }
    if let Some(s) = start {
        out.push((s, line.len()));
    }
    out
}

/// The byte range of the time stamp in one `ls -l` line, if there is one.
fn stamp(line: &str) -> Option<(usize, usize)> {
    let words = spans(line);
    let word = |i: usize| words.get(i).map(|(s, e)| &line[*s..*e]);
    if !is_mode(word(0)?) {
        return None;
    }
    // The stamp follows links, owner, group and size (fewer with -g/-o).
    for i in 2..words.len().min(8) {
        let w = word(i)?;
        if MONTHS.contains(&w)
            && word(i + 1).is_some_and(|d| all_digits(d, 1, 2))
            && word(i + 2).is_some_and(|t| is_clock(t) || all_digits(t, 4, 4))
            && word(i + 3).is_some()
        {
            return Some((words[i].0, words[i + 3].0));
        }
        if is_iso_date(w) {
            let mut end = i + 1;
            if word(end).is_some_and(is_clock) {
                end += 1;
                if word(end).is_some_and(|z| z.starts_with(['+', '-']) && z.len() == 5) {
                    end += 1;
                }
            }
            return words.get(end).map(|(s, _)| (words[i].0, *s));
        }
    }
    None
}

/// `text` with the time stamps of `ls -l` lines removed.
pub fn strip_ls_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match stamp(line) {
            Some((start, end)) => {
                out.push_str(&line[..start]);
                out.push_str(&line[end..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::recent(
        "-rw-r--r-- 1 u g 12 Mar  4 10:00 a.txt\n",
        "-rw-r--r-- 1 u g 12 a.txt\n"
    )]
    #[case::old_year(
        "drwxr-xr-x 2 u g 4096 Dec 31  2023 old dir\n",
        "drwxr-xr-x 2 u g 4096 old dir\n"
    )]
    #[case::human_size("-rw-r--r--. 1 u g 1.2K Jan 1 00:00 b\n", "-rw-r--r--. 1 u g 1.2K b\n")]
    #[case::no_owner("-rw-r--r-- 1 g 5 Feb 10 09:30 c\n", "-rw-r--r-- 1 g 5 c\n")]
    #[case::iso_full(
        "-rw-r--r-- 1 u g 5 2024-01-05 10:00:00.123456789 +0000 d\n",
        "-rw-r--r-- 1 u g 5 d\n"
    )]
    #[case::long_iso("-rw-r--r-- 1 u g 5 2024-01-05 10:00 e\n", "-rw-r--r-- 1 u g 5 e\n")]
    #[case::symlink(
        "lrwxrwxrwx 1 u g 4 Mar 4 10:00 l -> /etc\n",
        "lrwxrwxrwx 1 u g 4 l -> /etc\n"
    )]
    #[case::name_looks_like_a_date(
        "-rw-r--r-- 1 u g 5 Mar 4 10:00 Mar 4 10:00\n",
        "-rw-r--r-- 1 u g 5 Mar 4 10:00\n"
    )]
    #[case::total_line_kept("total 8\n", "total 8\n")]
    #[case::plain_ls_kept("a.txt  Mar  notes\n", "a.txt  Mar  notes\n")]
    fn times_leave_ls_lines(#[case] line: &str, #[case] expected: &str) {
        assert_eq!(strip_ls_times(line), expected);
    }
}
