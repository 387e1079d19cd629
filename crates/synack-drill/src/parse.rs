//! Recursive-descent parser from tokens to [`Script`].
//!
//! The language is line-oriented: an event ends at the end of its line,
//! except inside `(...)`, `[...]` and `{...}` of system-call arguments
//! (which may span lines) and inside multi-line shell/python tokens.

mod lexer;
mod packet;
mod python;

use crate::ast::{
    Event, EventKind, Expr, Guard, PythonBlock, Script, ScriptOption, ShellCmd, SyscallReturn, SyscallSpec,
    TimePoint, TimeSpec,
};
use crate::error::{ErrorKind, ParseError};
use lexer::{Tok, Token};

/// Parses a whole script.
pub(crate) fn parse_script(src: &str) -> Result<Script, ParseError> {
    let toks = lexer::tokenize(src)?;
    Parser { src, toks, pos: 0, open: Vec::new(), last_end_line: 1 }.script()
}

/// How deeply `(`, `[` and `{` may nest in expressions (bounds recursion).
const MAX_NESTING: usize = 64;

/// One open `#ifdef`-style conditional.
struct OpenGuard {
    guard: Guard,
    line: u32,
    col: u32,
    seen_else: bool,
}

pub(super) struct Parser<'a> {
    src: &'a str,
    /// Always ends with [`Tok::Eof`].
    toks: Vec<Token>,
    pos: usize,
    /// Open brackets (char, line, col) inside which newlines are skipped.
    open: Vec<(char, u32, u32)>,
    /// `end_line` of the last consumed token.
    last_end_line: u32,
}

impl<'a> Parser<'a> {
    // ----- token access -------------------------------------------------

