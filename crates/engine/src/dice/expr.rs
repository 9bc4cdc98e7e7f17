//! The dice expression language: parse, roll and explain expressions such as
//! `1d20+5`, `4d6kh3`, `1d20adv + 7`, `2d6[fire] + 1d8`, `(1d4, 2+2, 3d6kl1)kh1` or
//! `((10d6kh5)kl2)kh1`.
//!
//! The language follows avrae's `d20` library closely; this page is the reference.
//!
//! # Grammar
//!
//! Whitespace is allowed between any two tokens, and keywords are case-insensitive
//! (`1D20KH1`, `ADV`). Annotation text keeps its case.
//!
//! ```text
//! expression := [mode] comparison [mode]           at most one mode in total
//! mode       := "adv" | "dis"
//! comparison := sum (("==" | "!=" | "<" | ">" | "<=" | ">=") sum)*
//! sum        := product (("+" | "-") product)*
//! product    := unary (("*" | "/" | "//" | "%") unary)*
//! unary      := ("+" | "-") unary | term
//! term       := atom annotation*
//! annotation := "[" text without "]" "]"
//! atom       := NUMBER | dice | "adv" | "dis" | "(" comparison ")" set_op* | set
//! dice       := [NUMBER] "d" (NUMBER | "%") dice_op* [mode]
//! set        := "(" comparison "," [comparison ("," comparison)* [","]] ")" set_op*
//! dice_op    := ("k" | "p" | "rr" | "ro" | "ra" | "e") selector | ("mi" | "ma") NUMBER
//! set_op     := ("k" | "p") selector
//! selector   := ["h" | "l" | ">" | "<"] NUMBER
//! ```
//!
//! # Semantics
//!
//! * Everything is an `i64` integer. `/` and `//` are both *floor* division
//!   (`-7 / 2 == -4`), `%` is the matching modulo (its sign follows the divisor), so
//!   `a == (a / b) * b + a % b`. Comparisons give `1` or `0`. Overflow, division and
//!   modulo by zero are errors.
//! * `dM` is `1dM`; `d%` is `d100`. `0d6` is allowed and totals 0.
//! * `(x)` is a parenthesis. A *set* needs a comma: `(1d20, 1d20)kh1`, or `(1d20,)` for a
//!   one-element set. A set totals its kept elements; only `k` and `p` apply to sets.
//! * As in d20, `k` and `p` after a parenthesis act on what is inside it: the dice of a
//!   dice term (`(4d6)kh3` keeps the highest three dice; `((10d6kh5)kl2)kh1` keeps the
//!   highest five, then the lowest two of those, then the highest of those two), the
//!   elements of a set (`((1, 5, 3))kh1` is 5), or else the value as a one-element set
//!   (`(1d4 + 1)p<3` is 0 when the sum is below 3). Each parenthesis is a separate step:
//!   `(4d6kh3)kh2` is not `4d6kh3kh2`.
//! * As in d20, a run of the same operator is **one** operation whose selectors are a
//!   union: `4d6kh3kl1` keeps the highest three *and* the lowest one (all four dice),
//!   `4d6ph1pl1` drops the highest and the lowest, `1d6rr1rr2` rerolls until the die is
//!   neither 1 nor 2, `1d6e5e6` explodes on 5 or 6, and `ra` adds at most one die per
//!   run. Ties pick the earlier die for both `h` and `l` (`2d6ph1pl1` on 4, 4 drops only
//!   the first). A different operator in between ends the run; `mi`/`ma` never merge.
//! * Operations (runs, above) apply left to right to the dice that are still kept:
//!   * `k` keeps the selected dice and drops the rest; `p` drops the selected dice.
//!   * `rr` rerolls each selected die until the new die no longer matches. `ro` rerolls
//!     each selected die once. Rerolled dice are dropped and shown struck through.
//!   * `ra` ("reroll and add") rolls one extra die for the *first* selected die (at most
//!     one) and adds it to the pool.
//!   * `e` explodes: every selected die adds another die to the pool; new dice that match
//!     explode too.
//!   * `miN` / `maN` raise / lower each kept die to at least / at most `N` (shown as
//!     `3 -> 10`). `N` is at most 10,000.
//! * Selectors: `hN` the `N` highest, `lN` the `N` lowest, `>N` / `<N` values above /
//!   below `N`, and a bare `N` the literal value `N`. **`4d6k3` keeps the dice showing 3**;
//!   "keep the highest three" is `4d6kh3`. `rr` and `e` accept only value selectors
//!   (`>N`, `<N`, `N`); a selector matching every face of the die (`1d1e1`, `1d6rr<7`) is
//!   rejected because it would never stop. Ties in `h`/`l` favour the earlier die.
//! * Annotations (`1d6[fire]`) follow any atom, may repeat, are shown in the breakdown and
//!   do not change the arithmetic.
//!
//! # Advantage: `adv` / `dis`
//!
//! * `adv` on its own is an atom meaning `2d20kh1` (`dis`: `2d20kl1`): `adv + 5`.
//! * Directly after a `1d20` term (whitespace allowed) it turns that term into `2d20…kh1`
//!   (or `kl1`), keeping its other operators: `1d20adv+5`, `d20 adv + 5`,
//!   `1d20ro1 adv` → `2d20ro1kh1`.
//! * At the very start or very end of the whole expression it applies to the *first* d20
//!   term, which must roll a single die: `adv 1d20+5`, `1d20+5 adv`, `1d4 + 1d20 dis`.
//!   Only one leading/trailing mode is allowed, and it is an error when there is no d20.
//!
//! The engine can also call [`Expr::advantage`] / [`Expr::disadvantage`].
//!
//! # Critical hits
//!
//! [`Roll::crit`] looks at the first dice term of the expression in source order (skipping
//! terms inside set elements that the set dropped). If that term is a d20 with exactly one
//! kept die, a kept 20 is [`Crit::Success`] and a kept 1 is [`Crit::Failure`] (after
//! `mi`/`ma`). So `1d20+5`, `2d20kh1+5`, `1d20adv` and `5 + 1d20` can crit; `1d6 + 1d20`,
//! `2d20` and `2d6` cannot.
//!
//! # Breakdown
//!
//! avrae-style: `4d6kh3 (5, 3, ~~1~~, 6) = 14`, `1d20 (20) + 5 = 25`,
//! `1d6e6 (6!, 3) = 9`, `2d6 (3, 4) [fire] = 7`. Dropped and rerolled dice are struck
//! through, exploded dice carry `!`, dropped set elements are struck through as a whole.
//! Dice lists longer than 40 are elided in the middle, and the whole breakdown is kept
//! under [`MAX_BREAKDOWN_CHARS`] characters; it always ends with ` = <total>`.
//!
//! # Limits
//!
//! Each is a [`DiceError`], never a panic: input over [`MAX_INPUT_CHARS`] characters,
//! more than [`MAX_DICE`] dice per roll (counting rerolls and explosions; checked before
//! anything is rolled for the plain counts), dice with 0 or more than [`MAX_SIDES`] sides,
//! nesting (parentheses, sets and signs) deeper than [`MAX_DEPTH`], division by zero and
//! integer overflow.

