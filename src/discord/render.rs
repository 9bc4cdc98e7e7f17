//! Views → Discord embeds and messages, clamped to Discord's limits. No IO here.

use crate::coordinator::CampaignId;
use dicebard_engine::creature::Health;
use dicebard_engine::view;
use poise::serenity_prelude as serenity;

/// Discord's limits (platform-facts.md).
pub const MAX_CONTENT: usize = 2_000;
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4_096;
pub const MAX_FIELDS: usize = 25;
pub const MAX_FIELD_NAME: usize = 256;
pub const MAX_FIELD_VALUE: usize = 1_024;
pub const MAX_FOOTER: usize = 2_048;

/// Cuts `s` to at most `max` characters (not bytes), marking the cut with "…".
pub fn clamp(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes Discord markdown and neutralises mentions in user-supplied text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '\\'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    // Zero-width space after @ so "@everyone" never pings.
    out.replace('@', "@\u{200b}")
}

/// Splits narration lines into messages of at most `MAX_CONTENT` characters.
pub fn pack_lines(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for l in lines {
        let l = clamp(l, MAX_CONTENT);
        if !cur.is_empty() && cur.chars().count() + 1 + l.chars().count() > MAX_CONTENT {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(&l);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn hp_bar(hp: i32, max: i32) -> String {
    let max = max.max(1);
    let filled = ((hp.max(0) * 10 + max - 1) / max).clamp(0, 10) as usize;
    format!("`{}{}`", "█".repeat(filled), "░".repeat(10 - filled))
}

/// A character sheet ([`view::sheet`]) as the pinned embed.
pub fn character_embed(c: &view::Sheet) -> serenity::CreateEmbed {
    let (class, race, level) = (c.class_name(), c.race_name(), c.level);
    let mut hp = format!(
        "{} {}/{}",
        hp_bar(c.hp.hp, c.hp.max_hp),
        c.hp.hp,
        c.hp.max_hp
    );
    if c.hp.temp_hp > 0 {
        hp.push_str(&format!(" (+{} temp)", c.hp.temp_hp));
    }
    if c.dead {
        hp.push_str(" — **dead**");
    } else if let Some(ds) = c.dying {
        hp.push_str(&format!(" — dying ({}✓ {}✗)", ds.successes, ds.failures));
    }
    let mut e = serenity::CreateEmbed::new()
        .title(clamp(
            &format!("{} — {race} {class} {level}", c.name),
            MAX_TITLE,
        ))
        .description(clamp(&hp, MAX_DESCRIPTION))
        .field("AC", c.ac.to_string(), true)
        .field("Speed", format!("{} ft", c.speed), true)
        .field("Proficiency", format!("+{}", c.proficiency), true)
        .color(if c.bloodied() { 0xC0392B } else { 0x27AE60 });
    let abil: Vec<String> = c
        .abilities
        .iter()
        .map(|a| {
            format!(
                "{} {} ({:+})",
                a.ability.code().to_uppercase(),
                a.score,
                a.modifier
            )
        })
        .collect();
    e = e.field(
        "Abilities",
        clamp(&abil.join(" · "), MAX_FIELD_VALUE),
        false,
    );
    if !c.conditions.is_empty() || c.exhaustion > 0 {
        let mut s = c.conditions.join(", ");
        if c.exhaustion > 0 {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&format!("exhaustion {}", c.exhaustion));
        }
        e = e.field("Conditions", clamp(&s, MAX_FIELD_VALUE), false);
    }
    let slots: Vec<String> = c
        .slots
        .iter()
        .map(|s| format!("L{} {}/{}", s.level, s.available, s.max))
        .collect();
    if !slots.is_empty() {
        e = e.field(
            "Spell slots",
            clamp(&slots.join(" · "), MAX_FIELD_VALUE),
            false,
        );
    }
    // Class state (beast form, inspiration, resources, options): one field.
    let class_lines = c.class_state.lines();
    if !class_lines.is_empty() {
        let lines: Vec<String> = class_lines.iter().map(|l| escape(l)).collect();
        e = e.field(
            "Class features",
            clamp(&lines.join("\n"), MAX_FIELD_VALUE),
            false,
        );
    }
    if let Some(conc) = &c.concentration {
        e = e.field(
            "Concentrating",
            dicebard_engine::data::from_index(conc),
            true,
        );
    }
    let attacks: Vec<String> = c
        .attacks
        .iter()
        .map(|a| {
            let d: Vec<String> = a
                .damage
                .iter()
                .map(|d| format!("{} {}", d.dice, d.damage_type))
                .collect();
            format!("{} {:+} ({})", a.name, a.to_hit, d.join(" + "))
        })
        .collect();
    if !attacks.is_empty() {
        e = e.field(
            "Attacks",
            clamp(&attacks.join("\n"), MAX_FIELD_VALUE),
            false,
        );
    }
    e.footer(serenity::CreateEmbedFooter::new(clamp(
        "dicebard keeps this sheet current",
        MAX_FOOTER,
    )))
}

/// One combatant's hit points as the tracker shows them: exact where the viewer may
/// know them ([`view::knows_hp`]), else the health word.
pub fn tracker_hp(r: &view::InitiativeRow) -> String {
    match r.hp {
        Some(_) if r.health == Health::Dead => "dead".to_string(),
        Some(hp) => format!("{}/{} HP", hp.hp, hp.max_hp),
        None => r.health.describe().to_string(),
    }
}

/// The initiative tracker ([`view::initiative`]; the channel's is an onlooker's, so
/// monster hit points are a health word only).
pub fn initiative_embed(init: &view::Initiative) -> serenity::CreateEmbed {
    let mut lines = Vec::new();
    for r in &init.rows {
        let mark = if r.active { "▶" } else { "　" };
        let mut name = if r.down {
            format!("~~{}~~", escape(&r.name))
        } else {
            escape(&r.name)
        };
        // A conjured creature fights for its caster.
        if let Some(by) = &r.ally_of {
            name.push_str(&format!(" ({}'s)", escape(by)));
        }
        // Where it stands (theatre of the mind): whom it is in melee with, or far.
        let place = if !r.engaged_with.is_empty() {
            let melee: Vec<String> = r.engaged_with.iter().map(|n| escape(n)).collect();
            format!(" · ⚔ {}", melee.join(", "))
        } else if r.far && !r.down {
            " · at a distance".to_string()
        } else {
            String::new()
        };
        lines.push(format!(
            "{mark} `{:>3}` {name} — {}{place}",
            r.initiative,
            tracker_hp(r)
        ));
    }
    let footer = match (&init.turn, init.deadline) {
        (Some(a), Some(d)) => format!("{}'s turn — ends <t:{}:R>", a.name, d.0 / 1000),
        (Some(a), None) => format!("{}'s turn", a.name),
        _ => String::new(),
    };
    let mut desc = clamp(&lines.join("\n"), MAX_DESCRIPTION - 200);
    if !footer.is_empty() {
        // In the description so the relative timestamp renders as a live countdown.
        desc.push_str("\n\n");
        desc.push_str(&clamp(&footer, 190));
    }
    serenity::CreateEmbed::new()
        .title(format!("Initiative — round {}", init.round.max(1)))
        .description(desc)
        .color(0xE67E22)
}

/// End turn / Dodge buttons for a campaign.
/// End turn / Dodge buttons bound to one turn: `turn_seq` is the seq of the turn's
/// `TurnStarted` event, so a button left in an old DM cannot act on a later turn.
pub fn turn_buttons(campaign_id: CampaignId, turn_seq: u64) -> Vec<serenity::CreateActionRow> {
    vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(format!("end_turn:{campaign_id}:{turn_seq}"))
            .label("End turn")
            .style(serenity::ButtonStyle::Primary),
        serenity::CreateButton::new(format!("dodge:{campaign_id}:{turn_seq}"))
            .label("Dodge")
            .style(serenity::ButtonStyle::Secondary),
    ])]
}

