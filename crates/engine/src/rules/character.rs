//! Character advancement outside fights: preparing spells after a long rest and
//! levelling up (hit points, ability score improvements, proficiency, attacks, slots,
//! new spells, expertise). The rules of which spells are legal are in
//! [`crate::spell_choice`].

use super::Emitter;
use crate::ability::{Ability, Skill, proficiency_bonus_for_level};
use crate::character::{add_expertise, attacks_per_action_for, kit_armor_class, weapon_attack};
use crate::creature::{Creature, Spellcasting};
use crate::data::{ClassData, to_index};
use crate::error::RuleError;
use crate::event::EventKind;
use crate::ids::CreatureId;
use crate::spell_choice::{CasterKind, cantrips_allowed, caster_kind, check_counts, legal_spell};

fn class_of(em: &Emitter, c: &Creature) -> Result<ClassData, RuleError> {
    let pc =
        c.pc.as_ref()
            .ok_or_else(|| RuleError::invalid("Only player characters do that."))?;
    em.state
        .catalog
        .class(&pc.class)
        .cloned()
        .ok_or_else(|| RuleError::invalid("That character's class is not in the SRD."))
}

/// Why a character cannot cast a spell it does not have ready, by its class's rules.
pub(crate) fn why_not_ready(c: &Creature, spell: &crate::data::SpellData) -> RuleError {
    let Some(pc) = c.pc.as_ref() else {
        return RuleError::SpellNotKnown {
            who: c.name.clone(),
            spell: spell.name.clone(),
        };
    };
    let on_list = spell.classes.iter().any(|k| k == &pc.class);
    let max = c.spellcasting.as_ref().map_or(0, |sc| {
        sc.max_slots
            .iter()
            .rposition(|n| *n > 0)
            .map_or(0, |i| i as u8 + 1)
    });
    let msg = match caster_kind(&pc.class) {
        _ if !on_list => format!(
            "{} is not on the {} spell list, so {} can't cast it.",
            spell.name, pc.class, c.name
        ),
        _ if spell.level > max => format!(
            "A level {} {} can't cast level {} spells like {} yet.",
            pc.level, pc.class, spell.level, spell.name
        ),
        _ if spell.level == 0 => format!(
            "{} doesn't know the cantrip {} (cantrips are chosen at creation and on level up).",
            c.name, spell.name
        ),
        Some(CasterKind::Spellbook) if !pc.spellbook.iter().any(|s| s == &spell.index) => format!(
            "{} is not in {}'s spellbook (a wizard learns two spells a level: `levelup ... spells`).",
            spell.name, c.name
        ),
        Some(CasterKind::Spellbook) | Some(CasterKind::Prepared) => format!(
            "{} hasn't prepared {} — prepared spells change after a long rest (`prepare SPELL, …`).",
            c.name, spell.name
        ),
        Some(CasterKind::Known) | None => format!(
            "{} doesn't know the spell {} ({}s learn new spells when they level up).",
            c.name, spell.name, pc.class
        ),
    };
    RuleError::invalid(msg)
}

/// `prepare SPELL, …`: replaces a prepared caster's levelled spells, after a long rest.
pub(crate) fn prepare(
    em: &mut Emitter,
    me: CreatureId,
    wanted: &[String],
) -> Result<(), RuleError> {
    let c = em.creature(me).clone();
    let class = class_of(em, &c)?;
    let pc =
        c.pc.clone()
            .unwrap_or_else(|| unreachable!("class_of checked"));
    let kind = caster_kind(&class.index);
    match kind {
        None => {
            return Err(RuleError::invalid(format!(
                "{}s don't cast spells.",
                class.name
            )));
        }
        Some(CasterKind::Known) => {
            return Err(RuleError::invalid(format!(
                "{}s know their spells rather than prepare them; they learn new ones when \
                 they level up.",
                class.name
            )));
        }
        Some(_) => {}
    }
    if em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "You prepare spells after a long rest, not in the middle of a fight.".into(),
        ));
    }
    if !pc.may_prepare {
        return Err(RuleError::invalid(format!(
            "{} can change prepared spells only after a long rest.",
            c.name
        )));
    }
    if wanted.is_empty() {
        return Err(RuleError::invalid("Name the spells to prepare."));
    }
    if wanted.len() > 100 {
        return Err(RuleError::invalid("That is far too many spells."));
    }
    let Some(sc) = c.spellcasting.as_ref() else {
        return Err(RuleError::invalid(format!(
            "A level {} {} has no spell slots yet.",
            pc.level, class.name
        )));
    };
    let catalog = em.state.catalog.clone();
    let mut cantrips: Vec<String> = sc
        .spells
        .iter()
        .filter(|s| catalog.spell(s).is_some_and(|d| d.level == 0))
        .cloned()
        .collect();
    let mut levelled: Vec<String> = Vec::new();
    for w in wanted {
        let sd = legal_spell(&catalog, &class, pc.level, w)?;
        if sd.level == 0 {
            if !cantrips.contains(&sd.index) {
                return Err(RuleError::invalid(format!(
                    "{} is a cantrip: cantrips are chosen at creation and on level up, not \
                     prepared.",
                    sd.name
                )));
            }
            continue;
        }
        if kind == Some(CasterKind::Spellbook) && !pc.spellbook.contains(&sd.index) {
            return Err(RuleError::invalid(format!(
                "{} is not in {}'s spellbook.",
                sd.name, c.name
            )));
        }
        if !levelled.contains(&sd.index) {
            levelled.push(sd.index.clone());
        }
    }
    check_counts(&class, pc.level, &c.abilities, 0, levelled.len())?;
    cantrips.extend(levelled);
    em.public(EventKind::SpellsPrepared {
        creature: me,
        spells: cantrips,
    });
    Ok(())
}

