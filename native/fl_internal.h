/*
 * fl_internal.h - helpers shared by the .c files of fast-litellm.
 * Never part of the cffi cdef; nothing here is exported from the extension.
 */
#ifndef FL_INTERNAL_H
#define FL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fast_litellm.h"
#include "unicode_tables.h"

#if defined(__GNUC__)
#define FL_LIKELY(x) __builtin_expect(!!(x), 1)
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FL_INLINE static inline __attribute__((always_inline))
#define FL_HIDDEN __attribute__((visibility("hidden")))
#else
#define FL_LIKELY(x) (x)
#define FL_UNLIKELY(x) (x)
#define FL_INLINE static inline
#define FL_HIDDEN
#endif

/* AVX-512 code paths (x86-64, GCC or clang), taken where the CPU has AVX-512F. */
#if defined(__GNUC__) && defined(__x86_64__)
#define FL_X86_AVX512 1
#define FL_TARGET_AVX512 __attribute__((target("avx512f")))
#define FL_TARGET_AVX512BW __attribute__((target("avx512f,avx512bw")))
#define FL_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define FL_X86_AVX512 0
#endif

/* 1 if the vector merges and the 64-byte classifier may run here (AVX-512F and
 * AVX-512BW, and the OS saves their registers). */
FL_INLINE int fl_cpu_avx512(void)
{
#if FL_X86_AVX512
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

/* 1 if code compiled for AVX2 may run here. */
FL_INLINE int fl_cpu_avx2(void)
{
#if FL_X86_AVX512
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* ---- Unicode character classes (bits of fl_unicode_stage2) ---------------- */

#define FL_U_L 1u   /* \p{L} */
#define FL_U_N 2u   /* \p{N} */
#define FL_U_WS 4u  /* \s = White_Space */
#define FL_U_UP 8u  /* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] */
#define FL_U_LO 16u /* [\p{Ll}\p{Lm}\p{Lo}\p{M}] */

FL_INLINE unsigned fl_uclass(uint32_t cp)
{
    if (cp >= 0x110000u)
        return 0;
    return fl_unicode_stage2[(size_t)fl_unicode_stage1[cp / FL_UNICODE_BLOCK] * FL_UNICODE_BLOCK +
                             cp % FL_UNICODE_BLOCK];
}

/*
 * Decode the UTF-8 character at s[i] (i < n).  Sets *cp and returns its byte
 * length.  Malformed or truncated sequences decode as one byte with
 * cp = 0xFFFFFFFF (class 0), so scanning never reads past n.
 */
FL_INLINE unsigned fl_utf8_decode(const uint8_t *s, size_t i, size_t n, uint32_t *cp)
{
    uint8_t b0 = s[i];
    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    size_t left = n - i;
    if (b0 >= 0xC2 && b0 < 0xE0 && left >= 2 && (s[i + 1] & 0xC0) == 0x80) {
        *cp = ((uint32_t)(b0 & 0x1F) << 6) | (s[i + 1] & 0x3Fu);
        return 2;
    }
    if (b0 >= 0xE0 && b0 < 0xF0 && left >= 3 && (s[i + 1] & 0xC0) == 0x80 &&
        (s[i + 2] & 0xC0) == 0x80) {
        uint32_t c = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) |
                     (s[i + 2] & 0x3Fu);
        if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
            *cp = c;
            return 3;
        }
    }
    if (b0 >= 0xF0 && b0 < 0xF5 && left >= 4 && (s[i + 1] & 0xC0) == 0x80 &&
        (s[i + 2] & 0xC0) == 0x80 && (s[i + 3] & 0xC0) == 0x80) {
        uint32_t c = ((uint32_t)(b0 & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
                     ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3Fu);
        if (c >= 0x10000 && c < 0x110000) {
            *cp = c;
            return 4;
        }
    }
    *cp = 0xFFFFFFFFu;
    return 1;
}

/* ---- UTF-8 of a str's code points (utf8.c) -------------------------------- */

/* Bytes of UTF-8 that n code points of PEP 393 kind `kind` (1, 2 or 4) may take. */
FL_INLINE size_t fl_utf8_room(int kind, size_t n)
{
    return n * (kind == 1 ? 2u : kind == 2 ? 3u : 4u);
}

/*
 * Write the UTF-8 of the n code points at data (a str's PEP 393 array of
 * kind 1, 2 or 4) to out, which has room for fl_utf8_room(kind, n) bytes.
 * Returns the number of bytes written, or -1 if a code point is a surrogate
 * (it has no UTF-8) or kind is not 1, 2 or 4.  `level` (FL_SIMD_*) picks the
 * SSE2 code or the portable code.  Thread-safe; needs no GIL.
 */
FL_HIDDEN ptrdiff_t fl_utf8_from_ucs(int kind, const void *data, size_t n, uint8_t *out, int level);

/* ---- Pre-tokenizer (pretokenize.c) ---------------------------------------- */

/*
 * Scan pieces of `pattern` starting at byte offset pos (< len); write up to
 * max_pieces piece end offsets to ends and return how many were written
 * (>= 1 when pos < len and max_pieces >= 1).  `level` (FL_SIMD_*) picks the
 * o200k scanner's classifier.
 */
FL_HIDDEN size_t fl_scan(int pattern, int level, const uint8_t *s, size_t len, size_t pos, size_t *ends,
                         size_t max_pieces);

/* ---- Vocabulary (vocab.c) -------------------------------------------------- */

#define FL_NO_RANK 0xFFFFFFFFu
#define FL_MAX_TOKEN_LEN 255u     /* longest token in the piece table (and in tiktoken mode) */
#define FL_MAX_HF_TOKEN_LEN 4096u /* longest token of a Hugging Face mode vocabulary */
#define FL_MAX_RANKS ((1u << 21) - 2u)
#define FL_CACHE_TAG_MAX ((1u << 24) - 1u)

/* A byte trie of every token, for longest-prefix matches on long pieces.
 * edges: open addressing, slot = key << 22 | child with key = (parent << 8 |
 * byte) + 1 (0 = empty); node_rank[node] = rank of the token spelled by the
 * path to node, or FL_NO_RANK. */
typedef struct {
    uint64_t *edges;
    unsigned edge_shift;
    size_t edge_mask;
    uint32_t *node_rank;
    size_t nodes;
    uint32_t *depth2; /* [65536] node of the two-byte path a, b (a << 8 | b), or FL_TRIE_NONE */
} fl_trie;

#define FL_TRIE_NONE 0xFFFFFFFFu

FL_INLINE uint32_t fl_trie_child(const fl_trie *t, uint32_t node, uint8_t byte)
{
    uint64_t key = (((uint64_t)node << 8) | byte) + 1;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> t->edge_shift);
    for (;;) {
        uint64_t s = t->edges[i];
        if (s == 0)
            return FL_TRIE_NONE;
        if ((s >> 22) == key)
            return (uint32_t)(s & 0x3FFFFF);
        i = (i + 1) & t->edge_mask;
    }
}