    /// The current token; inside brackets, newlines are skipped.
    fn peek(&mut self) -> &Token {
        if !self.open.is_empty() {
            while self.toks.get(self.pos).is_some_and(|t| t.tok == Tok::Newline) {
                self.pos += 1;
            }
        }
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.pos.min(last)]
    }

    /// The token after the current one (no newline skipping).
    fn peek2(&mut self) -> Option<&Token> {
        self.peek();
        self.toks.get(self.pos + 1)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
            self.last_end_line = t.end_line;
        }
        t
    }

    fn text(&self, t: &Token) -> &'a str {
        self.src.get(t.start..t.end).unwrap_or("")
    }

    fn peek_is_punct(&mut self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn peek_is_word(&mut self, w: &str) -> bool {
        let t = self.peek().clone();
        t.tok == Tok::Ident && self.text(&t) == w
    }

    // ----- errors -------------------------------------------------------

    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Num | Tok::Ident => format!("`{}`", self.text(t)),
            Tok::Str(_) => "a string".into(),
            Tok::Ellipsis => "`...`".into(),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Shell(_) => "a backquoted command".into(),
            Tok::Python(_) => "a `%{ }%` block".into(),
            Tok::Header { .. } => "an option line".into(),
            Tok::Directive { name, .. } => format!("`#{name}`"),
            Tok::Newline => "end of line".into(),
            Tok::Eof => "end of file".into(),
        }
    }

    fn unexpected_at(&self, t: &Token, expected: &str) -> ParseError {
        let mut expected = expected.to_owned();
        if let Some(&(c, line, col)) = self.open.last() {
            if t.line > line {
                expected.push_str(&format!(" (inside the `{c}` opened at {line}:{col})"));
            }
        }
        let found = self.describe(t);
        ParseError::new(t.line, t.col, ErrorKind::Unexpected { expected, found })
    }

    fn unexpected(&mut self, expected: &str) -> ParseError {
        let t = self.peek().clone();
        self.unexpected_at(&t, expected)
    }

    fn expect_punct(&mut self, c: char) -> Result<Token, ParseError> {
        if self.peek_is_punct(c) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<Token, ParseError> {
        if self.peek_is_word(w) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&format!("`{w}`")))
        }
    }

    fn expect_ident(&mut self, what: &str) -> Result<Token, ParseError> {
        if self.peek().tok == Tok::Ident {
            Ok(self.bump())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// Opens a bracket: newlines are skipped until the matching close.
    fn open_bracket(&mut self, c: char) -> Result<(), ParseError> {
        let t = self.expect_punct(c)?;
        if self.open.len() >= MAX_NESTING {
            return Err(ParseError::new(t.line, t.col, ErrorKind::NestingTooDeep(MAX_NESTING)));
        }
        self.open.push((c, t.line, t.col));
        Ok(())
    }

    fn close_bracket(&mut self, c: char) -> Result<(), ParseError> {
        self.expect_punct(c)?;
        self.open.pop();
        Ok(())
    }

    // ----- numbers ------------------------------------------------------

    /// Reads a non-negative integer token (decimal or hex).
    fn number<T: TryFrom<u64>>(&mut self, what: &'static str) -> Result<T, ParseError> {
        let t = self.peek().clone();
        if t.tok != Tok::Num {
            return Err(self.unexpected_at(&t, &format!("a number ({what})")));
        }
        self.bump();
        let text = self.text(&t);
        let out_of_range = || {
            let kind = ErrorKind::NumberOutOfRange { what, text: text.to_owned() };
            ParseError::new(t.line, t.col, kind)
        };
        let value = parse_u64(text).ok_or_else(|| {
            if text.contains('.') {
                let expected = format!("an integer ({what})");
                let kind = ErrorKind::Unexpected { expected, found: format!("`{text}`") };
                ParseError::new(t.line, t.col, kind)
            } else {
                out_of_range()
            }
        })?;
        T::try_from(value).map_err(|_| out_of_range())
    }

    // ----- script and events -------------------------------------------

    fn script(mut self) -> Result<Script, ParseError> {
        let mut script = Script::default();
        let mut guards: Vec<OpenGuard> = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Eof => break,
                Tok::Newline => {
                    self.bump();
                }
                Tok::Header { name, value } => {
                    self.bump();
                    script.options.push(ScriptOption { line: t.line, name, value });
                }
                Tok::Directive { ref name, ref arg } => {
                    self.bump();
                    directive(&mut guards, &t, name, arg)?;
                }
                _ => {
                    let mut event = self.event()?;
                    event.guards = guards.iter().map(|g| g.guard.clone()).collect();
                    script.events.push(event);
                }
            }
        }
        if let Some(g) = guards.first() {
            let msg = format!("`#ifdef {}` is never closed by `#endif`", g.guard.symbol);
            return Err(ParseError::new(g.line, g.col, ErrorKind::UnbalancedDirective(msg)));
        }
        Ok(script)
    }

    fn event(&mut self) -> Result<Event, ParseError> {
        let first = self.peek().clone();
        let time = self.time()?;
        let kind = self.action()?;
        if matches!(time, TimeSpec::Blocking { .. }) && !matches!(kind, EventKind::Syscall(_)) {
            return Err(ParseError::new(first.line, first.col, ErrorKind::BlockingTimeNotSyscall));
        }
        let end_line = self.last_end_line;
        match self.peek().tok {
            Tok::Newline | Tok::Eof => {}
            _ => return Err(self.unexpected("end of line")),
        }
        Ok(Event { line: first.line, end_line, time, kind, guards: Vec::new() })
    }

    fn time(&mut self) -> Result<TimeSpec, ParseError> {
        match self.peek().tok {
            Tok::Shell(_) | Tok::Python(_) => return Ok(TimeSpec::Unspecified),
            Tok::Punct('*') => {
                self.bump();
                return Ok(TimeSpec::Wildcard);
            }
            Tok::Punct('+') | Tok::Num => {}
            _ => {
                return Err(
                    self.unexpected("an event time (`0.100`, `+0.1`, `*`), an option line or a comment")
                );
            }
        }
        let start = self.time_point()?;
        if self.peek_is_punct('~') {
            self.bump();
            let end = self.time_point()?;
            return Ok(TimeSpec::Range { start, end });
        }
        if self.peek().tok == Tok::Ellipsis {
            self.bump();
            let end = self.time_point()?;
            return Ok(TimeSpec::Blocking { start, end });
        }
        Ok(TimeSpec::At(start))
    }

    fn time_point(&mut self) -> Result<TimePoint, ParseError> {
        let relative = self.peek_is_punct('+');
        if relative {
            self.bump();
        }
        let t = self.peek().clone();
        if t.tok != Tok::Num {
            return Err(self.unexpected_at(&t, "a time in seconds (e.g. `0.100`)"));
        }
        self.bump();
        let text = self.text(&t);
        let usecs = parse_usecs(text)
            .ok_or_else(|| ParseError::new(t.line, t.col, ErrorKind::InvalidTime(text.into())))?;
        Ok(if relative { TimePoint::relative(usecs) } else { TimePoint::absolute(usecs) })
    }

    fn action(&mut self) -> Result<EventKind, ParseError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Punct('<' | '>') => Ok(EventKind::Packet(self.packet()?)),
            Tok::Shell(raw) => {
                self.bump();
                Ok(EventKind::Shell(ShellCmd { raw }))
            }
            Tok::Python(raw) => {
                self.bump();
                let statements = python::recognize(&raw);
                Ok(EventKind::Python(PythonBlock { raw, statements }))
            }
            Tok::Ident if self.peek2().is_some_and(|n| n.tok == Tok::Punct('(')) => {
                Ok(EventKind::Syscall(self.syscall()?))
            }
            Tok::Ident => {
                self.bump();
                Err(self.unexpected("`(` after the system call name"))
            }
            _ => Err(self
                .unexpected("a packet (`<` or `>`), a system call, a `%{ }%` block or a backquoted command")),
        }
    }

    // ----- system calls -------------------------------------------------

    fn syscall(&mut self) -> Result<SyscallSpec, ParseError> {
        let name_tok = self.expect_ident("a system call name")?;
        let name = self.text(&name_tok).to_owned();
        let args = self.expr_list('(', ')')?;
        self.expect_punct('=')
            .map_err(|_| self.unexpected(&format!("`=` and the expected result of `{name}`")))?;
        let value = self.expr()?;
        let errno = if self.peek().tok == Tok::Ident {
            let t = self.bump();
            Some(self.text(&t).to_owned())
        } else {
            None
        };
        let note = if self.peek_is_punct('(') { Some(self.raw_parenthesized()?) } else { None };
        Ok(SyscallSpec { name, args, ret: SyscallReturn { value, errno, note } })
    }

    /// `(free text)` on the current line; returns the trimmed inner text.
    fn raw_parenthesized(&mut self) -> Result<String, ParseError> {
        let open = self.bump();
        let mut depth = 1u32;
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Newline | Tok::Eof => {
                    let expected = format!("`)` closing the `(` at {}:{}", open.line, open.col);
                    return Err(self.unexpected_at(&t, &expected));
                }
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        self.bump();
                        let inner = self.src.get(open.end..t.start).unwrap_or("");
                        return Ok(inner.trim().to_owned());
                    }
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// `open expr, expr, ... close` (trailing comma allowed).
    fn expr_list(&mut self, open: char, close: char) -> Result<Vec<Expr>, ParseError> {
        self.open_bracket(open)?;
        let mut items = Vec::new();
        loop {
            if self.peek_is_punct(close) {
                break;
            }
            items.push(self.expr()?);
            if self.peek_is_punct(',') {
                self.bump();
            } else if !self.peek_is_punct(close) {
                return Err(self.unexpected(&format!("`,` or `{close}`")));
            }
        }
        self.close_bracket(close)?;
        Ok(items)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let first = self.unary()?;
        if !self.peek_is_punct('|') {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.peek_is_punct('|') {
            self.bump();
            terms.push(self.unary()?);
        }
        Ok(Expr::BitOr(terms))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if !self.peek_is_punct('-') {
            return self.primary();
        }
        self.bump();
        let t = self.peek().clone();
        if t.tok != Tok::Num {
            return Err(self.unexpected_at(&t, "a number after `-`"));
        }
        let magnitude: u64 = self.number("integer")?;
        let value = 0i64.checked_sub_unsigned(magnitude).ok_or_else(|| {
            let kind = ErrorKind::NumberOutOfRange { what: "integer", text: format!("-{}", self.text(&t)) };
            ParseError::new(t.line, t.col, kind)
        })?;
        Ok(Expr::Int(value))
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Num => Ok(Expr::Int(self.number("integer")?)),
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::Str(s))
            }
            Tok::Ellipsis => {
                self.bump();
                Ok(Expr::Ellipsis)
            }
            Tok::Punct('[') => Ok(Expr::Array(self.expr_list('[', ']')?)),
            Tok::Punct('{') => Ok(Expr::Struct(self.expr_list('{', '}')?)),
            Tok::Punct('(') => {
                self.open_bracket('(')?;
                let e = self.expr()?;
                self.close_bracket(')')?;
                Ok(e)
            }
            Tok::Ident => {
                self.bump();
                let name = self.text(&t).to_owned();
                if self.peek_is_punct('(') {
                    let args = self.expr_list('(', ')')?;
                    Ok(Expr::Call { name, args })
                } else if !self.open.is_empty() && self.peek_is_punct('=') {
                    self.bump();
                    Ok(Expr::Field { name, value: Box::new(self.expr()?) })
                } else {
                    Ok(Expr::Ident(name))
                }
            }
            _ => Err(self.unexpected_at(&t, "an expression")),
        }
    }
}

