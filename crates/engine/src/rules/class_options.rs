//! Sorcerer and warlock features in play: Font of Magic (sorcery points ↔ spell slots),
//! Metamagic named among a cast's words ("cast fire bolt at goblin, quickened"),
//! Eldritch Invocations (Agonizing Blast, Repelling Blast, spells at will) and Dark
//! One's Blessing. The options themselves are chosen at creation and level up
//! ([`crate::class_options`]); the spell interpreter calls the hooks here.

use super::Emitter;
use crate::class_options::{ClassOption, has};
use crate::creature::Creature;
use crate::data::SpellData;
use crate::effect::{SpellEffect, Target};
use crate::error::RuleError;
use crate::event::{ActionCost, EventKind};
use crate::ids::CreatureId;

/// Sorcery points left.
fn points_left(c: &Creature) -> u32 {
    let max = crate::features::uses(c, "sorcery-points").map_or(0, |(m, _)| m);
    let spent =
        c.pc.as_ref()
            .and_then(|p| p.uses.get("sorcery-points"))
            .copied()
            .unwrap_or(0);
    max.saturating_sub(spent)
}

/// What creating a spell slot of a level costs in sorcery points (1st–5th).
pub fn slot_cost(level: u8) -> Option<u32> {
    Some(match level {
        1 => 2,
        2 => 3,
        3 => 5,
        4 => 6,
        5 => 7,
        _ => return None,
    })
}

/// `use font of magic slot N` (a spell slot of level N for sorcery points) or `use font
/// of magic points N` (a level N slot spent for N sorcery points): sorcerer 2nd, a
/// bonus action in a fight. The slot made fills an expended one (slots above the class
/// table are not kept); points can't rise above the sorcerer's maximum.
pub(crate) fn try_use(
    em: &mut Emitter,
    me: CreatureId,
    want: &str,
    target: Option<&str>,
    amount: Option<u32>,
) -> Option<Result<(), RuleError>> {
    let rest = want.strip_prefix("font-of-magic")?;
    let sub = rest
        .strip_prefix('-')
        .or(target.map(str::trim))
        .unwrap_or("");
    Some(font_of_magic(em, me, &crate::data::to_index(sub), amount))
}

fn font_of_magic(
    em: &mut Emitter,
    me: CreatureId,
    sub: &str,
    amount: Option<u32>,
) -> Result<(), RuleError> {
    let c = em.creature(me).clone();
    let level = c.pc.as_ref().map_or(0, |p| p.level);
    if c.pc.as_ref().is_none_or(|p| p.class != "sorcerer") || level < 2 {
        return Err(RuleError::invalid(format!(
            "Font of Magic is a level 2 sorcerer's feature, and {} is not one.",
            c.name
        )));
    }
    let usage = "`use font of magic slot N` (sorcery points into a level N slot) or `use font \
                 of magic points N` (a level N slot into N points)";
    let Some(n) = amount else {
        return Err(RuleError::invalid(format!("Name the slot level: {usage}.")));
    };
    let n = u8::try_from(n.min(10)).unwrap_or(10);
    let Some(sc) = c.spellcasting.as_ref() else {
        return Err(RuleError::invalid(format!(
            "{} has no spell slots.",
            c.name
        )));
    };
    let cost = if em.state.in_combat() {
        ActionCost::BonusAction
    } else {
        ActionCost::Free
    };
    match sub {
        "slot" | "slots" | "create-slot" => {
            let Some(price) = slot_cost(n) else {
                return Err(RuleError::invalid(
                    "Font of Magic makes spell slots of 1st to 5th level.",
                ));
            };
            let left = points_left(&c);
            if left < price {
                return Err(RuleError::invalid(format!(
                    "A level {n} slot costs {price} sorcery points, and {} has {left}.",
                    c.name
                )));
            }
            if sc.used_slots.get(usize::from(n) - 1).copied().unwrap_or(0) == 0 {
                return Err(RuleError::invalid(format!(
                    "{} has every level {n} slot already (a slot made fills an expended one).",
                    c.name
                )));
            }
            super::combat::require_turn_part(em, me, cost)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: "font-of-magic".into(),
                note: format!("{price} sorcery points into a level {n} slot"),
                spent: price,
            });
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: "font-of-magic-slot".into(),
                note: format!("a level {n} slot"),
                spent: u32::from(n),
            });
        }
        "points" | "point" | "sorcery-points" => {
            if !(1..=9).contains(&n) || sc.available(n) == 0 {
                return Err(RuleError::NoSlot {
                    who: c.name.clone(),
                    level: n,
                });
            }
            let spent =
                c.pc.as_ref()
                    .and_then(|p| p.uses.get("sorcery-points"))
                    .copied()
                    .unwrap_or(0);
            if spent < u32::from(n) {
                return Err(RuleError::invalid(format!(
                    "{} has room for {spent} more sorcery points, not {n}.",
                    c.name
                )));
            }
            super::combat::require_turn_part(em, me, cost)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: "font-of-magic-points".into(),
                note: format!("a level {n} slot into {n} sorcery points"),
                spent: u32::from(n),
            });
        }
        _ => return Err(RuleError::invalid(format!("Font of Magic: {usage}."))),
    }
    Ok(())
}