/// Use / Skip buttons for a reaction window, bound to it: `window_seq` is the seq of
/// its `ReactionOffered` event, so a button cannot answer a later window.
pub fn reaction_buttons(
    campaign_id: CampaignId,
    window_seq: u64,
) -> Vec<serenity::CreateActionRow> {
    vec![serenity::CreateActionRow::Buttons(vec![
        serenity::CreateButton::new(format!("react_use:{campaign_id}:{window_seq}"))
            .label("Use")
            .style(serenity::ButtonStyle::Primary),
        serenity::CreateButton::new(format!("react_skip:{campaign_id}:{window_seq}"))
            .label("Skip")
            .style(serenity::ButtonStyle::Secondary),
    ])]
}

/// Buttons a DM carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmButtons {
    /// End turn / Dodge for the turn whose `TurnStarted` has this seq.
    Turn(u64),
    /// Use / Skip for the window whose `ReactionOffered` has this seq.
    Reaction(u64),
}

impl DmButtons {
    pub fn rows(self, campaign_id: CampaignId) -> Vec<serenity::CreateActionRow> {
        match self {
            DmButtons::Turn(seq) => turn_buttons(campaign_id, seq),
            DmButtons::Reaction(seq) => reaction_buttons(campaign_id, seq),
        }
    }
}

