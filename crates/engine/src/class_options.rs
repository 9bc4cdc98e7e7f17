//! Class options chosen at creation and level up (like fighting styles): a warlock's
//! Eldritch Invocations and Pact Boon, a sorcerer's Metamagic. [`CLASS_OPTIONS`] lists
//! the SRD's, each with its prerequisites and whether the engine applies it; the
//! choice is checked here ([`choose`]) and kept in
//! [`crate::creature::PcInfo::options`]. What they do in play is in
//! [`crate::rules::class_options`].

use crate::error::RuleError;
use crate::features::Automation::{self, Automated as A, Narrative as N};

/// What kind of choice an option is (each counted against its own limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invocation,
    PactBoon,
    Metamagic,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Invocation => "Eldritch Invocations",
            Kind::PactBoon => "Pact Boon",
            Kind::Metamagic => "Metamagic options",
        }
    }
}

/// One class option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassOption {
    pub class: &'static str,
    pub kind: Kind,
    pub index: &'static str,
    pub name: &'static str,
    /// The class level it may be chosen from.
    pub level: u8,
    /// A Pact Boon ("pact-of-the-blade") or a known spell ("eldritch-blast") it needs.
    pub requires: Option<&'static str>,
    /// A spell it lets the character cast at will, without a slot (Armor of Shadows:
    /// Mage Armor on itself).
    pub at_will: Option<&'static str>,
    pub automation: Automation,
    pub note: &'static str,
}

#[allow(clippy::too_many_arguments)]
const fn o(
    class: &'static str,
    kind: Kind,
    index: &'static str,
    name: &'static str,
    level: u8,
    requires: Option<&'static str>,
    at_will: Option<&'static str>,
    automation: Automation,
    note: &'static str,
) -> ClassOption {
    ClassOption {
        class,
        kind,
        index,
        name,
        level,
        requires,
        at_will,
        automation,
        note,
    }
}

use Kind::{Invocation as I, Metamagic as M, PactBoon as P};

const W: &str = "warlock";
const S: &str = "sorcerer";
const EB: Option<&str> = Some("eldritch-blast");

