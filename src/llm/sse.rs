//! A server-sent events decoder (the `text/event-stream` format both providers stream
//! in). Bytes go in as they arrive, in chunks of any size: lines may be split anywhere,
//! even inside a UTF-8 character; complete events come out.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field (Anthropic names its events; OpenAI does not).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental parser. Feed it with [`SseParser::push`]; call [`SseParser::finish`] at the
/// end of the body to get an event that was not followed by a blank line.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    has_data: bool,
}

/// The longest line accepted: a stream that never sends a newline is garbage, not a
/// reason to grow without bound.
pub const MAX_LINE: usize = 1 << 20;

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes; returns the events completed by them. Errs if a line exceeds
    /// [`MAX_LINE`].
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buf[start..]
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
        {
            let end = start + pos;
            // A CR LF pair is one line ending; a lone CR at the end of the buffer may be
            // followed by LF in the next chunk, so wait for it.
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                if end + 1 == self.buf.len() {
                    break;
                }
                if self.buf[end + 1] == b'\n' {
                    next += 1;
                }
            }
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            self.line(&line, &mut out);
            start = next;
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE {
            return Err(format!("an event-stream line exceeds {MAX_LINE} bytes"));
        }
        Ok(out)
    }

    /// Ends the stream: an unterminated last line and a pending event are dispatched.
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(&rest)
                .trim_end_matches('\r')
                .to_string();
            self.line(&line, &mut out);
        }
        self.line("", &mut out);
        out.pop()
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if self.has_data {
                out.push(SseEvent {
                    event: self.event.take(),
                    data: self.data.join("\n"),
                });
            }
            self.event = None;
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return; // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                self.data.push(value.to_string());
                self.has_data = true;
            }
            _ => {} // id, retry and unknown fields do not matter here
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c).unwrap());
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let text =
            "event: message_start\ndata: {\"a\":1}\n\n: ping\n\ndata: h\u{e9}llo\ndata: world\n\n";
        let bytes = text.as_bytes();
        let whole = all(&[bytes]);
        assert_eq!(
            whole,
            vec![
                SseEvent {
                    event: Some("message_start".into()),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: None,
                    data: "h\u{e9}llo\nworld".into()
                },
            ]
        );
        // Every split point, including inside the two-byte é.
        for i in 0..bytes.len() {
            assert_eq!(all(&[&bytes[..i], &bytes[i..]]), whole, "split at {i}");
        }
        // One byte at a time.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(all(&singles), whole);
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        let got = all(&[b"data: a\r", b"\ndata: b\r\n\r\n", b"data: c\r\r"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].data, "a\nb");
        assert_eq!(got[1].data, "c");
    }

    #[test]
    fn unterminated_last_event_is_dispatched_at_the_end() {
        let got = all(&[b"data: [DONE]"]);
        assert_eq!(got[0].data, "[DONE]");
    }

    #[test]
    fn endless_line_is_an_error() {
        let mut p = SseParser::new();
        let big = vec![b'x'; MAX_LINE + 1];
        assert!(p.push(&big).is_err());
    }
}
