//! The terminal table (`dicebard play`): a front end on the same coordinator, store and
//! narrator as Discord. It reads one command per line and prints the narration of every
//! event the player may see; `--json` prints one JSON object per event instead, so
//! scripts can drive a game through stdin / stdout.

use crate::coordinator::CampaignId;
use crate::coordinator::{Committed, Coordinator, Origin, Source};
use crate::feed::{FeedCursor, FeedKind, Feeds};
use crate::gm::GameMaster;
use crate::intent::{ActOutcome, IntentSource, act_free_text};
use crate::narrator::NarrationSource;
use dicebard_engine::ability::{Abilities, Ability, Advantage, Skill};
use dicebard_engine::character::{AbilityMethod, CharacterSpec};
use dicebard_engine::command::MoveTo;
use dicebard_engine::condition::Condition;
use dicebard_engine::data::DamageType;
use dicebard_engine::event::RestKind;
use dicebard_engine::view;
use dicebard_engine::{
    Action, CampaignState, Command, MonsterGroup, NarratorMode, PlayerId, Settings, Viewer,
};
use std::io::Write;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

const HELP: &str = "\
Commands (one per line):
  create NAME CLASS RACE [standard|roll|pointbuy S D C I W CH] [level N]
         [subrace NAME] [ancestry red] [style NAME] [options NAME, NAME]
         [expertise SKILL SKILL]
         [spells SPELL, SPELL, …]
  use second wind | action surge | rage | lay on hands [N] [on T] | wild shape
      | channel divinity | bardic inspiration [on NAME]      (class features)
      | divine smite [SLOT] | reckless attack | cunning action dash|disengage|hide
      | flurry of blows [on T] | patient defense | step of the wind [disengage]
      | breath weapon on T | arcane recovery [MAX LEVEL] | turn undead | preserve life
      | wild shape BEAST (again: back) | martial arts [on T] | sacred weapon
      | font of magic slot N | font of magic points N | stunning strike
      | turn the unholy | wholeness of body | natural recovery [MAX LEVEL]
      | hurl through hell | intimidating presence on T
  prepare SPELL, SPELL, …   (after a long rest: cleric, druid, paladin, wizard)
  levelup [STR DEX | STR STR] [style NAME] [options NAME, …] [expertise SKILL SKILL]
          [spells SPELL, …]
  cast SPELL at T, quickened   (Metamagic: quickened, twinned, careful, empowered…)
  roll EXPR            secret EXPR          check SKILL [adv|dis] [dc N]
  save ABILITY [adv|dis] [dc N]             do TEXT (or: > TEXT)
  attack TARGET [with WEAPON]               cast SPELL [at T1, T2] [level N]
  use ITEM             dodge                end (your turn)
  move to TARGET | move near | move far      dash   disengage   hide
  break free           (from Web or Entangle: a Strength check, your action)
  help FOE             ready TEXT           react use (shield, uncanny dodge, counterspell) | react skip
  rest short [N] | rest long                status        sheet [NAME]
  GM: fight [N] MONSTER[, [N] MONSTER]  add ...  endfight  hp TARGET N
      damage TARGET DICE TYPE  condition TARGET COND on|off  whisper PLAYER TEXT
      settings TIMEOUT_SECS WARNING_SECS   narrator llm|builtin
      settings reactions SECS (0: no reaction windows)
      invite NAME (a phone link; players: only themselves)   display (a TV link)
      kick NAME (end their phone sessions)   table (who is connected)
      (links need the web table: dicebard play --web)
  as PLAYER COMMAND    (act as another player at this terminal)
  help                 quit
Or just say it: I swing my axe at the goblin | cast fire bolt at goblin 2 | roll for perception";

