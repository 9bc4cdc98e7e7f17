//! Rolling a parsed expression and writing its breakdown.

use super::{
    BinOp, Crit, DiceError, DiceTerm, Expr, MAX_BREAKDOWN_CHARS, MAX_DICE, Node, Op, Roll,
    RolledDie, Sel, SetTerm, UnOp,
};
use crate::dice::Dice;
use std::ops::Range;

type R<T> = Result<T, DiceError>;

/// Dice lists longer than this are elided in the middle of the breakdown.
const ELIDE_OVER: usize = 40;
const ELIDE_HEAD: usize = 20;
const ELIDE_TAIL: usize = 10;

pub(super) fn roll(expr: &Expr, dice: &mut dyn Dice) -> R<Roll> {
    let count = expr.dice_count();
    if count > MAX_DICE {
        return Err(DiceError::TooManyDice {
            detail: format!("{count} in total"),
            max: MAX_DICE,
        });
    }
    let mut ev = Evaluator {
        dice,
        rolled: 0,
        out: Vec::with_capacity(count as usize),
        terms: Vec::new(),
    };
    let (total, text) = ev.eval(&expr.root)?;
    let crit = ev.crit();
    Ok(Roll {
        expr: expr.to_string(),
        total,
        breakdown: finish_breakdown(text, total),
        crit,
        dice: ev.out,
    })
}

/// Floor division (rounds toward negative infinity); `None` on division by zero or
/// overflow.
pub(super) fn floor_div(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    let r = a.checked_rem(b)?;
    if r != 0 && ((r < 0) != (b < 0)) {
        Some(q - 1)
    } else {
        Some(q)
    }
}

/// Modulo matching [`floor_div`]: the result takes the divisor's sign.
pub(super) fn floor_mod(a: i64, b: i64) -> Option<i64> {
    if b == -1 {
        return Some(0);
    }
    let r = a.checked_rem(b)?;
    if r != 0 && ((r < 0) != (b < 0)) {
        Some(r + b)
    } else {
        Some(r)
    }
}

/// One dice term as rolled: where its dice sit in `out`.
struct TermRecord {
    sides: u32,
    dice: Range<usize>,
    /// Inside a set element that the set dropped.
    discarded: bool,
}

struct Evaluator<'d> {
    dice: &'d mut dyn Dice,
    rolled: u32,
    out: Vec<RolledDie>,
    terms: Vec<TermRecord>,
}

#[derive(Debug, Clone, Copy)]
struct Face {
    value: u32,
    /// The value as rolled, when `mi`/`ma` changed it.
    orig: Option<u32>,
    kept: bool,
    exploded: bool,
}

impl Face {
    fn new(value: u32) -> Face {
        Face {
            value,
            orig: None,
            kept: true,
            exploded: false,
        }
    }

    fn render(&self, out: &mut String) {
        use std::fmt::Write;
        if !self.kept {
            out.push_str("~~");
        }
        if let Some(o) = self.orig {
            let _ = write!(out, "{o} -> ");
        }
        let _ = write!(out, "{}", self.value);
        if self.exploded {
            out.push('!');
        }
        if !self.kept {
            out.push_str("~~");
        }
    }
}

/// Indices (into `candidates`' first elements) chosen by `sel` among the active
/// `(index, value)` pairs.
fn select(candidates: &[(usize, i64)], sel: Sel) -> Vec<usize> {
    match sel {
        Sel::High(n) | Sel::Low(n) => {
            let mut v = candidates.to_vec();
            if matches!(sel, Sel::High(_)) {
                v.sort_by_key(|c| std::cmp::Reverse(c.1));
            } else {
                v.sort_by_key(|c| c.1);
            }
            v.truncate(usize::try_from(n).unwrap_or(usize::MAX));
            v.into_iter().map(|(i, _)| i).collect()
        }
        _ => candidates
            .iter()
            .filter(|(_, v)| sel.matches(*v))
            .map(|(i, _)| *i)
            .collect(),
    }
}

