//! The phone table: a headless JSON API (REST + WebSocket, docs/web-protocol.md) on
//! the table feed, join links with QR codes, and the pages served from the binary.
//!
//! A fourth presenter beside Discord, voice and the terminal: it sends commands to the
//! coordinator exactly as they do (the engine checks them) and shows each viewer the
//! feed's items, filtered by the feed ([`crate::feed::FeedSubscription`]) with the
//! engine's visibility rule: this module never filters by itself. It imports no other
//! front end.

pub mod api;
pub mod auth;
pub mod fanout;
pub mod fuzzing;
pub mod hub;
pub mod view;
pub use crate::table::qr;
pub mod ws;

use crate::config::Config;
use crate::coordinator::Coordinator;
use crate::feed::Feeds;
use crate::gm::GameMaster;
use crate::table::Table;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The largest request body and WebSocket message.
pub const MAX_BODY: usize = 64 * 1024;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct WebState {
    pub coordinator: Coordinator,
    pub feeds: Feeds,
    pub gm: GameMaster,
    pub hub: Arc<hub::Hub>,
    /// Links, kicks and presence, shared with the other front ends.
    pub table: Table,
    /// The base of the links this server hands out (`http://host:port`, no slash).
    pub base_url: Arc<str>,
    /// The origin of `web.public_url`, when set.
    pub public_origin: Option<Arc<str>>,
    /// Whether cookies get `Secure` (served over https).
    pub secure: bool,
}

impl WebState {
    /// A web front end with a table door of its own (tests, benches).
    pub fn new(coordinator: Coordinator, feeds: Feeds, gm: GameMaster, base_url: &str) -> Self {
        Self::with_table(Table::new(coordinator), feeds, gm, base_url)
    }

    /// A web front end on `table` (shared with the other front ends), whose links lead
    /// to `base_url` from now on.
    pub fn with_table(table: Table, feeds: Feeds, gm: GameMaster, base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        let public_origin = auth::origin_of(base);
        table.set_base_url(base);
        WebState {
            coordinator: table.coordinator().clone(),
            feeds,
            gm,
            hub: Arc::default(),
            table,
            secure: base.starts_with("https://"),
            base_url: base.into(),
            public_origin: public_origin.map(Into::into),
        }
    }

    pub fn store(&self) -> &crate::store::Store {
        self.coordinator.store()
    }
}

