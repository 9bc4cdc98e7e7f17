//! Stat-block actions that make no attack ("special actions"), read from the SRD text
//! and resolved by the engine, and offered in the NPC options like attacks (so the
//! built-in policy and the LLM can both choose them):
//!
//! - **Swallow** (behir, giant frog and toad, remorhaz, tarrasque): one bite at a
//!   creature the monster grapples; a hit swallows it. **Engulf** (shambling mound):
//!   no bite. Swallowed: the grapple ends; blinded and restrained (from the monster);
//!   out of reach of everything outside ([`super::resolve::ethereal`]: no attack,
//!   spell, area or monster option reaches it); the stat block's damage at the start
//!   of each of the monster's turns (Engulf: a save avoids it). Out, prone, when the
//!   monster dies or, where the stat block says so, when the creature deals it enough
//!   damage in one turn and the monster fails its Constitution save at that turn's
//!   end. Only a creature of the size the text names or smaller ("a Medium or
//!   smaller target"); one inside at a time where the text says so, else up to
//!   [`MAX_INSIDE`] (a remorhaz, a tarrasque), each digested at the start of its turn.
//! - **Invisibility** (imp, quasit, sprite, will-o'-wisp, duergar): the invisible
//!   condition until it attacks or casts a spell (the mark Invisibility uses).
//! - **Enlarge** (duergar): the Enlarged mark for a minute.
//! - **Teleport** (balor, blink dog, marilith, nalfeshnee, unicorn): out of melee, far
//!   from the fray, with no opportunity attack; its grapples end.
//! - **Etherealness** (ghost, night hag, succubus/incubus; a nightmare's Ethereal
//!   Stride): the Ethereal mark (nothing targets it, it is offered nothing but coming
//!   back); the same action brings it back.
//! - **Healing Touch** (deva, planetar, solar, unicorn): heals another creature of its
//!   side and ends blindness, deafness and poison.
//! - **Change Shape** (ancient metallic dragons, couatl, deva, night hag, oni): resolved
//!   as narration — the form changes, its statistics here do not (the event's note
//!   says so).
//! - **Ink Cloud** (octopus, giant octopus): the foes in melee with it are blinded
//!   (heavily obscured) for a minute, and it dashes away (far). Underwater only: the
//!   GM says whether there is water. **Darkness Aura** (darkmantle): the same, without
//!   the dash.
//! - **Phantasms** (cloaker): three duplicates (the Mirror Image mark). **Haste** (clay
//!   golem): +2 AC, advantage on Dexterity saves until the end of its next turn.
//!   **Slow** (stone golem): the foes in melee with it save or are slowed for a minute.
//! - Resolved as narration: Illusory Appearance, Read Thoughts, Heart Sight, Nightmare
//!   Haunting. A green hag's Invisible Passage is Invisibility.
//!
//! - **Children of the Night** (vampire: 2d4 swarms of bats, at once), **Animate
//!   Trees** (treant: two trees with a treant's statistics), **Create Specter** (wraith:
//!   a specter, while a humanoid lies dead in the fight): the creatures join the fight
//!   on its side, with their own initiative.
//! - **Leadership** (knight): the other creatures of its side add a d4 to attack rolls
//!   and saves for a minute (the mark Bless uses).
//! - **Tentacle Slam** (otyugh: the creatures it grapples), **Whirlwind** (air
//!   elemental: those in melee with it), **Deadly Leap** (bulette: the foe it lands
//!   on): a save each, the damage (half on a success) and prone or stunned.
//!
//! Legendary actions that make no attack: **Detect** (a Wisdom (Perception) check),
//! **Wing Attack** (each foe in melee with the dragon: a Dexterity save or the damage
//! and prone; then it flies out of melee), **Move** (out of melee, no opportunity
//! attack), **Teleport** (far), **Heal Self**.

use super::{Emitter, find_creature, resolve};
use crate::ability::Ability;
use crate::command::NpcOption;
use crate::condition::Condition;
use crate::creature::{Creature, Effect};
use crate::data::DamageType;
use crate::effect::{Active, EndsOn, Limit, Mark, Until};
use crate::error::RuleError;
use crate::event::{EventKind, Place};
use crate::ids::CreatureId;
use crate::state::CampaignState;

/// What a special action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Special {
    /// Swallow (with the named bite) or Engulf (`bite` none): a grappled foe goes
    /// inside.
    Swallow {
        bite: Option<String>,
        inside: Inside,
    },
    Invisibility,
    Enlarge,
    Teleport,
    Etherealness,
    HealingTouch {
        dice: String,
    },
    ChangeShape,
    /// Resolved as narration (Illusory Appearance, Read Thoughts, Heart Sight,
    /// Nightmare Haunting): nothing the rules track changes; `note` says what happens.
    Narration {
        note: &'static str,
    },
    /// Ink Cloud (`dash`: then it dashes away) and Darkness Aura: the foes in melee
    /// with it are blinded (heavily obscured) for a minute.
    InkCloudLike {
        dash: bool,
    },
    /// Phantasms: three illusory duplicates (the Mirror Image mark).
    Phantasms,
    /// A clay golem's Haste: +2 AC and advantage on Dexterity saves until the end of its
    /// next turn (the bonus-action slam is the GM's).
    Haste,
    /// A stone golem's Slow: each foe in melee with it makes a Wisdom save (`dc`) or is
    /// slowed for a minute (speed halved, no reactions, one attack, an action or a
    /// bonus action), repeating the save at the end of each of its turns.
    Slow {
        dc: i32,
    },
    /// Creatures called or raised to fight on its side (Children of the Night: 2d4
    /// swarms of bats; Animate Trees: two trees with a treant's statistics; Create
    /// Specter: a specter, from a humanoid dead in this fight).
    Summon {
        monster: &'static str,
        count: &'static str,
        /// Only with a dead humanoid in the fight (Create Specter).
        needs_corpse: bool,
    },
    /// Leadership: the other creatures of its side add a d4 to attack rolls and saves
    /// for a minute.
    Leadership,
    /// A save for each creature it grapples (Tentacle Slam), is in melee with
    /// (Whirlwind), or lands on (Deadly Leap, at a target): the damage (half on a
    /// success, when the text says so) and, on a failure, prone or stunned until the end
    /// of its next turn.
    Burst(Burst),
    /// A sea hag's Death Glare: a frightened foe not far from it saves (Wisdom) or
    /// drops to 0 hit points.
    DeathGlare {
        dc: i32,
    },
    /// A succubus's Draining Kiss: a creature it has charmed saves (Constitution): the
    /// damage, half on a success; its hit point maximum drops by what it took until a
    /// long rest (at 0 it dies).
    DrainingKiss {
        dc: i32,
        dice: String,
        damage_type: DamageType,
    },
    /// A roper's Reel: each creature it grapples is pulled into melee with it.
    Reel,
    /// A kraken's Fling: a creature it grapples (Large or smaller) is thrown 60 feet:
    /// the grapple ends, it lands far from the fray, prone, and takes 1d6 bludgeoning
    /// per 10 feet (it lands on the ground, a solid surface: 6d6).
    Fling {
        dice: String,
    },
    /// A gorgon's Petrifying Breath: each foe not far from it saves (Constitution) or
    /// is restrained, and saves again at the end of its next turn: a failure petrifies
    /// it (until magic frees it), a success ends it.
    Petrify {
        dc: i32,
    },
    /// An androsphinx's Roar (3 a day, louder each time): every foe in the fight saves;
    /// first: frightened a minute (Wisdom, save ends); second: deafened and frightened
    /// and paralyzed while frightened (Wisdom, save ends); third: Constitution, the
    /// thunder damage and prone, half and not prone on a success.
    Roar {
        dc_wis: i32,
        dc_con: i32,
        dice: String,
        damage_type: DamageType,
    },
    /// A rust monster's Antennae: a foe in melee saves (Dexterity) or its metal armor
    /// corrodes: a permanent, cumulative -1 AC (a player character wearing metal armor
    /// or a shield; its AC not below 10); a creature without metal armor loses nothing
    /// the rules track (its weapon's rust is the GM's).
    Antennae {
        dc: i32,
    },
    /// A ghost's Possession: a humanoid foe in melee saves (Charisma) or is possessed:
    /// incapacitated, the ghost gone into it (out of reach, as on the Ethereal Plane);
    /// it ends when the body drops to 0 hit points or the ghost leaves (its
    /// Etherealness, or Possession again).
    Possession {
        dc: i32,
    },
}

/// Who a [`Special::Burst`] catches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstTargets {
    Grappled,
    Engaged,
    /// One foe it lands on (and closes in with).
    Target,
    /// Every foe not far from it (within 20 to 60 feet: Disrupt Life, a kraken's Ink
    /// Cloud).
    Near,
    /// One foe not far from it that it can see, without moving (a gaze).
    Gaze,
    /// Every foe in the fight (an androsphinx's Roar, heard 500 feet away).
    All,
}

/// A condition a failed [`Burst`] save gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lasting {
    pub condition: Condition,
    pub duration: crate::effect::Duration,
    /// The save repeated at the end of each of the creature's turns ends it.
    pub save_ends: Option<Ability>,
}

/// Creatures a [`Burst`] leaves alone by their type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spares {
    #[default]
    None,
    /// "Each non-undead creature" (Blasphemous Word).
    Undead,
    /// "Each living creature": undead and constructs are spared (Disrupt Life).
    Unliving,
}

