//! Word error rate and word overlap, for tests and benchmarks of speech-to-text.

/// Lower-cases, drops punctuation (keeps apostrophes inside words), splits into words
/// (hyphens split too: "8-slashing") and writes number words as digits ("twelve" and
/// "12" are the same word to a listener; whisper writes either).
pub fn normalize(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '-')
        .map(|w| {
            let w = w
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '\u{2019}')
                .map(|c| if c == '\u{2019}' { '\'' } else { c })
                .collect::<String>()
                .trim_matches('\'')
                .to_lowercase();
            number_word(&w).map_or(w, str::to_string)
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// "zero" … "twenty", and the tens to "ninety", as digits.
fn number_word(w: &str) -> Option<&'static str> {
    const WORDS: [(&str, &str); 28] = [
        ("zero", "0"),
        ("one", "1"),
        ("two", "2"),
        ("three", "3"),
        ("four", "4"),
        ("five", "5"),
        ("six", "6"),
        ("seven", "7"),
        ("eight", "8"),
        ("nine", "9"),
        ("ten", "10"),
        ("eleven", "11"),
        ("twelve", "12"),
        ("thirteen", "13"),
        ("fourteen", "14"),
        ("fifteen", "15"),
        ("sixteen", "16"),
        ("seventeen", "17"),
        ("eighteen", "18"),
        ("nineteen", "19"),
        ("twenty", "20"),
        ("thirty", "30"),
        ("forty", "40"),
        ("fifty", "50"),
        ("sixty", "60"),
        ("seventy", "70"),
        ("eighty", "80"),
        ("ninety", "90"),
    ];
    WORDS.iter().find(|(word, _)| *word == w).map(|(_, d)| *d)
}

/// Word-level edit distance (substitutions + deletions + insertions) between a
/// reference and a hypothesis, and the number of reference words.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// Word error rate of one pair (0.0 = perfect; can exceed 1.0).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (e, n) = word_errors(reference, hypothesis);
    e as f64 / n.max(1) as f64
}

/// Corpus word error rate: total errors / total reference words.
pub fn corpus_wer<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> f64 {
    let (mut e, mut n) = (0, 0);
    for (r, h) in pairs {
        let (de, dn) = word_errors(r, h);
        e += de;
        n += dn;
    }
    e as f64 / n.max(1) as f64
}

/// Fraction of the reference's words (as a multiset) found in the hypothesis.
pub fn word_overlap(reference: &str, hypothesis: &str) -> f64 {
    let r = normalize(reference);
    let mut h = normalize(hypothesis);
    let mut hits = 0;
    for w in &r {
        if let Some(pos) = h.iter().position(|x| x == w) {
            h.swap_remove(pos);
            hits += 1;
        }
    }
    hits as f64 / r.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wer_counts_edits() {
        assert_eq!(
            word_errors("I attack the goblin.", "i attack the goblin"),
            (0, 4)
        );
        assert_eq!(
            word_errors("Roll for initiative.", "Roll far initiative."),
            (1, 3)
        );
        assert_eq!(word_errors("a b c", "a c"), (1, 3));
        assert_eq!(word_errors("a b", "a x b y"), (2, 2));
        assert!((corpus_wer([("a b", "a b"), ("c d", "c")]) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn number_words_and_digits_are_one_word() {
        assert_eq!(
            normalize("A natural one-foring, with the Longsword (12)!"),
            [
                "a",
                "natural",
                "1",
                "foring",
                "with",
                "the",
                "longsword",
                "12"
            ]
        );
        assert_eq!(wer("the longsword twelve", "The Longsword (12)."), 0.0);
    }

    #[test]
    fn overlap_is_a_multiset_fraction() {
        assert_eq!(
            word_overlap("That's twelve points.", "that's 12 points"),
            1.0
        );
        assert_eq!(word_overlap("the the cat", "the cat"), 2.0 / 3.0);
    }
}