/* One slot of the piece table: bytes -> rank.  key holds the bytes themselves
 * for tokens of <= 8 bytes (see fl_short_key), else a 64-bit hash of them;
 * meta = rank | len << 24 | pool offset << 32 (0 = empty slot). */
typedef struct {
    uint64_t key;
    uint64_t meta;
} fl_piece_slot;

struct fl_encoding {
    int pattern;
    int hf_merges;        /* 1: pairs holds only listed merges (Hugging Face BPE), see
                           * fl_encoding_new_merges; 0: every cut of every token (tiktoken) */
    uint32_t max_rank;    /* one past the highest rank */
    uint8_t *pool;        /* token bytes, concatenated in rank order */
    size_t pool_len;
    uint32_t *tok_off;    /* [max_rank] offset of each token in pool */
    uint16_t *tok_len;    /* [max_rank] token length, 0 = rank unused; tokens longer
                           * than FL_MAX_TOKEN_LEN (Hugging Face mode only) are not in
                           * the piece table: pieces spelling them go through the merge */
    fl_piece_slot *pieces;
    unsigned piece_shift; /* index = hash >> piece_shift */
    size_t piece_mask;
    uint64_t *pairs;      /* (left + 1) << 42 | right << 21 | merged; 0 = empty */
    unsigned pair_shift;
    size_t pair_mask;
    uint32_t byte_rank[256];
    uint32_t *byte_pairs; /* [65536] rank of the two bytes a, b at a << 8 | b */
    atomic_int simd;      /* the FL_SIMD_* level its code runs at (fl_encoding_set_simd) */
    uint32_t cache_tag;   /* tags this encoding's entries in the per-thread piece cache; 0 = none */
    int high_rebuild;     /* tiktoken mode: 1 if BPE of the bytes of every token with a byte
                           * >= 0x80 gives that token back (the condition for cutting, fl_cross) */
    /* Built on first use by fl_encoding_trie (long pieces only) and
     * fl_encoding_cross (multi-byte text), then immutable; built under vocab.c's
     * one lazy_lock (fork-safe, see there). */
    _Atomic(fl_trie *) trie;
    _Atomic(struct fl_cross *) cross;
    atomic_size_t cross_demand; /* bytes of pieces that asked for the filter before it was built */
    atomic_size_t memory;
};

