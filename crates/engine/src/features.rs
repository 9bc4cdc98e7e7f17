//! Class features (levels 1–20 of each SRD class and its SRD subclass) and racial
//! traits (SRD races and subraces): what each is, and whether the engine automates it
//! or leaves it to the narrator and the GM. [`coverage_report`] lists them; the
//! features' rules are in [`crate::rules::features`].
//!
//! Ability score improvements are not listed (level up asks for them at the class's
//! levels, see [`crate::rules::character`]).

use crate::condition::Condition;
use crate::creature::Creature;
use crate::data::DamageType;
use crate::event::RestKind;

/// Whether the engine applies a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automation {
    /// The engine applies it (numbers, uses, advantage).
    Automated,
    /// Told by the narrator / ruled by the GM; the engine changes nothing.
    Narrative,
}

use Automation::{Automated as A, Narrative as N};

/// A class feature or racial trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// Class or race index ("fighter", "hill-dwarf").
    pub owner: &'static str,
    /// The level it is gained at (1 for racial traits).
    pub level: u8,
    pub name: &'static str,
    pub automation: Automation,
    /// How it is automated, or why it is narrative.
    pub note: &'static str,
}

const fn f(
    owner: &'static str,
    level: u8,
    name: &'static str,
    automation: Automation,
    note: &'static str,
) -> Feature {
    Feature {
        owner,
        level,
        name,
        automation,
        note,
    }
}

