//! Typed snowflake ids and the fake's id/timestamp generator.
//!
//! Ids are plain `u64` newtypes (twilight-style) so a test cannot pass a channel where a user is
//! expected. On the wire every id is a JSON string, as Discord sends them.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as Discord puts it on the wire (a decimal string).
            pub fn to_json(self) -> serde_json::Value {
                serde_json::Value::String(self.0.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )*};
}

id_type!(
    /// A user (or the bot user).
    UserId,
    /// The one guild the fake serves.
    GuildId,
    /// A guild text/voice channel or a DM channel.
    ChannelId,
    /// A message in any channel.
    MessageId,
    /// A role of the guild; `@everyone` has the guild's id.
    RoleId,
    /// An interaction the fake dispatched.
    InteractionId,
    /// A registered application command.
    CommandId,
    /// An attachment uploaded with a message.
    AttachmentId,
);

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Generates increasing snowflakes shaped like Discord's (creation time in the high bits), so
/// serenity's `created_at()` gives a plausible time and ids sort by creation.
#[derive(Debug, Default)]
pub(crate) struct Snowflakes {
    last: u64,
}

impl Snowflakes {
    pub(crate) fn next(&mut self) -> u64 {
        let ms = unix_ms().saturating_sub(DISCORD_EPOCH_MS);
        let candidate = ms << 22;
        self.last = candidate.max(self.last + 1);
        self.last
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An ISO-8601 timestamp as Discord writes it (`2024-01-01T00:00:00.000000+00:00`).
pub(crate) fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let micros = d.subsec_micros();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_timestamps_like_discord() {
        let t = UNIX_EPOCH + Duration::from_micros(1_704_067_200_000_001);
        assert_eq!(iso8601(t), "2024-01-01T00:00:00.000001+00:00");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723); // 2000-02-29 01:02:03
        assert_eq!(iso8601(t), "2000-02-29T01:02:03.000000+00:00");
    }

    #[test]
    fn snowflakes_increase() {
        let mut s = Snowflakes::default();
        let a = s.next();
        let b = s.next();
        assert!(b > a);
    }
}