/// A [`Special::Burst`]'s save and what failing it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub targets: BurstTargets,
    pub ability: Ability,
    /// "A Strength or Dexterity saving throw (target's choice)": the better of the two.
    pub or_dex: bool,
    pub dc: i32,
    pub damage: Vec<(String, DamageType)>,
    pub half: bool,
    pub prone: bool,
    /// The condition a failure gives (stunned until the end of its next turn, a
    /// gaze's frightened for a minute, save ends…).
    pub lasting: Option<Lasting>,
    pub spares: Spares,
}

/// Reads a save burst from its text (the failure's damage before "on a successful
/// save" / "if the saving throw is successful").
fn read_burst(d: &str) -> Option<Burst> {
    let (dc, ability) = dc_after(d, 0)?;
    let fail_end = ["on a successful save", "if the saving throw is successful"]
        .iter()
        .filter_map(|w| d.find(w))
        .min()
        .unwrap_or(d.len());
    let fail = &d[..fail_end];
    let mut damage = Vec::new();
    let mut from = 0;
    while let Some(i) = fail[from..].find(" damage") {
        let at = from + i;
        if let Some(p) = dice_before(fail, at)
            && !damage.contains(&p)
            && fail[..at].rfind('(').is_some_and(|o| o + 40 > at)
        {
            damage.push(p);
        }
        from = at + 1;
    }
    let targets = if d.contains("grappled by it") {
        BurstTargets::Grappled
    } else if d.contains("space that contains") {
        BurstTargets::Target
    } else {
        BurstTargets::Engaged
    };
    // The first sentence's damage only (a thrown creature's extra d6s are the GM's).
    damage.truncate(2);
    Some(Burst {
        targets,
        ability,
        or_dex: d.contains("strength or dexterity saving throw"),
        dc,
        damage,
        half: d.contains("half"),
        prone: fail.contains("prone"),
        lasting: fail
            .contains("stunned until the end of")
            .then_some(Lasting {
                condition: Condition::Stunned,
                duration: crate::effect::Duration::EndOfCastersNextTurn,
                save_ends: None,
            }),
        spares: Spares::None,
    })
}

/// What being inside a monster does, from its stat block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    /// The damage at the start of each of the monster's turns.
    pub dice: String,
    pub damage_type: DamageType,
    /// Engulf: a save against this DC avoids it.
    pub save: Option<(Ability, i32)>,
    /// (damage in one turn, DC): dealt that much by the creature inside, the monster
    /// makes a Constitution save at the end of that turn or regurgitates it.
    pub escape: Option<(i32, i32)>,
    /// The largest size it swallows (0 tiny … 5 gargantuan): "a Medium or smaller
    /// target".
    pub max_size: u8,
    /// "Can have only one creature swallowed at a time"; else up to [`MAX_INSIDE`].
    pub one: bool,
}

/// The most creatures a monster holds swallowed at once where its text sets no limit
/// (a tarrasque, a remorhaz).
pub const MAX_INSIDE: usize = 8;

/// A size word's rank, 0 (tiny) to 5 (gargantuan).
fn size_word(w: &str) -> Option<u8> {
    ["tiny", "small", "medium", "large", "huge", "gargantuan"]
        .iter()
        .position(|s| *s == w)
        .map(|p| p as u8)
}

/// A legendary action that makes no attack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegendarySpecial {
    Detect,
    WingAttack {
        dc: i32,
        dice: String,
        damage_type: DamageType,
    },
    Move,
    Teleport,
    HealSelf {
        dice: String,
    },
    /// A save for each creature it catches (Disrupt Life, Blinding Dust, Blasphemous
    /// Word, Searing Burst, a kraken's Ink Cloud) or for the one it gazes at
    /// (Frightening Gaze, Blinding Gaze): damage, half on a success, and a condition.
    Burst(Burst),
    /// Psychic Drain: a creature charmed by it takes the damage and it regains as many
    /// hit points as the creature took.
    Drain {
        dice: String,
        damage_type: DamageType,
    },
    /// Shimmering Shield: +2 AC to itself or a creature of its side until the end of
    /// its next turn.
    Shield,
    /// Channel Negative Energy: the other creatures in the fight can't regain hit
    /// points until the end of its next turn.
    NoHealing,
    /// Cast a Spell (a sphinx: a spell from its list, a slot as normal) or Cantrip (a
    /// lich): offered as the spell options of its Spellcasting (cantrips only for
    /// Cantrip), cast between turns with no action of a turn spent.
    Cast {
        cantrips: bool,
    },
}

/// "… 21 (6d6) acid damage …": the dice in the last parentheses before `at` and the
/// damage type named after them.
fn dice_before(text: &str, at: usize) -> Option<(String, DamageType)> {
    let head = &text[..at];
    let open = head.rfind('(')?;
    let close = open + text[open..].find(')')?;
    let dice: String = text
        .get(open + 1..close)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    crate::dice::parse(&dice).ok()?;
    let damage_type = DamageType::parse(text[close + 1..].split_whitespace().next()?)?;
    Some((dice, damage_type))
}

/// "… regains 20 (4d8 + 2) hit points": the dice.
fn healing_dice(d: &str) -> Option<String> {
    let at = d.find(" hit points")?;
    let open = d[..at].rfind('(')?;
    let close = open + d[open..].find(')')?;
    let dice: String = d
        .get(open + 1..close)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    crate::dice::parse(&dice).ok()?;
    Some(dice)
}

/// "DC 14 Constitution saving throw" at or after `from`.
fn dc_after(text: &str, from: usize) -> Option<(i32, Ability)> {
    let rest = &text[from..];
    let at = rest.find("dc ")?;
    let mut words = rest[at + 3..].split_whitespace();
    let dc: i32 = words.next()?.parse().ok()?;
    let ability = Ability::parse(words.next()?)?;
    Some((dc.clamp(0, 40), ability))
}

/// The number before `word` ("takes 30 damage or more": 30).
fn number_before(text: &str, word: &str) -> Option<i32> {
    let at = text.find(word)?;
    text[..at]
        .split_whitespace()
        .next_back()?
        .parse::<i32>()
        .ok()
        .map(|n| n.clamp(1, 10_000))
}

/// Reads a stat-block action that makes no attack, by its name and text.
pub fn read(name: &str, desc: &str) -> Option<Special> {
    let n = name.to_ascii_lowercase();
    let d = desc.to_ascii_lowercase();
    if n.starts_with("swallow") || n.starts_with("engulf") {
        let bite = if n.starts_with("swallow") {
            let at = d.find("makes one ")? + "makes one ".len();
            let words: Vec<&str> = d[at..].split_whitespace().collect();
            let end = words.iter().position(|w| w.starts_with("attack"))?;
            Some(crate::data::from_index(&crate::data::to_index(
                &words[..end].join(" "),
            )))
        } else {
            None
        };
        // Swallow: "… takes 21 (6d6) acid damage at the start of each of …"; Engulf:
        // "… must succeed on a DC 14 Constitution saving throw at the start of each of
        // the mound's turns or take 13 (2d8 + 4) bludgeoning damage".
        let (dice, damage_type, save) = if let Some(at) = d.find(" damage at the start of each") {
            let (dice, t) = dice_before(&d, at)?;
            (dice, t, None)
        } else {
            let start = d.find("at the start of each")?;
            let (dc, ability) = dc_after(&d[..start], d[..start].rfind("dc ")?)?;
            let take = start + d[start..].find(" damage")?;
            let (dice, t) = dice_before(&d, take)?;
            (dice, t, Some((ability, dc)))
        };
        let escape = number_before(&d, "damage or more on a single turn").and_then(|n| {
            let at = d.find("damage or more on a single turn")?;
            let (dc, _) = dc_after(&d, at)?;
            Some((n, dc))
        });
        return Some(Special::Swallow {
            bite,
            inside: Inside {
                dice,
                damage_type,
                save,
                escape,
                max_size: d
                    .find(" or smaller")
                    .and_then(|at| size_word(d[..at].split_whitespace().next_back()?))
                    .unwrap_or(5),
                one: d.contains("only one"),
            },
        });
    }
    Some(match n.as_str() {
        "invisibility" => Special::Invisibility,
        "enlarge" => Special::Enlarge,
        "teleport" => Special::Teleport,
        "etherealness" | "ethereal stride" => Special::Etherealness,
        "healing touch" => Special::HealingTouch {
            dice: healing_dice(&d)?,
        },
        "change shape" => Special::ChangeShape,
        "ink cloud" => Special::InkCloudLike { dash: true },
        "darkness aura" => Special::InkCloudLike { dash: false },
        "invisible passage" => Special::Invisibility,
        "illusory appearance" => Special::Narration {
            note: "an illusion changes how it looks (narrated: its statistics are unchanged)",
        },
        "read thoughts" => Special::Narration {
            note: "reads the surface thoughts of a creature near it (narrated)",
        },
        "heart sight" => Special::Narration {
            note: "touches a creature and learns its emotional state and alignment (narrated)",
        },
        "nightmare haunting" => Special::Narration {
            note: "haunts a sleeping creature's dreams (narrated: outside a fight)",
        },
        "phantasms" => Special::Phantasms,
        "haste" => Special::Haste,
        "slow" => Special::Slow {
            dc: dc_after(&d, 0)?.0,
        },
        "children of the night" => Special::Summon {
            monster: "swarm-of-bats",
            count: "2d4",
            needs_corpse: false,
        },
        "animate trees" => Special::Summon {
            monster: "treant",
            count: "2",
            needs_corpse: false,
        },
        "create specter" => Special::Summon {
            monster: "specter",
            count: "1",
            needs_corpse: true,
        },
        "leadership" => Special::Leadership,
        "death glare" => Special::DeathGlare {
            dc: dc_after(&d, 0)?.0,
        },
        "draining kiss" => {
            let at = d.find(" damage")?;
            let (dice, damage_type) = dice_before(&d, at)?;
            Special::DrainingKiss {
                dc: dc_after(&d, 0)?.0,
                dice,
                damage_type,
            }
        }
        "reel" => Special::Reel,
        "fling" => Special::Fling {
            dice: "6d6".to_string(),
        },
        "petrifying breath" => Special::Petrify {
            dc: dc_after(&d, 0)?.0,
        },
        "roar" => {
            let third = d.find("third roar")?;
            let at = third + d[third..].find(" damage")?;
            let (dice, damage_type) = dice_before(&d, at)?;
            Special::Roar {
                dc_wis: dc_after(&d, 0)?.0,
                dc_con: dc_after(&d, third)?.0,
                dice,
                damage_type,
            }
        }
        "antennae" => Special::Antennae {
            dc: dc_after(&d, 0)?.0,
        },
        "possession" => Special::Possession {
            dc: dc_after(&d, 0)?.0,
        },
        // The chains are objects the devil runs; the hovering sword strikes as the
        // solar's bonus action: the GM's, told as narration.
        "animate chains" => Special::Narration {
            note: "up to four chains come alive (narrated: the GM runs them, AC 20, 20 hit points, one chain attack each with its Multiattack)",
        },
        "flying sword" => Special::Narration {
            note: "its greatsword hovers beside it (narrated: the GM commands it as a bonus action, one greatsword attack up to 50 feet away)",
        },
        "tentacle slam" | "whirlwind" | "deadly leap" => {
            Special::Burst(read_burst(&d).filter(|b| !b.damage.is_empty())?)
        }
        _ => return None,
    })
}

