//! Glob patterns: the one matcher behind every pattern vedette accepts — `SENTINEL RESET`, `SENTINEL CONFIG
//! GET`, `PSUBSCRIBE`, `COMMAND LIST FILTERBY PATTERN` (Redis's `stringmatchlen` syntax, [`Pattern::new`])
//! and the config file's `include` (glob(3) syntax, [`Pattern::fnmatch`]).
//!
//! Why not Redis's algorithm: `stringmatchlen` backtracks recursively at every `*`, which is exponential in
//! the number of stars (`*a*a*a*a*a*a*a*a*a*a*b` against a 40-byte name took vedette's old port of it
//! 24 s). Redis 7.0.9 (CVE-2022-36021) bounded it with a "skip longer matches" cut and a 1000-deep
//! recursion limit. Here a pattern is compiled once into tokens of which every one but `*` matches exactly
//! one byte, and matching is the classic greedy two-pointer scan that only ever backtracks to the most
//! recent star (a later star never needs an earlier one to grow, because each non-star token is one
//! byte). A match costs O(n × min(n, m)) for a string of n bytes and a pattern of m tokens, after an O(m)
//! compile; the compiled pattern is reused for every name (RESET over 1,000 masters) or message
//! (a subscription).
//!
//! The semantics are Redis's, quirks included, so a pattern selects what it selects on redis-sentinel:
//! * `*` any run of bytes, `?` one byte, `\x` the byte `x` (a trailing `\` is a literal `\`).
//! * `[...]` one byte from a set: `^` first negates, `a-z` is a range (reversed ends are swapped), `\x`
//!   is `x` (compared case-sensitively even when matching ignores case, as in Redis). `]` right after `[`
//!   closes an empty set (`[]` matches nothing, `[^]` anything); an unterminated `[` runs to the end of
//!   the pattern; `[a-]` is the range from `a` to `]`, because Redis takes the byte after `-` whatever it
//!   is. Range ends are compared as C `char`, which is signed on x86-64 (so `[a-\xff]` is the set
//!   -1..=97, i.e. `\xff` and `\x00`-`a`).
//! * Case folding (`nocase`, used by CONFIG GET and COMMAND) is ASCII `tolower`.
//! * The empty string matches only the empty pattern (`*` does not match it: Redis's loop never runs).
//! * A pattern whose 1001st group of stars is followed by anything else never matches a non-empty
//!   string (Redis's recursion limit makes that star fail wherever it is tried).

use std::collections::BTreeMap;

/// Redis's recursion limit (`nesting > 1000`): the 1001st star can never be expanded.
const MAX_STAR_NESTING: usize = 1000;