/* The encoding's token trie, built on first call (thread-safe); NULL if out of memory. */
FL_HIDDEN const fl_trie *fl_encoding_trie(const struct fl_encoding *e);

/*
 * Where no token crosses a character boundary (tiktoken mode).  If no token
 * of the vocabulary spells bytes that start before a boundary b of a piece and
 * end after it, no merge can cross b: BPE of the piece is the BPE of the two
 * sides, concatenated.  Most boundaries between CJK characters are like that,
 * and the short parts they cut a piece into repeat, where the piece does not.
 *
 * Only boundaries between two multi-byte characters are asked about (p[b-1] >=
 * 0x80, p[b] >= 0xC0).  A token crossing such a boundary covers, around it,
 * one of: p[b-2..b+2) (4 bytes, "W4"), p[b-1..b+2) as its first three bytes
 * ("PRE3"), p[b-2..b+1) as its last three ("SUF3"), or is p[b-1..b+1) itself.
 * The first three are kept in a blocked Bloom filter built from every token
 * (false positives only keep a piece whole), the last is byte_pairs.
 *
 * The parts then go through the whole-token and piece-cache shortcuts, which
 * is exact only if BPE of every token's bytes gives the token back; the build
 * checks that for every token with a byte >= 0x80 (all parts have one) and
 * leaves words NULL (never cut) if one fails.
 */
typedef struct fl_cross {
    uint64_t *words; /* NULL: never cut */
    unsigned shift;  /* word index = hash >> shift */
} fl_cross;

enum { FL_CROSS_W4 = 1, FL_CROSS_PRE3 = 2, FL_CROSS_SUF3 = 3 };

/* Building the filter takes a few milliseconds and 512 KB (o200k), more than
 * cutting saves on text that is mostly ASCII: it is built once pieces holding
 * FL_CROSS_BUILD_AFTER bytes have asked for it (on CJK text, within the
 * first few kilobytes); until then those pieces are merged whole, which gives
 * the same ids. */
#define FL_CROSS_BUILD_AFTER 16384u

/* The filter, built (thread-safe) once pieces of `bytes` (this one's included)
 * have asked for it; NULL before that, or if out of memory. */
FL_HIDDEN const fl_cross *fl_encoding_cross(const struct fl_encoding *e, size_t bytes);

#define FL_GOLDEN 0x9E3779B97F4A7C15ull

FL_INLINE uint64_t fl_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

FL_INLINE uint32_t fl_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* An injective packing of 1..8 bytes (given their length) into 64 bits. */
FL_INLINE uint64_t fl_short_key(const uint8_t *p, size_t len)
{
    if (len >= 4)
        return (uint64_t)fl_load32(p) | ((uint64_t)fl_load32(p + len - 4) << 32);
    return (uint64_t)p[0] | ((uint64_t)p[len >> 1] << 8) | ((uint64_t)p[len - 1] << 16);
}

FL_INLINE uint64_t fl_mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

/* 64-bit hash of len > 8 bytes (reads only p[0..len)). */
FL_INLINE uint64_t fl_long_hash(const uint8_t *p, size_t len)
{
    uint64_t h = (uint64_t)len * FL_GOLDEN;
    size_t i = 0;
    while (len - i > 8) {
        h = fl_mix(h ^ fl_load64(p + i)) * FL_GOLDEN;
        i += 8;
    }
    return fl_mix(h ^ fl_load64(p + len - 8));
}

/* Key and hash of p[0..len) in the piece table (len <= FL_MAX_TOKEN_LEN). */
FL_INLINE uint64_t fl_piece_hash(const uint8_t *p, size_t len, uint64_t *key)
{
    if (len <= 8) {
        *key = fl_short_key(p, len);
        return (*key ^ ((uint64_t)len << 59)) * FL_GOLDEN;
    }
    *key = fl_long_hash(p, len);
    return *key * FL_GOLDEN;
}

