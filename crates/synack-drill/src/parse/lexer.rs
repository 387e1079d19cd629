//! Splits script text into tokens with line/column positions.
//!
//! The lexer is context-free except for three line-level constructs that
//! are recognised only as the first thing on a line: `--name=value` header
//! options and `#directive` lines. Comments are dropped. Characters that
//! have no meaning to the lexer become [`Tok::Punct`] so that the parser,
//! which knows the context, reports them.

use crate::error::{ErrorKind, ParseError};

/// A token kind. Numbers and identifiers keep their text in the source
/// (see [`Token::start`]/[`Token::end`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Decimal (`12`, `0.100`) or hexadecimal (`0x1f`) number.
    Num,
    /// `[A-Za-z_][A-Za-z0-9_]*`
    Ident,
    /// `"..."`, escapes resolved.
    Str(String),
    /// `...`
    Ellipsis,
    /// Any other single character.
    Punct(char),
    /// `` `...` ``, inner text verbatim.
    Shell(String),
    /// `%{ ... }%`, inner text verbatim.
    Python(String),
    /// `--name[=value]` line.
    Header { name: String, value: Option<String> },
    /// `#name arg` line.
    Directive { name: String, arg: String },
    /// End of a line.
    Newline,
    /// End of input.
    Eof,
}

/// A token with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// 1-based line of the first character.
    pub(crate) line: u32,
    /// 1-based column (in characters) of the first character.
    pub(crate) col: u32,
    /// 1-based line of the last character.
    pub(crate) end_line: u32,
    /// Byte offset of the first character.
    pub(crate) start: usize,
    /// Byte offset just past the last character.
    pub(crate) end: usize,
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
    col: u32,
    at_line_start: bool,
}