/// Every SRD class feature, levels 1–20, with the SRD subclass of each class.
pub const CLASS_FEATURES: &[Feature] = &[
    // Barbarian (Path of the Berserker)
    f(
        "barbarian",
        1,
        "Rage",
        A,
        "`use rage` (bonus action): resistance to bludgeoning, piercing and slashing and +2/+3/+4 melee damage for 10 rounds; 2–6 uses a long rest",
    ),
    f(
        "barbarian",
        1,
        "Unarmored Defense",
        A,
        "AC 10 + Dex + Con without armour",
    ),
    f(
        "barbarian",
        2,
        "Reckless Attack",
        A,
        "`use reckless attack` before the turn's first attack: advantage on melee attacks this turn, attacks against the barbarian have advantage until its next turn",
    ),
    f(
        "barbarian",
        2,
        "Danger Sense",
        A,
        "advantage on Dexterity saves unless blinded, deafened or incapacitated",
    ),
    f(
        "barbarian",
        3,
        "Frenzy",
        N,
        "bonus-action attack while raging: narrated",
    ),
    f(
        "barbarian",
        5,
        "Extra Attack",
        A,
        "two attacks per Attack action",
    ),
    f(
        "barbarian",
        5,
        "Fast Movement",
        A,
        "+10 ft speed on the sheet",
    ),
    f(
        "barbarian",
        6,
        "Mindless Rage",
        A,
        "raging, the barbarian cannot be charmed or frightened (a charm or fear already on it is not suspended)",
    ),
    f(
        "barbarian",
        7,
        "Feral Instinct",
        A,
        "advantage on initiative (both d20s told); acting while surprised: there is no surprise",
    ),
    f(
        "barbarian",
        9,
        "Brutal Critical",
        A,
        "a melee weapon critical hit rolls one more weapon die (two at 13th, three at 17th), after the hit's own damage",
    ),
    f(
        "barbarian",
        10,
        "Intimidating Presence",
        A,
        "`use intimidating presence on NAME` (an action): a foe not far away makes a Wisdom save against 8 + proficiency + Cha or is frightened until the end of the barbarian's next turn (extending it is left to the GM)",
    ),
    f(
        "barbarian",
        11,
        "Relentless Rage",
        A,
        "dropped to 0 hit points while raging and not killed outright: a Constitution save, DC 10 and 5 more for each earlier try since the last rest, keeps it at 1 hit point",
    ),
    f(
        "barbarian",
        14,
        "Retaliation",
        N,
        "reaction attack: narrated",
    ),
    f(
        "barbarian",
        15,
        "Persistent Rage",
        A,
        "rage lasts its full minute: the engine never ends it early for a turn without an attack or damage (at any level: a lenient ruling)",
    ),
    f(
        "barbarian",
        18,
        "Indomitable Might",
        A,
        "a Strength check's total below the Strength score counts as the score",
    ),
    f(
        "barbarian",
        20,
        "Primal Champion",
        A,
        "Strength and Constitution +4 (to 24 at most) at 20th, on creation and level up",
    ),
    // Bard (College of Lore)
    f(
        "bard",
        1,
        "Spellcasting",
        A,
        "known spells, cantrips, slots",
    ),
    f(
        "bard",
        1,
        "Bardic Inspiration",
        A,
        "`use bardic inspiration on NAME` (bonus action, Cha modifier uses a long rest): a party member holds a d6 (d8 at 5th, d10 at 10th, d12 at 15th), added by itself to its next attack roll, check or save that falls short by no more than the die; one at a time, gone after a rest",
    ),
    f(
        "bard",
        2,
        "Jack of All Trades",
        A,
        "half proficiency on checks without proficiency",
    ),
    f(
        "bard",
        2,
        "Song of Rest",
        A,
        "a party member spending hit dice in a short rest regains a d6 more (d8 at 9th, d10 at 13th, d12 at 17th)",
    ),
    f(
        "bard",
        3,
        "Expertise",
        A,
        "two skills at 3rd, two more at 10th (creation and level up)",
    ),
    f("bard", 3, "Bonus Proficiencies", N, "narrated"),
    f(
        "bard",
        3,
        "Cutting Words",
        N,
        "a reaction that subtracts a Bardic Inspiration die from a foe's roll: no reaction window opens on a foe's roll yet",
    ),
    f(
        "bard",
        5,
        "Font of Inspiration",
        A,
        "Bardic Inspiration comes back on a short rest",
    ),
    f(
        "bard",
        6,
        "Countercharm",
        N,
        "allies' advantage on saves against charm and fear for a round: not automated yet",
    ),
    f(
        "bard",
        6,
        "Additional Magical Secrets",
        N,
        "spells from other lists are not offered yet",
    ),
    f(
        "bard",
        10,
        "Magical Secrets",
        N,
        "spells from other lists are not offered yet",
    ),
    f(
        "bard",
        14,
        "Peerless Skill",
        A,
        "a check of the bard's own that falls short by no more than its inspiration die spends a use of Bardic Inspiration on itself, by itself",
    ),
    f(
        "bard",
        20,
        "Superior Inspiration",
        A,
        "rolling initiative with no Bardic Inspiration left gives one use back",
    ),
    // Cleric (Life Domain)
    f(
        "cleric",
        1,
        "Spellcasting",
        A,
        "prepared spells (Wis + level), cantrips, slots",
    ),
    f(
        "cleric",
        1,
        "Bonus Proficiency",
        N,
        "heavy armour: the starting kit",
    ),
    f(
        "cleric",
        1,
        "Disciple of Life",
        A,
        "a healing spell of 1st level or higher heals 2 + the spell's level more",
    ),
    f(
        "cleric",
        2,
        "Channel Divinity",
        A,
        "1/2/3 uses a short rest: `use turn undead` (each undead foe not far away: Wis save against the spell DC or turned — frightened, no reactions — for a minute; damage ending it is left to the GM), `use preserve life` (5 × level hit points shared among the party members below half their maximum, none above half); `use channel divinity` spends a use for anything else (narrated)",
    ),
    f(
        "cleric",
        5,
        "Destroy Undead",
        A,
        "an undead failing its save against Turn Undead is destroyed at CR 1/2 (5th), 1 (8th), 2 (11th), 3 (14th), 4 (17th)",
    ),
    f(
        "cleric",
        6,
        "Blessed Healer",
        A,
        "a healing spell of 1st level or higher that heals another creature heals the cleric 2 + the spell's level, once a casting",
    ),
    f(
        "cleric",
        8,
        "Divine Strike",
        A,
        "once on each of the cleric's turns, a weapon hit deals 1d8 radiant more (2d8 from 14th)",
    ),
    f("cleric", 10, "Divine Intervention", N, "narrated"),
    f(
        "cleric",
        17,
        "Supreme Healing",
        A,
        "a healing spell's dice heal their highest total instead of being rolled",
    ),
    // Druid (Circle of the Land)
    f("druid", 1, "Druidic", N, "a language"),
    f(
        "druid",
        1,
        "Spellcasting",
        A,
        "prepared spells (Wis + level), cantrips, slots",
    ),
    f(
        "druid",
        2,
        "Wild Shape",
        A,
        "`use wild shape BEAST` (an action, two a short rest): an SRD beast of CR 1/4 (1/2 at 4th, 1 at 8th): its hit points as a pool over the druid's, its AC, Str/Dex/Con, speed and attacks (two with Multiattack); no spells; at 0 the rest carries over; `use wild shape` again (a bonus action) or a rest returns; flying/swimming limits, the beast's resistances and senses are not modelled",
    ),
    f(
        "druid",
        2,
        "Bonus Cantrip",
        N,
        "choose it among the cantrips at creation",
    ),
    f(
        "druid",
        2,
        "Natural Recovery",
        A,
        "`use natural recovery [MAX LEVEL]` out of a fight, once a long rest: expended slots (5th or lower) adding up to half the druid level (rounded up) come back, the highest first",
    ),
    f("druid", 3, "Circle Spells", N, "not added automatically"),
    f("druid", 6, "Land's Stride", N, "no terrain"),
    f(
        "druid",
        10,
        "Nature's Ward",
        A,
        "immune to poison damage and the poisoned condition; the fey and elemental part is narrated",
    ),
    f("druid", 14, "Nature's Sanctuary", N, "narrated"),
    f("druid", 18, "Timeless Body", N, "narrated"),
    f("druid", 18, "Beast Spells", N, "narrated"),
    f(
        "druid",
        20,
        "Archdruid",
        A,
        "Wild Shape without limit (the spell components part is narrated)",
    ),
    // Fighter (Champion)
    f(
        "fighter",
        1,
        "Fighting Style",
        A,
        "chosen at creation or on a level up (`style NAME`): Archery +2 to hit with ranged weapons, Defense +1 AC in armour, Dueling +2 damage with one-handed melee weapons, Great Weapon Fighting rerolls 1s and 2s of two-handed and versatile weapons' damage dice; Protection and Two-Weapon Fighting narrated",
    ),
    f(
        "fighter",
        1,
        "Second Wind",
        A,
        "`use second wind` (bonus action): 1d10 + level hit points, once a short rest",
    ),
    f(
        "fighter",
        2,
        "Action Surge",
        A,
        "`use action surge`: one more action this turn, once a short rest (twice from 17th)",
    ),
    f(
        "fighter",
        3,
        "Improved Critical",
        A,
        "critical hits on 19–20",
    ),
    f(
        "fighter",
        5,
        "Extra Attack",
        A,
        "two attacks per Attack action",
    ),
    f(
        "fighter",
        7,
        "Remarkable Athlete",
        A,
        "half proficiency (rounded up) on Str, Dex and Con checks without proficiency",
    ),
    f(
        "fighter",
        9,
        "Indomitable",
        A,
        "a failed save is rolled again by itself (the new roll used): once a long rest, twice from 13th, three times from 17th",
    ),
    f(
        "fighter",
        10,
        "Additional Fighting Style",
        N,
        "not chosen yet",
    ),
    f(
        "fighter",
        11,
        "Extra Attack (2)",
        A,
        "three attacks per Attack action",
    ),
    f(
        "fighter",
        15,
        "Superior Critical",
        A,
        "critical hits on 18–20",
    ),
    f(
        "fighter",
        18,
        "Survivor",
        A,
        "at the start of its turn, with hit points left but no more than half its maximum, the fighter regains 5 + Con modifier",
    ),
    f(
        "fighter",
        20,
        "Extra Attack (3)",
        A,
        "four attacks per Attack action",
    ),
    // Monk (Way of the Open Hand)
    f(
        "monk",
        1,
        "Unarmored Defense",
        A,
        "AC 10 + Dex + Wis without armour",
    ),
    f(
        "monk",
        1,
        "Martial Arts",
        A,
        "unarmed strikes with the Martial Arts die (d4..d10) and Str or Dex; `use martial arts [on NAME]`: one unarmed strike as a bonus action after the Attack action",
    ),
    f(
        "monk",
        2,
        "Ki",
        A,
        "ki points (the monk's level) back on a short rest, spent by Flurry of Blows, Patient Defense and Step of the Wind (Stunning Strike and the other ki uses are narrated)",
    ),
    f(
        "monk",
        2,
        "Flurry of Blows",
        A,
        "`use flurry of blows [on TARGET]` after the Attack action (1 ki, bonus action): two unarmed strikes (Martial Arts die + Str/Dex) at the named foe or the one last hit; ends the Attack action",
    ),
    f(
        "monk",
        2,
        "Patient Defense",
        A,
        "`use patient defense` (1 ki): the Dodge action as a bonus action",
    ),
    f(
        "monk",
        2,
        "Step of the Wind",
        A,
        "`use step of the wind [dash|disengage]` (1 ki): Dash (or Disengage) as a bonus action",
    ),
    f(
        "monk",
        2,
        "Unarmored Movement",
        A,
        "+10 to +30 ft speed on the sheet",
    ),
    f("monk", 3, "Open Hand Technique", N, "narrated"),
    f(
        "monk",
        3,
        "Deflect Missiles",
        N,
        "a reaction against a ranged weapon hit: not offered in the reaction window yet",
    ),
    f("monk", 4, "Slow Fall", N, "no falling in the engine"),
    f(
        "monk",
        5,
        "Extra Attack",
        A,
        "two attacks per Attack action",
    ),
    f(
        "monk",
        5,
        "Stunning Strike",
        A,
        "`use stunning strike` after a melee hit this turn (1 ki): Constitution save against 8 + proficiency + Wis or stunned until the end of the monk's next turn (concentration ends); one try a hit",
    ),
    f("monk", 6, "Ki-Empowered Strikes", N, "narrated"),
    f(
        "monk",
        6,
        "Wholeness of Body",
        A,
        "`use wholeness of body` (an action, once a long rest): three times the monk level in hit points",
    ),
    f(
        "monk",
        7,
        "Evasion",
        A,
        "a Dexterity save for half damage from a spell, rider, monster area action (breath weapons) or a dragonborn's breath: none on a success, half on a failure",
    ),
    f("monk", 7, "Stillness of Mind", N, "narrated"),
    f(
        "monk",
        10,
        "Purity of Body",
        A,
        "immune to poison damage and the poisoned condition",
    ),
    f("monk", 11, "Tranquility", N, "narrated"),
    f("monk", 13, "Tongue of the Sun and Moon", N, "narrated"),
    f(
        "monk",
        14,
        "Diamond Soul",
        A,
        "proficiency in every save (the ki reroll is narrated)",
    ),
    f("monk", 15, "Timeless Body", N, "narrated"),
    f("monk", 17, "Quivering Palm", N, "narrated"),
    f(
        "monk",
        18,
        "Empty Body",
        N,
        "invisibility and resistance for 4 ki: not automated yet",
    ),
    f("monk", 20, "Perfect Self", N, "narrated"),
    // Paladin (Oath of Devotion)
    f("paladin", 1, "Divine Sense", N, "narrated"),
    f(
        "paladin",
        1,
        "Lay on Hands",
        A,
        "`use lay on hands [N] [on TARGET]` (action): heals from a pool of 5 × level hit points a long rest; curing disease and poison is narrated",
    ),
    f(
        "paladin",
        2,
        "Fighting Style",
        A,
        "chosen at creation or on a level up (`style NAME`): Archery +2 to hit with ranged weapons, Defense +1 AC in armour, Dueling +2 damage with one-handed melee weapons, Great Weapon Fighting rerolls 1s and 2s of two-handed and versatile weapons' damage dice; Protection and Two-Weapon Fighting narrated",
    ),
    f(
        "paladin",
        2,
        "Spellcasting",
        A,
        "prepared spells (Cha + half the level), slots",
    ),
    f(
        "paladin",
        2,
        "Divine Smite",
        A,
        "`use divine smite [SLOT]` after a melee weapon hit this turn: a slot (the lowest left, or the level named) adds 2d8 radiant +1d8 a level above 1st (5d8 at most), +1d8 on undead and fiends, doubled on a critical hit; one smite a hit; a target the hit dropped keeps the slot",
    ),
    f("paladin", 3, "Divine Health", N, "narrated"),
    f(
        "paladin",
        3,
        "Sacred Weapon",
        A,
        "`use sacred weapon` (Channel Divinity, an action): +Cha modifier (at least +1) to weapon attack rolls for a minute; the light is narrated",
    ),
    f(
        "paladin",
        3,
        "Turn the Unholy",
        A,
        "`use turn the unholy` (Channel Divinity, an action): each fiend or undead foe not far away makes a Wisdom save against the spell DC or is turned (frightened, no reactions) for a minute",
    ),
    f(
        "paladin",
        5,
        "Extra Attack",
        A,
        "two attacks per Attack action",
    ),
    f(
        "paladin",
        6,
        "Aura of Protection",
        A,
        "+Cha modifier (at least +1) to the saves of the conscious paladin and, in a fight, of allies engaged with a creature the paladin is engaged with (out of a fight: the party); the largest aura counts",
    ),
    f(
        "paladin",
        7,
        "Aura of Devotion",
        A,
        "the paladin cannot be charmed; allies within 10 feet: no distances that fine",
    ),
    f(
        "paladin",
        10,
        "Aura of Courage",
        A,
        "the paladin cannot be frightened; allies nearby: no distances",
    ),
    f(
        "paladin",
        11,
        "Improved Divine Smite",
        A,
        "every melee weapon hit deals 1d8 radiant more",
    ),
    f(
        "paladin",
        14,
        "Cleansing Touch",
        N,
        "ending a spell on a creature: not automated yet",
    ),
    f("paladin", 15, "Purity of Spirit", N, "narrated"),
    f("paladin", 20, "Holy Nimbus", N, "narrated"),
    // Ranger (Hunter)
    f(
        "ranger",
        1,
        "Favored Enemy",
        N,
        "advantage on Survival checks to track and Intelligence checks to recall lore about the chosen enemies: checks carry no subject, so the GM rules it; the languages are narrated",
    ),
    f(
        "ranger",
        1,
        "Natural Explorer",
        N,
        "travel, foraging and tracking in the chosen terrain: no overland travel or terrain in the engine",
    ),
    f(
        "ranger",
        2,
        "Fighting Style",
        A,
        "chosen at creation or on a level up (`style NAME`): Archery +2 to hit with ranged weapons, Defense +1 AC in armour, Dueling +2 damage with one-handed melee weapons, Great Weapon Fighting rerolls 1s and 2s of two-handed and versatile weapons' damage dice; Protection and Two-Weapon Fighting narrated",
    ),
    f("ranger", 2, "Spellcasting", A, "known spells, slots"),
    f(
        "ranger",
        3,
        "Hunter's Prey",
        N,
        "a choice among Colossus Slayer, Giant Killer and Horde Breaker: not chosen yet (narrated)",
    ),
    f("ranger", 3, "Primeval Awareness", N, "narrated"),
    f(
        "ranger",
        5,
        "Extra Attack",
        A,
        "two attacks per Attack action",
    ),
    f("ranger", 7, "Defensive Tactics", N, "narrated"),
    f("ranger", 8, "Land's Stride", N, "no terrain"),
    f("ranger", 10, "Hide in Plain Sight", N, "narrated"),
    f("ranger", 11, "Multiattack", N, "narrated"),
    f("ranger", 14, "Vanish", N, "narrated"),
    f("ranger", 15, "Superior Hunter's Defense", N, "narrated"),
    f("ranger", 18, "Feral Senses", N, "narrated"),
    f("ranger", 20, "Foe Slayer", N, "narrated"),
    // Rogue (Thief)
    f(
        "rogue",
        1,
        "Expertise",
        A,
        "two skills at 1st, two more at 6th (creation and level up)",
    ),
    f(
        "rogue",
        1,
        "Sneak Attack",
        A,
        "once per turn, a finesse or ranged weapon hit with advantage, or while another party member is standing in the fight: +1d6 per two levels",
    ),
    f(
        "rogue",
        1,
        "Thieves' Cant",
        N,
        "a secret language: no mechanical effect the engine models",
    ),
    f(
        "rogue",
        2,
        "Cunning Action",
        A,
        "`use cunning action dash|disengage|hide`: the action as a bonus action",
    ),
    f("rogue", 3, "Fast Hands", N, "narrated"),
    f("rogue", 3, "Second-Story Work", N, "narrated"),
    f(
        "rogue",
        5,
        "Uncanny Dodge",
        A,
        "a monster's hit opens a reaction window (like Shield): `react use` halves the damage",
    ),
    f(
        "rogue",
        7,
        "Evasion",
        A,
        "a Dexterity save for half damage from a spell, rider, monster area action (breath weapons) or a dragonborn's breath: none on a success, half on a failure",
    ),
    f("rogue", 9, "Supreme Sneak", N, "narrated"),
    f(
        "rogue",
        11,
        "Reliable Talent",
        A,
        "a d20 under 10 on a proficient skill check counts as 10",
    ),
    f("rogue", 13, "Use Magic Device", N, "narrated"),
    f("rogue", 14, "Blindsense", N, "narrated"),
    f(
        "rogue",
        15,
        "Slippery Mind",
        A,
        "proficiency in Wisdom saves",
    ),
    f("rogue", 17, "Thief's Reflexes", N, "narrated"),
    f(
        "rogue",
        18,
        "Elusive",
        A,
        "no attack roll has advantage against the rogue while it is not incapacitated",
    ),
    f(
        "rogue",
        20,
        "Stroke of Luck",
        N,
        "turning a miss into a hit or a check into a 20 is the player's choice after the roll: not offered yet",
    ),
    // Sorcerer (Draconic Bloodline)
    f(
        "sorcerer",
        1,
        "Spellcasting",
        A,
        "known spells, cantrips, slots",
    ),
    f("sorcerer", 1, "Dragon Ancestor", N, "narrated"),
    f(
        "sorcerer",
        1,
        "Draconic Resilience",
        A,
        "+1 hit point a level; AC 13 + Dex without armour (creation and level up)",
    ),
    f(
        "sorcerer",
        2,
        "Font of Magic",
        A,
        "sorcery points (the level, back on a long rest); `use font of magic slot N` (2/3/5/6/7 points into an expended 1st–5th level slot) or `use font of magic points N` (a level N slot into N points), a bonus action in a fight",
    ),
    f(
        "sorcerer",
        3,
        "Metamagic",
        A,
        "chosen at creation and level up (options: 2 at 3rd, 3 at 10th, 4 at 17th), named among a cast's words (`cast fire bolt at goblin, quickened`): Quickened, Twinned, Careful, Empowered, Heightened automated; Distant, Extended, Subtle spend their point and are narrated",
    ),
    f(
        "sorcerer",
        6,
        "Elemental Affinity",
        N,
        "the dragon ancestor's damage type is not chosen for sorcerers yet",
    ),
    f("sorcerer", 14, "Dragon Wings", N, "narrated"),
    f("sorcerer", 18, "Draconic Presence", N, "narrated"),
    f(
        "sorcerer",
        20,
        "Sorcerous Restoration",
        A,
        "a short rest gives 4 sorcery points back",
    ),
    // Warlock (The Fiend)
    f(
        "warlock",
        1,
        "Pact Magic",
        A,
        "known spells, pact slots back on a short rest",
    ),
    f(
        "warlock",
        1,
        "Dark One's Blessing",
        A,
        "reducing a hostile creature to 0 hit points gives Cha modifier + warlock level temporary hit points",
    ),
    f(
        "warlock",
        2,
        "Eldritch Invocations",
        A,
        "chosen at creation and level up with their prerequisites (2 at 2nd … 8 at 18th): Agonizing Blast, Repelling Blast, Beguiling Influence, Thirsting Blade and the at-will spells (Armor of Shadows, Fiendish Vigor, Mask of Many Faces…) automated; the others narrated",
    ),
    f(
        "warlock",
        3,
        "Pact Boon",
        N,
        "chosen at creation and level up (a prerequisite of invocations); the familiar, pact weapon and Book of Shadows are narrated (the book's cantrips are not added yet)",
    ),
    f(
        "warlock",
        6,
        "Dark One's Own Luck",
        A,
        "once a short rest, a d10 added by itself to a check or save that falls short by 10 or less (after a Bardic Inspiration die)",
    ),
    f("warlock", 10, "Fiendish Resilience", N, "narrated"),
    f(
        "warlock",
        11,
        "Mystic Arcanum",
        N,
        "one 6th–9th level spell a long rest: spells above 5th are not chosen for warlocks yet",
    ),
    f(
        "warlock",
        14,
        "Hurl Through Hell",
        A,
        "`use hurl through hell` after a hit this turn, once a long rest: 10d10 psychic to a creature that is not a fiend (the trip itself is narrated)",
    ),
    f("warlock", 20, "Eldritch Master", N, "narrated"),
    // Wizard (School of Evocation)
    f(
        "wizard",
        1,
        "Spellcasting",
        A,
        "spellbook, prepared spells (Int + level), cantrips, slots",
    ),
    f(
        "wizard",
        1,
        "Arcane Recovery",
        A,
        "`use arcane recovery [MAX LEVEL]` out of a fight, once a long rest: expended slots (5th or lower) adding up to half the wizard level (rounded up) come back, the highest first",
    ),
    f("wizard", 2, "Evocation Savant", N, "narrated"),
    f(
        "wizard",
        2,
        "Sculpt Spells",
        A,
        "allies in the wizard's own evocation area spell (1 + the spell's level of them, caught or named) succeed on its save and take nothing",
    ),
    f(
        "wizard",
        6,
        "Potent Cantrip",
        A,
        "a creature that succeeds on the save of the wizard's damaging cantrip takes half its damage, nothing else",
    ),
    f(
        "wizard",
        10,
        "Empowered Evocation",
        A,
        "the Intelligence modifier added to one damage roll of the wizard's evocation spells (the first)",
    ),
    f("wizard", 14, "Overchannel", N, "narrated"),
    f("wizard", 18, "Spell Mastery", N, "narrated"),
    f("wizard", 20, "Signature Spells", N, "narrated"),
];

