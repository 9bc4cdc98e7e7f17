//! The vocabulary of one player's moment at the table: who they are, whom they can
//! target, the spells they know, the weapons they wield and the items they carry —
//! built from the campaign state and the SRD catalog. Free text is matched against it,
//! so "the big one", "goblin too" or "magic missle" resolve to names the engine knows.

use super::fuzzy::{self, name_score};
use dicebard_engine::data::{Catalog, Reach};
use dicebard_engine::{CampaignState, CreatureId, PlayerId};
use std::sync::Arc;

/// The acting player's character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneActor {
    pub id: CreatureId,
    pub name: String,
}

/// A creature that can be named.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneCreature {
    pub id: CreatureId,
    pub name: String,
    /// The name without a trailing number ("Goblin" for "Goblin 2").
    pub base: String,
    pub number: Option<u32>,
    /// The SRD monster's name ("Goblin"), for monsters.
    pub kind: Option<String>,
    pub is_pc: bool,
    pub is_actor: bool,
    /// Down (0 HP) or dead.
    pub down: bool,
    pub dead: bool,
    /// 0 tiny … 5 gargantuan.
    pub size: u8,
    pub max_hp: i32,
    /// Coarse health order: 0 down, 1 bloodied, 2 hurt, 3 unhurt (players can see it).
    pub health_rank: u8,
    pub in_fight: bool,
}

/// A spell the actor knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneSpell {
    pub name: String,
    pub index: String,
    pub level: u8,
}

/// A weapon (attack) the actor has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneWeapon {
    pub name: String,
    pub ranged: bool,
}

/// The result of matching a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    One(String),
    /// Several fit equally well.
    Ambiguous(Vec<String>),
    None,
}

/// Which creatures a phrase should prefer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// Foes first (attacks).
    Foes,
    /// Anyone (spells, which may heal or bless allies).
    Anyone,
}

/// The vocabulary.
#[derive(Debug, Clone)]
pub struct Scene {
    pub actor: Option<SceneActor>,
    pub is_gm: bool,
    pub in_combat: bool,
    /// Whether it is the actor's turn (always true outside combat).
    pub my_turn: bool,
    pub creatures: Vec<SceneCreature>,
    pub spells: Vec<SceneSpell>,
    pub weapons: Vec<SceneWeapon>,
    pub items: Vec<String>,
    catalog: Arc<Catalog>,
}

fn size_rank(size: &str) -> u8 {
    match size.to_ascii_lowercase().as_str() {
        "tiny" => 0,
        "small" => 1,
        "medium" => 2,
        "large" => 3,
        "huge" => 4,
        "gargantuan" => 5,
        _ => 2,
    }
}

fn split_number(name: &str) -> (String, Option<u32>) {
    match name.rsplit_once(' ') {
        Some((base, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
            (base.to_string(), n.parse().ok())
        }
        _ => (name.to_string(), None),
    }
}

const SELF_WORDS: &[&str] = &["me", "myself", "self", "i"];
const BIG: &[&str] = &[
    "big", "bigger", "biggest", "large", "larger", "largest", "huge", "giant", "tall", "tallest",
    "massive",
];
const SMALL: &[&str] = &[
    "small", "smaller", "smallest", "little", "tiny", "short", "puny",
];
const HURT: &[&str] = &[
    "wounded", "hurt", "injured", "bloodied", "bloody", "weakest", "weak", "damaged", "bleeding",
];
const STRONG: &[&str] = &["strongest", "toughest", "scariest", "healthiest"];
const PRONOUNS: &[&str] = &[
    "him",
    "her",
    "it",
    "them",
    "enemy",
    "monster",
    "foe",
    "creature",
    "guy",
    "thing",
    "last",
    "other",
    "remaining",
];

/// Number words as a transcript may spell them (homophones included).
pub fn number_word(w: &str) -> Option<u32> {
    if let Ok(n) = w
        .trim_end_matches(|c: char| c.is_alphabetic())
        .parse::<u32>()
        && w.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return Some(n);
    }
    Some(match w {
        "one" | "won" | "first" => 1,
        "two" | "too" | "to" | "second" => 2,
        "three" | "tree" | "third" => 3,
        "four" | "for" | "fourth" => 4,
        "five" | "fifth" => 5,
        "six" | "sixth" => 6,
        "seven" | "seventh" => 7,
        "eight" | "ate" | "eighth" => 8,
        "nine" | "ninth" => 9,
        "ten" | "tenth" => 10,
        _ => return None,
    })
}

