/*
 * pretokenize.c - hand-written scanners equivalent to tiktoken's split regexes.
 *
 * Each scanner returns the end of the regex match that starts at `pos`, trying
 * the pattern's alternatives in order with the regex engine's (leftmost-first,
 * greedy, backtracking / possessive) semantics.  The patterns, from
 * tiktoken_ext/openai_public.py (0.14):
 *
 * GPT2 (r50k, p50k):
 *   '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
 * CL100K:
 *   '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
 *   |\s++$|\s*[\r\n]|\s+(?!\S)|\s
 * O200K (U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], W = [\p{Ll}\p{Lm}\p{Lo}\p{M}],
 *        C = (?i:'s|'t|'re|'ve|'m|'ll|'d)):
 *   [^\r\n\p{L}\p{N}]?U*W+C? | [^\r\n\p{L}\p{N}]?U+W*C? | \p{N}{1,3}
 *   | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 *
 * Traps handled here: \s is Unicode White_Space; (?i) lets 's' match U+017F;
 * marks (M) are not letters, so they may be the optional one-character prefix;
 * in O200K a failed U*W+ backtracks into U* to find a W that ends it.
 */
#include "fl_internal.h"

typedef struct {
    uint32_t cp;
    unsigned len;
    unsigned cls;
} ch_t;

FL_INLINE ch_t char_at(const uint8_t *s, size_t i, size_t n)
{
    ch_t c;
    if (FL_LIKELY(s[i] < 0x80)) {
        c.cp = s[i];
        c.len = 1;
        c.cls = fl_unicode_stage2[s[i]]; /* block 0 holds U+0000..U+007F */
        return c;
    }
    c.len = fl_utf8_decode(s, i, n, &c.cp);
    c.cls = fl_uclass(c.cp);
    return c;
}

#define PUNCT(cls) (((cls) & (FL_U_L | FL_U_N | FL_U_WS)) == 0)

/* ASCII byte classes for the fast paths; bytes >= 0x80 have none of them.
 * A_PREFIX is [^\r\n\p{L}\p{N}], A_PUNCT is [^\s\p{L}\p{N}], A_WS is \s. */
enum { A_UP = 1, A_LO = 2, A_DIGIT = 4, A_PREFIX = 8, A_PUNCT = 16, A_WS = 32 };

static const uint8_t ascii_class[256] = {
    24, 24, 24, 24, 24, 24, 24, 24, 24, 40, 32, 40, 40, 32, 24, 24,  /* 0x00 */
    24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,  /* 0x10 */
    40, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,  /* 0x20 */
     4,  4,  4,  4,  4,  4,  4,  4,  4,  4, 24, 24, 24, 24, 24, 24,  /* 0x30 */
    24,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  /* 0x40 */
     1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1, 24, 24, 24, 24, 24,  /* 0x50 */
    24,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0x60 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2, 24, 24, 24, 24, 24,  /* 0x70 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x80 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x90 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0xA0 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0xB0 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0xC0 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0xD0 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0xE0 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0xF0 */
};

FL_INLINE size_t ascii_run(const uint8_t *s, size_t i, size_t n, unsigned mask)
{
    while (i < n && (ascii_class[s[i]] & mask))
        i++;
    return i;
}

/*
 * Runs of ASCII letters eight bytes at a time.  swar_between sets the high
 * bit of each byte of x that lies strictly between lo and hi (and is < 0x80),
 * without carries between bytes (the "hasbetween" bit trick).  Upper and lower
 * case letters together are the lower-case test on x | 0x20: that maps A-Z
 * onto a-z and no other byte into a-z.
 */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

FL_INLINE uint64_t swar_between(uint64_t x, unsigned lo, unsigned hi)
{
    uint64_t y = x & (ONES * 127);
    return ((ONES * (127 + hi) - y) & ~x & (y + ONES * (127 - lo))) & HIGHS;
}

enum { RUN_LOWER, RUN_UPPER, RUN_ALPHA };

FL_INLINE size_t letter_run(const uint8_t *s, size_t i, size_t n, int kind)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
    while (i + 8 <= n) {
        uint64_t x = fl_load64(s + i);
        uint64_t in = kind == RUN_UPPER ? swar_between(x, 'A' - 1, 'Z' + 1)
                      : kind == RUN_LOWER ? swar_between(x, 'a' - 1, 'z' + 1)
                                          : swar_between(x | (ONES * 0x20), 'a' - 1, 'z' + 1);
        if (in != HIGHS)
            return i + ((size_t)__builtin_ctzll(~in & HIGHS) >> 3);
        i += 8;
    }