use super::Dice;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod eval;
mod parser;
#[cfg(test)]
mod tests;

/// Longest accepted input, in characters.
pub const MAX_INPUT_CHARS: usize = 500;
/// Most dice one roll may roll, rerolls and explosions included.
pub const MAX_DICE: u32 = 1_000;
/// Most sides a die may have.
pub const MAX_SIDES: u32 = 10_000;
/// Deepest nesting of parentheses, sets and unary signs.
pub const MAX_DEPTH: usize = 50;
/// A breakdown is always shorter than this many characters.
pub const MAX_BREAKDOWN_CHARS: usize = 1_000;

/// Critical result of a roll whose first kept die is a d20.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crit {
    #[default]
    None,
    Success,
    Failure,
}

/// One die as rolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledDie {
    pub sides: u32,
    /// The die's final value (after `mi`/`ma`).
    pub value: u32,
    /// False when dropped by keep/drop or replaced by a reroll.
    pub kept: bool,
}

/// The result of rolling an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roll {
    /// The normalised expression (see `Display for Expr`), e.g. `2d20kh1 + 5`.
    pub expr: String,
    pub total: i64,
    /// avrae-style explanation ending in ` = <total>`.
    pub breakdown: String,
    pub crit: Crit,
    /// Every die rolled, in expression order (rerolled and dropped dice included).
    pub dice: Vec<RolledDie>,
}