/// Every SRD racial trait (the SRD subrace of each race listed under its own index).
pub const RACIAL_TRAITS: &[Feature] = &[
    f("dwarf", 1, "Darkvision", N, "narrated"),
    f(
        "dwarf",
        1,
        "Dwarven Resilience",
        A,
        "poison resistance; advantage on saves against being poisoned or poison damage from spells and riders",
    ),
    f("dwarf", 1, "Dwarven Combat Training", N, "narrated"),
    f("dwarf", 1, "Stonecunning", N, "narrated"),
    f("hill-dwarf", 1, "Ability Score Increase", A, "Wisdom +1"),
    f(
        "hill-dwarf",
        1,
        "Dwarven Toughness",
        A,
        "+1 hit point per level",
    ),
    f("elf", 1, "Darkvision", N, "narrated"),
    f("elf", 1, "Keen Senses", N, "narrated"),
    f(
        "elf",
        1,
        "Fey Ancestry",
        A,
        "advantage on saves against being charmed",
    ),
    f(
        "elf",
        1,
        "Trance",
        N,
        "four hours of meditation instead of sleep: rests are not timed",
    ),
    f(
        "high-elf",
        1,
        "Ability Score Increase",
        A,
        "Intelligence +1",
    ),
    f(
        "high-elf",
        1,
        "Cantrip",
        N,
        "the extra wizard cantrip is narrated",
    ),
    f("high-elf", 1, "Extra Language", N, "narrated"),
    f(
        "halfling",
        1,
        "Lucky",
        A,
        "a 1 on an attack roll, check or save is rerolled",
    ),
    f(
        "halfling",
        1,
        "Brave",
        A,
        "advantage on saves against being frightened",
    ),
    f("halfling", 1, "Halfling Nimbleness", N, "no positions"),
    f(
        "lightfoot-halfling",
        1,
        "Ability Score Increase",
        A,
        "Charisma +1",
    ),
    f(
        "lightfoot-halfling",
        1,
        "Naturally Stealthy",
        N,
        "hiding narrated",
    ),
    f("human", 1, "Ability Score Increase", A, "+1 to every score"),
    f(
        "dragonborn",
        1,
        "Draconic Ancestry",
        A,
        "chosen at creation (ancestry: the damage type)",
    ),
    f(
        "dragonborn",
        1,
        "Breath Weapon",
        A,
        "`use breath weapon on TARGET` (action, once a short rest): 2d6 of the ancestry's type (3d6 at 6th, 4d6 at 11th, 5d6 at 16th) to the target and everyone engaged with it, Dex save (Con for cold and poison) DC 8 + Con + proficiency, half on a success",
    ),
    f(
        "dragonborn",
        1,
        "Damage Resistance",
        A,
        "resistance to the ancestry's damage type",
    ),
    f("gnome", 1, "Darkvision", N, "narrated"),
    f(
        "gnome",
        1,
        "Gnome Cunning",
        A,
        "advantage on Intelligence, Wisdom and Charisma saves against spells (monsters' spells too; other magic is not told apart)",
    ),
    f(
        "rock-gnome",
        1,
        "Ability Score Increase",
        A,
        "Constitution +1",
    ),
    f("rock-gnome", 1, "Artificer's Lore", N, "narrated"),
    f("rock-gnome", 1, "Tinker", N, "narrated"),
    f("half-elf", 1, "Darkvision", N, "narrated"),
    f(
        "half-elf",
        1,
        "Fey Ancestry",
        A,
        "advantage on saves against being charmed",
    ),
    f("half-elf", 1, "Skill Versatility", N, "narrated"),
    f("half-orc", 1, "Darkvision", N, "narrated"),
    f("half-orc", 1, "Menacing", N, "narrated"),
    f(
        "half-orc",
        1,
        "Relentless Endurance",
        A,
        "dropped to 0 but not killed: 1 hit point instead, once a long rest",
    ),
    f(
        "half-orc",
        1,
        "Savage Attacks",
        A,
        "a melee weapon critical hit rolls one more weapon die",
    ),
    f("tiefling", 1, "Darkvision", N, "narrated"),
    f("tiefling", 1, "Hellish Resistance", A, "fire resistance"),
    f(
        "tiefling",
        1,
        "Infernal Legacy",
        N,
        "Thaumaturgy, Hellish Rebuke and Darkness as racial spells: not added to the sheet yet",
    ),
];

