/*
 * bpe.c - byte-pair merge and the encode / count entry points.
 *
 * A piece that is a whole token (most English and code pieces) costs one
 * table lookup.  Otherwise the piece's bytes are merged exactly as tiktoken
 * does: repeatedly merge the adjacent pair whose concatenation has the lowest
 * rank, the leftmost on ties, until no adjacent pair is a token.
 *   - pieces under 96 bytes: arrays and a linear minimum scan (O(n*m), cache
 *     friendly), up to GROUP pieces in lockstep so that their pair-table
 *     misses overlap (merge_lanes);
 *   - up to 64 KB: a doubly linked list plus a blocked tournament tree keyed
 *     by (rank, position), O(n log n);
 *   - 64 KB and more: a backtracking encoder over compatible token pairs,
 *     near-linear on runs of one character (see merge_backtrack).
 *
 * Before any of that, pieces of multi-byte text are cut at the character
 * boundaries no token crosses (fl_cross in fl_internal.h): BPE cannot merge
 * across them, and the short parts hit the cache where the pieces do not.
 *
 * In front of the merges sits a per-thread, direct-mapped cache of short pieces
 * (<= 16 bytes, <= 3 ids): English and code repeat a few thousand pieces
 * most of the time, and a hit there costs one L2 access instead of a probe
 * of the multi-megabyte vocabulary tables (or a whole merge).  Entries are
 * tagged with the encoding's never-reused cache_tag, so one thread may use
 * several encodings; each thread owns its cache (no locks), freed when the
 * thread exits.  Behind it, a per-thread memo keeps merged pieces the cache
 * cannot hold (longer, or more ids) once they come back.
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fl_internal.h"

#define SMALL_PIECE 96   /* pieces shorter than this use the array merge */
#define GROUP 16         /* ... up to this many in lockstep (merge_lanes) */
#define SCAN_BATCH 256   /* piece ends produced per scanner call */
#define PIECE_BATCH 512  /* ... and after cutting them at boundaries no token crosses */
#define CUT_GROUP 16     /* boundaries whose cross-filter words are fetched together */

/* ---- Per-thread piece cache and memo of merged pieces ----------------------- */

/* 64K entries of 32 bytes (2 MB per thread): English and code have ~70K
 * distinct short pieces per 10 MB; 16K entries missed on 13 % of pieces,
 * 64K on 6 % (the rest are first occurrences). */
#define CACHE_BITS 16
#define CACHE_MAX_LEN 16
#define CACHE_MAX_IDS 3

typedef struct {
    uint64_t k0, k1;
    uint32_t meta; /* tag << 8 | len << 2 | n_ids; 0 = empty */
    uint32_t ids[CACHE_MAX_IDS];
} cache_entry;

/*
 * Behind the cache, the memo keeps the ids of merged pieces the cache cannot
 * hold: over CACHE_MAX_LEN bytes, or over CACHE_MAX_IDS ids (the cache then
 * holds an entry with no ids that sends the piece here).  Such a piece goes in
 * on its second merge (the cache's entry, or for long pieces a bit in `seen`,
 * remembers the first): most of those in CJK text never come back.  On text
 * seen again (a conversation re-counted every turn) these pieces were all
 * merged each time.  It is asked only after the cache and the vocabulary
 * missed, so its lookups are few.  An open-addressing table of 32K slots over
 * a pool of entries
 *     [tag] [len | n << 16] [n ids] [len bytes, padded to a word]
 * filled in order and emptied all at once when either is three quarters full
 * (resolve_misses empties it between groups only, so that the ids a lookup
 * returned stay valid while its group is written out).  Pieces under
 * SMALL_PIECE bytes only.
 */
#define MERGED_BITS 15
#define MERGED_MAX_ENTRIES (3u << (MERGED_BITS - 2))
#define MERGED_POOL_WORDS (192u * 1024u) /* 768 KB */
#define MERGED_ENTRY_MAX_WORDS (2u + SMALL_PIECE + SMALL_PIECE / 4u)

typedef struct {
    uint32_t check; /* bits of the piece's hash */
    uint32_t off;   /* pool word of the entry; 0 = empty slot */
} memo_slot;

typedef struct {
    cache_entry cache[(size_t)1 << CACHE_BITS];
    uint64_t seen[1024]; /* pieces over CACHE_MAX_LEN merged before: one bit per hash */
    memo_slot memo[(size_t)1 << MERGED_BITS];
    uint32_t memo_entries;
    uint32_t memo_used; /* pool words in use; word 0 is never an entry */
    uint32_t pool[MERGED_POOL_WORDS];
} thread_state;

/*
 * The key whose destructor frees a thread's state when the thread exits,
 * created once and published with a compare-and-swap (no lock and no
 * pthread_once, so a fork at any moment leaves the child nothing to wait
 * for): key_slot holds the key + 1, 0 until one is made; a thread that loses
 * the race deletes its own key.
 */
_Static_assert(sizeof(pthread_key_t) <= sizeof(uint64_t), "pthread_key_t fits the slot");
static _Atomic(uint64_t) key_slot;
static _Thread_local thread_state *tls_state;

/* The state key (1 with *key set), or 0 if none can be made. */
static int state_key(pthread_key_t *key)
{
    uint64_t slot = atomic_load_explicit(&key_slot, memory_order_acquire);
    if (slot == 0) {
        pthread_key_t made;
        if (pthread_key_create(&made, free) != 0)
            return 0;
        uint64_t bits = 0;
        memcpy(&bits, &made, sizeof made);
        uint64_t mine = bits + 1;
        if (atomic_compare_exchange_strong_explicit(&key_slot, &slot, mine, memory_order_acq_rel,
                                                    memory_order_acquire))
            slot = mine;
        else
            pthread_key_delete(made); /* another thread's key won; slot holds it */
    }
    uint64_t bits = slot - 1;
    memcpy(key, &bits, sizeof *key); /* the bytes state_key stored, whatever the width and byte order */
    return 1;
}

/* This thread's cache and memo, allocated on first use (64-byte aligned, so no
 * cache entry straddles two lines; the pool's pages are left untouched until
 * used); NULL if that fails.  A forked child keeps the forking thread's state
 * (a copy, valid there); the other threads' states are not its to free. */
static thread_state *thread_cache(void)
{
    if (FL_LIKELY(tls_state != NULL))
        return tls_state;
    pthread_key_t key;
    if (!state_key(&key))
        return NULL;
    void *mem = NULL;
    if (posix_memalign(&mem, 64, sizeof(thread_state)) != 0)
        return NULL;
    thread_state *t = mem;
    memset(t, 0, offsetof(thread_state, pool));
    t->memo_used = 1;
    if (pthread_setspecific(key, t) != 0) {
        free(t);
        return NULL;
    }
    tls_state = t;
    return t;
}

FL_INLINE int seen_test(const thread_state *t, uint64_t h)
{
    return (t->seen[(h >> 42) & 1023] >> ((h >> 36) & 63)) & 1;
}

FL_INLINE void seen_set(thread_state *t, uint64_t h)
{
    t->seen[(h >> 42) & 1023] |= 1ull << ((h >> 36) & 63);
}

/* A piece's home slot, the same for every encoding (the entries' tags tell them apart). */
FL_INLINE size_t memo_index(uint64_t h)
{
    return (size_t)((h * 0xd6e8feb86659fd93ull) >> (64 - MERGED_BITS));
}

FL_INLINE uint32_t memo_check(uint64_t h)
{
    return (uint32_t)(h >> 7) | 1u;
}

/* The ids of piece p[0..len) (fl_piece_hash h) under tag, and their number in
 * *n; NULL if the memo does not hold it. */
static const uint32_t *memo_find(const thread_state *t, uint32_t tag, const uint8_t *p, size_t len,
                                 uint64_t h, size_t *n)
{
    size_t mask = ((size_t)1 << MERGED_BITS) - 1, i = memo_index(h);
    uint32_t check = memo_check(h);
    for (;; i = (i + 1) & mask) {
        memo_slot s = t->memo[i];
        if (s.off == 0)
            return NULL;
        if (s.check != check)
            continue;
        const uint32_t *entry = t->pool + s.off;
        size_t m = entry[1] >> 16;
        if (entry[0] == tag && (entry[1] & 0xFFFF) == len && memcmp(entry + 2 + m, p, len) == 0) {
            *n = m;
            return entry + 2;
        }
    }
}

