//! Data-driven rules scenarios: each `tests/scenarios/<name>.json` is a party, foes,
//! scripted dice and a list of commands; the rendered events and final state are
//! snapshot-tested (`tests/snapshots/rules_scenarios__<name>.snap`), and the harness in
//! `tests/common` checks the engine's invariants on every step (see there).
//!
//! To add a scenario: write the JSON file, add its name to the list below, run
//! `INSTA_UPDATE=always cargo test -p dicebard-engine --test rules_scenarios`, then read
//! the new snapshot and check every number against the 5e rules before committing.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                let out = common::run_file(stringify!($name));
                insta::assert_snapshot!(stringify!($name), out);
            }
        )*
    };
}

scenarios!(
    character_creation,
    combat_turns,
    turn_timer,
    npc_turns,
    table_and_visibility,
    targeting,
    spells_cantrips,
    magic_missile,
    area_spells,
    shield_reaction,
    bonus_action_spells,
    concentration,
    rests,
    death_saves,
    conditions_attacks,
    attack_rolls,
    damage_types,
    temp_hp,
    healing,
    checks_and_saves,
    smoke,
    dice_d20,
    spell_scaling,
    spell_effects,
    monster_actions,
    frightful_presence,
    save_riders,
    spell_choice,
    level_up,
    class_features,
    positions,
    reactions,
    multiattack_targets,
    monster_spells,
    opportunity_timeout,
    spell_primitives,
    spell_boons,
    haste_slow,
    spell_conditions,
    moving_marks,
    class_combat,
    evasion_breath,
    uncanny_dodge,
    channel_divinity,
    monster_moves,
    fighting_styles,
    monster_long_rest,
    legendary_reaction,
    spell_might,
    mirror_image,
    blink,
    sanctuary,
    revivify,
    obscured,
    opportunity_reaction,
    swallow,
    monster_specials,
    swallow_escape,
    legendary_specials,
    monster_specials2,
    monster_specials3,
    zones,
    counterspell,
    recast_options,
    warding,
    silence,
    bard_features,
    sorcerer_features,
    warlock_features,
    fight_features,
    wild_shape,
    spell_attack_reaction,
    spell_attack_rays,
    legendary_saves,
    monster_specials4,
    monster_marks_end,
    grapple_ends,
    counterspell_midchain,
    monster_specials5,
    swallow_sizes,
    counterspell_each,
    counterspell_chain,
    legendary_policy,
    zone_gaps,
    command_fear,
    spell_riders2,
    spirit_guardians,
    clouds_walls,
    harm_sphere,
    summons,
    shapes,
    seals,
    barriers,
    attention,
    barbarian_features,
    martial_features,
    caster_features,
    more_features,
    summon_vanish,
    animal_shapes,
    heat_metal,
    banishment,
    beacon_of_hope,
    break_free,
);

/// Every scenario file has a test, and every test a file.
#[test]
fn every_scenario_file_is_listed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "json")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(
        files, names,
        "tests/scenarios/*.json and the scenarios! list differ"
    );
}