/// Why an expression could not be parsed or rolled; messages are one line, fit to show a
/// player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiceError {
    /// Any other malformed expression; the message says what and where.
    #[error("{0}")]
    Invalid(String),
    #[error("There is nothing to roll")]
    Empty,
    #[error("That expression is too long: the limit is {max} characters")]
    TooLong { max: usize },
    /// `pos` is the 1-based character position in the input.
    #[error("Unexpected {} at position {pos}", code(found))]
    Unexpected { found: String, pos: usize },
    #[error("The expression ends too soon: expected {expected}")]
    UnexpectedEnd { expected: String },
    #[error("A die needs at least one side: {}", code(.0))]
    ZeroSides(String),
    #[error("Dice can have at most {max} sides: {}", code(term))]
    TooManySides { term: String, max: u32 },
    /// Too many dice before rolling anything.
    #[error("Too many dice: {detail} (at most {max} per roll)")]
    TooManyDice { detail: String, max: u32 },
    /// Rerolls and explosions went past the dice limit while rolling.
    #[error("Too many dice rolled: rerolls and explosions went past the limit of {max}")]
    TooManyRolls { max: u32 },
    #[error("Too deeply nested: at most {max} levels of brackets and signs")]
    TooDeep { max: usize },
    /// A reroll or explosion whose selector matches every face.
    #[error(
        "{} would never stop: every face of a d{sides} matches {}",
        code(term),
        code(op)
    )]
    Unbounded {
        term: String,
        op: String,
        sides: u32,
    },
    #[error("Can't divide by zero: {}", code(.0))]
    DivisionByZero(String),
    #[error("The numbers get too large to compute")]
    Overflow,
    #[error("{} is too large a number", code(.0))]
    NumberTooLarge(String),
}

/// Quotes user text for an error message: one line, bounded, in a code span.
fn code(s: &str) -> String {
    const MAX: usize = 40;
    let mut t: String = s
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(MAX).is_some() {
        t.push('…');
    }
    if t.contains('`') {
        format!("`` {t} ``")
    } else {
        format!("`{t}`")
    }
}

