//! Lexer and hand-written recursive-descent parser for dice expressions.

use super::{
    BinOp, DiceError, DiceTerm, MAX_DEPTH, MAX_DICE, MAX_INPUT_CHARS, MAX_SIDES, Node, Op, Sel,
    SetTerm, UnOp,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// `None` when the digits do not fit an `i64`.
    Num(Option<i64>),
    D,
    Percent,
    Plus,
    Minus,
    Star,
    Slash,
    SlashSlash,
    LParen,
    RParen,
    Comma,
    Lt,
    Gt,
    Le,
    Ge,
    EqEq,
    Ne,
    K,
    P,
    H,
    L,
    E,
    Rr,
    Ro,
    Ra,
    Mi,
    Ma,
    Adv,
    Dis,
    Annot(String),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based character position.
    pos: usize,
    /// The source text, as typed.
    text: String,
}

type R<T> = Result<T, DiceError>;

/// Parses `src` into a syntax tree, enforcing every static limit.
pub(super) fn parse(src: &str) -> R<Node> {
    parse_limited(src, MAX_INPUT_CHARS)
}

/// How much longer the normalised text of an expression can be than what was typed
/// (`1+1` → `1 + 1`, `d%` → `1d100`, `adv` → `2d20kh1`): at most 3 times.
pub(super) const NORMALISED_GROWTH: usize = 3;

/// [`parse`] with another input limit: the normalised text of an accepted expression
/// (its serialised form) may be longer than [`MAX_INPUT_CHARS`] and must parse back.
pub(super) fn parse_limited(src: &str, max_chars: usize) -> R<Node> {
    // Cheap rejection first: more than 4 bytes a character is impossible.
    if src.len() > max_chars * 4 || src.chars().count() > max_chars {
        return Err(DiceError::TooLong {
            max: MAX_INPUT_CHARS,
        });
    }
    let toks = lex(src)?;
    if toks.len() == 1 {
        return Err(DiceError::Empty);
    }
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let root = p.parse_top()?;
    let expr = super::Expr { root };
    let count = expr.dice_count();
    if count > MAX_DICE {
        return Err(DiceError::TooManyDice {
            detail: format!("{count} in total"),
            max: MAX_DICE,
        });
    }
    Ok(expr.root)
}