/// Reads a legendary action that makes no attack, by its name and text.
pub fn read_legendary(name: &str, desc: &str) -> Option<LegendarySpecial> {
    let n = name.to_ascii_lowercase();
    let n = n.split(" (").next().unwrap_or(&n).trim();
    let d = desc.to_ascii_lowercase();
    Some(match n {
        "detect" => LegendarySpecial::Detect,
        "wing attack" => {
            let (dc, _) = dc_after(&d, 0)?;
            let at = d.find(" damage")?;
            let (dice, damage_type) = dice_before(&d, at)?;
            LegendarySpecial::WingAttack {
                dc,
                dice,
                damage_type,
            }
        }
        // Whirlwind of Sand: it moves up to 60 feet as a whirlwind (immune to damage
        // and to being grappled while it moves: no opportunity attack reaches it).
        "move" | "whirlwind of sand" => LegendarySpecial::Move,
        "psychic drain" => {
            let at = d.find(" damage")?;
            let (dice, damage_type) = dice_before(&d, at)?;
            LegendarySpecial::Drain { dice, damage_type }
        }
        "shimmering shield" => LegendarySpecial::Shield,
        "channel negative energy" => LegendarySpecial::NoHealing,
        "cast a spell" => LegendarySpecial::Cast { cantrips: false },
        "cantrip" => LegendarySpecial::Cast { cantrips: true },
        _ if d.contains(" saving throw") => LegendarySpecial::Burst(legendary_burst(&d)?),
        "teleport" => LegendarySpecial::Teleport,
        "heal self" => LegendarySpecial::HealSelf {
            dice: healing_dice(&d)?,
        },
        _ => return None,
    })
}

