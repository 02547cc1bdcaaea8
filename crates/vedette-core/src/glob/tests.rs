//! The matcher against a line-by-line port of Redis 7's `stringmatchlen_impl` (the reference), over
//! random patterns and strings built from the bytes that matter (`*?[]^-\`, letters of both cases, bytes
//! above 0x7f), plus the edge cases Redis's syntax has.

use super::*;

/// Redis 7 `stringmatchlen` (util.c), transcribed: signed `char`s, one byte past the end reads as the NUL
/// terminator, `skipLongerMatches` and the 1000-deep nesting limit. `skip_cut = false` drops the cut,
/// giving the plain exponential recursion (a second, independent reference for short patterns).
fn redis_ref(p: &[u8], s: &[u8], nocase: bool, skip_cut: bool) -> bool {
    let mut skip = false;
    redis_impl(
        p,
        0,
        p.len() as isize,
        s,
        0,
        s.len() as isize,
        nocase,
        skip_cut,
        &mut skip,
        0,
    )
}

#[allow(clippy::too_many_arguments)]
fn redis_impl(
    p: &[u8],
    mut pi: usize,
    mut plen: isize,
    s: &[u8],
    mut si: usize,
    mut slen: isize,
    nocase: bool,
    skip_cut: bool,
    skip: &mut bool,
    nesting: u32,
) -> bool {
    let pat = |i: usize| i32::from(p.get(i).copied().unwrap_or(0) as i8);
    let st = |i: usize| i32::from(s.get(i).copied().unwrap_or(0) as i8);
    let c = |b: u8| i32::from(b as i8);
    if nesting > 1000 {
        return false;
    }
    while plen > 0 && slen > 0 {
        match pat(pi) {
            x if x == c(b'*') => {
                while plen > 0 && pat(pi + 1) == c(b'*') {
                    pi += 1;
                    plen -= 1;
                }
                if plen == 1 {
                    return true;
                }
                while slen > 0 {
                    if redis_impl(
                        p,
                        pi + 1,
                        plen - 1,
                        s,
                        si,
                        slen,
                        nocase,
                        skip_cut,
                        skip,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if skip_cut && *skip {
                        return false;
                    }
                    si += 1;
                    slen -= 1;
                }
                *skip = true;
                return false;
            }
            x if x == c(b'?') => {
                si += 1;
                slen -= 1;
            }
            x if x == c(b'[') => {
                pi += 1;
                plen -= 1;
                let not = pat(pi) == c(b'^');
                if not {
                    pi += 1;
                    plen -= 1;
                }
                let mut m = false;
                loop {
                    if pat(pi) == c(b'\\') && plen >= 2 {
                        pi += 1;
                        plen -= 1;
                        if pat(pi) == st(si) {
                            m = true;
                        }
                    } else if pat(pi) == c(b']') {
                        break;
                    } else if plen == 0 {
                        pi -= 1;
                        plen += 1;
                        break;
                    } else if plen >= 3 && pat(pi + 1) == c(b'-') {
                        let (mut a, mut z, mut ch) = (pat(pi), pat(pi + 2), st(si));
                        if a > z {
                            std::mem::swap(&mut a, &mut z);
                        }
                        if nocase {
                            a = lower_i(a);
                            z = lower_i(z);
                            ch = lower_i(ch);
                        }
                        pi += 2;
                        plen -= 2;
                        if ch >= a && ch <= z {
                            m = true;
                        }
                    } else if !nocase {
                        if pat(pi) == st(si) {
                            m = true;
                        }
                    } else if lower_i(pat(pi)) == lower_i(st(si)) {
                        m = true;
                    }
                    pi += 1;
                    plen -= 1;
                }
                if not {
                    m = !m;
                }
                if !m {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
            x => {
                if x == c(b'\\') && plen >= 2 {
                    pi += 1;
                    plen -= 1;
                }
                let eq = if nocase {
                    lower_i(pat(pi)) == lower_i(st(si))
                } else {
                    pat(pi) == st(si)
                };
                if !eq {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
        }
        pi += 1;
        plen -= 1;
        if slen == 0 {
            while pat(pi) == c(b'*') {
                pi += 1;
                plen -= 1;
            }
            break;
        }
    }
    plen == 0 && slen == 0
}

/// splitmix64, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
        let n = self.below(max_len + 1);
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

const PAT_BYTES: &[u8] = b"ab*?*[]^-\\AzZ_\x80\xff\x00";
const STR_BYTES: &[u8] = b"abAB]^-\\[*?zZ_\x80\xff\x00";

#[test]
fn agrees_with_redis_on_random_patterns() {
    let mut rng = Rng(0x5EED);
    let mut matched = 0;
    for case in 0..300_000 {
        let p = rng.bytes(PAT_BYTES, 10);
        let s = rng.bytes(STR_BYTES, 8);
        let nocase = case % 3 == 0;
        let want = redis_ref(&p, &s, nocase, true);
        matched += usize::from(want);
        assert_eq!(
            Pattern::new(&p, nocase).matches(&s),
            want,
            "pattern {:?} string {:?} nocase {nocase}",
            String::from_utf8_lossy(&p),
            String::from_utf8_lossy(&s)
        );
        if p.len() <= 8 {
            // The cut is only an optimisation: the plain recursion agrees.
            assert_eq!(redis_ref(&p, &s, nocase, false), want, "{p:?} {s:?}");
        }
    }
    // The generator must exercise both outcomes, or agreement means little.
    assert!(matched > 5_000, "only {matched} matches");
}

#[test]
fn agrees_with_redis_on_longer_strings_and_every_range() {
    let mut rng = Rng(42);
    // Ranges between arbitrary bytes, incl. across the signed-char boundary.
    for _ in 0..20_000 {
        let (a, z, x) = (
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        );
        for nocase in [false, true] {
            let p = [b'[', a, b'-', z, b']'];
            assert_eq!(
                Pattern::new(&p, nocase).matches(&[x]),
                redis_ref(&p, &[x], nocase, true),
                "[{a:#x}-{z:#x}] vs {x:#x} nocase {nocase}"
            );
        }
    }
    for _ in 0..30_000 {
        let p = rng.bytes(b"a*b?*[a-c]", 14);
        let s = rng.bytes(b"abcab", 30);
        assert_eq!(
            Pattern::new(&p, false).matches(&s),
            redis_ref(&p, &s, false, true),
            "{:?} {:?}",
            String::from_utf8_lossy(&p),
            String::from_utf8_lossy(&s)
        );
    }
}

#[test]
fn redis_edge_cases() {
    let cases: &[(&[u8], &[u8], bool)] = &[
        (b"", b"", true),
        (b"*", b"", false), // Redis: the empty string matches only the empty pattern
        (b"", b"a", false),
        (b"*", b"anything", true),
        (b"a*", b"a", true),
        (b"a**", b"a", true),
        (b"?", b"", false),
        (b"[]", b"]", false),     // empty set
        (b"[]a]", b"a]", false),  // `[]` then `a]`
        (b"[]a]", b"]a]", false), // `[]` matches nothing
        (b"[^]", b"x", true),     // negated empty set
        (b"[a-]", b"]", true),    // range a..']' (swapped)
        (b"[a-]", b"_", true),
        (b"[a-]", b"-", false),
        (b"[abc", b"b", true), // unterminated: the set runs to the end
        (b"[abc", b"d", false),
        (b"[", b"x", false),    // unterminated and empty
        (b"[^", b"x", true),    // unterminated, negated, empty
        (b"[\\]]", b"]", true), // escaped ]
        (b"[\\", b"\\", true),  // a lone trailing backslash in a set is a member
        (b"\\", b"\\", true),   // trailing backslash is literal
        (b"a\\*b", b"a*b", true),
        (b"a\\*b", b"axb", false),
        (b"[c-a]x", b"bx", true),
        (b"h?llo", b"hello", true),
        (b"*-master", b"+switch-master", true),
    ];
    for (p, s, want) in cases {
        assert_eq!(
            Pattern::new(p, false).matches(s),
            *want,
            "{:?} ~ {:?}",
            String::from_utf8_lossy(p),
            String::from_utf8_lossy(s)
        );
        assert_eq!(
            redis_ref(p, s, false, true),
            *want,
            "reference disagrees on {p:?} {s:?}"
        );
    }
    // Case folding: literals and ranges fold, escaped set members do not.
    assert!(Pattern::new(b"RESOLVE-*", true).matches(b"resolve-hostnames"));
    assert!(Pattern::new(b"[A-C]x", true).matches(b"bX"));
    assert!(!Pattern::new(b"[\\A]", true).matches(b"a"));
    assert!(Pattern::new(b"[A]", true).matches(b"a"));
}

#[test]
fn star_nesting_limit_is_redis_s() {
    let thousand = "*a".repeat(1000);
    let s1000 = "a".repeat(1000);
    let s1001 = "a".repeat(1001);
    for (p, s) in [
        (thousand.clone(), s1000.clone()),
        (format!("{thousand}*a"), s1001.clone()),
        (format!("{thousand}*"), s1000.clone()),
        (format!("{thousand}*"), s1001.clone()),
    ] {
        assert_eq!(
            Pattern::new(p.as_bytes(), false).matches(s.as_bytes()),
            redis_ref(p.as_bytes(), s.as_bytes(), false, true),
            "{} stars vs {} bytes",
            p.matches('*').count(),
            s.len()
        );
    }
    assert!(!Pattern::new(format!("{thousand}*a").as_bytes(), false).matches(s1001.as_bytes()));
}

#[test]
fn hostile_patterns_finish() {
    // Exponential for a backtracking matcher; at most n × m steps here (and the answer must be right).
    let p = "*a".repeat(60) + "b";
    let s = "a".repeat(20_000);
    assert!(!Pattern::new(p.as_bytes(), false).matches(s.as_bytes()));
    assert!(Pattern::new(p.as_bytes(), false).matches((s.clone() + "b").as_bytes()));
    let classes = "*[a-z]".repeat(200) + "[0-9]";
    assert!(!Pattern::new(classes.as_bytes(), true).matches(s.as_bytes()));
    // A huge pattern against a short name is rejected by length before any scanning.
    let big = "?".repeat(1_000_000);
    assert!(!Pattern::new(big.as_bytes(), false).matches(b"short"));
}

#[test]
fn sets_are_deduplicated() {
    let p = Pattern::new(b"[ab][ab][ab][^x]", false);
    assert_eq!(p.sets.len(), 2);
    assert!(p.matches(b"abay"));
}

#[test]
fn fnmatch_syntax() {
    let yes: &[(&str, &str)] = &[
        ("*.conf", "a.conf"),
        ("s?.[ch]", "s1.c"),
        ("[!a]x", "bx"),
        ("[^a]x", "bx"),
        ("[0-9]", "7"),
        ("[]]", "]"),
        ("[]a]", "a"),
        ("[a-]", "-"),
        ("[!]]", "a"),
        ("[[:digit:]]*", "1abc"),
        ("[[:alpha:]_]", "_"),
        ("a\\*", "a*"),
        ("[", "["),
        ("x[", "x["),
        ("[a", "[a"),
        ("\\[a]", "[a]"),
    ];
    for (p, s) in yes {
        assert!(
            Pattern::fnmatch(p.as_bytes()).matches(s.as_bytes()),
            "{p} ~ {s}"
        );
    }
    let no: &[(&str, &str)] = &[
        ("*.conf", "a.conf.bak"),
        ("[!a]x", "ax"),
        ("[z-a]", "m"),
        ("a\\*", "ab"),
        ("[[:digit:]]", "a"),
    ];
    for (p, s) in no {
        assert!(
            !Pattern::fnmatch(p.as_bytes()).matches(s.as_bytes()),
            "{p} !~ {s}"
        );
    }
}
