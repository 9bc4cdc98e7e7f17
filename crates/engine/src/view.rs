//! Viewer-safe read models: what one viewer may know of a campaign, built from the
//! state. Every front end (Discord's embeds, the terminal, the web table) renders these
//! instead of reading [`CampaignState`] by hand, so they show the same facts and hide
//! the same secrets.
//!
//! The rules, in one place:
//! - a player character's hit points are known to the whole table (Discord pins every
//!   sheet in the channel);
//! - a monster's hit points are known to the GM only; everyone else gets a health word
//!   ([`Health`]: unhurt, hurt, bloodied, down, dead);
//! - a monster's sheet (stat block, attacks) is the GM's only;
//! - conditions, names and the turn order are what anyone at the table can see.

use crate::ability::Ability;
use crate::creature::{Creature, DeathSaves, Health};
use crate::event::Viewer;
use crate::ids::{CreatureId, PlayerId, Timestamp};
use crate::state::CampaignState;
use serde::Serialize;

/// The viewer a player is in `state`: a GM (or co-GM) sees as the GM.
pub fn viewer_of(state: &CampaignState, player: &PlayerId) -> Viewer {
    if state.is_gm(player) {
        Viewer::Gm
    } else {
        Viewer::Player(player.clone())
    }
}

/// Whether `viewer` may know `c`'s exact hit points.
pub fn knows_hp(c: &Creature, viewer: &Viewer) -> bool {
    c.is_pc() || *viewer == Viewer::Gm
}

/// Exact hit points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HitPoints {
    pub hp: i32,
    pub max_hp: i32,
    pub temp_hp: i32,
}

impl HitPoints {
    fn of(c: &Creature) -> HitPoints {
        HitPoints {
            hp: c.hp,
            max_hp: c.max_hp,
            temp_hp: c.temp_hp,
        }
    }
}

/// One ability score with its modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AbilityScore {
    pub ability: Ability,
    pub score: i32,
    pub modifier: i32,
}

/// Spell slots of one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlotLine {
    pub level: u8,
    pub available: u8,
    pub max: u8,
}

/// One part of an attack's damage ("1d8+3 slashing").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamageLine {
    pub dice: String,
    pub damage_type: String,
}

/// An attack as a sheet lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttackLine {
    pub name: String,
    pub to_hit: i32,
    pub damage: Vec<DamageLine>,
}

/// An item carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemLine {
    pub name: String,
    pub quantity: u32,
}

/// A character sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sheet {
    pub id: CreatureId,
    pub name: String,
    pub player: Option<PlayerId>,
    /// SRD indexes ("fighter", "dwarf"); empty for a monster.
    pub class: String,
    pub race: String,
    /// 0 for a monster.
    pub level: u8,
    pub hp: HitPoints,
    pub dead: bool,
    /// At 0 hit points and not dead: the death-save track.
    pub dying: Option<DeathSaves>,
    pub ac: i32,
    pub speed: u32,
    pub proficiency: i32,
    pub abilities: Vec<AbilityScore>,
    pub conditions: Vec<String>,
    pub exhaustion: u8,
    /// Levels with at least one slot.
    pub slots: Vec<SlotLine>,
    /// SRD indexes of the spells it can cast.
    pub spells: Vec<String>,
    /// The SRD index of the spell it concentrates on.
    pub concentration: Option<String>,
    pub attacks: Vec<AttackLine>,
    pub inventory: Vec<ItemLine>,
    /// Class options, a held inspiration die, a beast form and per-rest resources.
    pub class_state: ClassState,
}

impl Sheet {
    /// "Fighter" from "fighter".
    pub fn class_name(&self) -> String {
        crate::data::from_index(&self.class)
    }
    /// "Dwarf" from "dwarf".
    pub fn race_name(&self) -> String {
        crate::data::from_index(&self.race)
    }
    /// True when it is at half its hit points or fewer.
    pub fn bloodied(&self) -> bool {
        self.hp.hp * 2 <= self.hp.max_hp
    }
}

