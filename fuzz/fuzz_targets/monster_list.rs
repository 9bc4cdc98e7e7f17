//! The shared monster-list parser: any text gives a bounded list or a refusal, and a
//! list it accepts starts a fight.
#![no_main]

use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Command};
use dicebard_engine::dice::SeededDice;
use dicebard_engine::ids::Timestamp;
use dicebard_engine::rules::MAX_MONSTERS_PER_COMMAND;
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{apply, decide, parse_monster_list};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn table() -> &'static CampaignState {
    static S: OnceLock<CampaignState> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
        for cmd in [
            Command::player(
                "gm",
                Action::StartCampaign {
                    name: "Fuzz".into(),
                    settings: Settings::default(),
                },
            ),
            Command::player(
                "alice",
                Action::CreateCharacter {
                    spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
                },
            ),
        ] {
            for e in decide(&s, cmd, &mut SeededDice::new(1), Timestamp(0)).unwrap() {
                apply(&mut s, &e);
            }
        }
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let s = table();
    let Ok(groups) = parse_monster_list(src, &s.catalog) else {
        return;
    };
    let total: u32 = groups.iter().map(|g| g.count).sum();
    assert!(
        (1..=MAX_MONSTERS_PER_COMMAND).contains(&total),
        "{src:?}: {total}"
    );
    let cmd = Command::player("gm", Action::StartCombat { monsters: groups });
    decide(s, cmd, &mut SeededDice::new(2), Timestamp(1))
        .unwrap_or_else(|e| panic!("{src:?}: accepted list refused by the engine: {e}"));
});