#endif
    unsigned mask = kind == RUN_UPPER ? A_UP : kind == RUN_LOWER ? A_LO : A_UP | A_LO;
    return ascii_run(s, i, n, mask);
}
/*
 * O200K's ASCII word [A-Z]*[a-z]+ or [A-Z]+ from i: the end of the lower-case
 * run that follows the upper-case run.  Both runs come from one 8-byte load
 * when the upper-case run ends inside it (nearly every word); otherwise the
 * two runs are scanned in turn.
 */
FL_INLINE size_t upper_lower_run(const uint8_t *s, size_t i, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
    if (i + 8 <= n) {
        uint64_t x = fl_load64(s + i);
        uint64_t not_up = ~swar_between(x, 'A' - 1, 'Z' + 1) & HIGHS;
        if (not_up) {
            unsigned nu = (unsigned)__builtin_ctzll(not_up) >> 3;
            uint64_t stop = ~swar_between(x, 'a' - 1, 'z' + 1) & (HIGHS << (8 * nu));
            if (stop)
                return i + ((size_t)__builtin_ctzll(stop) >> 3);
            return letter_run(s, i + 8, n, RUN_LOWER);
        }
    }
#endif
    return letter_run(s, letter_run(s, i, n, RUN_UPPER), n, RUN_LOWER);
}

#define IS_NL(cp) ((cp) == '\r' || (cp) == '\n')

/* End of the run of characters whose class has any bit of `mask`, from i. */
FL_INLINE size_t run_of(const uint8_t *s, size_t i, size_t n, unsigned mask)
{
    while (i < n) {
        uint8_t b = s[i];
        if (FL_LIKELY(b < 0x80)) {
            if (!(fl_unicode_stage2[b] & mask))
                return i;
            i++;
            continue;
        }
        ch_t c = char_at(s, i, n);
        if (!(c.cls & mask))
            return i;
        i += c.len;
    }
    return i;
}

/* End of the run of "punctuation" ([^\s\p{L}\p{N}]) from i. */
FL_INLINE size_t run_punct(const uint8_t *s, size_t i, size_t n)
{
    while (i < n) {
        ch_t c = char_at(s, i, n);
        if (!PUNCT(c.cls))
            return i;
        i += c.len;
    }
    return i;
}

/* Case-insensitive ASCII letter test. */
FL_INLINE int ci(uint8_t b, char lower)
{
    return (b | 0x20) == (uint8_t)lower;
}

/* Length (in bytes, after the apostrophe at s[i]) of the contraction
 * (?i:[sdmt]|ll|ve|re) starting at i + 1, or 0. */
FL_INLINE size_t contraction_ci(const uint8_t *s, size_t i, size_t n)
{
    if (i + 1 >= n)
        return 0;
    uint8_t b = s[i + 1];
    if (ci(b, 's') || ci(b, 'd') || ci(b, 'm') || ci(b, 't'))
        return 1;
    if (b == 0xC5 && i + 2 < n && s[i + 2] == 0xBF) /* U+017F LATIN SMALL LETTER LONG S */
        return 2;
    if (i + 2 < n) {
        uint8_t b2 = s[i + 2];
        if ((ci(b, 'l') && ci(b2, 'l')) || (ci(b, 'v') && ci(b2, 'e')) || (ci(b, 'r') && ci(b2, 'e')))
            return 2;
    }
    return 0;
}

/* Scan the whitespace run from pos: *run_end, the start of its last character
 * and the end of its last '\r' / '\n' (pos if none). */
FL_INLINE void ws_run(const uint8_t *s, size_t pos, size_t n, size_t *run_end, size_t *last_start,
                      size_t *last_nl_end)
{
    size_t i = pos, last = pos, nl = pos;
    while (i < n) {
        ch_t c = char_at(s, i, n);
        if (!(c.cls & FL_U_WS))
            break;
        if (IS_NL(c.cp))
            nl = i + 1;
        last = i;
        i += c.len;
    }
    *run_end = i;
    *last_start = last;
    *last_nl_end = nl;
}

