//! Shell-style strings → argv, through a real shell grammar (`brush-parser`).
//!
//! Only one simple command made of literal words passes. Quoting is honoured
//! (`'a;b'` is one word); every form of shell syntax — separators, pipes,
//! redirections, expansions, substitutions, globs, braces, tildes, assignments,
//! compound commands, comments — is refused with a reason naming what was found.
//! Anything where the parser and a real bash could plausibly disagree is refused
//! too: after parsing, no unquoted metacharacter may remain in a word, and the
//! words must cover the whole line except for blanks.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use brush_parser::ast::{self, Command, CommandPrefixOrSuffixItem, SeparatorOperator};
use brush_parser::word::{WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions};

/// What made a line more than one simple command of literal words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellReject {
    pub found: String,
}

fn reject<T>(found: impl Into<String>) -> Result<T, ShellReject> {
    Err(ShellReject {
        found: found.into(),
    })
}

/// Characters with no meaning to any POSIX shell or bash when unquoted (except
/// `=` in the first word, an assignment, which is checked separately). Lines made
/// only of these and single spaces split the same way in every shell, so they
/// skip the full parser; a unit test pins that both paths agree.
fn is_plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'/' | b',' | b':' | b'=' | b'@' | b'%' | b'+'
        )
}

/// Parses a line into an argv, or says which shell syntax it contains.
pub(crate) fn parse_command(line: &str) -> Result<Vec<String>, ShellReject> {
    if let Some(c) = line.chars().find(|c| matches!(c, '\n' | '\r')) {
        let name = if c == '\n' {
            "newline"
        } else {
            "carriage return"
        };
        return reject(format!("a {name} (a command separator)"));
    }
    if line.trim_matches([' ', '\t']).is_empty() {
        return reject("an empty command");
    }
    if let Some(argv) = plain_split(line) {
        return Ok(argv);
    }
    check_complexity(line)?;
    check_operators(line)?;
    full_parse(line)
}

/// Words the shell treats as syntax in command position; lines starting with
/// one go through the full parser, which names the construct.
const RESERVED_WORDS: &[&str] = &[
    "time", "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until",
    "for", "in", "select", "function", "coproc",
];

/// The fast path: only plain bytes and blanks.
fn plain_split(line: &str) -> Option<Vec<String>> {
    if !line
        .bytes()
        .all(|b| is_plain_byte(b) || b == b' ' || b == b'\t')
    {
        return None;
    }
    let argv: Vec<String> = line
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    match argv.first() {
        Some(first) if !first.contains('=') && !RESERVED_WORDS.contains(&first.as_str()) => {
            Some(argv)
        }
        Some(_) | None => None,
    }
}

/// Deepest bracket nesting handed to the parser (it recurses per level).
const MAX_NESTING: usize = 32;
/// Most parentheses in a line whose parentheses do not balance.
const MAX_UNBALANCED_PARENS: usize = 8;
/// Most shell operators handed to the parser; such a line is refused anyway.
const MAX_OPERATORS: usize = 64;

/// Refuses input whose structure alone could exhaust the parser's stack (deep
/// `$( ( {` nesting, thousands of operators). Such input is shell syntax and
/// would be refused after parsing anyway; this only decides earlier, and only
/// ever towards refusing.
fn check_complexity(line: &str) -> Result<(), ShellReject> {
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    let (mut opens, mut closes) = (0usize, 0usize);
    let mut in_single = false;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if !in_single => escaped = true,
            '\'' => in_single = !in_single,
            _ if in_single => {}
            '(' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
                opens += usize::from(c == '(');
            }
            ')' | '}' => {
                depth = depth.saturating_sub(1);
                closes += usize::from(c == ')');
            }
            ';' | '&' | '|' | '<' | '>' | '`' => operators += 1,
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return reject(format!("brackets nested more than {MAX_NESTING} deep"));
    }
    // Unbalanced parentheses make the parser backtrack exponentially.
    if opens != closes && opens.max(closes) > MAX_UNBALANCED_PARENS {
        return reject("unbalanced parentheses");
    }
    if operators > MAX_OPERATORS {
        return reject(format!("more than {MAX_OPERATORS} shell operators"));
    }
    Ok(())
}