/// A parsed expression. Build one with [`parse`] (or `str::parse`); it serialises as its
/// normalised source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    root: Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Num(i64),
    Dice(DiceTerm),
    Paren(Box<Node>),
    /// A parenthesis with set operators, `(1d20)kh1` or `((10d6kh5)kl2)kh1`: as in d20,
    /// the operators act on what is inside — the dice of a dice term, the elements of a
    /// set, or else the parenthesised value as a one-element set. Only `k` and `p`.
    OpParen(Box<Node>, Vec<Op>),
    Set(SetTerm),
    Unary(UnOp, Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Annotated(Box<Node>, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DiceTerm {
    count: u32,
    sides: u32,
    ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SetTerm {
    items: Vec<Node>,
    /// Only `Keep` and `Drop`.
    ops: Vec<Op>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnOp {
    Neg,
    Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Keep(Sel),
    Drop(Sel),
    Reroll(Sel),
    RerollOnce(Sel),
    RerollAdd(Sel),
    Explode(Sel),
    Min(u32),
    Max(u32),
}

/// Selector numbers are never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sel {
    High(i64),
    Low(i64),
    Gt(i64),
    Lt(i64),
    Eq(i64),
}

impl Sel {
    /// Whether a value selector matches `v` (`h`/`l` never match by value).
    fn matches(self, v: i64) -> bool {
        match self {
            Sel::Gt(n) => v > n,
            Sel::Lt(n) => v < n,
            Sel::Eq(n) => v == n,
            Sel::High(_) | Sel::Low(_) => false,
        }
    }

    /// True when every face `1..=sides` matches: a reroll/explode loop that never ends.
    fn matches_every_face(self, sides: u32) -> bool {
        match self {
            Sel::Gt(n) => n < 1,
            Sel::Lt(n) => n > i64::from(sides),
            Sel::Eq(n) => sides == 1 && n == 1,
            Sel::High(_) | Sel::Low(_) => false,
        }
    }
}

/// Parses a dice expression.
pub fn parse(s: &str) -> Result<Expr, DiceError> {
    Ok(Expr {
        root: parser::parse(s)?,
    })
}

/// Parses and rolls a dice expression.
pub fn roll(s: &str, dice: &mut dyn Dice) -> Result<Roll, DiceError> {
    parse(s)?.roll(dice)
}

impl Expr {
    /// Rolls the expression.
    pub fn roll(&self, dice: &mut dyn Dice) -> Result<Roll, DiceError> {
        eval::roll(self, dice)
    }

    /// The same expression with every dice term rolling twice as many dice (critical
    /// hits): `1d8+3` → `2d8 + 3`. Rolling it fails if that goes over [`MAX_DICE`].
    pub fn doubled(&self) -> Expr {
        fn double(node: &mut Node) {
            match node {
                Node::Num(_) => {}
                Node::Dice(t) => t.count = t.count.saturating_mul(2),
                Node::Paren(x)
                | Node::OpParen(x, _)
                | Node::Unary(_, x)
                | Node::Annotated(x, _) => double(x),
                Node::Set(s) => s.items.iter_mut().for_each(double),
                Node::Binary(_, l, r) => {
                    double(l);
                    double(r);
                }
            }
        }
        let mut e = self.clone();
        double(&mut e.root);
        e
    }

    /// Applies advantage to the first d20 term (which must roll one die), as a leading
    /// `adv` would: `1d20+5` → `2d20kh1 + 5`.
    pub fn advantage(&self) -> Result<Expr, DiceError> {
        self.with_mode(true)
    }

    /// Applies disadvantage to the first d20 term: `1d20+5` → `2d20kl1 + 5`.
    pub fn disadvantage(&self) -> Result<Expr, DiceError> {
        self.with_mode(false)
    }

    fn with_mode(&self, adv: bool) -> Result<Expr, DiceError> {
        let mut e = self.clone();
        parser::apply_mode(&mut e.root, adv)?;
        Ok(e)
    }

    /// Number of dice rolled before any reroll or explosion.
    pub fn dice_count(&self) -> u32 {
        fn count(node: &Node) -> u32 {
            match node {
                Node::Num(_) => 0,
                Node::Dice(t) => t.count,
                Node::Paren(x)
                | Node::OpParen(x, _)
                | Node::Unary(_, x)
                | Node::Annotated(x, _) => count(x),
                Node::Set(s) => s
                    .items
                    .iter()
                    .fold(0u32, |acc, n| acc.saturating_add(count(n))),
                Node::Binary(_, l, r) => count(l).saturating_add(count(r)),
            }
        }
        count(&self.root)
    }

    /// Whether the expression rolls any dice at all.
    pub fn has_dice(&self) -> bool {
        fn any(node: &Node) -> bool {
            match node {
                Node::Num(_) => false,
                Node::Dice(_) => true,
                Node::Paren(x)
                | Node::OpParen(x, _)
                | Node::Unary(_, x)
                | Node::Annotated(x, _) => any(x),
                Node::Set(s) => s.items.iter().any(any),
                Node::Binary(_, l, r) => any(l) || any(r),
            }
        }
        any(&self.root)
    }

    /// Whether the first dice term is a d20, i.e. whether a roll can be a crit.
    pub fn starts_with_d20(&self) -> bool {
        fn first(node: &Node) -> Option<&DiceTerm> {
            match node {
                Node::Num(_) => None,
                Node::Dice(t) => Some(t),
                Node::Paren(x)
                | Node::OpParen(x, _)
                | Node::Unary(_, x)
                | Node::Annotated(x, _) => first(x),
                Node::Set(s) => s.items.iter().find_map(first),
                Node::Binary(_, l, r) => first(l).or_else(|| first(r)),
            }
        }
        first(&self.root).is_some_and(|t| t.sides == 20)
    }

    /// Analytic `(min, max)` of the total of any successful roll (saturating at the `i64`
    /// range). Conservative where exact bounds are hard (explosions, value selectors).
    pub fn bounds(&self) -> (i64, i64) {
        bounds(&self.root)
    }
}

/// Bounds of `node` with the set operators of enclosing parentheses (`levels`, innermost
/// first) applied to it.
fn bounds_levels(node: &Node, levels: &[&[Op]]) -> (i64, i64) {
    if levels.is_empty() {
        return bounds(node);
    }
    match node {
        Node::Dice(t) => dice_bounds_levels(t, levels),
        Node::Paren(x) | Node::Annotated(x, _) => bounds_levels(x, levels),
        Node::OpParen(x, ops) => {
            let mut lv: Vec<&[Op]> = vec![ops];
            lv.extend_from_slice(levels);
            bounds_levels(x, &lv)
        }
        Node::Set(s) => set_bounds(s, true),
        _ => {
            // One element, which may end up dropped.
            let (lo, hi) = bounds(node);
            (lo.min(0), hi.max(0))
        }
    }
}

fn set_bounds(s: &SetTerm, operated: bool) -> (i64, i64) {
    let (mut lo, mut hi) = (0i64, 0i64);
    for item in &s.items {
        let (a, b) = bounds(item);
        if operated {
            // Any element may end up dropped.
            lo = lo.saturating_add(a.min(0));
            hi = hi.saturating_add(b.max(0));
        } else {
            lo = lo.saturating_add(a);
            hi = hi.saturating_add(b);
        }
    }
    (lo, hi)
}

fn bounds(node: &Node) -> (i64, i64) {
    match node {
        Node::Num(n) => (*n, *n),
        Node::Dice(t) => dice_bounds_levels(t, &[]),
        Node::OpParen(x, ops) => bounds_levels(x, &[ops]),
        Node::Paren(x) | Node::Annotated(x, _) | Node::Unary(UnOp::Pos, x) => bounds(x),
        Node::Unary(UnOp::Neg, x) => {
            let (lo, hi) = bounds(x);
            (hi.saturating_neg(), lo.saturating_neg())
        }
        Node::Set(s) => set_bounds(s, !s.ops.is_empty()),
        Node::Binary(op, l, r) => {
            let (alo, ahi) = bounds(l);
            let (blo, bhi) = bounds(r);
            match op {
                BinOp::Add => (alo.saturating_add(blo), ahi.saturating_add(bhi)),
                BinOp::Sub => (alo.saturating_sub(bhi), ahi.saturating_sub(blo)),
                BinOp::Mul => min_max([
                    alo.saturating_mul(blo),
                    alo.saturating_mul(bhi),
                    ahi.saturating_mul(blo),
                    ahi.saturating_mul(bhi),
                ]),
                BinOp::Div | BinOp::FloorDiv => {
                    // Floor division is monotone in each argument on each side of zero,
                    // so the extremes sit at the corners of the non-zero divisor ranges.
                    let mut corners = Vec::with_capacity(8);
                    let mut ranges = Vec::with_capacity(2);
                    if blo <= -1 {
                        ranges.push((blo, bhi.min(-1)));
                    }
                    if bhi >= 1 {
                        ranges.push((blo.max(1), bhi));
                    }
                    for (dlo, dhi) in ranges {
                        for a in [alo, ahi] {
                            for d in [dlo, dhi] {
                                corners.push(saturating_floor_div(a, d));
                            }
                        }
                    }
                    if corners.is_empty() {
                        (0, 0) // always divides by zero: never succeeds
                    } else {
                        min_max(corners)
                    }
                }
                BinOp::Mod => {
                    let mut lo = if blo < 0 { blo.saturating_add(1) } else { 0 };
                    let mut hi = if bhi > 0 { bhi - 1 } else { 0 };
                    if alo >= 0 && blo > 0 {
                        hi = hi.min(ahi);
                    }
                    if ahi <= 0 && bhi < 0 {
                        lo = lo.max(alo);
                    }
                    (lo, hi)
                }
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => (0, 1),
            }
        }
    }
}

fn min_max(vals: impl IntoIterator<Item = i64>) -> (i64, i64) {
    vals.into_iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

fn saturating_floor_div(a: i64, b: i64) -> i64 {
    eval::floor_div(a, b).unwrap_or(if (a < 0) == (b < 0) {
        i64::MAX
    } else {
        i64::MIN
    })
}

fn dice_bounds_levels(t: &DiceTerm, levels: &[&[Op]]) -> (i64, i64) {
    let cap = i64::from(MAX_DICE);
    let sides = i64::from(t.sides);
    // Per-die value range and range of the number of kept dice.
    let (mut vlo, mut vhi) = (1i64, sides);
    let (mut cmin, mut cmax) = (i64::from(t.count), i64::from(t.count));
    let groups = std::iter::once(&t.ops[..])
        .chain(levels.iter().copied())
        .flat_map(op_groups);
    for group in groups {
        // The `h`/`l` selectors of one operation choose between `kmin` (the largest
        // one: ties can make the runs overlap) and `kmax` (their sum) dice; value
        // selectors any number.
        let hl = group.iter().filter_map(|op| match op.sel() {
            Some(Sel::High(n) | Sel::Low(n)) => Some(n),
            _ => None,
        });
        let kmax = hl.clone().fold(0i64, i64::saturating_add);
        let kmin = hl.max().unwrap_or(0);
        let by_value = group
            .iter()
            .any(|op| matches!(op.sel(), Some(Sel::Gt(_) | Sel::Lt(_) | Sel::Eq(_))));
        match group[0] {
            Op::Keep(_) => {
                cmin = cmin.min(kmin);
                if !by_value {
                    cmax = cmax.min(kmax);
                }
            }
            Op::Drop(_) => {
                cmin = if by_value {
                    0
                } else {
                    cmin.saturating_sub(kmax).max(0)
                };
                cmax = cmax.saturating_sub(kmin).max(0);
            }
            Op::Reroll(_) | Op::RerollOnce(_) => {
                vlo = vlo.min(1);
                vhi = vhi.max(sides);
            }
            Op::RerollAdd(_) => {
                vlo = vlo.min(1);
                vhi = vhi.max(sides);
                cmax += 1;
            }
            Op::Explode(_) => {
                vlo = vlo.min(1);
                vhi = vhi.max(sides);
                cmax = cap;
            }
            Op::Min(m) => {
                vlo = vlo.max(i64::from(m));
                vhi = vhi.max(i64::from(m));
            }
            Op::Max(m) => {
                vlo = vlo.min(i64::from(m));
                vhi = vhi.min(i64::from(m));
            }
        }
        cmax = cmax.min(cap);
    }
    (cmin.saturating_mul(vlo), cmax.saturating_mul(vhi))
}

impl Op {
    /// The selector, for the operators that take one.
    fn sel(self) -> Option<Sel> {
        match self {
            Op::Keep(s)
            | Op::Drop(s)
            | Op::Reroll(s)
            | Op::RerollOnce(s)
            | Op::RerollAdd(s)
            | Op::Explode(s) => Some(s),
            Op::Min(_) | Op::Max(_) => None,
        }
    }

    /// Whether `self` and `other` are the same operator (selectors aside).
    fn same_kind(self, other: Op) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// Splits operators into d20's operations: a run of the same selector operator is one
/// operation whose selectors are a union (`4d6kh3kl1` keeps the highest three *and* the
/// lowest one; `1d6rr1rr2` rerolls until neither 1 nor 2). `mi`/`ma` never merge.
fn op_groups(ops: &[Op]) -> Vec<&[Op]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=ops.len() {
        let split = i == ops.len()
            || !ops[i].same_kind(ops[start])
            || matches!(ops[i], Op::Min(_) | Op::Max(_));
        if split {
            out.push(&ops[start..i]);
            start = i;
        }
    }
    out
}

/// True when every face `1..=sides` matches one of the value selectors: a reroll or
/// explode loop that would never end.
fn covers_every_face(sels: &[Sel], sides: u32) -> bool {
    if sels.iter().any(|s| s.matches_every_face(sides)) {
        return true;
    }
    sels.len() > 1 && (1..=i64::from(sides)).all(|v| sels.iter().any(|s| s.matches(v)))
}

impl FromStr for Expr {
    type Err = DiceError;
    fn from_str(s: &str) -> Result<Expr, DiceError> {
        parse(s)
    }
}

impl Serialize for Expr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Expr, D::Error> {
        let s = String::deserialize(d)?;
        Expr::from_normalised(&s).map_err(serde::de::Error::custom)
    }
}

impl Expr {
    /// Parses the normalised text of an expression (its [`Display`](fmt::Display) and
    /// serialised form), which may be up to 3 times longer than what was typed: any
    /// expression [`parse`] accepts prints to a text this parses back to it.
    pub fn from_normalised(s: &str) -> Result<Expr, DiceError> {
        Ok(Expr {
            root: parser::parse_limited(s, MAX_INPUT_CHARS * parser::NORMALISED_GROWTH)?,
        })
    }
}

/// The normalised source: `1d20`, not `d20`; `1d100`, not `d%`; `adv` expanded; one space
/// around binary operators; keywords lower-case. [`Expr::from_normalised`] (and serde)
/// parse it back to the same expression; it can be longer than [`MAX_INPUT_CHARS`].
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Num(n) => write!(f, "{n}"),
            Node::Dice(t) => write!(f, "{t}"),
            Node::Paren(x) => write!(f, "({x})"),
            Node::OpParen(x, ops) => {
                write!(f, "({x})")?;
                ops.iter().try_for_each(|op| write!(f, "{op}"))
            }
            Node::Set(s) => write!(f, "{s}"),
            Node::Unary(UnOp::Neg, x) => write!(f, "-{x}"),
            Node::Unary(UnOp::Pos, x) => write!(f, "+{x}"),
            Node::Binary(op, l, r) => write!(f, "{l} {op} {r}"),
            Node::Annotated(x, text) => write!(f, "{x} [{text}]"),
        }
    }
}