/// The Metamagic a cast names among its words.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub option: &'static ClassOption,
    pub points: u32,
}

impl Meta {
    pub fn is(&self, index: &str) -> bool {
        self.option.index == index
    }
}

/// Takes a Metamagic word out of a cast's targets ("quickened", "twinned spell",
/// "careful") and checks it: a sorcerer who chose it, with the sorcery points, on a
/// spell it fits (Quickened: an action; Twinned: a spell of one creature, two named).
pub(crate) fn metamagic(
    _em: &Emitter,
    caster: &Creature,
    spell: &SpellData,
    effect: &SpellEffect,
    slot_level: u8,
    targets: &mut Vec<String>,
) -> Result<Option<Meta>, RuleError> {
    let mut found: Vec<&'static ClassOption> = Vec::new();
    // "Goblin 1 quickened": a Metamagic word at the end of a target's words.
    for t in targets.iter_mut() {
        if let Some((name, word)) = split_spell_name(t)
            && !name.is_empty()
        {
            *t = name;
            targets_extra_push(&mut found, &word);
        }
    }
    targets.retain(|t| {
        let w = crate::data::to_index(t.trim());
        let w = w.strip_prefix("metamagic-").unwrap_or(&w);
        let o = crate::class_options::CLASS_OPTIONS.iter().find(|o| {
            o.kind == crate::class_options::Kind::Metamagic
                && (o.index == w
                    || o.index.strip_suffix("-spell") == Some(w)
                    || (w.len() >= 5 && o.index.starts_with(w)))
        });
        match o {
            Some(o) => {
                found.push(o);
                false
            }
            None => true,
        }
    });
    let Some(&option) = found.first() else {
        return Ok(None);
    };
    if found.len() > 1 {
        return Err(RuleError::invalid(
            "One Metamagic option a spell (`cast SPELL at TARGET, quickened`).",
        ));
    }
    let pc = caster.pc.as_ref();
    if pc.is_none_or(|p| p.class != "sorcerer" || p.level < 3) {
        return Err(RuleError::invalid(format!(
            "Metamagic is a level 3 sorcerer's feature, and {} is not one.",
            caster.name
        )));
    }
    if !has(caster, option.index) {
        let known: Vec<String> = pc
            .map(|p| {
                p.options
                    .iter()
                    .filter(|o| o.ends_with("-spell"))
                    .map(|o| crate::data::from_index(o))
                    .collect()
            })
            .unwrap_or_default();
        return Err(RuleError::invalid(format!(
            "{} has not chosen {} (Metamagic known: {}).",
            caster.name,
            option.name,
            if known.is_empty() {
                "none — chosen at creation or level up".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    let points = match option.index {
        "quickened-spell" => 2,
        "heightened-spell" => 3,
        "twinned-spell" => u32::from(slot_level.max(1)),
        _ => 1,
    };
    let left = points_left(caster);
    if left < points {
        return Err(RuleError::invalid(format!(
            "{} costs {points} sorcery points here, and {} has {left}.",
            option.name, caster.name
        )));
    }
    let steps_have = |f: &dyn Fn(&crate::effect::Step) -> bool| any_step(&effect.steps, f);
    match option.index {
        "quickened-spell" if super::spells::cost_of(spell) != ActionCost::Action => {
            return Err(RuleError::invalid(format!(
                "Quickened Spell turns a one-action spell into a bonus action; {} takes {}.",
                spell.name, spell.casting_time
            )));
        }
        "twinned-spell" => {
            let single = match &effect.target {
                Target::Creatures {
                    max,
                    per_slot_above,
                } => {
                    *max <= 1
                        && (*per_slot_above == 0 || slot_level <= spell.level)
                        && effect.repeat == crate::effect::Repeat::Once
                }
                _ => false,
            };
            if !single {
                return Err(RuleError::invalid(format!(
                    "Twinned Spell needs a spell that targets one creature (not yourself or \
                     an area); {} does not.",
                    spell.name
                )));
            }
            if targets.len() != 2 {
                return Err(RuleError::invalid(format!(
                    "Twinned Spell: name two creatures for {}.",
                    spell.name
                )));
            }
        }
        "careful-spell" | "heightened-spell"
            if !steps_have(&|s| matches!(s, crate::effect::Step::Save { .. })) =>
        {
            return Err(RuleError::invalid(format!(
                "{} works on a spell with a saving throw; {} has none.",
                option.name, spell.name
            )));
        }
        "empowered-spell" if !spell_deals_damage(&effect.steps) => {
            return Err(RuleError::invalid(format!(
                "Empowered Spell rerolls damage dice; {} deals no damage.",
                spell.name
            )));
        }
        _ => {}
    }
    Ok(Some(Meta { option, points }))
}

/// Whether a step, or a step inside it, is one `f` looks for.
fn any_step(steps: &[crate::effect::Step], f: &dyn Fn(&crate::effect::Step) -> bool) -> bool {
    steps.iter().any(|s| {
        f(s) || super::spells::inner_steps(s)
            .is_some_and(|inner| inner.iter().any(|v| any_step(v, f)))
    })
}

fn spell_deals_damage(steps: &[crate::effect::Step]) -> bool {
    any_step(steps, &|s| matches!(s, crate::effect::Step::Damage { .. }))
}

/// The Metamagic option a word names ("quickened", "twinned spell").
fn targets_extra_push(found: &mut Vec<&'static ClassOption>, word: &str) {
    let w = crate::data::to_index(word);
    if let Some(o) = crate::class_options::CLASS_OPTIONS.iter().find(|o| {
        o.kind == crate::class_options::Kind::Metamagic
            && (o.index == w || o.index.strip_suffix("-spell") == Some(w.as_str()))
    }) {
        found.push(o);
    }
}

/// A Metamagic word said with the spell's name ("quickened fire bolt", "fire bolt,
/// twinned"): the name without it, and the word. `None` when there is none.
pub fn split_spell_name(name: &str) -> Option<(String, String)> {
    let lower = name.trim().to_lowercase();
    for o in crate::class_options::CLASS_OPTIONS
        .iter()
        .filter(|o| o.kind == crate::class_options::Kind::Metamagic)
    {
        let long = o.index.replace('-', " ");
        let short = long.strip_suffix(" spell").unwrap_or(&long).to_string();
        for w in [long.as_str(), short.as_str()] {
            if let Some(rest) = lower.strip_prefix(&format!("{w} ")) {
                return Some((rest.trim().to_string(), w.to_string()));
            }
            if let Some(rest) = lower.strip_suffix(&format!(" {w}")) {
                return Some((
                    rest.trim().trim_end_matches(',').trim().to_string(),
                    w.to_string(),
                ));
            }
        }
    }
    None
}

/// Twinned Spell: the one-creature spell takes two.
pub(crate) fn twin(effect: &mut SpellEffect) {
    effect.target = Target::Creatures {
        max: 2,
        per_slot_above: 0,
    };
}

/// Tells the Metamagic used (its points are spent by `apply`).
pub(crate) fn tell_metamagic(em: &mut Emitter, me: CreatureId, meta: &Meta) {
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "metamagic".into(),
        note: meta.option.name.to_string(),
        spent: meta.points,
    });
}

/// What a casting's class options do while its steps run.
#[derive(Debug, Clone, Default)]
pub(crate) struct CastMods {
    /// Agonizing Blast: added to each Eldritch Blast beam's damage.
    pub agonizing: i32,
    /// Repelling Blast: a beam that hits pushes its target out of melee.
    pub repelling: bool,
    /// Careful Spell: these creatures succeed on the spell's save.
    pub careful: Vec<CreatureId>,
    /// Heightened Spell: this creature's first save has disadvantage.
    pub heightened: Option<CreatureId>,
    /// Empowered Spell: damage dice to roll again (once, on the first damage roll).
    pub empowered: u32,
    /// Empowered Evocation (evocation wizard 10th): the Intelligence modifier added to
    /// one damage roll of a wizard's evocation spell (the first; then 0).
    pub once_bonus: i32,
    /// Sculpt Spells (evocation wizard 2nd): the allies in an evocation area spell
    /// (1 + the spell's level of them) succeed on its save and take no damage.
    pub sculpted: Vec<CreatureId>,
}

impl CastMods {
    pub(crate) fn new(
        em: &Emitter,
        me: CreatureId,
        spell: &SpellData,
        meta: Option<&Meta>,
        targets: &[CreatureId],
    ) -> CastMods {
        let c = em.creature(me);
        let cha = c.modifier(crate::ability::Ability::Cha);
        let mut m = CastMods::default();
        if spell.index == "eldritch-blast" {
            if has(c, "agonizing-blast") {
                m.agonizing = cha.max(0);
            }
            m.repelling = has(c, "repelling-blast");
        }
        if let Some(meta) = meta {
            if meta.is("careful-spell") {
                m.careful = targets
                    .iter()
                    .copied()
                    .filter(|t| em.creature(*t).on_party_side() == c.on_party_side())
                    .take(usize::try_from(cha.max(1)).unwrap_or(1))
                    .collect();
            }
            if meta.is("heightened-spell") {
                m.heightened = targets
                    .iter()
                    .copied()
                    .find(|t| super::position::hostile(c, em.creature(*t)));
            }
            if meta.is("empowered-spell") {
                m.empowered = u32::try_from(cha.max(1)).unwrap_or(1);
            }
        }
        if c.pc
            .as_ref()
            .is_some_and(|p| p.class == "wizard" && p.level >= 10)
            && spell.school.eq_ignore_ascii_case("evocation")
        {
            m.once_bonus = c.modifier(crate::ability::Ability::Int).clamp(0, 10);
        }
        if c.pc
            .as_ref()
            .is_some_and(|p| p.class == "wizard" && p.level >= 2)
            && spell.school.eq_ignore_ascii_case("evocation")
            && spell.area.is_some()
        {
            m.sculpted = targets
                .iter()
                .copied()
                .filter(|t| *t != me && !super::position::hostile(c, em.creature(*t)))
                .take(1 + usize::from(spell.level))
                .collect();
        }
        m
    }

    /// A damage step's dice with Agonizing Blast's bonus, and Empowered Evocation's on
    /// the first damage roll.
    pub(crate) fn damage_dice(&mut self, dice: String) -> String {
        let dice = if self.agonizing > 0 {
            format!("{dice}+{}", self.agonizing)
        } else {
            dice
        };
        if self.once_bonus > 0 {
            let b = std::mem::take(&mut self.once_bonus);
            format!("{dice}+{b}")
        } else {
            dice
        }
    }
}

/// Sculpt Spells: `t` is spared the spell's save and its damage (told).
pub(crate) fn sculpted(em: &mut Emitter, mods: &CastMods, me: CreatureId, t: CreatureId) -> bool {
    if !mods.sculpted.contains(&t) {
        return false;
    }
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "sculpt-spells".into(),
        note: format!("{} is spared", em.creature(t).name),
        spent: 0,
    });
    true
}

/// Careful Spell: `t` succeeds on the spell's save without rolling (told).
pub(crate) fn careful(em: &mut Emitter, mods: &CastMods, me: CreatureId, t: CreatureId) -> bool {
    if !mods.careful.contains(&t) {
        return false;
    }
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "careful-spell".into(),
        note: format!("{} succeeds on the save", em.creature(t).name),
        spent: 0,
    });
    true
}

