//! Hard input limits and character hygiene, checked before anything else.
//!
//! Oversized input is denied, never truncated: a truncated command is a different
//! command. Invisible and look-alike characters are denied because a person
//! approving a command must see exactly what runs.

/// Longest shell-style command line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most arguments (`argv[0]` included) in one command.
pub const MAX_ARGS: usize = 1_000;
/// Longest single argument, in bytes.
pub const MAX_ARG_BYTES: usize = 32 * 1024;
/// Deepest nesting of wrappers (`env nice timeout sh -c ...`) that is followed.
pub const MAX_WRAPPER_DEPTH: usize = 8;

/// Why an input was refused before parsing; becomes a deny.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputProblem {
    pub rule: &'static str,
    pub reason: String,
    pub hint: &'static str,
}

impl InputProblem {
    fn new(rule: &'static str, reason: String, hint: &'static str) -> Self {
        InputProblem { rule, reason, hint }
    }
}

/// Characters that render as nothing (or as ordinary spaces) but change what a
/// program sees: bidi controls, zero-width characters, tags, odd spaces.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00A0}' | '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}'
        | '\u{17B4}' | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{2000}'..='\u{200F}'
        | '\u{2028}'..='\u{202F}' | '\u{205F}'..='\u{206F}' | '\u{3000}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Dashes that look like `-` but are not: an option spelled with one is either a
/// smuggling attempt or a typo, and neither should run.
pub(crate) fn is_dash_lookalike(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}' | '\u{2043}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// Control characters other than tab and newline (C0, DEL, C1).
fn is_forbidden_control(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || ('\u{80}'..='\u{9F}').contains(&c)
}

/// Checks a shell-style line: size, NUL and control characters (newlines are left
/// to the shell grammar check, which names them as command separators).
pub(crate) fn check_line(line: &str) -> Result<(), InputProblem> {
    if line.len() > MAX_LINE_BYTES {
        return Err(InputProblem::new(
            "input.too-large",
            format!(
                "command line is {} bytes; the limit is {MAX_LINE_BYTES}",
                line.len()
            ),
            "propose a shorter command; put large content in a file with write_file",
        ));
    }
    check_text(line, "command line")
}

/// Checks one argv: count, sizes, NUL, control and invisible characters.
pub(crate) fn check_argv<S: AsRef<str>>(argv: &[S]) -> Result<(), InputProblem> {
    if argv.is_empty() || argv[0].as_ref().is_empty() {
        return Err(InputProblem::new(
            "input.empty",
            "empty command: no program named".to_string(),
            "propose a command as a non-empty argv whose first element is the program",
        ));
    }
    if argv.len() > MAX_ARGS {
        return Err(InputProblem::new(
            "input.too-large",
            format!("{} arguments; the limit is {MAX_ARGS}", argv.len()),
            "split the work into smaller commands",
        ));
    }
    for (index, arg) in argv.iter().enumerate() {
        let arg = arg.as_ref();
        if arg.len() > MAX_ARG_BYTES {
            return Err(InputProblem::new(
                "input.too-large",
                format!(
                    "argument {index} is {} bytes; the limit is {MAX_ARG_BYTES}",
                    arg.len()
                ),
                "put large content in a file with write_file",
            ));
        }
        check_text(arg, &format!("argument {index}"))?;
        if index == 0 && arg.contains(['\n', '\t']) {
            return Err(InputProblem::new(
                "input.control",
                "the program name contains a tab or newline".to_string(),
                "name the program plainly, e.g. \"ls\"",
            ));
        }
        if arg.starts_with(is_dash_lookalike) {
            return Err(InputProblem::new(
                "input.lookalike",
                format!("argument {index} `{arg}` starts with a Unicode dash that looks like `-`"),
                "spell options with the ASCII hyphen-minus `-`",
            ));
        }
    }
    Ok(())
}

fn check_text(text: &str, what: &str) -> Result<(), InputProblem> {
    if text.is_ascii() {
        if let Some(c) = text.bytes().find(|b| *b == 0) {
            return Err(nul_problem(what, c));
        }
        if let Some(c) = text
            .bytes()
            .find(|b| b.is_ascii_control() && *b != b'\t' && *b != b'\n')
        {
            return Err(control_problem(what, c as char));
        }
        return Ok(());
    }
    for c in text.chars() {
        if c == '\0' {
            return Err(nul_problem(what, 0));
        }
        if is_forbidden_control(c) {
            return Err(control_problem(what, c));
        }
        if is_invisible(c) {
            return Err(InputProblem::new(
                "input.invisible",
                format!(
                    "{what} contains the invisible or look-alike character U+{:04X}",
                    c as u32
                ),
                "use plain visible characters only; a person must see exactly what runs",
            ));
        }
    }
    Ok(())
}

fn nul_problem(what: &str, _byte: u8) -> InputProblem {
    InputProblem::new(
        "input.nul",
        format!("{what} contains a NUL byte"),
        "NUL bytes cannot be passed to a program; remove them",
    )
}

fn control_problem(what: &str, c: char) -> InputProblem {
    InputProblem::new(
        "input.control",
        format!("{what} contains the control character U+{:04X}", c as u32),
        "remove control characters (escape sequences, carriage returns, ...)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain(&["ls", "-la"], None)]
    #[case::empty_program(&[""], Some("input.empty"))]
    #[case::nul(&["cat", "a\0b"], Some("input.nul"))]
    #[case::escape(&["echo", "\u{1b}[2J"], Some("input.control"))]
    #[case::carriage_return(&["echo", "a\rb"], Some("input.control"))]
    #[case::bidi_override(&["cat", "file\u{202E}txt"], Some("input.invisible"))]
    #[case::zero_width(&["r\u{200B}m", "x"], Some("input.invisible"))]
    #[case::fullwidth_dash(&["rm", "\u{FF0D}rf"], Some("input.lookalike"))]
    #[case::unicode_minus(&["rm", "\u{2212}rf"], Some("input.lookalike"))]
    #[case::newline_in_arg_ok(&["git", "commit", "-m", "a\nb"], None)]
    #[case::newline_in_program(&["ls\n", "x"], Some("input.control"))]
    fn argv_hygiene(#[case] argv: &[&str], #[case] rule: Option<&str>) {
        assert_eq!(check_argv(argv).err().map(|p| p.rule), rule);
    }

    #[test]
    fn oversized_inputs_are_refused_not_truncated() {
        let long = "a".repeat(MAX_ARG_BYTES + 1);
        assert_eq!(
            check_argv(&["echo", long.as_str()]).unwrap_err().rule,
            "input.too-large"
        );
        let many = vec!["x"; MAX_ARGS + 1];
        assert_eq!(check_argv(&many).unwrap_err().rule, "input.too-large");
        let line = "x".repeat(MAX_LINE_BYTES + 1);
        assert_eq!(check_line(&line).unwrap_err().rule, "input.too-large");
    }
}