/// Every SRD Eldritch Invocation, Pact Boon and Metamagic option.
pub const CLASS_OPTIONS: &[ClassOption] = &[
    o(
        W,
        P,
        "pact-of-the-chain",
        "Pact of the Chain",
        3,
        None,
        None,
        N,
        "a familiar: narrated",
    ),
    o(
        W,
        P,
        "pact-of-the-blade",
        "Pact of the Blade",
        3,
        None,
        None,
        N,
        "a pact weapon: narrated (the prerequisite of Thirsting Blade and Lifedrinker)",
    ),
    o(
        W,
        P,
        "pact-of-the-tome",
        "Pact of the Tome",
        3,
        None,
        None,
        N,
        "three more cantrips: narrated",
    ),
    o(
        W,
        I,
        "agonizing-blast",
        "Agonizing Blast",
        2,
        EB,
        None,
        A,
        "+Cha modifier to each Eldritch Blast beam's damage",
    ),
    o(
        W,
        I,
        "armor-of-shadows",
        "Armor of Shadows",
        2,
        None,
        Some("mage-armor"),
        A,
        "Mage Armor on itself at will, without a slot",
    ),
    o(
        W,
        I,
        "ascendant-step",
        "Ascendant Step",
        9,
        None,
        Some("levitate"),
        A,
        "Levitate on itself at will, without a slot",
    ),
    o(
        W,
        I,
        "beast-speech",
        "Beast Speech",
        2,
        None,
        Some("speak-with-animals"),
        A,
        "Speak with Animals at will, without a slot",
    ),
    o(
        W,
        I,
        "beguiling-influence",
        "Beguiling Influence",
        2,
        None,
        None,
        A,
        "proficiency in Deception and Persuasion",
    ),
    o(
        W,
        I,
        "bewitching-whispers",
        "Bewitching Whispers",
        7,
        None,
        None,
        N,
        "Compulsion once a long rest with a slot: narrated",
    ),
    o(
        W,
        I,
        "book-of-ancient-secrets",
        "Book of Ancient Secrets",
        2,
        Some("pact-of-the-tome"),
        None,
        N,
        "rituals: narrated",
    ),
    o(
        W,
        I,
        "chains-of-carceri",
        "Chains of Carceri",
        15,
        Some("pact-of-the-chain"),
        None,
        N,
        "Hold Monster on celestials, fiends and elementals: narrated",
    ),
    o(
        W,
        I,
        "devils-sight",
        "Devil's Sight",
        2,
        None,
        None,
        N,
        "sees in magical darkness: narrated",
    ),
    o(
        W,
        I,
        "dreadful-word",
        "Dreadful Word",
        7,
        None,
        None,
        N,
        "Confusion once a long rest with a slot: narrated",
    ),
    o(
        W,
        I,
        "eldritch-sight",
        "Eldritch Sight",
        2,
        None,
        Some("detect-magic"),
        A,
        "Detect Magic at will, without a slot",
    ),
    o(
        W,
        I,
        "eldritch-spear",
        "Eldritch Spear",
        2,
        EB,
        None,
        N,
        "300 ft range: narrated (no distances)",
    ),
    o(
        W,
        I,
        "eyes-of-the-rune-keeper",
        "Eyes of the Rune Keeper",
        2,
        None,
        None,
        N,
        "reads all writing: narrated",
    ),
    o(
        W,
        I,
        "fiendish-vigor",
        "Fiendish Vigor",
        2,
        None,
        Some("false-life"),
        A,
        "False Life on itself at will, as a 1st-level spell, without a slot",
    ),
    o(
        W,
        I,
        "gaze-of-two-minds",
        "Gaze of Two Minds",
        2,
        None,
        None,
        N,
        "narrated",
    ),
    o(
        W,
        I,
        "lifedrinker",
        "Lifedrinker",
        12,
        Some("pact-of-the-blade"),
        None,
        N,
        "+Cha necrotic with the pact weapon: narrated",
    ),
    o(
        W,
        I,
        "mask-of-many-faces",
        "Mask of Many Faces",
        2,
        None,
        Some("disguise-self"),
        A,
        "Disguise Self at will, without a slot",
    ),
    o(
        W,
        I,
        "master-of-myriad-forms",
        "Master of Myriad Forms",
        15,
        None,
        Some("alter-self"),
        A,
        "Alter Self at will, without a slot",
    ),
    o(
        W,
        I,
        "minions-of-chaos",
        "Minions of Chaos",
        9,
        None,
        None,
        N,
        "Conjure Elemental once a long rest: narrated",
    ),
    o(
        W,
        I,
        "mire-the-mind",
        "Mire the Mind",
        5,
        None,
        None,
        N,
        "Slow once a long rest with a slot: narrated",
    ),
    o(
        W,
        I,
        "misty-visions",
        "Misty Visions",
        2,
        None,
        Some("silent-image"),
        A,
        "Silent Image at will, without a slot",
    ),
    o(
        W,
        I,
        "one-with-shadows",
        "One with Shadows",
        5,
        None,
        None,
        N,
        "invisible in dim light: narrated",
    ),
    o(
        W,
        I,
        "otherworldly-leap",
        "Otherworldly Leap",
        9,
        None,
        Some("jump"),
        A,
        "Jump on itself at will, without a slot",
    ),
    o(
        W,
        I,
        "repelling-blast",
        "Repelling Blast",
        2,
        EB,
        None,
        A,
        "an Eldritch Blast beam that hits pushes the creature out of melee",
    ),
    o(
        W,
        I,
        "sculptor-of-flesh",
        "Sculptor of Flesh",
        7,
        None,
        None,
        N,
        "Polymorph once a long rest with a slot: narrated",
    ),
    o(
        W,
        I,
        "sign-of-ill-omen",
        "Sign of Ill Omen",
        5,
        None,
        None,
        N,
        "Bestow Curse once a long rest with a slot: narrated",
    ),
    o(
        W,
        I,
        "thief-of-five-fates",
        "Thief of Five Fates",
        2,
        None,
        None,
        N,
        "Bane once a long rest with a slot: narrated",
    ),
    o(
        W,
        I,
        "thirsting-blade",
        "Thirsting Blade",
        5,
        Some("pact-of-the-blade"),
        None,
        A,
        "two attacks with the Attack action",
    ),
    o(
        W,
        I,
        "visions-of-distant-realms",
        "Visions of Distant Realms",
        15,
        None,
        Some("arcane-eye"),
        A,
        "Arcane Eye at will, without a slot",
    ),
    o(
        W,
        I,
        "voice-of-the-chain-master",
        "Voice of the Chain Master",
        2,
        Some("pact-of-the-chain"),
        None,
        N,
        "narrated",
    ),
    o(
        W,
        I,
        "whispers-of-the-grave",
        "Whispers of the Grave",
        9,
        None,
        Some("speak-with-dead"),
        A,
        "Speak with Dead at will, without a slot",
    ),
    o(
        W,
        I,
        "witch-sight",
        "Witch Sight",
        15,
        None,
        None,
        N,
        "sees true forms: narrated",
    ),
    o(
        S,
        M,
        "careful-spell",
        "Careful Spell",
        3,
        None,
        None,
        A,
        "1 point: party members caught by the spell (up to the Cha modifier) succeed on its save",
    ),
    o(
        S,
        M,
        "distant-spell",
        "Distant Spell",
        3,
        None,
        None,
        N,
        "1 point: double range (no distances: narrated)",
    ),
    o(
        S,
        M,
        "empowered-spell",
        "Empowered Spell",
        3,
        None,
        None,
        A,
        "1 point: up to Cha modifier damage dice below their average are rolled again",
    ),
    o(
        S,
        M,
        "extended-spell",
        "Extended Spell",
        3,
        None,
        None,
        N,
        "1 point: double duration (narrated)",
    ),
    o(
        S,
        M,
        "heightened-spell",
        "Heightened Spell",
        3,
        None,
        None,
        A,
        "3 points: the first target has disadvantage on its first save",
    ),
    o(
        S,
        M,
        "quickened-spell",
        "Quickened Spell",
        3,
        None,
        None,
        A,
        "2 points: an action spell cast as a bonus action",
    ),
    o(
        S,
        M,
        "subtle-spell",
        "Subtle Spell",
        3,
        None,
        None,
        N,
        "1 point: no components (narrated)",
    ),
    o(
        S,
        M,
        "twinned-spell",
        "Twinned Spell",
        3,
        None,
        None,
        A,
        "points = the spell's level (1 for a cantrip): a spell of one creature aims at a second one",
    ),
];