/* Probe the piece table for p[0..len) with its key and hash. */
FL_INLINE uint32_t fl_piece_find(const struct fl_encoding *e, const uint8_t *p, size_t len,
                                 uint64_t key, uint64_t h)
{
    size_t i = (size_t)(h >> e->piece_shift);
    for (;;) {
        const fl_piece_slot *s = &e->pieces[i];
        uint64_t meta = s->meta;
        if (meta == 0)
            return FL_NO_RANK;
        if (s->key == key && ((meta >> 24) & 0xFF) == len &&
            (len <= 8 || memcmp(e->pool + (meta >> 32), p, len) == 0))
            return (uint32_t)(meta & 0xFFFFFF);
        i = (i + 1) & e->piece_mask;
    }
}

/* Rank of the token whose bytes are p[0..len), or FL_NO_RANK. */
FL_INLINE uint32_t fl_piece_rank(const struct fl_encoding *e, const uint8_t *p, size_t len)
{
    if (FL_UNLIKELY(len > FL_MAX_TOKEN_LEN))
        return FL_NO_RANK;
    uint64_t key;
    uint64_t h = fl_piece_hash(p, len, &key);
    return fl_piece_find(e, p, len, key, h);
}

/* Pair-table key of (left, right); never 0. */
FL_INLINE uint64_t fl_pair_key(uint32_t left, uint32_t right)
{
    return ((uint64_t)(left + 1) << 21) | right;
}

/* Home slot of a pair key (to prefetch before fl_pair_find). */
FL_INLINE size_t fl_pair_slot(const struct fl_encoding *e, uint64_t k)
{
    return (size_t)((k * FL_GOLDEN) >> e->pair_shift);
}

/* Merged rank of the pair with key k, probing from its home slot i. */
FL_INLINE uint32_t fl_pair_find(const struct fl_encoding *e, uint64_t k, size_t i)
{
    for (;;) {
        uint64_t s = e->pairs[i];
        if (s == 0)
            return FL_NO_RANK;
        if ((s >> 21) == k)
            return (uint32_t)(s & 0x1FFFFF);
        i = (i + 1) & e->pair_mask;
    }
}

/* Rank of the token with bytes(left) + bytes(right), or FL_NO_RANK. */
FL_INLINE uint32_t fl_pair_rank(const struct fl_encoding *e, uint32_t left, uint32_t right)
{
    uint64_t k = fl_pair_key(left, right);
    return fl_pair_find(e, k, fl_pair_slot(e, k));
}

/* Filter lookups for fl_cross (above). */
FL_INLINE uint64_t fl_cross_hash(unsigned kind, const uint8_t *p)
{
    uint64_t v = kind == FL_CROSS_W4 ? fl_load32(p) : (uint32_t)(p[0] | p[1] << 8 | p[2] << 16);
    uint64_t h = (v | (uint64_t)kind << 32) * FL_GOLDEN;
    return h ^ (h >> 29); /* the word from the top bits, the bit positions from the low ones */
}

FL_INLINE uint64_t fl_cross_bits(uint64_t h)
{
    return (1ull << (h & 63)) | (1ull << ((h >> 6) & 63)) | (1ull << ((h >> 12) & 63));
}

/* Start loading the filter word fl_cross_maybe(c, kind, p) will read. */
FL_INLINE void fl_cross_prefetch(const fl_cross *c, unsigned kind, const uint8_t *p)
{
    __builtin_prefetch(&c->words[fl_cross_hash(kind, p) >> c->shift]);
}

/* 0 if no token has these bytes in that position; 1 if one may. */
FL_INLINE int fl_cross_maybe(const fl_cross *c, unsigned kind, const uint8_t *p)
{
    uint64_t h = fl_cross_hash(kind, p), m = fl_cross_bits(h);
    return (c->words[h >> c->shift] & m) == m;
}

/* ---- Byte-pair merge (bpe.c) ----------------------------------------------- */

/* Encode one piece (len >= 1) that is not a whole token.  Writes its ids to
 * out (room for len ids) and returns their number, or 0 on allocation failure
 * (only possible for pieces longer than the stack buffers). */
FL_HIDDEN size_t fl_bpe_merge(const struct fl_encoding *e, const uint8_t *p, size_t len,
                              uint32_t *out);

/* For each token ranks[i] (all of one length L >= 3), merge its bytes with
 * the pair table as it is: left[i], right[i] = the two tokens it ends as, or
 * FL_NO_RANK if it ends as more than two.  Returns FL_OK or FL_E_NOMEM. */
FL_HIDDEN int fl_bpe_final_pairs(const struct fl_encoding *e, const uint32_t *ranks, size_t n,
                                 uint32_t *left, uint32_t *right);

#endif /* FL_INTERNAL_H */