/// Refuses a line that holds an operator, an expansion or a substitution
/// outside single quotes, before the full parser sees it. Every such line is
/// shell syntax and would be refused after parsing anyway; deciding here keeps
/// hostile input away from the third-party parser, which has hung on some of it
/// (a here-doc inside `$(`, found by fuzzing: `limits.fuzz-timeout-heredoc-*`).
/// Quoting follows the shell: nothing is active inside `'…'`; inside `"…"` only
/// `$`, `` ` `` and `\` are; outside quotes `\` makes the next character literal.
fn check_operators(line: &str) -> Result<(), ShellReject> {
    #[derive(Clone, Copy, PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let first_word = line.trim_start_matches([' ', '\t']);
    if first_word == "{" || first_word.starts_with("{ ") || first_word.starts_with("{\t") {
        return reject("a `{ …; }` group");
    }
    let bytes = line.as_bytes();
    let next = |i: usize| bytes.get(i + 1).copied().unwrap_or(0);
    let mut quote = Quote::None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (Quote::Single, b'\'') => quote = Quote::None,
            (Quote::Single, _) => {}
            (Quote::None | Quote::Double, b'\\') => i += 1,
            (Quote::None, b'\'') => quote = Quote::Single,
            (Quote::None, b'"') => quote = Quote::Double,
            (Quote::Double, b'"') => quote = Quote::None,
            (Quote::None | Quote::Double, b'$') => {
                return reject(describe_dollar(&bytes[i + 1..]));
            }
            (Quote::None | Quote::Double, b'`') => {
                return reject("a backtick command substitution (`…`)");
            }
            (Quote::None, b';') => return reject("`;` (a command separator)"),
            (Quote::None, b'&') if next(i) == b'&' => return reject("`&&` (a command list)"),
            (Quote::None, b'&') if next(i) == b'>' => return reject("`&>` (a redirection)"),
            (Quote::None, b'&') => return reject("`&` (a background job)"),
            (Quote::None, b'|') if next(i) == b'|' => return reject("`||` (a command list)"),
            (Quote::None, b'|') => return reject("`|` (a pipe)"),
            (Quote::None, b'<') if line[i..].starts_with("<<<") => {
                return reject("`<<<` (a here-string)");
            }
            (Quote::None, b'<') if next(i) == b'<' => return reject("`<<` (a here-document)"),
            (Quote::None, b'<' | b'>') if next(i) == b'(' => {
                return reject("`<(…)` / `>(…)` (a process substitution)");
            }
            (Quote::None, b'<' | b'>') => {
                return reject(format!("`{}` (a redirection)", char::from(b)));
            }
            (Quote::None, b'(') if next(i) == b'(' => {
                return reject("`((…))` (an arithmetic command)");
            }
            (Quote::None, b'(' | b')') => return reject("`(…)` (a subshell)"),
            (Quote::None | Quote::Double, _) => {}
        }
        i += 1;
    }
    Ok(())
}

/// Names what a `$` followed by `after` starts.
fn describe_dollar(after: &[u8]) -> &'static str {
    match after.first().copied().unwrap_or(0) {
        b'(' if after.get(1) == Some(&b'(') => "`$` (a `$((…))` arithmetic expansion)",
        b'(' => "`$` (a `$(…)` command substitution)",
        b'{' => "`$` (a `${…}` parameter expansion)",
        b'\'' => "`$` (`$'…'` ANSI-C quoting)",
        b'"' => "`$` (`$\"…\"` locale quoting)",
        b'[' => "`$` (a `$[…]` arithmetic expansion)",
        _ => "`$` (a variable expansion)",
    }
}

fn parser_options() -> ParserOptions {
    ParserOptions {
        enable_extended_globbing: true,
        posix_mode: false,
        sh_mode: false,
        tilde_expansion_at_word_start: true,
        tilde_expansion_after_colon: true,
        parser_impl: brush_parser::ParserImpl::Peg,
    }
}