/// How many options of a kind a class has at a level.
pub fn allowed(class: &str, kind: Kind, level: u8) -> usize {
    match (class, kind) {
        ("warlock", Kind::Invocation) => match level {
            0..=1 => 0,
            2..=4 => 2,
            5..=6 => 3,
            7..=8 => 4,
            9..=11 => 5,
            12..=14 => 6,
            15..=17 => 7,
            _ => 8,
        },
        ("warlock", Kind::PactBoon) => usize::from(level >= 3),
        ("sorcerer", Kind::Metamagic) => match level {
            0..=2 => 0,
            3..=9 => 2,
            10..=16 => 3,
            _ => 4,
        },
        _ => 0,
    }
}

/// An option by name ("quickened", "Quickened Spell", "agonizing blast", "blade").
pub fn find(class: &str, name: &str) -> Option<&'static ClassOption> {
    let want = crate::data::to_index(name).replace('\'', "");
    CLASS_OPTIONS.iter().find(|o| {
        o.class == class
            && (o.index == want
                || o.index.strip_suffix("-spell") == Some(want.as_str())
                || o.index.strip_prefix("pact-of-the-") == Some(want.as_str()))
    })
}

/// Whether a creature has chosen an option.
pub fn has(c: &crate::creature::Creature, index: &str) -> bool {
    c.pc.as_ref()
        .is_some_and(|p| p.options.iter().any(|o| o == index))
}

/// [`choose`] for a creature, with the spells it knows read off it.
pub fn choose_for(
    c: &crate::creature::Creature,
    class: &str,
    class_name: &str,
    level: u8,
    had: &[String],
    new: &[String],
) -> Result<Vec<String>, RuleError> {
    let known = c.spellcasting.as_ref().map_or(&[][..], |sc| &sc.spells[..]);
    choose(class, class_name, level, had, new, known)
}

