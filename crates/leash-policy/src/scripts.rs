//! Script analyzers for programs whose "argument" is a small program: `sed`
//! scripts and `awk` programs. They look for the parts that run commands,
//! write or read other files; anything they cannot read is reported too
//! (unknown means unsafe).

use crate::rules::format::AnalyzerDoc;

/// A finding ("`e` runs a command") if the script is unsafe, else `None`.
pub(crate) fn analyze(analyzer: AnalyzerDoc, script: &str) -> Option<String> {
    match analyzer {
        AnalyzerDoc::Sed => sed(script),
        AnalyzerDoc::Awk => awk(script),
    }
}

fn sed(script: &str) -> Option<String> {
    let s: Vec<char> = script.chars().collect();
    let mut i = 0;
    let skip_blank = |i: &mut usize| {
        while *i < s.len() && matches!(s[*i], ' ' | '\t' | '\n' | ';') {
            *i += 1;
        }
    };
    // Reads a delimited part (`/re/`), honouring backslash escapes.
    let delimited = |i: &mut usize, delim: char| -> bool {
        while *i < s.len() {
            match s[*i] {
                '\\' => *i += 2,
                c if c == delim => {
                    *i += 1;
                    return true;
                }
                '\n' if delim != '\n' => return false,
                _ => *i += 1,
            }
        }
        false
    };
    let to_end_of_command = |i: &mut usize| {
        while *i < s.len() && !matches!(s[*i], ';' | '\n' | '}') {
            *i += 1;
        }
    };
    loop {
        skip_blank(&mut i);
        if i >= s.len() {
            return None;
        }
        // Up to two addresses and an optional `!`.
        for part in 0..2 {
            if i >= s.len() {
                break;
            }
            match s[i] {
                '0'..='9' | '+' | '~' => {
                    i += 1;
                    while i < s.len() && (s[i].is_ascii_digit() || s[i] == '~') {
                        i += 1;
                    }
                }
                '$' => i += 1,
                '/' => {
                    i += 1;
                    if !delimited(&mut i, '/') {
                        return Some("an unterminated address".into());
                    }
                    while i < s.len() && matches!(s[i], 'I' | 'M') {
                        i += 1;
                    }
                }
                '\\' if i + 1 < s.len() => {
                    let d = s[i + 1];
                    i += 2;
                    if !delimited(&mut i, d) {
                        return Some("an unterminated address".into());
                    }
                }
                _ => {}
            }
            if part == 0 && i < s.len() && s[i] == ',' {
                i += 1;
            } else {
                break;
            }
        }
        while i < s.len() && matches!(s[i], ' ' | '\t' | '!') {
            i += 1;
        }
        if i >= s.len() {
            return Some("an address without a command".into());
        }
        let command = s[i];
        i += 1;
        match command {
            '{' | '}' => {}
            '#' => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            's' | 'y' => {
                let Some(&d) = s.get(i) else {
                    return Some(format!("an incomplete `{command}` command"));
                };
                if d == '\\' || d == '\n' {
                    return Some(format!("an unusual `{command}` delimiter"));
                }
                i += 1;
                if !delimited(&mut i, d) || !delimited(&mut i, d) {
                    return Some(format!("an unterminated `{command}` command"));
                }
                if command == 's' {
                    while i < s.len() && !matches!(s[i], ';' | '\n' | '}') {
                        match s[i] {
                            'e' => {
                                return Some(
                                    "the `s///e` flag runs the result as a command".into(),
                                );
                            }
                            'w' | 'W' => return Some("the `s///w` flag writes a file".into()),
                            'g' | 'p' | 'i' | 'I' | 'm' | 'M' | ' ' | '\t' => i += 1,
                            c if c.is_ascii_digit() => i += 1,
                            c => return Some(format!("the unknown `s` flag `{c}`")),
                        }
                    }
                }
            }
            'a' | 'i' | 'c' => {
                // Text up to the end of the line; `\` continues it.
                while i < s.len() && s[i] != '\n' {
                    i += if s[i] == '\\' { 2 } else { 1 };
                }
            }
            ':' | 'b' | 't' | 'T' | 'v' => to_end_of_command(&mut i),
            'e' => return Some("the `e` command runs a command".into()),
            'w' | 'W' => return Some("the `w` command writes a file".into()),
            'r' | 'R' => return Some("the `r` command reads another file".into()),
            'q' | 'Q' | 'l' | 'L' => {
                while i < s.len() && (s[i].is_ascii_digit() || s[i] == ' ') {
                    i += 1;
                }
            }
            '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x' | 'z' | 'F' => {}
            other => return Some(format!("the unknown sed command `{other}`")),
        }
    }
}