/// Parses one line of the terminal's command language into an engine action.
/// `current` is the campaign's settings: a settings command changes only what it names.
pub fn parse_line(line: &str, current: &Settings) -> Result<Action, String> {
    let line = line.trim();
    if let Some(t) = line.strip_prefix('>') {
        return Ok(Action::Act {
            text: t.trim().into(),
        });
    }
    let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let adv = |w: &[&str]| {
        if w.contains(&"adv") || w.contains(&"advantage") {
            Advantage::Advantage
        } else if w.contains(&"dis") || w.contains(&"disadvantage") {
            Advantage::Disadvantage
        } else {
            Advantage::Normal
        }
    };
    let dc = |w: &[&str]| -> Result<Option<i32>, String> {
        match w.iter().position(|x| x.eq_ignore_ascii_case("dc")) {
            Some(i) => w
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .map(Some)
                .ok_or_else(|| "dc needs a number, e.g. `dc 15`".to_string()),
            None => Ok(None),
        }
    };
    let need = |s: &str, what: &str| {
        if s.is_empty() {
            Err(format!("{verb} needs {what}"))
        } else {
            Ok(s.to_string())
        }
    };
    match verb.to_ascii_lowercase().as_str() {
        "roll" | "r" => Ok(Action::Roll {
            expr: need(rest, "a dice expression")?,
            secret: false,
        }),
        "secret" => Ok(Action::Roll {
            expr: need(rest, "a dice expression")?,
            secret: true,
        }),
        "do" | "say" | "act" => Ok(Action::Act {
            text: need(rest, "some text")?,
        }),
        "check" => {
            let name: Vec<&str> = words
                .iter()
                .take_while(|w| {
                    !matches!(
                        w.to_ascii_lowercase().as_str(),
                        "adv" | "dis" | "advantage" | "disadvantage" | "dc"
                    )
                })
                .copied()
                .collect();
            let name = name.join(" ");
            let skill = Skill::parse(&name);
            let ability = if skill.is_none() {
                Ability::parse(&name)
            } else {
                None
            };
            if skill.is_none() && ability.is_none() {
                return Err(format!("unknown skill or ability {name:?}"));
            }
            Ok(Action::Check {
                skill,
                ability,
                advantage: adv(&words),
                dc: dc(&words)?,
            })
        }
        "save" => {
            let ability = words
                .first()
                .and_then(|w| Ability::parse(w))
                .ok_or("save needs an ability, e.g. `save dex`")?;
            Ok(Action::Save {
                ability,
                advantage: adv(&words),
                dc: dc(&words)?,
            })
        }
        "attack" | "a" => {
            let (target, weapon) = match rest.split_once(" with ") {
                Some((t, w)) => (t.trim().to_string(), Some(w.trim().to_string())),
                None => (rest.to_string(), None),
            };
            Ok(Action::Attack {
                target: need(&target, "a target")?,
                weapon,
            })
        }
        "cast" | "c" => {
            let mut s = rest.to_string();
            let mut slot = None;
            if let Some(i) = s.rfind(" level ") {
                slot = Some(
                    s[i + 7..]
                        .trim()
                        .parse::<u8>()
                        .map_err(|_| "level needs a number")?,
                );
                s.truncate(i);
            }
            let (spell, targets) = match s.split_once(" at ").or_else(|| s.split_once(" on ")) {
                Some((sp, t)) => (
                    sp.trim().to_string(),
                    t.split([',', '&'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect(),
                ),
                None => (s.trim().to_string(), vec![]),
            };
            Ok(Action::Cast {
                spell: need(&spell, "a spell")?,
                targets,
                slot,
            })
        }
        // Class features used by name; anything else is an item.
        "use" if feature_action(rest).is_some() => {
            feature_action(rest).ok_or_else(|| "use FEATURE".to_string())
        }
        "feature" => feature_action(rest).ok_or_else(|| {
            "feature second wind | action surge | rage | lay on hands [N] [on TARGET] | \
             wild shape | channel divinity | bardic inspiration [on NAME] | divine smite [SLOT] | \
             reckless attack | cunning action dash|disengage|hide | flurry of blows [on NAME] | \
             patient defense | step of the wind [dash|disengage] | breath weapon on NAME | \
             arcane recovery [MAX LEVEL] | turn undead | preserve life | \
             martial arts [on NAME] | sacred weapon | font of magic slot|points N | \
             wild shape BEAST | stunning strike | turn the unholy | wholeness of body | \
             natural recovery [MAX LEVEL] | hurl through hell | intimidating presence on NAME"
                .to_string()
        }),
        "rage" => Ok(Action::UseFeature {
            feature: "rage".into(),
            target: None,
            amount: None,
        }),
        "use" | "drink" => Ok(Action::UseItem {
            item: need(rest, "an item")?,
        }),
        "dodge" => Ok(Action::Dodge),
        "dash" => Ok(Action::Dash),
        "disengage" => Ok(Action::Disengage),
        "break" | "escape" => Ok(Action::BreakFree),
        "hide" => Ok(Action::Hide),
        "help" => Ok(Action::Help {
            target: need(rest, "the foe your ally will attack")?,
        }),
        "ready" => Ok(Action::Ready {
            text: need(
                rest,
                "what you ready, e.g. `ready I shoot the first goblin that moves`",
            )?,
        }),
        "engage" => Ok(Action::Move {
            to: MoveTo::Engage {
                target: need(rest, "a creature")?,
            },
        }),
        "move" | "go" => {
            let w = words.first().map(|w| w.to_ascii_lowercase());
            let to = match w.as_deref() {
                Some("near" | "out" | "back") => MoveTo::Near,
                Some("far" | "away") => MoveTo::Far,
                Some("to" | "engage") => MoveTo::Engage {
                    target: need(words[1..].join(" ").trim(), "a creature")?,
                },
                Some(_) => MoveTo::Engage {
                    target: rest.to_string(),
                },
                None => {
                    return Err(
                        "move needs where: `move near`, `move far` or `move to TARGET`".into(),
                    );
                }
            };
            Ok(Action::Move { to })
        }
        "react" | "reaction" => match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
            Some("skip" | "no" | "pass" | "none") => Ok(Action::React { take: false }),
            _ => Ok(Action::React { take: true }),
        },
        "end" | "endturn" | "pass" => Ok(Action::EndTurn),
        "rest" => match words.first().map(|w| w.to_ascii_lowercase()) {
            Some(w) if w == "long" => Ok(Action::Rest {
                kind: RestKind::Long,
                hit_dice: 0,
            }),
            Some(w) if w == "short" => Ok(Action::Rest {
                kind: RestKind::Short,
                hit_dice: words.get(1).and_then(|n| n.parse().ok()).unwrap_or(1),
            }),
            _ => Err("rest short [N] or rest long".into()),
        },
        "fight" | "combat" => Ok(Action::StartCombat {
            monsters: parse_groups(rest)?,
        }),
        "add" => Ok(Action::AddToCombat {
            monsters: parse_groups(rest)?,
        }),
        "endfight" | "endcombat" => Ok(Action::EndCombat),
        "hp" => {
            let (t, n) = rest.rsplit_once(' ').ok_or("hp TARGET N")?;
            Ok(Action::SetHp {
                target: t.trim().into(),
                hp: n.parse().map_err(|_| "hp needs a number")?,
            })
        }
        "damage" => {
            if words.len() < 3 {
                return Err("damage TARGET DICE TYPE".into());
            }
            let ty = DamageType::parse(words[words.len() - 1]).ok_or("unknown damage type")?;
            Ok(Action::Damage {
                target: words[..words.len() - 2].join(" "),
                dice: words[words.len() - 2].into(),
                damage_type: ty,
            })
        }
        "condition" => {
            if words.len() < 3 {
                return Err("condition TARGET COND on|off".into());
            }
            let on = match words[words.len() - 1] {
                "on" => true,
                "off" => false,
                _ => return Err("condition TARGET COND on|off".into()),
            };
            let c = Condition::parse(words[words.len() - 2]).ok_or("unknown condition")?;
            Ok(Action::SetCondition {
                target: words[..words.len() - 2].join(" "),
                condition: c,
                on,
            })
        }
        "whisper" => {
            let (to, text) = rest.split_once(' ').ok_or("whisper PLAYER TEXT")?;
            Ok(Action::Whisper {
                to: local_player(to),
                text: text.trim().into(),
            })
        }
        "settings"
            if words
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case("reactions")) =>
        {
            let s: u64 = words
                .get(1)
                .and_then(|w| w.parse().ok())
                .ok_or("settings reactions SECS (0: no reaction windows)")?;
            Ok(Action::ChangeSettings {
                settings: Settings {
                    reaction_timeout_ms: s.saturating_mul(1000),
                    ..*current
                },
            })
        }
        "settings" => {
            let t: u64 = words
                .first()
                .and_then(|w| w.parse().ok())
                .ok_or("settings TIMEOUT_SECS WARNING_SECS")?;
            let w: u64 = words
                .get(1)
                .and_then(|w| w.parse().ok())
                .ok_or("settings TIMEOUT_SECS WARNING_SECS")?;
            Ok(Action::ChangeSettings {
                settings: Settings {
                    turn_timeout_ms: t.saturating_mul(1000),
                    turn_warning_ms: w.saturating_mul(1000),
                    ..*current
                },
            })
        }
        "narrator" => {
            let narrator = match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("llm" | "auto") => NarratorMode::Auto,
                Some("builtin" | "built-in") => NarratorMode::Builtin,
                _ => return Err("narrator llm|builtin".into()),
            };
            Ok(Action::ChangeSettings {
                settings: Settings {
                    narrator,
                    ..*current
                },
            })
        }
        "create" => {
            if words.len() < 3 {
                return Err(
                    "create NAME CLASS RACE [standard|roll|pointbuy S D C I W CH] [level N]".into(),
                );
            }
            let mut spec = CharacterSpec::quick(words[0], words[1], words[2]);
            let mut i = 3;
            while i < words.len() {
                match words[i].to_ascii_lowercase().as_str() {
                    "standard" => i += 1,
                    "roll" => {
                        spec.method = AbilityMethod::Roll;
                        i += 1;
                    }
                    "pointbuy" => {
                        let v: Vec<i32> = words
                            .iter()
                            .skip(i + 1)
                            .take(6)
                            .filter_map(|w| w.parse().ok())
                            .collect();
                        if v.len() != 6 {
                            return Err("pointbuy needs six scores: STR DEX CON INT WIS CHA".into());
                        }
                        spec.method = AbilityMethod::PointBuy {
                            scores: Abilities::new(v[0], v[1], v[2], v[3], v[4], v[5]),
                        };
                        i += 7;
                    }
                    "level" => {
                        spec.level = words
                            .get(i + 1)
                            .and_then(|w| w.parse().ok())
                            .ok_or("level needs a number")?;
                        i += 2;
                    }
                    "expertise" => {
                        let (skills, next) = skill_words(&words, i + 1)?;
                        spec.expertise = skills;
                        i = next;
                    }
                    "subrace" => {
                        // "subrace hill dwarf" / "subrace hill": up to the next keyword.
                        let mut j = i + 1;
                        let mut name = Vec::new();
                        while let Some(w) = words.get(j).filter(|w| !is_create_keyword(w)) {
                            name.push(*w);
                            j += 1;
                        }
                        spec.subrace = Some(name.join(" "));
                        i = j;
                    }
                    "style" => {
                        // "style great weapon fighting": up to the next keyword.
                        let mut j = i + 1;
                        let mut name = Vec::new();
                        while let Some(w) = words.get(j).filter(|w| !is_create_keyword(w)) {
                            name.push(*w);
                            j += 1;
                        }
                        spec.fighting_style = Some(name.join(" "));
                        i = j;
                    }
                    "options" => {
                        // "options agonizing blast, armor of shadows": up to the next
                        // keyword, separated by commas.
                        let mut j = i + 1;
                        let mut name = Vec::new();
                        while let Some(w) = words.get(j).filter(|w| !is_create_keyword(w)) {
                            name.push(*w);
                            j += 1;
                        }
                        spec.options = spell_list(&name.join(" "));
                        i = j;
                    }
                    "ancestry" => {
                        spec.ancestry = Some(
                            words
                                .get(i + 1)
                                .ok_or("ancestry needs a dragon colour or damage type")?
                                .to_string(),
                        );
                        i += 2;
                    }
                    "spells" => {
                        // The rest of the line: spell names separated by commas.
                        spec.spells = spell_list(&words[i + 1..].join(" "));
                        i = words.len();
                    }
                    other => return Err(format!("unexpected {other:?} in create")),
                }
            }
            Ok(Action::CreateCharacter { spec })
        }
        "prepare" => {
            let spells = spell_list(rest);
            if spells.is_empty() {
                return Err("prepare SPELL, SPELL, …".into());
            }
            Ok(Action::PrepareSpells { spells })
        }
        "levelup" | "level-up" => {
            let (mut asi, mut expertise, mut spells) = (Vec::new(), Vec::new(), Vec::new());
            let mut fighting_style = None;
            let mut options = Vec::new();
            let mut i = 0;
            while i < words.len() {
                match words[i].to_ascii_lowercase().as_str() {
                    w @ ("style" | "options") => {
                        let mut j = i + 1;
                        let mut name = Vec::new();
                        while let Some(w) = words.get(j).filter(|w| {
                            !matches!(
                                w.to_ascii_lowercase().as_str(),
                                "expertise" | "spells" | "learn" | "style" | "options"
                            )
                        }) {
                            name.push(*w);
                            j += 1;
                        }
                        if w == "style" {
                            fighting_style = Some(name.join(" "));
                        } else {
                            options = spell_list(&name.join(" "));
                        }
                        i = j;
                    }
                    "expertise" => {
                        let (skills, next) = skill_words(&words, i + 1)?;
                        expertise = skills;
                        i = next;
                    }
                    "spells" | "learn" => {
                        spells = spell_list(&words[i + 1..].join(" "));
                        i = words.len();
                    }
                    w => {
                        let a = Ability::parse(w).ok_or_else(|| {
                            "levelup [STR DEX | STR STR] [expertise SKILL SKILL] [spells SPELL, …]"
                                .to_string()
                        })?;
                        asi.push(a);
                        i += 1;
                    }
                }
            }
            Ok(Action::LevelUp {
                asi,
                spells,
                expertise,
                fighting_style,
                options,
            })
        }
        "join" => Ok(Action::Join {
            name: need(rest, "a name")?,
        }),
        "" => Err("empty command".into()),
        other => {
            // Echo at most a few dozen characters of whatever was typed.
            let shown: String = other.chars().take(40).collect();
            let more = if shown.len() < other.len() { "…" } else { "" };
            Err(format!("unknown command {shown:?}{more} — type `help`"))
        }
    }
}