/* Make room for a group of GROUP inserts, emptying the memo if it lacks it. */
static void memo_reserve(thread_state *t)
{
    if (t->memo_entries + GROUP <= MERGED_MAX_ENTRIES &&
        t->memo_used + GROUP * MERGED_ENTRY_MAX_WORDS <= MERGED_POOL_WORDS)
        return;
    memset(t->memo, 0, sizeof t->memo);
    t->memo_entries = 0;
    t->memo_used = 1;
}

/* Remember the n ids of piece p[0..len) (len < SMALL_PIECE, after memo_reserve). */
static void memo_insert(thread_state *t, uint32_t tag, const uint8_t *p, size_t len, uint64_t h,
                        const uint32_t *ids, size_t n)
{
    size_t mask = ((size_t)1 << MERGED_BITS) - 1, i = memo_index(h);
    while (t->memo[i].off != 0)
        i = (i + 1) & mask;
    uint32_t off = t->memo_used, *entry = t->pool + off;
    entry[0] = tag;
    entry[1] = (uint32_t)len | (uint32_t)n << 16;
    memcpy(entry + 2, ids, n * sizeof *ids);
    memcpy(entry + 2 + n, p, len);
    t->memo_used = off + 2 + (uint32_t)n + (uint32_t)(len + 3) / 4;
    t->memo_entries++;
    t->memo[i].check = memo_check(h);
    t->memo[i].off = off;
}

/* The bytes of pieces of 0 .. 16 bytes in two words: masks of the first and
 * of the second word. */
static const uint64_t key_low[17] = {
    0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFF, 0xFFFFFFFFFFFF, 0xFFFFFFFFFFFFFF,
    UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX,
    UINT64_MAX};
static const uint64_t key_high[17] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFF, 0xFFFFFFFFFFFF,
    0xFFFFFFFFFFFFFF, UINT64_MAX};

/* Injective (given len <= 16) packing of piece p[0..len) into two words, its
 * bytes zero-padded.  Where the text goes on for 16 bytes from p (end is its
 * end), that is two loads and two masks: no branch on the length, which
 * follows no pattern a branch predictor learns. */
FL_INLINE void cache_key_of(const uint8_t *p, size_t len, const uint8_t *end, uint64_t *k0, uint64_t *k1)
{
    if (FL_LIKELY(end - p >= 16)) {
        *k0 = fl_load64(p) & key_low[len];
        *k1 = fl_load64(p + 8) & key_high[len];
    } else {
        uint8_t b[16] = {0};
        memcpy(b, p, len);
        *k0 = fl_load64(b);
        *k1 = fl_load64(b + 8);
    }
}

FL_INLINE size_t cache_index(uint64_t k0, uint64_t k1, size_t len)
{
    uint64_t h = (k0 * FL_GOLDEN) ^ (k1 + len);
    return (size_t)((h * 0xd6e8feb86659fd93ull) >> (64 - CACHE_BITS));
}

static size_t merge_small(const struct fl_encoding *e, const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t tok[SMALL_PIECE], pr[SMALL_PIECE];
    for (size_t i = 0; i < n; i++)
        tok[i] = e->byte_rank[p[i]];
    for (size_t i = 0; i + 1 < n; i++)
        pr[i] = e->byte_pairs[(unsigned)p[i] << 8 | p[i + 1]];
    size_t m = n;
    pr[m - 1] = FL_NO_RANK;
    for (;;) {
        /* Lowest rank (a branch-free, vectorizable pass), then its leftmost index. */
        uint32_t best = FL_NO_RANK;
        for (size_t i = 0; i + 1 < m; i++)
            best = pr[i] < best ? pr[i] : best;
        if (best == FL_NO_RANK)
            break;
        size_t bi = 0;
        while (pr[bi] != best)
            bi++;
        /* Both new pairs' lookups first: independent table misses overlap. */
        uint32_t right = bi + 2 < m ? fl_pair_rank(e, best, tok[bi + 2]) : FL_NO_RANK;
        uint32_t left = bi > 0 ? fl_pair_rank(e, tok[bi - 1], best) : FL_NO_RANK;
        tok[bi] = best;
        for (size_t i = bi + 1; i + 1 < m; i++) {
            tok[i] = tok[i + 1];
            pr[i] = pr[i + 1];
        }
        m--;
        pr[bi] = right;
        if (bi > 0)
            pr[bi - 1] = left;
    }
    memcpy(out, tok, m * sizeof *tok);
    return m;
}

/* ---- Short pieces merged in lockstep ------------------------------------------ */

/*
 * merge_small spends most of its time waiting for pair-table misses, one
 * merge after another.  The merges of different pieces are independent, so
 * merge_lanes runs up to GROUP pieces side by side: each round picks every
 * piece's next merge (as merge_small does) and prefetches the table slots of
 * its two new pairs, then a second loop reads them, by which time the misses
 * of all pieces have been in flight together.
 */

typedef struct {
    uint32_t tok[SMALL_PIECE], pr[SMALL_PIECE];
    size_t m;      /* current number of tokens */
    size_t bi;     /* this round's merge: tokens bi, bi + 1 ... */
    uint32_t best; /* ... become this rank */
    uint64_t rk, lk; /* keys of the new right / left pairs, 0 = none */
    size_t ri, li;   /* their home slots */
} lane_t;

/* Merge pieces p[j][0..len[j]) (1 <= len[j] < SMALL_PIECE, j < count <= GROUP),
 * none a whole token, writing the ids of piece j to out + j * SMALL_PIECE and
 * their number to n_ids[j].  Pieces shorter than min_len are left alone. */
FL_INLINE void merge_lanes_body(const struct fl_encoding *e, const uint8_t *const *p, const size_t *len,
                                 size_t count, size_t min_len, uint32_t *out, size_t *n_ids)
{
    lane_t lane[GROUP];
    size_t act[GROUP], na = 0;
    for (size_t j = 0; j < count; j++) {
        lane_t *L = &lane[j];
        const uint8_t *q = p[j];
        size_t n = len[j];
        if (n < min_len)
            continue;
        for (size_t i = 0; i < n; i++)
            L->tok[i] = e->byte_rank[q[i]];
        for (size_t i = 0; i + 1 < n; i++)
            L->pr[i] = e->byte_pairs[(unsigned)q[i] << 8 | q[i + 1]];
        L->pr[n - 1] = FL_NO_RANK;
        L->m = n;
        act[na++] = j;
    }
    while (na > 0) {
        /* Pick each piece's merge and prefetch its new pairs' slots. */
        size_t keep = 0;
        for (size_t a = 0; a < na; a++) {
            size_t j = act[a];
            lane_t *L = &lane[j];
            size_t m = L->m;
            uint32_t best = FL_NO_RANK;
            for (size_t i = 0; i + 1 < m; i++)
                best = L->pr[i] < best ? L->pr[i] : best;
            if (best == FL_NO_RANK) {
                memcpy(out + j * SMALL_PIECE, L->tok, m * sizeof *L->tok);
                n_ids[j] = m;
                continue;
            }
            size_t bi = 0;
            while (L->pr[bi] != best)
                bi++;
            L->bi = bi;
            L->best = best;
            L->rk = L->lk = 0;
            if (bi + 2 < m) {
                L->rk = fl_pair_key(best, L->tok[bi + 2]);
                L->ri = fl_pair_slot(e, L->rk);
                __builtin_prefetch(&e->pairs[L->ri]);
            }
            if (bi > 0) {
                L->lk = fl_pair_key(L->tok[bi - 1], best);
                L->li = fl_pair_slot(e, L->lk);
                __builtin_prefetch(&e->pairs[L->li]);
            }
            act[keep++] = j;
        }
        na = keep;
        /* Apply the merges. */
        for (size_t a = 0; a < na; a++) {
            lane_t *L = &lane[act[a]];
            size_t bi = L->bi, m = L->m;
            uint32_t right = L->rk ? fl_pair_find(e, L->rk, L->ri) : FL_NO_RANK;
            uint32_t left = L->lk ? fl_pair_find(e, L->lk, L->li) : FL_NO_RANK;
            L->tok[bi] = L->best;
            for (size_t i = bi + 1; i + 1 < m; i++) {
                L->tok[i] = L->tok[i + 1];
                L->pr[i] = L->pr[i + 1];
            }
            L->m = m - 1;
            L->pr[bi] = right;
            if (bi > 0)
                L->pr[bi - 1] = left;
        }
    }
}