/// The whole web front end's routes.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/play") }))
        .route("/play", get(|| page(include_str!("../../web/play.html"))))
        .route("/tv", get(|| page(include_str!("../../web/tv.html"))))
        .route("/gm", get(|| page(include_str!("../../web/gm.html"))))
        .route(
            "/static/app.js",
            get(|| {
                asset(
                    include_str!("../../web/app.js"),
                    "text/javascript; charset=utf-8",
                )
            }),
        )
        .route(
            "/static/app.css",
            get(|| asset(include_str!("../../web/app.css"), "text/css; charset=utf-8")),
        )
        .route("/join/{secret}", get(api::join_page).post(api::join))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/snapshot", get(api::snapshot))
        .route("/api/v1/sheet", get(api::sheet))
        .route("/api/v1/events", get(api::events))
        .route("/api/v1/actions", post(api::actions))
        .route("/api/v1/characters", post(api::characters))
        .route("/api/v1/characters/import", post(api::import_character))
        .route(
            "/api/v1/invites",
            post(api::create_invite).get(api::list_invites),
        )
        .route("/api/v1/invites/{id}", delete(api::revoke_invite))
        .route("/api/v1/kick", post(api::kick))
        .route("/api/v1/campaigns", post(api::create_campaign))
        .route("/api/v1/ws", get(ws::upgrade))
        .route(
            "/api/v1/openapi.json",
            get(|| asset(include_str!("../../docs/openapi.json"), "application/json")),
        )
        .fallback(|| async { api::ApiError::not_found("No such page.") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

async fn page(html: &'static str) -> Response {
    asset(html, "text/html; charset=utf-8").await
}

async fn asset(body: &'static str, ty: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ty),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// On every response: no Referer (a link's secret never leaks), no MIME sniffing, only
/// our own scripts.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    // No Referer leaves a page, except where a page says otherwise (the join page: a
    // browser sends `Origin: null` on a form POST from a no-referrer page).
    if !h.contains_key("referrer-policy") {
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    res
}

/// The machine's address on the local network: the source address of a UDP socket
/// "connected" to a private address (no packet is sent).
pub fn lan_address() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("10.255.255.255:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

/// Where to listen, from the config and `--lan`.
pub fn listen_addr(config: &Config, lan: bool) -> SocketAddr {
    let mut addr = config.web.listen;
    if lan || config.web.lan {
        addr.set_ip(IpAddr::from([0, 0, 0, 0]));
    }
    addr
}

/// The base URL of links for a server bound at `bound`.
pub fn base_url(config: &Config, lan: bool, bound: SocketAddr) -> String {
    if let Some(u) = &config.web.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let ip = if lan || config.web.lan || bound.ip().is_unspecified() {
        lan_address().unwrap_or(IpAddr::from([127, 0, 0, 1]))
    } else {
        bound.ip()
    };
    match ip {
        IpAddr::V6(v6) => format!("http://[{v6}]:{}", bound.port()),
        IpAddr::V4(v4) => format!("http://{v4}:{}", bound.port()),
    }
}

/// How [`serve`] starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Create a campaign "The table" when there is no active one.
    pub create_campaign: bool,
    /// Print nothing to stdout (the terminal table owns it): no address, no GM link.
    pub quiet: bool,
}

/// A web table bound to its address, not yet serving.
pub struct Bound {
    listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
    /// The base of its links.
    pub base: String,
}

/// Binds `web.listen` (0.0.0.0 with `lan`) and works out the links' base URL.
pub async fn bind(config: &Config, lan: bool) -> anyhow::Result<Bound> {
    let addr = listen_addr(config, lan);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("the web table cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    let base = base_url(config, lan, bound);
    Ok(Bound {
        listener,
        addr: bound,
        base,
    })
}

/// Serves the phone table until `shutdown` completes: binds `web.listen` (0.0.0.0 with
/// `lan`), prints a new GM link (with a QR code) to stdout for the oldest active
/// campaign (with `create_campaign`, a new campaign "The table" when there is none),
/// then serves. Links made through `table` (by any front end) lead here.
pub async fn serve(
    config: &Config,
    lan: bool,
    table: Table,
    feeds: Feeds,
    gm: GameMaster,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let bound = bind(config, lan).await?;
    serve_bound(bound, table, feeds, gm, options, shutdown).await
}

/// As [`serve`], on an address bound already.
pub async fn serve_bound(
    bound: Bound,
    table: Table,
    feeds: Feeds,
    gm: GameMaster,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Bound {
        listener,
        addr: bound,
        base,
    } = bound;
    let state = WebState::with_table(table, feeds, gm, &base);
    if !options.quiet {
        announce(&state, &base, bound, options.create_campaign).await?;
    }
    tracing::info!(%bound, base = %base, "web table listening");
    let hub = state.hub.clone();
    // Who is here through the other front ends (the bot's voice call) in the list.
    tokio::spawn(hub::follow_seats(hub.clone(), state.table.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // No Nagle: a socket's small messages (an event, then its line) go out as they are
    // written instead of waiting for the client's delayed acknowledgement.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = hub.closing.send(true);
        })
        .await?;
    Ok(())
}

/// Prints where the table listens and a new GM link with its QR code.
async fn announce(
    state: &WebState,
    base: &str,
    bound: SocketAddr,
    create_campaign: bool,
) -> anyhow::Result<()> {
    let campaign = api::startup_campaign(state, create_campaign)
        .await
        .map_err(|e| anyhow::anyhow!("the web table's campaign: {}", e.message))?;
    let link = match campaign {
        Some(c) => {
            let invite = state
                .table
                .invite(
                    c,
                    crate::table::By::Host,
                    crate::table::InviteRequest::new(auth::Role::Gm),
                )
                .await
                .map_err(|e| anyhow::anyhow!("the GM link: {e}"))?;
            Some(invite.url)
        }
        None => None,
    };
    {
        use std::io::Write;
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "Web table listening on {bound} ({base})");
        match &link {
            Some(url) => {
                let _ = writeln!(o, "GM link (works once): {url}");
                if let Some(q) = qr::unicode(url) {
                    let _ = writeln!(o, "{q}");
                }
            }
            None => {
                let _ = writeln!(
                    o,
                    "No campaign yet: start one in Discord, then restart for a GM link."
                );
            }
        }
        let _ = o.flush();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_listens_everywhere_and_links_name_a_reachable_address() {
        let mut config = Config::default();
        assert_eq!(listen_addr(&config, false).to_string(), "127.0.0.1:8787");
        assert_eq!(listen_addr(&config, true).to_string(), "0.0.0.0:8787");
        config.web.lan = true;
        assert_eq!(listen_addr(&config, false).to_string(), "0.0.0.0:8787");
        let bound: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        let base = base_url(&config, false, bound);
        assert!(
            base.starts_with("http://") && base.ends_with(":9000"),
            "{base}"
        );
        assert!(!base.contains("0.0.0.0"), "{base}");
        config.web.public_url = Some("https://table.example.org/".into());
        assert_eq!(base_url(&config, false, bound), "https://table.example.org");
        let local: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        config.web.public_url = None;
        config.web.lan = false;
        assert_eq!(base_url(&config, false, local), "http://127.0.0.1:8787");
    }
}