/// What a turn button's custom id asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnButton {
    /// `end_turn` (true) or `dodge` (false) for the turn whose `TurnStarted` has this seq.
    Turn {
        end_turn: bool,
        campaign: CampaignId,
        turn_seq: u64,
    },
    /// `react_use` (true) or `react_skip` (false) for the reaction window whose
    /// `ReactionOffered` has this seq.
    React {
        take: bool,
        campaign: CampaignId,
        window_seq: u64,
    },
    /// A button from before buttons named their turn (`end_turn:<campaign>`): its turn is
    /// over by now.
    Unbound,
    /// Not ours, or malformed (custom ids come from the client: never trusted).
    Invalid,
}

/// Parses a turn button's custom id (bounded; never panics).
pub fn parse_turn_button(custom_id: &str) -> TurnButton {
    if custom_id.len() > 100 {
        return TurnButton::Invalid;
    }
    let mut parts = custom_id.splitn(4, ':');
    let (end_turn, react) = match parts.next() {
        Some("end_turn") => (true, false),
        Some("dodge") => (false, false),
        Some("react_use") => (true, true),
        Some("react_skip") => (false, true),
        _ => return TurnButton::Invalid,
    };
    let campaign = match parts.next().map(str::parse::<CampaignId>) {
        Some(Ok(c)) => c,
        _ => return TurnButton::Invalid,
    };
    match (parts.next(), parts.next()) {
        (None, _) if react => TurnButton::Invalid,
        (None, _) => TurnButton::Unbound,
        (Some(seq), None) => match seq.parse::<u64>() {
            Ok(window_seq) if react && window_seq > 0 && window_seq < i64::MAX as u64 => {
                TurnButton::React {
                    take: end_turn,
                    campaign,
                    window_seq,
                }
            }
            Ok(turn_seq) if turn_seq > 0 && turn_seq < i64::MAX as u64 => TurnButton::Turn {
                end_turn,
                campaign,
                turn_seq,
            },
            _ => TurnButton::Invalid,
        },
        _ => TurnButton::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaction_buttons_are_bound_to_their_window() {
        assert_eq!(
            parse_turn_button("react_use:3:41"),
            TurnButton::React {
                take: true,
                campaign: CampaignId(3),
                window_seq: 41
            }
        );
        assert_eq!(
            parse_turn_button("react_skip:3:41"),
            TurnButton::React {
                take: false,
                campaign: CampaignId(3),
                window_seq: 41
            }
        );
        for bad in [
            "react_use:3",
            "react_use:0:4",
            "react_use:3:0",
            "react_use:3:x",
            "react_use:3:4:5",
            "react_maybe:3:4",
        ] {
            assert_eq!(parse_turn_button(bad), TurnButton::Invalid, "{bad}");
        }
        assert_eq!(
            parse_turn_button("end_turn:3:41"),
            TurnButton::Turn {
                end_turn: true,
                campaign: CampaignId(3),
                turn_seq: 41
            }
        );
    }

    fn sheet_with(class_state: view::ClassState) -> view::Sheet {
        use dicebard_engine::ids::CreatureId;
        view::Sheet {
            id: CreatureId(1),
            name: "Mira".into(),
            player: None,
            class: "druid".into(),
            race: "elf".into(),
            level: 2,
            hp: view::HitPoints {
                hp: 9,
                max_hp: 11,
                temp_hp: 0,
            },
            dead: false,
            dying: None,
            ac: 11,
            speed: 40,
            proficiency: 2,
            abilities: Vec::new(),
            conditions: Vec::new(),
            exhaustion: 0,
            slots: Vec::new(),
            spells: Vec::new(),
            concentration: None,
            attacks: Vec::new(),
            inventory: Vec::new(),
            class_state,
        }
    }

    fn field<'a>(e: &'a serde_json::Value, name: &str) -> Option<&'a str> {
        e["fields"].as_array()?.iter().find(|f| f["name"] == name)?["value"].as_str()
    }

    #[test]
    fn the_sheet_embed_shows_the_class_state_within_limits() {
        let cs = view::ClassState {
            fighting_style: None,
            options: vec!["Agonizing Blast".into()],
            inspiration: Some(8),
            inspired_by: Some("Lira".into()),
            wild_shape: Some(view::WildShapeView {
                beast: "wolf".into(),
                beast_name: "Wolf".into(),
                hp: 9,
                max_hp: 11,
                druid_hp: 14,
                druid_max_hp: 14,
            }),
            resources: vec![view::ResourceLine {
                key: "wild-shape".into(),
                name: "Wild Shape".into(),
                available: 1,
                max: 2,
                unlimited: false,
            }],
        };
        let e = serde_json::to_value(character_embed(&sheet_with(cs))).unwrap();
        assert_eq!(
            field(&e, "Class features"),
            Some(
                "Wild Shape: Wolf 9/11 HP (druid 14/14)\nInspired: d8 from Lira\nWild Shape 1/2\nOptions: Agonizing Blast"
            ),
            "{e}"
        );
        // Nothing to show: no field.
        let e = serde_json::to_value(character_embed(&sheet_with(Default::default()))).unwrap();
        assert_eq!(field(&e, "Class features"), None, "{e}");
        // However many options, the field stays within Discord's limit.
        let cs = view::ClassState {
            options: vec!["Eldritch Invocation With A Long Name".into(); 200],
            ..Default::default()
        };
        let e = serde_json::to_value(character_embed(&sheet_with(cs))).unwrap();
        let v = field(&e, "Class features").expect("the field");
        assert!(v.chars().count() <= MAX_FIELD_VALUE, "{}", v.len());
        assert!(e["fields"].as_array().unwrap().len() <= MAX_FIELDS);
    }

    #[test]
    fn clamp_counts_characters() {
        assert_eq!(clamp("héllo", 5), "héllo");
        assert_eq!(clamp("héllo!", 5), "héll…");
    }

    #[test]
    fn escape_neutralises_mentions_and_markdown() {
        assert_eq!(escape("@everyone *x*"), "@\u{200b}everyone \\*x\\*");
    }

    #[test]
    fn pack_lines_respects_the_limit() {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("line {i} {}", "x".repeat(50)))
            .collect();
        let msgs = pack_lines(&lines);
        assert!(msgs.len() > 1);
        assert!(msgs.iter().all(|m| m.chars().count() <= MAX_CONTENT));
        assert_eq!(msgs.join("\n").lines().count(), 100);
    }
}
