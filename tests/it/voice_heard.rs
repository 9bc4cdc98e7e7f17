//! Heard speech → table actions, without audio: a real coordinator on a real SQLite
//! file, transcripts handed to `handle_heard` as the receive pipeline would. Input off,
//! the wake word, who may act in a fight (the active player only; the rest is table
//! talk, shown when the GM asks for it), strangers, and the echo before the result.

use dicebard::clock::Clock;
use dicebard::coordinator::{Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::discord::voice::heard::{Gate, HeardEnv, TablePost, handle_heard};
use dicebard::discord::voice::{Heard, HeardResult, VoiceSettings};
use dicebard::intent::{ActOutcome, IntentResolver};
use dicebard::store::{DbLocation, Store};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::{Action, Command, EventKind, MonsterGroup, PlayerId};
use poise::serenity_prelude as serenity;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The campaign's text channel (the posts are collected, not sent).
const CHANNEL: serenity::ChannelId = serenity::ChannelId::new(5);

#[derive(Default)]
struct Posts(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl TablePost for Posts {
    async fn post(&self, _channel: serenity::ChannelId, text: String) {
        self.0.lock().unwrap().push(text);
    }
}

impl Posts {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn heard(user: u64, text: &str) -> Heard {
    Heard {
        guild: serenity::GuildId::new(1),
        user: serenity::UserId::new(user),
        text: text.into(),
        speech_end: Instant::now(),
        audio_seconds: 2.0,
    }
}

#[tokio::test]
async fn speech_is_gated_echoed_and_played() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbLocation::File(dir.path().join("v.sqlite3")))
        .await
        .unwrap();
    let catalog = Arc::new(dicebard_srd::catalog().clone());
    let coord = Coordinator::new(
        store.clone(),
        catalog,
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let (alice, bob) = (PlayerId::new("discord:11"), PlayerId::new("discord:22"));
    let origin = |p: &PlayerId| Origin::new(Source::Discord, p);
    let id = coord
        .create_campaign("Echo Hall", &alice, Some(4), origin(&alice))
        .await
        .unwrap();
    for (p, name) in [(&alice, "Thorin"), (&bob, "Mira")] {
        coord
            .submit(
                id,
                Command::player(
                    p.as_str(),
                    Action::CreateCharacter {
                        spec: CharacterSpec::quick(name, "fighter", "human"),
                    },
                ),
                origin(p),
            )
            .await
            .unwrap();
    }
    let posts = Posts::default();
    let intent = IntentResolver::new(None);
    let env = HeardEnv {
        coord: &coord,
        intent: &intent,
        post: &posts,
    };
    let on = VoiceSettings::default();

    // Input off: nothing happens.
    let off = VoiceSettings {
        input: false,
        ..VoiceSettings::default()
    };
    let r = handle_heard(&env, id, CHANNEL, &off, &heard(11, "I roll for perception")).await;
    assert!(matches!(r, HeardResult::InputOff), "{r:?}");

    // The wake word: required when on, stripped before reading.
    let wake = VoiceSettings {
        wake_word: true,
        ..VoiceSettings::default()
    };
    let r = handle_heard(
        &env,
        id,
        CHANNEL,
        &wake,
        &heard(11, "I roll for perception"),
    )
    .await;
    assert!(matches!(r, HeardResult::NoWakeWord), "{r:?}");
    assert!(posts.take().is_empty());
    let r = handle_heard(
        &env,
        id,
        CHANNEL,
        &wake,
        &heard(11, "Game master, I roll for perception."),
    )
    .await;
    let HeardResult::Acted(ActOutcome::Done { events, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(
        events
            .iter()
            .any(|c| matches!(c.event.kind, EventKind::CheckRolled { .. })
                && c.origin.source == Source::Voice
                && c.origin.player.as_ref() == Some(&alice))
    );
    assert_eq!(posts.take(), vec!["🎙 **Thorin**: I roll for perception."]);

    // Somebody not at the table is not heard.
    let r = handle_heard(&env, id, CHANNEL, &on, &heard(99, "I attack")).await;
    assert!(matches!(r, HeardResult::Ignored(Gate::NotAtTable)), "{r:?}");

    // A fight: only the active player's words are actions.
    coord
        .submit(
            id,
            Command::player(
                alice.as_str(),
                Action::StartCombat {
                    monsters: vec![MonsterGroup {
                        monster: "goblin".into(),
                        count: 1,
                    }],
                },
            ),
            origin(&alice),
        )
        .await
        .unwrap();
    let state = loop {
        let s = coord.snapshot(id).await.unwrap().state;
        if s.active_creature().is_some_and(|c| c.is_pc()) {
            break s;
        }
        tokio::task::yield_now().await;
    };
    let active = state.active_creature().unwrap();
    let (actor, actor_id, other, other_id) = if active.owner() == Some(&alice) {
        ("Thorin", 11, "Mira", 22)
    } else {
        ("Mira", 22, "Thorin", 11)
    };
    let seq_before = coord.snapshot(id).await.unwrap().seq;
    let r = handle_heard(
        &env,
        id,
        CHANNEL,
        &on,
        &heard(other_id, "I attack the goblin"),
    )
    .await;
    assert!(
        matches!(r, HeardResult::Ignored(Gate::NotTheirTurn)),
        "{r:?}"
    );
    assert!(
        posts.take().is_empty(),
        "table talk is not shown by default"
    );
    let talk = VoiceSettings {
        table_talk: true,
        ..VoiceSettings::default()
    };
    let r = handle_heard(
        &env,
        id,
        CHANNEL,
        &talk,
        &heard(other_id, "watch out for its knife"),
    )
    .await;
    assert!(
        matches!(r, HeardResult::Ignored(Gate::NotTheirTurn)),
        "{r:?}"
    );
    assert_eq!(
        posts.take(),
        vec![format!("💬 *{other}: watch out for its knife*")]
    );
    assert_eq!(
        coord.snapshot(id).await.unwrap().seq,
        seq_before,
        "table talk changes nothing"
    );

    let r = handle_heard(
        &env,
        id,
        CHANNEL,
        &on,
        &heard(actor_id, "I attack the goblin"),
    )
    .await;
    let HeardResult::Acted(ActOutcome::Done { events, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(
        events
            .iter()
            .any(|c| matches!(c.event.kind, EventKind::AttackRolled { .. }))
    );
    assert_eq!(
        posts.take(),
        vec![format!("🎙 **{actor}**: I attack the goblin")]
    );
    coord.shutdown().await;
    store.close().await;
}

/// A source that is not Discord (a phone's microphone, say) feeds the same heard-speech
/// path with a player id and plain text, and gets what to show as [`VoiceReply`]s.
#[tokio::test]
async fn a_non_discord_source_feeds_the_same_path() {
    use dicebard::voice::heard::{HeardEnv, HeardSpeech, VoiceOut, VoiceReply, handle_heard};

    #[derive(Default)]
    struct Shown(Mutex<Vec<VoiceReply>>);
    #[async_trait::async_trait]
    impl VoiceOut for Shown {
        async fn show(&self, reply: VoiceReply) {
            self.0.lock().unwrap().push(reply);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbLocation::File(dir.path().join("p.sqlite3")))
        .await
        .unwrap();
    let coord = Coordinator::new(
        store,
        Arc::new(dicebard_srd::catalog().clone()),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let phone = PlayerId::new("web:7");
    let origin = Origin::new(Source::Web, &phone);
    let id = coord
        .create_campaign("Phone Hall", &phone, Some(4), origin.clone())
        .await
        .unwrap();
    coord
        .submit(
            id,
            Command::player(
                phone.as_str(),
                Action::CreateCharacter {
                    spec: CharacterSpec::quick("Lia", "wizard", "elf"),
                },
            ),
            origin,
        )
        .await
        .unwrap();
    let shown = Shown::default();
    let intent = IntentResolver::new(None);
    let env = HeardEnv {
        coord: &coord,
        intent: &intent,
        out: &shown,
    };
    let speech = |text: &str| HeardSpeech {
        player: phone.clone(),
        text: text.into(),
        speech_end: Instant::now(),
    };
    let r = handle_heard(
        &env,
        id,
        &VoiceSettings::default(),
        &speech("I roll for arcana"),
    )
    .await;
    let HeardResult::Acted(ActOutcome::Done { events, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(
        events
            .iter()
            .any(|c| matches!(c.event.kind, EventKind::CheckRolled { .. })
                && c.origin.source == Source::Voice
                && c.origin.player.as_ref() == Some(&phone))
    );
    assert_eq!(
        std::mem::take(&mut *shown.0.lock().unwrap()),
        vec![VoiceReply::Echo {
            name: Some("Lia".into()),
            text: "I roll for arcana".into()
        }]
    );
    // Somebody else's words on that source are not an action.
    let stranger = HeardSpeech {
        player: PlayerId::new("web:8"),
        ..speech("I attack")
    };
    let r = handle_heard(&env, id, &VoiceSettings::default(), &stranger).await;
    assert!(matches!(r, HeardResult::Ignored(Gate::NotAtTable)), "{r:?}");
}