/// The union of what each selector chooses, in index order without repeats.
fn select_union(candidates: &[(usize, i64)], sels: &[Sel]) -> Vec<usize> {
    let mut out: Vec<usize> = sels.iter().flat_map(|s| select(candidates, *s)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn sels_of(group: &[Op]) -> Vec<Sel> {
    group.iter().filter_map(|o| o.sel()).collect()
}

fn group_text(group: &[Op]) -> String {
    group.iter().map(|o| o.to_string()).collect()
}

fn kept_faces(faces: &[Face]) -> Vec<(usize, i64)> {
    faces
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kept)
        .map(|(i, f)| (i, i64::from(f.value)))
        .collect()
}

impl Evaluator<'_> {
    fn roll_one(&mut self, sides: u32) -> R<Face> {
        if self.rolled >= MAX_DICE {
            return Err(DiceError::TooManyRolls { max: MAX_DICE });
        }
        self.rolled += 1;
        // Defensive clamp: a `Dice` must return 1..=sides, but never trust it to.
        Ok(Face::new(self.dice.roll(sides).clamp(1, sides.max(1))))
    }

    fn eval(&mut self, node: &Node) -> R<(i64, String)> {
        match node {
            Node::Num(n) => Ok((*n, n.to_string())),
            Node::Dice(t) => self.roll_term(t, &[]),
            Node::Paren(x) => {
                let (v, s) = self.eval(x)?;
                Ok((v, format!("({s})")))
            }
            Node::OpParen(x, ops) => self.eval_op_paren(x, ops, &[]),
            Node::Set(s) => self.eval_set(s, &[]),
            Node::Unary(op, x) => {
                let (v, s) = self.eval(x)?;
                match op {
                    UnOp::Neg => Ok((v.checked_neg().ok_or(DiceError::Overflow)?, format!("-{s}"))),
                    UnOp::Pos => Ok((v, format!("+{s}"))),
                }
            }
            Node::Annotated(x, text) => {
                let (v, s) = self.eval(x)?;
                Ok((v, format!("{s} [{text}]")))
            }
            Node::Binary(op, l, r) => {
                let (a, ls) = self.eval(l)?;
                let (b, rs) = self.eval(r)?;
                let v = match op {
                    BinOp::Add => a.checked_add(b).ok_or(DiceError::Overflow)?,
                    BinOp::Sub => a.checked_sub(b).ok_or(DiceError::Overflow)?,
                    BinOp::Mul => a.checked_mul(b).ok_or(DiceError::Overflow)?,
                    BinOp::Div | BinOp::FloorDiv | BinOp::Mod => {
                        if b == 0 {
                            return Err(DiceError::DivisionByZero(node.to_string()));
                        }
                        let v = if *op == BinOp::Mod {
                            floor_mod(a, b)
                        } else {
                            floor_div(a, b)
                        };
                        v.ok_or(DiceError::Overflow)?
                    }
                    BinOp::Eq => i64::from(a == b),
                    BinOp::Ne => i64::from(a != b),
                    BinOp::Lt => i64::from(a < b),
                    BinOp::Gt => i64::from(a > b),
                    BinOp::Le => i64::from(a <= b),
                    BinOp::Ge => i64::from(a >= b),
                };
                Ok((v, format!("{ls} {op} {rs}")))
            }
        }
    }

    /// `(x)ops` with the operators of enclosing parentheses (`levels`, innermost first).
    fn eval_op_paren(&mut self, x: &Node, ops: &[Op], levels: &[&[Op]]) -> R<(i64, String)> {
        let mut lv: Vec<&[Op]> = vec![ops];
        lv.extend_from_slice(levels);
        let (v, s) = self.eval_ops(x, &lv)?;
        Ok((v, format!("({s}){}", group_text(ops))))
    }

    /// Evaluates `node` as the inside of parentheses with set operators: they act on
    /// its dice, its set elements, or the node itself as a one-element set (d20).
    fn eval_ops(&mut self, node: &Node, levels: &[&[Op]]) -> R<(i64, String)> {
        if levels.is_empty() {
            return self.eval(node);
        }
        match node {
            Node::Dice(t) => self.roll_term(t, levels),
            Node::Set(s) => self.eval_set(s, levels),
            Node::Paren(x) => {
                let (v, s) = self.eval_ops(x, levels)?;
                Ok((v, format!("({s})")))
            }
            Node::Annotated(x, text) => {
                let (v, s) = self.eval_ops(x, levels)?;
                Ok((v, format!("{s} [{text}]")))
            }
            Node::OpParen(x, ops) => self.eval_op_paren(x, ops, levels),
            Node::Num(_) | Node::Unary(..) | Node::Binary(..) => {
                let (d, t) = (self.out.len(), self.terms.len());
                let (v, s) = self.eval(node)?;
                let mut kept = true;
                for group in levels.iter().copied().flat_map(super::op_groups) {
                    if !kept {
                        break;
                    }
                    let chosen = select_union(&[(0, v)], &sels_of(group));
                    kept = match group[0] {
                        Op::Keep(_) => !chosen.is_empty(),
                        Op::Drop(_) => chosen.is_empty(),
                        op => {
                            return Err(DiceError::Invalid(format!(
                                "`{op}` works on dice, not on sets"
                            )));
                        }
                    };
                }
                if kept {
                    return Ok((v, s));
                }
                self.discard(d..self.out.len(), t..self.terms.len());
                Ok((0, format!("~~{}~~", s.replace("~~", ""))))
            }
        }
    }

    /// Marks dice and terms as belonging to a dropped element.
    fn discard(&mut self, dice: Range<usize>, terms: Range<usize>) {
        for d in &mut self.out[dice] {
            d.kept = false;
        }
        for t in &mut self.terms[terms] {
            t.discarded = true;
        }
    }

    /// Rolls a dice term and applies its operators, then those of enclosing
    /// parentheses (`levels`, innermost first).
    fn roll_term(&mut self, t: &DiceTerm, levels: &[&[Op]]) -> R<(i64, String)> {
        let sides = t.sides;
        let mut faces = Vec::with_capacity(t.count as usize);
        for _ in 0..t.count {
            faces.push(self.roll_one(sides)?);
        }
        let groups = std::iter::once(&t.ops[..])
            .chain(levels.iter().copied())
            .flat_map(super::op_groups);
        for group in groups {
            let sels = sels_of(group);
            match group[0] {
                Op::Keep(_) => {
                    let chosen = select_union(&kept_faces(&faces), &sels);
                    for (i, f) in faces.iter_mut().enumerate() {
                        if f.kept && !chosen.contains(&i) {
                            f.kept = false;
                        }
                    }
                }
                Op::Drop(_) => {
                    for i in select_union(&kept_faces(&faces), &sels) {
                        faces[i].kept = false;
                    }
                }
                Op::Reroll(_) => {
                    if super::covers_every_face(&sels, sides) {
                        return Err(DiceError::Unbounded {
                            term: t.to_string(),
                            op: group_text(group),
                            sides,
                        });
                    }
                    // Each replacement is inserted right after the die it replaces and
                    // checked in turn; the dice budget bounds the loop.
                    let mut i = 0;
                    while i < faces.len() {
                        let v = i64::from(faces[i].value);
                        if faces[i].kept && sels.iter().any(|s| s.matches(v)) {
                            faces[i].kept = false;
                            let new = self.roll_one(sides)?;
                            faces.insert(i + 1, new);
                        }
                        i += 1;
                    }
                }
                Op::RerollOnce(_) => {
                    let mut chosen = select_union(&kept_faces(&faces), &sels);
                    chosen.sort_unstable_by(|a, b| b.cmp(a));
                    for i in chosen {
                        faces[i].kept = false;
                        let new = self.roll_one(sides)?;
                        faces.insert(i + 1, new);
                    }
                }
                Op::RerollAdd(_) => {
                    // At most one die: the first the first matching selector chooses.
                    let kept = kept_faces(&faces);
                    if let Some(i) = sels.iter().find_map(|s| select(&kept, *s).first().copied()) {
                        faces[i].exploded = true;
                        let new = self.roll_one(sides)?;
                        faces.push(new);
                    }
                }
                Op::Explode(_) => {
                    if super::covers_every_face(&sels, sides) {
                        return Err(DiceError::Unbounded {
                            term: t.to_string(),
                            op: group_text(group),
                            sides,
                        });
                    }
                    let mut i = 0;
                    while i < faces.len() {
                        let f = faces[i];
                        let v = i64::from(f.value);
                        if f.kept && !f.exploded && sels.iter().any(|s| s.matches(v)) {
                            faces[i].exploded = true;
                            let new = self.roll_one(sides)?;
                            faces.push(new);
                        }
                        i += 1;
                    }
                }
                op @ (Op::Min(m) | Op::Max(m)) => {
                    let raise = matches!(op, Op::Min(_));
                    for f in faces.iter_mut().filter(|f| f.kept) {
                        if (raise && f.value < m) || (!raise && f.value > m) {
                            f.orig.get_or_insert(f.value);
                            f.value = m;
                        }
                    }
                }
            }
        }
        let total: i64 = faces
            .iter()
            .filter(|f| f.kept)
            .map(|f| i64::from(f.value))
            .sum();
        let mut text = format!("{t} (");
        let n = faces.len();
        for (i, f) in faces.iter().enumerate() {
            if n > ELIDE_OVER && (ELIDE_HEAD..n - ELIDE_TAIL).contains(&i) {
                if i == ELIDE_HEAD {
                    text.push_str(", ...");
                }
                continue;
            }
            if i > 0 {
                text.push_str(", ");
            }
            f.render(&mut text);
        }
        text.push(')');
        let start = self.out.len();
        self.out.extend(faces.iter().map(|f| RolledDie {
            sides,
            value: f.value,
            kept: f.kept,
        }));
        self.terms.push(TermRecord {
            sides,
            dice: start..self.out.len(),
            discarded: false,
        });
        Ok((total, text))
    }

    fn eval_set(&mut self, s: &SetTerm, levels: &[&[Op]]) -> R<(i64, String)> {
        struct Item {
            value: i64,
            text: String,
            kept: bool,
            dice: Range<usize>,
            terms: Range<usize>,
        }
        let mut items = Vec::with_capacity(s.items.len());
        for node in &s.items {
            let (d, t) = (self.out.len(), self.terms.len());
            let (value, text) = self.eval(node)?;
            items.push(Item {
                value,
                text,
                kept: true,
                dice: d..self.out.len(),
                terms: t..self.terms.len(),
            });
        }
        let groups = std::iter::once(&s.ops[..])
            .chain(levels.iter().copied())
            .flat_map(super::op_groups);
        for group in groups {
            let active: Vec<(usize, i64)> = items
                .iter()
                .enumerate()
                .filter(|(_, it)| it.kept)
                .map(|(i, it)| (i, it.value))
                .collect();
            let chosen = select_union(&active, &sels_of(group));
            match group[0] {
                Op::Keep(_) => {
                    for (i, _) in active {
                        if !chosen.contains(&i) {
                            items[i].kept = false;
                        }
                    }
                }
                Op::Drop(_) => {
                    for i in chosen {
                        items[i].kept = false;
                    }
                }
                op => {
                    return Err(DiceError::Invalid(format!(
                        "`{op}` works on dice, not on sets"
                    )));
                }
            }
        }
        let mut total = 0i64;
        let mut text = String::from("(");
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            if it.kept {
                total = total.checked_add(it.value).ok_or(DiceError::Overflow)?;
                text.push_str(&it.text);
            } else {
                self.discard(it.dice.clone(), it.terms.clone());
                // Nested strike-through does not render: strike the element as a whole.
                text.push_str("~~");
                text.push_str(&it.text.replace("~~", ""));
                text.push_str("~~");
            }
        }
        if items.len() == 1 {
            text.push(',');
        }
        text.push(')');
        for op in &s.ops {
            text.push_str(&op.to_string());
        }
        Ok((total, text))
    }

    fn crit(&self) -> Crit {
        let Some(term) = self.terms.iter().find(|t| !t.discarded) else {
            return Crit::None;
        };
        if term.sides != 20 {
            return Crit::None;
        }
        let mut kept = self.out[term.dice.clone()].iter().filter(|d| d.kept);
        match (kept.next(), kept.next()) {
            (Some(d), None) if d.value == 20 => Crit::Success,
            (Some(d), None) if d.value == 1 => Crit::Failure,
            _ => Crit::None,
        }
    }
}

/// Appends ` = total`, cutting the middle-to-end of over-long breakdowns so the result
/// stays under [`MAX_BREAKDOWN_CHARS`] characters.
fn finish_breakdown(text: String, total: i64) -> String {
    let full = format!("{text} = {total}");
    if full.chars().count() < MAX_BREAKDOWN_CHARS {
        return full;
    }
    let tail = format!(" ... = {total}");
    // Room for the tail and a possible closing `~~`.
    let budget = MAX_BREAKDOWN_CHARS - 1 - tail.chars().count() - 2;
    let mut cut: String = text.chars().take(budget).collect();
    if let Some(p) = cut.rfind(' ')
        && p > cut.len() / 2
    {
        cut.truncate(p);
    }
    let trimmed_len = cut.trim_end_matches([' ', ',', '~']).len();
    cut.truncate(trimmed_len);
    if cut.matches("~~").count() % 2 == 1 {
        cut.push_str("~~");
    }
    cut + &tail
}
