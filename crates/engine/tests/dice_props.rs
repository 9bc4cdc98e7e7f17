//! Property tests for the dice expression language: it never panics, totals stay within
//! the analytic bounds, the normalised form round-trips, and a seed fixes the result.

use dicebard_engine::dice::expr::{MAX_BREAKDOWN_CHARS, MAX_DICE, MAX_INPUT_CHARS};
use dicebard_engine::dice::{DiceError, Expr, Roll, SeededDice, parse};
use proptest::prelude::*;

/// Checks everything a successful roll promises.
fn check_roll(e: &Expr, roll: &Roll) -> Result<(), TestCaseError> {
    let (lo, hi) = e.bounds();
    prop_assert!(
        lo <= roll.total && roll.total <= hi,
        "{e}: total {} outside {lo}..={hi}: {}",
        roll.total,
        roll.breakdown
    );
    let suffix = format!(" = {}", roll.total);
    prop_assert!(roll.breakdown.ends_with(&suffix), "{}", roll.breakdown);
    prop_assert!(roll.breakdown.chars().count() < MAX_BREAKDOWN_CHARS);
    prop_assert!(!roll.breakdown.contains('\n'));
    prop_assert!(roll.dice.len() <= MAX_DICE as usize);
    prop_assert!(roll.dice.iter().all(|d| d.sides >= 1 && d.value <= 10_000));
    prop_assert_eq!(&roll.expr, &e.to_string());
    Ok(())
}

/// Errors a valid expression may still produce when rolled.
fn is_roll_error(err: &DiceError) -> bool {
    matches!(
        err,
        DiceError::DivisionByZero(_)
            | DiceError::Overflow
            | DiceError::TooManyRolls { .. }
            | DiceError::TooManyDice { .. }
    )
}

/// The normalised form parses back to the same expression (when it still fits).
fn check_round_trip(e: &Expr) -> Result<(), TestCaseError> {
    let shown = e.to_string();
    // The normalised text may be longer than what can be typed; it still parses back.
    let back = Expr::from_normalised(&shown);
    prop_assert_eq!(back.as_ref(), Ok(e), "{}", shown);
    if shown.chars().count() <= MAX_INPUT_CHARS {
        let back = parse(&shown);
        prop_assert_eq!(back.as_ref(), Ok(e), "{}", shown);
    }
    Ok(())
}

const TOKENS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "6",
    "20",
    "100",
    "1000",
    "10001",
    "99999999999999999999",
    "d",
    "D",
    "%",
    "+",
    "-",
    "*",
    "/",
    "//",
    "(",
    ")",
    ",",
    "<",
    ">",
    "<=",
    ">=",
    "==",
    "!=",
    "=",
    "!",
    "k",
    "p",
    "h",
    "l",
    "e",
    "rr",
    "ro",
    "ra",
    "mi",
    "ma",
    "adv",
    "dis",
    "[fire]",
    "[",
    "]",
    " ",
    "\n",
    "d20",
    "4d6",
    "kh1",
    "x",
    "é",
    "`",
    "1d1",
    "d%",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.concat())
}

fn selector(value_only: bool) -> BoxedStrategy<String> {
    let n = 0u32..8;
    if value_only {
        prop_oneof![
            n.clone().prop_map(|n| format!("{n}")),
            n.clone().prop_map(|n| format!(">{n}")),
            n.prop_map(|n| format!("<{n}")),
        ]
        .boxed()
    } else {
        prop_oneof![
            n.clone().prop_map(|n| format!("h{n}")),
            n.clone().prop_map(|n| format!("l{n}")),
            n.clone().prop_map(|n| format!("{n}")),
            n.clone().prop_map(|n| format!(">{n}")),
            n.prop_map(|n| format!("<{n}")),
        ]
        .boxed()
    }
}

fn dice_op() -> impl Strategy<Value = String> {
    prop_oneof![
        selector(false).prop_map(|s| format!("k{s}")),
        selector(false).prop_map(|s| format!("p{s}")),
        selector(true).prop_map(|s| format!("rr{s}")),
        selector(false).prop_map(|s| format!("ro{s}")),
        selector(false).prop_map(|s| format!("ra{s}")),
        selector(true).prop_map(|s| format!("e{s}")),
        (0u32..25).prop_map(|n| format!("mi{n}")),
        (0u32..25).prop_map(|n| format!("ma{n}")),
    ]
}