static size_t next_gpt2(const uint8_t *s, size_t pos, size_t n)
{
    ch_t c0 = char_at(s, pos, n);
    if (c0.cp == '\'' && pos + 1 < n) {
        uint8_t b = s[pos + 1];
        if (b == 's' || b == 'd' || b == 'm' || b == 't')
            return pos + 2;
        if (pos + 2 < n) {
            uint8_t b2 = s[pos + 2];
            if ((b == 'l' && b2 == 'l') || (b == 'v' && b2 == 'e') || (b == 'r' && b2 == 'e'))
                return pos + 3;
        }
    }
    size_t i = pos;
    ch_t c = c0;
    if (c0.cp == ' ' && pos + 1 < n) {
        ch_t c1 = char_at(s, pos + 1, n);
        if (c1.cls & (FL_U_L | FL_U_N) || PUNCT(c1.cls)) {
            i = pos + 1;
            c = c1;
        }
    }
    if (c.cls & FL_U_L)
        return run_of(s, i + c.len, n, FL_U_L);
    if (c.cls & FL_U_N)
        return run_of(s, i + c.len, n, FL_U_N);
    if (PUNCT(c.cls))
        return run_punct(s, i + c.len, n);
    /* whitespace */
    size_t end, last, nl;
    ws_run(s, pos, n, &end, &last, &nl);
    if (end == n)
        return n;
    if (last > pos)
        return last;
    return pos + c0.len;
}

static size_t next_cl100k_general(const uint8_t *s, size_t pos, size_t n);

/* O200K contraction suffix (?i:'s|'t|'re|'ve|'m|'ll|'d)? at i. */
FL_INLINE size_t o200k_suffix(const uint8_t *s, size_t i, size_t n)
{
    if (i < n && s[i] == '\'') {
        size_t k = contraction_ci(s, i, n);
        if (k)
            return i + 1 + k;
    }
    return i;
}

/*
 * The ASCII fast paths.  Each handles a piece whose bytes (and the byte after
 * it) are ASCII and returns 0 whenever it meets a byte >= 0x80 it would have to
 * classify, leaving the piece to the general scanner.  Shared by cl100k and
 * o200k, which differ here only as the flags say:
 *   cl100k: letters are one \p{L}+ run, punctuation runs end with [\r\n]*,
 *           a whitespace run that reaches the end of the text is one piece
 *           (\s++$) even when it holds newlines;
 *   o200k:  letters split into [A-Z]*[a-z]+ or [A-Z]+ (U*W+ / U+W* on ASCII),
 *           then a contraction suffix; punctuation runs end with [\r\n/]*.
 */
FL_INLINE size_t ascii_fast(const uint8_t *s, size_t pos, size_t n, int o200k)
{
    unsigned c0 = ascii_class[s[pos]];
    size_t i = pos;
    if (c0 & A_DIGIT) {
        size_t end = ascii_run(s, pos, pos + 3 < n ? pos + 3 : n, A_DIGIT);
        return end - pos < 3 && end < n && s[end] >= 0x80 ? 0 : end;
    }
    if (c0 & A_PREFIX) {
        if (!o200k && s[pos] == '\'')
            return 0; /* cl100k contractions */
        if (pos + 1 < n) {
            if (s[pos + 1] >= 0x80)
                return 0;
            unsigned c1 = ascii_class[s[pos + 1]];
            if (c1 & (A_UP | A_LO)) {
                i = pos + 1;
                goto word;
            }
            if (s[pos] == ' ' && (c1 & A_PUNCT)) {
                i = pos + 1;
                goto punct;
            }
        }
        if (c0 & A_PUNCT)
            goto punct;
    }
    if (c0 & A_WS) {
        size_t end = pos, nl = pos;
        while (end < n && (ascii_class[s[end]] & A_WS)) {
            if (s[end] == '\n' || s[end] == '\r')
                nl = end + 1;
            end++;
        }
        if (end < n && s[end] >= 0x80)
            return 0;
        if (end == n && (!o200k || nl == pos))
            return n;
        if (nl > pos)
            return nl;
        return end - pos >= 2 ? end - 1 : pos + 1;
    }
    if (!(c0 & (A_UP | A_LO)))
        return 0;
word:
    if (o200k) {
        size_t end = upper_lower_run(s, i, n);
        if (end < n && s[end] >= 0x80)
            return 0;
        return o200k_suffix(s, end, n);
    } else {
        size_t end = letter_run(s, i, n, RUN_ALPHA);
        return end < n && s[end] >= 0x80 ? 0 : end;
    }
punct : {
    size_t end = ascii_run(s, i, n, A_PUNCT);
    if (end < n && s[end] >= 0x80)
        return 0;
    while (end < n && (s[end] == '\r' || s[end] == '\n' || (o200k && s[end] == '/')))
        end++;
    return end;
}
}