/// A set of bytes, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1u64 << (b & 63)) != 0
    }

    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1u64 << (b & 63);
    }

    /// The bytes `lo..=hi` (unsigned order; empty if `lo > hi`).
    fn span(lo: u8, hi: u8) -> ByteSet {
        let mut s = ByteSet::default();
        if lo > hi {
            return s;
        }
        for (w, word) in s.0.iter_mut().enumerate() {
            let (base, top) = (w as u32 * 64, w as u32 * 64 + 63);
            let (a, b) = (u32::from(lo).max(base), u32::from(hi).min(top));
            if a <= b {
                let width = b - a + 1;
                let ones = if width == 64 {
                    u64::MAX
                } else {
                    (1u64 << width) - 1
                };
                *word |= ones << (a - base);
            }
        }
        s
    }

    fn union(self, o: ByteSet) -> ByteSet {
        ByteSet([
            self.0[0] | o.0[0],
            self.0[1] | o.0[1],
            self.0[2] | o.0[2],
            self.0[3] | o.0[3],
        ])
    }

    fn intersect(self, o: ByteSet) -> ByteSet {
        ByteSet([
            self.0[0] & o.0[0],
            self.0[1] & o.0[1],
            self.0[2] & o.0[2],
            self.0[3] & o.0[3],
        ])
    }

    fn complement(self) -> ByteSet {
        ByteSet([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }

    /// The bytes whose value as a C `char` (signed) lies in `lo..=hi`.
    fn signed_span(lo: i32, hi: i32) -> ByteSet {
        let lo = lo.max(-128);
        let hi = hi.min(127);
        if lo > hi {
            return ByteSet::default();
        }
        // Non-negative values are the bytes 0..=127; negative ones are 128..=255.
        let mut s = ByteSet::default();
        if hi >= 0 {
            s = s.union(ByteSet::span(lo.max(0) as u8, hi as u8));
        }
        if lo < 0 {
            s = s.union(ByteSet::span((lo + 256) as u8, (hi.min(-1) + 256) as u8));
        }
        s
    }

    /// Uppercase ASCII letters whose lowercase form is in `self`.
    fn upper_of_lower(self) -> ByteSet {
        let lower = self.intersect(ByteSet::span(b'a', b'z'));
        // `a`..`z` are bits 33..=58 of word 1, `A`..`Z` bits 1..=26: the same letters 32 bits lower.
        ByteSet([0, lower.0[1] >> 32, 0, 0])
    }
}

/// ASCII `tolower` on a C `char` value.
fn lower_i(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// One compiled element. Every token but [`Tok::Star`] matches exactly one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Star,
    Any,
    /// A literal byte (already lower-cased when the pattern ignores case).
    Byte(u8),
    /// A set, by index into [`Pattern::sets`].
    Set(u32),
}

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    toks: Vec<Tok>,
    /// Distinct byte sets of the pattern's `[...]` groups (deduplicated: `[ab][ab]` stores one).
    sets: Vec<ByteSet>,
    /// Bytes a match needs at least (the number of non-star tokens).
    min_len: usize,
    /// Redis's recursion limit makes the pattern fail on every non-empty string.
    never: bool,
    nocase: bool,
    /// Redis syntax: the empty string matches only the empty pattern (glob(3): any run of stars).
    redis: bool,
}

/// Collects tokens: collapses runs of stars, counts what a match needs, deduplicates sets.
struct Builder {
    toks: Vec<Tok>,
    sets: Vec<ByteSet>,
    set_ids: BTreeMap<ByteSet, u32>,
    star_groups: usize,
    min_len: usize,
    never: bool,
    nocase: bool,
    /// Redis syntax: the star nesting limit and Redis's empty-string rule apply.
    limit_nesting: bool,
}

impl Builder {
    fn new(nocase: bool, limit_nesting: bool) -> Builder {
        Builder {
            toks: Vec::new(),
            sets: Vec::new(),
            set_ids: BTreeMap::new(),
            star_groups: 0,
            min_len: 0,
            never: false,
            nocase,
            limit_nesting,
        }
    }

    fn star(&mut self) {
        if self.toks.last() != Some(&Tok::Star) {
            self.toks.push(Tok::Star);
            self.star_groups += 1;
        }
    }

    fn one(&mut self, t: Tok) {
        if self.limit_nesting && self.star_groups > MAX_STAR_NESTING {
            self.never = true;
        }
        self.min_len += 1;
        self.toks.push(t);
    }

    fn byte(&mut self, b: u8) {
        let b = if self.nocase {
            b.to_ascii_lowercase()
        } else {
            b
        };
        self.one(Tok::Byte(b));
    }

    fn set(&mut self, s: ByteSet) {
        let next = self.sets.len() as u32;
        let id = *self.set_ids.entry(s).or_insert(next);
        if id == next {
            self.sets.push(s);
        }
        self.one(Tok::Set(id));
    }

    /// The scan both syntaxes share: `*` and `?` mean the same in each, and any other byte is a literal
    /// unless `special` (called with the builder and the index of that byte) consumes it and returns the
    /// index after what it read; `None` leaves the byte a literal.
    fn scan(
        mut self,
        p: &[u8],
        mut special: impl FnMut(&mut Builder, usize) -> Option<usize>,
    ) -> Pattern {
        let mut i = 0;
        while i < p.len() {
            i = match p[i] {
                b'*' => {
                    self.star();
                    i + 1
                }
                b'?' => {
                    self.one(Tok::Any);
                    i + 1
                }
                c => special(&mut self, i).unwrap_or_else(|| {
                    self.byte(c);
                    i + 1
                }),
            };
        }
        self.finish()
    }

