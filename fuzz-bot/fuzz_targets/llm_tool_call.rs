//! An LLM's tool-call JSON (or JSON buried in prose) for the intent reader and the NPC
//! policy, validated against a real scene: never a panic, and only commands a player
//! may issue, naming creatures that are there.
#![no_main]

use dicebard_engine::character::CharacterSpec;
use dicebard_engine::dice::SeededDice;
use dicebard_engine::{
    Action, CampaignState, Command, MonsterGroup, NpcOption, PlayerId, Settings, Timestamp,
    apply, decide,
};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn table() -> &'static (CampaignState, Vec<NpcOption>) {
    static TABLE: OnceLock<(CampaignState, Vec<NpcOption>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut state = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
        let mut dice = SeededDice::new(7);
        let mut run = |state: &mut CampaignState, who: &str, action: Action| {
            let cmd = Command::player(who, action);
            for e in decide(state, cmd, &mut dice, Timestamp(1_700_000_000_000)).unwrap() {
                apply(state, &e);
            }
        };
        run(
            &mut state,
            "gm",
            Action::StartCampaign {
                name: "Fuzz".into(),
                settings: Settings::default(),
            },
        );
        for (p, name, class, race) in [
            ("alice", "Thorin", "fighter", "dwarf"),
            ("bob", "Mira", "wizard", "elf"),
        ] {
            run(
                &mut state,
                p,
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(name, class, race),
                },
            );
        }
        run(
            &mut state,
            "gm",
            Action::StartCombat {
                monsters: vec![
                    MonsterGroup {
                        monster: "goblin".into(),
                        count: 2,
                    },
                    MonsterGroup {
                        monster: "ogre".into(),
                        count: 1,
                    },
                ],
            },
        );
        let mut options = dicebard_engine::npc_options(&state);
        if options.is_empty() {
            options = vec![NpcOption::Pass];
        }
        (state, options)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Before the first NUL: the tool call's arguments; after it: the reply's prose.
    let (args, prose) = text.split_once('\0').unwrap_or((&text, ""));
    let (state, options) = table();
    for player in ["alice", "bob", "gm"] {
        let scene = dicebard::intent::Scene::new(state, &PlayerId::new(player));
        for r in [
            dicebard::intent::llm::validate(Some(args), prose, &scene, prose),
            dicebard::intent::llm::validate(None, &text, &scene, args),
        ] {
            if let Ok(dicebard::intent::IntentOutcome::Commands(actions)) = r {
                assert!(actions.len() <= dicebard::intent::parse::MAX_COMMANDS);
                for a in &actions {
                    assert!(
                        !matches!(
                            a,
                            Action::SetHp { .. }
                                | Action::StartCombat { .. }
                                | Action::NpcAct { .. }
                                | Action::StartCampaign { .. }
                        ),
                        "a GM or system action from the LLM: {a:?}"
                    );
                }
            }
        }
    }
    if let Some((choice, intent)) =
        dicebard::llm::LlmNpcPolicy::parse_choice(prose, Some(args), options)
    {
        assert!(options.contains(&choice));
        assert!(intent.chars().count() <= 400);
    }
});