/// Heightened Spell: disadvantage on the first save of its creature.
pub(crate) fn heighten(
    mods: &mut CastMods,
    t: CreatureId,
    adv: crate::ability::Advantage,
) -> crate::ability::Advantage {
    if mods.heightened == Some(t) {
        mods.heightened = None;
        crate::ability::Advantage::combine([adv, crate::ability::Advantage::Disadvantage])
    } else {
        adv
    }
}

/// Empowered Spell on a damage roll: up to `mods.empowered` dice below their average
/// (the lowest first) are rolled again and the new rolls used; told as
/// `empowered-spell`, the roll's total and breakdown follow.
pub(crate) fn empower(
    em: &mut Emitter,
    mods: &mut CastMods,
    me: CreatureId,
    mut roll: crate::dice::Roll,
) -> crate::dice::Roll {
    if mods.empowered == 0 {
        return roll;
    }
    let n = std::mem::take(&mut mods.empowered) as usize;
    let mut low: Vec<usize> = roll
        .dice
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kept && d.sides > 1 && d.value * 2 < d.sides + 1)
        .map(|(i, _)| i)
        .collect();
    low.sort_by_key(|i| (roll.dice[*i].value, *i));
    low.truncate(n);
    if low.is_empty() {
        em.public(EventKind::FeatureUsed {
            creature: me,
            feature: "empowered-spell".into(),
            note: "no die below its average to roll again".into(),
            spent: 0,
        });
        return roll;
    }
    let mut delta: i64 = 0;
    let mut parts = Vec::new();
    for i in low {
        let d = &mut roll.dice[i];
        let new = em.dice.roll(d.sides.clamp(1, 1000));
        parts.push(format!("{}→{new}", d.value));
        delta += i64::from(new) - i64::from(d.value);
        d.value = new;
    }
    roll.total = roll.total.saturating_add(delta);
    if let Some(i) = roll.breakdown.rfind(" = ") {
        roll.breakdown.truncate(i);
    }
    roll.breakdown = format!(
        "{} {} {} empowered = {}",
        roll.breakdown,
        if delta < 0 { '-' } else { '+' },
        delta.abs(),
        roll.total
    );
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "empowered-spell".into(),
        note: format!("rolls again {}", parts.join(", ")),
        spent: 0,
    });
    roll
}

