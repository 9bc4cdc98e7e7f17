//! Request-rate accounting over the request log. Rather than emulating Discord's undocumented
//! per-route buckets, tests state budgets ("≤ 5 message creates/edits per channel per 5 s") and
//! the fake measures the worst window.
//!
//! A pattern is `[METHODS ]PATH`: METHODS is `*` or `|`-separated (`POST|PATCH`), absent means
//! any. PATH segments: a literal matches itself; `{name}` matches one segment and *groups* by it
//! (each distinct value is counted separately, like Discord's major parameters); `*` matches one
//! segment without grouping; a trailing `**` matches zero or more segments.
//! Example: `"POST|PATCH /channels/{channel}/messages/**"`.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::model::LoggedRequest;

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    methods: Option<Vec<String>>,
    segments: Vec<Seg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Literal(String),
    Group,
    Any,
    Rest,
}

impl Pattern {
    pub fn parse(pattern: &str) -> Self {
        let pattern = pattern.trim();
        let (methods, path) = match pattern.split_once(' ') {
            Some((m, p)) if !m.starts_with('/') => (m, p.trim()),
            _ => ("*", pattern),
        };
        let methods = (methods != "*").then(|| {
            methods
                .split('|')
                .map(|m| m.trim().to_ascii_uppercase())
                .collect()
        });
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "**" => Seg::Rest,
                "*" => Seg::Any,
                s if s.starts_with('{') && s.ends_with('}') => Seg::Group,
                s => Seg::Literal(s.to_owned()),
            })
            .collect();
        Self { methods, segments }
    }

    /// `Some(group key)` when the request matches.
    pub fn matches(&self, method: &str, path: &str) -> Option<Vec<String>> {
        if let Some(methods) = &self.methods
            && !methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return None;
        }
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut key = Vec::new();
        let mut i = 0;
        for (n, p) in self.segments.iter().enumerate() {
            match p {
                Seg::Rest => {
                    debug_assert_eq!(n + 1, self.segments.len(), "`**` must come last");
                    return Some(key);
                }
                _ if i >= segs.len() => return None,
                Seg::Literal(l) if l != segs[i] => return None,
                Seg::Literal(_) | Seg::Any => {}
                Seg::Group => key.push(segs[i].to_owned()),
            }
            i += 1;
        }
        (i == segs.len()).then_some(key)
    }
}

/// The busiest window: how many matching requests, in which group, starting when.
#[derive(Debug, Clone)]
pub struct RateWindow {
    pub count: usize,
    /// Values of the pattern's `{…}` segments for the busiest group.
    pub group: Vec<String>,
    /// The requests inside the busiest window.
    pub requests: Vec<String>,
}

pub(crate) fn busiest(log: &[LoggedRequest], pattern: &str, window: Duration) -> RateWindow {
    let pattern = Pattern::parse(pattern);
    let mut groups: BTreeMap<Vec<String>, Vec<(Instant, String)>> = BTreeMap::new();
    for r in log {
        if let Some(key) = pattern.matches(&r.method, &r.path) {
            groups.entry(key).or_default().push((r.at, r.line()));
        }
    }
    let mut best = RateWindow {
        count: 0,
        group: Vec::new(),
        requests: Vec::new(),
    };
    for (key, mut times) in groups {
        times.sort_by_key(|(t, _)| *t);
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].0.duration_since(times[start].0) >= window {
                start += 1;
            }
            let count = end - start + 1;
            if count > best.count {
                best = RateWindow {
                    count,
                    group: key.clone(),
                    requests: times[start..=end].iter().map(|(_, l)| l.clone()).collect(),
                };
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(at: Instant, method: &str, path: &str) -> LoggedRequest {
        LoggedRequest {
            at,
            method: method.to_owned(),
            path: path.to_owned(),
            query: None,
            body: None,
            files: Vec::new(),
            status: 200,
            response: None,
            unexpected: false,
        }
    }

    #[test]
    fn patterns() {
        let p = Pattern::parse("POST|PATCH /channels/{c}/messages/**");
        assert_eq!(
            p.matches("POST", "/channels/1/messages"),
            Some(vec!["1".to_owned()])
        );
        assert_eq!(
            p.matches("PATCH", "/channels/2/messages/9"),
            Some(vec!["2".to_owned()])
        );
        assert_eq!(p.matches("GET", "/channels/2/messages/9"), None);
        assert_eq!(p.matches("POST", "/channels/2/typing"), None);
        let all = Pattern::parse("**");
        assert_eq!(all.matches("DELETE", "/anything/at/all"), Some(vec![]));
        let exact = Pattern::parse("/channels/*/pins");
        assert!(exact.matches("GET", "/channels/1/pins").is_some());
        assert!(exact.matches("GET", "/channels/1/pins/2").is_none());
    }

    #[test]
    fn sliding_window_per_group() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let log = vec![
            req(t0, "POST", "/channels/1/messages"),
            req(t0 + s(1), "POST", "/channels/1/messages"),
            req(t0 + s(2), "POST", "/channels/2/messages"),
            req(t0 + s(4), "PATCH", "/channels/1/messages/5"),
            req(t0 + s(5), "PATCH", "/channels/1/messages/5"),
            req(t0 + s(6), "PATCH", "/channels/1/messages/5"),
        ];
        let w = busiest(&log, "POST|PATCH /channels/{c}/messages/**", s(5));
        assert_eq!(w.count, 3, "{w:?}"); // channel 1 at t=0,1,4 (or 1,4,5 or 4,5,6)
        assert_eq!(w.group, vec!["1".to_owned()]);
        assert_eq!(busiest(&log, "**", s(1)).count, 1);
        assert_eq!(busiest(&log, "**", s(100)).count, 6);
    }
}
