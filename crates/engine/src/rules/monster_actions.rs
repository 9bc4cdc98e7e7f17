//! Stat-block actions that are no attack: swallowing, engulfing, turning invisible,
//! teleporting, going ethereal, healing touches, charms, changing shape, ink clouds,
//! and the legendary actions that make no attack (Detect, Wing Attack, Move,
//! Teleport).

use super::Emitter;
use crate::ids::CreatureId;

/// A hit with a swallow's bite: the target goes inside the monster.
pub(crate) fn swallow(_em: &mut Emitter, _me: CreatureId, _t: CreatureId) {}