/// An SRD subrace: its race, the ability bonus it adds, and extra hit points a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subrace {
    pub index: &'static str,
    pub name: &'static str,
    pub race: &'static str,
    pub bonus: (crate::ability::Ability, i32),
    pub hp_per_level: i32,
}

/// The four SRD subraces.
pub const SUBRACES: &[Subrace] = &[
    Subrace {
        index: "hill-dwarf",
        name: "Hill Dwarf",
        race: "dwarf",
        bonus: (crate::ability::Ability::Wis, 1),
        hp_per_level: 1,
    },
    Subrace {
        index: "high-elf",
        name: "High Elf",
        race: "elf",
        bonus: (crate::ability::Ability::Int, 1),
        hp_per_level: 0,
    },
    Subrace {
        index: "lightfoot-halfling",
        name: "Lightfoot Halfling",
        race: "halfling",
        bonus: (crate::ability::Ability::Cha, 1),
        hp_per_level: 0,
    },
    Subrace {
        index: "rock-gnome",
        name: "Rock Gnome",
        race: "gnome",
        bonus: (crate::ability::Ability::Con, 1),
        hp_per_level: 0,
    },
];

/// A subrace by name ("hill dwarf", "hill-dwarf", "Hill").
pub fn subrace(race: &str, name: &str) -> Option<&'static Subrace> {
    let want = crate::data::to_index(name);
    SUBRACES
        .iter()
        .find(|s| s.race == race && (s.index == want || s.index.starts_with(&format!("{want}-"))))
}