/// Repelling Blast: a creature hit by a beam (Large or smaller) is pushed out of
/// melee (10 ft away: every creature it was engaged with is left; forced movement
/// provokes no opportunity attack).
pub(crate) fn repel(em: &mut Emitter, mods: &CastMods, me: CreatureId, t: CreatureId) {
    if !mods.repelling || !em.state.in_combat() {
        return;
    }
    let c = em.creature(t);
    if c.dead || (c.is_down() && !c.is_pc()) {
        return;
    }
    let big = c
        .monster
        .as_ref()
        .and_then(|m| em.state.catalog.monsters.get(m))
        .is_some_and(|d| matches!(d.size.as_str(), "Huge" | "Gargantuan"));
    if big || super::position::engaged_with(&em.state, t).is_empty() {
        return;
    }
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "repelling-blast".into(),
        note: format!("{} is pushed out of melee", em.creature(t).name),
        spent: 0,
    });
    em.public(EventKind::Moved {
        creature: t,
        to: crate::event::Place::Near,
        moves: 0,
    });
}

/// Dark One's Blessing (warlock 1st, the Fiend): reducing a hostile creature to 0 hit
/// points gives the warlock Cha modifier + warlock level temporary hit points (at
/// least 1).
pub(crate) fn dark_ones_blessing(em: &mut Emitter, source: Option<CreatureId>, t: CreatureId) {
    let Some(me) = source else { return };
    let Some(c) = em.state.creatures.get(&me) else {
        return;
    };
    let Some(pc) = c.pc.as_ref().filter(|p| p.class == "warlock") else {
        return;
    };
    if c.dead || !super::position::hostile(c, em.creature(t)) {
        return;
    }
    let amount = (c.modifier(crate::ability::Ability::Cha) + i32::from(pc.level)).max(1);
    if c.temp_hp >= amount {
        return;
    }
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "dark-ones-blessing".into(),
        note: format!("{amount} temporary hit points"),
        spent: 0,
    });
    em.public(EventKind::TempHpGained { target: me, amount });
}

/// A warlock's at-will invocation spells that are cast on the warlock only.
pub(crate) fn at_will_self_only(o: &ClassOption) -> bool {
    matches!(
        o.index,
        "armor-of-shadows" | "ascendant-step" | "otherworldly-leap" | "fiendish-vigor"
    )
}

/// Refuses an at-will invocation spell aimed at another creature.
pub(crate) fn check_at_will_targets(
    caster: &Creature,
    o: &ClassOption,
    spell: &SpellData,
    targets: &[CreatureId],
) -> Result<(), RuleError> {
    if at_will_self_only(o) && targets.iter().any(|t| *t != caster.id) {
        return Err(RuleError::invalid(format!(
            "{} casts {} at will on itself only (another creature needs a slot).",
            o.name, spell.name
        )));
    }
    Ok(())
}