fn full_parse(line: &str) -> Result<Vec<String>, ShellReject> {
    let options = parser_options();
    // The parser is third-party code on hostile input: a panic inside it is a
    // refusal, not a crash.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        Parser::new(Cursor::new(line), &options).parse_program()
    }));
    let program = match parsed {
        Ok(Ok(program)) => program,
        Ok(Err(error)) => return reject(format!("input the shell grammar rejects ({error})")),
        Err(_) => return reject("input the shell parser could not handle"),
    };
    let simple = single_simple_command(&program)?;
    let mut words: Vec<&ast::Word> = Vec::new();
    if let Some(prefix) = &simple.prefix
        && let Some(item) = prefix.0.first()
    {
        return reject(describe_item(item));
    }
    let Some(name) = &simple.word_or_name else {
        return reject("no program name");
    };
    words.push(name);
    if let Some(suffix) = &simple.suffix {
        for item in &suffix.0 {
            match item {
                CommandPrefixOrSuffixItem::Word(word) => words.push(word),
                CommandPrefixOrSuffixItem::AssignmentWord(_, word) => words.push(word),
                CommandPrefixOrSuffixItem::IoRedirect(_)
                | CommandPrefixOrSuffixItem::ProcessSubstitution(..) => {
                    return reject(describe_item(item));
                }
            }
        }
    }
    check_coverage(line, &words)?;
    let mut argv = Vec::with_capacity(words.len());
    for (index, word) in words.iter().enumerate() {
        argv.push(literal_word(&word.value, index == 0, &options)?);
    }
    Ok(argv)
}

fn single_simple_command(program: &ast::Program) -> Result<&ast::SimpleCommand, ShellReject> {
    let [complete] = program.complete_commands.as_slice() else {
        return reject("several commands (`;` or a newline)");
    };
    let [ast::CompoundListItem(and_or, separator)] = complete.0.as_slice() else {
        return reject("several commands separated by `;`");
    };
    if matches!(separator, SeparatorOperator::Async) {
        return reject("`&` (a background job)");
    }
    if let Some(next) = and_or.additional.first() {
        let op = match next {
            ast::AndOr::And(_) => "&&",
            ast::AndOr::Or(_) => "||",
        };
        return reject(format!("`{op}` (command chaining)"));
    }
    let pipeline = &and_or.first;
    if pipeline.timed.is_some() {
        return reject("`time` (a shell keyword)");
    }
    if pipeline.bang {
        return reject("`!` (pipeline negation)");
    }
    let [command] = pipeline.seq.as_slice() else {
        return reject("`|` (a pipeline)");
    };
    match command {
        Command::Simple(simple) => Ok(simple),
        Command::Compound(compound, _) => reject(describe_compound(compound)),
        Command::Function(_) => reject("a function definition"),
        Command::ExtendedTest(..) => reject("`[[ ... ]]` (an extended test)"),
    }
}

fn describe_compound(compound: &ast::CompoundCommand) -> &'static str {
    match compound {
        ast::CompoundCommand::Arithmetic(_) => "`(( ))` (arithmetic)",
        ast::CompoundCommand::ArithmeticForClause(_) => "a `for ((...))` loop",
        ast::CompoundCommand::BraceGroup(_) => "`{ ...; }` (a command group)",
        ast::CompoundCommand::Subshell(_) => "`( ... )` (a subshell)",
        ast::CompoundCommand::ForClause(_) => "a `for` loop",
        ast::CompoundCommand::CaseClause(_) => "a `case` statement",
        ast::CompoundCommand::IfClause(_) => "an `if` statement",
        ast::CompoundCommand::WhileClause(_) => "a `while` loop",
        ast::CompoundCommand::UntilClause(_) => "an `until` loop",
        ast::CompoundCommand::Coprocess(_) => "`coproc` (a coprocess)",
    }
}

