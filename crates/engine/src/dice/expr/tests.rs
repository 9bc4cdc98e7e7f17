//! Unit tests for the dice expression language, with scripted dice so every result is exact.

use super::*;
use crate::dice::{ScriptedDice, SeededDice};

/// Rolls `src` with the scripted values; panics with the error on failure.
fn r(src: &str, values: &[u32]) -> Roll {
    let mut d = ScriptedDice::new(values.iter().copied());
    roll(src, &mut d).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn total(src: &str, values: &[u32]) -> i64 {
    r(src, values).total
}

fn bd(src: &str, values: &[u32]) -> String {
    r(src, values).breakdown
}

fn err(src: &str) -> DiceError {
    let mut d = ScriptedDice::new([]).with_fallback(3);
    match roll(src, &mut d) {
        Ok(roll) => panic!("{src}: expected an error, got {}", roll.breakdown),
        Err(e) => e,
    }
}

fn msg(src: &str) -> String {
    err(src).to_string()
}

fn norm(src: &str) -> String {
    parse(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .to_string()
}

// ---------------------------------------------------------------- numbers and arithmetic

#[test]
fn literals_and_arithmetic() {
    assert_eq!(total("5", &[]), 5);
    assert_eq!(bd("5", &[]), "5 = 5");
    assert_eq!(total("2 + 3 * 4", &[]), 14);
    assert_eq!(total("(2 + 3) * 4", &[]), 20);
    assert_eq!(total("10 - 2 - 3", &[]), 5);
    assert_eq!(total("2 * 3 + 4 * 5", &[]), 26);
    assert_eq!(total("-3 + +5", &[]), 2);
    assert_eq!(total("--3", &[]), 3);
    assert_eq!(total("2 - -2", &[]), 4);
}

#[test]
fn division_is_floor_division() {
    assert_eq!(total("7 / 2", &[]), 3);
    assert_eq!(total("7 // 2", &[]), 3);
    assert_eq!(total("-7 / 2", &[]), -4);
    assert_eq!(total("-7 // 2", &[]), -4);
    assert_eq!(total("7 / -2", &[]), -4);
    assert_eq!(total("-7 / -2", &[]), 3);
    assert_eq!(total("6 / 3", &[]), 2);
    assert_eq!(total("7 % 3", &[]), 1);
    assert_eq!(total("-7 % 3", &[]), 2);
    assert_eq!(total("7 % -3", &[]), -2);
    for (a, b) in [(7i64, 2i64), (-7, 2), (7, -2), (-7, -2), (9, 3), (-1, 5)] {
        let q = total(&format!("{a} / {b}"), &[]);
        let m = total(&format!("{a} % {b}"), &[]);
        assert_eq!(q * b + m, a, "{a} {b}");
    }
}

#[test]
fn comparisons_give_one_or_zero() {
    assert_eq!(total("3 > 2", &[]), 1);
    assert_eq!(total("3 < 2", &[]), 0);
    assert_eq!(total("3 >= 3", &[]), 1);
    assert_eq!(total("3 <= 2", &[]), 0);
    assert_eq!(total("3 == 3", &[]), 1);
    assert_eq!(total("3 != 3", &[]), 0);
    // Lowest precedence: (1 + 2) == 3.
    assert_eq!(total("1 + 2 == 3", &[]), 1);
    assert_eq!(bd("1d20 >= 15", &[15]), "1d20 (15) >= 15 = 1");
    assert_eq!(total("1d20 >= 15", &[14]), 0);
}

// ---------------------------------------------------------------- dice

#[test]
fn basic_dice() {
    assert_eq!(bd("1d20+5", &[20]), "1d20 (20) + 5 = 25");
    assert_eq!(bd("d20", &[7]), "1d20 (7) = 7");
    assert_eq!(bd("2d6 + 3", &[3, 4]), "2d6 (3, 4) + 3 = 10");
    assert_eq!(bd("d%", &[55]), "1d100 (55) = 55");
    assert_eq!(bd("1d%", &[100]), "1d100 (100) = 100");
    assert_eq!(bd("0d6", &[]), "0d6 () = 0");
    assert_eq!(bd("1D20 + 1D4", &[10, 2]), "1d20 (10) + 1d4 (2) = 12");
    let roll = r("2d6", &[3, 4]);
    assert_eq!(roll.expr, "2d6");
    assert_eq!(
        roll.dice,
        vec![
            RolledDie {
                sides: 6,
                value: 3,
                kept: true
            },
            RolledDie {
                sides: 6,
                value: 4,
                kept: true
            },
        ]
    );
}

#[test]
fn dice_pass_the_right_sides() {
    let mut d = ScriptedDice::new([1, 2, 3]);
    roll("1d4 + 1d8 * d%", &mut d).unwrap();
    assert_eq!(d.log, vec![(4, 1), (8, 2), (100, 3)]);
}

#[test]
fn whitespace_anywhere_between_tokens() {
    assert_eq!(total(" 4 d 6 k h 3 + 1 ", &[5, 3, 1, 6]), 15);
    assert_eq!(total("\t1d20\n+\n5", &[10]), 15);
    assert_eq!(norm("  ( 1d4 , 2 ) k h 1 "), "(1d4, 2)kh1");
}

#[test]
fn case_insensitive() {
    assert_eq!(norm("4D6KH3"), "4d6kh3");
    assert_eq!(norm("1D20RO1MI2MA19"), "1d20ro1mi2ma19");
    assert_eq!(norm("ADV"), "2d20kh1");
    assert_eq!(norm("1d20 DIS"), "2d20kl1");
}

// ---------------------------------------------------------------- keep / drop

#[test]
fn keep_highest_example() {
    assert_eq!(bd("4d6kh3", &[5, 3, 1, 6]), "4d6kh3 (5, 3, ~~1~~, 6) = 14");
    let roll = r("4d6kh3", &[5, 3, 1, 6]);
    assert_eq!(
        roll.dice.iter().map(|d| d.kept).collect::<Vec<_>>(),
        [true, true, false, true]
    );
}

#[test]
fn keep_and_drop_selectors() {
    assert_eq!(bd("2d20kl1", &[15, 4]), "2d20kl1 (~~15~~, 4) = 4");
    assert_eq!(bd("4d6pl1", &[5, 3, 1, 6]), "4d6pl1 (5, 3, ~~1~~, 6) = 14");
    assert_eq!(bd("4d6ph1", &[5, 3, 1, 6]), "4d6ph1 (5, 3, 1, ~~6~~) = 9");
    assert_eq!(
        bd("8d6p<3", &[1, 2, 3, 4, 5, 6, 2, 3]),
        "8d6p<3 (~~1~~, ~~2~~, 3, 4, 5, 6, ~~2~~, 3) = 21"
    );
    assert_eq!(
        bd("4d6k>4", &[5, 3, 1, 6]),
        "4d6k>4 (5, ~~3~~, ~~1~~, 6) = 11"
    );
    assert_eq!(
        bd("4d6k<4", &[5, 3, 1, 6]),
        "4d6k<4 (~~5~~, 3, 1, ~~6~~) = 4"
    );
    // A bare number is a literal value, not a count.
    assert_eq!(bd("4d6k3", &[5, 3, 1, 3]), "4d6k3 (~~5~~, 3, ~~1~~, 3) = 6");
    assert_eq!(bd("4d6p3", &[5, 3, 1, 3]), "4d6p3 (5, ~~3~~, 1, ~~3~~) = 6");
    // Keeping more than there are keeps all; keeping none keeps none.
    assert_eq!(total("2d6kh5", &[2, 3]), 5);
    assert_eq!(total("2d6kh0", &[2, 3]), 0);
    // Ties go to the earlier die.
    assert_eq!(bd("2d20kh1", &[9, 9]), "2d20kh1 (9, ~~9~~) = 9");
}

#[test]
fn operators_chain_left_to_right() {
    // Drop the lowest, then keep the highest two of the rest.
    assert_eq!(
        bd("5d6pl1kh2", &[2, 6, 1, 5, 4]),
        "5d6pl1kh2 (~~2~~, 6, ~~1~~, 5, ~~4~~) = 11"
    );
    // Later operators consider only kept dice.
    assert_eq!(total("4d6kh3pl1", &[5, 3, 1, 6]), 11);
    assert_eq!(total("5d6p1kh2", &[1, 1, 4, 2, 6]), 10);
}

/// d20: a run of the same operator is one operation whose selectors are a union.
#[test]
fn repeated_operators_are_a_union() {
    // The example, checked against d20: highest three plus lowest one.
    assert_eq!(
        bd("4d6kh3kl1", &[1, 2, 3, 4]),
        "4d6kh3kl1 (1, 2, 3, 4) = 10"
    );
    assert_eq!(total("4d6kh3kl1", &[5, 3, 1, 6]), 15);
    assert_eq!(
        bd("5d6kh1kl1", &[3, 6, 2, 5, 1]),
        "5d6kh1kl1 (~~3~~, 6, ~~2~~, ~~5~~, 1) = 7"
    );
    // Drop the highest and the lowest.
    assert_eq!(
        bd("4d6ph1pl1", &[3, 6, 2, 5]),
        "4d6ph1pl1 (3, ~~6~~, ~~2~~, 5) = 8"
    );
    // Ties: as in d20, both the highest and the lowest of two equal dice are the
    // first die, so only it is dropped.
    assert_eq!(bd("2d6ph1pl1", &[4, 4]), "2d6ph1pl1 (~~4~~, 4) = 4");
    // Overlapping selectors select once.
    assert_eq!(total("3d6kh2kh2", &[1, 5, 6]), 11);
    assert_eq!(total("3d6k6k>4", &[1, 5, 6]), 11);
    // rr1rr2 rerolls until neither 1 nor 2 (sequentially, a later 1 would stay).
    assert_eq!(
        bd("1d6rr1rr2", &[2, 1, 2, 4]),
        "1d6rr1rr2 (~~2~~, ~~1~~, ~~2~~, 4) = 4"
    );
    // ro: each die matching either selector is rerolled once (the last die first).
    assert_eq!(
        bd("2d6ro1ro2", &[1, 2, 1, 2]),
        "2d6ro1ro2 (~~1~~, 2, ~~2~~, 1) = 3"
    );
    // e5e6: a 5 or a 6 explodes.
    assert_eq!(bd("1d6e5e6", &[5, 6, 2]), "1d6e5e6 (5!, 6!, 2) = 13");
    // ra adds at most one die per operation.
    assert_eq!(bd("2d6ra1ra2", &[2, 1, 4]), "2d6ra1ra2 (2, 1!, 4) = 7");
    // A different operator in between ends the run: keep-highest-3 then keep-lowest-1.
    assert_eq!(total("4d6kh3p9kl1", &[1, 2, 3, 4]), 2);
    // mi / ma never merge.
    assert_eq!(total("1d20mi5mi3", &[1]), 5);
    // Sets too.
    assert_eq!(total("(1, 2, 3, 4)kh1kl1", &[]), 5);
    assert_eq!(total("(1, 2, 3, 4)ph1pl1", &[]), 5);
    // A union that matches every face would never stop.
    assert!(matches!(err("1d6rr<4rr>3"), DiceError::Unbounded { .. }));
    assert!(matches!(err("1d2e1e2"), DiceError::Unbounded { .. }));
    // The normalised form keeps the run, so it parses back to the same meaning.
    assert_eq!(norm("4d6KH3KL1"), "4d6kh3kl1");
}

/// d20: set operators after a parenthesis act on what is inside it.
#[test]
fn parenthesised_dice_take_set_operators() {
    assert_eq!(bd("(1d20)kh1", &[17]), "(1d20 (17))kh1 = 17");
    assert_eq!(total("(1d20)kh1 + 5", &[17]), 22);
    // On the inner dice: (4d6)kh3 keeps the highest three dice.
    assert_eq!(
        bd("(4d6)kh3", &[2, 6, 1, 5]),
        "(4d6 (2, 6, ~~1~~, 5))kh3 = 13"
    );
    // ((10d6kh5)kl2)kh1: the highest five, of those the lowest two, of those the
    // highest one — the fourth-highest die. Sequential across parentheses, not a union.
    let nested = r("((10d6kh5)kl2)kh1", &[1, 2, 3, 4, 5, 6, 1, 2, 3, 4]);
    assert_eq!(nested.total, 4);
    assert_eq!(nested.dice.iter().filter(|d| d.kept).count(), 1);
    assert_eq!(norm("( ( 10d6kh5 ) kl2 ) kh1"), "((10d6kh5)kl2)kh1");
    // (4d6kh3)kh2 is not 4d6kh3kh2.
    assert_eq!(total("(4d6kh3)kh2", &[6, 5, 4, 1]), 11);
    // A non-dice inside is one element: kept or dropped as a whole.
    assert_eq!(total("(1d4 + 1)kh1", &[3]), 4);
    assert_eq!(total("(5)p5 + 2", &[]), 2);
    assert_eq!(bd("(2 + 3)p<9", &[]), "(~~2 + 3~~)p<9 = 0");
    // A set inside: its elements.
    assert_eq!(total("((1, 5, 3))kh1", &[]), 5);
    assert_eq!(total("((1, 5, 3)kh2)kl1", &[]), 3);
    // Crits see the kept die.
    assert_eq!(r("(1d20)kh1", &[20]).crit, Crit::Success);
    assert_eq!(r("(2d20)kh1", &[1, 20]).crit, Crit::Success);
    // Advantage reaches inside.
    assert_eq!(norm("(1d20)kh1 adv"), "(2d20kh1)kh1");
    // Doubling (critical damage) doubles the inner dice.
    assert_eq!(parse("(2d6)kh1").unwrap().doubled().to_string(), "(4d6)kh1");
    // Only k and p: the other operators still work on dice only.
    assert!(msg("(1d6)rr1").contains("works on dice, not on sets"));
    assert!(msg("(1d6)kh1e6").contains("works on dice, not on sets"));
}

// ---------------------------------------------------------------- rerolls

#[test]
fn reroll_once() {
    assert_eq!(bd("1d20ro1", &[1, 15]), "1d20ro1 (~~1~~, 15) = 15");
    assert_eq!(bd("1d20ro1", &[1, 1]), "1d20ro1 (~~1~~, 1) = 1");
    assert_eq!(bd("1d20ro1", &[7]), "1d20ro1 (7) = 7");
    // Great weapon fighting.
    assert_eq!(bd("2d6ro<3", &[1, 5, 2]), "2d6ro<3 (~~1~~, 2, 5) = 7");
    // h/l selectors work with ro.
    assert_eq!(
        bd("3d6rol1", &[4, 2, 5, 6]),
        "3d6rol1 (4, ~~2~~, 6, 5) = 15"
    );
    let roll = r("1d20ro1", &[1, 15]);
    assert_eq!(
        roll.dice,
        vec![
            RolledDie {
                sides: 20,
                value: 1,
                kept: false
            },
            RolledDie {
                sides: 20,
                value: 15,
                kept: true
            },
        ]
    );
}

#[test]
fn reroll_until_no_match() {
    assert_eq!(bd("1d6rr1", &[1, 1, 4]), "1d6rr1 (~~1~~, ~~1~~, 4) = 4");
    assert_eq!(
        bd("2d6rr<3", &[2, 5, 1, 3]),
        "2d6rr<3 (~~2~~, ~~1~~, 3, 5) = 8"
    );
    assert_eq!(bd("1d6rr>4", &[6, 5, 2]), "1d6rr>4 (~~6~~, ~~5~~, 2) = 2");
}

#[test]
fn reroll_and_add() {
    assert_eq!(bd("1d6ra6", &[6, 3]), "1d6ra6 (6!, 3) = 9");
    // At most one die is rerolled-and-added, and only once.
    assert_eq!(bd("2d6ra6", &[6, 6, 6]), "2d6ra6 (6!, 6, 6) = 18");
    assert_eq!(bd("2d6ra6", &[1, 2]), "2d6ra6 (1, 2) = 3");
    assert_eq!(bd("1d1ra1", &[1, 1]), "1d1ra1 (1!, 1) = 2");
}

// ---------------------------------------------------------------- explode

#[test]
fn explode() {
    assert_eq!(bd("1d6e6", &[6, 3]), "1d6e6 (6!, 3) = 9");
    assert_eq!(bd("1d6e6", &[6, 6, 2]), "1d6e6 (6!, 6!, 2) = 14");
    assert_eq!(bd("2d6e>4", &[5, 1, 6, 2]), "2d6e>4 (5!, 1, 6!, 2) = 14");
    assert_eq!(bd("1d6e6", &[4]), "1d6e6 (4) = 4");
    // Dropped dice don't explode.
    assert_eq!(bd("2d6pl1e1", &[1, 2]), "2d6pl1e1 (~~1~~, 2) = 2");
}

#[test]
fn explosions_and_rerolls_are_capped_by_the_dice_budget() {
    // Scripted dice that always roll 6 would explode forever.
    let mut d = ScriptedDice::new([]).with_fallback(6);
    let e = roll("1d6e6", &mut d).unwrap_err();
    assert_eq!(e, DiceError::TooManyRolls { max: MAX_DICE });
    assert_eq!(d.log.len(), MAX_DICE as usize);
    let mut d = ScriptedDice::new([]).with_fallback(1);
    let e = roll("1d6rr1", &mut d).unwrap_err();
    assert_eq!(e, DiceError::TooManyRolls { max: MAX_DICE });
    assert!(e.to_string().contains("1000"));
}

#[test]
fn loops_that_can_never_stop_are_rejected_before_rolling() {
    for src in ["1d1e1", "1d1rr1", "1d6rr<7", "1d6e>0", "2d4e<10", "3d1rr>0"] {
        match err(src) {
            DiceError::Unbounded { .. } => {}
            other => panic!("{src}: {other:?}"),
        }
    }
    assert_eq!(
        msg("1d1e1"),
        "`1d1e1` would never stop: every face of a d1 matches `e1`"
    );
    // These can stop, so they are fine.
    assert_eq!(total("1d1ro1", &[]), 1);
    assert_eq!(total("1d2rr1", &[1, 2]), 2);
    assert_eq!(total("1d6rr<6", &[6]), 6);
}

#[test]
fn h_and_l_selectors_are_refused_for_looping_operators() {
    for src in ["4d6rrl1", "4d6eh1"] {
        let m = msg(src);
        assert!(m.contains("needs a selector"), "{src}: {m}");
    }
}

// ---------------------------------------------------------------- min / max

#[test]
fn minimum_and_maximum() {
    assert_eq!(bd("1d20mi10", &[3]), "1d20mi10 (3 -> 10) = 10");
    assert_eq!(bd("1d20mi10", &[15]), "1d20mi10 (15) = 15");
    assert_eq!(bd("2d6ma4", &[6, 2]), "2d6ma4 (6 -> 4, 2) = 6");
    assert_eq!(bd("1d20mi10ma8", &[1]), "1d20mi10ma8 (1 -> 8) = 8");
    assert_eq!(bd("1d20mi10ma12", &[1]), "1d20mi10ma12 (1 -> 10) = 10");
    assert_eq!(total("1d6mi10", &[2]), 10);
    assert_eq!(r("1d20mi10", &[3]).dice[0].value, 10);
}

// ---------------------------------------------------------------- sets

#[test]
fn sets() {
    assert_eq!(
        bd("(1d4, 2+2, 3d6kl1)kh1", &[3, 2, 5, 6]),
        "(~~1d4 (3)~~, 2 + 2, ~~3d6kl1 (2, 5, 6)~~)kh1 = 4"
    );
    assert_eq!(total("(1, 2, 3)", &[]), 6);
    assert_eq!(bd("(1d20,)", &[12]), "(1d20 (12),) = 12");
    assert_eq!(
        bd("(1d20, 1d20)kh1", &[4, 17]),
        "(~~1d20 (4)~~, 1d20 (17))kh1 = 17"
    );
    assert_eq!(total("(5, 1, 3)pl1", &[]), 8);
    assert_eq!(total("(5, 1, 3)k>2", &[]), 8);
    assert_eq!(total("(-5, 1, 3)kl1", &[]), -5);
    assert_eq!(total("(1, 2,)", &[]), 3);
    // A dropped element's dice are not kept.
    let roll = r("(1d20, 1d20)kh1", &[4, 17]);
    assert_eq!(
        roll.dice.iter().map(|d| d.kept).collect::<Vec<_>>(),
        [false, true]
    );
}

#[test]
fn parenthesis_is_not_a_set() {
    assert_eq!(bd("(1d20)", &[5]), "(1d20 (5)) = 5");
    let m = msg("(1d20)ro1");
    assert!(m.contains("works on dice, not on sets"), "{m}");
    assert!(m.contains("position 7"), "{m}");
}

#[test]
fn sets_take_only_keep_and_drop() {
    let m = msg("(1d6, 1d6)rr1");
    assert!(m.contains("works on dice, not on sets"), "{m}");
    assert!(msg("(1d6, 1d6)e6").contains("not on sets"));
    assert!(msg("(1d6, 1d6)mi2").contains("not on sets"));
}

// ---------------------------------------------------------------- annotations

#[test]
fn annotations() {
    assert_eq!(bd("2d6[fire]", &[3, 4]), "2d6 (3, 4) [fire] = 7");
    assert_eq!(
        bd("1d8 [Slashing] + 2d6[fire] + 3", &[5, 1, 2]),
        "1d8 (5) [Slashing] + 2d6 (1, 2) [fire] + 3 = 11"
    );
    assert_eq!(bd("3[bonus][magic]", &[]), "3 [bonus] [magic] = 3");
    assert_eq!(
        bd("(1d4 + 1)[healing]", &[2]),
        "(1d4 (2) + 1) [healing] = 3"
    );
    assert_eq!(norm("1d6[  lots   of\n space ]"), "1d6 [lots of space]");
    assert_eq!(norm("1d6[a`b]"), "1d6 [a'b]");
    assert!(msg("1d6[fire").contains("never closed"));
}

// ---------------------------------------------------------------- adv / dis

#[test]
fn advantage_forms() {
    assert_eq!(norm("adv"), "2d20kh1");
    assert_eq!(norm("dis"), "2d20kl1");
    assert_eq!(norm("adv + 5"), "2d20kh1 + 5");
    assert_eq!(norm("1d20adv+5"), "2d20kh1 + 5");
    assert_eq!(norm("d20 adv + 5"), "2d20kh1 + 5");
    assert_eq!(norm("1d20 dis"), "2d20kl1");
    assert_eq!(norm("1d20ro1adv"), "2d20ro1kh1");
    assert_eq!(norm("1d20mi10 adv + 2"), "2d20mi10kh1 + 2");
    // Leading and trailing forms apply to the first d20.
    assert_eq!(norm("adv 1d20+5"), "2d20kh1 + 5");
    assert_eq!(norm("1d20+5 adv"), "2d20kh1 + 5");
    assert_eq!(norm("1d4 + 1d20 + 1d6 dis"), "1d4 + 2d20kl1 + 1d6");
    assert_eq!(norm("(1d20 + 5) adv"), "(2d20kh1 + 5)");
    assert_eq!(norm("dis (1d20 + 1d20)"), "(2d20kl1 + 1d20)");
    assert_eq!(bd("1d20adv+5", &[3, 15]), "2d20kh1 (~~3~~, 15) + 5 = 20");
    assert_eq!(bd("dis", &[3, 15]), "2d20kl1 (3, ~~15~~) = 3");
}

#[test]
fn advantage_errors() {
    assert!(msg("1d6 adv").contains("needs a d20"));
    assert!(msg("adv 5").contains("needs a d20"));
    assert!(msg("adv 2d20kh1").contains("single d20"));
    assert!(msg("adv 1d20 + 5 dis").contains("Unexpected `dis`"));
    assert_eq!(
        msg("(1d20 adv + 1d6 adv)"),
        "Unexpected `adv` at position 17: it goes right after a `1d20` (`1d20adv+5`) \
         or at the start or end of the whole roll"
    );
    assert!(msg("1d20 adv adv").contains("single d20"));
    assert!(msg("1d20 + 1 adv dis").contains("Unexpected `dis`"));
}

#[test]
fn advantage_methods() {
    let e = parse("1d20+5").unwrap();
    assert_eq!(e.advantage().unwrap().to_string(), "2d20kh1 + 5");
    assert_eq!(e.disadvantage().unwrap().to_string(), "2d20kl1 + 5");
    assert!(parse("2d6").unwrap().advantage().is_err());
}

// ---------------------------------------------------------------- crits

fn crit(src: &str, values: &[u32]) -> Crit {
    r(src, values).crit
}

#[test]
fn crit_detection() {
    assert_eq!(crit("1d20+5", &[20]), Crit::Success);
    assert_eq!(crit("1d20+5", &[1]), Crit::Failure);
    assert_eq!(crit("1d20+5", &[19]), Crit::None);
    assert_eq!(crit("d20", &[20]), Crit::Success);
    assert_eq!(crit("2d20kh1", &[20, 3]), Crit::Success);
    assert_eq!(crit("2d20kh1", &[1, 20]), Crit::Success);
    assert_eq!(crit("2d20kl1", &[1, 20]), Crit::Failure);
    assert_eq!(crit("1d20adv", &[1, 1]), Crit::Failure);
    assert_eq!(crit("adv + 3", &[20, 2]), Crit::Success);
    assert_eq!(crit("1d20ro1", &[1, 20]), Crit::Success);
    assert_eq!(crit("1d20ro1", &[1, 1]), Crit::Failure);
    // Minimum applies first.
    assert_eq!(crit("1d20mi10", &[1]), Crit::None);
    // The first dice term decides, even after a literal.
    assert_eq!(crit("5 + 1d20", &[20]), Crit::Success);
    assert_eq!(crit("-1d20", &[20]), Crit::Success);
    // Not a d20 first, or not exactly one kept d20.
    assert_eq!(crit("1d6 + 1d20", &[6, 20]), Crit::None);
    assert_eq!(crit("2d20", &[20, 20]), Crit::None);
    assert_eq!(crit("1d20ra20", &[20, 5]), Crit::None);
    assert_eq!(crit("2d6", &[6, 6]), Crit::None);
    assert_eq!(crit("20", &[]), Crit::None);
    // Sets: the first term that the set kept.
    assert_eq!(crit("(1d20, 1d20)kh1", &[4, 20]), Crit::Success);
    assert_eq!(crit("(1d20, 1d20)kh1", &[20, 4]), Crit::Success);
    assert_eq!(crit("(1d20, 1d20)kl1", &[20, 4]), Crit::None);
    assert_eq!(crit("(1d6, 1d20)kh1", &[1, 20]), Crit::Success);
}

#[test]
fn crit_serialises_lower_case() {
    assert_eq!(
        serde_json::to_string(&Crit::Success).unwrap(),
        "\"success\""
    );
    assert_eq!(serde_json::to_string(&Crit::None).unwrap(), "\"none\"");
}

// ---------------------------------------------------------------- doubled

#[test]
fn doubled_doubles_every_dice_term() {
    let d = |s: &str| parse(s).unwrap().doubled().to_string();
    assert_eq!(d("1d8+3"), "2d8 + 3");
    assert_eq!(d("2d6 + 1d8[fire] + 5"), "4d6 + 2d8 [fire] + 5");
    assert_eq!(d("(1d4, 3)kh1"), "(2d4, 3)kh1");
    assert_eq!(d("-(1d6 * 2)"), "-(2d6 * 2)");
    assert_eq!(d("7"), "7");
    let e = parse("1d8+3").unwrap().doubled();
    assert_eq!(e.dice_count(), 2);
    assert_eq!(e.bounds(), (5, 19));
    let mut dice = ScriptedDice::new([8, 8]);
    let roll = e.roll(&mut dice).unwrap();
    assert_eq!(roll.breakdown, "2d8 (8, 8) + 3 = 19");
    // Doubling past the dice limit fails cleanly when rolled.
    let big = parse("600d6").unwrap().doubled();
    assert!(matches!(
        big.roll(&mut SeededDice::new(1)),
        Err(DiceError::TooManyDice { .. })
    ));
}

// ---------------------------------------------------------------- display / helpers

#[test]
fn display_is_normalised_and_round_trips() {
    let cases = [
        ("d20+5", "1d20 + 5"),
        ("4d6KH3", "4d6kh3"),
        ("d%", "1d100"),
        ("1d20ro1e20mi2ma19", "1d20ro1e20mi2ma19"),
        ("(1d4,2+2,3d6kl1)kh1", "(1d4, 2 + 2, 3d6kl1)kh1"),
        ("(1d20,)", "(1d20,)"),
        ("-(2)*--3//4%5", "-(2) * --3 // 4 % 5"),
        ("1d6[fire]+2", "1d6 [fire] + 2"),
        ("1<2 != 3>=4", "1 < 2 != 3 >= 4"),
        ("8d6p<3k>1", "8d6p<3k>1"),
    ];
    for (src, want) in cases {
        let e = parse(src).unwrap();
        assert_eq!(e.to_string(), want, "{src}");
        assert_eq!(parse(want).unwrap(), e, "{src} round trip");
    }
}

#[test]
fn helpers() {
    let e = parse("4d6kh3 + 1d20 + 2").unwrap();
    assert_eq!(e.dice_count(), 5);
    assert!(e.has_dice());
    assert!(!e.starts_with_d20());
    assert!(parse("1d20+4").unwrap().starts_with_d20());
    assert!(!parse("3 + 4").unwrap().has_dice());
    let e: Expr = "2d6+3".parse().unwrap();
    assert_eq!(e.to_string(), "2d6 + 3");
}

#[test]
fn expr_serialises_as_its_source() {
    let e = parse("d20 + 5").unwrap();
    assert_eq!(serde_json::to_string(&e).unwrap(), "\"1d20 + 5\"");
    let back: Expr = serde_json::from_str("\"1d20 + 5\"").unwrap();
    assert_eq!(back, e);
    assert!(serde_json::from_str::<Expr>("\"1d0\"").is_err());
}

#[test]
fn bounds_are_analytic() {
    let b = |s: &str| parse(s).unwrap().bounds();
    assert_eq!(b("1d20+5"), (6, 25));
    assert_eq!(b("4d6kh3"), (3, 18));
    assert_eq!(b("4d6pl1"), (3, 18));
    assert_eq!(b("2d20kh1"), (1, 20));
    assert_eq!(b("-1d6"), (-6, -1));
    assert_eq!(b("1d6 - 1d4"), (-3, 5));
    assert_eq!(b("1d6 * -2"), (-12, -2));
    assert_eq!(b("1d20mi10"), (10, 20));
    assert_eq!(b("1d20ma5"), (1, 5));
    assert_eq!(b("1d6 / 2"), (0, 3));
    assert_eq!(b("10 / 1d4"), (2, 10));
    assert_eq!(b("1d20 % 7"), (0, 6));
    assert_eq!(b("1d20 >= 10"), (0, 1));
    assert_eq!(b("(1d4, 1d6)"), (2, 10));
    assert_eq!(b("(1d4, 1d6)kh1"), (0, 10));
    assert_eq!(b("0d6"), (0, 0));
    assert_eq!(b("8d6p<3"), (0, 48));
    let (lo, hi) = b("1d6e6");
    assert_eq!(lo, 1);
    assert!(hi >= 6 * 1000);
}

// ---------------------------------------------------------------- breakdown limits

#[test]
fn long_dice_lists_are_elided() {
    let roll = roll("100d6", &mut SeededDice::new(3)).unwrap();
    assert!(roll.breakdown.contains(", ..., "), "{}", roll.breakdown);
    assert!(roll.breakdown.ends_with(&format!(" = {}", roll.total)));
    assert_eq!(roll.dice.len(), 100);
    // The elided view has 20 + 10 dice.
    let inner = roll
        .breakdown
        .split('(')
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert_eq!(inner.split(", ").count(), 31);
    // Short lists are not elided.
    let roll = super::roll("40d6", &mut SeededDice::new(3)).unwrap();
    assert!(!roll.breakdown.contains("..."));
}

#[test]
fn breakdown_stays_under_the_limit() {
    let long_sum = vec!["1d20"; 99].join("+");
    let long_annot = format!("1d6[{}] + 1d6[{}]", "x".repeat(240), "y".repeat(240));
    let many_kinds = ["40d10000e>5000"; 5].join("+");
    for src in [long_sum.as_str(), long_annot.as_str(), many_kinds.as_str()] {
        for seed in 0..5 {
            let res = roll(src, &mut SeededDice::new(seed));
            let Ok(roll) = res else { continue };
            let n = roll.breakdown.chars().count();
            assert!(n < MAX_BREAKDOWN_CHARS, "{n}: {}", roll.breakdown);
            assert!(roll.breakdown.ends_with(&format!(" = {}", roll.total)));
            assert_eq!(roll.breakdown.matches("~~").count() % 2, 0);
        }
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn error_empty() {
    assert_eq!(err(""), DiceError::Empty);
    assert_eq!(err("   \n"), DiceError::Empty);
    assert_eq!(msg(""), "There is nothing to roll");
}

#[test]
fn error_too_long() {
    let src = "1+".repeat(250) + "1";
    assert_eq!(err(&src), DiceError::TooLong { max: 500 });
    // Exactly 500 characters is fine.
    let ok = "1+".repeat(249) + "11";
    assert_eq!(ok.chars().count(), 500);
    assert_eq!(total(&ok, &[]), 249 + 11);
    // Huge inputs fail fast.
    let huge = "1".repeat(10_000_000);
    assert_eq!(err(&huge), DiceError::TooLong { max: 500 });
}

#[test]
fn error_zero_sides() {
    assert_eq!(msg("1d0"), "A die needs at least one side: `1d0`");
    assert_eq!(msg("d0"), "A die needs at least one side: `d0`");
    assert!(matches!(err("2d0 + 1"), DiceError::ZeroSides(_)));
}

#[test]
fn error_too_many_sides() {
    assert!(matches!(err("1d10001"), DiceError::TooManySides { .. }));
    assert_eq!(total("1d10000", &[9999]), 9999);
    assert!(matches!(
        err("1d99999999999999999999999"),
        DiceError::TooManySides { .. }
    ));
    assert_eq!(
        msg("1d20000"),
        "Dice can have at most 10000 sides: `1d20000`"
    );
}

#[test]
fn error_too_many_dice_fails_fast() {
    // Refused while parsing: not one die is rolled (no time-based assertion; speed is
    // measured by the engine benchmark).
    let mut d = crate::dice::ScriptedDice::new([]);
    assert!(roll("1000000d6", &mut d).is_err());
    assert!(d.log.is_empty(), "nothing rolled before refusing");
    assert_eq!(
        msg("1000000d6"),
        "Too many dice: `1000000d6` (at most 1000 per roll)"
    );
    assert!(matches!(
        err("99999999999999999999999999d6"),
        DiceError::TooManyDice { .. }
    ));
    assert!(matches!(
        err("600d6 + 600d6"),
        DiceError::TooManyDice { .. }
    ));
    assert_eq!(
        msg("600d6+600d6"),
        "Too many dice: 1200 in total (at most 1000 per roll)"
    );
    // Nothing was rolled.
    let mut d = ScriptedDice::new([]);
    assert!(roll("600d6 + 600d6", &mut d).is_err());
    assert!(d.log.is_empty());
    // 1000 is allowed.
    assert_eq!(
        roll("1000d6", &mut SeededDice::new(1)).unwrap().dice.len(),
        1000
    );
    assert_eq!(
        roll("500d6+500d6", &mut SeededDice::new(1))
            .unwrap()
            .dice
            .len(),
        1000
    );
    // Rerolls count towards the limit.
    let mut d = ScriptedDice::new([]).with_fallback(1);
    assert_eq!(
        roll("1000d6ro1", &mut d).unwrap_err(),
        DiceError::TooManyRolls { max: 1000 }
    );
}

#[test]
fn error_nesting() {
    let deep = "(".repeat(51) + "1" + &")".repeat(51);
    assert_eq!(err(&deep), DiceError::TooDeep { max: 50 });
    let ok = "(".repeat(50) + "1" + &")".repeat(50);
    assert_eq!(total(&ok, &[]), 1);
    let signs = "-".repeat(60) + "1";
    assert_eq!(err(&signs), DiceError::TooDeep { max: 50 });
    let sets = "(".repeat(51) + "1," + &")".repeat(51);
    assert_eq!(err(&sets), DiceError::TooDeep { max: 50 });
}

#[test]
fn error_division_by_zero() {
    assert_eq!(msg("1d6 / 0"), "Can't divide by zero: `1d6 / 0`");
    assert!(matches!(err("5 // (2 - 2)"), DiceError::DivisionByZero(_)));
    assert!(matches!(err("5 % 0"), DiceError::DivisionByZero(_)));
    let mut d = ScriptedDice::new([3]);
    assert!(matches!(
        roll("10 / (1d6 - 3)", &mut d),
        Err(DiceError::DivisionByZero(_))
    ));
}

#[test]
fn error_overflow() {
    assert_eq!(total("9223372036854775807", &[]), i64::MAX);
    assert!(matches!(
        err("9223372036854775808"),
        DiceError::NumberTooLarge(_)
    ));
    assert_eq!(err("9223372036854775807 + 1"), DiceError::Overflow);
    assert_eq!(err("-9223372036854775807 - 2"), DiceError::Overflow);
    assert_eq!(err("4611686018427387904 * 2"), DiceError::Overflow);
    assert_eq!(err("(-9223372036854775807 - 1) / -1"), DiceError::Overflow);
    assert_eq!(err("-(-9223372036854775807 - 1)"), DiceError::Overflow);
    assert_eq!(total("(-9223372036854775807 - 1) % -1", &[]), 0);
    assert_eq!(
        msg("9223372036854775807 + 1"),
        "The numbers get too large to compute"
    );
    assert!(matches!(
        err("4d6k99999999999999999999"),
        DiceError::NumberTooLarge(_)
    ));
}

#[test]
fn error_unexpected_with_position() {
    assert_eq!(msg("1d20x"), "Unexpected `x` at position 5");
    assert_eq!(msg("1d20 + str"), "Unexpected `str` at position 8");
    assert_eq!(msg("1d20 + dex"), "Unexpected `dex` at position 8");
    assert_eq!(msg("1d20 + kha"), "Unexpected `kha` at position 8");
    assert_eq!(msg("1d20 5"), "Unexpected `5` at position 6");
    assert_eq!(msg("2d6)"), "Unexpected `)` at position 4");
    assert_eq!(msg("1.5"), "Unexpected `.` at position 2");
    assert_eq!(msg("1d6 + é"), "Unexpected `é` at position 7");
    assert_eq!(msg("1 ` 2"), "Unexpected `` ` `` at position 3");
    assert!(msg("1 = 2").contains("=="));
    assert!(matches!(
        err("1 + * 2"),
        DiceError::Unexpected { pos: 5, .. }
    ));
    assert!(matches!(err("1d"), DiceError::UnexpectedEnd { .. }));
    assert_eq!(
        msg("2d6+"),
        "The expression ends too soon: expected a number or dice"
    );
    assert_eq!(
        msg("(1d6"),
        "The expression ends too soon: expected a closing `)`"
    );
    assert!(msg("1d-5").contains("Expected the number of sides"));
    assert!(msg("4d6k").contains("needs a selector"));
    assert_eq!(
        msg("4d6kh"),
        "Expected a number after `kh` at position 4, found nothing"
    );
    assert!(msg("4d6p<)").contains("Expected a number after `p<` at position 4, found `)`"));
    assert!(msg("1d20mi").contains("Expected a number after `mi`"));
    assert!(msg("1d20mi20000").contains("at most 10000"));
    assert!(msg("()").contains("Empty brackets"));
}

#[test]
fn errors_are_one_line() {
    let cases = [
        "",
        "1d0",
        "1d\n0",
        "1d20\nx",
        "1\u{0}",
        "1d6[\nfire",
        "1d6[a]/0",
        "(1d20)\nrr1",
        "adv\n2d20",
    ];
    for src in cases {
        let m = msg(src);
        assert_eq!(m.lines().count(), 1, "{src:?}: {m:?}");
        assert!(!m.chars().any(char::is_control), "{src:?}: {m:?}");
    }
}

// ---------------------------------------------------------------- misc

#[test]
fn seeded_rolls_are_in_range_and_repeatable() {
    for src in [
        "1d20+5",
        "4d6kh3",
        "8d6",
        "adv+3",
        "1d6e6",
        "(1d8, 1d10)kh1 * 2",
    ] {
        let e = parse(src).unwrap();
        let (lo, hi) = e.bounds();
        for seed in 0..50 {
            let a = e.roll(&mut SeededDice::new(seed)).unwrap();
            let b = e.roll(&mut SeededDice::new(seed)).unwrap();
            assert_eq!(a, b);
            assert!((lo..=hi).contains(&a.total), "{src}: {}", a.breakdown);
        }
    }
}