static size_t next_cl100k(const uint8_t *s, size_t pos, size_t n)
{
    size_t end = ascii_fast(s, pos, n, 0);
    return end ? end : next_cl100k_general(s, pos, n);
}

static size_t next_cl100k_general(const uint8_t *s, size_t pos, size_t n)
{
    ch_t c0 = char_at(s, pos, n);
    if (c0.cp == '\'') {
        size_t k = contraction_ci(s, pos, n);
        if (k)
            return pos + 1 + k;
    }
    if (c0.cls & FL_U_L)
        return run_of(s, pos + c0.len, n, FL_U_L);
    if (!(c0.cls & FL_U_N) && !IS_NL(c0.cp) && pos + c0.len < n) {
        ch_t c1 = char_at(s, pos + c0.len, n);
        if (c1.cls & FL_U_L)
            return run_of(s, pos + c0.len + c1.len, n, FL_U_L);
    }
    if (c0.cls & FL_U_N) {
        size_t i = pos + c0.len;
        for (int k = 1; k < 3 && i < n; k++) {
            ch_t c = char_at(s, i, n);
            if (!(c.cls & FL_U_N))
                break;
            i += c.len;
        }
        return i;
    }
    size_t start = 0;
    int punct = 0;
    if (PUNCT(c0.cls)) {
        start = pos;
        punct = 1;
    } else if (c0.cp == ' ' && pos + 1 < n && PUNCT(char_at(s, pos + 1, n).cls)) {
        start = pos + 1;
        punct = 1;
    }
    if (punct) {
        size_t i = run_punct(s, start, n);
        while (i < n && IS_NL(s[i]))
            i++;
        return i;
    }
    size_t end, last, nl;
    ws_run(s, pos, n, &end, &last, &nl);
    if (end == n)
        return n;
    if (nl > pos)
        return nl;
    if (last > pos)
        return last;
    return pos + c0.len;
}

/* U* W+ C? from p; 0 if it cannot match. */
FL_INLINE size_t o200k_upper_lower(const uint8_t *s, size_t p, size_t n)
{
    size_t i = p, last_w_end = 0;
    while (i < n) {
        ch_t c = char_at(s, i, n);
        if (!(c.cls & FL_U_UP))
            break;
        if (c.cls & FL_U_LO)
            last_w_end = i + c.len;
        i += c.len;
    }
    if (i < n) {
        ch_t c = char_at(s, i, n);
        if (c.cls & FL_U_LO)
            return o200k_suffix(s, run_of(s, i + c.len, n, FL_U_LO), n);
    }
    /* Give characters back to U* until W+ can take the last W among them. */
    if (last_w_end)
        return o200k_suffix(s, last_w_end, n);
    return 0;
}

static size_t next_o200k_general(const uint8_t *s, size_t pos, size_t n);

static size_t next_o200k(const uint8_t *s, size_t pos, size_t n)
{
    size_t end = ascii_fast(s, pos, n, 1);
    return end ? end : next_o200k_general(s, pos, n);
}

static size_t next_o200k_general(const uint8_t *s, size_t pos, size_t n)
{
    ch_t c0 = char_at(s, pos, n);
    int prefix = !(c0.cls & (FL_U_L | FL_U_N)) && !IS_NL(c0.cp);
    size_t after = pos + c0.len;
    if (prefix && after < n) {
        size_t r = o200k_upper_lower(s, after, n);
        if (r)
            return r;
    }
    size_t r = o200k_upper_lower(s, pos, n);
    if (r)
        return r;
    if (prefix && after < n) {
        ch_t c1 = char_at(s, after, n);
        if (c1.cls & FL_U_UP)
            return o200k_suffix(s, run_of(s, run_of(s, after, n, FL_U_UP), n, FL_U_LO), n);
    }
    if (c0.cls & FL_U_UP)
        return o200k_suffix(s, run_of(s, run_of(s, pos, n, FL_U_UP), n, FL_U_LO), n);
    if (c0.cls & FL_U_N) {
        size_t i = after;
        for (int k = 1; k < 3 && i < n; k++) {
            ch_t c = char_at(s, i, n);
            if (!(c.cls & FL_U_N))
                break;
            i += c.len;
        }
        return i;
    }
    size_t start = 0;
    int punct = 0;
    if (PUNCT(c0.cls)) {
        start = pos;
        punct = 1;
    } else if (c0.cp == ' ' && after < n && PUNCT(char_at(s, after, n).cls)) {
        start = after;
        punct = 1;
    }
    if (punct) {
        size_t i = run_punct(s, start, n);
        while (i < n && (IS_NL(s[i]) || s[i] == '/'))
            i++;
        return i;
    }
    size_t end, last, nl;
    ws_run(s, pos, n, &end, &last, &nl);
    if (nl > pos)
        return nl;
    if (end == n)
        return n;
    if (last > pos)
        return last;
    return pos + c0.len;
}

