//! Secrets, sessions and the same-origin rule of the phone table.
//!
//! Join links and session cookies carry 32 random bytes from the OS (base64url); only
//! their SHA-256 is stored and looked up, so no secret is compared byte by byte and a
//! copy of the database lets nobody in. Nothing here logs a secret: at most the first
//! bytes of a hash ([`hash_prefix`]).

use crate::store::CampaignId;
pub use crate::table::Role;
pub use crate::table::secret::{decode, encode, hash, hash_prefix, random_secret};
use axum::http::HeaderMap;
use axum::http::header;
use dicebard_engine::{PlayerId, Viewer};

/// The session cookie's name.
pub const COOKIE: &str = "dicebard_session";
/// How long a session lasts.
pub const SESSION_MS: i64 = 30 * 24 * 3600 * 1000;

impl Role {
    /// Where a browser goes after joining.
    pub fn page(self) -> &'static str {
        match self {
            Role::Player => "/play",
            Role::Display => "/tv",
            Role::Gm => "/gm",
        }
    }
}

/// A live session: who is at the other end of a request or socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub role: Role,
    pub player: Option<PlayerId>,
    pub name: Option<String>,
}

impl Session {
    pub fn from_row(r: crate::store::web::SessionRow) -> Option<Session> {
        let role = Role::parse(&r.role)?;
        let player = r.player_id.filter(|p| !p.is_empty()).map(PlayerId::new);
        // A player or GM session without a player would see and do nothing sensible.
        if role != Role::Display && player.is_none() {
            return None;
        }
        Some(Session {
            id: r.id,
            campaign_id: r.campaign_id,
            role,
            player,
            name: r.name,
        })
    }

    /// The engine's viewer for this session: the only input to visibility.
    pub fn viewer(&self) -> Viewer {
        match (self.role, &self.player) {
            (Role::Gm, _) => Viewer::Gm,
            (Role::Player, Some(p)) => Viewer::Player(p.clone()),
            _ => Viewer::Observer,
        }
    }
}

/// The session secret in a request's cookies, if it is well formed.
pub fn session_cookie(headers: &HeaderMap) -> Option<[u8; 32]> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k.trim() == COOKIE
            {
                return decode(v.trim());
            }
        }
    }
    None
}

/// The `Set-Cookie` value for a new session.
pub fn set_cookie(secret: &[u8; 32], secure: bool) -> String {
    format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        encode(secret),
        SESSION_MS / 1000,
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the request's `Origin` is this server's own: the origin of `public_url`
/// when set, or `http(s)://HOST` for the request's `Host`. A missing `Origin` fails
/// (browsers send it on every WebSocket upgrade and every POST / DELETE).
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    if let Some(p) = public_origin
        && origin.eq_ignore_ascii_case(p)
    {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return false;
    }
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// The origin (`scheme://host[:port]`) of a URL such as `web.public_url`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::secret::SECRET_CHARS;
    use axum::http::HeaderValue;

    #[test]
    fn secrets_round_trip_and_forgeries_fail() {
        let s = random_secret().unwrap();
        let e = encode(&s);
        assert_eq!(e.len(), SECRET_CHARS);
        assert_eq!(decode(&e), Some(s));
        assert_eq!(decode(&e[..42]), None);
        assert_eq!(decode(&format!("{e}A")), None);
        assert_eq!(decode(&"!".repeat(43)), None);
        assert_ne!(random_secret().unwrap(), s);
        assert_ne!(hash(&s), s);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let s = random_secret().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {COOKIE}={}; c=d", encode(&s))).unwrap(),
        );
        assert_eq!(session_cookie(&h), Some(s));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("dicebard_session=x"),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn origins_must_match_the_host_or_public_url() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8787"));
        assert!(!same_origin(&h, None), "no Origin");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8787"),
        );
        assert!(same_origin(&h, None));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h, None));
        assert!(same_origin(&h, Some("http://evil.example")));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8787.evil"),
        );
        assert!(!same_origin(&h, None));
        assert_eq!(
            origin_of("https://Table.example.org/dnd/").as_deref(),
            Some("https://table.example.org")
        );
        assert_eq!(origin_of("ftp://x"), None);
    }
}
