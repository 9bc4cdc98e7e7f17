//! QR codes for join links: SVG for pages and API answers, Unicode blocks for the
//! terminal.

use qrcode::QrCode;
use qrcode::render::{svg, unicode};

/// An SVG QR code of `text` (`None` if it is too long for a QR code).
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// A QR code of `text` in Unicode half blocks (two modules a character), for a
/// terminal: dark modules as spaces on a light background reads well on both dark and
/// light terminals' scanners.
pub fn unicode(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn links_make_codes() {
        let url = "http://192.168.1.20:8787/join/3q2-7wE0c1X3kq9dV6m3o0v8kz8y9p4yYwq5m9b2nQk";
        let s = super::svg(url).unwrap();
        assert!(s.contains("<svg") && s.contains("</svg>"));
        let u = super::unicode(url).unwrap();
        assert!(u.lines().count() > 10);
        assert!(super::svg(&"x".repeat(10_000)).is_none());
    }
}