/*
 * ---- O200K over windows of 64 bytes ---------------------------------------
 *
 * next_o200k decides each piece by branching on its first bytes, and on
 * English or code those branches mispredict about once a piece.  Here the 64
 * bytes from a known piece start pos are classified at once into bit masks
 * (bit i = byte pos + i), the starts of the pieces inside the window follow
 * from shifts and ands, and their ends are read off the mask with ctz.
 *
 * On ASCII the pattern reduces to rules on the class of a byte (c), of the
 * one before it (a), of the one before that (z) and of the one after it (b).
 * The classes: LO [a-z], UP [A-Z], D [0-9], SP ' ', TB [\t\v\f], NL [\r\n]
 * and P, any other ASCII byte ([^\s\p{L}\p{N}]).  Byte i starts a piece iff
 *   LO:  a is D or NL, or a is a P that is not a start (a P is the one-byte
 *        prefix of the word after it iff it starts a piece, and it does not
 *        iff z is SP or P: it goes on " ?P+");
 *   UP:  as LO, or a is LO (a word is [A-Z]*[a-z]* here);
 *   D:   i - (start of the digit run) is a multiple of 3 (\p{N}{1,3});
 *   P:   a is LO, UP, D, TB or NL (after SP it is " ?P+", after P it is P+);
 *   NL:  a is LO, UP or D (after P it is the tail [\r\n/]*; after whitespace
 *        it joins \s*[\r\n]+);
 *   SP, TB: a is LO, UP, D or P; or a is an NL of the tail of a P; or a is
 *        another NL and the SP/TB run from i does not end at an NL (i follows
 *        the last newline of \s*[\r\n]+); or a is SP
 *        or TB and b is LO, UP, D or P (\s+(?!\S) leaves the run's last
 *        byte to the next piece; at the end of the text it takes it).
 * After a letter, '(?i:s|t|re|ve|m|ll|d) joins the word and the byte after it
 * starts a piece.
 *
 * Where the rules do not hold, the window marks the bytes "hard" and
 * next_o200k decides their pieces: bytes >= 0x80 and their neighbours; '/'
 * after NL or '/' and its neighbours (the tail [\r\n/]* can run on through
 * them); SP/TB at the last bit, whose b is past the window; digit runs and
 * contractions that go on from a byte >= 0x80.  The walk takes a piece from
 * the masks only when no hard bit lies between its start and its end, and
 * otherwise hands it to next_o200k.  So a start the rules leave out is safe
 * where a hard bit comes before the next start; a start they set where there
 * is none never is.
 */
enum { K_LO, K_UP, K_DIGIT, K_SPACE, K_TAB, K_NL, K_APOS, K_SLASH, K_HIGH, K_OTHER, K_KINDS };

/* The kind of each byte (K_HIGH for >= 0x80), for the portable classifier. */
FL_INLINE unsigned kind_of(uint8_t b)
{
    if (b >= 0x80)
        return K_HIGH;
    if (b >= 'a' && b <= 'z')
        return K_LO;
    if (b >= 'A' && b <= 'Z')
        return K_UP;
    if (b >= '0' && b <= '9')
        return K_DIGIT;
    switch (b) {
    case ' ':
        return K_SPACE;
    case '\t':
    case '\v':
    case '\f':
        return K_TAB;
    case '\n':
    case '\r':
        return K_NL;
    case '\'':
        return K_APOS;
    case '/':
        return K_SLASH;
    default:
        return K_OTHER;
    }
}