/// Removes string and regex literals so that their contents are not mistaken
/// for code (`/a|b/` is not a pipe).
fn awk_code_only(program: &str) -> String {
    let chars: Vec<char> = program.chars().collect();
    let mut out = String::with_capacity(program.len());
    let mut i = 0;
    let mut last_significant = '(';
    while i < chars.len() {
        let c = chars[i];
        let regex_start = c == '/'
            && matches!(
                last_significant,
                '(' | ',' | '~' | '!' | '{' | ';' | '&' | '|' | '\n' | '}'
            );
        if c == '"' || regex_start {
            let close = c;
            i += 1;
            while i < chars.len() && chars[i] != close {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str(" \"\" ");
            last_significant = '"';
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        out.push(c);
        if !c.is_whitespace() || c == '\n' {
            last_significant = c;
        }
        i += 1;
    }
    out
}

fn awk(program: &str) -> Option<String> {
    let code = awk_code_only(program);
    let words = code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@'));
    for word in words {
        match word {
            "system" => return Some("`system()` runs a command".into()),
            "getline" => return Some("`getline` reads commands' output or other files".into()),
            "@load" | "@include" | "@namespace" => {
                return Some(format!("`{word}` loads code"));
            }
            _ => {}
        }
    }
    let bytes = code.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'|' {
            let double = bytes.get(i + 1) == Some(&b'|') || (i > 0 && bytes[i - 1] == b'|');
            if !double {
                return Some("`|` pipes to or from a command".into());
            }
        }
    }
    // `print ... > file` / `>> file`: a `>` outside parentheses in a print
    // statement is a redirection, not a comparison.
    let mut rest = code.as_str();
    while let Some(at) = rest.find("print") {
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let statement = &rest[at..];
        let end = statement.find([';', '}', '\n']).unwrap_or(statement.len());
        let mut depth = 0i32;
        if before_ok {
            for c in statement[..end].chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    '>' if depth <= 0 => return Some("`print > file` writes a file".into()),
                    _ => {}
                }
            }
        }
        rest = &statement[5..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::substitute("s/foo/bar/g", false)]
    #[case::last_line("$d", false)]
    #[case::lines("1,10p", false)]
    #[case::delete_comments("/^#/d", false)]
    #[case::other_delimiter("s|a|b|", false)]
    #[case::transliterate("y/abc/xyz/", false)]
    #[case::several("s/a/b/;s/c/d/2", false)]
    #[case::append_text("a hello world", false)]
    #[case::group("/x/{p;d}", false)]
    #[case::exec_flag("s/x/id/e", true)]
    #[case::exec_command("1e id", true)]
    #[case::exec_after_group("/a/{e rm -rf x\n}", true)]
    #[case::write_flag("s/x/y/w /tmp/out", true)]
    #[case::write_command("w out", true)]
    #[case::read_command("r /etc/shadow", true)]
    #[case::negated_exec("$!e id", true)]
    #[case::custom_address_delimiter("\\,x,e id", true)]
    #[case::escaped_delimiter("s/a\\/b/c/e", true)]
    #[case::unknown_command("k", true)]
    fn sed_scripts(#[case] script: &str, #[case] unsafe_: bool) {
        assert_eq!(
            sed(script).is_some(),
            unsafe_,
            "{script}: {:?}",
            sed(script)
        );
    }

    #[rstest]
    #[case::print_field("{print $1}", false)]
    #[case::compare("$3 > 100 {print $1}", false)]
    #[case::print_parenthesised_compare("{print ($1 > 2)}", false)]
    #[case::regex_alternation("/a|b/ {print}", false)]
    #[case::logical_or("$1 == 1 || $2 == 2", false)]
    #[case::string_with_pipe("{print \"a|b\"}", false)]
    #[case::sum("{s += $2} END {print s}", false)]
    #[case::system("BEGIN{system(\"id\")}", true)]
    #[case::pipe_out("{print | \"sh\"}", true)]
    #[case::pipe_in("BEGIN{\"id\" | getline x}", true)]
    #[case::getline_file("BEGIN{getline < \"/etc/shadow\"}", true)]
    #[case::redirect("{print > \"/tmp/x\"}", true)]
    #[case::append_redirect("{printf \"%s\", $0 >> \"f\"}", true)]
    #[case::load("@load \"x\"", true)]
    fn awk_programs(#[case] program: &str, #[case] unsafe_: bool) {
        assert_eq!(
            awk(program).is_some(),
            unsafe_,
            "{program}: {:?}",
            awk(program)
        );
    }
}