/// A legendary action's save, read from its (lowercase) text: who it catches (within 5
/// or 10 feet: the foes in melee with it; 20 feet or more: every foe not far; one
/// creature it can see: a gaze), who it spares, the damage and the condition.
fn legendary_burst(d: &str) -> Option<Burst> {
    let mut b = read_burst(d)?;
    if b.lasting.is_none() {
        b.lasting = lasting_of(d);
    }
    let feet = ["within ", "in a "].iter().find_map(|w| {
        let at = d.find(w)? + w.len();
        d[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse::<u32>()
            .ok()
    });
    b.targets = if d.contains("one creature") || d.contains("targets one") {
        BurstTargets::Gaze
    } else if feet.is_some_and(|f| f <= 10) {
        BurstTargets::Engaged
    } else {
        BurstTargets::Near
    };
    b.spares = if d.contains("non-undead") {
        Spares::Undead
    } else if d.contains("living creature") {
        Spares::Unliving
    } else {
        Spares::None
    };
    (!b.damage.is_empty() || b.lasting.is_some() || b.prone).then_some(b)
}

/// The condition a failed save gives, read as a stat-block rider is
/// ([`crate::creature::monster_rider`]); "until the end of the creature's next turn"
/// is the creature's, "until the end of the mummy lord's next turn" the monster's.
fn lasting_of(d: &str) -> Option<Lasting> {
    let a = crate::data::MonsterAction {
        name: String::new(),
        desc: d.to_string(),
        attack_bonus: None,
        reach: None,
        damage: vec![],
        save: None,
        usage: None,
    };
    let rider = crate::creature::monster_rider(&a)?;
    let crate::effect::Step::Save { on_fail, .. } = rider.steps.first()? else {
        return None;
    };
    on_fail.iter().find_map(|s| match s {
        crate::effect::Step::Apply {
            mark: Mark::Condition { condition },
            duration,
            save_ends,
        } => {
            use crate::effect::Duration as D;
            let duration = if d.contains("until the end of the creature's next turn") {
                D::EndOfTargetsNextTurn
            } else if *duration == D::Long
                && d.contains("until the end of the ")
                && d.contains("'s next turn")
            {
                D::EndOfCastersNextTurn
            } else {
                *duration
            };
            Some(Lasting {
                condition: *condition,
                duration,
                save_ends: *save_ends,
            })
        }
        _ => None,
    })
}

/// A monster's special actions: (name, usage limit, what it does), from its stat
/// block in the catalog (an action that became an attack is not one).
pub fn specials(state: &CampaignState, c: &Creature) -> Vec<(String, Option<String>, Special)> {
    let Some(m) = c.monster.as_deref().and_then(|m| state.catalog.monster(m)) else {
        return vec![];
    };
    m.actions
        .iter()
        .filter(|a| a.name != "Multiattack" && c.find_attack(&a.name).is_none())
        .filter_map(|a| read(&a.name, &a.desc).map(|s| (a.name.clone(), a.usage.clone(), s)))
        .collect()
}

/// A monster's legendary actions that make no attack: (name, cost, what it does).
pub fn legendary_specials(
    state: &CampaignState,
    c: &Creature,
) -> Vec<(String, u8, LegendarySpecial)> {
    let Some(m) = c.monster.as_deref().and_then(|m| state.catalog.monster(m)) else {
        return vec![];
    };
    c.legendary
        .iter()
        .filter(|l| l.attack.is_none())
        .filter_map(|l| {
            let (_, desc) = m.legendary_actions.iter().find(|(n, _)| *n == l.name)?;
            read_legendary(&l.name, desc).map(|s| (l.name.clone(), l.cost, s))
        })
        .collect()
}

/// Whether a legendary save burst by `m` (no target: in melee, not far, everyone)
/// would catch a standing player character now.
pub(crate) fn burst_catches_pc(state: &CampaignState, m: CreatureId, b: &Burst) -> bool {
    state
        .combatants()
        .filter(|c| c.is_pc() && !c.is_down() && !resolve::ethereal(c))
        .any(|c| match b.targets {
            BurstTargets::Engaged => {
                super::position::range(state, m, c.id) == super::position::Range::Engaged
            }
            BurstTargets::Near => {
                super::position::range(state, m, c.id) != super::position::Range::Far
            }
            BurstTargets::All => true,
            _ => false,
        })
}

/// The creatures a legendary action that makes no attack may be aimed at (its
/// options name each); `None`: it is aimed at no one.
pub(crate) fn legendary_targets(
    state: &CampaignState,
    m: &Creature,
    special: &LegendarySpecial,
) -> Option<Vec<String>> {
    let foes = || {
        state.combatants().filter(move |c| {
            super::position::hostile(m, c) && !c.is_down() && !resolve::ethereal(c)
        })
    };
    match special {
        LegendarySpecial::Burst(b) if b.targets == BurstTargets::Gaze => Some(
            foes()
                .filter(|c| {
                    super::position::range(state, m.id, c.id) != super::position::Range::Far
                })
                .map(|c| c.name.clone())
                .collect(),
        ),
        LegendarySpecial::Drain { .. } => Some(
            foes()
                .filter(|c| c.conditions.get(&Condition::Charmed) == Some(&Some(m.id)))
                .map(|c| c.name.clone())
                .collect(),
        ),
        LegendarySpecial::Shield => Some(
            state
                .combatants()
                .filter(|c| !c.dead && !resolve::ethereal(c) && !super::position::hostile(m, c))
                .map(|c| c.name.clone())
                .collect(),
        ),
        _ => None,
    }
}

/// Whether a limited special action has a use left.
fn usable(c: &Creature, name: &str, usage: Option<&str>) -> bool {
    let spent = c.spent.get(name).copied().unwrap_or(0);
    match usage.and_then(Limit::parse) {
        None => true,
        Some(Limit::Recharge { .. }) => spent == 0,
        Some(Limit::Uses(n)) => spent < n,
    }
}

/// Whether `c` is gone to the Ethereal Plane by its own action.
fn own_ethereal(c: &Creature) -> Option<Active> {
    c.marks()
        .find(|a| a.mark == Mark::Ethereal && a.by == c.id)
        .copied()
}

/// Who `me` has swallowed.
fn inside_of(state: &CampaignState, me: CreatureId) -> Vec<CreatureId> {
    state
        .creatures
        .values()
        .filter(|c| !c.dead && swallower(c) == Some(me))
        .map(|c| c.id)
        .collect()
}

/// The monster that has swallowed `c`.
pub fn swallower(c: &Creature) -> Option<CreatureId> {
    c.effects.iter().find_map(|e| match e {
        Effect::Swallowed { by, .. } => Some(*by),
        _ => None,
    })
}

/// The active monster's special actions it can use now, as NPC options. An ethereal
/// monster is offered only its way back.
pub(crate) fn options(state: &CampaignState, npc: &Creature, foes: &[&Creature]) -> Vec<NpcOption> {
    let mut out = Vec::new();
    let ethereal = own_ethereal(npc).is_some();
    for (name, usage, s) in specials(state, npc) {
        if !usable(npc, &name, usage.as_deref()) {
            continue;
        }
        let plain = |out: &mut Vec<NpcOption>| {
            out.push(NpcOption::Special {
                action: name.clone(),
                target: None,
            })
        };
        if ethereal {
            if s == Special::Etherealness {
                plain(&mut out);
            }
            continue;
        }
        match &s {
            Special::Swallow { inside, .. } => {
                let held = inside_of(state, npc.id).len();
                if (inside.one && held > 0) || held >= MAX_INSIDE {
                    continue;
                }
                for t in foes {
                    if t.conditions.get(&Condition::Grappled) == Some(&Some(npc.id))
                        && size_rank(state, t) <= inside.max_size
                    {
                        out.push(NpcOption::Special {
                            action: name.clone(),
                            target: Some(t.name.clone()),
                        });
                    }
                }
            }
            Special::Invisibility if npc.has(Condition::Invisible) => {}
            Special::Slow { .. }
                if !foes.iter().any(|t| {
                    super::position::range(state, npc.id, t.id) == super::position::Range::Engaged
                }) => {}
            Special::Summon {
                needs_corpse: true, ..
            } if !corpse(state) => {}
            Special::Burst(b) => match b.targets {
                BurstTargets::Grappled => {
                    if foes
                        .iter()
                        .any(|t| t.conditions.get(&Condition::Grappled) == Some(&Some(npc.id)))
                    {
                        plain(&mut out);
                    }
                }
                BurstTargets::Engaged => {
                    if foes.iter().any(|t| {
                        super::position::range(state, npc.id, t.id)
                            == super::position::Range::Engaged
                    }) {
                        plain(&mut out);
                    }
                }
                BurstTargets::All => {
                    if !foes.is_empty() {
                        plain(&mut out);
                    }
                }
                BurstTargets::Near => {
                    if foes.iter().any(|t| {
                        super::position::range(state, npc.id, t.id) != super::position::Range::Far
                    }) {
                        plain(&mut out);
                    }
                }
                BurstTargets::Gaze => {
                    for t in foes {
                        if super::position::range(state, npc.id, t.id)
                            != super::position::Range::Far
                        {
                            out.push(NpcOption::Special {
                                action: name.clone(),
                                target: Some(t.name.clone()),
                            });
                        }
                    }
                }
                BurstTargets::Target => {
                    for t in foes {
                        if super::position::can_reach(state, npc.id, t.id) {
                            out.push(NpcOption::Special {
                                action: name.clone(),
                                target: Some(t.name.clone()),
                            });
                        }
                    }
                }
            },
            Special::Enlarge if npc.has_mark(|m| *m == Mark::Enlarged) => {}
            Special::DeathGlare { .. }
            | Special::DrainingKiss { .. }
            | Special::Fling { .. }
            | Special::Antennae { .. }
            | Special::Possession { .. } => {
                let engaged = |t: &Creature| {
                    super::position::range(state, npc.id, t.id) == super::position::Range::Engaged
                };
                for t in foes {
                    let ok = match &s {
                        Special::DeathGlare { .. } => {
                            t.has(Condition::Frightened)
                                && super::position::range(state, npc.id, t.id)
                                    != super::position::Range::Far
                        }
                        Special::DrainingKiss { .. } => {
                            t.conditions.get(&Condition::Charmed) == Some(&Some(npc.id))
                                && super::position::can_reach(state, npc.id, t.id)
                        }
                        Special::Fling { .. } => {
                            t.conditions.get(&Condition::Grappled) == Some(&Some(npc.id))
                        }
                        Special::Antennae { .. } => engaged(t),
                        _ => {
                            engaged(t)
                                && humanoid(state, t)
                                && possessed_by(state, npc.id).is_none()
                        }
                    };
                    if ok {
                        out.push(NpcOption::Special {
                            action: name.clone(),
                            target: Some(t.name.clone()),
                        });
                    }
                }
            }
            Special::Reel => {
                if foes
                    .iter()
                    .any(|t| t.conditions.get(&Condition::Grappled) == Some(&Some(npc.id)))
                {
                    plain(&mut out);
                }
            }
            Special::Petrify { .. } => {
                if foes.iter().any(|t| {
                    super::position::range(state, npc.id, t.id) != super::position::Range::Far
                }) {
                    plain(&mut out);
                }
            }
            Special::HealingTouch { .. } => {
                for a in state.combatants().filter(|a| {
                    a.on_party_side() == npc.on_party_side()
                        && a.id != npc.id
                        && !a.dead
                        && a.hp < a.effective_max_hp()
                        && !resolve::ethereal(a)
                }) {
                    out.push(NpcOption::Special {
                        action: name.clone(),
                        target: Some(a.name.clone()),
                    });
                }
            }
            _ => plain(&mut out),
        }
    }
    out
}

/// The built-in policy's pick among the special actions: a swallow or engulf when it
/// can, a healing touch on a bloodied ally, coming back from the Ethereal Plane.
pub(crate) fn policy_pick(
    state: &CampaignState,
    npc: &Creature,
    options: &[NpcOption],
) -> Option<NpcOption> {
    let specials = specials(state, npc);
    let kind = |action: &str| {
        specials
            .iter()
            .find(|(n, _, _)| n == action)
            .map(|(_, _, s)| s)
    };
    options
        .iter()
        .find(|o| match o {
            NpcOption::Special { action, target } => match kind(action) {
                Some(Special::Swallow { .. }) => true,
                Some(Special::Etherealness) => own_ethereal(npc).is_some(),
                Some(Special::HealingTouch { .. }) => target
                    .as_deref()
                    .and_then(|t| state.combatants().find(|c| c.name == t))
                    .is_some_and(|a| a.hp.saturating_mul(2) <= a.effective_max_hp()),
                _ => false,
            },
            _ => false,
        })
        .cloned()
}

/// A creature's size, 0 (tiny) to 5 (gargantuan): a monster's from its stat block,
/// a player character's from its race (Medium when unknown).
fn size_rank(state: &CampaignState, c: &Creature) -> u8 {
    let size = match (&c.monster, &c.pc) {
        (Some(m), _) => state.catalog.monster(m).map(|m| m.size.as_str()),
        (None, Some(pc)) => state.catalog.race(&pc.race).map(|r| r.size.as_str()),
        _ => None,
    };
    size.and_then(|s| size_word(&s.to_ascii_lowercase()))
        .unwrap_or(2)
}

/// Metal armor the rust monster's touch corrodes (SRD armor of metal; a shield is
/// taken as metal).
const METAL_ARMOR: &[&str] = &[
    "chain shirt",
    "scale mail",
    "breastplate",
    "half plate",
    "ring mail",
    "chain mail",
    "splint",
    "plate",
    "shield",
];

/// The rust monster's touch on `t`'s armor: a player character wearing metal armor
/// or carrying a shield loses 1 AC for good (one mark, its penalty growing; the AC
/// never below 10, where the armor is destroyed). Others lose nothing the rules track.
fn corrode(em: &mut Emitter, me: CreatureId, t: CreatureId) {
    let c = em.creature(t);
    let metal = c.is_pc()
        && c.inventory.iter().any(|i| {
            let n = i.name.to_ascii_lowercase();
            METAL_ARMOR
                .iter()
                .any(|m| n == *m || n.starts_with(&format!("{m} ")))
        });
    let old = c
        .marks()
        .find(|a| a.by == me && a.until == Until::Removed && matches!(a.mark, Mark::AcBonus { .. }))
        .copied();
    let so_far = match old.map(|a| a.mark) {
        Some(Mark::AcBonus { amount }) => amount,
        _ => 0,
    };
    if !metal || c.armor_class.saturating_add(so_far) <= 10 {
        return;
    }
    if let Some(a) = old {
        resolve::end_mark(em, t, a);
    }
    put(
        em,
        me,
        t,
        Mark::AcBonus {
            amount: so_far.saturating_sub(1).max(-30),
        },
        Until::Removed,
        None,
    );
}

/// A humanoid: a player character, or a monster of that type.
fn humanoid(state: &CampaignState, c: &Creature) -> bool {
    c.is_pc()
        || c.monster
            .as_deref()
            .and_then(|m| state.catalog.monster(m))
            .is_some_and(|m| m.kind.to_ascii_lowercase().starts_with("humanoid"))
}

/// The creature `ghost` possesses (incapacitated by it until removed).
fn possessed_by(state: &CampaignState, ghost: CreatureId) -> Option<CreatureId> {
    state
        .creatures
        .values()
        .find(|c| {
            c.marks().any(|a| {
                a.by == ghost
                    && a.until == Until::Removed
                    && a.mark
                        == Mark::Condition {
                            condition: Condition::Incapacitated,
                        }
            })
        })
        .map(|c| c.id)
}

/// A possession ends: the body is free, the ghost back beside it.
fn end_possession(em: &mut Emitter, ghost: CreatureId) {
    if let Some(body) = possessed_by(&em.state, ghost) {
        let marks: Vec<Active> = em
            .creature(body)
            .marks()
            .filter(|a| {
                a.by == ghost
                    && a.until == Until::Removed
                    && a.mark
                        == Mark::Condition {
                            condition: Condition::Incapacitated,
                        }
            })
            .copied()
            .collect();
        for a in marks {
            resolve::end_mark(em, body, a);
        }
    }
    if let Some(a) = own_ethereal(em.creature(ghost)) {
        resolve::end_mark(em, ghost, a);
    }
}

/// A humanoid dead in this fight (a wraith's Create Specter).
fn corpse(state: &CampaignState) -> bool {
    state.combatants().any(|c| {
        c.dead
            && (c.is_pc()
                || c.monster
                    .as_deref()
                    .and_then(|m| state.catalog.monster(m))
                    .is_some_and(|m| m.kind.eq_ignore_ascii_case("humanoid")))
    })
}

/// A condition `c` can be given (no immunity, no Freedom of Movement).
fn can_get(c: &Creature, condition: Condition) -> bool {
    !c.condition_immunities.contains(&condition)
        && !c.has_mark(|m| *m == Mark::ImmuneTo { condition })
}

/// `t` falls prone (from `by`), unless it is down, already prone or can't be.
fn knock_prone(em: &mut Emitter, t: CreatureId, by: CreatureId) {
    let c = em.creature(t);
    if !c.dead && !c.has(Condition::Prone) && can_get(c, Condition::Prone) {
        em.public(EventKind::ConditionApplied {
            creature: t,
            condition: Condition::Prone,
            source: Some(by),
        });
    }
}

/// Puts a mark from `by` on `t` (and its condition, when it is one).
fn put(
    em: &mut Emitter,
    by: CreatureId,
    t: CreatureId,
    mark: Mark,
    until: Until,
    ends_on: Option<EndsOn>,
) {
    put_full(em, by, t, mark, until, ends_on, None);
}

/// [`put`] with a save that ends it at the end of each of the creature's turns.
fn put_saving(
    em: &mut Emitter,
    by: CreatureId,
    t: CreatureId,
    mark: Mark,
    until: Until,
    save_ends: Option<crate::effect::SaveEnds>,
) {
    put_full(em, by, t, mark, until, None, save_ends);
}

fn put_full(
    em: &mut Emitter,
    by: CreatureId,
    t: CreatureId,
    mark: Mark,
    until: Until,
    ends_on: Option<EndsOn>,
    save_ends: Option<crate::effect::SaveEnds>,
) {
    if let Mark::Condition { condition } = mark {
        if !can_get(em.creature(t), condition) {
            return;
        }
        if !em.creature(t).has(condition) {
            em.public(EventKind::ConditionApplied {
                creature: t,
                condition,
                source: Some(by),
            });
        }
    }
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: Effect::Spell(Active {
            by,
            mark,
            until,
            concentration: false,
            save_ends,
            ends_on,
        }),
    });
    // Incapacitated (stunned): concentration ends.
    if let Mark::Condition { condition } = mark
        && condition.incapacitates()
        && em.creature(t).concentration.is_some()
    {
        resolve::end_concentration(em, t);
    }
}