static void classify_portable(const uint8_t *p, uint64_t m[K_KINDS])
{
    memset(m, 0, K_KINDS * sizeof *m);
    for (unsigned i = 0; i < 64; i++)
        m[kind_of(p[i])] |= 1ull << i;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* The bytes of x in [lo, lo + count): a signed compare once lo is moved to -128. */
FL_INLINE __m128i in_range(__m128i x, int lo, int count)
{
    __m128i moved = _mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - lo)));
    return _mm_cmplt_epi8(moved, _mm_set1_epi8((char)(count - 128)));
}

FL_INLINE uint64_t bits_of(__m128i v, unsigned shift)
{
    return (uint64_t)(uint32_t)_mm_movemask_epi8(v) << shift;
}

static void classify_simd(const uint8_t *p, uint64_t m[K_KINDS])
{
    memset(m, 0, K_KINDS * sizeof *m);
    for (unsigned k = 0; k < 64; k += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        __m128i nl = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')),
                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
        m[K_LO] |= bits_of(in_range(x, 'a', 26), k);
        m[K_UP] |= bits_of(in_range(x, 'A', 26), k);
        m[K_DIGIT] |= bits_of(in_range(x, '0', 10), k);
        m[K_SPACE] |= bits_of(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')), k);
        m[K_TAB] |= bits_of(_mm_andnot_si128(nl, in_range(x, '\t', 5)), k);
        m[K_NL] |= bits_of(nl, k);
        m[K_APOS] |= bits_of(_mm_cmpeq_epi8(x, _mm_set1_epi8('\'')), k);
        m[K_SLASH] |= bits_of(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')), k);
        m[K_HIGH] |= bits_of(x, k);
    }
}
#else
#define classify_simd classify_portable
#endif

#if FL_X86_AVX512
#include <immintrin.h>

/* The bytes of x in [lo, lo + count). */
FL_TARGET_AVX512BW static inline __mmask64 in_range64(__m512i x, int lo, int count)
{
    return _mm512_cmplt_epu8_mask(_mm512_sub_epi8(x, _mm512_set1_epi8((char)lo)),
                                  _mm512_set1_epi8((char)count));
}

/* classify_simd, 64 bytes at once. */
FL_TARGET_AVX512BW static void classify_avx512(const uint8_t *p, uint64_t m[K_KINDS])
{
    __m512i x = _mm512_loadu_si512((const void *)p);
    uint64_t nl = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\n')) |
                  _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\r'));
    m[K_LO] = in_range64(x, 'a', 26);
    m[K_UP] = in_range64(x, 'A', 26);
    m[K_DIGIT] = in_range64(x, '0', 10);
    m[K_SPACE] = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(' '));
    m[K_TAB] = in_range64(x, '\t', 5) & ~nl;
    m[K_NL] = nl;
    m[K_APOS] = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\''));
    m[K_SLASH] = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('/'));
    m[K_HIGH] = _mm512_movepi8_mask(x);
    m[K_OTHER] = 0;
}
#endif

/* Which classifier a window uses: the encoding's SIMD level decides (fl_simd_classifier). */
enum { CLASSIFY_PORTABLE, CLASSIFY_SSE2, CLASSIFY_AVX512 };

/* The classifier of a SIMD level. */
FL_INLINE int fl_simd_classifier(int level)
{
    return level >= FL_SIMD_AVX512 ? CLASSIFY_AVX512 : level >= FL_SIMD_SSE2 ? CLASSIFY_SSE2 : CLASSIFY_PORTABLE;
}

FL_INLINE unsigned ctz64(uint64_t x)
{
    return (unsigned)__builtin_ctzll(x);
}

/* Bits lo..63. */
FL_INLINE uint64_t bits_from(unsigned lo)
{
    return lo >= 64 ? 0 : ~0ull << lo;
}

/*
 * The piece starts (bit i: pos + i starts a piece; never bit 0) and the hard
 * bits of the window at pos, a known piece start.  The window holds
 * min(n - pos, 64) bytes; when the text ends inside it, bit n - pos is the
 * end of the text and set in *start.
 */
