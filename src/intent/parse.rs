//! The deterministic phrase parser: common ways of saying attack, cast, check, save,
//! move, use an item, talk, dodge, rest, roll and end the turn, typed or transcribed
//! ("roll far initiative", "I cats fire bolt at goblin too"), split into clauses
//! ("… and then hide behind the cart") and matched against the [`Scene`]. It needs no
//! network and answers in microseconds; it is the fallback whenever the LLM is absent,
//! slow or wrong, and a player's text can never make it produce a GM-only command.

use super::IntentOutcome;
use super::fuzzy::{self, close};
use super::scene::{Found, Prefer, Scene, number_word};
use dicebard_engine::Action;
use dicebard_engine::ability::{Ability, Advantage, Skill};
use dicebard_engine::event::RestKind;

/// Most commands one sentence may produce.
pub const MAX_COMMANDS: usize = 4;

#[derive(Debug, Clone)]
struct Token {
    /// Normalised word.
    w: String,
    /// Byte span in the original text.
    start: usize,
    end: usize,
    /// The original ended a sentence or a list item (".", "!", "?", ";", ",").
    stop: Option<char>,
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut idx = 0;
    for raw in text.split_inclusive(char::is_whitespace) {
        let start = idx;
        idx += raw.len();
        let trimmed = raw.trim_end();
        if trimmed.is_empty() {
            continue;
        }
        let end = start + trimmed.len();
        let stop = trimmed
            .trim_end_matches(['"', '\'', '\u{201d}', ')'])
            .chars()
            .last()
            .filter(|c| matches!(c, '.' | '!' | '?' | ';' | ','));
        // Dice expressions keep their operators; other words are normalised.
        let bare = trimmed.trim_matches(|c: char| {
            matches!(
                c,
                '.' | '!' | '?' | ';' | ',' | '"' | '(' | ')' | '\u{201c}' | '\u{201d}'
            )
        });
        let lower = bare.to_lowercase();
        let words: Vec<String> = if is_dice(&lower) || is_dice_operator(&lower) {
            vec![lower]
        } else {
            fuzzy::normalize(bare)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let n = words.len();
        for (i, w) in words.into_iter().enumerate() {
            out.push(Token {
                w,
                start,
                end,
                stop: if i + 1 == n { stop } else { None },
            });
        }
    }
    out
}

/// A number or an operator inside a dice expression ("+", "5", "-1").
fn is_dice_operator(w: &str) -> bool {
    !w.is_empty()
        && w.chars().all(|c| "0123456789+-*/()".contains(c))
        && w.chars().any(|c| !c.is_ascii_digit())
}

fn is_dice(w: &str) -> bool {
    let w = w.trim_start_matches(|c: char| c.is_ascii_digit());
    w.starts_with('d')
        && w[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '%')
}

const FILLERS: &[&str] = &[
    "i", "i'll", "ill", "i'm", "im", "we", "we'll", "gonna", "going", "to", "want", "wanna",
    "would", "like", "i'd", "let", "lets", "let's", "me", "try", "tries", "attempt", "attempts",
    "please", "can", "could", "may", "ok", "okay", "so", "um", "uh", "umm", "er", "well", "now",
    "then", "and", "also", "just", "quickly", "will", "shall", "decide", "go", "ahead", "alright",
    "right", "yeah", "yes", "hey", "first", "next", "finally", "again",
];

const ATTACK: &[&str] = &[
    "attack", "attacks", "hit", "hits", "strike", "strikes", "swing", "swings", "stab", "stabs",
    "slash", "slashes", "shoot", "shoots", "fire", "punch", "punches", "kick", "kicks", "smash",
    "smashes", "bash", "bashes", "chop", "cleave", "hack", "slice", "thrust", "lunge", "lunges",
    "whack", "smack", "club", "skewer", "impale", "charge", "throw", "hurl", "stick", "poke",
    "fight", "strikes",
];
const CAST: &[&str] = &["cast", "casts", "invoke", "channel", "unleash"];
const USE: &[&str] = &[
    "use", "uses", "drink", "drinks", "quaff", "quaffs", "eat", "consume", "apply", "swig", "gulp",
    "down", "take", "sip",
];
const TALK: &[&str] = &[
    "say",
    "says",
    "tell",
    "tells",
    "ask",
    "asks",
    "shout",
    "shouts",
    "yell",
    "yells",
    "scream",
    "whisper",
    "talk",
    "talks",
    "speak",
    "speaks",
    "greet",
    "greets",
    "reply",
    "answer",
    "call",
    "chat",
    "mutter",
    "cry",
    "explain",
    "introduce",
    "thank",
    "beg",
    "offer",
];
const MOVE: &[&str] = &[
    "move",
    "moves",
    "walk",
    "walks",
    "run",
    "runs",
    "go",
    "goes",
    "step",
    "steps",
    "head",
    "heads",
    "approach",
    "advance",
    "retreat",
    "flee",
    "back",
    "dash",
    "disengage",
    "sprint",
    "crawl",
    "enter",
    "leave",
    "follow",
    "open",
    "close",
    "wait",
    "stand",
    "sit",
    "kneel",
    "duck",
    "fall",
    "rush",
    "stay",
    "return",
    "cross",
    "grab",
    "pick",
    "drop",
    "light",
    "hold",
    "ready",
];
const ROLL: &[&str] = &["roll", "rolls", "make", "makes", "do", "check", "test"];

/// Verbs that mean a skill check ("I sneak past the guards" is a Stealth check).
const SKILL_VERBS: &[(&str, Skill)] = &[
    ("sneak", Skill::Stealth),
    ("sneaks", Skill::Stealth),
    ("creep", Skill::Stealth),
    ("tiptoe", Skill::Stealth),
    ("hide", Skill::Stealth),
    ("hides", Skill::Stealth),
    ("climb", Skill::Athletics),
    ("climbs", Skill::Athletics),
    ("jump", Skill::Athletics),
    ("jumps", Skill::Athletics),
    ("leap", Skill::Athletics),
    ("swim", Skill::Athletics),
    ("shove", Skill::Athletics),
    ("grapple", Skill::Athletics),
    ("lift", Skill::Athletics),
    ("push", Skill::Athletics),
    ("force", Skill::Athletics),
    ("search", Skill::Investigation),
    ("searches", Skill::Investigation),
    ("investigate", Skill::Investigation),
    ("examine", Skill::Investigation),
    ("inspect", Skill::Investigation),
    ("study", Skill::Investigation),
    ("look", Skill::Perception),
    ("looks", Skill::Perception),
    ("listen", Skill::Perception),
    ("spot", Skill::Perception),
    ("notice", Skill::Perception),
    ("scan", Skill::Perception),
    ("watch", Skill::Perception),
    ("peek", Skill::Perception),
    ("persuade", Skill::Persuasion),
    ("convince", Skill::Persuasion),
    ("plead", Skill::Persuasion),
    ("negotiate", Skill::Persuasion),
    ("haggle", Skill::Persuasion),
    ("charm", Skill::Persuasion),
    ("lie", Skill::Deception),
    ("deceive", Skill::Deception),
    ("bluff", Skill::Deception),
    ("trick", Skill::Deception),
    ("intimidate", Skill::Intimidation),
    ("threaten", Skill::Intimidation),
    ("menace", Skill::Intimidation),
    ("scare", Skill::Intimidation),
    ("recall", Skill::History),
    ("remember", Skill::History),
    ("pickpocket", Skill::SleightOfHand),
    ("steal", Skill::SleightOfHand),
    ("palm", Skill::SleightOfHand),
    ("tumble", Skill::Acrobatics),
    ("balance", Skill::Acrobatics),
    ("flip", Skill::Acrobatics),
    ("somersault", Skill::Acrobatics),
    ("track", Skill::Survival),
    ("forage", Skill::Survival),
    ("navigate", Skill::Survival),
    ("stabilize", Skill::Medicine),
    ("stabilise", Skill::Medicine),
    ("bandage", Skill::Medicine),
    ("treat", Skill::Medicine),
    ("diagnose", Skill::Medicine),
    ("sense", Skill::Insight),
    ("read", Skill::Insight),
    ("calm", Skill::AnimalHandling),
    ("soothe", Skill::AnimalHandling),
    ("tame", Skill::AnimalHandling),
    ("perform", Skill::Performance),
    ("pray", Skill::Religion),
    ("identify", Skill::Arcana),
];

fn ability_word(w: &str) -> Option<Ability> {
    Some(match w {
        "str" | "strength" => Ability::Str,
        "dex" | "dexterity" => Ability::Dex,
        "con" | "constitution" => Ability::Con,
        "int" | "intelligence" => Ability::Int,
        "wis" | "wisdom" => Ability::Wis,
        "cha" | "charisma" => Ability::Cha,
        _ => {
            return Ability::ALL
                .into_iter()
                .find(|a| w.len() >= 6 && close(w, &a.name().to_lowercase()));
        }
    })
}

/// A skill named in `words` (by its name, forgivingly: "stealth", "slight of hand");
/// the closest name wins, so "perception" is never read as "deception".
fn skill_in(words: &[&str]) -> Option<Skill> {
    let mut best: Option<(usize, Skill)> = None;
    for sk in Skill::ALL {
        let name = sk.name().to_lowercase();
        let parts: Vec<&str> = name.split(' ').collect();
        let mut consider = |d: usize| {
            if best.is_none_or(|(b, _)| d < b) {
                best = Some((d, sk));
            }
        };
        for win in words.windows(parts.len()) {
            if win
                .iter()
                .zip(&parts)
                .all(|(a, b)| close(a, b) || (b.len() > 5 && a.len() >= 5 && b.starts_with(*a)))
            {
                consider(
                    win.iter()
                        .zip(&parts)
                        .map(|(a, b)| fuzzy::distance(a, b))
                        .sum(),
                );
            }
        }
        if parts.len() > 1 {
            // "sleightofhand", "animalhandling"
            let joined = parts.concat();
            if let Some(d) = words
                .iter()
                .filter(|w| close(w, &joined))
                .map(|w| fuzzy::distance(w, &joined))
                .min()
            {
                consider(d);
            }
        }
    }
    best.map(|(_, s)| s)
}

fn advantage_in(words: &[&str]) -> Advantage {
    if words.iter().any(|w| matches!(*w, "disadvantage" | "dis")) {
        Advantage::Disadvantage
    } else if words.iter().any(|w| matches!(*w, "advantage" | "adv")) {
        Advantage::Advantage
    } else {
        Advantage::Normal
    }
}

fn dc_in(words: &[&str]) -> Option<i32> {
    let i = words
        .iter()
        .position(|w| matches!(*w, "dc" | "difficulty"))?;
    words[i + 1..]
        .iter()
        .take(2)
        .find_map(|w| w.parse::<i32>().ok())
        .filter(|n| (1..=40).contains(n))
}

fn verb_in(w: &str, list: &[&str]) -> bool {
    list.contains(&w)
        || w.len() >= 5
            && list
                .iter()
                .any(|v| v.len() >= 5 && fuzzy::distance(w, v) <= 1)
        || w.len() == 4
            && list
                .iter()
                .any(|v| v.len() == 4 && fuzzy::distance(w, v) == 1 && sorted(w) == sorted(v))
}

/// Letters in order (to accept only transpositions for four-letter words: "cats").
fn sorted(w: &str) -> Vec<char> {
    let mut v: Vec<char> = w.chars().collect();
    v.sort_unstable();
    v
}

fn list(names: &[String]) -> String {
    match names.len() {
        0 => "nothing".into(),
        1 => names[0].clone(),
        _ => format!(
            "{} or {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        ),
    }
}

/// What one clause means (a transient value, one per clause, never stored: the size
/// of an `Action` — a character spec — is not worth a box here).
#[allow(clippy::large_enum_variant)]
enum Clause {
    Do(Action),
    Ask(String),
    Unknown,
}

/// Parses `text` against `scene`.
pub fn parse(text: &str, scene: &Scene) -> IntentOutcome {
    let text = text.trim();
    if text.is_empty() {
        return IntentOutcome::NotUnderstood("Say what your character does.".into());
    }
    // Quoted speech is in-character talk, whatever verbs it holds.
    if text.contains(['"', '\u{201c}', '\u{201d}']) {
        return IntentOutcome::Commands(vec![Action::Act {
            text: clip_act(text),
        }]);
    }
    let tokens = tokenize(text);
    let clauses = split_clauses(&tokens);
    let mut actions = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for c in &clauses {
        let original = text[c[0].start..c[c.len() - 1].end]
            .trim()
            .trim_end_matches([',', ';'])
            .to_string();
        match clause(c, &original, scene) {
            Clause::Do(a) => actions.push(a),
            Clause::Ask(q) => return IntentOutcome::Clarify(q),
            Clause::Unknown => {
                unknown.push(original.clone());
                // Keep the player's words in order as a declared action, decided below.
                actions.push(Action::Act { text: original });
            }
        }
    }
    let recognised = actions.len() - unknown.len();
    let first_person = first_person(text);
    if recognised == 0 && !first_person {
        return IntentOutcome::NotUnderstood(
            "I didn't catch that. Try \"I attack the goblin\", \"cast fire bolt at the goblin\", \"roll stealth\" or \"end my turn\".".into(),
        );
    }
    if recognised == 0 {
        // A first-person action with no mechanics: the whole sentence, declared.
        return IntentOutcome::Commands(vec![Action::Act {
            text: clip_act(text),
        }]);
    }
    actions.dedup();
    actions.truncate(MAX_COMMANDS);
    IntentOutcome::Commands(actions)
}

fn clip_act(s: &str) -> String {
    s.chars().take(500).collect::<String>().trim().to_string()
}

fn first_person(text: &str) -> bool {
    let w = fuzzy::normalize(text);
    let first = w.split(' ').next().unwrap_or("");
    matches!(
        first,
        "i" | "i'll" | "i'm" | "i'd" | "we" | "we'll" | "my" | "let" | "lets" | "let's" | "me"
    )
}

fn split_clauses(tokens: &[Token]) -> Vec<Vec<Token>> {
    let starts_verb = |i: usize| -> bool {
        let mut j = i;
        while j < tokens.len()
            && matches!(
                tokens[j].w.as_str(),
                "then" | "i" | "i'll" | "ill" | "also" | "and" | "we" | "quickly" | "try" | "to"
            )
        {
            j += 1;
        }
        tokens.get(j).is_some_and(|t| is_verb(&t.w))
    };
    let mut out: Vec<Vec<Token>> = Vec::new();
    let mut cur: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let split_before = match t.w.as_str() {
            "then" => true,
            "and" | "after" | "afterwards" => starts_verb(i + 1),
            _ => false,
        };
        if split_before {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            i += 1;
            continue;
        }
        cur.push(t.clone());
        let split_after = match t.stop {
            Some('.' | '!' | '?' | ';') => true,
            Some(',') => starts_verb(i + 1),
            _ => false,
        };
        if split_after && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_verb(w: &str) -> bool {
    [ATTACK, CAST, USE, TALK, MOVE, ROLL]
        .iter()
        .any(|l| verb_in(w, l))
        || SKILL_VERBS.iter().any(|(v, _)| *v == w)
        || matches!(
            w,
            "dodge"
                | "dash"
                | "disengage"
                | "end"
                | "pass"
                | "rest"
                | "save"
                | "hide"
                | "done"
                | "rage"
        )
}

fn clause(tokens: &[Token], original: &str, scene: &Scene) -> Clause {
    let all: Vec<&str> = tokens.iter().map(|t| t.w.as_str()).collect();
    let mut k = 0;
    while k < all.len()
        && FILLERS.contains(&all[k])
        && !(all[k] == "go" && all.len() > k + 1 && !FILLERS.contains(&all[k + 1]))
    {
        k += 1;
    }
    let words: Vec<&str> = all[k..].to_vec();
    let Some(&verb) = words.first() else {
        return Clause::Unknown;
    };
    let rest = &words[1..];

    // The turn.
    let has = |w: &str| words.contains(&w);
    if (has("turn") && (has("end") || has("ends") || has("finish") || has("done") || has("over")))
        || matches!(
            words.as_slice(),
            ["pass"]
                | ["done"]
                | ["i'm", "done"]
                | ["that's", "it"]
                | ["that's", "all"]
                | ["end"]
                | ["skip"]
                | ["nothing"]
                | ["nothing", "else"]
        )
    {
        return Clause::Do(Action::EndTurn);
    }
    // Fight features (the engine checks class, level and uses).
    if let Some(c) = fight_feature(&words, scene) {
        return c;
    }
    // Class features used by name.
    if has("second") && has("wind") {
        return Clause::Do(Action::UseFeature {
            feature: "second wind".into(),
            target: None,
            amount: None,
        });
    }
    if has("surge") && (has("action") || verb == "surge") {
        return Clause::Do(Action::UseFeature {
            feature: "action surge".into(),
            target: None,
            amount: None,
        });
    }
    if matches!(verb, "rage" | "rages")
        || has("rage") && (has("enter") || has("fly") || has("into"))
    {
        return Clause::Do(Action::UseFeature {
            feature: "rage".into(),
            target: None,
            amount: None,
        });
    }
    for (a, b, feature) in [("channel", "divinity", "channel divinity")] {
        if has(a) && has(b) {
            return Clause::Do(Action::UseFeature {
                feature: feature.into(),
                target: None,
                amount: None,
            });
        }
    }
    // Breaking free of a spell's hold (Web, Entangle): "I break free", "escape the
    // web", "tear free of the vines".
    let held_by = [
        "web", "webs", "webbing", "vines", "plants", "weeds", "roots",
    ];
    if matches!(
        verb,
        "break" | "breaks" | "tear" | "tears" | "struggle" | "struggles" | "wriggle" | "pull"
    ) && (has("free") || has("loose") || held_by.iter().any(|w| has(w)))
        || matches!(verb, "escape" | "escapes") && held_by.iter().any(|w| has(w))
        || matches!(words.as_slice(), ["break", "free"] | ["escape"])
    {
        return Clause::Do(Action::BreakFree);
    }
    if verb == "dodge" || has("dodge") && (has("action") || has("take") || has("takes")) {
        return Clause::Do(Action::Dodge);
    }
    if verb == "dash" || has("dash") && (has("action") || has("take") || has("takes")) {
        return Clause::Do(Action::Dash);
    }
    if verb == "disengage" || has("disengage") && (has("action") || has("take") || has("takes")) {
        return Clause::Do(Action::Disengage);
    }
    if has("rest") {
        if has("long") {
            return Clause::Do(Action::Rest {
                kind: RestKind::Long,
                hit_dice: 0,
            });
        }
        if has("short") {
            let n = words
                .iter()
                .find_map(|w| w.parse::<u32>().ok())
                .unwrap_or(1)
                .clamp(1, 20);
            return Clause::Do(Action::Rest {
                kind: RestKind::Short,
                hit_dice: n,
            });
        }
        if verb == "rest" {
            return Clause::Ask("A short rest or a long rest?".into());
        }
    }
    // Dice: "roll 2d6+3".
    if let Some(i) = words.iter().position(|w| is_dice(w))
        && (verb_in(verb, ROLL) || i == 0)
    {
        let expr: String = words[i..]
            .iter()
            .take_while(|w| {
                is_dice(w) || is_dice_operator(w) || w.chars().all(|c| c.is_ascii_digit())
            })
            .copied()
            .collect::<Vec<_>>()
            .join("");
        let secret = has("secret") || has("secretly") || has("privately");
        if dicebard_engine::dice::parse(&expr).is_ok() && expr.len() <= 100 {
            return Clause::Do(Action::Roll { expr, secret });
        }
        return Clause::Ask(format!(
            "I can't roll \u{201c}{expr}\u{201d}. Try something like 1d20+3."
        ));
    }
    // Saving throws: need an ability ("save the villager" is not one).
    let save_word = words
        .iter()
        .any(|w| matches!(*w, "save" | "saving" | "saves"));
    if save_word && let Some(ability) = words.iter().find_map(|w| ability_word(w)) {
        return Clause::Do(Action::Save {
            ability,
            advantage: advantage_in(&words),
            dc: dc_in(&words),
        });
    }
    if save_word && has("throw") {
        return Clause::Ask("Which saving throw: Strength, Dexterity, Constitution, Intelligence, Wisdom or Charisma?".into());
    }
    // Initiative is a Dexterity check ("roll far initiative").
    if words.iter().any(|w| close(w, "initiative") || *w == "init") {
        return Clause::Do(Action::Check {
            skill: None,
            ability: Some(Ability::Dex),
            advantage: advantage_in(&words),
            dc: dc_in(&words),
        });
    }
    // Spells, named by a cast verb or by their name first ("fire bolt the goblin").
    if verb_in(verb, CAST) {
        return cast(rest, scene);
    }
    if leading_spell(&words, scene).is_some() {
        return cast(&words, scene);
    }
    if verb_in(verb, &["use", "uses"])
        && !rest.is_empty()
        && scene.resolve_item(&rest.join(" ")) == Found::None
        && leading_spell(rest, scene).is_some()
    {
        return cast(rest, scene);
    }
    // Checks named outright ("roll stealth", "perception check", "make a dex check").
    let skill = skill_in(&words);
    let mentions_check = has("check") || verb_in(verb, ROLL);
    if let Some(skill) = skill.filter(|_| mentions_check || words.len() <= 3) {
        return Clause::Do(Action::Check {
            skill: Some(skill),
            ability: None,
            advantage: advantage_in(&words),
            dc: dc_in(&words),
        });
    }
    if mentions_check && let Some(ability) = words.iter().find_map(|w| ability_word(w)) {
        return Clause::Do(Action::Check {
            skill: None,
            ability: Some(ability),
            advantage: advantage_in(&words),
            dc: dc_in(&words),
        });
    }
    if verb_in(verb, ATTACK) && !(verb == "fire" && rest.first() == Some(&"bolt")) {
        return attack(verb, rest, scene);
    }
    if verb_in(verb, USE) && !rest.is_empty() {
        return use_item(rest, scene, original);
    }
    if verb == "pick"
        && rest
            .iter()
            .any(|w| matches!(*w, "lock" | "locks" | "pocket" | "pockets"))
    {
        return check(Skill::SleightOfHand, &words);
    }
    if let Some((_, sk)) = SKILL_VERBS.iter().find(|(v, _)| *v == verb) {
        return check(*sk, &words);
    }
    if verb_in(verb, TALK) || verb_in(verb, MOVE) {
        return Clause::Do(Action::Act {
            text: clip_act(original),
        });
    }
    if matches!(verb, "roll" | "rolls") {
        return Clause::Ask(
            "Roll what? For example \"roll 1d20+3\", \"roll stealth\", \"roll a dex save\" or \"roll initiative\".".into(),
        );
    }
    Clause::Unknown
}

/// Class features said by name: "divine smite (with a level 2 slot)", "reckless
/// attack", "cunning action to hide", "flurry of blows (on the goblin)", "patient
/// defense", "step of the wind (disengage)", "breath weapon / breathe fire at the
/// goblin", "arcane recovery".
fn fight_feature(words: &[&str], scene: &Scene) -> Option<Clause> {
    let has = |w: &str| words.contains(&w);
    let feature = |name: &str, target: Option<String>, amount: Option<u32>| {
        Some(Clause::Do(Action::UseFeature {
            feature: name.into(),
            target,
            amount,
        }))
    };
    let number = || {
        words.iter().find_map(|w| {
            w.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=9).contains(n))
        })
    };
    // The creature named after "at" / "on" (a foe first).
    let named = || {
        let i = words
            .iter()
            .position(|w| matches!(*w, "at" | "on" | "against"))?;
        match scene.resolve_target(&words[i + 1..].join(" "), Prefer::Foes) {
            Found::One(n) => Some(n),
            _ => None,
        }
    };
    if has("smite") && has("divine") {
        return feature("divine smite", None, number());
    }
    if has("reckless") && has("attack") {
        return feature("reckless attack", None, None);
    }
    if has("cunning") && has("action") {
        let sub = ["dash", "disengage", "hide"].into_iter().find(|w| has(w));
        return feature(
            format!("cunning action {}", sub.unwrap_or_default()).trim_end(),
            None,
            None,
        );
    }
    if has("flurry") {
        return feature("flurry of blows", named(), None);
    }
    if has("patient") && (has("defense") || has("defence")) {
        return feature("patient defense", None, None);
    }
    if has("step") && has("wind") {
        let sub = if has("disengage") {
            "disengage"
        } else {
            "dash"
        };
        return feature(&format!("step of the wind {sub}"), None, None);
    }
    if (has("breath") && has("weapon")) || has("breathe") || has("breathes") {
        return feature("breath weapon", named(), None);
    }
    if has("turn") && has("undead") {
        return feature("turn undead", None, None);
    }
    if has("preserve") && has("life") {
        return feature("preserve life", None, None);
    }
    if has("arcane") && has("recovery") {
        return feature("arcane recovery", None, number());
    }
    if has("martial") && has("arts") {
        return feature("martial arts", named(), None);
    }
    if has("sacred") && has("weapon") {
        return feature("sacred weapon", None, None);
    }
    if has("stunning") && has("strike") {
        return feature("stunning strike", None, None);
    }
    if has("turn") && has("unholy") {
        return feature("turn the unholy", None, None);
    }
    if has("wholeness") && has("body") {
        return feature("wholeness of body", None, None);
    }
    if has("natural") && has("recovery") {
        return feature("natural recovery", None, number());
    }
    if has("hurl") && has("hell") {
        return feature("hurl through hell", None, None);
    }
    if has("intimidating") && has("presence") {
        return feature("intimidating presence", named(), None);
    }
    if has("font") && has("magic") {
        let sub = if has("slot") || has("slots") {
            "slot"
        } else {
            "points"
        };
        return feature(&format!("font of magic {sub}"), None, number());
    }
    // "I inspire Thorin", "bardic inspiration for Mira": the creature named after the
    // verb or after to / on / for (anyone: it is a party member).
    if has("inspire") || has("inspires") || (has("bardic") && has("inspiration")) {
        let i = words
            .iter()
            .position(|w| matches!(*w, "to" | "on" | "for" | "inspire" | "inspires"));
        let target =
            i.and_then(
                |i| match scene.resolve_target(&words[i + 1..].join(" "), Prefer::Anyone) {
                    Found::One(n) => Some(n),
                    _ => None,
                },
            );
        return feature("bardic inspiration", target, None);
    }
    // "wild shape into a wolf", "I turn into a brown bear": the beast after "into".
    if (has("wild") && has("shape"))
        || (has("into")
            && ["turn", "turns", "shift", "shifts", "transform"]
                .iter()
                .any(|w| has(w)))
    {
        let beast = words
            .iter()
            .position(|w| *w == "into")
            .map(|i| {
                words[i + 1..]
                    .iter()
                    .copied()
                    .filter(|w| !matches!(*w, "a" | "an" | "the"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|b| !b.is_empty());
        return feature("wild shape", beast, None);
    }
    None
}

fn check(skill: Skill, words: &[&str]) -> Clause {
    Clause::Do(Action::Check {
        skill: Some(skill),
        ability: None,
        advantage: advantage_in(words),
        dc: dc_in(words),
    })
}

/// How many leading words name one of the actor's spells (0 if none).
fn leading_spell(words: &[&str], scene: &Scene) -> Option<usize> {
    (1..=words.len().min(4)).rev().find(|n| {
        let phrase = words[..*n].join(" ");
        scene
            .spells
            .iter()
            .any(|s| fuzzy::name_score(&phrase, &s.name).is_some_and(|sc| sc <= 2))
    })
}

/// "cast SPELL [at|on TARGET[, TARGET…]] [at level N | using a level N slot]".
fn cast<S: AsRef<str>>(rest: &[S], scene: &Scene) -> Clause {
    let mut words: Vec<String> = rest.iter().map(|s| s.as_ref().to_string()).collect();
    // The slot level, and the words around it.
    let mut slot = None;
    if let Some(i) = words
        .iter()
        .position(|w| w == "level" || w == "lvl" || w == "slot")
    {
        let before = i
            .checked_sub(1)
            .and_then(|j| number_word(&words[j]).map(|n| (j, n)));
        let after = words
            .get(i + 1)
            .and_then(|w| number_word(w))
            .map(|n| (i + 1, n));
        if let Some((j, n)) = after.or(before).filter(|(_, n)| (1..=9).contains(n)) {
            slot = Some(n as u8);
            let mut lo = i.min(j);
            let mut hi = i.max(j);
            while lo > 0
                && matches!(
                    words[lo - 1].as_str(),
                    "at" | "using" | "with" | "a" | "an" | "the" | "upcast" | "to" | "as"
                )
            {
                lo -= 1;
            }
            while hi + 1 < words.len()
                && matches!(words[hi + 1].as_str(), "slot" | "spell" | "level")
            {
                hi += 1;
            }
            words.drain(lo..=hi);
        }
    }
    let prep = words.iter().position(|w| {
        matches!(
            w.as_str(),
            "at" | "on" | "targeting" | "against" | "toward" | "towards" | "onto" | "into"
        )
    });
    let (spell_words, target_words) = match prep {
        Some(i) => (&words[..i], &words[i + 1..]),
        None => {
            // "fire bolt the goblin": the longest known spell name first, then the target.
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            match leading_spell(&refs, scene) {
                Some(n) => (&words[..n], &words[n..]),
                None => (&words[..], &words[words.len()..]),
            }
        }
    };
    let phrase = spell_words.join(" ");
    if phrase.trim().is_empty() {
        let known: Vec<String> = scene.spells.iter().map(|s| s.name.clone()).collect();
        return Clause::Ask(format!("Which spell? You know {}.", list(&known)));
    }
    let Some((spell, _known)) = scene.resolve_spell(&phrase) else {
        let known: Vec<String> = scene.spells.iter().map(|s| s.name.clone()).collect();
        return Clause::Ask(format!(
            "I don't know a spell called \u{201c}{phrase}\u{201d}. You know {}.",
            list(&known)
        ));
    };
    // A spell that chooses (Protection from Energy's type, Enlarge or Reduce): its word
    // ("against fire", "to reduce") is a choice, not a target.
    let (target_words, choice) = take_choice(&spell, target_words, scene);
    let mut targets = Vec::new();
    let joined = target_words.join(" ");
    for part in joined.split(" and ").flat_map(|p| p.split(" & ")) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match scene.resolve_target(part, Prefer::Anyone) {
            Found::One(n) => {
                if !targets.contains(&n) {
                    targets.push(n)
                }
            }
            Found::Ambiguous(names) => return Clause::Ask(format!("Which one: {}?", list(&names))),
            Found::None => {
                return Clause::Ask(format!(
                    "I don't see \u{201c}{part}\u{201d} here. You could target {}.",
                    list(
                        &scene
                            .creatures
                            .iter()
                            .filter(|c| !c.dead)
                            .map(|c| c.name.clone())
                            .collect::<Vec<_>>()
                    )
                ));
            }
        }
    }
    targets.truncate(8);
    targets.extend(choice);
    Clause::Do(Action::Cast {
        spell,
        targets,
        slot,
    })
}

/// The choice word of a spell that chooses, taken out of its target words with the
/// word that led to it ("against fire", "for cold", "to reduce") and any preposition
/// left leading the rest ("against fire on Thorin").
fn take_choice(spell: &str, words: &[String], scene: &Scene) -> (Vec<String>, Option<String>) {
    let mut choices = Vec::new();
    if let Some(s) = scene.catalog().spell(spell)
        && let Some(e) = &s.effect
    {
        dicebard_engine::rules::spells::choice_words(&e.steps, &mut choices);
    }
    let mut words = words.to_vec();
    let Some((i, word)) = words.iter().enumerate().find_map(|(i, w)| {
        choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(w.trim_matches(|c: char| !c.is_alphanumeric())))
            .map(|c| (i, c.clone()))
    }) else {
        return (words, None);
    };
    words.remove(i);
    if i > 0
        && matches!(
            words[i - 1].as_str(),
            "against" | "for" | "to" | "as" | "versus" | "vs" | "from" | "with" | "of"
        )
    {
        words.remove(i - 1);
    }
    while words.first().is_some_and(|w| {
        matches!(
            w.as_str(),
            "on" | "at" | "to" | "onto" | "targeting" | "and" | "toward" | "towards"
        )
    }) {
        words.remove(0);
    }
    (words, Some(word))
}

/// "attack [TARGET] [with WEAPON]", "swing my axe at TARGET", "shoot TARGET".
fn attack(verb: &str, rest: &[&str], scene: &Scene) -> Clause {
    let mut words: Vec<&str> = rest.to_vec();
    let mut weapon_phrase: Option<String> = None;
    if let Some(i) = words.iter().position(|w| *w == "with" || *w == "using") {
        let end = words[i + 1..]
            .iter()
            .position(|w| matches!(*w, "at" | "against" | "on" | "toward" | "towards"))
            .map_or(words.len(), |p| i + 1 + p);
        weapon_phrase = Some(words[i + 1..end].join(" "));
        words.drain(i..end);
    }
    let prep = words
        .iter()
        .position(|w| matches!(*w, "at" | "against" | "on" | "toward" | "towards" | "into"));
    let target_phrase = match prep {
        Some(i) => {
            let obj = words[..i].join(" ");
            if weapon_phrase.is_none() && !obj.is_empty() {
                weapon_phrase = Some(obj); // "swing my axe at …"
            }
            words[i + 1..].join(" ")
        }
        None => words.join(" "),
    };
    let target = match scene.resolve_target(&target_phrase, Prefer::Foes) {
        Found::One(n) => n,
        Found::Ambiguous(names) => {
            return Clause::Ask(format!("Who do you attack: {}?", list(&names)));
        }
        Found::None if target_phrase.trim().is_empty() => {
            return Clause::Ask("Who do you attack? There is nobody to fight here.".into());
        }
        // A verb only heard as an attack ("I light a lantern" is one letter from
        // "fight"), nobody to fight and no creature named: not an attack at all; the
        // words stand as a declared action.
        Found::None if !ATTACK.contains(&verb) && scene.foe_names().is_empty() => {
            return Clause::Unknown;
        }
        Found::None => {
            return Clause::Ask(format!(
                "I don't see \u{201c}{}\u{201d} here. You could attack {}.",
                target_phrase.trim(),
                list(&scene.foe_names())
            ));
        }
    };
    let weapon = match weapon_phrase.filter(|p| !fuzzy::content_words(p).is_empty()) {
        None => {
            // "shoot" means the first ranged weapon.
            if matches!(verb, "shoot" | "shoots" | "fire") {
                scene
                    .weapons
                    .iter()
                    .find(|w| w.ranged)
                    .map(|w| w.name.clone())
            } else {
                None
            }
        }
        Some(p) => match scene.resolve_weapon(&p) {
            Found::One(w) => Some(w),
            // The first listed is the character's main weapon.
            Found::Ambiguous(ws) => ws.into_iter().next(),
            Found::None => {
                let words = fuzzy::content_words(&p);
                if words
                    .iter()
                    .any(|w| matches!(w.as_str(), "arrow" | "arrows" | "bolt" | "bolts"))
                {
                    scene
                        .weapons
                        .iter()
                        .find(|w| w.ranged)
                        .map(|w| w.name.clone())
                } else if words
                    .iter()
                    .any(|w| matches!(w.as_str(), "fist" | "fists" | "hand" | "hands" | "weapon"))
                {
                    None
                } else {
                    // A weapon the character does not carry ("my axe" for a swordsman):
                    // swing what they do carry, their main weapon. The engine's line
                    // names the weapon used, so the player hears which it was.
                    scene.weapons.first().map(|w| w.name.clone())
                }
            }
        },
    };
    Clause::Do(Action::Attack { target, weapon })
}

fn use_item(rest: &[&str], scene: &Scene, original: &str) -> Clause {
    let phrase = rest
        .iter()
        .take_while(|w| !matches!(**w, "on" | "to" | "at" | "and"))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    match scene.resolve_item(&phrase) {
        Found::One(item) => Clause::Do(Action::UseItem { item }),
        Found::Ambiguous(items) => Clause::Ask(format!("Which one: {}?", list(&items))),
        Found::None => {
            if fuzzy::content_words(&phrase)
                .iter()
                .any(|w| close(w, "potion"))
            {
                Clause::Ask(format!(
                    "You have no {phrase}. You carry {}.",
                    list(&scene.items)
                ))
            } else {
                // "take a deep breath", "use the rope": no mechanics, so declare it.
                Clause::Do(Action::Act {
                    text: clip_act(original),
                })
            }
        }
    }
}