    fn finish(self) -> Pattern {
        Pattern {
            toks: self.toks,
            sets: self.sets,
            min_len: self.min_len,
            never: self.never,
            nocase: self.nocase,
            redis: self.limit_nesting,
        }
    }
}

impl Pattern {
    /// Compile a pattern with Redis's `stringmatchlen` syntax; `nocase` folds ASCII case.
    pub fn new(pattern: &[u8], nocase: bool) -> Pattern {
        let p = pattern;
        // Redis reads one byte past the end of a class (the string's NUL terminator): model it as 0.
        let at = |i: usize| p.get(i).copied().unwrap_or(0);
        Builder::new(nocase, true).scan(p, |b, mut i| match p[i] {
            b'[' => {
                i += 1;
                let not = at(i) == b'^';
                if not {
                    i += 1;
                }
                let mut set = ByteSet::default();
                // The loop of `stringmatchlen`, with `i` for `pattern` and `p.len() - i` for `patternLen`.
                loop {
                    let left = p.len().saturating_sub(i);
                    if at(i) == b'\\' && left >= 2 {
                        i += 1;
                        set.insert(p[i]);
                    } else if at(i) == b']' {
                        break;
                    } else if left == 0 {
                        // Unterminated: Redis steps back so the step after the class lands on the end.
                        i -= 1;
                        break;
                    } else if left >= 3 && p[i + 1] == b'-' {
                        set = set.union(redis_range(p[i], p[i + 2], nocase));
                        i += 2;
                    } else {
                        set.insert(p[i]);
                        if nocase && p[i].is_ascii_alphabetic() {
                            set.insert(p[i].to_ascii_lowercase());
                            set.insert(p[i].to_ascii_uppercase());
                        }
                    }
                    i += 1;
                }
                b.set(if not { set.complement() } else { set });
                Some(i + 1)
            }
            b'\\' => {
                if p.len() - i >= 2 {
                    i += 1;
                }
                b.byte(p[i]);
                Some(i + 1)
            }
            _ => None,
        })
    }