/* merge_lanes_body compiled for the baseline and, where the CPU may run it, for AVX2; the
 * encoding's level chooses (so that tests run both on every machine with AVX2). */
static void merge_lanes_base(const struct fl_encoding *e, const uint8_t *const *p, const size_t *len,
                             size_t count, size_t min_len, uint32_t *out, size_t *n_ids)
{
    merge_lanes_body(e, p, len, count, min_len, out, n_ids);
}

#if FL_X86_AVX512
FL_TARGET_AVX2 static void merge_lanes_avx2(const struct fl_encoding *e, const uint8_t *const *p,
                                            const size_t *len, size_t count, size_t min_len, uint32_t *out,
                                            size_t *n_ids)
{
    merge_lanes_body(e, p, len, count, min_len, out, n_ids);
}
#endif

FL_INLINE void merge_lanes(int level, const struct fl_encoding *e, const uint8_t *const *p, const size_t *len,
                           size_t count, size_t min_len, uint32_t *out, size_t *n_ids)
{
#if FL_X86_AVX512
    if (level >= FL_SIMD_AVX2) {
        merge_lanes_avx2(e, p, len, count, min_len, out, n_ids);
        return;
    }
#endif
    (void)level;
    merge_lanes_base(e, p, len, count, min_len, out, n_ids);
}

/* ---- Pieces of up to 32 bytes in AVX-512 registers ----------------------------- */

#if FL_X86_AVX512
#include <immintrin.h>

#define LANE16 16 /* tokens per register */

/* A pair key no pair has (no rank is 0x1FFFFF, see FL_MAX_RANKS): looked up
 * where a merged token has no neighbour, so that the lookup needs no branch. */
#define PAIR_KEY_NONE (((uint64_t)1 << 21) | 0x1FFFFF)

/* fl_pair_find, the home slot and the next seven compared at once (one or two cache
 * lines); probe sequences that run on past them, or past the table's end, are rare.
 * Nothing is ever removed, so a key found past an empty slot cannot be there.
 * Found or not is chosen without a branch: about a third of the lookups of a
 * merge find nothing, in no pattern a branch predictor learns. */
FL_TARGET_AVX512 static inline uint32_t pair_find8(const struct fl_encoding *e, uint64_t k, size_t i)
{
    if (FL_LIKELY(i + 8 <= e->pair_mask + 1)) {
        __m512i s = _mm512_loadu_si512((const void *)&e->pairs[i]);
        __mmask8 hit = _mm512_cmpeq_epi64_mask(_mm512_srli_epi64(s, 21), _mm512_set1_epi64((long long)k));
        __mmask8 empty = _mm512_cmpeq_epi64_mask(s, _mm512_setzero_si512());
        if (FL_LIKELY(hit | empty)) {
            /* the hit's slot in element 0, or 0 if none */
            uint64_t v = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(_mm512_maskz_compress_epi64(hit, s)));
            uint32_t none = (uint32_t)(hit == 0) * FL_NO_RANK;
            return ((uint32_t)v & 0x1FFFFF) | none;
        }
    }
    return fl_pair_find(e, k, i);
}

/* Element i of the 32 elements lo, hi, as a scalar. */
FL_TARGET_AVX512 static inline uint32_t lane_at(__m512i lo, __m512i hi, unsigned i)
{
    __m512i v = _mm512_permutex2var_epi32(lo, _mm512_set1_epi32((int)i), hi);
    return (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(v));
}

/*
 * merge_lanes for the pieces of 1 .. 16 bytes (wide = 0) or of 17 .. 32 bytes
 * (wide = 1) in registers, leaving the others alone; returns how many were
 * left.  A piece's tokens and pair ranks live in one register each (two when
 * wide), padded with FL_NO_RANK: a round finds the lowest rank by a reduction
 * and removes the merged token with a permutation, where the scalar lanes run
 * loops whose lengths the branch predictor cannot guess (three times the time
 * per piece, with the tables in cache).  Same order of merges, same lockstep
 * prefetches of the new pairs' slots.  The narrow case does everything on one
 * register, the high half being FL_NO_RANK throughout.
 */
FL_TARGET_AVX512 static inline __attribute__((always_inline)) size_t
merge_lanes_vec(const struct fl_encoding *e, const uint8_t *const *p, const size_t *len, size_t count,
                uint32_t *out, size_t *n_ids, const int wide)
{
    __m512i tlo[GROUP], thi[GROUP], plo[GROUP], phi[GROUP];
    uint32_t m[GROUP], bi[GROUP], best[GROUP];
    uint64_t rk[GROUP], lk[GROUP];
    size_t ri[GROUP], li[GROUP], act[GROUP], na = 0, left_alone = 0;
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i iota16 = _mm512_add_epi32(iota, _mm512_set1_epi32(16));
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i none = _mm512_set1_epi32((int)FL_NO_RANK);
    const size_t shortest = wide ? LANE16 + 1 : 1, longest = wide ? 2 * LANE16 : LANE16;
    for (size_t j = 0; j < count; j++) {
        const uint8_t *q = p[j];
        size_t n = len[j];
        if (n < shortest || n > longest) {
            left_alone++;
            continue;
        }
        uint32_t t[2 * LANE16] __attribute__((aligned(64))), r[2 * LANE16] __attribute__((aligned(64)));
        for (size_t i = 0; i < 2 * LANE16; i++)
            t[i] = r[i] = FL_NO_RANK;
        for (size_t i = 0; i < n; i++)
            t[i] = e->byte_rank[q[i]];
        for (size_t i = 0; i + 1 < n; i++)
            r[i] = e->byte_pairs[(unsigned)q[i] << 8 | q[i + 1]];
        tlo[j] = _mm512_load_si512((const void *)t);
        plo[j] = _mm512_load_si512((const void *)r);
        thi[j] = wide ? _mm512_load_si512((const void *)(t + LANE16)) : none;
        phi[j] = wide ? _mm512_load_si512((const void *)(r + LANE16)) : none;
        m[j] = (uint32_t)n;
        act[na++] = j;
    }
    while (na > 0) {
        /* Pick each piece's merge and prefetch its new pairs' slots. */
        size_t keep = 0;
        for (size_t a = 0; a < na; a++) {
            size_t j = act[a];
            __m512i lo = tlo[j], hi = wide ? thi[j] : none;
            uint32_t b = _mm512_reduce_min_epu32(wide ? _mm512_min_epu32(plo[j], phi[j]) : plo[j]);
            if (b == FL_NO_RANK) {
                _mm512_storeu_si512((void *)(out + j * SMALL_PIECE), lo);
                if (wide)
                    _mm512_storeu_si512((void *)(out + j * SMALL_PIECE + LANE16), hi);
                n_ids[j] = m[j];
                continue;
            }
            __m512i vb = _mm512_set1_epi32((int)b);
            uint32_t eq = _mm512_cmpeq_epi32_mask(plo[j], vb);
            if (wide)
                eq |= (uint32_t)_mm512_cmpeq_epi32_mask(phi[j], vb) << LANE16;
            unsigned at = (unsigned)__builtin_ctz(eq);
            bi[j] = at;
            best[j] = b;
            /* The new pairs with the neighbours, PAIR_KEY_NONE where there is none
             * (selected by masks: where the merge falls is data the branch
             * predictor cannot learn). */
            uint64_t has_right = -(uint64_t)(at + 2 < m[j]), has_left = -(uint64_t)(at > 0);
            rk[j] = (fl_pair_key(b, lane_at(lo, hi, at + 2) & 0x1FFFFF) & has_right) | (PAIR_KEY_NONE & ~has_right);
            lk[j] = (fl_pair_key(lane_at(lo, hi, at - 1) & 0x1FFFFF, b) & has_left) | (PAIR_KEY_NONE & ~has_left);
            ri[j] = fl_pair_slot(e, rk[j]);
            li[j] = fl_pair_slot(e, lk[j]);
            __builtin_prefetch(&e->pairs[ri[j]]);
            __builtin_prefetch(&e->pairs[li[j]]);
            act[keep++] = j;
        }
        na = keep;
        /* Apply the merges: token bi becomes best, token bi + 1 goes (every later
         * element takes its right neighbour's value; the last one takes none). */
        for (size_t a = 0; a < na; a++) {
            size_t j = act[a];
            unsigned at = bi[j];
            uint32_t right = pair_find8(e, rk[j], ri[j]);
            uint32_t left = pair_find8(e, lk[j], li[j]);
            uint32_t later = 0xFFFFFFFFu << at << 1, here = 1u << at, before = here >> 1;
            __m512i vb = _mm512_set1_epi32((int)best[j]), vr = _mm512_set1_epi32((int)right),
                    vl = _mm512_set1_epi32((int)left);
            __m512i tl = tlo[j], th = wide ? thi[j] : none, pl = plo[j], ph = wide ? phi[j] : none;
            __m512i from = _mm512_mask_add_epi32(iota, (__mmask16)later, iota, one);
            __m512i t = _mm512_permutex2var_epi32(tl, from, th);
            __m512i r = _mm512_permutex2var_epi32(pl, from, ph);
            tlo[j] = _mm512_mask_mov_epi32(t, (__mmask16)here, vb);
            r = _mm512_mask_mov_epi32(r, (__mmask16)here, vr);
            plo[j] = _mm512_mask_mov_epi32(r, (__mmask16)before, vl);
            if (wide) {
                from = _mm512_mask_add_epi32(iota16, (__mmask16)(later >> LANE16), iota16, one);
                t = _mm512_permutex2var_epi32(tl, from, th);
                r = _mm512_permutex2var_epi32(pl, from, ph);
                r = _mm512_mask_mov_epi32(r, (__mmask16)0x8000u, none); /* element 31 wrapped to 0 */
                thi[j] = _mm512_mask_mov_epi32(t, (__mmask16)(here >> LANE16), vb);
                r = _mm512_mask_mov_epi32(r, (__mmask16)(here >> LANE16), vr);
                phi[j] = _mm512_mask_mov_epi32(r, (__mmask16)(before >> LANE16), vl);
            }
            m[j]--;
        }
    }
    return left_alone;
}

