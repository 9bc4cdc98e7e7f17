//! Why a command was refused. Every message is written to be shown to a player as is.

/// A refused command. The state is untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// It is someone else's turn.
    #[error("It's {active}'s turn — wait for yours.")]
    NotYourTurn { active: String },
    /// Only the GM may do this.
    #[error("Only the GM can {what}.")]
    GmOnly { what: String },
    /// The sender has no character in this campaign.
    #[error("You don't have a character yet — create one first.")]
    NoCharacter,
    /// Nothing by that name is here.
    #[error("There's no {what} called \"{name}\" here.")]
    UnknownTarget { what: &'static str, name: String },
    /// The name matches several creatures.
    #[error("\"{name}\" could mean {options} — be more specific.")]
    Ambiguous { name: String, options: String },
    /// The item is not carried.
    #[error("{item} is not in your inventory.")]
    NotInInventory { item: String },
    /// The spell is not known.
    #[error("{who} doesn't know the spell {spell}.")]
    SpellNotKnown { who: String, spell: String },
    /// No spell slot of that level remains.
    #[error("{who} has no level {level} spell slots left.")]
    NoSlot { who: String, level: u8 },
    /// The action for this turn is spent.
    #[error("{who} has already used their {what} this turn.")]
    AlreadyUsed { who: String, what: &'static str },
    /// The creature cannot act (unconscious, stunned, dead…).
    #[error("{who} can't act right now ({why}).")]
    CannotAct { who: String, why: String },
    /// Only in combat / only outside combat.
    #[error("{0}")]
    WrongMode(String),
    /// The campaign has not started or has ended.
    #[error("{0}")]
    NoCampaign(String),
    /// Bad dice expression.
    #[error("{0}")]
    Dice(#[from] crate::dice::DiceError),
    /// Bad input of another kind.
    #[error("{0}")]
    Invalid(String),
}

impl RuleError {
    pub fn invalid(msg: impl Into<String>) -> RuleError {
        RuleError::Invalid(msg.into())
    }
}

/// The longest piece of user text a message repeats back.
pub const MAX_ECHO_CHARS: usize = 64;

/// User text as a message repeats it: trimmed, control characters as spaces, and at
/// most [`MAX_ECHO_CHARS`] characters (then "…"), so a 10 KB name makes a short refusal.
pub fn echo(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s
        .chars()
        .take(MAX_ECHO_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(MAX_ECHO_CHARS).is_some() {
        out.push('…');
    }
    out
}