/// Checks options chosen at creation or on a level up (`had`: those chosen before)
/// and returns the whole list. `spells`: the spells the character knows (for Agonizing
/// Blast's Eldritch Blast).
pub fn choose(
    class: &str,
    class_name: &str,
    level: u8,
    had: &[String],
    new: &[String],
    spells: &[String],
) -> Result<Vec<String>, RuleError> {
    let mut all: Vec<String> = had.to_vec();
    let names: Vec<&str> = new
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if names.len() > 16 {
        return Err(RuleError::invalid(
            "Choose at most 16 class options at once.",
        ));
    }
    for name in &names {
        let Some(opt) = find(class, name) else {
            let kinds: Vec<&str> = [Kind::Invocation, Kind::PactBoon, Kind::Metamagic]
                .into_iter()
                .filter(|k| {
                    CLASS_OPTIONS
                        .iter()
                        .any(|o| o.class == class && o.kind == *k)
                })
                .map(Kind::label)
                .collect();
            return Err(RuleError::invalid(if kinds.is_empty() {
                format!(
                    "{class_name}s have no class options to choose (warlocks and sorcerers do)."
                )
            } else {
                format!(
                    "\"{}\" is not one of a {class_name}'s {}.",
                    crate::error::echo(name),
                    kinds.join(" or ")
                )
            }));
        };
        if all.iter().any(|h| h == opt.index) {
            return Err(RuleError::invalid(format!(
                "{} is already chosen.",
                opt.name
            )));
        }
        if level < opt.level {
            return Err(RuleError::invalid(format!(
                "{} needs a level {} {class_name}.",
                opt.name, opt.level
            )));
        }
        all.push(opt.index.to_string());
    }
    for opt in all
        .iter()
        .filter_map(|i| CLASS_OPTIONS.iter().find(|o| o.index == i))
    {
        if let Some(req) = opt.requires {
            let ok = all.iter().any(|h| h == req) || spells.iter().any(|s| s == req);
            if !ok {
                return Err(RuleError::invalid(format!(
                    "{} needs {}.",
                    opt.name,
                    crate::data::from_index(req)
                )));
            }
        }
    }
    for kind in [Kind::Invocation, Kind::PactBoon, Kind::Metamagic] {
        let n = all
            .iter()
            .filter(|i| {
                CLASS_OPTIONS
                    .iter()
                    .any(|o| o.index == i.as_str() && o.kind == kind)
            })
            .count();
        let max = allowed(class, kind, level);
        if n > max {
            return Err(RuleError::invalid(format!(
                "A level {level} {class_name} has {max} {}, and {n} were chosen.",
                kind.label()
            )));
        }
    }
    Ok(all)
}

/// What chosen options add to the sheet (at creation and each level up, idempotent):
/// Beguiling Influence's skills, Thirsting Blade's second attack.
pub fn apply_to_sheet(c: &mut crate::creature::Creature) {
    use crate::ability::{Proficiency, Skill};
    if has(c, "beguiling-influence") {
        for s in [Skill::Deception, Skill::Persuasion] {
            c.skill_proficiencies
                .entry(s)
                .or_insert(Proficiency::Proficient);
        }
    }
    if has(c, "thirsting-blade")
        && let Some(pc) = c.pc.as_mut()
    {
        pc.attacks_per_action = pc.attacks_per_action.max(2);
    }
}

/// The option that lets a creature cast `spell` at will, if it has chosen one.
pub fn at_will(c: &crate::creature::Creature, spell: &str) -> Option<&'static ClassOption> {
    let pc = c.pc.as_ref()?;
    CLASS_OPTIONS
        .iter()
        .find(|o| o.at_will == Some(spell) && pc.options.iter().any(|h| h == o.index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_by_class_level_count_and_prerequisite() {
        let eb = vec!["eldritch-blast".to_string()];
        let ok = choose(
            "warlock",
            "Warlock",
            2,
            &[],
            &["agonizing blast".into(), "Armor of Shadows".into()],
            &eb,
        )
        .unwrap();
        assert_eq!(ok, ["agonizing-blast", "armor-of-shadows"]);
        let e = choose(
            "warlock",
            "Warlock",
            2,
            &[],
            &["agonizing blast".into()],
            &[],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("Agonizing Blast needs Eldritch Blast"),
            "{e}"
        );
        let e = choose("warlock", "Warlock", 2, &ok, &["devil's sight".into()], &eb).unwrap_err();
        assert!(
            e.to_string()
                .contains("has 2 Eldritch Invocations, and 3 were chosen"),
            "{e}"
        );
        let e = choose(
            "warlock",
            "Warlock",
            3,
            &[],
            &["thirsting blade".into()],
            &eb,
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a level 5"), "{e}");
        let e = choose(
            "warlock",
            "Warlock",
            5,
            &[],
            &["thirsting blade".into()],
            &eb,
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs Pact of the Blade"), "{e}");
        choose(
            "warlock",
            "Warlock",
            5,
            &[],
            &["blade".into(), "thirsting blade".into()],
            &eb,
        )
        .unwrap();
        let e = choose(
            "sorcerer",
            "Sorcerer",
            3,
            &[],
            &["quickened".into(), "twinned".into(), "careful".into()],
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("has 2 Metamagic options"), "{e}");
        let e = choose("fighter", "Fighter", 3, &[], &["quickened".into()], &[]).unwrap_err();
        assert!(e.to_string().contains("no class options"), "{e}");
        let e = choose(
            "sorcerer",
            "Sorcerer",
            3,
            &[],
            &["agonizing blast".into()],
            &[],
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("not one of a Sorcerer's Metamagic options"),
            "{e}"
        );
    }
}