FL_INLINE void o200k_window(const uint8_t *s, size_t n, size_t pos, int classifier,
                            uint64_t *start_out, uint64_t *hard_out)
{
    uint64_t m[K_KINDS];
    size_t len = n - pos;
    uint8_t padded[64]; /* the last window, zero-padded */
    const uint8_t *w = s + pos;
    if (len < 64) {
        memset(padded, 0, sizeof padded);
        w = memcpy(padded, w, len);
    }
    if (classifier == CLASSIFY_PORTABLE)
        classify_portable(w, m);
#if FL_X86_AVX512
    else if (classifier == CLASSIFY_AVX512)
        classify_avx512(w, m);
#endif
    else
        classify_simd(w, m);
    uint64_t valid = len >= 64 ? ~0ull : (1ull << len) - 1;
    uint64_t lo = m[K_LO] & valid, up = m[K_UP] & valid, d = m[K_DIGIT] & valid;
    uint64_t sp = m[K_SPACE] & valid, tb = m[K_TAB] & valid, nl = m[K_NL] & valid;
    uint64_t hi = m[K_HIGH] & valid, slash = m[K_SLASH] & valid;
    uint64_t let = lo | up, q = sp | tb;
    uint64_t p = valid & ~(let | d | q | nl | hi);
    uint64_t solid = let | d | p; /* ASCII that is not whitespace */
    uint64_t p_goes_on = p & (sp | p) << 1;

    uint64_t start = (lo & (d | nl) << 1) | (up & (lo | d | nl) << 1) | (let & p_goes_on << 1) |
                     (p & (let | d | tb | nl) << 1) | (nl & (let | d) << 1) | (q & solid << 1) |
                     (q & q << 1 & solid >> 1);
    uint64_t hard = 0;

    /* Digit runs: a start every third digit from the run's first. */
    uint64_t group = d & ~(d << 1), third = d & d << 1 & d << 2;
    for (uint64_t t = group; t;) {
        t = t << 3 & third;
        group |= t;
    }
    start |= group;
    /* A run after a byte >= 0x80 may go on from a digit there ("\u00bd99"). */
    uint64_t group_unknown = d & ~(d << 1) & hi << 1;
    hard |= d & ~(d + group_unknown);

    /* SP/TB right after NL: a start if the NL run before it follows a P (it is
     * that P's tail), else unless its SP/TB run ends at an NL.  A run that ends
     * at a byte >= 0x80 (U+3000 is \s) or past the window is left out: the hard
     * bit before that byte, or at bit 63, comes first. */
    uint64_t tail = nl & ~(nl + (nl & p << 1));
    start |= q & tail << 1;
    uint64_t after_nl = q & (nl & ~tail) << 1;
    if (after_nl) {
        uint64_t run_ends = q + after_nl;
        if (run_ends >= q && !(run_ends & ~q & (nl | hi))) {
            start |= after_nl;
        } else {
            for (uint64_t t = after_nl; t; t &= t - 1) {
                unsigned j = ctz64(t);
                unsigned r = j + ctz64(~(q >> j));
                if (r < 64 && !((nl | hi) >> r & 1))
                    start |= 1ull << j;
            }
        }
    }

    /* Contractions after a word (not after another contraction: "a's's" is
     * "a's", "'s").  After a byte >= 0x80 the word may or may not end there,
     * and with it every choice up to the end of its run of letters and
     * apostrophes. */
    uint64_t apos = m[K_APOS] & valid, word = let | apos;
    unsigned word_from = 0;
    for (uint64_t t = apos & (let | hi) << 1; t; t &= t - 1) {
        unsigned j = ctz64(t);
        if (hi >> (j - 1) & 1) {
            unsigned r = j + ctz64(~(word >> j));
            hard |= r >= 63 ? bits_from(j) : bits_from(j) & ~bits_from(r + 1);
            word_from = 0;
            continue;
        }
        size_t k = contraction_ci(s, pos + j, n);
        if (!k || j == word_from)
            continue; /* a plain P */
        word_from = (unsigned)(j + k + 1);
        if (j + k >= 63) {
            hard |= bits_from(j); /* its end is past the window */
            continue;
        }
        start &= ~(bits_from(j) & ~bits_from((unsigned)(j + k + 1)));
        start |= 1ull << (j + k + 1);
    }

    uint64_t odd = hi | (slash & (nl | slash) << 1);
    hard |= odd | odd << 1 | odd << 2 | odd >> 1;
    if (len >= 64)
        hard |= q & 1ull << 63;
    else
        start |= 1ull << len;
    *start_out = start & ~1ull;
    *hard_out = hard;
}

/*
 * fl_scan for O200K: windows while their rules hold, next_o200k for the hard
 * bytes and for pieces longer than a window.
 */
