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

size_t fl_scan(int pattern, const uint8_t *s, size_t len, size_t pos, size_t *ends,
               size_t max_pieces)
{
    size_t k = 0;
    switch (pattern) {
    case FL_PATTERN_CL100K:
        while (pos < len && k < max_pieces)
            ends[k++] = pos = next_cl100k(s, pos, len);
        break;
    case FL_PATTERN_O200K:
        while (pos < len && k < max_pieces)
            ends[k++] = pos = next_o200k(s, pos, len);
        break;
    default:
        while (pos < len && k < max_pieces)
            ends[k++] = pos = next_gpt2(s, pos, len);
        break;
    }
    return k;
}

int fl_pretokenize(int pattern, const char *text, size_t len, size_t *ends, size_t cap,
                   size_t *n_out)
{
    if ((!text && len) || !n_out || (!ends && cap))
        return FL_E_ARG;
    if (pattern != FL_PATTERN_GPT2 && pattern != FL_PATTERN_CL100K && pattern != FL_PATTERN_O200K)
        return FL_E_ARG;
    size_t pos = 0, k = 0;
    while (pos < len) {
        if (k == cap) {
            *n_out = k;
            return FL_E_BUFFER;
        }
        size_t got = fl_scan(pattern, (const uint8_t *)text, len, pos, ends + k, cap - k);
        k += got;
        pos = ends[k - 1];
    }
    *n_out = k;
    return FL_OK;
}
