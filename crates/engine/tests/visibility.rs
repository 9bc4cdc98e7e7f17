//! `Visibility::allows` for every (visibility, viewer) pair, and the storage keys.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

use dicebard_engine::ids::PlayerId;
use dicebard_engine::{Viewer, Visibility};

#[test]
fn allows_matrix() {
    let alice = PlayerId::new("alice");
    let bob = PlayerId::new("bob");
    let viewers = [
        ("observer", Viewer::Observer),
        ("alice", Viewer::Player(alice.clone())),
        ("bob", Viewer::Player(bob.clone())),
        ("gm", Viewer::Gm),
    ];
    // (visibility, [observer, alice, bob, gm])
    let table = [
        (Visibility::Public, [true, true, true, true]),
        (Visibility::Party, [false, true, true, true]),
        (
            Visibility::Player(alice.clone()),
            [false, true, false, true],
        ),
        (Visibility::Gm, [false, false, false, true]),
    ];
    for (vis, want) in table {
        for ((who, viewer), w) in viewers.iter().zip(want) {
            assert_eq!(vis.allows(viewer), w, "{vis:?} seen by {who}");
        }
    }
}

#[test]
fn keys() {
    assert_eq!(Visibility::Public.key(), "public");
    assert_eq!(Visibility::Party.key(), "party");
    assert_eq!(Visibility::Gm.key(), "gm");
    assert_eq!(
        Visibility::Player(PlayerId::new("discord:42")).key(),
        "player:discord:42"
    );
}

#[test]
fn serde_shape() {
    let v = Visibility::Player(PlayerId::new("alice"));
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j, serde_json::json!({"to": "player", "player": "alice"}));
    assert_eq!(serde_json::from_value::<Visibility>(j).unwrap(), v);
    assert_eq!(
        serde_json::to_value(Visibility::Gm).unwrap(),
        serde_json::json!({"to": "gm"})
    );
}