FL_INLINE size_t scan_o200k(const uint8_t *s, size_t n, size_t pos, size_t *ends, size_t max,
                            int classifier)
{
    size_t k = 0;
    size_t skip = 0; /* bytes past a hard window to scan piece by piece */
    while (pos < n && k < max) {
        uint64_t start, hard;
        o200k_window(s, n, pos, classifier, &start, &hard);
        unsigned rel = 0; /* pos + rel: the start of the next piece */
        for (;;) {
            uint64_t above = bits_from(rel + 1);
            uint64_t hb = hard & above, sb = start & above;
            uint64_t ok = hb ? sb & ((hb & -hb) - 1) : sb;
            if (ok)
                skip = 0;
            for (; ok; ok &= ok - 1) {
                if (k == max)
                    return k;
                rel = ctz64(ok);
                ends[k++] = pos + rel;
            }
            if (pos + rel >= n)
                return k;
            if (!hb) {
                /* No start after rel in the window. */
                if (rel) {
                    pos += rel;
                } else {
                    if (k == max)
                        return k;
                    pos = ends[k++] = next_o200k(s, pos, n);
                }
                break;
            }
            /* The piece at rel reaches a hard bit: scalar up to the end of the
             * hard run. */
            unsigned h = ctz64(hb);
            size_t stop = pos + h + ctz64(~(hard >> h));
            if (stop >= pos + 64 && h <= rel + 8) {
                /* Hard to the end of the window (CJK, say): the windows after
                 * it are skipped over more and more bytes while they are too. */
                stop += skip;
                skip = skip < 2048 ? 2 * skip + 64 : 4096;
            }
            size_t q = pos + rel;
            do {
                if (k == max)
                    return k;
                q = ends[k++] = next_o200k(s, q, n);
            } while (q < stop && q < n);
            if (q >= n)
                return k;
            if (q - pos >= 64) {
                pos = q;
                break;
            }
            rel = (unsigned)(q - pos);
        }
    }
    return k;
}

/* fl_scan with a mode (fl_pretokenize's modifiers; 0 for the encoder's, whose level picks the
 * classifier). */
FL_INLINE size_t scan_mode(int pattern, int mode, int level, const uint8_t *s, size_t len, size_t pos,
                           size_t *ends, size_t max_pieces)
{
    size_t k = 0;
    switch (pattern) {
    case FL_PATTERN_CL100K:
        while (pos < len && k < max_pieces)
            ends[k++] = pos = next_cl100k(s, pos, len);
        break;
    case FL_PATTERN_O200K:
        if (mode == FL_SCAN_PIECEWISE) {
            while (pos < len && k < max_pieces)
                ends[k++] = pos = next_o200k(s, pos, len);
        } else if (mode == FL_SCAN_PORTABLE) {
            k = scan_o200k(s, len, pos, ends, max_pieces, CLASSIFY_PORTABLE);
        } else if (mode == FL_SCAN_SSE2) {
            k = scan_o200k(s, len, pos, ends, max_pieces, CLASSIFY_SSE2);
        } else {
            k = scan_o200k(s, len, pos, ends, max_pieces, fl_simd_classifier(level));
        }
        break;
    default:
        while (pos < len && k < max_pieces)
            ends[k++] = pos = next_gpt2(s, pos, len);
        break;
    }
    return k;
}

size_t fl_scan(int pattern, int level, const uint8_t *s, size_t len, size_t pos, size_t *ends,
               size_t max_pieces)
{
    return scan_mode(pattern, 0, level, s, len, pos, ends, max_pieces);
}

int fl_pretokenize(int pattern, const char *text, size_t len, size_t *ends, size_t cap,
                   size_t *n_out)
{
    int mode = pattern & (FL_SCAN_PORTABLE | FL_SCAN_PIECEWISE | FL_SCAN_SSE2);
    pattern &= ~mode;
    if ((!text && len) || !n_out || (!ends && cap) || (mode & (mode - 1)) != 0)
        return FL_E_ARG; /* at most one modifier */
    if (pattern != FL_PATTERN_GPT2 && pattern != FL_PATTERN_CL100K && pattern != FL_PATTERN_O200K)
        return FL_E_ARG;
    size_t pos = 0, k = 0;
    while (pos < len) {
        if (k == cap) {
            *n_out = k;
            return FL_E_BUFFER;
        }
        size_t got = scan_mode(pattern, mode, fl_simd_max(), (const uint8_t *)text, len, pos, ends + k, cap - k);
        k += got;
        pos = ends[k - 1];
    }
    *n_out = k;
    return FL_OK;
}