impl fmt::Display for DiceTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}d{}", self.count, self.sides)?;
        self.ops.iter().try_for_each(|op| write!(f, "{op}"))
    }
}

impl fmt::Display for SetTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        if self.items.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")?;
        self.ops.iter().try_for_each(|op| write!(f, "{op}"))
    }
}

impl fmt::Display for BinOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Gt => ">",
            BinOp::Le => "<=",
            BinOp::Ge => ">=",
        })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, sel) = match self {
            Op::Keep(s) => ("k", s),
            Op::Drop(s) => ("p", s),
            Op::Reroll(s) => ("rr", s),
            Op::RerollOnce(s) => ("ro", s),
            Op::RerollAdd(s) => ("ra", s),
            Op::Explode(s) => ("e", s),
            Op::Min(n) => return write!(f, "mi{n}"),
            Op::Max(n) => return write!(f, "ma{n}"),
        };
        write!(f, "{name}{sel}")
    }
}

impl fmt::Display for Sel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sel::High(n) => write!(f, "h{n}"),
            Sel::Low(n) => write!(f, "l{n}"),
            Sel::Gt(n) => write!(f, ">{n}"),
            Sel::Lt(n) => write!(f, "<{n}"),
            Sel::Eq(n) => write!(f, "{n}"),
        }
    }
}