/// Tokenizes the whole input. The result always ends with [`Tok::Eof`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer { src, pos: 0, line: 1, col: 1, at_line_start: true };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token()?;
        let done = t.tok == Tok::Eof;
        out.push(t);
        if done {
            return Ok(out);
        }
    }
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn bump_while(&mut self, f: impl Fn(char) -> bool) {
        while self.peek().is_some_and(&f) {
            self.bump();
        }
    }

    /// Consumes the rest of the line (not the newline) and returns it with
    /// any `//` comment removed.
    fn rest_of_line(&mut self) -> String {
        let start = self.pos;
        self.bump_while(|c| c != '\n');
        let text = &self.src[start..self.pos];
        let text = text.find("//").map_or(text, |i| &text[..i]);
        text.trim().to_owned()
    }

    fn err(&self, line: u32, col: u32, kind: ErrorKind) -> ParseError {
        ParseError::new(line, col, kind)
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        loop {
            self.bump_while(|c| c != '\n' && c.is_whitespace());
            if self.rest().starts_with("//") {
                self.bump_while(|c| c != '\n');
                continue;
            }
            if self.rest().starts_with("/*") {
                let (line, col) = (self.line, self.col);
                match self.rest().find("*/") {
                    Some(i) => {
                        let stop = self.pos + i + 2;
                        while self.pos < stop {
                            self.bump();
                        }
                    }
                    None => return Err(self.err(line, col, ErrorKind::UnterminatedComment)),
                }
                continue;
            }
            break;
        }
        let (start, line, col) = (self.pos, self.line, self.col);
        let tok = self.token_kind(line, col)?;
        let end_line = if self.src[start..self.pos].ends_with('\n') { line } else { self.line };
        Ok(Token { tok, line, col, end_line, start, end: self.pos })
    }

    fn token_kind(&mut self, line: u32, col: u32) -> Result<Tok, ParseError> {
        let Some(c) = self.peek() else { return Ok(Tok::Eof) };
        if c == '\n' {
            self.bump();
            self.at_line_start = true;
            return Ok(Tok::Newline);
        }
        let line_start = std::mem::replace(&mut self.at_line_start, false);
        if line_start && self.rest().starts_with("--") {
            return self.header(line, col);
        }
        if line_start && c == '#' {
            self.bump();
            let name_start = self.pos;
            self.bump_while(|c| c.is_ascii_alphanumeric() || c == '_');
            let name = self.src[name_start..self.pos].to_owned();
            let arg = self.rest_of_line();
            return Ok(Tok::Directive { name, arg });
        }
        if c == '`' {
            self.bump();
            let body = self.delimited("`", line, col, ErrorKind::UnterminatedShell)?;
            return Ok(Tok::Shell(body));
        }
        if self.rest().starts_with("%{") {
            self.bump();
            self.bump();
            let body = self.delimited("}%", line, col, ErrorKind::UnterminatedPython)?;
            return Ok(Tok::Python(body));
        }
        if c == '"' {
            return self.string(line, col);
        }
        if c.is_ascii_digit() {
            self.number();
            return Ok(Tok::Num);
        }
        if c.is_ascii_alphabetic() || c == '_' {
            self.bump_while(|c| c.is_ascii_alphanumeric() || c == '_');
            return Ok(Tok::Ident);
        }
        if self.rest().starts_with("...") {
            self.pos += 3;
            self.col = self.col.saturating_add(3);
            return Ok(Tok::Ellipsis);
        }
        self.bump();
        Ok(Tok::Punct(c))
    }

    /// Reads up to (and consumes) `close`; returns the text before it.
    fn delimited(&mut self, close: &str, line: u32, col: u32, kind: ErrorKind) -> Result<String, ParseError> {
        let Some(i) = self.rest().find(close) else { return Err(self.err(line, col, kind)) };
        let body = self.rest()[..i].to_owned();
        let stop = self.pos + i + close.len();
        while self.pos < stop {
            self.bump();
        }
        Ok(body)
    }

    fn header(&mut self, line: u32, col: u32) -> Result<Tok, ParseError> {
        self.bump();
        self.bump();
        let name_start = self.pos;
        self.bump_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let name = self.src[name_start..self.pos].to_owned();
        if name.is_empty() {
            let found = self.peek().map_or("end of line".to_owned(), |c| format!("`{c}`"));
            let expected = "an option name after `--`".to_owned();
            return Err(self.err(line, col, ErrorKind::Unexpected { expected, found }));
        }
        let value = if self.peek() == Some('=') {
            self.bump();
            Some(self.rest_of_line())
        } else {
            let (l, c) = (self.line, self.col);
            let rest = self.rest_of_line();
            if !rest.is_empty() {
                let expected = format!("`=` or end of line after `--{name}`");
                let found = format!("`{rest}`");
                return Err(self.err(l, c, ErrorKind::Unexpected { expected, found }));
            }
            None
        };
        Ok(Tok::Header { name, value })
    }

    fn string(&mut self, line: u32, col: u32) -> Result<Tok, ParseError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.err(line, col, ErrorKind::UnterminatedString));
                }
                Some('"') => return Ok(Tok::Str(s)),
                Some('\\') => match self.bump() {
                    None | Some('\n') => {
                        return Err(self.err(line, col, ErrorKind::UnterminatedString));
                    }
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some(other) => s.push(other),
                },
                Some(other) => s.push(other),
            }
        }
    }

    fn number(&mut self) {
        let hex = self.rest().starts_with("0x") || self.rest().starts_with("0X");
        if hex && self.peek_at(2).is_some_and(|c| c.is_ascii_hexdigit()) {
            self.bump();
            self.bump();
            self.bump_while(|c| c.is_ascii_hexdigit());
            return;
        }
        self.bump_while(|c| c.is_ascii_digit());
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            self.bump_while(|c| c.is_ascii_digit());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src).map(|v| v.into_iter().map(|t| t.tok).collect()).unwrap_or_default()
    }

    #[test]
    fn blocking_time_splits_around_ellipsis() {
        let toks = tokenize("0.000...0.100").unwrap_or_default();
        let texts: Vec<&str> = toks.iter().map(|t| &"0.000...0.100"[t.start..t.end]).collect();
        assert_eq!(texts, ["0.000", "...", "0.100", ""]);
    }

    #[test]
    fn comments_are_dropped_and_lines_counted() {
        let src = "// a\n/* b\n c */ x // y\n";
        let toks = tokenize(src).unwrap_or_default();
        let x = toks.iter().find(|t| t.tok == Tok::Ident);
        assert_eq!(x.map(|t| (t.line, t.col)), Some((3, 7)));
    }

    #[test]
    fn header_and_directive_only_at_line_start() {
        assert_eq!(
            kinds("--mtu=1500 // c\n#ifdef X\n"),
            [
                Tok::Header { name: "mtu".into(), value: Some("1500".into()) },
                Tok::Newline,
                Tok::Directive { name: "ifdef".into(), arg: "X".into() },
                Tok::Newline,
                Tok::Eof
            ]
        );
        assert_eq!(kinds("a --")[1], Tok::Punct('-'));
    }

    #[test]
    fn multiline_shell_records_end_line() {
        let toks = tokenize("`a\nb`\n").unwrap_or_default();
        assert_eq!(toks.first().map(|t| (t.line, t.end_line)), Some((1, 2)));
        assert_eq!(toks.first().map(|t| t.tok.clone()), Some(Tok::Shell("a\nb".into())));
    }

    #[test]
    fn unterminated_constructs_report_their_start() {
        let e = tokenize("x\n  %{ assert 1\n").err();
        assert_eq!(e.map(|e| (e.line, e.col, e.kind)), Some((2, 3, ErrorKind::UnterminatedPython)));
        let e = tokenize("f(\"abc\n").err();
        assert_eq!(e.map(|e| (e.line, e.col, e.kind)), Some((1, 3, ErrorKind::UnterminatedString)));
    }
}