/// A limited class feature or racial trait: uses (or points) left of its maximum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceLine {
    /// The feature's index ("ki", "sorcery-points").
    pub key: String,
    /// Its display name ("Ki", "Sorcery points").
    pub name: String,
    pub available: u32,
    pub max: u32,
    /// No limit (a 20th-level barbarian's Rage).
    pub unlimited: bool,
}

/// A druid in a beast's shape: the beast's hit points (the creature's own now) over
/// the druid's, kept until it reverts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WildShapeView {
    /// The beast's SRD index ("wolf").
    pub beast: String,
    /// The beast's display name ("Wolf").
    pub beast_name: String,
    pub hp: i32,
    pub max_hp: i32,
    pub druid_hp: i32,
    pub druid_max_hp: i32,
}

/// The class state a session changes, for a player character (all empty for a
/// monster): what every front end shows under the hit points.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClassState {
    /// The fighting style chosen, by display name ("Archery").
    pub fighting_style: Option<String>,
    /// Class options chosen (invocations, pact boon, metamagic), by display name.
    pub options: Vec<String>,
    /// The sides of a Bardic Inspiration die held (6 to 12).
    pub inspiration: Option<u8>,
    /// Who gave the held die (the bard's name), when known.
    pub inspired_by: Option<String>,
    pub wild_shape: Option<WildShapeView>,
    /// Limited features with their uses left, in a fixed order.
    pub resources: Vec<ResourceLine>,
}

/// The limited features a sheet lists, in order, with their display names.
const RESOURCES: &[(&str, &str)] = &[
    ("rage", "Rage"),
    ("second-wind", "Second Wind"),
    ("action-surge", "Action Surge"),
    ("indomitable", "Indomitable"),
    ("ki", "Ki"),
    ("sorcery-points", "Sorcery points"),
    ("bardic-inspiration", "Bardic Inspiration"),
    ("channel-divinity", "Channel Divinity"),
    ("wild-shape", "Wild Shape"),
    ("lay-on-hands", "Lay on Hands"),
    ("arcane-recovery", "Arcane Recovery"),
    ("dark-ones-own-luck", "Dark One's Own Luck"),
    ("breath-weapon", "Breath Weapon"),
    ("relentless-endurance", "Relentless Endurance"),
];

/// At or above this many uses a feature has no limit (see [`crate::features::uses`]).
const UNLIMITED_USES: u32 = 99;

impl ClassState {
    /// The class state of `c` (empty for a monster).
    pub fn of(c: &Creature) -> ClassState {
        let Some(pc) = c.pc.as_ref() else {
            return ClassState::default();
        };
        let options = pc
            .options
            .iter()
            .map(|o| {
                crate::class_options::CLASS_OPTIONS
                    .iter()
                    .find(|x| x.index == o.as_str())
                    .map_or_else(|| crate::data::from_index(o), |x| x.name.to_string())
            })
            .collect();
        let wild_shape = pc.wild_shape.as_ref().map(|w| WildShapeView {
            beast: w.beast.clone(),
            beast_name: crate::data::from_index(&w.beast),
            hp: c.hp,
            max_hp: c.max_hp,
            druid_hp: w.hp,
            druid_max_hp: w.max_hp,
        });
        let resources = RESOURCES
            .iter()
            .filter_map(|(key, name)| {
                let (max, _) = crate::features::uses(c, key)?;
                if max == 0 {
                    return None;
                }
                let spent = pc.uses.get(*key).copied().unwrap_or(0);
                Some(ResourceLine {
                    key: key.to_string(),
                    name: name.to_string(),
                    available: max.saturating_sub(spent),
                    max,
                    unlimited: max >= UNLIMITED_USES,
                })
            })
            .collect();
        ClassState {
            fighting_style: pc.fighting_style.as_deref().map(crate::data::from_index),
            options,
            inspiration: pc.inspiration,
            inspired_by: pc.inspiration.and(pc.inspired_by.clone()),
            wild_shape,
            resources,
        }
    }