FL_TARGET_AVX512 static size_t merge_lanes16(const struct fl_encoding *e, const uint8_t *const *p,
                                             const size_t *len, size_t count, uint32_t *out,
                                             size_t *n_ids)
{
    return merge_lanes_vec(e, p, len, count, out, n_ids, 0);
}

FL_TARGET_AVX512 static size_t merge_lanes32(const struct fl_encoding *e, const uint8_t *const *p,
                                             const size_t *len, size_t count, uint32_t *out,
                                             size_t *n_ids)
{
    return merge_lanes_vec(e, p, len, count, out, n_ids, 1);
}
#endif

/* merge_lanes, with the pieces of at most 2 * LANE16 bytes in registers where the CPU
 * and the encoding allow (those of at most LANE16 bytes on their own: one register is
 * three times as fast as two for them). */
static void merge_group(const struct fl_encoding *e, const uint8_t *const *p, const size_t *len,
                        size_t count, uint32_t *out, size_t *n_ids)
{
    int level = atomic_load_explicit(&e->simd, memory_order_relaxed);
#if FL_X86_AVX512
    if (level >= FL_SIMD_AVX512) {
        size_t longer = merge_lanes16(e, p, len, count, out, n_ids); /* over LANE16 bytes */
        if (longer > 0 && merge_lanes32(e, p, len, count, out, n_ids) > count - longer) /* some over 32 */
            merge_lanes(level, e, p, len, count, 2 * LANE16 + 1, out, n_ids);
        return;
    }
#endif
    merge_lanes(level, e, p, len, count, 0, out, n_ids);
}

/* ---- Long pieces: linked list + blocked tournament tree -------------------- */

/*
 * Nodes are the piece's current tokens, indexed by their first byte; pr[i] is
 * the rank of merging node i with the next node (FL_NO_RANK for none, or for
 * nodes merged away).  Positions are grouped in blocks of BLOCK; a FANOUT-ary
 * tournament tree over the blocks holds minimum keys (rank << 32 | position),
 * so its root is the lowest rank, leftmost on ties -- tiktoken's order.  A
 * merge touches at most three neighbouring nodes, so it rescans one or two
 * contiguous blocks and a few short, contiguous tree levels: O(BLOCK +
 * FANOUT * log n / log FANOUT) per merge on cache-resident memory, with 16
 * bytes of scratch per input byte.  The block being merged in ("active") is
 * kept out of the tree, so the long runs of merges inside one block that
 * repetitive input produces touch the tree only when the active block changes.
 */

#define DEAD 0xFFFFFFFFu
#define BLOCK 32u
#define FANOUT 16u
#define MAX_LEVELS 16
#define KEY_NONE UINT64_MAX

typedef struct {
    uint32_t *tok, *pr, *next, *prev;
    uint64_t *keys;              /* all tree levels, leaves (one per block) first */
    size_t off[MAX_LEVELS + 1];  /* level l is keys[off[l] .. off[l + 1]) */
    int levels;
    size_t n;
} big_t;

static uint64_t block_key(const big_t *b, size_t block)
{
    size_t lo = block * BLOCK, hi = lo + BLOCK < b->n ? lo + BLOCK : b->n;
    const uint32_t *pr = b->pr;
    uint32_t best = FL_NO_RANK;
    for (size_t i = lo; i < hi; i++) /* branch-free, vectorizable */
        best = pr[i] < best ? pr[i] : best;
    if (best == FL_NO_RANK)
        return KEY_NONE;
    size_t at = lo;
    while (pr[at] != best)
        at++;
    return ((uint64_t)best << 32) | at;
}

/* Minimum of the children of node i of level l (l >= 1). */
static uint64_t children_min(const big_t *b, int l, size_t i)
{
    const uint64_t *child = b->keys + b->off[l - 1];
    size_t lo = i * FANOUT, hi = lo + FANOUT, count = b->off[l] - b->off[l - 1];
    if (hi > count)
        hi = count;
    uint64_t m = KEY_NONE;
    for (size_t c = lo; c < hi; c++)
        m = child[c] < m ? child[c] : m;
    return m;
}

/* Store a block's key in the tree and fix its ancestors. */
static void tree_set(big_t *b, size_t block, uint64_t key)
{
    if (b->keys[block] == key)
        return;
    b->keys[block] = key;
    size_t i = block;
    for (int l = 1; l < b->levels; l++) {
        i /= FANOUT;
        uint64_t m = children_min(b, l, i);
        uint64_t *slot = &b->keys[b->off[l] + i];
        if (*slot == m)
            break;
        *slot = m;
    }
}