fn lex(src: &str) -> R<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let next = chars.get(i + 1).copied();
        let tok = match c {
            '0'..='9' => {
                let mut v: Option<i64> = Some(0);
                while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                    v = v
                        .and_then(|v| v.checked_mul(10))
                        .and_then(|v| v.checked_add(i64::from(d)));
                    i += 1;
                }
                Tok::Num(v)
            }
            '[' => {
                let Some(len) = chars[i + 1..].iter().position(|&c| c == ']') else {
                    return Err(DiceError::Invalid(format!(
                        "The `[` at position {} is never closed with `]`",
                        i + 1
                    )));
                };
                let raw: String = chars[i + 1..i + 1 + len].iter().collect();
                i += len + 2;
                // One line, no code-span breakers.
                let text = raw
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .replace('`', "'");
                Tok::Annot(text)
            }
            '+' => single(&mut i, Tok::Plus),
            '-' => single(&mut i, Tok::Minus),
            '*' => single(&mut i, Tok::Star),
            '%' => single(&mut i, Tok::Percent),
            '(' => single(&mut i, Tok::LParen),
            ')' => single(&mut i, Tok::RParen),
            ',' => single(&mut i, Tok::Comma),
            '/' if next == Some('/') => double(&mut i, Tok::SlashSlash),
            '/' => single(&mut i, Tok::Slash),
            '<' if next == Some('=') => double(&mut i, Tok::Le),
            '<' => single(&mut i, Tok::Lt),
            '>' if next == Some('=') => double(&mut i, Tok::Ge),
            '>' => single(&mut i, Tok::Gt),
            '=' if next == Some('=') => double(&mut i, Tok::EqEq),
            '!' if next == Some('=') => double(&mut i, Tok::Ne),
            '=' => {
                return Err(DiceError::Invalid(format!(
                    "Unexpected `=` at position {} (compare with `==`)",
                    i + 1
                )));
            }
            c if c.is_ascii_alphabetic() => {
                let word = |w: &str| {
                    w.chars().enumerate().all(|(k, wc)| {
                        chars
                            .get(i + k)
                            .is_some_and(|c| c.to_ascii_lowercase() == wc)
                    })
                };
                let (tok, len) = if word("adv") {
                    (Tok::Adv, 3)
                } else if word("dis") {
                    (Tok::Dis, 3)
                } else if word("rr") {
                    (Tok::Rr, 2)
                } else if word("ro") {
                    (Tok::Ro, 2)
                } else if word("ra") {
                    (Tok::Ra, 2)
                } else if word("mi") {
                    (Tok::Mi, 2)
                } else if word("ma") {
                    (Tok::Ma, 2)
                } else {
                    match c.to_ascii_lowercase() {
                        'd' => (Tok::D, 1),
                        'k' => (Tok::K, 1),
                        'p' => (Tok::P, 1),
                        'h' => (Tok::H, 1),
                        'l' => (Tok::L, 1),
                        'e' => (Tok::E, 1),
                        _ => {
                            // Report the whole word (`dex`, not `x`).
                            let mut from = i;
                            while from > 0 && chars[from - 1].is_ascii_alphabetic() {
                                from -= 1;
                            }
                            let word: String = chars[from..]
                                .iter()
                                .take_while(|c| c.is_alphanumeric())
                                .collect();
                            return Err(DiceError::Unexpected {
                                found: word,
                                pos: from + 1,
                            });
                        }
                    }
                };
                i += len;
                tok
            }
            other => {
                return Err(DiceError::Unexpected {
                    found: other.escape_debug().to_string(),
                    pos: i + 1,
                });
            }
        };
        out.push(Token {
            tok,
            pos: start + 1,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: chars.len() + 1,
        text: String::new(),
    });
    Ok(out)
}

fn single(i: &mut usize, t: Tok) -> Tok {
    *i += 1;
    t
}

fn double(i: &mut usize, t: Tok) -> Tok {
    *i += 2;
    t
}

struct Parser {
    /// Always ends with `Tok::Eof`.
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn tok(&self) -> &Token {
        &self.toks[self.i]
    }