    /// Nothing to show.
    pub fn is_empty(&self) -> bool {
        self.fighting_style.is_none()
            && self.options.is_empty()
            && self.inspiration.is_none()
            && self.wild_shape.is_none()
            && self.resources.is_empty()
    }

    /// "Inspired: d8 from Lira" ("Inspired: d8" when the giver is not known), if a die
    /// is held.
    pub fn inspiration_line(&self) -> Option<String> {
        self.inspiration.map(|d| match &self.inspired_by {
            Some(by) => format!("Inspired: d{d} from {by}"),
            None => format!("Inspired: d{d}"),
        })
    }

    /// "Wild Shape: Wolf 9/11 HP (druid 14/14)", in a beast's shape.
    pub fn wild_shape_line(&self) -> Option<String> {
        self.wild_shape.as_ref().map(|w| {
            format!(
                "Wild Shape: {} {}/{} HP (druid {}/{})",
                w.beast_name, w.hp, w.max_hp, w.druid_hp, w.druid_max_hp
            )
        })
    }

    /// "Ki 3/5 · Rage unlimited", or `None` with no limited features.
    pub fn resources_line(&self) -> Option<String> {
        if self.resources.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .resources
            .iter()
            .map(|r| {
                if r.unlimited {
                    format!("{} unlimited", r.name)
                } else {
                    format!("{} {}/{}", r.name, r.available, r.max)
                }
            })
            .collect();
        Some(parts.join(" · "))
    }

    /// "Options: Archery, Agonizing Blast", or `None` with none chosen.
    pub fn options_line(&self) -> Option<String> {
        let all: Vec<&str> = self
            .fighting_style
            .iter()
            .chain(self.options.iter())
            .map(String::as_str)
            .collect();
        (!all.is_empty()).then(|| format!("Options: {}", all.join(", ")))
    }