static size_t merge_big(const struct fl_encoding *e, const uint8_t *p, size_t n, uint32_t *out)
{
    if (n >= DEAD)
        return 0;
    big_t b;
    b.n = n;
    /* Level sizes: blocks, then ceil(/FANOUT) until one root. */
    size_t count = (n + BLOCK - 1) / BLOCK, total = 0;
    b.levels = 0;
    for (;;) {
        b.off[b.levels++] = total;
        total += count;
        if (count == 1 || b.levels == MAX_LEVELS)
            break;
        count = (count + FANOUT - 1) / FANOUT;
    }
    b.off[b.levels] = total;
    uint32_t *mem = malloc(n * 4 * sizeof *mem);
    b.keys = malloc(total * sizeof *b.keys);
    if (!mem || !b.keys) {
        free(mem);
        free(b.keys);
        return 0;
    }
    b.tok = mem;
    b.pr = mem + n;
    b.next = mem + 2 * n;
    b.prev = mem + 3 * n;
    for (size_t i = 0; i < n; i++) {
        b.tok[i] = e->byte_rank[p[i]];
        b.next[i] = (uint32_t)(i + 1);
        b.prev[i] = (uint32_t)(i - 1); /* DEAD for i == 0 */
    }
    b.next[n - 1] = DEAD;
    for (size_t i = 0; i + 1 < n; i++)
        b.pr[i] = e->byte_pairs[(unsigned)p[i] << 8 | p[i + 1]];
    b.pr[n - 1] = FL_NO_RANK;
    for (size_t k = 0; k < b.off[1]; k++)
        b.keys[k] = block_key(&b, k);
    for (int l = 1; l < b.levels; l++)
        for (size_t i = 0; i < b.off[l + 1] - b.off[l]; i++)
            b.keys[b.off[l] + i] = children_min(&b, l, i);
    const uint64_t *root = &b.keys[b.off[b.levels - 1]];
    size_t active = SIZE_MAX;   /* block kept out of the tree */
    uint64_t active_key = KEY_NONE;
    for (;;) {
        uint64_t best = *root < active_key ? *root : active_key;
        if (best == KEY_NONE)
            break;
        uint32_t x = (uint32_t)best;
        uint32_t rank = (uint32_t)(best >> 32);
        size_t bx = x / BLOCK;
        if (bx != active) {
            if (active != SIZE_MAX)
                tree_set(&b, active, active_key);
            tree_set(&b, bx, KEY_NONE);
            active = bx;
        }
        uint32_t y = b.next[x];
        uint32_t z = b.next[y];
        b.tok[x] = rank;
        b.pr[y] = FL_NO_RANK;
        b.next[x] = z;
        if (z != DEAD)
            b.prev[z] = x;
        b.pr[x] = z != DEAD ? fl_pair_rank(e, rank, b.tok[z]) : FL_NO_RANK;
        uint32_t w = b.prev[x];
        if (w != DEAD)
            b.pr[w] = fl_pair_rank(e, b.tok[w], rank);
        active_key = block_key(&b, bx);
        size_t by = y / BLOCK;
        if (by != bx)
            tree_set(&b, by, block_key(&b, by));
        if (w != DEAD && w / BLOCK != bx)
            tree_set(&b, w / BLOCK, block_key(&b, w / BLOCK));
    }
    size_t m = 0;
    for (uint32_t i = 0; i != DEAD; i = b.next[i])
        out[m++] = b.tok[i];
    free(mem);
    free(b.keys);
    return m;
}

/* ---- Long pieces: backtracking over compatible token pairs ------------------ */

/*
 * For long pieces, merging costs O(n log n) with scattered memory.  Instead,
 * build the encoding left to right from the longest matching tokens,
 * backtracking when a choice cannot be completed, using two facts about BPE:
 *   (1) a token sequence is the BPE encoding of its concatenated bytes iff
 *       every adjacent pair (a, b) is "compatible", i.e. BPE(bytes(a) +
 *       bytes(b)) = [a, b] (the characterisation behind GitHub's `bpe` crate);
 *   (2) hence a compatible prefix is always the BPE encoding of the bytes it
 *       covers, so a position from which no compatible continuation exists is
 *       dead whatever token led to it, and is never tried again.
 * Compatibility is decided exactly by running the merge on the (at most 510)
 * bytes of the pair, stopping as soon as a merge crosses the boundary, and is
 * memoised per call, which makes repetitive input (runs of one character)
 * nearly free.  Tokens are found with the trie; its first two levels come
 * from a 64K-entry table so the common short tokens cost no trie probe.
 */

#define PAIR_MAX (2 * FL_MAX_TOKEN_LEN)

/* BPE(bytes(a) + bytes(b)) == [a, b]?  This is merge_small plus a record of
 * where each part starts, so that it can stop at the first merge across the
 * boundary: on random text most pairs fail early, and calling the plain merge
 * instead made 300 KB of random letters four times slower. */
static int pair_compatible(const struct fl_encoding *e, uint32_t a, uint32_t b)
{
    size_t la = e->tok_len[a], n = la + e->tok_len[b];
    uint8_t bytes[PAIR_MAX];
    uint32_t tok[PAIR_MAX], pr[PAIR_MAX];
    uint16_t start[PAIR_MAX];
    memcpy(bytes, e->pool + e->tok_off[a], la);
    memcpy(bytes + la, e->pool + e->tok_off[b], n - la);
    for (size_t i = 0; i < n; i++) {
        tok[i] = e->byte_rank[bytes[i]];
        start[i] = (uint16_t)i;
    }
    for (size_t i = 0; i + 1 < n; i++)
        pr[i] = e->byte_pairs[(unsigned)bytes[i] << 8 | bytes[i + 1]];
    pr[n - 1] = FL_NO_RANK;
    size_t m = n;
    for (;;) {
        uint32_t best = FL_NO_RANK;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            if (pr[i] < best) {
                best = pr[i];
                bi = i;
            }
        }
        if (best == FL_NO_RANK)
            break;
        if (start[bi + 1] == la)
            return 0; /* a merge across the boundary: not [a, b] */
        tok[bi] = best;
        size_t tail = m - bi - 2;
        memmove(tok + bi + 1, tok + bi + 2, tail * sizeof *tok);
        memmove(pr + bi + 1, pr + bi + 2, tail * sizeof *pr);
        memmove(start + bi + 1, start + bi + 2, tail * sizeof *start);
        m--;
        pr[bi] = bi + 1 < m ? fl_pair_rank(e, tok[bi], tok[bi + 1]) : FL_NO_RANK;
        if (bi > 0)
            pr[bi - 1] = fl_pair_rank(e, tok[bi - 1], tok[bi]);
    }
    return m == 2 && tok[0] == a && tok[1] == b;
}

/* Per-call, direct-mapped memo of pair_compatible (a fixed 128 KB, so that on
 * input with millions of distinct pairs it stays cache-resident; a collision
 * only costs a recomputation).  Slot: (a + 1) << 32 | b, answer in bit 63. */
#define MEMO_BITS 14
#define MEMO_YES (1ull << 63)

/* 1 / 0 for compatible / not. */
FL_INLINE int compatible(const struct fl_encoding *e, uint64_t *memo, uint32_t a, uint32_t b)
{
    uint64_t key = ((uint64_t)(a + 1) << 32) | b;
    uint64_t *slot = &memo[(size_t)((key * FL_GOLDEN) >> (64 - MEMO_BITS))];
    if ((*slot & ~MEMO_YES) == key)
        return (*slot & MEMO_YES) != 0;
    int ok = pair_compatible(e, a, b);
    *slot = key | (ok ? MEMO_YES : 0);
    return ok;
}

static size_t merge_backtrack(const struct fl_encoding *e, const uint8_t *p, size_t n, uint32_t *out)
{
    const fl_trie *t = fl_encoding_trie(e);
    if (!t)
        return 0;
    uint8_t *dead = calloc(n + 1, 1);
    uint64_t *memo = calloc((size_t)1 << MEMO_BITS, sizeof *memo);
    if (!dead || !memo) {
        free(dead);
        free(memo);
        return 0;
    }
    size_t k = 0, pos = 0, limit = SIZE_MAX;
    uint32_t cand_rank[FL_MAX_TOKEN_LEN];
    uint16_t cand_len[FL_MAX_TOKEN_LEN];
    while (pos < n) {
        /* Tokens that are prefixes of p[pos..], shortest first. */
        size_t nc = 1, i = pos + 1;
        uint32_t node = 0;
        cand_rank[0] = e->byte_rank[p[pos]]; /* every byte is a token */
        cand_len[0] = 1;
        if (pos + 1 < n) {
            unsigned ab = (unsigned)p[pos] << 8 | p[pos + 1];
            node = t->depth2[ab];
            i = pos + 2;
            if (e->byte_pairs[ab] != FL_NO_RANK) {
                cand_rank[nc] = e->byte_pairs[ab];
                cand_len[nc++] = 2;
            }
        }
        for (; node != FL_TRIE_NONE && i < n && i - pos < FL_MAX_TOKEN_LEN; i++) {
            node = fl_trie_child(t, node, p[i]);
            if (node == FL_TRIE_NONE)
                break;
            if (t->node_rank[node] != FL_NO_RANK) {
                cand_rank[nc] = t->node_rank[node];
                cand_len[nc++] = (uint16_t)(i - pos + 1);
            }
        }
        int found = 0;
        while (nc-- > 0) {
            size_t end = pos + cand_len[nc];
            if (cand_len[nc] > limit || dead[end])
                continue;
            if (k > 0 && !compatible(e, memo, out[k - 1], cand_rank[nc]))
                continue;
            out[k++] = cand_rank[nc];
            pos = end;
            limit = SIZE_MAX;
            found = 1;
            break;
        }
        if (!found) {
            dead[pos] = 1;
            if (k == 0) /* cannot happen for a well-formed vocabulary */
                goto done;
            uint32_t last = out[--k];
            pos -= e->tok_len[last];
            limit = (size_t)e->tok_len[last] - 1;
        }
    }
done:
    free(dead);
    free(memo);
    return k;
}