/// A class's features up to a level.
pub fn class_features(class: &str, level: u8) -> impl Iterator<Item = &'static Feature> + '_ {
    CLASS_FEATURES
        .iter()
        .filter(move |f| f.owner == class && f.level <= level)
}

/// Features with limited uses: how many a creature has, and which rest brings them
/// back. `None`: not a limited feature (or not the creature's).
pub fn uses(c: &Creature, feature: &str) -> Option<(u32, RestKind)> {
    let pc = c.pc.as_ref()?;
    let l = pc.level;
    match (pc.class.as_str(), feature) {
        ("fighter", "second-wind") => Some((1, RestKind::Short)),
        ("fighter", "action-surge") if l >= 2 => {
            Some((if l >= 17 { 2 } else { 1 }, RestKind::Short))
        }
        ("barbarian", "rage") => Some((
            match l {
                1..=2 => 2,
                3..=5 => 3,
                6..=11 => 4,
                12..=16 => 5,
                17..=19 => 6,
                _ => 99,
            },
            RestKind::Long,
        )),
        (_, "relentless-endurance") if pc.race == "half-orc" => Some((1, RestKind::Long)),
        // Archdruid (20th): Wild Shape without limit.
        ("druid", "wild-shape") if l >= 20 => Some((99, RestKind::Short)),
        ("druid", "wild-shape") if l >= 2 => Some((2, RestKind::Short)),
        ("cleric", "channel-divinity") if l >= 2 => Some((
            match l {
                2..=5 => 1,
                6..=17 => 2,
                _ => 3,
            },
            RestKind::Short,
        )),
        ("paladin", "channel-divinity") if l >= 3 => Some((1, RestKind::Short)),
        ("bard", "bardic-inspiration") => Some((
            crate::ability::modifier(c.abilities.cha).max(1) as u32,
            if l >= 5 {
                RestKind::Short
            } else {
                RestKind::Long
            },
        )),
        // A pool of hit points: five per paladin level.
        ("paladin", "lay-on-hands") => Some((5 * u32::from(l), RestKind::Long)),
        // Ki points: the monk's level, back on a short rest.
        ("monk", "ki") if l >= 2 => Some((u32::from(l), RestKind::Short)),
        (_, "breath-weapon") if pc.race == "dragonborn" => Some((1, RestKind::Short)),
        ("wizard", "arcane-recovery") => Some((1, RestKind::Long)),
        ("druid", "natural-recovery") if l >= 2 => Some((1, RestKind::Long)),
        ("monk", "wholeness-of-body") if l >= 6 => Some((1, RestKind::Long)),
        ("warlock", "hurl-through-hell") if l >= 14 => Some((1, RestKind::Long)),
        ("warlock", "dark-ones-own-luck") if l >= 6 => Some((1, RestKind::Short)),
        ("fighter", "indomitable") if l >= 9 => Some((
            match l {
                9..=12 => 1,
                13..=16 => 2,
                _ => 3,
            },
            RestKind::Long,
        )),
        // Sorcery points: the sorcerer's level from 2nd, back on a long rest.
        ("sorcerer", "sorcery-points") if l >= 2 => Some((u32::from(l), RestKind::Long)),
        _ => None,
    }
}

