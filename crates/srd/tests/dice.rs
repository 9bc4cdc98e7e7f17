//! Every dice string in the catalog is in a grammar the engine can roll:
//! `term (("+" | "-") term)*` where `term` is `NdM` (N, M >= 1) or a whole number `K`.
//! That is the brief's `NdM(+/-K)*`, widened for what the SRD really holds: flat damage
//! ("1" for a cat's claws, "10" for a spell's healing) and sums of dice ("2d8+4d6").

use dicebard_srd::catalog;

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn term_ok(t: &str) -> bool {
    match t.split_once('d') {
        Some((n, m)) => matches!((number(n), number(m)), (Some(n), Some(m)) if n >= 1 && m >= 1),
        None => number(t).is_some(),
    }
}

/// Hand-written check of `term (("+" | "-") term)*`.
fn dice_ok(s: &str) -> bool {
    let mut term = String::new();
    for c in s.chars() {
        if c == '+' || c == '-' {
            if !term_ok(&term) {
                return false;
            }
            term.clear();
        } else {
            term.push(c);
        }
    }
    term_ok(&term)
}

#[test]
fn grammar_itself() {
    for ok in [
        "1d6",
        "1d6+2",
        "2d10+8",
        "3d4+3",
        "1",
        "10",
        "2d8+4d6",
        "1d4-1",
        "20d6+20d6",
    ] {
        assert!(dice_ok(ok), "{ok}");
    }
    for bad in [
        "", "d6", "1d", "1d6+", "+1d6", "1d6 + 2", "1d8+MOD", "0d6", "1d0", "1d6++2", "x",
    ] {
        assert!(!dice_ok(bad), "{bad}");
    }
}

#[test]
fn every_catalog_dice_string_parses() {
    let c = catalog();
    let mut checked = 0;
    let mut check = |what: String, dice: &str| {
        assert!(dice_ok(dice), "{what}: {dice:?}");
        checked += 1;
    };
    for m in c.monsters.values() {
        check(format!("monster {} hit dice", m.index), &m.hit_dice);
        for a in &m.actions {
            for p in &a.damage {
                check(format!("monster {} action {}", m.index, a.name), &p.dice);
            }
        }
    }
    for s in c.spells.values() {
        // Spiritual weapon's damage is "1d8+MOD" like healing; MOD reads as 0 here.
        for (level, dice) in s
            .damage_at_slot_level
            .iter()
            .chain(&s.damage_at_character_level)
        {
            let d = dice.replace("MOD", "0");
            check(format!("spell {} damage at {level}", s.index), &d);
        }
        for (level, dice) in &s.heal_at_slot_level {
            let d = dice.replace("MOD", "0");
            check(format!("spell {} healing at {level}", s.index), &d);
        }
    }
    for w in c.weapons.values() {
        for p in w.damage.iter().chain(&w.two_handed_damage) {
            check(format!("weapon {}", w.index), &p.dice);
        }
    }
    assert!(checked > 1300, "only {checked} dice strings checked");
}

#[test]
fn mod_only_appears_as_a_trailing_plus_term() {
    let mut with_mod = Vec::new();
    for s in catalog().spells.values() {
        for dice in s
            .heal_at_slot_level
            .values()
            .chain(s.damage_at_slot_level.values())
            .chain(s.damage_at_character_level.values())
        {
            if dice.contains("MOD") {
                assert!(dice.ends_with("+MOD"), "{}: {dice}", s.index);
                assert_eq!(dice.matches("MOD").count(), 1, "{}: {dice}", s.index);
                with_mod.push(s.index.as_str());
            }
        }
        for dice in s
            .damage_at_slot_level
            .values()
            .chain(s.damage_at_character_level.values())
        {
            assert!(
                !dice.contains("MOD") || s.index == "spiritual-weapon",
                "{}: {dice}",
                s.index
            );
        }
    }
    assert!(with_mod.contains(&"cure-wounds"));
    assert!(with_mod.contains(&"spiritual-weapon"));
}