#define BACKTRACK_MIN 65536 /* pieces at least this long use merge_backtrack; below, the tree is
                             * faster (the backtracking end game re-checks many pairs per call) */

size_t fl_bpe_merge(const struct fl_encoding *e, const uint8_t *p, size_t len, uint32_t *out)
{
    if (len < SMALL_PIECE)
        return merge_small(e, p, len, out);
    /* The backtracking encoder assumes tiktoken's rule (any two tokens that
     * spell a token merge), so Hugging Face vocabularies always take the tree. */
    if (len >= BACKTRACK_MIN && !e->hf_merges) {
        size_t m = merge_backtrack(e, p, len, out);
        if (m)
            return m;
    }
    return merge_big(e, p, len, out);
}

int fl_bpe_final_pairs(const struct fl_encoding *e, const uint32_t *ranks, size_t n, uint32_t *left,
                       uint32_t *right)
{
    const uint8_t *piece[GROUP];
    size_t len[GROUP], n_ids[GROUP], at[GROUP];
    uint32_t ids[FL_MAX_TOKEN_LEN], merged[GROUP * SMALL_PIECE];
    size_t g = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            const uint8_t *t = e->pool + e->tok_off[ranks[i]];
            size_t m = e->tok_len[ranks[i]];
            left[i] = right[i] = FL_NO_RANK;
            if (m >= SMALL_PIECE) {
                size_t k = fl_bpe_merge(e, t, m, ids);
                if (k == 0)
                    return FL_E_NOMEM;
                if (k == 2) {
                    left[i] = ids[0];
                    right[i] = ids[1];
                }
                continue;
            }
            piece[g] = t;
            len[g] = m;
            at[g++] = i;
            if (g < GROUP)
                continue;
        }
        if (g) {
            /* Lockstep: a third of the time of one token after another. */
            merge_group(e, piece, len, g, merged, n_ids);
            for (size_t j = 0; j < g; j++) {
                if (n_ids[j] == 2) {
                    left[at[j]] = merged[j * SMALL_PIECE];
                    right[at[j]] = merged[j * SMALL_PIECE + 1];
                }
            }
            g = 0;
        }
    }
    return FL_OK;
}

/* ---- Encode / count ---------------------------------------------------------- */

/* Append the ids of a piece that is not a whole token, merging into out when
 * it has room.  Returns the number of ids, or 0 when out of memory. */
static size_t encode_merged(const struct fl_encoding *e, const uint8_t *piece, size_t plen,
                            uint32_t *out, uint32_t *small_buf, uint32_t **big_buf)
{
    uint32_t *dst = out;
    if (!dst) {
        if (plen < SMALL_PIECE) {
            dst = small_buf;
        } else {
            free(*big_buf);
            *big_buf = dst = malloc(plen * sizeof *dst);
            if (!dst)
                return 0;
        }
    }
    return fl_bpe_merge(e, piece, plen, dst);
}

/* Does the cache entry hold the piece with key k0, k1 and meta `want` (tag and length)? */
FL_INLINE int cache_holds(const cache_entry *ce, uint64_t k0, uint64_t k1, uint32_t want)
{
    return ce->k0 == k0 && ce->k1 == k1 && (ce->meta & ~3u) == want;
}

/* The piece s[start..end) cut where no token crosses (see fl_cross): the
 * ends of its parts appended to ends + k, while there is room (PIECE_BATCH).
 * Returns the new k; *done is 1 if the piece's own end was appended, 0 if the
 * room ran out first (then the last end is a cut inside the piece). */
static size_t cut_piece(const struct fl_encoding *e, const fl_cross *c, const uint8_t *s, size_t start,
                        size_t end, size_t *ends, size_t k, int *done)
{
    const uint8_t *p = s + start;
    size_t n = end - start;
    *done = 0;
    for (size_t b = 1; b < n;) {
        /* A group of boundaries between two multi-byte characters that no two-byte token
         * spans: their filter words are fetched together (o200k's filter is 512 KB, and
         * most boundaries need all three of them), then tested in order. */
        size_t group[CUT_GROUP], m = 0;
        for (; b < n && m < CUT_GROUP; b++) {
            if (p[b] < 0xC0 || p[b - 1] < 0x80)
                continue;
            if (e->byte_pairs[(unsigned)p[b - 1] << 8 | p[b]] != FL_NO_RANK)
                continue;
            group[m++] = b;
            if (b >= 2 && b + 2 <= n)
                fl_cross_prefetch(c, FL_CROSS_W4, p + b - 2);
            if (b + 2 <= n)
                fl_cross_prefetch(c, FL_CROSS_PRE3, p + b - 1);
            if (b >= 2)
                fl_cross_prefetch(c, FL_CROSS_SUF3, p + b - 2);
        }
        for (size_t i = 0; i < m; i++) {
            size_t g = group[i];
            if (g >= 2 && g + 2 <= n && fl_cross_maybe(c, FL_CROSS_W4, p + g - 2))
                continue;
            if (g + 2 <= n && fl_cross_maybe(c, FL_CROSS_PRE3, p + g - 1))
                continue;
            if (g >= 2 && fl_cross_maybe(c, FL_CROSS_SUF3, p + g - 2))
                continue;
            if (k == PIECE_BATCH)
                return k;
            ends[k++] = start + g;
        }
    }
    if (k == PIECE_BATCH)
        return k;
    ends[k++] = end;
    *done = 1;
    return k;
}

/* Does p[0..n) hold a byte >= 0x80?  (8 bytes at a time: the batches of
 * English and code this is asked about are mostly ASCII.) */
FL_INLINE int any_multibyte(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc |= fl_load64(p + i);
    for (; i < n; i++)
        acc |= p[i];
    return (acc & 0x8080808080808080ull) != 0;
}

/* Is there a boundary between two multi-byte characters in p[0..n)? */
static int has_cut_candidate(const uint8_t *p, size_t n)
{
    for (size_t b = 1; b < n; b++)
        if (p[b] >= 0xC0 && p[b - 1] >= 0x80)
            return 1;
    return 0;
}

/* Copy the k piece ends of scanned (the first piece starts at pos) to ends,
 * cutting pieces that hold boundaries between multi-byte characters where no
 * token crosses; *cross is looked up on first need.  Returns the number of
 * ends.  When they would not all fit, the batch stops after a whole piece and
 * the caller scans again from there; a piece with more parts than a batch
 * holds stops at a cut inside it, and *pending is set to its end: the caller
 * goes on cutting from that cut to *pending (BPE of the rest, on its own, is
 * the rest's share of the piece's ids, since no merge crosses a cut).
 * Tiktoken mode only. */
static size_t cut_pieces(const struct fl_encoding *e, const fl_cross **cross, const uint8_t *s, size_t pos,
                         const size_t *scanned, size_t k, size_t *ends, size_t *pending)
{
    size_t out = 0, start = pos;
    for (size_t j = 0; j < k; j++) {
        size_t end = scanned[j];
        /* Multi-byte text starts a piece (after at most one leading byte). */
        if (end - start >= 4 && (s[start] >= 0x80 || s[start + 1] >= 0x80)) {
            if (!*cross && has_cut_candidate(s + start, end - start))
                *cross = fl_encoding_cross(e, end - start); /* NULL until enough pieces asked */
            if (*cross && (*cross)->words) {
                int done;
                size_t cut = cut_piece(e, *cross, s, start, end, ends, out, &done);
                if (done) {
                    out = cut;
                    start = end;
                    continue;
                }
                if (out == 0)
                    *pending = end; /* cut == PIECE_BATCH parts of this piece */
                return out ? out : cut;
            }
        }
        if (out == PIECE_BATCH)
            return out;
        ends[out++] = end;
        start = end;
    }
    return out;
}