    fn peek(&self) -> &Tok {
        &self.tok().tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> DiceError {
        let t = self.tok();
        if t.tok == Tok::Eof {
            DiceError::UnexpectedEnd {
                expected: expected.to_string(),
            }
        } else if matches!(t.tok, Tok::Adv | Tok::Dis) {
            let name = t.text.to_ascii_lowercase();
            DiceError::Invalid(format!(
                "Unexpected `{name}` at position {}: it goes right after a `1d20` \
                 (`1d20{name}+5`) or at the start or end of the whole roll",
                t.pos
            ))
        } else {
            DiceError::Unexpected {
                found: t.text.clone(),
                pos: t.pos,
            }
        }
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DiceError::TooDeep { max: MAX_DEPTH });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn parse_top(&mut self) -> R<Node> {
        let mut mode = None;
        if matches!(self.peek(), Tok::Adv | Tok::Dis)
            && matches!(
                self.peek_at(1),
                Tok::Num(_) | Tok::D | Tok::LParen | Tok::Adv | Tok::Dis
            )
        {
            mode = Some(self.bump());
        }
        let mut node = self.parse_comparison()?;
        if mode.is_none() && matches!(self.peek(), Tok::Adv | Tok::Dis) {
            mode = Some(self.bump());
        }
        if *self.peek() != Tok::Eof {
            return Err(self.unexpected("nothing more"));
        }
        if let Some(m) = mode {
            apply_mode(&mut node, m.tok == Tok::Adv)?;
        }
        Ok(node)
    }

    fn parse_comparison(&mut self) -> R<Node> {
        let mut left = self.parse_sum()?;
        loop {
            let op = match self.peek() {
                Tok::EqEq => BinOp::Eq,
                Tok::Ne => BinOp::Ne,
                Tok::Lt => BinOp::Lt,
                Tok::Gt => BinOp::Gt,
                Tok::Le => BinOp::Le,
                Tok::Ge => BinOp::Ge,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.parse_sum()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_sum(&mut self) -> R<Node> {
        let mut left = self.parse_product()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.parse_product()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_product(&mut self) -> R<Node> {
        let mut left = self.parse_unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::SlashSlash => BinOp::FloorDiv,
                Tok::Percent => BinOp::Mod,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.parse_unary()?;
            left = Node::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_unary(&mut self) -> R<Node> {
        let op = match self.peek() {
            Tok::Minus => UnOp::Neg,
            Tok::Plus => UnOp::Pos,
            _ => return self.parse_term(),
        };
        self.bump();
        self.enter()?;
        let inner = self.parse_unary()?;
        self.leave();
        Ok(Node::Unary(op, Box::new(inner)))
    }

    fn parse_term(&mut self) -> R<Node> {
        let mut node = self.parse_atom()?;
        while let Tok::Annot(text) = self.peek() {
            node = Node::Annotated(Box::new(node), text.clone());
            self.bump();
        }
        Ok(node)
    }

    fn parse_atom(&mut self) -> R<Node> {
        match *self.peek() {
            Tok::Num(v) => {
                let t = self.bump();
                if *self.peek() == Tok::D {
                    self.parse_dice(v, &t.text)
                } else {
                    v.map(Node::Num).ok_or(DiceError::NumberTooLarge(t.text))
                }
            }
            Tok::D => self.parse_dice(Some(1), ""),
            Tok::Adv | Tok::Dis => {
                let high = self.bump().tok == Tok::Adv;
                Ok(Node::Dice(DiceTerm {
                    count: 2,
                    sides: 20,
                    ops: vec![Op::Keep(if high { Sel::High(1) } else { Sel::Low(1) })],
                }))
            }
            Tok::LParen => self.parse_group(),
            _ => Err(self.unexpected("a number or dice")),
        }
    }

    /// At the `d` of a dice term; `count` was already consumed.
    fn parse_dice(&mut self, count: Option<i64>, count_text: &str) -> R<Node> {
        self.bump(); // d
        let sides_tok = self.tok().clone();
        let sides = match sides_tok.tok {
            Tok::Num(v) => v,
            Tok::Percent => Some(100),
            Tok::Eof => {
                return Err(DiceError::UnexpectedEnd {
                    expected: "the number of sides after `d`".into(),
                });
            }
            _ => {
                return Err(DiceError::Invalid(format!(
                    "Expected the number of sides after `d`, found {} at position {}",
                    super::code(&sides_tok.text),
                    sides_tok.pos
                )));
            }
        };
        self.bump();
        let term = format!("{count_text}d{}", sides_tok.text);
        let count = match count.and_then(|c| u32::try_from(c).ok()) {
            Some(c) if c <= MAX_DICE => c,
            _ => {
                return Err(DiceError::TooManyDice {
                    detail: super::code(&term),
                    max: MAX_DICE,
                });
            }
        };
        let sides = match sides.and_then(|s| u32::try_from(s).ok()) {
            Some(0) => return Err(DiceError::ZeroSides(term)),
            Some(s) if s <= MAX_SIDES => s,
            _ => {
                return Err(DiceError::TooManySides {
                    term,
                    max: MAX_SIDES,
                });
            }
        };
        let mut t = DiceTerm {
            count,
            sides,
            ops: Vec::new(),
        };
        loop {
            let op = match self.peek() {
                Tok::K => Op::Keep(self.parse_selector(false)?),
                Tok::P => Op::Drop(self.parse_selector(false)?),
                Tok::Rr => Op::Reroll(self.parse_selector(true)?),
                Tok::Ro => Op::RerollOnce(self.parse_selector(false)?),
                Tok::Ra => Op::RerollAdd(self.parse_selector(false)?),
                Tok::E => Op::Explode(self.parse_selector(true)?),
                Tok::Mi | Tok::Ma => {
                    let op = self.bump();
                    let n = self.parse_number(&op)?;
                    let n = match u32::try_from(n) {
                        Ok(n) if n <= MAX_SIDES => n,
                        _ => {
                            return Err(DiceError::Invalid(format!(
                                "{} can be at most {MAX_SIDES} (position {})",
                                super::code(&op.text.to_ascii_lowercase()),
                                op.pos
                            )));
                        }
                    };
                    if op.tok == Tok::Mi {
                        Op::Min(n)
                    } else {
                        Op::Max(n)
                    }
                }
                _ => break,
            };
            // A run of the same operator is one operation with the union of the
            // selectors (d20): `1d6rr<4rr>3` would never stop either.
            if let Op::Reroll(sel) | Op::Explode(sel) = op
                && super::covers_every_face(
                    &t.ops
                        .iter()
                        .rev()
                        .take_while(|o| o.same_kind(op))
                        .filter_map(|o| o.sel())
                        .chain([sel])
                        .collect::<Vec<_>>(),
                    sides,
                )
            {
                let run = t.ops.iter().rev().take_while(|o| o.same_kind(op)).count();
                let mut ops: String = t.ops[t.ops.len() - run..]
                    .iter()
                    .map(|o| o.to_string())
                    .collect();
                ops.push_str(&op.to_string());
                return Err(DiceError::Unbounded {
                    term: format!("{t}{op}"),
                    op: ops,
                    sides,
                });
            }
            t.ops.push(op);
        }
        // Postfix `adv`/`dis` on a single d20; anything else is left for the
        // whole-expression form (`1d20 + 1d6 adv`).
        if matches!(self.peek(), Tok::Adv | Tok::Dis) && t.count == 1 && t.sides == 20 {
            let high = self.bump().tok == Tok::Adv;
            add_mode(&mut t, high);
        }
        Ok(Node::Dice(t))
    }

    /// At an operator token (`k`, `rr`, ...): consumes it and its selector.
    fn parse_selector(&mut self, value_only: bool) -> R<Sel> {
        let op = self.bump();
        let name = op.text.to_ascii_lowercase();
        let bad = |found: &Token| {
            let what = if found.tok == Tok::Eof {
                "nothing".to_string()
            } else {
                format!("{} at position {}", super::code(&found.text), found.pos)
            };
            let examples = if value_only {
                format!("`{name}1`, `{name}<3` or `{name}>5`")
            } else {
                format!("`{name}h1`, `{name}l1`, `{name}<3`, `{name}>5` or `{name}6`")
            };
            DiceError::Invalid(format!(
                "`{name}` needs a selector such as {examples}, found {what}"
            ))
        };
        let sel = match self.peek() {
            Tok::H | Tok::L if value_only => return Err(bad(self.tok())),
            Tok::H | Tok::L | Tok::Lt | Tok::Gt => {
                let sel = self.bump();
                // Name the whole operator in messages: `kh`, `p<`.
                let label = Token {
                    text: format!("{name}{}", sel.text.to_ascii_lowercase()),
                    ..op.clone()
                };
                let n = self.parse_number(&label)?;
                match sel.tok {
                    Tok::H => Sel::High(n),
                    Tok::L => Sel::Low(n),
                    Tok::Lt => Sel::Lt(n),
                    _ => Sel::Gt(n),
                }
            }
            Tok::Num(_) => Sel::Eq(self.parse_number(&op)?),
            _ => return Err(bad(self.tok())),
        };
        Ok(sel)
    }

    /// A non-negative number belonging to operator `op`.
    fn parse_number(&mut self, op: &Token) -> R<i64> {
        match self.peek() {
            Tok::Num(Some(n)) => {
                let n = *n;
                self.bump();
                Ok(n)
            }
            Tok::Num(None) => Err(DiceError::NumberTooLarge(self.tok().text.clone())),
            _ => {
                let t = self.tok();
                let found = if t.tok == Tok::Eof {
                    "nothing".to_string()
                } else {
                    format!("{} at position {}", super::code(&t.text), t.pos)
                };
                Err(DiceError::Invalid(format!(
                    "Expected a number after {} at position {}, found {found}",
                    super::code(&op.text.to_ascii_lowercase()),
                    op.pos
                )))
            }
        }
    }

    /// At `(`: a parenthesis or a set.
    fn parse_group(&mut self) -> R<Node> {
        let open = self.bump();
        self.enter()?;
        if *self.peek() == Tok::RParen {
            return Err(DiceError::Invalid(format!(
                "Empty brackets at position {}",
                open.pos
            )));
        }
        let first = self.parse_comparison()?;
        if *self.peek() != Tok::Comma {
            self.expect_close()?;
            self.leave();
            // As in d20, `(1d20)kh1` and `((10d6kh5)kl2)kh1` work on what is inside.
            if is_op(self.peek()) {
                let ops = self.parse_set_ops()?;
                return Ok(Node::OpParen(Box::new(first), ops));
            }
            return Ok(Node::Paren(Box::new(first)));
        }
        let mut items = vec![first];
        while *self.peek() == Tok::Comma {
            self.bump();
            if *self.peek() == Tok::RParen {
                break;
            }
            items.push(self.parse_comparison()?);
        }
        self.expect_close()?;
        self.leave();
        let ops = self.parse_set_ops()?;
        Ok(Node::Set(SetTerm { items, ops }))
    }

    /// `k` and `p` operators after a set or a parenthesis.
    fn parse_set_ops(&mut self) -> R<Vec<Op>> {
        let mut ops = Vec::new();
        loop {
            match self.peek() {
                Tok::K => ops.push(Op::Keep(self.parse_selector(false)?)),
                Tok::P => ops.push(Op::Drop(self.parse_selector(false)?)),
                t if is_op(t) => {
                    let t = self.tok();
                    return Err(DiceError::Invalid(format!(
                        "{} works on dice, not on sets (position {}); sets take `k` and `p`",
                        super::code(&t.text.to_ascii_lowercase()),
                        t.pos
                    )));
                }
                _ => break,
            }
        }
        Ok(ops)
    }

    fn expect_close(&mut self) -> R<()> {
        if *self.peek() == Tok::RParen {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected("a closing `)`"))
        }
    }
}

fn is_op(t: &Tok) -> bool {
    matches!(
        t,
        Tok::K | Tok::P | Tok::Rr | Tok::Ro | Tok::Ra | Tok::E | Tok::Mi | Tok::Ma
    )
}

fn add_mode(t: &mut DiceTerm, high: bool) {
    t.count = 2;
    t.ops
        .push(Op::Keep(if high { Sel::High(1) } else { Sel::Low(1) }));
}

/// Applies a whole-expression `adv`/`dis` to the first d20 term.
pub(super) fn apply_mode(node: &mut Node, high: bool) -> R<()> {
    fn first_d20(node: &mut Node) -> Option<&mut DiceTerm> {
        match node {
            Node::Num(_) => None,
            Node::Dice(t) => (t.sides == 20).then_some(t),
            Node::Paren(x) | Node::OpParen(x, _) | Node::Unary(_, x) | Node::Annotated(x, _) => {
                first_d20(x)
            }
            Node::Set(s) => s.items.iter_mut().find_map(first_d20),
            Node::Binary(_, l, r) => match first_d20(l) {
                Some(t) => Some(t),
                None => first_d20(r),
            },
        }
    }
    let name = if high { "adv" } else { "dis" };
    match first_d20(node) {
        None => Err(DiceError::Invalid(format!(
            "`{name}` needs a d20 roll to apply to, like `1d20+5 {name}`"
        ))),
        Some(t) if t.count != 1 => Err(DiceError::Invalid(format!(
            "`{name}` applies to a single d20, but the first d20 here is `{t}`"
        ))),
        Some(t) => {
            add_mode(t, high);
            Ok(())
        }
    }
}