/// Features used by name (`use second wind`), as opposed to items.
fn is_create_keyword(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "standard"
            | "roll"
            | "pointbuy"
            | "level"
            | "expertise"
            | "subrace"
            | "ancestry"
            | "style"
            | "options"
            | "spells"
    )
}

/// A feature used by name, with its target and amount: "second wind", "lay on hands
/// 5 on Thorin", "bardic inspiration on Mira". `None`: not a feature (an item).
fn feature_action(s: &str) -> Option<Action> {
    const NAMES: [&str; 27] = [
        "second wind",
        "action surge",
        "rage",
        "lay on hands",
        "wild shape",
        "channel divinity",
        "bardic inspiration",
        "divine smite",
        "reckless attack",
        "cunning action",
        "flurry of blows",
        "patient defense",
        "step of the wind",
        "breath weapon",
        "arcane recovery",
        "turn undead",
        "preserve life",
        "martial arts",
        "sacred weapon",
        "font of magic",
        "stunning strike",
        "turn the unholy",
        "wholeness of body",
        "natural recovery",
        "hurl through hell",
        "intimidating presence",
        "smite",
    ];
    let lower = s.trim().to_lowercase();
    let name = NAMES
        .iter()
        .find(|n| lower == **n || lower.starts_with(&format!("{n} ")))?;
    let rest = lower[name.len()..].trim();
    // "wild shape brown bear", "wild shape into a wolf": the beast's name.
    if *name == "wild shape" {
        let beast = rest
            .trim_start_matches("into ")
            .trim_start_matches("a ")
            .trim_start_matches("an ")
            .trim();
        return Some(Action::UseFeature {
            feature: name.to_string(),
            target: (!beast.is_empty()).then(|| beast.to_string()),
            amount: None,
        });
    }
    // "font of magic slot 2": the way, then the level.
    if *name == "font of magic" {
        let mut w = rest.split_whitespace();
        let (way, n) = (
            w.next().unwrap_or(""),
            w.next().and_then(|n| n.parse().ok()),
        );
        return Some(Action::UseFeature {
            feature: format!("{name} {way}").trim_end().to_string(),
            target: None,
            amount: n,
        });
    }
    let (amount, target) = match rest.split_once("on ") {
        Some((a, t)) => (a.trim(), Some(t.trim().to_string())),
        None => (rest, None),
    };
    // "cunning action dash": a word after the name is part of it.
    let (amount, name) = match amount.parse::<u32>() {
        Ok(n) => (Some(n), name.to_string()),
        Err(_) if !amount.is_empty() && !amount.contains(' ') => (None, format!("{name} {amount}")),
        Err(_) => (None, name.to_string()),
    };
    Some(Action::UseFeature {
        feature: name,
        target: target.filter(|t| !t.is_empty()),
        amount,
    })
}