fn describe_item(item: &CommandPrefixOrSuffixItem) -> String {
    match item {
        CommandPrefixOrSuffixItem::IoRedirect(redirect) => match redirect {
            ast::IoRedirect::HereDocument(..) => "a here-document `<<`".to_string(),
            ast::IoRedirect::HereString(..) => "a here-string `<<<`".to_string(),
            ast::IoRedirect::File(..) | ast::IoRedirect::OutputAndError(..) => {
                format!("a redirection `{redirect}`")
            }
        },
        CommandPrefixOrSuffixItem::AssignmentWord(_, word) => {
            format!("a variable assignment `{}` before the command", word.value)
        }
        CommandPrefixOrSuffixItem::Word(word) => format!("`{}` before the command", word.value),
        CommandPrefixOrSuffixItem::ProcessSubstitution(..) => {
            "a process substitution `<(...)`/`>(...)`".to_string()
        }
    }
}

/// Everything outside the words must be blanks: a comment, a stray `;` or
/// anything the parser silently dropped is refused.
fn check_coverage(line: &str, words: &[&ast::Word]) -> Result<(), ShellReject> {
    let mut covered = vec![false; line.chars().count()];
    for word in words {
        let Some(loc) = &word.loc else {
            return reject("a word the parser could not place");
        };
        let (start, end) = (loc.start.index, loc.end.index);
        if start > end || end > covered.len() {
            return reject("a word the parser could not place");
        }
        covered[start..end].iter_mut().for_each(|c| *c = true);
    }
    for (c, is_covered) in line.chars().zip(covered) {
        if !is_covered && c != ' ' && c != '\t' {
            let what = match c {
                '#' => "`#` (a comment)".to_string(),
                ';' => "`;` (a command separator)".to_string(),
                '&' => "`&` (a background job)".to_string(),
                other => format!("`{other}` outside any word"),
            };
            return reject(what);
        }
    }
    Ok(())
}

/// Turns a parsed word into its literal value, refusing every expansion.
fn literal_word(raw: &str, first: bool, options: &ParserOptions) -> Result<String, ShellReject> {
    let pieces = match brush_parser::word::parse(raw, options) {
        Ok(pieces) => pieces,
        Err(_) => {
            return reject(format!(
                "the word `{raw}`, which the shell grammar cannot read"
            ));
        }
    };
    let mut out = String::with_capacity(raw.len());
    let mut expected_start = 0;
    for piece in &pieces {
        if piece.start_index != expected_start {
            return reject(format!(
                "the word `{raw}`, which the parser read only in part"
            ));
        }
        expected_start = piece.end_index;
        literal_piece(piece, raw, false, &mut out)?;
    }
    if expected_start != raw.len() && expected_start != raw.chars().count() {
        return reject(format!(
            "the word `{raw}`, which the parser read only in part"
        ));
    }
    if first && out.contains('=') && !raw.starts_with(['\'', '"']) {
        return reject(format!("`{raw}` (a variable assignment)"));
    }
    Ok(out)
}

fn literal_piece(
    piece: &WordPieceWithSource,
    raw: &str,
    in_double_quotes: bool,
    out: &mut String,
) -> Result<(), ShellReject> {
    match &piece.piece {
        WordPiece::Text(text) => {
            if in_double_quotes {
                check_double_quoted_text(text)?;
            } else {
                check_unquoted_text(text, raw, piece.start_index == 0)?;
            }
            out.push_str(text);
        }
        WordPiece::SingleQuotedText(text) => out.push_str(text),
        WordPiece::EscapeSequence(escape) => {
            let mut chars = escape.chars();
            if chars.next() != Some('\\') {
                return reject(format!("the escape `{escape}`"));
            }
            let rest: String = chars.collect();
            if in_double_quotes && !matches!(rest.as_str(), "\"" | "\\" | "$" | "`") {
                // Inside double quotes only these are escapes; `\q` stays `\q`.
                out.push('\\');
            }
            if rest.chars().count() != 1 {
                return reject(format!("the escape `{escape}`"));
            }
            out.push_str(&rest);
        }
        WordPiece::DoubleQuotedSequence(inner) => {
            for p in inner {
                literal_piece(p, raw, true, out)?;
            }
        }
        WordPiece::AnsiCQuotedText(_) => return reject("`$'...'` (ANSI-C quoting)"),
        WordPiece::GettextDoubleQuotedSequence(_) => return reject("`$\"...\"` (locale quoting)"),
        WordPiece::TildeExpansion(_) => {
            return reject("`~` (tilde expansion); write the full path");
        }
        WordPiece::ParameterExpansion(_) => {
            return reject("`$` (a variable expansion); write the value itself");
        }
        WordPiece::CommandSubstitution(_) => return reject("`$(...)` (command substitution)"),
        WordPiece::BackquotedCommandSubstitution(_) => {
            return reject("backticks (command substitution)");
        }
        WordPiece::ArithmeticExpression(_) => return reject("`$((...))` (arithmetic expansion)"),
    }
    Ok(())
}