/* A piece whose ids the piece cache did not hold, resolved later. */
typedef struct {
    const uint8_t *p;
    size_t len;
    size_t at;         /* out mode: where its ids go; len slots are reserved there */
    size_t n;          /* its number of ids, once resolved */
    uint64_t key, h;   /* piece-table key and hash (len <= FL_MAX_TOKEN_LEN), then key = rank */
    int memo;            /* 1: ask the memo (over CACHE_MAX_LEN bytes, or the cache said so) */
    const uint32_t *ids; /* its ids in the memo, if it held them */
    size_t same;         /* NOT_SAME, or an earlier pending miss with the same bytes */
} miss_t;

#define NOT_SAME SIZE_MAX

/* A cache entry with no ids (n_ids 0) and ids[0] == PENDING stands for the
 * piece of pending miss ids[1]: its next occurrences before the misses are
 * resolved copy that miss's ids instead of being merged again (a new word
 * tends to come back within a few lines).  resolve_misses overwrites every
 * such entry, but one left by an error is stale, hence the check. */
#define PENDING FL_NO_RANK

FL_INLINE int same_piece(const miss_t *miss, uint32_t i, size_t nm, const miss_t *M)
{
    return i < nm && miss[i].len == M->len && memcmp(miss[i].p, M->p, M->len) == 0;
}

#define MISS_FLUSH 48                       /* misses are resolved once this many wait ... */
#define MISS_CAP (MISS_FLUSH + PIECE_BATCH) /* ... so one more batch always fits */

/* What encode_impl keeps between batches. */
typedef struct {
    const struct fl_encoding *e;
    uint32_t *out;       /* NULL: count only */
    const uint8_t *end;  /* the text's end */
    size_t at;           /* ids so far, reservations of pending misses included */
    uint32_t tag;        /* cache tag << 8 */
    cache_entry *cache;  /* this thread's piece cache, NULL if none */
    thread_state *ts;    /* ... and the memo behind it */
    size_t nm;           /* pending misses */
    uint32_t *big_buf;   /* scratch of a long piece's merge (count mode) */
    miss_t miss[MISS_CAP];
    uint32_t merged[GROUP * SMALL_PIECE];
    uint32_t small_buf[SMALL_PIECE];
} encoder_t;

/*
 * Resolve the pending misses, in groups with at most GROUP merges: (C) look
 * them up in the piece table, collecting the short pieces that are not a
 * whole token, and merge those in lockstep (merge_lanes); (D) write their ids
 * into their reserved room, merging long pieces on the spot, and fill the
 * cache; then (E) close the unused part of each reservation.  Returns FL_OK or
 * FL_E_NOMEM.
 */
static int resolve_misses(encoder_t *x)
{
    const struct fl_encoding *e = x->e;
    miss_t *miss = x->miss;
    size_t nm = x->nm;
    const uint8_t *g_piece[GROUP];
    size_t g_len[GROUP], g_ids[GROUP];
    if (nm == 0)
        return FL_OK;
    x->nm = 0;
    thread_state *ts = x->ts;
    uint32_t mtag = e->cache_tag;
    for (size_t i = 0; i < nm;) {
        /* Pass C: misses i .. ii - 1, at most GROUP of them to merge.  Those the
         * vocabulary does not hold are looked up in the memo (their slots fetched
         * first, together), the rest merged in lockstep. */
        size_t g = 0, ii = i, asked = 0;
        if (ts)
            memo_reserve(ts);
        for (; ii < nm && asked < GROUP; ii++) {
            miss_t *M = &miss[ii];
            if (M->same != NOT_SAME)
                continue;
            uint32_t r = M->len <= FL_MAX_TOKEN_LEN ? fl_piece_find(e, M->p, M->len, M->key, M->h) : FL_NO_RANK;
            M->n = r != FL_NO_RANK;
            M->key = r;
            M->ids = NULL;
            if (r == FL_NO_RANK && M->len < SMALL_PIECE) {
                asked++;
                if (M->memo && ts)
                    __builtin_prefetch(&ts->memo[memo_index(M->h)]);
            }
        }
        for (size_t j = i; j < ii; j++) {
            miss_t *M = &miss[j];
            if (M->same != NOT_SAME || M->n || M->len >= SMALL_PIECE)
                continue;
            if (M->memo && ts && (M->ids = memo_find(ts, mtag, M->p, M->len, M->h, &M->n)) != NULL)
                continue;
            g_piece[g] = M->p;
            g_len[g++] = M->len;
        }
        if (g)
            merge_group(e, g_piece, g_len, g, x->merged, g_ids);
        /* Pass D */
        g = 0;
        for (; i < ii; i++) {
            miss_t *M = &miss[i];
            uint32_t *dst = x->out ? x->out + M->at : NULL;
            if (M->same != NOT_SAME) {
                /* Resolved above (an earlier miss): its ids are at its place in out. */
                const miss_t *F = &miss[M->same];
                M->n = F->n;
                if (dst)
                    memcpy(dst, x->out + F->at, F->n * sizeof *dst);
                continue;
            }
            uint32_t one = (uint32_t)M->key;
            const uint32_t *ids = &one;
            size_t m = M->n;
            if (M->ids) {
                ids = M->ids;
                if (dst)
                    memcpy(dst, ids, m * sizeof *ids);
            } else if (m == 0) {
                if (M->len < SMALL_PIECE) {
                    ids = x->merged + g * SMALL_PIECE;
                    m = g_ids[g++];
                    if (dst)
                        memcpy(dst, ids, m * sizeof *ids);
                    /* Over CACHE_MAX_LEN bytes or CACHE_MAX_IDS ids, on second sight
                     * (the seen bits or the cache's entry asked for the memo): most
                     * such pieces of CJK text never come back. */
                    if (ts && M->memo)
                        memo_insert(ts, mtag, M->p, M->len, M->h, ids, m);
                    else if (ts && M->len > CACHE_MAX_LEN)
                        seen_set(ts, M->h);
                } else {
                    m = encode_merged(e, M->p, M->len, dst, x->small_buf, &x->big_buf);
                    if (m == 0)
                        return FL_E_NOMEM;
                    ids = dst ? dst : x->small_buf;
                }
            } else if (dst) {
                dst[0] = one;
            }
            M->n = m;
            if (x->cache && M->len <= CACHE_MAX_LEN) {
                /* Over CACHE_MAX_IDS ids (a merged piece, in the memo from its second
                 * merge on): the entry says "ask the memo" (n_ids 0). */
                uint64_t k0, k1;
                cache_key_of(M->p, M->len, x->end, &k0, &k1);
                cache_entry *ce = &x->cache[cache_index(k0, k1, M->len)];
                ce->k0 = k0;
                ce->k1 = k1;
                ce->meta = x->tag | (uint32_t)M->len << 2 | (uint32_t)(m <= CACHE_MAX_IDS ? m : 0);
                if (m <= CACHE_MAX_IDS)
                    memcpy(ce->ids, ids, m * sizeof *ids);
                else
                    ce->ids[0] = 0; /* not PENDING */
            }
        }
    }
    /* Pass E */
    if (!x->out) {
        for (size_t i = 0; i < nm; i++)
            x->at += miss[i].n;
        return FL_OK;
    }
    uint32_t *out = x->out;
    size_t w = miss[0].at + miss[0].n;
    for (size_t i = 1; i <= nm; i++) {
        size_t from = miss[i - 1].at + miss[i - 1].len, to = i < nm ? miss[i].at : x->at;
        memmove(out + w, out + from, (to - from) * sizeof *out);
        w += to - from;
        if (i < nm) {
            memmove(out + w, out + miss[i].at, miss[i].n * sizeof *out);
            w += miss[i].n;
        }
    }
    x->at = w;
    return FL_OK;
}