/// The bard named in an `inspired` event's note ("holds a d8 from Lira": "Lira"), the
/// giver of the die, at most 64 characters.
pub fn inspiration_giver(note: &str) -> Option<String> {
    let (_, name) = note.split_once(" from ")?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.chars().take(64).collect())
}

/// The pool a feature's uses come from: the ki features spend ki.
pub fn pool_of(feature: &str) -> &str {
    match feature {
        "flurry-of-blows" | "patient-defense" | "step-of-the-wind" | "stunning-strike" => "ki",
        "turn-undead" | "preserve-life" | "sacred-weapon" | "turn-the-unholy" => "channel-divinity",
        "font-of-magic" | "metamagic" => "sorcery-points",
        "peerless-skill" => "bardic-inspiration",
        f => f,
    }
}

/// The monk's Martial Arts die at a level.
pub fn martial_arts_die(level: u8) -> u8 {
    match level {
        0..=4 => 4,
        5..=10 => 6,
        11..=16 => 8,
        _ => 10,
    }
}

/// A dragonborn's Breath Weapon damage dice at a character level: 2d6, 3d6 at 6th,
/// 4d6 at 11th, 5d6 at 16th.
pub fn breath_dice(level: u8) -> u8 {
    match level {
        0..=5 => 2,
        6..=10 => 3,
        11..=15 => 4,
        _ => 5,
    }
}

/// Which rest brings a limited feature back, for a class and level (`apply` reads it
/// from the creature's own sheet).
pub fn recharge(class: &str, level: u8, feature: &str) -> Option<RestKind> {
    match feature {
        "second-wind" | "action-surge" | "wild-shape" | "channel-divinity" | "ki"
        | "breath-weapon" | "dark-ones-own-luck" | "relentless-rage" => Some(RestKind::Short),
        "bardic-inspiration" if class == "bard" && level >= 5 => Some(RestKind::Short),
        "bardic-inspiration"
        | "rage"
        | "relentless-endurance"
        | "lay-on-hands"
        | "arcane-recovery"
        | "natural-recovery"
        | "wholeness-of-body"
        | "hurl-through-hell"
        | "sorcery-points"
        | "indomitable" => Some(RestKind::Long),
        _ => None,
    }
}

/// Rage's damage bonus at a barbarian level.
pub fn rage_damage(level: u8) -> i32 {
    match level {
        0..=8 => 2,
        9..=15 => 3,
        _ => 4,
    }
}

/// The lowest d20 that is a critical hit for a creature's attacks (Champion: 19, 18).
pub fn crit_min(c: &Creature) -> u32 {
    match c.pc.as_ref() {
        Some(p) if p.class == "fighter" && p.level >= 15 => 18,
        Some(p) if p.class == "fighter" && p.level >= 3 => 19,
        _ => 20,
    }
}

/// Racial advantage on a save against what a failed save does: Brave (frightened),
/// Fey Ancestry (charmed), Dwarven Resilience (poisoned, poison damage).
pub fn save_advantage_against(c: &Creature, conditions: &[Condition], poison_damage: bool) -> bool {
    let Some(pc) = c.pc.as_ref() else {
        return false;
    };
    match pc.race.as_str() {
        "halfling" => conditions.contains(&Condition::Frightened),
        "elf" | "half-elf" => conditions.contains(&Condition::Charmed),
        "dwarf" => conditions.contains(&Condition::Poisoned) || poison_damage,
        _ => false,
    }
}

/// Gnome Cunning: advantage on Intelligence, Wisdom and Charisma saves against magic.
pub fn gnome_cunning(c: &Creature, ability: crate::ability::Ability) -> bool {
    use crate::ability::Ability;
    c.pc.as_ref().is_some_and(|p| p.race == "gnome")
        && matches!(ability, Ability::Int | Ability::Wis | Ability::Cha)
}

