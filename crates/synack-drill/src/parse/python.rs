//! Recognises `assert tcpi_* OP expr [and ...]` statements in python blocks.
//!
//! This is not a python parser: anything it does not fully understand is
//! kept as [`PyStmt::Raw`], so recognition never fails.

use crate::ast::{CmpOp, PyBinOp, PyComparison, PyExpr, PyStmt, StateValue, TcpState};

/// Splits a block into statements and recognises the assertions.
pub(super) fn recognize(raw: &str) -> Vec<PyStmt> {
    let lines: Vec<&str> = raw.lines().filter(|l| !l.trim().is_empty()).collect();
    let indent = |l: &&str| l.len() - l.trim_start().len();
    let first_indent = lines.first().map(indent);
    let compound = lines.iter().any(|l| {
        let t = l.trim_end();
        t.ends_with(':') || t.ends_with('\\') || Some(indent(l)) != first_indent
    });
    if compound {
        return vec![PyStmt::Raw(raw.trim().to_owned())];
    }
    let mut out = Vec::new();
    for line in lines {
        let parts: Vec<&str> =
            if line.contains(['"', '\'', '#']) { vec![line] } else { line.split(';').collect() };
        for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            out.push(assertion(part).map_or_else(|| PyStmt::Raw(part.to_owned()), PyStmt::Assert));
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PyTok {
    Int(i64),
    Name(String),
    Cmp(CmpOp),
    Bin(PyBinOp),
    LParen,
    RParen,
}

fn tokens(s: &str) -> Option<Vec<PyTok>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while let Some(&c) = b.get(i) {
        let two = s.get(i..i + 2).unwrap_or("");
        let (tok, len) = match (c, two) {
            (_, "==") => (PyTok::Cmp(CmpOp::Eq), 2),
            (_, "!=") => (PyTok::Cmp(CmpOp::Ne), 2),
            (_, "<=") => (PyTok::Cmp(CmpOp::Le), 2),
            (_, ">=") => (PyTok::Cmp(CmpOp::Ge), 2),
            (_, "//") => (PyTok::Bin(PyBinOp::FloorDiv), 2),
            (b'<', _) => (PyTok::Cmp(CmpOp::Lt), 1),
            (b'>', _) => (PyTok::Cmp(CmpOp::Gt), 1),
            (b'|', _) => (PyTok::Bin(PyBinOp::BitOr), 1),
            (b'&', _) => (PyTok::Bin(PyBinOp::BitAnd), 1),
            (b'+', _) => (PyTok::Bin(PyBinOp::Add), 1),
            (b'-', _) => (PyTok::Bin(PyBinOp::Sub), 1),
            (b'*', _) => (PyTok::Bin(PyBinOp::Mul), 1),
            (b'(', _) => (PyTok::LParen, 1),
            (b')', _) => (PyTok::RParen, 1),
            (c, _) if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            (c, _) if c.is_ascii_digit() => {
                let len = b[i..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
                let text = s.get(i..i + len)?;
                let v = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                    Some(hex) => i64::from_str_radix(hex, 16).ok()?,
                    None => text.parse().ok()?,
                };
                (PyTok::Int(v), len)
            }
            (c, _) if c.is_ascii_alphabetic() || c == b'_' => {
                let len = b[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
                (PyTok::Name(s.get(i..i + len)?.to_owned()), len)
            }
            _ => return None,
        };
        out.push(tok);
        i += len;
    }
    Some(out)
}

struct Cursor {
    toks: Vec<PyTok>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<&PyTok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<PyTok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat_name(&mut self, name: &str) -> bool {
        let hit = matches!(self.peek(), Some(PyTok::Name(n)) if n == name);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Binary expression with precedence climbing; `min` is the lowest
    /// precedence accepted.
    fn expr(&mut self, min: u8, depth: u32) -> Option<PyExpr> {
        if depth > 64 {
            return None;
        }
        let mut lhs = self.atom(depth)?;
        while let Some(PyTok::Bin(op)) = self.peek() {
            let op = *op;
            let prec = precedence(op);
            if prec < min {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(prec + 1, depth + 1)?;
            lhs = PyExpr::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) };
        }
        Some(lhs)
    }

    fn atom(&mut self, depth: u32) -> Option<PyExpr> {
        match self.next()? {
            PyTok::Int(v) => Some(PyExpr::Int(v)),
            PyTok::Name(n) if !is_keyword(&n) => Some(PyExpr::Name(n)),
            PyTok::Bin(PyBinOp::Sub) => match self.next()? {
                PyTok::Int(v) => Some(PyExpr::Int(v.checked_neg()?)),
                _ => None,
            },
            PyTok::LParen => {
                let e = self.expr(0, depth + 1)?;
                matches!(self.next()?, PyTok::RParen).then_some(e)
            }
            _ => None,
        }
    }
}

fn precedence(op: PyBinOp) -> u8 {
    match op {
        PyBinOp::BitOr => 0,
        PyBinOp::BitAnd => 1,
        PyBinOp::Add | PyBinOp::Sub => 2,
        PyBinOp::Mul | PyBinOp::FloorDiv => 3,
    }
}

fn is_keyword(name: &str) -> bool {
    matches!(name, "and" | "or" | "not" | "in" | "is" | "assert" | "if" | "else" | "lambda")
}

/// `assert tcpi_x OP expr [and tcpi_y OP expr ...]`
fn assertion(stmt: &str) -> Option<Vec<PyComparison>> {
    let mut cur = Cursor { toks: tokens(stmt)?, pos: 0 };
    if !cur.eat_name("assert") {
        return None;
    }
    let mut cmps = Vec::new();
    loop {
        let field = match cur.next()? {
            PyTok::Name(n) if n.starts_with("tcpi_") => n,
            _ => return None,
        };
        let op = match cur.next()? {
            PyTok::Cmp(op) => op,
            _ => return None,
        };
        let value = cur.expr(0, 0)?;
        cmps.push(comparison(field, op, value));
        if cur.peek().is_none() {
            return Some(cmps);
        }
        if !cur.eat_name("and") {
            return None;
        }
    }
}

fn comparison(field: String, op: CmpOp, value: PyExpr) -> PyComparison {
    if field == "tcpi_state" {
        let state = match &value {
            PyExpr::Int(n) => Some(StateValue::Number(*n)),
            PyExpr::Name(name) => Some(
                TcpState::from_tcpi_name(name)
                    .map_or_else(|| StateValue::Other(name.clone()), StateValue::Named),
            ),
            PyExpr::Binary { .. } => None,
        };
        if let Some(state) = state {
            return PyComparison::State { op, state };
        }
    }
    PyComparison::Field { field, op, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_assertion_is_typed() {
        let got = recognize(" assert tcpi_state == TCPI_SYN_RECEIVED ");
        let want = PyComparison::State { op: CmpOp::Eq, state: StateValue::Named(TcpState::SynReceived) };
        assert_eq!(got, vec![PyStmt::Assert(vec![want])]);
    }

    #[test]
    fn conjunction_and_arithmetic() {
        let got = recognize("assert tcpi_rcv_rtt >= 95*1000 and tcpi_rcv_rtt <= 105*1000");
        let PyStmt::Assert(cmps) = &got[0] else { panic!("not recognised: {got:?}") };
        assert_eq!(cmps.len(), 2);
        let PyComparison::Field { op, value, .. } = &cmps[1] else { panic!("{cmps:?}") };
        assert_eq!(*op, CmpOp::Le);
        assert_eq!(value.eval(&|_| None), Some(105_000));
    }

    #[test]
    fn flags_expression_evaluates_with_lookup() {
        let got = recognize("assert tcpi_options == (TCPI_OPT_SACK | TCPI_OPT_WSCALE)");
        let PyStmt::Assert(cmps) = &got[0] else { panic!("{got:?}") };
        let PyComparison::Field { value, .. } = &cmps[0] else { panic!("{cmps:?}") };
        let lookup = |n: &str| match n {
            "TCPI_OPT_SACK" => Some(2),
            "TCPI_OPT_WSCALE" => Some(4),
            _ => None,
        };
        assert_eq!(value.eval(&lookup), Some(6));
    }

    #[test]
    fn semicolons_split_statements_and_other_code_stays_raw() {
        let got = recognize("assert tcpi_advmss == 1100; x = 3");
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], PyStmt::Assert(_)));
        assert_eq!(got[1], PyStmt::Raw("x = 3".into()));
    }

    #[test]
    fn compound_blocks_stay_raw() {
        let src = "\nif tcpi_state == 1:\n    assert tcpi_rto == 3\n";
        assert_eq!(recognize(src), vec![PyStmt::Raw(src.trim().into())]);
    }

    #[test]
    fn malformed_assertions_stay_raw() {
        for s in ["assert tcpi_rto ==", "assert foo == 1", "assert tcpi_rto == 1 or 2", "assert ((("] {
            assert_eq!(recognize(s), vec![PyStmt::Raw(s.into())], "{s}");
        }
    }
}