/*
 * Tokenize s[0..len).  With out != NULL, ids go to out, which must hold len
 * ids (a text never has more ids than bytes); otherwise they are only counted.
 * Returns FL_OK or FL_E_NOMEM.
 *
 * Pieces are scanned in batches of SCAN_BATCH and cut (cut_pieces), then
 * handled in passes that let memory latency overlap instead of adding up:
 * (A) compute cache keys and prefetch the cache slots; (B) in order, copy the
 * ids of cache hits to out, and for each miss reserve as many ids as it has
 * bytes (a piece never has more), record it and prefetch its piece-table
 * slot.  Misses wait until MISS_FLUSH of them have gathered, over one batch or
 * several, so that more of their merges run in lockstep (resolve_misses).
 */
static int encode_impl(const struct fl_encoding *e, const uint8_t *s, size_t len, uint32_t *out,
                       size_t *n_out)
{
    size_t scanned[SCAN_BATCH], cut[PIECE_BATCH];
    const size_t *ends;
    cache_entry *slot[PIECE_BATCH];
    uint64_t key0[PIECE_BATCH], key1[PIECE_BATCH];
    encoder_t xs, *x = &xs;
    int level = atomic_load_explicit(&e->simd, memory_order_relaxed);
    x->e = e;
    x->out = out;
    x->end = s + len;
    x->at = 0;
    x->tag = e->cache_tag << 8;
    x->nm = 0;
    x->big_buf = NULL;
    x->ts = e->cache_tag ? thread_cache() : NULL;
    x->cache = x->ts ? x->ts->cache : NULL;
    const fl_cross *cross = NULL;
    size_t pending = 0; /* the end of a piece whose cutting goes on at pos */
    size_t pos = 0;
    cache_entry *cache = x->cache;
    uint32_t tag = x->tag;
    int rc = FL_OK;
    while (pos < len) {
        size_t k;
        int rest = pending > pos; /* the rest of a piece cut in the last batch */
        if (rest) {
            scanned[0] = pending;
            k = 1;
        } else {
            k = fl_scan(e->pattern, level, s, len, pos, scanned, SCAN_BATCH);
        }
        ends = scanned;
        if (!e->hf_merges && (rest || any_multibyte(s + pos, scanned[k - 1] - pos))) {
            k = cut_pieces(e, &cross, s, pos, scanned, k, cut, &pending);
            ends = cut;
        }
        /* Pass A */
        size_t start = pos;
        for (size_t j = 0; j < k; j++) {
            size_t plen = ends[j] - start;
            slot[j] = NULL;
            if (FL_LIKELY(plen <= CACHE_MAX_LEN && cache)) {
                cache_key_of(s + start, plen, s + len, &key0[j], &key1[j]);
                slot[j] = &cache[cache_index(key0[j], key1[j], plen)];
                __builtin_prefetch(slot[j]);
            }
            start = ends[j];
        }
        /* Pass B */
        start = pos;
        size_t at = x->at, nm = x->nm;
        for (size_t j = 0; j < k; j++) {
            size_t plen = ends[j] - start;
            cache_entry *ce = slot[j];
            int hit = ce && cache_holds(ce, key0[j], key1[j], tag | (uint32_t)plen << 2);
            size_t m = hit ? ce->meta & 3u : 0;
            if (FL_LIKELY(m != 0)) {
                if (out) {
                    if (FL_LIKELY(at + CACHE_MAX_IDS <= len))
                        memcpy(out + at, ce->ids, sizeof ce->ids);
                    else
                        memcpy(out + at, ce->ids, m * sizeof *ce->ids);
                }
                at += m;
            } else {
                /* A miss, or a hit that says the ids are in the memo or in a
                 * pending miss (n_ids 0). */
                miss_t *M = &x->miss[nm];
                M->p = s + start;
                M->len = plen;
                M->at = at;
                M->memo = hit;
                M->same = NOT_SAME;
                if (hit && ce->ids[0] == PENDING && same_piece(x->miss, ce->ids[1], nm, M)) {
                    M->same = ce->ids[1];
                    M->memo = 0;
                } else if (ce) {
                    /* Until the misses are resolved, the slot sends this piece's
                     * next occurrences to this miss. */
                    ce->k0 = key0[j];
                    ce->k1 = key1[j];
                    ce->meta = tag | (uint32_t)plen << 2;
                    ce->ids[0] = PENDING;
                    ce->ids[1] = (uint32_t)nm;
                }
                nm++;
                if (M->same != NOT_SAME) {
                    /* its ids are copied from the first one's */
                } else if (plen <= FL_MAX_TOKEN_LEN) {
                    M->h = fl_piece_hash(M->p, plen, &M->key);
                    __builtin_prefetch(&e->pieces[M->h >> e->piece_shift]);
                    if (plen > CACHE_MAX_LEN && plen < SMALL_PIECE && x->ts)
                        M->memo = seen_test(x->ts, M->h);
                }
                if (out)
                    at += plen;
            }
            start = ends[j];
        }
        x->at = at;
        x->nm = nm;
        pos = ends[k - 1];
        if (nm >= MISS_FLUSH && (rc = resolve_misses(x)) != FL_OK)
            goto done;
    }
    rc = resolve_misses(x);
done:
    free(x->big_buf);
    *n_out = x->at;
    return rc;
}

int64_t fl_encode(const fl_encoding *enc, const char *text, size_t len, uint32_t *out, size_t cap)
{
    if (!enc || (!text && len) || (!out && cap))
        return FL_E_ARG;
    size_t n = 0;
    int rc;
    if (cap >= len) {
        rc = encode_impl(enc, (const uint8_t *)text, len, out, &n);
    } else {
        /* A short buffer: encode into a full-size one, then copy what fits. */
        uint32_t *tmp = malloc(len * sizeof *tmp);
        if (!tmp)
            return FL_E_NOMEM;
        rc = encode_impl(enc, (const uint8_t *)text, len, tmp, &n);
        if (rc == FL_OK) {
            if (cap)
                memcpy(out, tmp, (n < cap ? n : cap) * sizeof *tmp);
            if (n > cap)
                rc = FL_E_BUFFER;
        }
        free(tmp);
    }
    return rc == FL_OK ? (int64_t)n : rc;
}

int64_t fl_count(const fl_encoding *enc, const char *text, size_t len)
{
    if (!enc || (!text && len))
        return FL_E_ARG;
    size_t n = 0;
    int rc = encode_impl(enc, (const uint8_t *)text, len, NULL, &n);
    return rc == FL_OK ? (int64_t)n : rc;
}

/* ---- Batches ----------------------------------------------------------------- */

/* The texts of a batch, one after the other on this thread. */
static int run_batch(const fl_encoding *enc, const char *blob, size_t blob_len, const size_t *bounds,
                     size_t n_texts, uint32_t *out, size_t *counts)
{
    if (!enc || !bounds || (!counts && n_texts) || (!blob && blob_len))
        return FL_E_ARG;
    for (size_t i = 0; i < n_texts; i++)
        if (bounds[i] > bounds[i + 1])
            return FL_E_ARG;
    if (bounds[n_texts] > blob_len)
        return FL_E_ARG;
    for (size_t i = 0; i < n_texts; i++) {
        size_t a = bounds[i], b = bounds[i + 1];
        int rc = encode_impl(enc, (const uint8_t *)blob + a, b - a, out ? out + a : NULL, &counts[i]);
        if (rc != FL_OK)
            return rc;
    }
    return FL_OK;
}

int fl_encode_batch(const fl_encoding *enc, const char *blob, size_t blob_len, const size_t *bounds,
                    size_t n_texts, uint32_t *out, size_t *counts)
{
    if (!out)
        return FL_E_ARG;
    return run_batch(enc, blob, blob_len, bounds, n_texts, out, counts);
}

int fl_count_batch(const fl_encoding *enc, const char *blob, size_t blob_len, const size_t *bounds,
                   size_t n_texts, size_t *counts)
{
    return run_batch(enc, blob, blob_len, bounds, n_texts, NULL, counts);
}