/// Ends the grapples `me` holds (it teleports or slips away).
fn let_go(em: &mut Emitter, me: CreatureId) {
    let held: Vec<CreatureId> = em
        .state
        .creatures
        .values()
        .filter(|c| c.conditions.get(&Condition::Grappled) == Some(&Some(me)))
        .map(|c| c.id)
        .collect();
    for t in held {
        em.public(EventKind::ConditionRemoved {
            creature: t,
            condition: Condition::Grappled,
        });
    }
}

/// Out of every melee (no move spent, no opportunity attack), to `to`.
fn step_away(em: &mut Emitter, me: CreatureId, to: Place) {
    if !em.state.in_combat() {
        return;
    }
    let engaged = !super::position::engaged_with(&em.state, me).is_empty();
    let far = em
        .state
        .combat
        .as_ref()
        .is_some_and(|c| c.far.contains(&me));
    if engaged || (to == Place::Far && !far) || (to == Place::Near && far) {
        em.public(EventKind::Moved {
            creature: me,
            to,
            moves: 0,
        });
    }
}

/// The active monster's special action. Returns true when a reaction window opened
/// (a swallow's bite that hit; the swallow waits in it).
pub(crate) fn act(
    em: &mut Emitter,
    me: CreatureId,
    action: &str,
    target: Option<&str>,
) -> Result<bool, RuleError> {
    let (name, usage, special) = specials(&em.state, em.creature(me))
        .into_iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(action))
        .ok_or_else(|| RuleError::invalid("Unknown action."))?;
    let t = match target {
        Some(t) => Some(find_creature(&em.state, t, |c| !c.dead)?),
        None => None,
    };
    if usage.is_some() {
        em.public(EventKind::LimitedActionUsed {
            creature: me,
            action: name.clone(),
        });
    }
    let note = |s: &str| s.to_string();
    match special {
        Special::Swallow { bite, inside } => {
            let t = t.ok_or_else(|| RuleError::invalid("Swallow whom?"))?;
            if size_rank(&em.state, em.creature(t)) > inside.max_size {
                return Err(RuleError::invalid("That creature is too big to swallow."));
            }
            match bite {
                Some(bite) => {
                    em.public(EventKind::SpecialAction {
                        creature: me,
                        action: name,
                        target: Some(t),
                        note: note("a bite at the creature it grapples: a hit swallows it"),
                    });
                    let atk = em
                        .creature(me)
                        .find_attack(&bite)
                        .cloned()
                        .ok_or_else(|| RuleError::invalid("It has no bite."))?;
                    if super::combat::npc_attack_then(
                        em,
                        me,
                        t,
                        &atk,
                        Some(vec![]),
                        crate::event::AfterHit::Swallow,
                    )? {
                        return Ok(true);
                    }
                    let hit = em.events.iter().rev().find_map(|e| match &e.kind {
                        EventKind::AttackRolled {
                            attacker, outcome, ..
                        } if *attacker == me => Some(outcome.is_hit()),
                        _ => None,
                    });
                    if hit == Some(true) {
                        swallow(em, me, t);
                    }
                }
                None => {
                    em.public(EventKind::SpecialAction {
                        creature: me,
                        action: name,
                        target: Some(t),
                        note: note("engulfs the creature it grapples"),
                    });
                    swallow(em, me, t);
                }
            }
        }
        Special::Invisibility => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("invisible until it attacks or casts a spell"),
            });
            put(
                em,
                me,
                me,
                Mark::Condition {
                    condition: Condition::Invisible,
                },
                Until::LongRest,
                Some(EndsOn::AttackOrCast),
            );
        }
        Special::Enlarge => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("larger for a minute: more weapon damage, Strength advantage"),
            });
            let until = super::spells::until_of(em, me, me, crate::effect::Duration::Rounds(10));
            put(em, me, me, Mark::Enlarged, until, None);
        }
        Special::Teleport => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("teleports away from the fray (no opportunity attack)"),
            });
            let_go(em, me);
            step_away(em, me, Place::Far);
        }
        Special::Etherealness => {
            if let Some(a) = own_ethereal(em.creature(me)) {
                em.public(EventKind::SpecialAction {
                    creature: me,
                    action: name,
                    target: None,
                    note: note("comes back from the Ethereal Plane"),
                });
                resolve::end_mark(em, me, a);
                end_possession(em, me);
            } else {
                em.public(EventKind::SpecialAction {
                    creature: me,
                    action: name,
                    target: None,
                    note: note(
                        "goes to the Ethereal Plane: it can neither affect nor be affected until it comes back",
                    ),
                });
                let_go(em, me);
                step_away(em, me, Place::Near);
                put(em, me, me, Mark::Ethereal, Until::LongRest, None);
            }
        }
        Special::HealingTouch { dice } => {
            let t = t.ok_or_else(|| RuleError::invalid("Heal whom?"))?;
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("a healing touch; blindness, deafness and poison end"),
            });
            resolve::heal(em, t, Some(me), &dice)?;
            for c in [Condition::Blinded, Condition::Deafened, Condition::Poisoned] {
                if em.creature(t).has(c) {
                    resolve::end_condition(em, t, c);
                }
            }
        }
        Special::ChangeShape => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("takes another form (narrated: its statistics here are unchanged)"),
            });
        }
        Special::Summon {
            monster,
            count,
            needs_corpse,
        } => {
            if needs_corpse && !corpse(&em.state) {
                return Err(RuleError::invalid("There is no fallen humanoid to raise."));
            }
            let n = crate::dice::roll(count, em.dice)?.total.clamp(1, 20) as u32;
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: format!(
                    "calls {n} {} to fight on its side",
                    crate::data::from_index(monster).to_lowercase()
                ),
            });
            super::combat::add(
                em,
                &[crate::command::MonsterGroup {
                    monster: monster.to_string(),
                    count: n,
                }],
            )?;
        }
        Special::Leadership => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("its side adds a d4 to attack rolls and saves for a minute"),
            });
            let allies: Vec<CreatureId> = em
                .state
                .combatants()
                .filter(|c| {
                    c.on_party_side() == em.creature(me).on_party_side()
                        && !c.is_down()
                        && c.id != me
                })
                .map(|c| c.id)
                .collect();
            for a in allies {
                let until = super::spells::until_of(em, me, a, crate::effect::Duration::Rounds(10));
                put(
                    em,
                    me,
                    a,
                    Mark::RollDie {
                        sides: 4,
                        attacks: true,
                        saves: true,
                    },
                    until,
                    None,
                );
            }
        }
        Special::Burst(b) => {
            burst(em, me, &name, t, &b, true)?;
        }
        Special::DeathGlare { dc } => {
            let t = t.ok_or_else(|| RuleError::invalid("Glare at whom?"))?;
            resolve::targetable(em, t)?;
            if !em.creature(t).has(Condition::Frightened) {
                return Err(RuleError::invalid("Only a frightened creature."));
            }
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("a Wisdom save or it drops to 0 hit points"),
            });
            if !resolve::saving_throw(em, t, Ability::Wis, Default::default(), Some(dc))
                && em.creature(t).hp > 0
            {
                em.public(EventKind::HitPointsSet { target: t, hp: 0 });
                resolve::drop_to_zero(em, t, Some(me));
            }
        }
        Special::DrainingKiss {
            dc,
            dice,
            damage_type,
        } => {
            let t = t.ok_or_else(|| RuleError::invalid("Kiss whom?"))?;
            resolve::targetable(em, t)?;
            if em.creature(t).conditions.get(&Condition::Charmed) != Some(&Some(me)) {
                return Err(RuleError::invalid("Only a creature it has charmed."));
            }
            let need = super::position::approach(em, me, t, crate::data::Reach::Melee)?;
            if need > 0 {
                em.public(EventKind::Moved {
                    creature: me,
                    to: Place::Engaged { with: t },
                    moves: need,
                });
            }
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("a Constitution save: the damage (half on a success) lowers its hit point maximum until a long rest"),
            });
            let roll = crate::dice::roll(&dice, em.dice)?;
            let saved = resolve::saving_throw(em, t, Ability::Con, Default::default(), Some(dc));
            let took = resolve::deal_rolled(em, t, Some(me), &[(damage_type, roll)], false, saved);
            let c = em.creature(t);
            if took > 0 && !c.dead {
                let max = c.effective_max_hp();
                put(
                    em,
                    me,
                    t,
                    Mark::MaxHp {
                        amount: -took.min(max),
                    },
                    Until::LongRest,
                    None,
                );
                if em.creature(t).effective_max_hp() <= 0 && !em.creature(t).dead {
                    em.public(EventKind::Died { creature: t });
                }
            }
        }
        Special::Reel => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("pulls each creature it grapples up to 25 feet toward it"),
            });
            let held: Vec<CreatureId> = em
                .state
                .combatants()
                .filter(|c| c.conditions.get(&Condition::Grappled) == Some(&Some(me)))
                .map(|c| c.id)
                .collect();
            for h in held {
                if super::position::range(&em.state, me, h) != super::position::Range::Engaged {
                    em.public(EventKind::Moved {
                        creature: h,
                        to: Place::Engaged { with: me },
                        moves: 0,
                    });
                }
            }
        }
        Special::Fling { dice } => {
            let t = t.ok_or_else(|| RuleError::invalid("Fling whom?"))?;
            if em.creature(t).conditions.get(&Condition::Grappled) != Some(&Some(me)) {
                return Err(RuleError::invalid("Only a creature it grapples."));
            }
            if size_rank(&em.state, em.creature(t)) > 3 {
                return Err(RuleError::invalid("Only a Large or smaller creature."));
            }
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("thrown 60 feet: it lands far away, prone, 1d6 bludgeoning per 10 feet"),
            });
            em.public(EventKind::ConditionRemoved {
                creature: t,
                condition: Condition::Grappled,
            });
            em.public(EventKind::Moved {
                creature: t,
                to: Place::Far,
                moves: 0,
            });
            let roll = crate::dice::roll(&dice, em.dice)?;
            resolve::deal_rolled(
                em,
                t,
                Some(me),
                &[(DamageType::Bludgeoning, roll)],
                false,
                false,
            );
            knock_prone(em, t, me);
        }
        Special::Petrify { dc } => {
            let b = Burst {
                targets: BurstTargets::Near,
                ability: Ability::Con,
                or_dex: false,
                dc,
                damage: vec![],
                half: false,
                prone: false,
                lasting: Some(Lasting {
                    condition: Condition::Restrained,
                    duration: crate::effect::Duration::EndOfTargetsNextTurn,
                    save_ends: None,
                }),
                spares: Spares::None,
            };
            burst(em, me, &name, None, &b, true)?;
        }
        Special::Roar {
            dc_wis,
            dc_con,
            dice,
            damage_type,
        } => {
            // Its uses so far today (the one just spent included): the first, second
            // or third roar.
            let nth = em.creature(me).spent.get(&name).copied().unwrap_or(1);
            let minute = |condition, save_ends| Lasting {
                condition,
                duration: crate::effect::Duration::Rounds(10),
                save_ends,
            };
            let mut b = Burst {
                targets: BurstTargets::All,
                ability: Ability::Wis,
                or_dex: false,
                dc: dc_wis,
                damage: vec![],
                half: false,
                prone: false,
                lasting: Some(minute(Condition::Frightened, Some(Ability::Wis))),
                spares: Spares::None,
            };
            if nth >= 3 {
                b.ability = Ability::Con;
                b.dc = dc_con;
                b.damage = vec![(dice, damage_type)];
                b.half = true;
                b.prone = true;
                b.lasting = None;
            }
            let frightened = |em: &Emitter| -> Vec<(CreatureId, Active)> {
                em.state
                    .combatants()
                    .flat_map(|c| {
                        c.marks()
                            .filter(|a| {
                                a.by == me
                                    && a.mark
                                        == Mark::Condition {
                                            condition: Condition::Frightened,
                                        }
                            })
                            .map(|a| (c.id, *a))
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            let before = frightened(em);
            burst(em, me, &name, None, &b, true)?;
            if nth == 2 {
                // The second roar: those it frightens now are also deafened for the
                // minute and paralyzed while frightened (the same save ends both).
                let scared: Vec<CreatureId> = frightened(em)
                    .into_iter()
                    .filter(|x| !before.contains(x))
                    .map(|(c, _)| c)
                    .collect();
                for c in scared {
                    let until =
                        super::spells::until_of(em, me, c, crate::effect::Duration::Rounds(10));
                    put(
                        em,
                        me,
                        c,
                        Mark::Condition {
                            condition: Condition::Deafened,
                        },
                        until,
                        None,
                    );
                    put_saving(
                        em,
                        me,
                        c,
                        Mark::Condition {
                            condition: Condition::Paralyzed,
                        },
                        until,
                        Some(crate::effect::SaveEnds {
                            ability: Ability::Wis,
                            dc: dc_wis,
                            action: false,
                        }),
                    );
                }
            }
        }
        Special::Antennae { dc } => {
            let t = t.ok_or_else(|| RuleError::invalid("Touch whom?"))?;
            resolve::targetable(em, t)?;
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("corrodes a nonmagical ferrous metal object: a Dexterity save avoids the touch; metal armor or a shield loses 1 AC for good"),
            });
            if !resolve::saving_throw(em, t, Ability::Dex, Default::default(), Some(dc)) {
                corrode(em, me, t);
            }
        }
        Special::Possession { dc } => {
            let t = t.ok_or_else(|| RuleError::invalid("Possess whom?"))?;
            resolve::targetable(em, t)?;
            if !humanoid(&em.state, em.creature(t)) {
                return Err(RuleError::invalid("Only a humanoid."));
            }
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("a Charisma save or possessed: incapacitated, the ghost inside it (the GM plays the body)"),
            });
            if !resolve::saving_throw(em, t, Ability::Cha, Default::default(), Some(dc))
                && can_get(em.creature(t), Condition::Incapacitated)
            {
                put(
                    em,
                    me,
                    t,
                    Mark::Condition {
                        condition: Condition::Incapacitated,
                    },
                    Until::Removed,
                    None,
                );
                let_go(em, me);
                put(em, me, me, Mark::Ethereal, Until::LongRest, None);
            }
        }
        Special::InkCloudLike { dash } => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note(if dash {
                    "a cloud of ink (underwater): those in melee with it are blinded for a minute; it dashes away"
                } else {
                    "magical darkness around it: those in melee with it are blinded for a minute"
                }),
            });
            let foes: Vec<CreatureId> = super::position::engaged_with(&em.state, me)
                .into_iter()
                .filter(|o| super::position::hostile(em.creature(me), em.creature(*o)))
                .collect();
            for f in foes {
                let until = super::spells::until_of(em, me, f, crate::effect::Duration::Rounds(10));
                put(
                    em,
                    me,
                    f,
                    Mark::Condition {
                        condition: Condition::Blinded,
                    },
                    until,
                    None,
                );
            }
            if dash {
                step_away(em, me, Place::Far);
            }
        }
        Special::Narration { note: n } => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note(n),
            });
        }
        Special::Phantasms => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("three illusory duplicates: an attack may strike one instead"),
            });
            put(
                em,
                me,
                me,
                Mark::MirrorImage { images: 3 },
                Until::LongRest,
                None,
            );
        }
        Special::Haste => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("+2 AC and advantage on Dexterity saves until the end of its next turn"),
            });
            let until =
                super::spells::until_of(em, me, me, crate::effect::Duration::EndOfCastersNextTurn);
            put(em, me, me, Mark::AcBonus { amount: 2 }, until, None);
            put(
                em,
                me,
                me,
                Mark::SaveAdvantage {
                    ability: Some(Ability::Dex),
                },
                until,
                None,
            );
        }
        Special::Slow { dc } => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name.clone(),
                target: None,
                note: note("those in melee with it: a Wisdom save or slowed for a minute"),
            });
            use crate::effect::{Duration, Step};
            let apply = |mark| Step::Apply {
                mark,
                duration: Duration::Rounds(10),
                save_ends: Some(Ability::Wis),
            };
            let rider = crate::effect::Rider {
                dc,
                steps: vec![Step::Save {
                    ability: Ability::Wis,
                    half: false,
                    on_fail: vec![
                        apply(Mark::SpeedHalved),
                        apply(Mark::NoReactions),
                        apply(Mark::Slowed),
                    ],
                }],
            };
            let foes: Vec<CreatureId> = super::position::engaged_with(&em.state, me)
                .into_iter()
                .filter(|o| super::position::hostile(em.creature(me), em.creature(*o)))
                .collect();
            for f in foes {
                if !em.creature(f).is_down() {
                    super::spells::run_rider(em, me, f, &name, &rider)?;
                }
            }
        }
    }
    super::combat::check_end(em);
    Ok(false)
}