impl Scene {
    /// The scene as `player` sees it.
    pub fn new(state: &CampaignState, player: &PlayerId) -> Scene {
        let me = state.character_of(player);
        let fighting: Vec<CreatureId> = state
            .combat
            .as_ref()
            .map(|c| c.order.iter().map(|e| e.creature).collect())
            .unwrap_or_default();
        let creatures = state
            .creatures
            .values()
            .filter(|c| {
                // Retired characters are still in the map; only current ones count.
                !c.is_pc() || state.players.values().any(|p| p.character == Some(c.id))
            })
            .map(|c| {
                let (base, number) = split_number(&c.name);
                let data = c.monster.as_ref().and_then(|m| state.catalog.monster(m));
                let health_rank = match c.health() {
                    dicebard_engine::creature::Health::Dead
                    | dicebard_engine::creature::Health::Down => 0,
                    dicebard_engine::creature::Health::Bloodied => 1,
                    dicebard_engine::creature::Health::Hurt => 2,
                    dicebard_engine::creature::Health::Unhurt => 3,
                };
                SceneCreature {
                    id: c.id,
                    name: c.name.clone(),
                    base,
                    number,
                    kind: data.map(|d| d.name.clone()),
                    is_pc: c.is_pc(),
                    is_actor: me.is_some_and(|m| m.id == c.id),
                    down: c.is_down(),
                    dead: c.dead,
                    size: data.map_or(2, |d| size_rank(&d.size)),
                    max_hp: c.max_hp,
                    health_rank,
                    in_fight: fighting.contains(&c.id),
                }
            })
            .collect();
        let spells = me
            .and_then(|c| c.spellcasting.as_ref())
            .map(|sc| {
                sc.spells
                    .iter()
                    .map(|i| {
                        let d = state.catalog.spell(i);
                        SceneSpell {
                            name: d.map_or_else(|| i.replace('-', " "), |d| d.name.clone()),
                            index: i.clone(),
                            level: d.map_or(0, |d| d.level),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let weapons = me
            .map(|c| {
                c.attacks
                    .iter()
                    .map(|a| SceneWeapon {
                        name: a.name.clone(),
                        ranged: a.reach == Reach::Ranged,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let items = me
            .map(|c| {
                c.inventory
                    .iter()
                    .filter(|i| i.quantity > 0)
                    .map(|i| i.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let my_turn = match (&state.combat, me) {
            (None, _) => true,
            (Some(_), Some(m)) => state.active_creature().is_some_and(|a| a.id == m.id),
            (Some(_), None) => false,
        };
        Scene {
            actor: me.map(|c| SceneActor {
                id: c.id,
                name: c.name.clone(),
            }),
            is_gm: state.is_gm(player),
            in_combat: state.in_combat(),
            my_turn,
            creatures,
            spells,
            weapons,
            items,
            catalog: state.catalog.clone(),
        }
    }

    /// Foes that can still be fought: monsters in the fight (or present, outside one).
    pub fn foes(&self) -> impl Iterator<Item = &SceneCreature> {
        self.creatures
            .iter()
            .filter(move |c| !c.is_pc && !c.down && (!self.in_combat || c.in_fight))
    }

    /// Names of the foes, for questions back to the player.
    pub fn foe_names(&self) -> Vec<String> {
        self.foes().map(|c| c.name.clone()).collect()
    }

    fn pick_first_standing(cands: &[&SceneCreature]) -> String {
        cands
            .iter()
            .find(|c| !c.down)
            .unwrap_or(&cands[0])
            .name
            .clone()
    }

    /// Resolves a phrase naming a creature: "me", "the big one", "the wounded goblin",
    /// "goblin two", "the second goblin", "Thorin".
    pub fn resolve_target(&self, phrase: &str, prefer: Prefer) -> Found {
        let words: Vec<String> = fuzzy::normalize(phrase)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let words: Vec<String> = words
            .into_iter()
            .filter(|w| {
                !matches!(
                    w.as_str(),
                    "the" | "a" | "an" | "at" | "that" | "this" | "one" | "ones" | "guy"
                )
            })
            .collect();
        if words.len() == 1 && SELF_WORDS.contains(&words[0].as_str()) {
            return self
                .actor
                .as_ref()
                .map_or(Found::None, |a| Found::One(a.name.clone()));
        }
        if words.is_empty() {
            let foes: Vec<&SceneCreature> = self.foes().collect();
            return match foes.len() {
                1 => Found::One(foes[0].name.clone()),
                0 => Found::None,
                _ => Found::Ambiguous(foes.iter().map(|c| c.name.clone()).collect()),
            };
        }
        // Relative words and a number, then what is left names the creature.
        let mut relative: Option<&[&str]> = None;
        let mut number: Option<u32> = None;
        let mut rest: Vec<&str> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let w = w.as_str();
            if let Some(set) = [BIG, SMALL, HURT, STRONG]
                .into_iter()
                .find(|s| s.contains(&w))
            {
                relative = Some(set);
            } else if PRONOUNS.contains(&w) {
                relative = relative.or(Some(PRONOUNS));
            } else if let Some(n) = number_word(w).filter(|_| {
                // "to"/"for" are numbers only after a name ("goblin to").
                !(matches!(w, "to" | "for" | "too" | "won" | "ate" | "tree") && i == 0)
            }) {
                number = Some(n);
            } else {
                rest.push(w);
            }
        }
        let alive: Vec<&SceneCreature> = self
            .creatures
            .iter()
            .filter(|c| !c.dead && !c.is_actor)
            .collect();
        let pool: Vec<&SceneCreature> = match prefer {
            Prefer::Foes => {
                let foes: Vec<&SceneCreature> = self.foes().filter(|c| !c.is_actor).collect();
                if foes.is_empty() { alive.clone() } else { foes }
            }
            Prefer::Anyone => self.creatures.iter().filter(|c| !c.dead).collect(),
        };
        let named: Vec<&SceneCreature> = if rest.is_empty() {
            pool.clone()
        } else {
            let phrase = rest.join(" ");
            let score = |c: &SceneCreature| -> Option<u8> {
                [Some(&c.name), Some(&c.base), c.kind.as_ref()]
                    .into_iter()
                    .flatten()
                    .filter_map(|n| name_score(&phrase, n))
                    .min()
            };
            fn scored<'c>(
                set: &[&'c SceneCreature],
                score: &dyn Fn(&SceneCreature) -> Option<u8>,
            ) -> Vec<(u8, &'c SceneCreature)> {
                let mut v: Vec<(u8, &SceneCreature)> = set
                    .iter()
                    .filter_map(|c| score(c).map(|s| (s, *c)))
                    .collect();
                let best = v.iter().map(|(s, _)| *s).min();
                v.retain(|(s, _)| Some(*s) == best);
                v
            }
            let mut hits = scored(&pool, &score);
            if hits.is_empty() && prefer == Prefer::Foes {
                hits = scored(&alive, &score);
            }
            hits.into_iter().map(|(_, c)| c).collect()
        };
        if named.is_empty() {
            return Found::None;
        }
        let mut cands = named;
        if let Some(n) = number {
            let numbered: Vec<&SceneCreature> = cands
                .iter()
                .copied()
                .filter(|c| c.number == Some(n))
                .collect();
            if numbered.is_empty() {
                // "the second goblin" among Goblin 3 and Goblin 4: the n-th of them.
                let mut sorted = cands.clone();
                sorted.sort_by_key(|c| (c.number, c.id));
                return sorted
                    .get(usize::try_from(n).unwrap_or(usize::MAX).wrapping_sub(1))
                    .map_or(Found::None, |c| Found::One(c.name.clone()));
            }
            cands = numbered;
        }
        if let Some(rel) = relative {
            let standing: Vec<&SceneCreature> = cands.iter().copied().filter(|c| !c.down).collect();
            let set = if standing.is_empty() {
                cands.clone()
            } else {
                standing
            };
            let pick = if rel == BIG {
                set.iter()
                    .max_by_key(|c| (c.size, c.max_hp, std::cmp::Reverse(c.id)))
            } else if rel == SMALL {
                set.iter().min_by_key(|c| (c.size, c.max_hp, c.id))
            } else if rel == HURT {
                set.iter().min_by_key(|c| (c.health_rank, c.id))
            } else if rel == STRONG {
                set.iter()
                    .max_by_key(|c| (c.max_hp, c.size, std::cmp::Reverse(c.id)))
            } else if set.len() == 1 {
                set.first()
            } else {
                return Found::Ambiguous(set.iter().map(|c| c.name.clone()).collect());
            };
            return pick.map_or(Found::None, |c| Found::One(c.name.clone()));
        }
        if cands.len() == 1 {
            return Found::One(cands[0].name.clone());
        }
        // Several of one kind: the first still standing, as the engine resolves names.
        let same_kind = cands
            .iter()
            .all(|c| c.kind.is_some() && c.kind == cands[0].kind);
        if same_kind {
            return Found::One(Self::pick_first_standing(&cands));
        }
        Found::Ambiguous(cands.iter().map(|c| c.name.clone()).collect())
    }

    /// Resolves a spell: the actor's own first, then any SRD spell (the engine then
    /// explains if the character cannot cast it). Returns the name and whether known.
    pub fn resolve_spell(&self, phrase: &str) -> Option<(String, bool)> {
        let (score, hits) = fuzzy::best(phrase, self.spells.iter().map(|s| s.name.as_str()));
        if score.is_some_and(|s| s <= 3)
            && let Some(h) = hits.first()
        {
            return Some(((*h).to_string(), true));
        }
        let (score, hits) = fuzzy::best(
            phrase,
            self.catalog.spells.values().map(|s| s.name.as_str()),
        );
        match (score, hits.as_slice()) {
            (Some(s), [one]) if s <= 2 => Some(((*one).to_string(), false)),
            _ => None,
        }
    }

    /// Resolves a weapon the actor has ("axe", "my bow", "longsword").
    pub fn resolve_weapon(&self, phrase: &str) -> Found {
        let (_, hits) = fuzzy::best(phrase, self.weapons.iter().map(|w| w.name.as_str()));
        match hits.as_slice() {
            [] => Found::None,
            [one] => Found::One((*one).to_string()),
            many => Found::Ambiguous(many.iter().map(|s| s.to_string()).collect()),
        }
    }

    /// Resolves an item the actor carries ("potion", "my healing potion").
    pub fn resolve_item(&self, phrase: &str) -> Found {
        let (_, hits) = fuzzy::best(phrase, self.items.iter().map(String::as_str));
        match hits.as_slice() {
            [] => Found::None,
            [one] => Found::One((*one).to_string()),
            many => Found::Ambiguous(many.iter().map(|s| s.to_string()).collect()),
        }
    }

    /// Whether `name` is exactly (case aside) a creature that can be targeted.
    pub fn has_creature(&self, name: &str) -> bool {
        self.creatures
            .iter()
            .any(|c| !c.dead && c.name.eq_ignore_ascii_case(name.trim()))
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}