/// Applies one `#` directive to the stack of open conditionals.
fn directive(guards: &mut Vec<OpenGuard>, t: &Token, name: &str, arg: &str) -> Result<(), ParseError> {
    let unbalanced = |msg: String| ParseError::new(t.line, t.col, ErrorKind::UnbalancedDirective(msg));
    match name {
        "ifdef" | "ifndef" => {
            let symbol = arg.split_whitespace().next().unwrap_or("");
            if symbol.is_empty() || arg.split_whitespace().count() != 1 {
                let expected = format!("exactly one symbol after `#{name}`");
                let kind = ErrorKind::Unexpected { expected, found: format!("`{arg}`") };
                return Err(ParseError::new(t.line, t.col, kind));
            }
            let guard = Guard { symbol: symbol.to_owned(), when_defined: name == "ifdef" };
            guards.push(OpenGuard { guard, line: t.line, col: t.col, seen_else: false });
        }
        "else" => {
            let Some(top) = guards.last_mut() else {
                return Err(unbalanced("`#else` without `#ifdef`".into()));
            };
            if top.seen_else {
                return Err(unbalanced("second `#else` for the same `#ifdef`".into()));
            }
            top.seen_else = true;
            top.guard.when_defined = !top.guard.when_defined;
        }
        "endif" => {
            if guards.pop().is_none() {
                return Err(unbalanced("`#endif` without `#ifdef`".into()));
            }
        }
        other => {
            return Err(ParseError::new(t.line, t.col, ErrorKind::UnknownDirective(other.into())));
        }
    }
    Ok(())
}

/// Parses a decimal or `0x` hexadecimal integer.
fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Converts `seconds[.fraction]` (at most 6 decimals) to microseconds.
fn parse_usecs(text: &str) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || frac.len() > 6 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = int.parse().ok()?;
    let mut micros: u64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    for _ in frac.len()..6 {
        micros *= 10;
    }
    secs.checked_mul(1_000_000)?.checked_add(micros)
}