    /// Every line a front end shows, in order: beast form, inspiration, resources,
    /// options (empty when there is nothing).
    pub fn lines(&self) -> Vec<String> {
        [
            self.wild_shape_line(),
            self.inspiration_line(),
            self.resources_line(),
            self.options_line(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

fn conditions(c: &Creature) -> Vec<String> {
    c.conditions.keys().map(|k| k.to_string()).collect()
}

/// The sheet of creature `id` as `viewer` may see it: any player character's for
/// anyone at the table, a monster's for the GM only (`None` otherwise, or if there is
/// no such creature).
pub fn sheet(state: &CampaignState, viewer: &Viewer, id: CreatureId) -> Option<Sheet> {
    let c = state.creature(id)?;
    if !c.is_pc() && *viewer != Viewer::Gm {
        return None;
    }
    let pc = c.pc.as_ref();
    let (slots, spells) = match &c.spellcasting {
        Some(sc) => (
            (1..=9u8)
                .filter(|l| sc.max_slots[usize::from(*l - 1)] > 0)
                .map(|l| SlotLine {
                    level: l,
                    available: sc.available(l),
                    max: sc.max_slots[usize::from(l - 1)],
                })
                .collect(),
            sc.spells.clone(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    Some(Sheet {
        id: c.id,
        name: c.name.clone(),
        player: c.owner().cloned(),
        class: pc.map(|p| p.class.clone()).unwrap_or_default(),
        race: pc.map(|p| p.race.clone()).unwrap_or_default(),
        level: pc.map_or(0, |p| p.level),
        hp: HitPoints::of(c),
        dead: c.dead,
        dying: (!c.dead && c.hp <= 0).then_some(c.death_saves),
        ac: c.effective_ac(),
        speed: c.effective_speed(),
        proficiency: c.proficiency_bonus,
        abilities: Ability::ALL
            .iter()
            .map(|a| AbilityScore {
                ability: *a,
                score: c.abilities.score(*a),
                modifier: c.modifier(*a),
            })
            .collect(),
        conditions: conditions(c),
        exhaustion: c.exhaustion,
        slots,
        spells,
        concentration: c
            .spellcasting
            .as_ref()
            .and(c.concentration.as_ref())
            .cloned(),
        attacks: c
            .attacks
            .iter()
            .map(|a| AttackLine {
                name: a.name.clone(),
                to_hit: a.to_hit,
                damage: a
                    .damage
                    .iter()
                    .map(|d| DamageLine {
                        dice: d.dice.clone(),
                        damage_type: d.damage_type.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        inventory: c
            .inventory
            .iter()
            .map(|i| ItemLine {
                name: i.name.clone(),
                quantity: i.quantity,
            })
            .collect(),
        class_state: ClassState::of(c),
    })
}

/// The sheet of the character `player` plays, as `viewer` sees it.
pub fn sheet_of(state: &CampaignState, viewer: &Viewer, player: &PlayerId) -> Option<Sheet> {
    let id = state.players.get(player)?.character?;
    sheet(state, viewer, id)
}

/// One combatant in the initiative list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitiativeRow {
    pub id: CreatureId,
    pub name: String,
    pub pc: bool,
    pub player: Option<PlayerId>,
    pub initiative: i32,
    /// Whose turn it is.
    pub active: bool,
    /// At 0 hit points or dead.
    pub down: bool,
    /// What everyone may know of its health.
    pub health: Health,
    /// Exact hit points, only where the viewer may know them ([`knows_hp`]).
    pub hp: Option<HitPoints>,
    /// Who it is in melee with (names; theatre of the mind, known to the whole table).
    pub engaged_with: Vec<String>,
    /// Keeping its distance (far from the fight).
    pub far: bool,
    /// Conjured by this creature (its name): it fights on that creature's side
    /// (Conjure Animals' beasts). None for everyone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ally_of: Option<String>,
}

/// An open reaction window (e.g. Shield): whose reaction the fight waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactionView {
    pub reactor: CreatureId,
    pub name: String,
    pub player: Option<PlayerId>,
    /// When the window closes (the blow lands).
    pub deadline: Timestamp,
    /// Which reaction ("Shield", "Uncanny Dodge", "Counterspell").
    pub reaction: &'static str,
    /// Counterspell's window: the spell being cast, and by whom.
    pub spell: Option<String>,
    pub caster: Option<String>,
}

/// The initiative list of a running fight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Initiative {
    pub round: u32,
    pub rows: Vec<InitiativeRow>,
    /// The creature whose turn it is.
    pub turn: Option<Turn>,
    /// When the active player character's turn times out.
    pub deadline: Option<Timestamp>,
    /// A reaction the fight waits for.
    pub reaction: Option<ReactionView>,
}

/// Whose turn it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Turn {
    pub id: CreatureId,
    pub name: String,
    pub player: Option<PlayerId>,
    /// Spells it can cast again now with no slot (Moonbeam's beam, Spiritual
    /// Weapon's attack): their names, for the turn's quick actions.
    pub again: Vec<String>,
}

/// The initiative list as `viewer` may see it; `None` out of combat.
pub fn initiative(state: &CampaignState, viewer: &Viewer) -> Option<Initiative> {
    let combat = state.combat.as_ref()?;
    let rows = combat
        .order
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let c = state.creature(e.creature)?;
            // Conjured creatures that vanished are gone, not fallen.
            if c.dead && c.summoned.is_some() {
                return None;
            }
            Some(InitiativeRow {
                id: c.id,
                name: c.name.clone(),
                pc: c.is_pc(),
                player: c.owner().cloned(),
                initiative: e.total,
                active: i == combat.active,
                down: c.is_down(),
                health: c.health(),
                hp: knows_hp(c, viewer).then(|| HitPoints::of(c)),
                engaged_with: crate::rules::position::engaged_with(state, c.id)
                    .into_iter()
                    .filter_map(|o| state.creature(o).map(|o| o.name.clone()))
                    .collect(),
                far: combat.far.contains(&c.id),
                ally_of: c
                    .summoned
                    .as_ref()
                    .and_then(|s| state.creature(s.by))
                    .map(|b| b.name.clone()),
            })
        })
        .collect();
    Some(Initiative {
        round: combat.round,
        rows,
        turn: state.active_creature().map(|a| Turn {
            id: a.id,
            name: a.name.clone(),
            player: a.owner().cloned(),
            again: crate::rules::spells::recasts(state, a.id)
                .iter()
                .filter_map(|i| state.catalog.spell(i).map(|s| s.name.clone()))
                .collect(),
        }),
        deadline: combat.deadline,
        reaction: combat.reaction.as_ref().and_then(|w| {
            let r = state.creature(w.reactor)?;
            Some(ReactionView {
                reactor: r.id,
                name: r.name.clone(),
                player: r.owner().cloned(),
                deadline: w.deadline,
                reaction: w.reaction.name(),
                spell: w.cast.as_ref().map(|p| p.name.clone()),
                caster: w
                    .cast
                    .as_ref()
                    .and_then(|p| state.creature(p.caster))
                    .map(|c| c.name.clone()),
            })
        }),
    })
}

/// A member of the party as the table sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyMember {
    pub id: CreatureId,
    pub name: String,
    pub player: Option<PlayerId>,
    pub level: u8,
    pub class: String,
    pub race: String,
    pub hp: HitPoints,
    pub health: Health,
    pub ac: i32,
    pub conditions: Vec<String>,
    /// Class options, a held inspiration die, a beast form, per-rest resources.
    pub class_state: ClassState,
}

/// A monster present in the scene.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonsterView {
    pub id: CreatureId,
    pub name: String,
    pub health: Health,
    /// For the GM only.
    pub hp: Option<HitPoints>,
    pub conditions: Vec<String>,
}

/// The scene for one viewer: who is present, their conditions, the fight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scene {
    pub name: String,
    pub started: bool,
    pub ended: bool,
    /// The viewer is a GM of the campaign.
    pub gm: bool,
    /// The viewer's own character, if they play one.
    pub you: Option<CreatureId>,
    pub party: Vec<PartyMember>,
    /// Monsters present and not dead.
    pub monsters: Vec<MonsterView>,
    pub combat: Option<Initiative>,
}

/// The scene as `player` sees it: a GM's view for a GM (who may play a character too:
/// `you` is theirs), a player's otherwise.
pub fn scene_of(state: &CampaignState, player: &PlayerId) -> Scene {
    let mut s = scene(state, &viewer_of(state, player));
    s.you = state.players.get(player).and_then(|i| i.character);
    s
}

/// The scene as `viewer` may see it.
pub fn scene(state: &CampaignState, viewer: &Viewer) -> Scene {
    let you = match viewer {
        Viewer::Player(p) => state.players.get(p).and_then(|i| i.character),
        _ => None,
    };
    Scene {
        name: state.name.clone(),
        started: state.started,
        ended: state.ended,
        gm: *viewer == Viewer::Gm,
        you,
        party: state
            .party()
            .map(|c| {
                let pc = c.pc.as_ref();
                PartyMember {
                    id: c.id,
                    name: c.name.clone(),
                    player: c.owner().cloned(),
                    level: pc.map_or(0, |p| p.level),
                    class: pc.map(|p| p.class.clone()).unwrap_or_default(),
                    race: pc.map(|p| p.race.clone()).unwrap_or_default(),
                    hp: HitPoints::of(c),
                    health: c.health(),
                    ac: c.effective_ac(),
                    conditions: conditions(c),
                    class_state: ClassState::of(c),
                }
            })
            .collect(),
        monsters: state
            .monsters()
            .map(|c| MonsterView {
                id: c.id,
                name: c.name.clone(),
                health: c.health(),
                hp: knows_hp(c, viewer).then(|| HitPoints::of(c)),
                conditions: conditions(c),
            })
            .collect(),
        combat: initiative(state, viewer),
    }
}