/// "fire bolt, hold person" -> ["fire bolt", "hold person"] (at most 40 names).
fn spell_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .take(40)
        .map(String::from)
        .collect()
}

/// Skill names from `words[from..]` up to the next keyword; returns them and where the
/// keyword is.
fn skill_words(words: &[&str], from: usize) -> Result<(Vec<Skill>, usize), String> {
    let mut out = Vec::new();
    let mut i = from;
    while let Some(w) = words.get(i) {
        if matches!(
            w.to_ascii_lowercase().as_str(),
            "spells" | "learn" | "level" | "expertise"
        ) {
            break;
        }
        out.push(Skill::parse(w).ok_or_else(|| format!("{w:?} is not a skill"))?);
        i += 1;
    }
    Ok((out, i))
}

fn parse_groups(s: &str) -> Result<Vec<MonsterGroup>, String> {
    if s.trim().is_empty() {
        return Err("name some monsters, e.g. `fight 3 goblin`".into());
    }
    // The engine's one parser for monster lists, shared with Discord (plurals, counts
    // and the 20-monster cap checked the same way everywhere).
    dicebard_engine::parse_monster_list(s, dicebard_srd::catalog()).map_err(|e| e.to_string())
}

/// The player id a terminal name maps to.
pub fn local_player(name: &str) -> PlayerId {
    PlayerId::new(format!("local:{}", name.trim().to_lowercase()))
}

fn default_player_name() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "player".into())
}

/// What `dicebard play` was asked for.
#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    /// The campaign to create or continue (default: "default").
    pub campaign: Option<String>,
    /// The player's name (default: `$USER`).
    pub player: Option<String>,
    /// The seed of a new campaign (default: random).
    pub seed: Option<u64>,
    /// One JSON object per line instead of prose.
    pub json: bool,
    /// The table settings a new campaign starts with.
    pub settings: Settings,
    /// The table's door (links, kicks, presence), when a web table is served beside
    /// the terminal (`--web`); without it `invite` and `display` say so.
    pub table: Option<crate::table::Table>,
}