fn dice() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(String::new()), (0u32..7).prop_map(|n| n.to_string())],
        prop_oneof![
            prop::sample::select(&[1u32, 2, 3, 4, 6, 8, 10, 12, 20, 100][..])
                .prop_map(|s| s.to_string()),
            Just("%".to_string()),
        ],
        // Up to 4 operators: runs of the same one (`kh3kl1`) are d20 unions.
        prop::collection::vec(dice_op(), 0..5),
        prop::sample::select(&["", "", "", " adv", "dis"][..]),
    )
        .prop_map(|(n, s, ops, mode)| format!("{n}d{s}{}{mode}", ops.concat()))
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..30).prop_map(|n| n.to_string()),
        Just("9223372036854775807".to_string()),
        dice(),
        dice(),
        Just("adv".to_string()),
    ]
}

/// Expressions from the grammar (not all valid: `1d1e1`, `1d6 adv` parse to errors).
fn expression() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(
                    &[
                        " + ", "-", " * ", "/", " // ", "%", " == ", "!=", "<", " > ", "<=", ">=",
                    ][..]
                ),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (
                prop::collection::vec(inner.clone(), 1..4),
                prop::sample::select(&["", "kh1", "kl1", "pl1", "k>3", "p<2"][..])
            )
                .prop_map(|(items, ops)| format!("({},){ops}", items.join(", "))),
            // d20: set operators on a parenthesis act on what is inside it.
            (
                inner.clone(),
                prop::sample::select(&["kh1", "kl1", "pl1", "k>3", "p<2", "kh2kl1", "ph1pl1"][..])
            )
                .prop_map(|(a, ops)| format!("({a}){ops}")),
            inner.prop_map(|a| format!("{a}[note]")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in prop::collection::vec(any::<char>(), 0..600)) {
        let s: String = s.into_iter().collect();
        if let Ok(e) = parse(&s) {
            let roll = e.roll(&mut SeededDice::new(0));
            if let Ok(roll) = roll {
                check_roll(&e, &roll)?;
            }
        }
    }

    #[test]
    fn token_soup_never_panics(s in token_soup(), seed in any::<u64>()) {
        match parse(&s) {
            Ok(e) => {
                check_round_trip(&e)?;
                match e.roll(&mut SeededDice::new(seed)) {
                    Ok(roll) => check_roll(&e, &roll)?,
                    Err(err) => prop_assert!(is_roll_error(&err), "{s}: {err:?}"),
                }
            }
            Err(err) => {
                let m = err.to_string();
                prop_assert!(!m.is_empty() && !m.contains('\n'), "{s:?}: {m:?}");
            }
        }
    }

    #[test]
    fn valid_expressions_roll_within_bounds(s in expression(), seed in any::<u64>()) {
        let Ok(e) = parse(&s) else { return Ok(()) };
        check_round_trip(&e)?;
        match e.roll(&mut SeededDice::new(seed)) {
            Ok(roll) => check_roll(&e, &roll)?,
            Err(err) => prop_assert!(is_roll_error(&err), "{s}: {err:?}"),
        }
    }

    #[test]
    fn doubled_expressions_roll_within_bounds(s in expression(), seed in any::<u64>()) {
        let Ok(e) = parse(&s) else { return Ok(()) };
        let d = e.doubled();
        prop_assert_eq!(d.dice_count(), e.dice_count().saturating_mul(2));
        match d.roll(&mut SeededDice::new(seed)) {
            Ok(roll) => check_roll(&d, &roll)?,
            Err(err) => prop_assert!(is_roll_error(&err), "{s}: {err:?}"),
        }
    }

    #[test]
    fn same_seed_same_roll(s in expression(), seed in any::<u64>()) {
        let Ok(e) = parse(&s) else { return Ok(()) };
        let a = e.roll(&mut SeededDice::new(seed));
        let b = e.roll(&mut SeededDice::new(seed));
        prop_assert_eq!(a, b);
    }
}

#[test]
fn generated_expressions_are_mostly_valid() {
    // Guards the generator: most generated expressions must parse and roll, or the
    // properties above would test little.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strat = expression();
    let (mut parsed, mut rolled) = (0, 0);
    for seed in 0..300u64 {
        let s = strat.new_tree(&mut runner).unwrap().current();
        if let Ok(e) = parse(&s) {
            parsed += 1;
            if e.roll(&mut SeededDice::new(seed)).is_ok() {
                rolled += 1;
            }
        }
    }
    assert!(parsed > 150, "only {parsed}/300 parsed");
    assert!(rolled > 100, "only {rolled}/300 rolled");
}