/// Halfling Lucky: a natural 1 on an attack roll, check or save is rerolled.
pub fn is_lucky(c: &Creature) -> bool {
    c.pc.as_ref().is_some_and(|p| p.race == "halfling")
}

/// A dragonborn's ancestry by name or damage type: "red", "fire" -> Fire.
pub fn ancestry(name: &str) -> Option<DamageType> {
    use DamageType::*;
    Some(match crate::data::to_index(name).as_str() {
        "black" | "copper" | "acid" => Acid,
        "blue" | "bronze" | "lightning" => Lightning,
        "brass" | "gold" | "red" | "fire" => Fire,
        "green" | "poison" => Poison,
        "silver" | "white" | "cold" => Cold,
        _ => return None,
    })
}

/// The feature coverage report: per class and race, the features automated and
/// narrative, then each feature with its note.
pub fn coverage_report() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut owners: Vec<&str> = Vec::new();
    for f in CLASS_FEATURES.iter().chain(RACIAL_TRAITS) {
        if !owners.contains(&f.owner) {
            owners.push(f.owner);
        }
    }
    let (mut ta, mut tn) = (0, 0);
    for o in &owners {
        let all: Vec<&Feature> = CLASS_FEATURES
            .iter()
            .chain(RACIAL_TRAITS)
            .filter(|f| f.owner == *o)
            .collect();
        let a = all.iter().filter(|f| f.automation == A).count();
        let n = all.len() - a;
        ta += a;
        tn += n;
        let _ = writeln!(out, "{o}: {a} automated, {n} narrative");
    }
    let _ = writeln!(out, "total: {ta} automated, {tn} narrative");
    out
}

/// Each feature on one line (for the coverage test's listing).
pub fn coverage_lines() -> Vec<String> {
    CLASS_FEATURES
        .iter()
        .chain(RACIAL_TRAITS)
        .map(|f| {
            let kind = match f.automation {
                A => "automated",
                N => "narrative",
            };
            format!("{} {} {}: {kind} — {}", f.owner, f.level, f.name, f.note)
        })
        .collect()
}

/// What a class's levels add to the sheet itself, applied at creation and on each level
/// up (idempotent): Fast Movement and Unarmored Movement (speed), Purity of Body and
/// Nature's Ward (poison immunity), Aura of Courage (the paladin's own fear immunity),
/// Slippery Mind (Wisdom saves), Diamond Soul (every save). `base_speed`: the race's.
pub fn apply_level_features(c: &mut Creature, base_speed: u32) {
    use crate::ability::Ability;
    let Some(pc) = c.pc.as_ref() else { return };
    let (class, l) = (pc.class.clone(), pc.level);
    let bonus = match class.as_str() {
        "barbarian" if l >= 5 => 10,
        "monk" if l >= 18 => 30,
        "monk" if l >= 14 => 25,
        "monk" if l >= 10 => 20,
        "monk" if l >= 6 => 15,
        "monk" if l >= 2 => 10,
        _ => 0,
    };
    c.speed = base_speed + bonus;
    if matches!(class.as_str(), "monk" | "druid") && l >= 10 {
        c.immunities.insert(DamageType::Poison);
        c.condition_immunities.insert(Condition::Poisoned);
    }
    if class == "paladin" && l >= 10 {
        c.condition_immunities.insert(Condition::Frightened);
    }
    // Aura of Devotion (7th): the paladin itself cannot be charmed.
    if class == "paladin" && l >= 7 {
        c.condition_immunities.insert(Condition::Charmed);
    }
    if class == "rogue" && l >= 15 {
        c.save_proficiencies.insert(Ability::Wis);
    }
    if class == "monk" && l >= 14 {
        c.save_proficiencies.extend(Ability::ALL);
    }
}

/// Hit points a class adds at every level beyond its hit die: Draconic Resilience
/// (the draconic sorcerer: +1 a level; its 13 + Dex armour class is in
/// [`crate::character::kit_armor_class`]).
pub fn class_hp_per_level(class: &str) -> i32 {
    i32::from(class == "sorcerer")
}

/// Primal Champion (barbarian 20th): Strength and Constitution +4, to 24 at most.
pub fn primal_champion(class: &str, abilities: &mut crate::ability::Abilities) {
    if class == "barbarian" {
        abilities.str = (abilities.str + 4).min(24.max(abilities.str));
        abilities.con = (abilities.con + 4).min(24.max(abilities.con));
    }
}

/// A bonus to an ability check from class features: Jack of All Trades (bard 2nd: half
/// proficiency, rounded down, on checks without proficiency), Remarkable Athlete
/// (champion 7th: half proficiency, rounded up, on Strength, Dexterity and
/// Constitution checks without proficiency).
pub fn check_bonus(c: &Creature, ability: crate::ability::Ability, proficient: bool) -> i32 {
    use crate::ability::Ability;
    let Some(pc) = c.pc.as_ref() else { return 0 };
    if proficient {
        return 0;
    }
    match pc.class.as_str() {
        "bard" if pc.level >= 2 => c.proficiency_bonus / 2,
        "fighter"
            if pc.level >= 7 && matches!(ability, Ability::Str | Ability::Dex | Ability::Con) =>
        {
            (c.proficiency_bonus + 1) / 2
        }
        _ => 0,
    }
}

/// Reliable Talent (rogue 11th): a d20 under 10 on a proficient skill check counts as 10.
pub fn reliable_talent(c: &Creature) -> bool {
    c.pc.as_ref()
        .is_some_and(|p| p.class == "rogue" && p.level >= 11)
}

/// Danger Sense (barbarian 2nd): advantage on Dexterity saves while not blinded,
/// deafened or incapacitated (every Dex save is read as one against an effect it sees).
pub fn danger_sense(c: &Creature, ability: crate::ability::Ability) -> bool {
    ability == crate::ability::Ability::Dex
        && c.pc
            .as_ref()
            .is_some_and(|p| p.class == "barbarian" && p.level >= 2)
        && !c.has(Condition::Blinded)
        && !c.has(Condition::Deafened)
        && !c.conditions.keys().any(|k| k.incapacitates())
}

/// Elusive (rogue 18th): no attack roll has advantage against it while it is not
/// incapacitated.
pub fn elusive(c: &Creature) -> bool {
    c.pc.as_ref()
        .is_some_and(|p| p.class == "rogue" && p.level >= 18)
        && !c.conditions.keys().any(|k| k.incapacitates())
}

/// Feral Instinct (barbarian 7th): advantage on initiative.
pub fn feral_instinct(c: &Creature) -> bool {
    c.pc.as_ref()
        .is_some_and(|p| p.class == "barbarian" && p.level >= 7)
}