/// Runs a game at the terminal until `quit` or end of input, on the coordinator, game
/// master and table feeds the composition root built; shuts the coordinator down at the end.
pub async fn play(
    coord: Coordinator,
    gm: GameMaster,
    feeds: Feeds,
    args: PlayOptions,
) -> anyhow::Result<()> {
    let options_settings = args.settings;
    let store = coord.store().clone();
    let name = args.player.clone().unwrap_or_else(default_player_name);
    let me = local_player(&name);
    let campaign_name = args.campaign.clone().unwrap_or_else(|| "default".into());
    let origin = |p: &PlayerId| Origin::new(Source::Terminal, p);
    let id = match store.campaign_by_name(&campaign_name).await? {
        Some(row) => row.id,
        None => coord
            .create_campaign(&campaign_name, &me, args.seed, origin(&me))
            .await
            .map_err(|e| anyhow::anyhow!(e.user_message()))?,
    };
    let mut snap = coord
        .snapshot(id)
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    if !snap.state.started {
        // The campaign's row was created but the process stopped before its start was
        // committed: start it now, or it could never be played.
        let start = Command {
            by: dicebard_engine::Actor::Player(me.clone()),
            action: Action::StartCampaign {
                name: campaign_name.clone(),
                settings: options_settings,
            },
        };
        coord
            .submit(id, start, origin(&me))
            .await
            .map_err(|e| anyhow::anyhow!(e.user_message()))?;
        snap = coord
            .snapshot(id)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    }
    let json = args.json;
    let out = Printer { json };
    if !json {
        out.info(&format!(
            "dicebard — campaign \"{}\" ({} events so far). You are {name}{}. Type `help`.",
            snap.state.name,
            snap.seq,
            if snap.state.is_gm(&me) {
                ", the GM"
            } else {
                ""
            }
        ));
        print_status(&view::scene_of(&snap.state, &me));
    }
    if !snap.state.players.contains_key(&me) {
        let _ = coord
            .submit(
                id,
                Command {
                    by: dicebard_engine::Actor::Player(me.clone()),
                    action: Action::Join { name: name.clone() },
                },
                origin(&me),
            )
            .await;
    }

    // Printer: a renderer of the campaign's table feed, for this terminal's viewer (the
    // feed batches, tells the lines and the LLM's prose once, and filters them).
    let feed = feeds
        .feed(id)
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let viewer = if snap.state.is_gm(&me) {
        Viewer::Gm
    } else {
        Viewer::Player(me.clone())
    };
    let (printed_tx, mut printed_rx) = watch::channel(snap.seq);
    let mut sub = feed.subscribe(viewer, FeedCursor::new(snap.seq, u32::MAX));
    let mut told = feed.told();
    let printer = tokio::spawn(async move {
        // An event waits for its line (published right after it) to be printed with it.
        let mut pending: Option<Arc<Committed>> = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        let mut told_open = true;
        loop {
            tokio::select! {
                biased;
                item = sub.next() => {
                    let Some(item) = item else { break };
                    match &item.kind {
                        FeedKind::Event { event } => {
                            if let Some(p) = pending.replace(event.clone()) {
                                out.event(&p, None);
                            }
                        }
                        FeedKind::Line { text } => match pending.take() {
                            Some(p) if p.seq == item.seq => out.event(&p, Some(text)),
                            other => {
                                if let Some(p) = other {
                                    out.event(&p, None);
                                }
                            }
                        },
                        other => {
                            if let Some(p) = pending.take() {
                                out.event(&p, None);
                            }
                            match other {
                                FeedKind::ProseChunk { text, source } => {
                                    out.prose(item.seq, text, *source)
                                }
                                FeedKind::Notice { text } => out.info(text),
                                _ => {}
                            }
                        }
                    }
                }
                r = told.changed(), if told_open => told_open = r.is_ok(),
                _ = tick.tick() => {}
            }
            let passed = sub.passed();
            if let Some(p) = pending.take_if(|p| p.seq <= passed) {
                // Everything filed under it went by: it has no line.
                out.event(&p, None);
            }
            printed_tx.send_replace(passed);
        }
        if let Some(p) = pending.take() {
            out.event(&p, None);
        }
    });

    let mut input = BufReader::new(tokio::io::stdin());
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    'session: loop {
        // Bytes, not `lines()`: a line that is not UTF-8 is a bad command, not the end of
        // the session.
        buf.clear();
        if input.read_until(b'\n', &mut buf).await? == 0 {
            break;
        }
        line_no += 1;
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        'line: {
            let (who, cmd) = match line.strip_prefix("as ") {
                Some(rest) => match rest.split_once(' ') {
                    Some((p, c)) => (local_player(p), c.trim()),
                    None => {
                        out.error(line_no, "as PLAYER COMMAND");
                        break 'line;
                    }
                },
                None => (me.clone(), line),
            };
            match cmd.to_ascii_lowercase().as_str() {
                "quit" | "exit" => break 'session,
                "help" => {
                    out.info(HELP);
                    break 'line;
                }
                "status" => {
                    if let Ok(s) = coord.snapshot(id).await {
                        out.status(&s.state, &who);
                    }
                    break 'line;
                }
                _ => {}
            }
            if let Some((verb, arg)) = table_command(cmd) {
                let table = args
                    .table
                    .clone()
                    .unwrap_or_else(|| crate::table::Table::new(coord.clone()));
                door(&out, line_no, &table, id, &who, verb, arg).await;
                break 'line;
            }
            if let Some(rest) = cmd.strip_prefix("sheet") {
                if let Ok(s) = coord.snapshot(id).await {
                    out.sheet(&s.state, &who, rest.trim());
                }
                break 'line;
            }
            if who != me
                && let Ok(s) = coord.snapshot(id).await
                && !s.state.players.contains_key(&who)
            {
                let display = who.as_str().trim_start_matches("local:").to_string();
                let join = Command {
                    by: dicebard_engine::Actor::Player(who.clone()),
                    action: Action::Join { name: display },
                };
                if let Err(e) = coord.submit(id, join, origin(&who)).await {
                    out.error(line_no, &e.user_message());
                    break 'line;
                }
            }
            let current = coord
                .snapshot(id)
                .await
                .map(|s| s.state.settings)
                .unwrap_or(options_settings);
            let (free_text, unknown) = match parse_line(cmd, &current) {
                Ok(Action::Act { text }) => (Some(text), None),
                Ok(a) => {
                    let res = coord
                        .submit(
                            id,
                            Command {
                                by: dicebard_engine::Actor::Player(who.clone()),
                                action: a,
                            },
                            origin(&who),
                        )
                        .await;
                    if let Err(e) = res {
                        out.error(line_no, &e.user_message());
                        break 'line;
                    }
                    (None, None)
                }
                // Not a verb of ours: read it as free text ("I swing my axe at the goblin").
                Err(e) if e.starts_with("unknown command") => (Some(cmd.to_string()), Some(e)),
                Err(e) => {
                    out.error(line_no, &e);
                    break 'line;
                }
            };
            if let Some(text) = free_text {
                let fallback_to_act = unknown.is_none();
                // The same reading as Discord's /act and voice: the LLM when configured, the
                // phrase parser otherwise; the engine checks every action.
                let outcome = act_free_text(
                    &coord,
                    &gm.intent,
                    id,
                    &who,
                    &text,
                    origin(&who),
                    fallback_to_act,
                )
                .await;
                if let ActOutcome::Done {
                    source, actions, ..
                } = &outcome
                {
                    out.reading(line_no, *source, actions.len());
                }
                match outcome {
                    ActOutcome::Done { notice, .. } => {
                        if let Some(n) = notice {
                            out.info(&n);
                        }
                    }
                    ActOutcome::Clarify(q) => {
                        out.info(&q);
                        break 'line;
                    }
                    // A sentence ("ignore all previous instructions and …") gets the game
                    // master's answer; a lone unknown word is more likely a mistyped command.
                    ActOutcome::NotUnderstood(m) if let Some(e) = &unknown => {
                        if text.split_whitespace().count() >= 3 {
                            out.error(line_no, &m);
                        } else {
                            out.error(line_no, e);
                        }
                        break 'line;
                    }
                    other => {
                        if let Some(m) = other.message() {
                            out.error(line_no, &m);
                        }
                        if other.events().is_empty() {
                            break 'line;
                        }
                    }
                }
            }
            // Wait until everything that followed (monster turns included) is printed.
            settle(&coord, id, &mut printed_rx).await;
        }
        out.done(line_no);
    }
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        settle(&coord, id, &mut printed_rx),
    )
    .await;
    printer.abort();
    feeds.stop_all().await;
    coord.shutdown().await;
    store.close().await;
    Ok(())
}