/// Whether `c` is of a type `spares` leaves alone.
fn spared(state: &CampaignState, c: &Creature, spares: Spares) -> bool {
    let kind = c
        .monster
        .as_deref()
        .and_then(|m| state.catalog.monster(m))
        .map(|m| m.kind.to_ascii_lowercase());
    match spares {
        Spares::None => false,
        Spares::Undead => kind.as_deref() == Some("undead"),
        Spares::Unliving => matches!(kind.as_deref(), Some("undead" | "construct")),
    }
}

/// A save burst by `me` (a special action, `announce`: its event first; or a
/// legendary action): each creature it catches saves; the damage is rolled once.
fn burst(
    em: &mut Emitter,
    me: CreatureId,
    name: &str,
    t: Option<CreatureId>,
    b: &Burst,
    announce: bool,
) -> Result<(), RuleError> {
    let mine = em.creature(me).clone();
    let foe = |em: &Emitter, o: CreatureId| {
        let o = em.creature(o);
        super::position::hostile(&mine, o) && !o.is_down() && !resolve::ethereal(o)
    };
    let caught: Vec<CreatureId> = match b.targets {
        BurstTargets::Grappled => em
            .state
            .combatants()
            .filter(|c| c.conditions.get(&Condition::Grappled) == Some(&Some(me)))
            .map(|c| c.id)
            .collect(),
        BurstTargets::Engaged => super::position::engaged_with(&em.state, me)
            .into_iter()
            .filter(|o| super::position::hostile(&mine, em.creature(*o)))
            .collect(),
        BurstTargets::All => em
            .state
            .combatants()
            .map(|c| c.id)
            .filter(|o| *o != me && foe(em, *o))
            .collect(),
        BurstTargets::Near => em
            .state
            .combatants()
            .map(|c| c.id)
            .filter(|o| {
                *o != me
                    && foe(em, *o)
                    && super::position::range(&em.state, me, *o) != super::position::Range::Far
            })
            .collect(),
        BurstTargets::Gaze => {
            let t = t.ok_or_else(|| RuleError::invalid("At whom?"))?;
            resolve::targetable(em, t)?;
            if super::position::range(&em.state, me, t) == super::position::Range::Far {
                return Err(RuleError::invalid("That creature is too far away."));
            }
            vec![t]
        }
        BurstTargets::Target => {
            let t = t.ok_or_else(|| RuleError::invalid("Leap at whom?"))?;
            resolve::targetable(em, t)?;
            let need = super::position::approach(em, me, t, crate::data::Reach::Melee)?;
            if need > 0 {
                em.public(EventKind::Moved {
                    creature: me,
                    to: Place::Engaged { with: t },
                    moves: need,
                });
            }
            vec![t]
        }
    };
    if announce {
        em.public(EventKind::SpecialAction {
            creature: me,
            action: name.to_string(),
            target: t,
            note: "a save for each creature it catches".to_string(),
        });
    }
    let mut rolls = Vec::with_capacity(b.damage.len());
    for (dice, ty) in &b.damage {
        rolls.push((*ty, crate::dice::roll(dice, em.dice)?));
    }
    for c in caught {
        let tc = em.creature(c);
        if tc.is_down() || resolve::ethereal(tc) || spared(&em.state, tc, b.spares) {
            continue;
        }
        let ability = if b.or_dex && tc.save_modifier(Ability::Dex) > tc.save_modifier(b.ability) {
            Ability::Dex
        } else {
            b.ability
        };
        if resolve::saving_throw(em, c, ability, Default::default(), Some(b.dc)) {
            if b.half && !rolls.is_empty() {
                resolve::deal_rolled(em, c, Some(me), &rolls, false, true);
            }
            continue;
        }
        if !rolls.is_empty() {
            resolve::deal_rolled(em, c, Some(me), &rolls, false, false);
        }
        let tc = em.creature(c);
        if tc.dead {
            continue;
        }
        if b.prone && !tc.has(Condition::Prone) && can_get(tc, Condition::Prone) {
            em.public(EventKind::ConditionApplied {
                creature: c,
                condition: Condition::Prone,
                source: Some(me),
            });
        }
        if let Some(l) = b.lasting {
            let until = super::spells::until_of(em, me, c, l.duration);
            put_saving(
                em,
                me,
                c,
                Mark::Condition {
                    condition: l.condition,
                },
                until,
                l.save_ends.map(|ability| crate::effect::SaveEnds {
                    ability,
                    dc: b.dc,
                    action: false,
                }),
            );
        }
    }
    Ok(())
}

