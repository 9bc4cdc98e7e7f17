//! The built-in narrator: offline, deterministic templates with variety. The phrasing
//! for an event is picked by its sequence number, so a replay reads the same.

use super::{Narration, Narrator};
use crate::coordinator::Committed;
use dicebard_engine::event::{
    ActionCost, AttackOutcome, CheckKind, CombatOutcome, DamageModifier, RestKind,
};
use dicebard_engine::{CampaignState, CreatureId, EventKind};
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// The template narrator.
#[derive(Debug, Default, Clone, Copy)]
pub struct BuiltinNarrator;

fn pick<'a>(seq: u64, options: &[&'a str]) -> &'a str {
    options[(seq as usize) % options.len()]
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

fn signed(n: i32) -> String {
    if n >= 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

impl BuiltinNarrator {
    fn name(state: &CampaignState, id: CreatureId) -> String {
        state
            .creatures
            .get(&id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "someone".into())
    }

    /// The prose for one committed event, or `None` for bookkeeping events.
    pub fn line(state: &CampaignState, c: &Committed) -> Option<String> {
        use EventKind::*;
        let seq = c.seq;
        let n = |id: CreatureId| Self::name(state, id);
        let text = match &c.event.kind {
            CampaignStarted { name, .. } => fill(
                pick(
                    seq,
                    &[
                        "The tale of {name} begins. Gather round, adventurers.",
                        "A new story opens: {name}. The dice are warm and the lamps are lit.",
                    ],
                ),
                &[("name", name)],
            ),
            CampaignEnded => "The campaign is over. Thank you for playing.".into(),
            SettingsChanged { settings } => format!(
                "The table rules change: turns now last {} seconds, with a warning {} seconds before the end; {}.",
                settings.turn_timeout_ms / 1000,
                settings.turn_warning_ms / 1000,
                match settings.narrator {
                    dicebard_engine::NarratorMode::Auto => "the host's narrator tells the story",
                    dicebard_engine::NarratorMode::Builtin =>
                        "the built-in narrator tells the story",
                }
            ),
            PlayerJoined { name, .. } => format!("{name} pulls up a chair at the table."),
            CharacterCreated { creature } => {
                let (class, race, level) = creature
                    .pc
                    .as_ref()
                    .map(|p| {
                        (
                            dicebard_engine::data::from_index(&p.class),
                            dicebard_engine::data::from_index(&p.race),
                            p.level,
                        )
                    })
                    .unwrap_or_default();
                fill(
                    pick(
                        seq,
                        &[
                            "{name}, a level {level} {race} {class}, steps into the story ({hp} HP, AC {ac}).",
                            "Meet {name}: {race} {class}, level {level}, {hp} hit points and armour class {ac}.",
                        ],
                    ),
                    &[
                        ("name", &creature.name),
                        ("level", &level.to_string()),
                        ("race", &race),
                        ("class", &class),
                        ("hp", &creature.max_hp.to_string()),
                        ("ac", &creature.armor_class.to_string()),
                    ],
                )
            }
            CharacterRetired { .. } => "A character leaves the story.".into(),
            FeatureUsed {
                creature,
                feature,
                note,
                ..
            } => match feature.as_str() {
                // Told with what they did (a die, a Metamagic option, a beast).
                "inspired"
                | "inspiration-die"
                | "metamagic"
                | "careful-spell"
                | "empowered-spell"
                | "repelling-blast"
                | "dark-ones-blessing"
                | "song-of-rest"
                | "wild-shape-dropped"
                | "font-of-magic"
                | "font-of-magic-points"
                | "indomitable"
                | "dark-ones-own-luck" => format!(
                    "{}: {} ({}).",
                    n(*creature),
                    dicebard_engine::data::from_index(feature),
                    dicebard_engine::error::echo(note)
                ),
                _ => format!(
                    "{} calls on {}.",
                    n(*creature),
                    dicebard_engine::data::from_index(feature)
                ),
            },
            SpellsPrepared { creature, spells } => {
                let names: Vec<String> = spells
                    .iter()
                    .map(|s| dicebard_engine::data::from_index(s))
                    .collect();
                format!(
                    "{} prepares the day's spells: {}.",
                    n(*creature),
                    names.join(", ")
                )
            }
            LeveledUp {
                creature, level, ..
            } => format!("{} reaches level {level}!", creature.name),
            MonstersAppeared { creatures } => {
                let names: Vec<&str> = creatures.iter().map(|c| c.name.as_str()).collect();
                fill(
                    pick(
                        seq,
                        &[
                            "Out of the shadows come {who}!",
                            "{who} appear, weapons ready.",
                            "The air turns sour: {who} step into view.",
                        ],
                    ),
                    &[("who", &join_names(&names))],
                )
            }
            DiceRolled { roll, secret, .. } => {
                let who = c
                    .origin
                    .player
                    .as_ref()
                    .and_then(|p| state.players.get(p))
                    .map_or("Someone".to_string(), |p| p.name.clone());
                let s = if *secret { " in secret" } else { "" };
                format!("{who} rolls{s}: {}", roll.breakdown)
            }
            ActionDeclared { creature, text, .. } => {
                let who = creature.map(n).unwrap_or_else(|| "The GM".into());
                format!("{who}: \u{201c}{text}\u{201d}")
            }
            CheckRolled {
                creature,
                check,
                kept,
                modifier,
                total,
                dc,
                success,
                ..
            } => {
                let what = match check {
                    CheckKind::Skill(s) => format!("{s} check"),
                    CheckKind::Ability(a) => format!("{a} check"),
                };
                let outcome = match success {
                    Some(true) => format!(" against DC {} — success!", dc.unwrap_or(0)),
                    Some(false) => format!(" against DC {} — not enough.", dc.unwrap_or(0)),
                    None => ".".into(),
                };
                format!(
                    "{} makes {} {what}: {kept} {} = {total}{outcome}",
                    n(*creature),
                    article(&what),
                    signed(*modifier)
                )
            }
            SaveRolled {
                creature,
                ability,
                total,
                dc,
                success,
                auto_fail,
                ..
            } => {
                if *auto_fail {
                    format!(
                        "{} cannot resist — the {ability} save fails outright.",
                        n(*creature)
                    )
                } else {
                    let outcome = match success {
                        Some(true) => format!(" against DC {}: saved!", dc.unwrap_or(0)),
                        Some(false) => format!(" against DC {}: failed.", dc.unwrap_or(0)),
                        None => ".".into(),
                    };
                    let what = format!("{ability} saving throw");
                    format!(
                        "{} makes {} {what}: {total}{outcome}",
                        n(*creature),
                        article(&what)
                    )
                }
            }
            AttackRolled {
                attacker,
                target,
                with,
                total,
                outcome,
                ..
            } => {
                let vars = [
                    ("a", n(*attacker)),
                    ("t", n(*target)),
                    ("w", with.clone()),
                    ("total", total.to_string()),
                ];
                let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let t = match outcome {
                    AttackOutcome::CriticalHit => pick(
                        seq,
                        &[
                            "A natural 20! {a}'s {w} finds the perfect opening on {t}.",
                            "Critical hit! {a} drives the {w} home into {t}.",
                        ],
                    ),
                    AttackOutcome::Hit => pick(
                        seq,
                        &[
                            "{a} strikes {t} with the {w} ({total} to hit) — a hit.",
                            "{a}'s {w} connects with {t} ({total}).",
                            "{a} swings the {w} at {t}: {total}, and it lands.",
                        ],
                    ),
                    AttackOutcome::Miss => pick(
                        seq,
                        &[
                            "{a} attacks {t} with the {w} ({total}) but misses.",
                            "{t} turns aside {a}'s {w} ({total}).",
                            "{a}'s {w} whistles past {t} ({total}).",
                        ],
                    ),
                    AttackOutcome::CriticalMiss => pick(
                        seq,
                        &[
                            "A natural 1 — {a} fumbles the {w} and misses {t} completely.",
                            "{a} stumbles; the {w} goes nowhere near {t}.",
                        ],
                    ),
                };
                fill(t, &vars)
            }
            DamageDealt {
                target,
                damage_type,
                modifier,
                amount,
                ..
            } => {
                let t = n(*target);
                match modifier {
                    DamageModifier::Immune => {
                        format!("{t} is immune to {damage_type} — no harm done.")
                    }
                    DamageModifier::Resisted => {
                        format!("{t} resists, taking only {amount} {damage_type} damage.")
                    }
                    DamageModifier::Vulnerable => {
                        format!("{t} is vulnerable! {amount} {damage_type} damage.")
                    }
                    DamageModifier::None => fill(
                        pick(
                            seq,
                            &[
                                "{t} takes {x} {d} damage.",
                                "{x} {d} damage to {t}.",
                                "{t} reels from {x} {d} damage.",
                            ],
                        ),
                        &[
                            ("t", &t),
                            ("x", &amount.to_string()),
                            ("d", damage_type.name()),
                        ],
                    ),
                }
            }
            HealingReceived { target, amount, .. } => fill(
                pick(
                    seq,
                    &[
                        "{t} regains {x} hit points.",
                        "Warmth spreads through {t}: {x} hit points restored.",
                    ],
                ),
                &[("t", &n(*target)), ("x", &amount.to_string())],
            ),
            TempHpGained { target, amount } => {
                format!("{} gains {amount} temporary hit points.", n(*target))
            }
            HitPointsSet { target, hp } => {
                format!("The GM sets {}'s hit points to {hp}.", n(*target))
            }
            FellUnconscious { creature } => fill(
                pick(
                    seq,
                    &[
                        "{t} collapses, unconscious and dying!",
                        "{t} falls and does not get up.",
                    ],
                ),
                &[("t", &n(*creature))],
            ),
            Died { creature } => {
                let cr = state.creatures.get(creature);
                if cr.is_some_and(|c| c.is_pc()) {
                    format!("{} has died. The table falls silent.", n(*creature))
                } else {
                    fill(
                        pick(
                            seq,
                            &[
                                "{t} falls, lifeless.",
                                "{t} crumples to the ground and moves no more.",
                                "{t} is slain.",
                            ],
                        ),
                        &[("t", &n(*creature))],
                    )
                }
            }
            DeathSaveRolled {
                creature,
                roll,
                successes,
                failures,
            } => format!(
                "{} clings to life — death save {roll} ({successes} success{}, {failures} failure{}).",
                n(*creature),
                if *successes == 1 { "" } else { "es" },
                if *failures == 1 { "" } else { "s" }
            ),
            DeathSaveFailedByDamage { creature, failures } => format!(
                "The blow lands on {} as they lie dying ({failures} death-save failure{}).",
                n(*creature),
                if *failures == 1 { "" } else { "s" }
            ),
            Stabilised { creature } => format!("{} is stable, breathing shallowly.", n(*creature)),
            WildShape {
                creature,
                beast: Some(b),
            } => format!(
                "{} shifts into the shape of a {}.",
                n(*creature),
                dicebard_engine::data::from_index(b).to_lowercase()
            ),
            WildShape {
                creature,
                beast: None,
            } => format!("{} returns to their own form.", n(*creature)),
            RaisedFromDead { creature } => {
                format!(
                    "{} draws breath again, alive with 1 hit point.",
                    n(*creature)
                )
            }
            Revived { creature } => format!(
                "A natural 20! {} gasps and rises with 1 hit point.",
                n(*creature)
            ),
            ConditionApplied {
                creature,
                condition,
                ..
            } => format!("{} is {condition}.", n(*creature)),
            ConditionRemoved {
                creature,
                condition,
            } => format!("{} is no longer {condition}.", n(*creature)),
            ExhaustionChanged { creature, level } => {
                format!("{}'s exhaustion is now level {level}.", n(*creature))
            }
            ZonePlaced { zone } => {
                let names: Vec<String> = zone.inside.iter().map(|t| n(*t)).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                if names.is_empty() {
                    format!("{}'s {} settles on empty ground.", n(zone.by), zone.name)
                } else {
                    format!(
                        "{}'s {} settles over {}.",
                        n(zone.by),
                        zone.name,
                        join_names(&names)
                    )
                }
            }
            ZoneStruck { zone, creature } => {
                let name = state
                    .combat
                    .as_ref()
                    .and_then(|c| c.zones.iter().find(|z| z.id == *zone))
                    .map_or("the spell", |z| z.name.as_str());
                format!("{} is caught in {name}.", n(*creature))
            }
            ZoneEnded { .. } => "The lingering spell fades away.".to_string(),
            Vanished { by, spell, .. } => {
                format!("The creatures {}'s {spell} called vanish.", n(*by))
            }
            SpellCountered {
                caster, by, name, ..
            } => format!(
                "{}'s Counterspell unravels {}'s {name}!",
                n(*by),
                n(*caster)
            ),
            SpellCast {
                caster,
                name,
                slot,
                cost,
                targets,
                ..
            } => {
                let on = if targets.is_empty() || targets == &[*caster] {
                    String::new()
                } else {
                    let names: Vec<String> = targets.iter().map(|t| n(*t)).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    format!(" at {}", join_names(&names))
                };
                let lvl = slot
                    .map(|s| format!(" (level {s} slot)"))
                    .unwrap_or_default();
                let how = if *cost == ActionCost::Reaction {
                    " in a flash"
                } else {
                    ""
                };
                fill(
                    pick(
                        seq,
                        &[
                            "{c} casts {s}{on}{lvl}{how}.",
                            "{c} speaks the words of {s}{on}{lvl}{how}.",
                        ],
                    ),
                    &[
                        ("c", &n(*caster)),
                        ("s", name),
                        ("on", &on),
                        ("lvl", &lvl),
                        ("how", how),
                    ],
                )
            }
            ConcentrationStarted { .. } => return None,
            ConcentrationEnded { creature, spell } => {
                format!(
                    "{} loses concentration on {}.",
                    n(*creature),
                    dicebard_engine::data::from_index(spell)
                )
            }
            EffectStarted { .. } | EffectEnded { .. } => return None,
            ItemUsed { creature, item } => format!("{} uses a {item}.", n(*creature)),
            LimitedActionUsed { .. } => return None,
            SpecialAction {
                creature,
                action,
                target,
                note,
            } => match target {
                Some(t) => format!("{} uses {action} on {}: {note}.", n(*creature), n(*t)),
                None => format!("{} uses {action}: {note}.", n(*creature)),
            },
            LegendaryActionUsed {
                creature, action, ..
            } => format!("{} takes a legendary action: {action}.", n(*creature)),
            RechargeRolled {
                creature,
                action,
                recharged,
                ..
            } => {
                if !*recharged {
                    return None;
                }
                format!("{}'s {action} is ready again.", n(*creature))
            }
            Moved { creature, to, .. } => match to {
                dicebard_engine::event::Place::Engaged { with } => {
                    format!("{} closes in on {}.", n(*creature), n(*with))
                }
                dicebard_engine::event::Place::Near => {
                    format!("{} steps out of the melee.", n(*creature))
                }
                dicebard_engine::event::Place::Far => {
                    format!("{} falls back, keeping their distance.", n(*creature))
                }
            },
            Dashed { creature } => format!("{} dashes.", n(*creature)),
            Disengaged { creature } => {
                format!(
                    "{} disengages, watching for an opening to slip away.",
                    n(*creature)
                )
            }
            Helped { creature, target } => format!(
                "{} harries {}, opening it up for the next attack.",
                n(*creature),
                n(*target)
            ),
            BreakFreeAttempted { creature, freed } => {
                if *freed {
                    format!("{} tears free.", n(*creature))
                } else {
                    format!("{} strains against its bonds, still held.", n(*creature))
                }
            }
            HideAttempted { creature, hidden } => {
                if *hidden {
                    format!("{} slips out of sight.", n(*creature))
                } else {
                    format!("{} tries to hide, but is spotted.", n(*creature))
                }
            }
            Readied { creature, text } => format!("{} readies: {text}", n(*creature)),
            LegendaryTurn { .. } | LegendaryTurnEnded { .. } => return None,
            OpportunityOffered { .. } => return None,
            OpportunityPassed { creature } => {
                format!("{} lets the moment pass.", n(*creature))
            }
            ReactionOffered { window } if window.cast.is_some() => format!(
                "{} can react: {} against {}'s {} ({} s to answer: react use / react skip).",
                n(window.reactor),
                window.reaction.name(),
                n(window.pending.attacker),
                window.cast.as_ref().map_or("spell", |p| p.name.as_str()),
                window.deadline.0.saturating_sub(c.event.at.0) / 1000
            ),
            ReactionOffered { window } => format!(
                "{} can react: {} against {}'s blow ({} s to answer: react use / react skip).",
                n(window.reactor),
                window.reaction.name(),
                n(window.pending.attacker),
                window.deadline.0.saturating_sub(c.event.at.0) / 1000
            ),
            ReactionResolved {
                reactor,
                reaction,
                used,
                timed_out,
            } => {
                if *used && *reaction == dicebard_engine::event::Reaction::Counterspell {
                    format!("{} reaches out to unravel the spell!", n(*reactor))
                } else if *used && *reaction == dicebard_engine::event::Reaction::UncannyDodge {
                    format!("{} twists away from the worst of the blow!", n(*reactor))
                } else if *used {
                    format!("{} throws up a shimmering Shield!", n(*reactor))
                } else if *timed_out {
                    format!("{} had no time to react.", n(*reactor))
                } else {
                    format!("{} lets the blow come.", n(*reactor))
                }
            }
            OpportunityAttack { creature, target } => format!(
                "{} lashes out at {} as they leave its reach!",
                n(*creature),
                n(*target)
            ),
            Dodged { creature } => fill(
                pick(
                    seq,
                    &[
                        "{t} takes the Dodge action, watching every blade.",
                        "{t} ducks and weaves, ready to dodge.",
                    ],
                ),
                &[("t", &n(*creature))],
            ),
            Rested {
                creature,
                kind,
                hp_regained,
                hit_dice_spent,
            } => match kind {
                RestKind::Short => format!(
                    "{} takes a short rest, spending {hit_dice_spent} hit dice and regaining {hp_regained} hit points.",
                    n(*creature)
                ),
                RestKind::Long => {
                    format!("{} wakes from a long rest, fully restored.", n(*creature))
                }
            },
            InitiativeRolled {
                creature, total, ..
            } => format!("{} rolls {total} for initiative.", n(*creature)),
            CombatStarted { order } => {
                let names: Vec<String> = order.iter().map(|e| n(e.creature)).collect();
                format!("Roll for initiative! The order: {}.", names.join(", "))
            }
            CombatantsJoined { entries } => {
                let names: Vec<String> = entries.iter().map(|e| n(e.creature)).collect();
                format!("{} join the fight.", names.join(", "))
            }
            TurnStarted {
                creature,
                round,
                deadline,
            } => {
                let secs = deadline.map(|d| d.0.saturating_sub(c.event.at.0) / 1000);
                match secs {
                    Some(s) => {
                        format!("Round {round}: it's {}'s turn ({s} seconds).", n(*creature))
                    }
                    None => format!("Round {round}: {} acts.", n(*creature)),
                }
            }
            TurnWarning { creature, deadline } => format!(
                "{}, your turn ends in {} seconds.",
                n(*creature),
                deadline.0.saturating_sub(c.event.at.0).div_ceil(1000)
            ),
            TurnTimedOut { creature } => format!("Time is up for {}.", n(*creature)),
            TurnClockResumed { creature, deadline } => format!(
                "The table is back. {} has {} seconds left.",
                n(*creature),
                deadline.0.saturating_sub(c.event.at.0) / 1000
            ),
            TurnEnded { .. } => return None,
            CombatEnded { outcome } => match outcome {
                CombatOutcome::Victory => pick(
                    seq,
                    &[
                        "The last foe falls. Victory!",
                        "Silence returns to the field — the party stands victorious.",
                    ],
                )
                .into(),
                CombatOutcome::Defeat => "The party has fallen. Darkness closes in…".into(),
                CombatOutcome::Ended => "The fight is over.".into(),
            },
            Whispered { text, .. } => format!("(The GM whispers) {text}"),
            // The monster's stated intent is for the narrator's prose, not a line.
            NpcIntent { .. } => return None,
            GmGranted { player } => {
                let who = state
                    .players
                    .get(player)
                    .map_or(player.to_string(), |p| p.name.clone());
                format!("{who} now helps run the game as a GM.")
            }
        };
        Some(text)
    }
}

fn join_names(names: &[&str]) -> String {
    match names.len() {
        0 => String::new(),
        1 => names[0].to_string(),
        _ => format!(
            "{} and {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        ),
    }
}

impl Narrator for BuiltinNarrator {
    fn narrate<'a>(
        &'a self,
        state: &'a CampaignState,
        events: &'a [Arc<Committed>],
    ) -> BoxFuture<'a, Vec<Narration>> {
        Box::pin(async move {
            events
                .iter()
                .filter_map(|c| {
                    Self::line(state, c).map(|text| Narration {
                        seq: c.seq,
                        visibility: c.event.visibility.clone(),
                        text,
                    })
                })
                .collect()
        })
    }
}

/// "a" or "an" before a word (by its first letter: good enough for ability and skill
/// names, which never start with a silent or a long "u").
fn article(word: &str) -> &'static str {
    match word.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::article;

    #[test]
    fn checks_and_saves_take_the_right_article() {
        assert_eq!(article("Athletics check"), "an");
        assert_eq!(article("Intelligence saving throw"), "an");
        assert_eq!(article("Strength check"), "a");
        assert_eq!(article(""), "a");
    }
}