/// Uncanny Dodge (rogue 5th): the reaction that halves a hit's damage.
pub fn uncanny_dodge(c: &Creature) -> bool {
    c.pc.as_ref()
        .is_some_and(|p| p.class == "rogue" && p.level >= 5)
}

/// Evasion (rogue and monk 7th): a Dexterity save for half damage takes none on a
/// success and half on a failure.
pub fn evasion(c: &Creature) -> bool {
    c.pc.as_ref()
        .is_some_and(|p| matches!(p.class.as_str(), "rogue" | "monk") && p.level >= 7)
}

/// The SRD fighting styles, by index.
pub const FIGHTING_STYLES: &[&str] = &[
    "archery",
    "defense",
    "dueling",
    "great-weapon-fighting",
    "protection",
    "two-weapon-fighting",
];

/// The fighting styles a class may choose from, and the level it chooses one at.
pub fn fighting_styles_of(class: &str) -> Option<(u8, &'static [&'static str])> {
    match class {
        "fighter" => Some((1, FIGHTING_STYLES)),
        "paladin" => Some((
            2,
            &["defense", "dueling", "great-weapon-fighting", "protection"],
        )),
        "ranger" => Some((2, &["archery", "defense", "dueling", "two-weapon-fighting"])),
        _ => None,
    }
}

/// Checks a fighting style chosen by a class that has one at `level` (at creation, or
/// on a level up while none is chosen yet). Returns its index.
pub fn choose_fighting_style(
    class: &str,
    class_name: &str,
    level: u8,
    name: &str,
) -> Result<String, crate::error::RuleError> {
    use crate::error::RuleError;
    let want = crate::data::to_index(name).replace("defence", "defense");
    let Some((at, list)) = fighting_styles_of(class) else {
        return Err(RuleError::invalid(format!(
            "{class_name}s have no fighting style (fighters, paladins and rangers do)."
        )));
    };
    if level < at {
        return Err(RuleError::invalid(format!(
            "A {class_name} chooses a fighting style at level {at}."
        )));
    }
    list.iter()
        .find(|s| **s == want)
        .map(|s| s.to_string())
        .ok_or_else(|| {
            RuleError::invalid(format!(
                "\"{}\" is not a {class_name} fighting style (one of: {}).",
                crate::error::echo(name),
                list.iter()
                    .map(|s| s.replace('-', " "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// A fighting style's effect on freshly built weapon attacks (at creation and on each
/// level up, after they are rebuilt): Archery +2 to hit with ranged weapons, Dueling
/// +2 damage with one-handed melee weapons, Great Weapon Fighting rerolls 1s and 2s of
/// a two-handed or versatile melee weapon's damage dice (once). Defense is applied to
/// the armour class when chosen; Protection and Two-Weapon Fighting are narrated.
pub fn apply_fighting_style(c: &mut Creature, catalog: &crate::data::Catalog) {
    let Some(style) = c.pc.as_ref().and_then(|p| p.fighting_style.clone()) else {
        return;
    };
    for a in c.attacks.iter_mut() {
        let Some(w) = catalog.weapon(&crate::data::to_index(&a.name)) else {
            continue;
        };
        match style.as_str() {
            "archery" if a.reach == crate::data::Reach::Ranged => a.to_hit += 2,
            "dueling" if a.reach == crate::data::Reach::Melee && !w.has_property("two-handed") => {
                if let Some(d) = a.damage.first_mut() {
                    d.dice = format!("{}+2", d.dice);
                }
            }
            "great-weapon-fighting"
                if a.reach == crate::data::Reach::Melee
                    && (w.has_property("two-handed") || w.has_property("versatile")) =>
            {
                if let (Some(d), Some(base)) = (a.damage.first_mut(), w.damage.as_ref()) {
                    // "2d6+3" -> "2d6ro<3+3".
                    if let Some(rest) = d.dice.strip_prefix(base.dice.as_str()) {
                        d.dice = format!("{}ro<3{rest}", base.dice);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Defense: +1 AC while wearing armour (the class's starting armour).
pub fn defense_bonus(class: &crate::data::ClassData, catalog: &crate::data::Catalog) -> i32 {
    let armored = class
        .starting_armor
        .as_deref()
        .and_then(|a| catalog.armor(a))
        .is_some_and(|a| a.category != crate::data::ArmorCategory::Shield);
    i32::from(armored)
}

/// The highest challenge rating a druid's Wild Shape takes at a level (1/4 at 2nd, 1/2
/// at 4th, 1 at 8th).
pub fn wild_shape_max_cr(level: u8) -> f64 {
    match level {
        0..=3 => 0.25,
        4..=7 => 0.5,
        _ => 1.0,
    }
}

/// Wild Shape on the sheet: into `beast` (its hit points as a fresh pool, its armour
/// class, Strength, Dexterity and Constitution, speed and attacks — two with the
/// Attack action when it has Multiattack; the druid keeps its Intelligence, Wisdom,
/// Charisma, proficiencies and features), or back to the kept form (`None`).
pub fn wild_shape(c: &mut Creature, beast: Option<&crate::data::MonsterData>) {
    let Some(pc) = c.pc.as_mut() else { return };
    match beast {
        Some(m) => {
            if pc.wild_shape.is_some() {
                return;
            }
            pc.wild_shape = Some(Box::new(crate::creature::WildForm {
                beast: m.index.clone(),
                hp: c.hp,
                max_hp: c.max_hp,
                armor_class: c.armor_class,
                abilities: c.abilities,
                attacks: c.attacks.clone(),
                speed: c.speed,
                attacks_per_action: pc.attacks_per_action,
            }));
            pc.attacks_per_action = if m.multiattack.is_some() { 2 } else { 1 };
            let beast = Creature::from_monster(m, c.id, c.name.clone());
            c.hp = m.hit_points.clamp(1, 1_000);
            c.max_hp = c.hp;
            c.armor_class = m.armor_class.clamp(0, 40);
            c.abilities.str = m.abilities.str;
            c.abilities.dex = m.abilities.dex;
            c.abilities.con = m.abilities.con;
            c.speed = m.speed;
            c.attacks = beast.attacks;
        }
        None => {
            let Some(own) = pc.wild_shape.take() else {
                return;
            };
            pc.attacks_per_action = own.attacks_per_action;
            c.hp = own.hp;
            c.max_hp = own.max_hp;
            c.armor_class = own.armor_class;
            c.abilities = own.abilities;
            c.attacks = own.attacks;
            c.speed = own.speed;
        }
    }
}