/// A hit with a swallow's bite (or an engulf): `t` goes inside `me`.
pub(crate) fn swallow(em: &mut Emitter, me: CreatureId, t: CreatureId) {
    let c = em.creature(t);
    if c.dead || swallower(c).is_some() || !em.state.in_combat() {
        return;
    }
    if c.has(Condition::Grappled) {
        em.public(EventKind::ConditionRemoved {
            creature: t,
            condition: Condition::Grappled,
        });
    }
    for condition in [Condition::Blinded, Condition::Restrained] {
        let c = em.creature(t);
        if !c.has(condition) && can_get(c, condition) {
            em.public(EventKind::ConditionApplied {
                creature: t,
                condition,
                source: Some(me),
            });
        }
    }
    if super::position::range(&em.state, me, t) != super::position::Range::Engaged {
        em.public(EventKind::Moved {
            creature: t,
            to: Place::Engaged { with: me },
            moves: 0,
        });
    }
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: Effect::Swallowed { by: me, taken: 0 },
    });
}

/// `t` comes out of `by` (prone, unless dead).
fn release(em: &mut Emitter, t: CreatureId, by: CreatureId) {
    let Some(e) = em
        .creature(t)
        .effects
        .iter()
        .find(|e| matches!(e, Effect::Swallowed { by: b, .. } if *b == by))
        .copied()
    else {
        return;
    };
    em.public(EventKind::EffectEnded {
        creature: t,
        effect: e,
    });
    for condition in [Condition::Blinded, Condition::Restrained] {
        let c = em.creature(t);
        if c.conditions.get(&condition) == Some(&Some(by))
            && !c.has_mark(|m| *m == Mark::Condition { condition })
        {
            em.public(EventKind::ConditionRemoved {
                creature: t,
                condition,
            });
        }
    }
    knock_prone(em, t, by);
}

/// What is inside `me`, from its stat block.
fn inside_rule(state: &CampaignState, me: &Creature) -> Option<Inside> {
    specials(state, me)
        .into_iter()
        .find_map(|(_, _, s)| match s {
            Special::Swallow { inside, .. } => Some(inside),
            _ => None,
        })
}