/// `invite NAME`, `display`, `kick NAME`, `table`: the table's door, not engine actions.
fn table_command(cmd: &str) -> Option<(&'static str, &str)> {
    let (verb, rest) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
    let verb = match verb.to_ascii_lowercase().as_str() {
        "invite" => "invite",
        "display" | "tv" => "display",
        "kick" => "kick",
        "table" | "who" => "table",
        _ => return None,
    };
    Some((verb, rest.trim()))
}

/// Runs a table command for `who`: the table's permission rule decides (the GM may
/// invite anyone, make a TV link and kick; a player may invite only themselves).
async fn door(
    out: &Printer,
    line_no: u64,
    table: &crate::table::Table,
    campaign: CampaignId,
    who: &PlayerId,
    verb: &str,
    arg: &str,
) {
    use crate::table::{By, InviteRequest, Role, TableError};
    let by = By::Player(who);
    let state = match table.coordinator().snapshot(campaign).await {
        Ok(s) => s.state,
        Err(e) => return out.error(line_no, &e.to_string()),
    };
    let res: Result<Option<(String, crate::table::Invite)>, TableError> = match verb {
        "invite" => {
            // A player of the campaign by name (or id), else a new phone player of that
            // name; nothing named: yourself.
            let (player, name) = if arg.is_empty() {
                let name = state.players.get(who).map(|i| i.name.clone());
                (Some(who.clone()), name)
            } else {
                match crate::table::find_player(&state, arg) {
                    Some(p) => {
                        let name = state.players.get(&p).map(|i| i.name.clone());
                        (Some(p), name)
                    }
                    None => (None, Some(arg.to_string())),
                }
            };
            let what = format!("Phone link for {}", name.as_deref().unwrap_or(arg));
            let req = InviteRequest {
                player,
                name,
                ..InviteRequest::new(Role::Player)
            };
            table
                .invite(campaign, by, req)
                .await
                .map(|i| Some((what, i)))
        }
        "display" => {
            let req = InviteRequest {
                name: Some("TV display".into()),
                ..InviteRequest::new(Role::Display)
            };
            table
                .invite(campaign, by, req)
                .await
                .map(|i| Some(("TV display link".to_string(), i)))
        }
        "kick" if crate::table::may_manage(&state, by).is_err() => {
            crate::table::may_manage(&state, by).map(|()| None)
        }
        "kick" => match crate::table::find_player(&state, arg) {
            None if arg.is_empty() => return out.error(line_no, "kick NAME"),
            None => return out.error(line_no, "No such player in this campaign."),
            Some(p) => table.kick(campaign, by, &p).await.map(|n| {
                out.info(&format!(
                    "Kicked {arg} from the phone table: {n} session(s) ended, unused links revoked."
                ));
                None
            }),
        },
        _ => table.status_text(campaign).await.map(|t| {
            out.info(&t);
            None
        }),
    };
    match res {
        Ok(Some((what, invite))) => {
            out.info(&format!("{what} (works once): {}", invite.url));
            if !out.json
                && let Some(q) = crate::table::qr::unicode(&invite.url)
            {
                out.line(&q);
            }
        }
        Ok(None) => {}
        Err(e) => out.error(line_no, &e.user_message()),
    }
}