    /// Compile a pattern with glob(3)'s syntax, for one path component (what `include` expands): `*`, `?`,
    /// `\x`, and `[...]` with `!` or `^` negation, ranges, `]` first as a member, `[:alpha:]`-style
    /// classes; an unterminated `[` is a literal `[`; a reversed range matches nothing; a trailing `\` makes
    /// the pattern match nothing (fnmatch's error). The caller applies
    /// the rule that wildcards do not match a leading `.`.
    pub fn fnmatch(pattern: &[u8]) -> Pattern {
        let p = pattern;
        Builder::new(false, false).scan(p, |b, i| match p[i] {
            b'\\' => {
                // A trailing `\` escapes nothing: fnmatch reports an error, i.e. no match.
                match p.get(i + 1) {
                    Some(&c) => b.byte(c),
                    None => b.never = true,
                }
                Some(i + 2)
            }
            // An unterminated `[` falls through to a literal `[`.
            b'[' => fnmatch_bracket(p, i + 1).map(|(set, next)| {
                b.set(set);
                next
            }),
            _ => None,
        })
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &[u8]) -> bool {
        if self.never {
            return false;
        }
        if s.is_empty() {
            return if self.redis {
                self.toks.is_empty()
            } else {
                self.toks.iter().all(|t| *t == Tok::Star)
            };
        }
        if s.len() < self.min_len {
            return false;
        }
        let n = self.toks.len();
        let (mut p, mut i) = (0usize, 0usize);
        // The most recent star: (token after it, bytes it swallows up to).
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            match self.toks.get(p) {
                Some(Tok::Star) => {
                    if p + 1 == n {
                        return true;
                    }
                    star = Some((p + 1, i));
                    p += 1;
                    continue;
                }
                Some(&t) if self.accepts(t, s[i]) => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            // Mismatch (or pattern exhausted): let the last star swallow one more byte, or fail.
            match star {
                Some((sp, si)) => {
                    p = sp;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            }
        }
        self.toks[p..].iter().all(|t| *t == Tok::Star)
    }

    fn accepts(&self, t: Tok, c: u8) -> bool {
        match t {
            Tok::Star | Tok::Any => true,
            Tok::Byte(b) => {
                if self.nocase {
                    c.to_ascii_lowercase() == b
                } else {
                    c == b
                }
            }
            Tok::Set(k) => self.sets[k as usize].contains(c),
        }
    }
}

/// One-off Redis `stringmatchlen(pattern, s, nocase)`; compile a [`Pattern`] to match many strings.
pub fn stringmatch(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    Pattern::new(pattern, nocase).matches(s)
}

/// A Redis class range `lo-hi`: ends swapped if reversed, compared as signed C chars, then (with
/// `nocase`) ends and the tested byte lower-cased.
fn redis_range(lo: u8, hi: u8, nocase: bool) -> ByteSet {
    let (mut a, mut z) = (i32::from(lo as i8), i32::from(hi as i8));
    if a > z {
        std::mem::swap(&mut a, &mut z);
    }
    if !nocase {
        return ByteSet::signed_span(a, z);
    }
    let (a, z) = (lower_i(a), lower_i(z));
    let span = ByteSet::signed_span(a, z);
    // A byte matches when its lower-case form is in the span: bytes other than `A`-`Z` as they are, and
    // `A`-`Z` when their lower-case letter is.
    let upper = ByteSet::span(b'A', b'Z');
    span.intersect(upper.complement())
        .union(span.upper_of_lower())
}

/// Parse a glob(3) bracket expression whose body starts at `p[start]`; returns the set and the index after
/// the closing `]`, or None if it is not terminated.
fn fnmatch_bracket(p: &[u8], start: usize) -> Option<(ByteSet, usize)> {
    let mut i = start;
    let not = matches!(p.get(i), Some(b'!' | b'^'));
    if not {
        i += 1;
    }
    let mut set = ByteSet::default();
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == b']' && !first {
            i += 1;
            break;
        }
        first = false;
        if c == b'[' && p.get(i + 1) == Some(&b':') {
            if let Some(len) = p[i + 2..].windows(2).position(|w| w == b":]") {
                let name = &p[i + 2..i + 2 + len];
                set = set.union(posix_class(name)?);
                i += 2 + len + 2;
                continue;
            }
        }
        let (lo, after) = bracket_char(p, i)?;
        if p.get(after) == Some(&b'-') && p.get(after + 1).is_some_and(|&x| x != b']') {
            let (hi, next) = bracket_char(p, after + 1)?;
            set = set.union(ByteSet::span(lo, hi));
            i = next;
        } else {
            set.insert(lo);
            i = after;
        }
    }
    Some((if not { set.complement() } else { set }, i))
}

/// One (possibly `\`-escaped) member byte of a bracket expression and the index after it.
fn bracket_char(p: &[u8], i: usize) -> Option<(u8, usize)> {
    match *p.get(i)? {
        b'\\' => Some((*p.get(i + 1)?, i + 2)),
        c => Some((c, i + 1)),
    }
}

/// A POSIX character class (`[:alpha:]`) in the C locale; None for an unknown name.
fn posix_class(name: &[u8]) -> Option<ByteSet> {
    let test: fn(&u8) -> bool = match name {
        b"alpha" => u8::is_ascii_alphabetic,
        b"digit" => u8::is_ascii_digit,
        b"alnum" => u8::is_ascii_alphanumeric,
        b"upper" => u8::is_ascii_uppercase,
        b"lower" => u8::is_ascii_lowercase,
        b"space" => |c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"blank" => |c| matches!(c, b' ' | b'\t'),
        b"punct" => u8::is_ascii_punctuation,
        b"xdigit" => u8::is_ascii_hexdigit,
        b"cntrl" => u8::is_ascii_control,
        b"print" => |c| (0x20..0x7f).contains(c),
        b"graph" => u8::is_ascii_graphic,
        _ => return None,
    };
    let mut s = ByteSet::default();
    for c in 0..=255u8 {
        if test(&c) {
            s.insert(c);
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests;