/// At the start of `id`'s turn: what it has swallowed takes its damage.
pub(crate) fn digest(em: &mut Emitter, id: CreatureId) -> Result<(), RuleError> {
    let held = inside_of(&em.state, id);
    if held.is_empty() {
        return Ok(());
    }
    let Some(inside) = inside_rule(&em.state, em.creature(id)) else {
        return Ok(());
    };
    for t in held {
        if let Some((ability, dc)) = inside.save
            && resolve::saving_throw(em, t, ability, Default::default(), Some(dc))
        {
            continue;
        }
        let roll = crate::dice::roll(&inside.dice, em.dice)?;
        resolve::deal_rolled(em, t, Some(id), &[(inside.damage_type, roll)], false, false);
    }
    Ok(())
}

/// At the end of `who`'s turn: swallowed, and it dealt its swallower enough damage this
/// turn, the swallower makes its Constitution save or regurgitates it.
pub(crate) fn turn_end(em: &mut Emitter, who: CreatureId) {
    petrify_save(em, who);
    let Some((by, taken)) = em.creature(who).effects.iter().find_map(|e| match e {
        Effect::Swallowed { by, taken } => Some((*by, *taken)),
        _ => None,
    }) else {
        return;
    };
    let Some((need, dc)) = inside_rule(&em.state, em.creature(by)).and_then(|i| i.escape) else {
        return;
    };
    if taken < need || em.creature(by).is_down() {
        return;
    }
    if !resolve::saving_throw(em, by, Ability::Con, Default::default(), Some(dc)) {
        release(em, who, by);
    }
}

/// At the end of `who`'s turn: restrained by a gorgon's breath until now, it saves
/// again: a failure petrifies it (until magic frees it: a mark removed only by other
/// means), a success ends the effect (its restraint ends with the turn).
fn petrify_save(em: &mut Emitter, who: CreatureId) {
    let Some(round) = em.state.combat.as_ref().map(|c| c.round) else {
        return;
    };
    let c = em.creature(who);
    if c.is_down() {
        return;
    }
    let restrained = Mark::Condition {
        condition: Condition::Restrained,
    };
    let Some((by, dc)) = c
        .marks()
        .filter(|a| a.mark == restrained && a.until == Until::TurnEnd { who, round })
        .find_map(|a| {
            let g = em.state.creatures.get(&a.by)?;
            specials(&em.state, g)
                .into_iter()
                .find_map(|(_, _, s)| match s {
                    Special::Petrify { dc } => Some((a.by, dc)),
                    _ => None,
                })
        })
    else {
        return;
    };
    if !resolve::saving_throw(em, who, Ability::Con, Default::default(), Some(dc)) {
        put(
            em,
            by,
            who,
            Mark::Condition {
                condition: Condition::Petrified,
            },
            Until::Removed,
            None,
        );
    }
}

/// Creatures inside a monster that has dropped come out; a possessed body at 0 hit
/// points is free of its ghost; a charm from a monster that has dropped (or left the
/// table) ends.
pub(crate) fn release_from_fallen(em: &mut Emitter) {
    end_fallen_charms(em);
    let ghosts: Vec<CreatureId> = em
        .state
        .creatures
        .values()
        .filter(|c| c.is_down())
        .flat_map(|c| {
            c.marks()
                .filter(|a| {
                    a.until == Until::Removed
                        && a.mark
                            == Mark::Condition {
                                condition: Condition::Incapacitated,
                            }
                        && a.by != c.id
                })
                .map(|a| a.by)
                .collect::<Vec<_>>()
        })
        .collect();
    for g in ghosts {
        if em.state.creatures.get(&g).is_some_and(|g| {
            specials(&em.state, g)
                .iter()
                .any(|(_, _, s)| matches!(s, Special::Possession { .. }))
        }) {
            end_possession(em, g);
        }
    }
    let out: Vec<(CreatureId, CreatureId)> = em
        .state
        .creatures
        .values()
        .filter_map(|c| swallower(c).map(|by| (c.id, by)))
        .filter(|(_, by)| em.state.creatures.get(by).is_none_or(|m| m.is_down()))
        .collect();
    for (t, by) in out {
        release(em, t, by);
    }
}

/// A legendary action that makes no attack, by monster `m`.
pub(crate) fn legendary(
    em: &mut Emitter,
    m: CreatureId,
    special: LegendarySpecial,
    target: Option<CreatureId>,
) -> Result<(), RuleError> {
    match special {
        // Cast through combat's legendary turn (its spell options).
        LegendarySpecial::Cast { .. } => {
            return Err(RuleError::invalid("Name the spell to cast."));
        }
        LegendarySpecial::Burst(b) => burst(em, m, "", target, &b, false)?,
        LegendarySpecial::Drain { dice, damage_type } => {
            let t = target.ok_or_else(|| RuleError::invalid("Drain whom?"))?;
            if em.creature(t).conditions.get(&Condition::Charmed) != Some(&Some(m)) {
                return Err(RuleError::invalid("Only a creature it has charmed."));
            }
            let roll = crate::dice::roll(&dice, em.dice)?;
            let took = resolve::deal_rolled(em, t, Some(m), &[(damage_type, roll)], false, false);
            if took > 0 && !em.creature(m).is_down() {
                resolve::heal(em, m, Some(m), &took.clamp(0, 100_000).to_string())?;
            }
        }
        LegendarySpecial::Shield => {
            let t = target.unwrap_or(m);
            let until =
                super::spells::until_of(em, m, t, crate::effect::Duration::EndOfCastersNextTurn);
            put(em, m, t, Mark::AcBonus { amount: 2 }, until, None);
        }
        LegendarySpecial::NoHealing => {
            let all: Vec<CreatureId> = em
                .state
                .combatants()
                .filter(|c| c.id != m && !c.dead && !resolve::ethereal(c))
                .map(|c| c.id)
                .collect();
            for c in all {
                let until = super::spells::until_of(
                    em,
                    m,
                    c,
                    crate::effect::Duration::EndOfCastersNextTurn,
                );
                put(em, m, c, Mark::NoHealing, until, None);
            }
        }
        LegendarySpecial::Detect => {
            resolve::check(
                em,
                m,
                crate::event::CheckKind::Skill(crate::ability::Skill::Perception),
                Default::default(),
                None,
            );
        }
        LegendarySpecial::WingAttack {
            dc,
            dice,
            damage_type,
        } => {
            let foes: Vec<CreatureId> = super::position::engaged_with(&em.state, m)
                .into_iter()
                .filter(|o| {
                    let o = em.creature(*o);
                    super::position::hostile(em.creature(m), o) && !resolve::ethereal(o)
                })
                .collect();
            if !foes.is_empty() {
                let roll = crate::dice::roll(&dice, em.dice)?;
                for f in foes {
                    if em.creature(f).is_down()
                        || resolve::saving_throw(em, f, Ability::Dex, Default::default(), Some(dc))
                    {
                        continue;
                    }
                    resolve::deal_rolled(
                        em,
                        f,
                        Some(m),
                        &[(damage_type, roll.clone())],
                        false,
                        false,
                    );
                    knock_prone(em, f, m);
                }
            }
            if em.state.in_combat() && !em.creature(m).is_down() {
                step_away(em, m, Place::Near);
            }
        }
        LegendarySpecial::Move => step_away(em, m, Place::Near),
        LegendarySpecial::Teleport => {
            let_go(em, m);
            step_away(em, m, Place::Far);
        }
        LegendarySpecial::HealSelf { dice } => {
            resolve::heal(em, m, Some(m), &dice)?;
        }
    }
    super::combat::check_end(em);
    Ok(())
}

/// A charm or a grapple from a monster ends when it drops to 0 hit points, dies or is
/// gone (the SRD's charmers: "the charm ends if the fiend dies", "until the vampire is
/// destroyed", "until the aboleth dies"...; a grapple ends when the grappler is
/// incapacitated): every such mark it put and such a condition it is the source of. A
/// player character's charm (a spell) is left to the spell's own end.
fn end_fallen_charms(em: &mut Emitter) {
    for condition in [Condition::Charmed, Condition::Grappled] {
        end_fallen(em, condition);
    }
}

/// [`end_fallen_charms`] for one condition.
fn end_fallen(em: &mut Emitter, condition: Condition) {
    let held = Mark::Condition { condition };
    let fallen = |state: &CampaignState, by: CreatureId| {
        state
            .creatures
            .get(&by)
            .is_none_or(|m| !m.is_pc() && m.is_down())
    };
    let marks: Vec<(CreatureId, Active)> = em
        .state
        .creatures
        .values()
        .flat_map(|c| {
            c.marks()
                .filter(|a| a.mark == held && a.by != c.id)
                .map(|a| (c.id, *a))
                .collect::<Vec<_>>()
        })
        .filter(|(_, a)| fallen(&em.state, a.by))
        .collect();
    for (c, a) in marks {
        resolve::end_mark(em, c, a);
    }
    let plain: Vec<CreatureId> = em
        .state
        .creatures
        .values()
        .filter(|c| {
            matches!(c.conditions.get(&condition), Some(Some(by))
                if *by != c.id && fallen(&em.state, *by))
                && !c.has_mark(|m| *m == held)
        })
        .map(|c| c.id)
        .collect();
    for c in plain {
        em.public(EventKind::ConditionRemoved {
            creature: c,
            condition,
        });
    }
}