/// Waits until the printer has shown everything the log holds, monster turns included:
/// a monster's decision is made off the campaign's loop, so while one is up the wait
/// goes on until its turn is in the log (bounded, in case it never comes).
async fn settle(
    coord: &crate::coordinator::Coordinator,
    id: CampaignId,
    printed: &mut watch::Receiver<u64>,
) {
    const NPC_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
    for _ in 0..1_000 {
        let Ok(s) = coord.snapshot(id).await else {
            return;
        };
        if printed.wait_for(|p| *p >= s.seq).await.is_err() {
            return;
        }
        if dicebard_engine::npc_options(&s.state).is_empty() {
            return;
        }
        match tokio::time::timeout(NPC_WAIT, printed.wait_for(|p| *p > s.seq)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
    }
}

#[derive(Clone, Copy)]
struct Printer {
    json: bool,
}

impl Printer {
    fn line(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{s}");
        let _ = o.flush();
    }

    fn info(&self, s: &str) {
        if self.json {
            self.line(&serde_json::json!({ "info": s }).to_string());
        } else {
            self.line(s);
        }
    }

    fn error(&self, line: u64, msg: &str) {
        // One short line, whatever the message quotes back (a 10,000-character name).
        let mut msg: String = msg.replace(['\n', '\r'], " ");
        if msg.chars().count() > 200 {
            msg = msg.chars().take(200).collect::<String>() + "…";
        }
        let msg = msg.as_str();
        if self.json {
            self.line(&serde_json::json!({ "error": msg, "line": line }).to_string());
        } else {
            self.line(&format!("! {msg}"));
        }
    }

    /// An event and the built-in narrator's line for it (from the feed).
    fn event(&self, c: &Committed, text: Option<&str>) {
        if self.json {
            let v = serde_json::json!({
                "seq": c.seq,
                "type": c.event.kind_name(),
                "visibility": c.event.visibility.key(),
                "text": text,
                "event": c.event,
            });
            self.line(&v.to_string());
        } else if let Some(t) = text {
            self.line(t);
        }
    }

    /// The story told of what just happened: the LLM's prose, or the built-in
    /// narrator's when it stood in. At the terminal the built-in lines are already on
    /// screen (they are the events), so only `--json` repeats them, marked as such.
    fn prose(&self, seq: u64, text: &str, source: NarrationSource) {
        let source = match source {
            NarrationSource::Llm => "llm",
            NarrationSource::Builtin => "builtin",
        };
        if self.json {
            self.line(
                &serde_json::json!({ "seq": seq, "narration": text, "source": source }).to_string(),
            );
        } else if source == "llm" {
            self.line(&format!("» {text}"));
        }
    }

    /// How a line of free text was read (`--json` only: scripts want to know whether
    /// the LLM or the phrase parser understood it).
    fn reading(&self, line_no: u64, source: IntentSource, actions: usize) {
        if self.json {
            self.line(
                &serde_json::json!({ "line": line_no, "read_by": source, "actions": actions })
                    .to_string(),
            );
        }
    }

    /// `--json` only: everything the command on `line_no` set off has been printed.
    fn done(&self, line_no: u64) {
        if self.json {
            self.line(&serde_json::json!({ "done": line_no }).to_string());
        }
    }

    fn status(&self, state: &CampaignState, me: &PlayerId) {
        let scene = view::scene_of(state, me);
        if self.json {
            let party: Vec<_> = scene
                .party
                .iter()
                .map(|c| serde_json::json!({"name": c.name, "hp": c.hp.hp, "temp_hp": c.hp.temp_hp, "max_hp": c.hp.max_hp, "ac": c.ac, "class_state": c.class_state}))
                .collect();
            let combat = scene.combat.as_ref().map(|c| {
                serde_json::json!({
                    "round": c.round,
                    "active": c.turn.as_ref().map(|t| t.name.clone()),
                    "order": c.rows.iter().map(|r| {
                        let mut row = serde_json::json!({"name": r.name, "health": r.health});
                        if let Some(by) = &r.ally_of {
                            row["ally_of"] = by.clone().into();
                        }
                        // Exact hit points only where this viewer may know them.
                        if let Some(hp) = r.hp {
                            row["hp"] = hp.hp.into();
                            row["max_hp"] = hp.max_hp.into();
                        }
                        row
                    }).collect::<Vec<_>>(),
                })
            });
            self.line(&serde_json::json!({"status": {"campaign": scene.name, "party": party, "combat": combat}}).to_string());
        } else {
            print_status(&scene);
        }
    }

    fn sheet(&self, state: &CampaignState, me: &PlayerId, name: &str) {
        let viewer = view::viewer_of(state, me);
        let c = if name.is_empty() {
            view::sheet_of(state, &viewer, me)
        } else {
            dicebard_engine::find_creature(state, name, |c| c.is_pc())
                .ok()
                .and_then(|id| view::sheet(state, &viewer, id))
        };
        let Some(c) = c else {
            self.error(0, "no such character");
            return;
        };
        if self.json {
            // The whole record (scripts read it); only a character the sheet view
            // allows, i.e. a player character.
            if let Some(full) = state.creature(c.id) {
                self.line(&serde_json::json!({ "sheet": full }).to_string());
            }
            return;
        }
        self.line(&format!(
            "{} — level {} {} {}\nHP {}/{}{}  AC {}  speed {} ft  proficiency +{}",
            c.name,
            c.level,
            c.race,
            c.class,
            c.hp.hp,
            c.hp.max_hp,
            if c.hp.temp_hp > 0 {
                format!(" (+{} temp)", c.hp.temp_hp)
            } else {
                String::new()
            },
            c.ac,
            c.speed,
            c.proficiency
        ));
        let abil: Vec<String> = c
            .abilities
            .iter()
            .map(|a| {
                format!(
                    "{} {} ({:+})",
                    a.ability.code().to_uppercase(),
                    a.score,
                    a.modifier
                )
            })
            .collect();
        self.line(&abil.join("  "));
        for a in &c.attacks {
            let dmg: Vec<String> = a
                .damage
                .iter()
                .map(|d| format!("{} {}", d.dice, d.damage_type))
                .collect();
            self.line(&format!(
                "  {} {:+} to hit, {}",
                a.name,
                a.to_hit,
                dmg.join(" + ")
            ));
        }
        if !c.spells.is_empty() || !c.slots.is_empty() {
            let slots: Vec<String> = c
                .slots
                .iter()
                .map(|s| format!("L{} {}/{}", s.level, s.available, s.max))
                .collect();
            self.line(&format!(
                "  Spells: {}  Slots: {}",
                c.spells.join(", "),
                slots.join(" ")
            ));
        }
        if !c.conditions.is_empty() {
            self.line(&format!("  Conditions: {}", c.conditions.join(", ")));
        }
        for l in c.class_state.lines() {
            self.line(&format!("  {l}"));
        }
        let inv: Vec<String> = c
            .inventory
            .iter()
            .map(|i| format!("{} ×{}", i.name, i.quantity))
            .collect();
        self.line(&format!("  Inventory: {}", inv.join(", ")));
    }
}

fn print_status(scene: &view::Scene) {
    let mut o = std::io::stdout().lock();
    for c in &scene.party {
        let _ = writeln!(
            o,
            "  {} — HP {}/{}, AC {}",
            c.name, c.hp.hp, c.hp.max_hp, c.ac
        );
        // What changes in play: a beast form, a held inspiration die.
        for l in c
            .class_state
            .wild_shape_line()
            .into_iter()
            .chain(c.class_state.inspiration_line())
        {
            let _ = writeln!(o, "    {l}");
        }
    }
    if scene.you.is_none() {
        let _ = writeln!(
            o,
            "  You have no character yet: try `create Thorin fighter dwarf`."
        );
    }
    if let Some(cb) = &scene.combat {
        let _ = writeln!(o, "  In combat, round {}:", cb.round);
        for r in &cb.rows {
            let mark = if r.active { "▶" } else { " " };
            let hp = match r.hp {
                Some(hp) => format!("{}/{}", hp.hp, hp.max_hp),
                None => r.health.describe().to_string(),
            };
            // Where it stands (theatre of the mind).
            let place = if !r.engaged_with.is_empty() {
                format!(" — in melee with {}", r.engaged_with.join(", "))
            } else if r.far {
                " — at a distance".to_string()
            } else {
                String::new()
            };
            // A conjured creature fights for its caster.
            let ally = r
                .ally_of
                .as_ref()
                .map_or(String::new(), |by| format!(", {by}'s"));
            let _ = writeln!(
                o,
                "   {mark} {:>3}  {} ({hp}{ally}){place}",
                r.initiative, r.name
            );
        }
        if let Some(t) = cb.turn.as_ref().filter(|t| !t.again.is_empty()) {
            let _ = writeln!(
                o,
                "  {} can cast again with no slot: {} (cast SPELL on TARGET)",
                t.name,
                t.again.join(", ")
            );
        }
        if let Some(w) = &cb.reaction {
            let _ = writeln!(
                o,
                "  Waiting for {}'s reaction: react use | react skip",
                w.name
            );
        }
    }
    let _ = o.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fight_features() {
        let s = Settings::default();
        let p = |l: &str| parse_line(l, &s).unwrap();
        let f = |feature: &str, target: Option<&str>, amount: Option<u32>| Action::UseFeature {
            feature: feature.into(),
            target: target.map(String::from),
            amount,
        };
        assert_eq!(p("use divine smite 2"), f("divine smite", None, Some(2)));
        assert_eq!(p("use smite"), f("smite", None, None));
        assert_eq!(p("use reckless attack"), f("reckless attack", None, None));
        assert_eq!(
            p("use cunning action hide"),
            f("cunning action hide", None, None)
        );
        assert_eq!(
            p("use flurry of blows on goblin 2"),
            f("flurry of blows", Some("goblin 2"), None)
        );
        assert_eq!(p("use patient defense"), f("patient defense", None, None));
        assert_eq!(
            p("use step of the wind disengage"),
            f("step of the wind disengage", None, None)
        );
        assert_eq!(
            p("use breath weapon on the ogre"),
            f("breath weapon", Some("the ogre"), None)
        );
        assert_eq!(
            p("use arcane recovery 1"),
            f("arcane recovery", None, Some(1))
        );
        assert_eq!(
            p("use lay on hands 5 on Thorin"),
            f("lay on hands", Some("thorin"), Some(5))
        );
        assert_eq!(p("use turn undead"), f("turn undead", None, None));
        assert_eq!(
            p("use wild shape into a brown bear"),
            f("wild shape", Some("brown bear"), None)
        );
        assert_eq!(p("use wild shape"), f("wild shape", None, None));
        assert_eq!(
            p("use font of magic slot 2"),
            f("font of magic slot", None, Some(2))
        );
        assert_eq!(
            p("use martial arts on goblin 1"),
            f("martial arts", Some("goblin 1"), None)
        );
        assert_eq!(p("use sacred weapon"), f("sacred weapon", None, None));
        assert_eq!(p("use stunning strike"), f("stunning strike", None, None));
        assert_eq!(p("use turn the unholy"), f("turn the unholy", None, None));
        assert_eq!(
            p("use intimidating presence on Ogre"),
            f("intimidating presence", Some("ogre"), None)
        );
        assert_eq!(
            p("use natural recovery 2"),
            f("natural recovery", None, Some(2))
        );
        match p("create Ada fighter human style great weapon fighting level 3") {
            Action::CreateCharacter { spec } => {
                assert_eq!(
                    spec.fighting_style.as_deref(),
                    Some("great weapon fighting")
                );
                assert_eq!(spec.level, 3);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p("levelup style defense"),
            Action::LevelUp {
                asi: vec![],
                spells: vec![],
                expertise: vec![],
                fighting_style: Some("defense".into()),
                options: vec![],
            }
        );
        assert_eq!(
            p("levelup options thirsting blade, mire the mind spells hold person"),
            Action::LevelUp {
                asi: vec![],
                spells: vec!["hold person".into()],
                expertise: vec![],
                fighting_style: None,
                options: vec!["thirsting blade".into(), "mire the mind".into()],
            }
        );
        match p("create Vex warlock tiefling options agonizing blast, armor of shadows level 2") {
            Action::CreateCharacter { spec } => {
                assert_eq!(spec.options, ["agonizing blast", "armor of shadows"]);
                assert_eq!(spec.level, 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_the_positional_actions_and_reactions() {
        let s = Settings::default();
        let p = |l: &str| parse_line(l, &s).unwrap();
        assert_eq!(p("react shield"), Action::React { take: true });
        assert_eq!(p("react skip"), Action::React { take: false });
        assert_eq!(p("dash"), Action::Dash);
        assert_eq!(p("disengage"), Action::Disengage);
        assert_eq!(p("break free"), Action::BreakFree);
        assert_eq!(p("hide"), Action::Hide);
        assert_eq!(
            p("help goblin 2"),
            Action::Help {
                target: "goblin 2".into()
            }
        );
        assert_eq!(p("move far"), Action::Move { to: MoveTo::Far });
        assert_eq!(p("move near"), Action::Move { to: MoveTo::Near });
        assert_eq!(
            p("move to the ogre"),
            Action::Move {
                to: MoveTo::Engage {
                    target: "the ogre".into()
                }
            }
        );
        assert!(parse_line("move", &s).is_err());
        assert_eq!(
            p("settings reactions 0"),
            Action::ChangeSettings {
                settings: Settings {
                    reaction_timeout_ms: 0,
                    ..s
                }
            }
        );
        assert!(parse_line("ready", &s).is_err());
    }
}