/// `levelup [ABILITY ABILITY] [spells …] [expertise …]`: one more level.
pub(crate) fn level_up(
    em: &mut Emitter,
    me: CreatureId,
    asi: &[Ability],
    spells: &[String],
    expertise: &[Skill],
    fighting_style: Option<&str>,
    options: &[String],
) -> Result<(), RuleError> {
    if em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "Level up between fights, not in the middle of one.".into(),
        ));
    }
    if spells.len() > 40 || expertise.len() > 18 || asi.len() > 6 {
        return Err(RuleError::invalid(
            "That is far too many choices for one level.",
        ));
    }
    let old = em.creature(me).clone();
    if old.dead {
        return Err(RuleError::CannotAct {
            who: old.name.clone(),
            why: "dead".into(),
        });
    }
    if old.pc.as_ref().is_some_and(|p| p.wild_shape.is_some()) {
        return Err(RuleError::invalid(format!(
            "{} levels up in their own form: `use wild shape` to return first.",
            old.name
        )));
    }
    let class = class_of(em, &old)?;
    let pc = old
        .pc
        .clone()
        .unwrap_or_else(|| unreachable!("class_of checked"));
    if pc.level >= 20 {
        return Err(RuleError::invalid(format!(
            "{} is already level 20, the highest.",
            old.name
        )));
    }
    let level = pc.level + 1;
    let mut c = old.clone();

    // Ability score improvement.
    let asi_level = class.asi_levels.contains(&level);
    if asi_level && asi.len() != 2 {
        return Err(RuleError::invalid(format!(
            "Level {level} brings a {} an ability score improvement: name two abilities \
             (`levelup STR DEX`, or the same one twice for +2).",
            class.name
        )));
    }
    if !asi_level && !asi.is_empty() {
        let at: Vec<String> = class.asi_levels.iter().map(u8::to_string).collect();
        return Err(RuleError::invalid(format!(
            "Level {level} brings a {} no ability score improvement (those come at levels {}).",
            class.name,
            at.join(", ")
        )));
    }
    for a in asi {
        let s = c.abilities.score_mut(*a);
        if *s >= 20 {
            return Err(RuleError::invalid(format!(
                "An ability score improvement can't raise {} above 20.",
                a.name()
            )));
        }
        *s += 1;
    }
    // Primal Champion (barbarian 20th): Strength and Constitution +4, to 24 at most.
    if level == 20 {
        crate::features::primal_champion(&class.index, &mut c.abilities);
    }

    // Hit points: the fixed value per level, and a Constitution change counts for
    // every level.
    let con_old = old.modifier(Ability::Con);
    let con_new = c.modifier(Ability::Con);
    let die = class.hit_die as i32;
    let toughness = pc
        .subrace
        .as_deref()
        .and_then(|s| crate::features::subrace(&pc.race, s))
        .map_or(0, |s| s.hp_per_level)
        + crate::features::class_hp_per_level(&class.index);
    let hp_gained =
        (die / 2 + 1 + con_new).max(1) + toughness + (con_new - con_old) * i32::from(pc.level);
    c.max_hp = (c.max_hp + hp_gained).max(1);
    if c.hp > 0 {
        c.hp = (c.hp + hp_gained).clamp(1, c.max_hp);
    }
    c.hit_dice.total += 1;
    c.hit_dice.remaining += 1;
    c.proficiency_bonus = proficiency_bonus_for_level(level);

    // Armour class and weapon attacks follow the new scores and proficiency.
    let catalog = em.state.catalog.clone();
    c.armor_class += kit_armor_class(&class, &c.abilities, &catalog)
        - kit_armor_class(&class, &old.abilities, &catalog);
    for a in c.attacks.iter_mut() {
        if let Some(w) = catalog.weapon(&to_index(&a.name))
            && let Some(new) = weapon_attack(w, &c.abilities, c.proficiency_bonus)
        {
            *a = new;
        }
    }
    // A fighting style not chosen yet (paladin and ranger from 2nd; a fighter who
    // was created without one), then the style's effect on the rebuilt attacks.
    if let Some(name) = fighting_style.map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(had) = c.pc.as_ref().and_then(|p| p.fighting_style.clone()) {
            return Err(RuleError::invalid(format!(
                "{} already fights in the {} style.",
                c.name,
                had.replace('-', " ")
            )));
        }
        let style = crate::features::choose_fighting_style(&class.index, &class.name, level, name)?;
        if style == "defense" {
            c.armor_class += crate::features::defense_bonus(&class, &catalog);
        }
        if let Some(p) = c.pc.as_mut() {
            p.fighting_style = Some(style);
        }
    }
    crate::features::apply_fighting_style(&mut c, &catalog);

    // Expertise.
    add_expertise(
        &mut c.skill_proficiencies,
        &class.name,
        &class.index,
        level,
        expertise,
    )?;

    // Spells.
    let kind = caster_kind(&class.index);
    let mut learned = Vec::new();
    if kind.is_none() && !spells.is_empty() {
        return Err(RuleError::invalid(format!(
            "{}s don't cast spells.",
            class.name
        )));
    }
    if let (Some(kind), Some(ability)) = (kind, class.spellcasting_ability) {
        let slots = class
            .spell_slots
            .get(usize::from(level) - 1)
            .copied()
            .unwrap_or([0; 9]);
        let mut sc = c.spellcasting.clone().unwrap_or(Spellcasting {
            ability,
            max_slots: [0; 9],
            used_slots: [0; 9],
            spells: Vec::new(),
            caster_level: 0,
        });
        sc.max_slots = slots;
        let mut book = pc.spellbook.clone();
        for w in spells {
            let sd = legal_spell(&catalog, &class, level, w)?;
            let have = if kind == CasterKind::Spellbook && sd.level > 0 {
                book.contains(&sd.index)
            } else {
                sc.knows(&sd.index)
            };
            if have || learned.contains(&sd.index) {
                return Err(RuleError::invalid(format!(
                    "{} already has {}.",
                    c.name, sd.name
                )));
            }
            if sd.level == 0 {
                sc.spells.insert(0, sd.index.clone());
            } else {
                match kind {
                    CasterKind::Known => sc.spells.push(sd.index.clone()),
                    CasterKind::Spellbook => book.push(sd.index.clone()),
                    CasterKind::Prepared => {
                        return Err(RuleError::invalid(format!(
                            "{}s prepare their spells from the whole {} list after a long \
                             rest (`prepare {}`), rather than learning them.",
                            class.name, class.name, sd.name
                        )));
                    }
                }
            }
            learned.push(sd.index.clone());
        }
        let is_cantrip = |s: &String| catalog.spell(s).is_some_and(|d| d.level == 0);
        let cantrips = sc.spells.iter().filter(|s| is_cantrip(s)).count();
        let levelled = sc.spells.len() - cantrips;
        if cantrips > cantrips_allowed(&class, level) {
            check_counts(&class, level, &c.abilities, cantrips, 0)?;
        }
        match kind {
            CasterKind::Known => {
                check_counts(&class, level, &c.abilities, 0, levelled)?;
            }
            CasterKind::Spellbook => {
                let new = learned.iter().filter(|s| !is_cantrip(s)).count();
                if new > 2 {
                    return Err(RuleError::invalid(format!(
                        "A wizard copies two spells into the spellbook per level, not {new}."
                    )));
                }
                // Spells not chosen are picked from the wizard list, lowest level first.
                let max = crate::spell_choice::max_spell_level(&class, level);
                let want = book.len() + 2 - new;
                'fill: for l in (1..=max).rev() {
                    for sd in catalog.spells.values() {
                        if book.len() >= want {
                            break 'fill;
                        }
                        if sd.level == l
                            && sd.classes.iter().any(|k| k == &class.index)
                            && !book.contains(&sd.index)
                        {
                            book.push(sd.index.clone());
                            learned.push(sd.index.clone());
                        }
                    }
                }
            }
            CasterKind::Prepared => {}
        }
        if let Some(p) = c.pc.as_mut() {
            p.spellbook = book;
            // More spells to prepare at the new level: the next `prepare` may add them.
            if kind != CasterKind::Known {
                p.may_prepare = true;
            }
        }
        if sc.max_slots.iter().any(|n| *n > 0) || !sc.spells.is_empty() {
            c.spellcasting = Some(sc);
        }
    }

    if let Some(p) = c.pc.as_mut() {
        p.level = level;
        p.attacks_per_action = attacks_per_action_for(&class.index, level);
    }
    // Class options (invocations, pact boon, metamagic) chosen at this level.
    if !options.is_empty() {
        let had = c.pc.as_ref().map(|p| p.options.clone()).unwrap_or_default();
        let all =
            crate::class_options::choose_for(&c, &class.index, &class.name, level, &had, options)?;
        if let Some(p) = c.pc.as_mut() {
            p.options = all;
        }
    }
    crate::class_options::apply_to_sheet(&mut c);
    // Speed, immunities and save proficiencies the new level brings.
    let race_speed = em.state.catalog.race(&pc.race).map_or(c.speed, |r| r.speed);
    crate::features::apply_level_features(&mut c, race_speed);
    em.public(EventKind::LeveledUp {
        creature: Box::new(c),
        level,
        hp_gained,
        asi: asi.to_vec(),
        learned,
    });
    Ok(())
}
