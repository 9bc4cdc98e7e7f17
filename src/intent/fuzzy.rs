//! Forgiving word matching for typed and transcribed text: typos ("atack"),
//! transpositions ("cats" for "cast"), split or joined words ("fire ball"), plurals and
//! parts of names ("axe" for "Greataxe", "potion" for "Potion of Healing").

/// Lower case, straight quotes, punctuation to spaces (keeping `'`), single spaces.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            '\u{2018}' | '\u{2019}' => '\'',
            c => c,
        };
        if c.is_alphanumeric() || c == '\'' {
            out.extend(c.to_lowercase());
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words that carry no meaning when matching names.
const FILLER: &[&str] = &[
    "the", "a", "an", "my", "your", "his", "her", "their", "our", "its", "that", "this", "those",
    "these", "some", "of", "spell", "cantrip", "one",
];

/// The meaningful words of a name or phrase.
pub fn content_words(s: &str) -> Vec<String> {
    normalize(s)
        .split(' ')
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .map(str::to_string)
        .collect()
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// Two words that are the same up to a typo or two (more allowed for longer words),
/// or a plural.
pub fn close(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let strip = |w: &str| -> String {
        w.strip_suffix("es")
            .filter(|s| s.len() >= 4)
            .or_else(|| w.strip_suffix('s'))
            .unwrap_or(w)
            .to_string()
    };
    if strip(a) == strip(b) {
        return true;
    }
    let len = a.chars().count().min(b.chars().count());
    let d = distance(a, b);
    (len >= 4 && d <= 1) || (len >= 7 && d <= 2)
}

/// How well a user's word names one word of a name: close, or a tail ("axe" in
/// "greataxe", "bow" in "shortbow") or a head ("potion" of "potions").
fn word_matches(user: &str, name: &str) -> bool {
    close(user, name)
        || user.len() >= 3 && name.ends_with(user)
        || user.len() >= 4 && name.starts_with(user)
}

/// How well `phrase` names `name`; lower is better, `None` for no match:
/// 0 exact, 1 the same once spaces are removed ("fire ball"), 2 a near miss of the whole
/// ("magic missle"), 3 every word of the phrase is in the name ("axe", "potion"),
/// 4 every word of the name is in the phrase ("my healing potion" for "Potion of Healing").
pub fn name_score(phrase: &str, name: &str) -> Option<u8> {
    let p = content_words(phrase);
    let n = content_words(name);
    if p.is_empty() || n.is_empty() {
        return None;
    }
    if p == n {
        return Some(0);
    }
    let (ps, ns) = (p.concat(), n.concat());
    if ps == ns {
        return Some(1);
    }
    if ps.chars().count() >= 5 && close(&ps, &ns) {
        return Some(2);
    }
    if p.iter().all(|pw| n.iter().any(|nw| word_matches(pw, nw))) {
        return Some(3);
    }
    if n.iter().all(|nw| p.iter().any(|pw| close(pw, nw))) {
        return Some(4);
    }
    None
}

/// The names in `names` that `phrase` matches best (several when tied).
pub fn best<'a>(
    phrase: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> (Option<u8>, Vec<&'a str>) {
    let mut best: Option<u8> = None;
    let mut out = Vec::new();
    for n in names {
        let Some(s) = name_score(phrase, n) else {
            continue;
        };
        match best {
            Some(b) if s > b => {}
            Some(b) if s == b => out.push(n),
            _ => {
                best = Some(s);
                out = vec![n];
            }
        }
    }
    (best, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("cast", "cats"), 1);
        assert_eq!(distance("attack", "atack"), 1);
        assert_eq!(distance("missile", "missle"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn names_match_forgivingly() {
        assert_eq!(name_score("Fire Bolt", "fire bolt"), Some(0));
        assert_eq!(name_score("fireball", "Fire Ball"), Some(1));
        assert_eq!(name_score("magic missle", "Magic Missile"), Some(2));
        assert_eq!(name_score("my axe", "Greataxe"), Some(3));
        assert_eq!(name_score("healing potion", "Potion of Healing"), Some(3));
        assert_eq!(name_score("the goblins", "Goblin"), Some(2));
        assert_eq!(name_score("sword", "Shield"), None);
        assert_eq!(name_score("hit", "Hide"), None);
    }
}
