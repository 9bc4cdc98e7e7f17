//! QR codes for join links: SVG for pages and API answers, PNG for chat attachments
//! (Discord), Unicode blocks for the terminal.

use qrcode::render::{svg, unicode};
use qrcode::{Color, QrCode};

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

/// Pixels per module of a PNG code, and the quiet zone around it (modules).
const PNG_SCALE: usize = 8;
const PNG_QUIET: usize = 4;

/// A PNG image of a QR code of `text` (black on white, 1 bit a pixel), `None` if it is
/// too long for a QR code. Written here (zlib from `flate2`, CRC from `crc32fast`)
/// rather than through an image crate: the format needs three chunks.
pub fn png(text: &str) -> Option<Vec<u8>> {
    use std::io::Write;
    let code = QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * PNG_QUIET) * PNG_SCALE;
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity((row_bytes + 1) * side);
    for y in 0..side {
        raw.push(0); // filter: none
        let my = (y / PNG_SCALE).checked_sub(PNG_QUIET);
        let mut row = vec![0xffu8; row_bytes];
        for x in 0..side {
            let mx = (x / PNG_SCALE).checked_sub(PNG_QUIET);
            let dark = match (mx, my) {
                (Some(mx), Some(my)) if mx < modules && my < modules => {
                    colors[my * modules + mx] == Color::Dark
                }
                _ => false,
            };
            if dark {
                row[x / 8] &= !(0x80 >> (x % 8));
            }
        }
        raw.extend_from_slice(&row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).ok()?;
    let idat = z.finish().ok()?;
    let side = u32::try_from(side).ok()?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    // Bit depth 1, greyscale, deflate, no filter method beyond the standard, no interlace.
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (ty, data) in [
        (b"IHDR", &ihdr[..]),
        (b"IDAT", &idat[..]),
        (b"IEND", &[][..]),
    ] {
        out.extend_from_slice(&u32::try_from(data.len()).ok()?.to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(ty);
        crc.update(data);
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    Some(out)
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
        assert!(super::png(&"x".repeat(10_000)).is_none());
    }

    /// The PNG is well formed: signature, chunk CRCs, and pixels that decode back to
    /// the code's modules (inflated here and compared module by module).
    #[test]
    fn png_codes_are_valid_images_of_the_code() {
        use std::io::Read;
        let url = "http://127.0.0.1:8787/join/3q2-7wE0c1X3kq9dV6m3o0v8kz8y9p4yYwq5m9b2nQk";
        let png = super::png(url).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let mut chunks = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let ty = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            let mut h = crc32fast::Hasher::new();
            h.update(ty);
            h.update(data);
            assert_eq!(h.finalize(), crc, "chunk CRC");
            chunks.push((ty.to_vec(), data.to_vec()));
            at += 12 + len;
        }
        let names: Vec<&[u8]> = chunks.iter().map(|c| &c.0[..]).collect();
        assert_eq!(names, [&b"IHDR"[..], b"IDAT", b"IEND"]);
        let side = u32::from_be_bytes(chunks[0].1[..4].try_into().unwrap()) as usize;
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&chunks[1].1[..])
            .read_to_end(&mut raw)
            .unwrap();
        let row = side.div_ceil(8) + 1;
        assert_eq!(raw.len(), row * side);
        let code = qrcode::QrCode::new(url.as_bytes()).unwrap();
        let w = code.width();
        assert_eq!(side, (w + 2 * super::PNG_QUIET) * super::PNG_SCALE);
        let colors = code.to_colors();
        for my in 0..w {
            for mx in 0..w {
                let (x, y) = (
                    (mx + super::PNG_QUIET) * super::PNG_SCALE + 3,
                    (my + super::PNG_QUIET) * super::PNG_SCALE + 3,
                );
                let bit = raw[y * row + 1 + x / 8] & (0x80 >> (x % 8));
                assert_eq!(bit == 0, colors[my * w + mx] == qrcode::Color::Dark);
            }
        }
    }
}