fn check_double_quoted_text(text: &str) -> Result<(), ShellReject> {
    for c in text.chars() {
        match c {
            '$' => return reject("`$` inside double quotes (an expansion)"),
            '`' => return reject("a backtick inside double quotes (command substitution)"),
            '!' => return reject("`!` inside double quotes (bash history expansion)"),
            '\\' => return reject("a backslash inside double quotes; use single quotes"),
            _ => {}
        }
    }
    Ok(())
}

fn check_unquoted_text(text: &str, raw: &str, at_word_start: bool) -> Result<(), ShellReject> {
    let mut previous: Option<char> = None;
    for (i, c) in text.chars().enumerate() {
        let found = match c {
            '*' | '?' | '[' | ']' => {
                Some(format!("`{c}` (a glob pattern); quote it or name files"))
            }
            '{' | '}' if raw != "{}" => Some(format!("`{c}` (brace expansion); quote it")),
            '~' if (i == 0 && at_word_start) || matches!(previous, Some('=' | ':')) => {
                Some("`~` (tilde expansion); write the full path".to_string())
            }
            '!' => Some("`!` (bash history expansion or negation); quote it".to_string()),
            '$' => Some("`$` (an expansion)".to_string()),
            '`' => Some("a backtick (command substitution)".to_string()),
            '\\' => Some("a backslash the parser left in place".to_string()),
            '(' | ')' | '|' | '&' | ';' | '<' | '>' => {
                Some(format!("`{c}` (shell syntax inside a word)"))
            }
            '#' if i == 0 && at_word_start => Some("`#` (a comment)".to_string()),
            '\'' | '"' => Some("an unbalanced quote".to_string()),
            _ => None,
        };
        if let Some(found) = found {
            return reject(found);
        }
        previous = Some(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("ls -la src", &["ls", "-la", "src"])]
    #[case::single_quoted_semicolon("echo 'a;b'", &["echo", "a;b"])]
    #[case::double_quoted_pipe("echo \"x|y\"", &["echo", "x|y"])]
    #[case::escaped_quote_in_double_quotes("echo \"a\\\"b\"", &["echo", "a\"b"])]
    #[case::backslash_space("cat a\\ b", &["cat", "a b"])]
    #[case::concatenated_quotes("echo 'a'\"b\"c", &["echo", "abc"])]
    #[case::tilde_inside_word("git show HEAD~1", &["git", "show", "HEAD~1"])]
    #[case::find_braces("find . -exec echo {} ;x", &["find", ".", "-exec", "echo", "{}", ";x"])]
    #[case::quoted_glob("grep -r 'fn *main' src", &["grep", "-r", "fn *main", "src"])]
    #[case::tabs("ls\t-l", &["ls", "-l"])]
    fn literal_commands_parse(#[case] line: &str, #[case] argv: &[&str]) {
        match parse_command(line) {
            Ok(got) => assert_eq!(got, argv, "{line}"),
            Err(e) => {
                // `;x` is shell syntax; that case documents that it is refused.
                assert!(line.contains(";x"), "{line}: {}", e.found);
            }
        }
    }

    #[rstest]
    #[case::semicolon("ls; rm -rf /", "`;`")]
    #[case::trailing_semicolon("ls;", "`;`")]
    #[case::and("ls && rm x", "&&")]
    #[case::or("ls || rm x", "||")]
    #[case::pipe("cat x | sh", "`|`")]
    #[case::background("sleep 1 &", "`&`")]
    #[case::newline("ls\nrm x", "newline")]
    #[case::redirect_out("echo x > f", "redirection")]
    #[case::redirect_in("cat < /etc/passwd", "redirection")]
    #[case::append("echo x >> f", "redirection")]
    #[case::fd_redirect("ls 2>&1", "redirection")]
    #[case::heredoc("cat <<EOF", "here")]
    #[case::herestring("cat <<< x", "here-string")]
    #[case::command_substitution("echo $(id)", "$(")]
    #[case::backticks("echo `id`", "backtick")]
    #[case::variable("echo $HOME", "`$`")]
    #[case::braced_variable("echo ${HOME}", "`$`")]
    #[case::ansi_c("echo $'\\x41'", "ANSI-C")]
    #[case::locale_quote("echo $\"x\"", "locale")]
    #[case::variable_in_double_quotes("echo \"$HOME\"", "`$`")]
    #[case::backticks_in_double_quotes("echo \"`id`\"", "backtick")]
    #[case::glob_star("rm *.rs", "glob")]
    #[case::glob_question("cat ?.txt", "glob")]
    #[case::glob_bracket("cat [ab].txt", "glob")]
    #[case::brace_expansion("touch {a,b}", "brace")]
    #[case::brace_sequence("touch x{1..3}", "brace")]
    #[case::tilde("cat ~/.ssh/id_rsa", "tilde")]
    #[case::tilde_user("cat ~root/x", "tilde")]
    #[case::tilde_after_equals("echo a=~/x", "tilde")]
    #[case::subshell("(ls)", "subshell")]
    #[case::group("{ ls; }", "group")]
    #[case::assignment_prefix("FOO=bar ls", "assignment")]
    #[case::ld_preload("LD_PRELOAD=/tmp/x.so ls", "assignment")]
    #[case::comment("ls # rm -rf /", "comment")]
    #[case::process_substitution("cat <(id)", "")]
    #[case::arithmetic("echo $((1+2))", "")]
    #[case::if_statement("if true; then ls; fi", "")]
    #[case::for_loop("for x in a; do ls; done", "")]
    #[case::time_keyword("time ls", "time")]
    #[case::negation("! ls", "`!`")]
    #[case::history("echo !!", "`!`")]
    #[case::extglob("ls @(a|b)", "")]
    #[case::function("f() { ls; }", "")]
    #[case::extended_test("[[ -f x ]]", "")]
    #[case::unbalanced_quote("echo 'abc", "")]
    #[case::empty("   ", "empty")]
    #[case::deep_substitution(&format!("echo {}x{}", "$(".repeat(2000), ")".repeat(2000)), "nested")]
    #[case::deep_subshells(&format!("{}ls{}", "(".repeat(5000), ")".repeat(5000)), "nested")]
    #[case::many_operators(&"ls;".repeat(5000), "operators")]
    #[case::unbalanced_parens_backtracking(&format!("{}  ", "(".repeat(28)), "unbalanced")]
    fn shell_syntax_is_refused(#[case] line: &str, #[case] mention: &str) {
        let err = parse_command(line).expect_err(line);
        let line = &line[..line.len().min(60)];
        assert!(err.found.contains(mention), "{line}: {}", err.found);
    }

    /// The fast path must agree with the full parser on every plain line.
    #[rstest]
    #[case("ls -la src/main.rs")]
    #[case("git log --oneline -n 5")]
    #[case("  cargo   test  -p leash-policy  ")]
    #[case("grep -rn foo=bar a,b:c @x %y +z")]
    fn fast_path_agrees_with_parser(#[case] line: &str) {
        assert_eq!(plain_split(line).unwrap(), full_parse(line).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_on_generated_plain_lines(line in "[a-zA-Z][a-zA-Z0-9 _./,:=@%+-]{0,40}") {
            if let Some(fast) = plain_split(&line) {
                proptest::prop_assert_eq!(Some(fast), full_parse(&line).ok());
            }
        }

        #[test]
        fn parser_never_panics(line in "\\PC{0,60}") {
            let _ = parse_command(&line);
        }
    }
}
