/*
 * vocab.c - loading a tiktoken rank file into flat, immutable tables.
 *
 * Layout (see struct fl_encoding in fl_internal.h):
 *   pool      every token's bytes, concatenated in rank order;
 *   pieces    open-addressing table bytes -> rank (16-byte slots, load <= 0.5);
 *   pairs     open-addressing table (left rank, right rank) -> rank of the
 *             token spelled bytes(left) + bytes(right), for the one pair of
 *             each token that BPE can merge into it (see build_pairs).  The
 *             merge loop only ever asks "do these two adjacent tokens merge,
 *             and into which", so this answers it without touching bytes.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "fl_internal.h"

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode strict base64 src[0..n) into dst (room for n / 4 * 3 bytes).
 * Returns the decoded length or -1 if malformed. */
static long b64_decode(const uint8_t *src, size_t n, uint8_t *dst)
{
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t pad = 0;
    if (src[n - 1] == '=')
        pad++;
    if (src[n - 2] == '=')
        pad++;
    size_t out = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            uint8_t c = src[i + (size_t)k];
            if (c == '=' && i + 4 == n && (size_t)k >= 4 - pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64_value(c);
            if (v[k] < 0)
                return -1;
        }
        uint32_t triple = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                          (uint32_t)v[3];
        dst[out++] = (uint8_t)(triple >> 16);
        if (i + 4 < n || pad < 2)
            dst[out++] = (uint8_t)(triple >> 8);
        if (i + 4 < n || pad < 1)
            dst[out++] = (uint8_t)triple;
    }
    return (long)out;
}

typedef struct {
    const uint8_t *tok; /* base64 text */
    size_t tok_len;
    uint32_t rank;
} line_t;

/* Parse one line "<base64> <rank>" (no line terminator). */
static int parse_line(const uint8_t *s, size_t n, line_t *out)
{
    size_t sp = 0;
    while (sp < n && s[sp] != ' ')
        sp++;
    if (sp == 0 || sp + 1 >= n)
        return FL_E_CORRUPT;
    uint64_t rank = 0;
    for (size_t i = sp + 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FL_E_CORRUPT;
        rank = rank * 10 + (uint64_t)(s[i] - '0');
        if (rank > FL_MAX_RANKS)
            return FL_E_TOO_LARGE;
    }
    out->tok = s;
    out->tok_len = sp;
    out->rank = (uint32_t)rank;
    return FL_OK;
}

static unsigned table_bits(size_t entries)
{
    unsigned bits = 4;
    while (((size_t)1 << bits) < entries * 2)
        bits++;
    return bits;
}

static int insert_piece(struct fl_encoding *e, uint32_t rank)
{
    const uint8_t *p = e->pool + e->tok_off[rank];
    size_t len = e->tok_len[rank];
    if (fl_piece_rank(e, p, len) != FL_NO_RANK)
        return FL_E_CORRUPT; /* the same bytes under two ranks */
    uint64_t key;
    uint64_t h = fl_piece_hash(p, len, &key);
    size_t i = (size_t)(h >> e->piece_shift);
    while (e->pieces[i].meta != 0)
        i = (i + 1) & e->piece_mask;
    e->pieces[i].key = key;
    e->pieces[i].meta = (uint64_t)rank | ((uint64_t)len << 24) | ((uint64_t)e->tok_off[rank] << 32);
    return FL_OK;
}

static void insert_pair(struct fl_encoding *e, uint32_t left, uint32_t right, uint32_t merged)
{
    uint64_t k = fl_pair_key(left, right);
    size_t i = fl_pair_slot(e, k);
    while (e->pairs[i] != 0)
        i = (i + 1) & e->pair_mask;
    e->pairs[i] = (k << 21) | merged;
}

/* Hugging Face mode: the pair table holds exactly the listed merges.  Each
 * merge must spell its result (bytes(left) + bytes(right) == bytes(merged))
 * and the merged ranks must strictly increase along the list, so that "lowest
 * merged rank" is "earliest merge", the priority Hugging Face BPE uses. */
static int build_pairs_from_merges(struct fl_encoding *e, const uint32_t *merges, size_t n)
{
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = merges[3 * i], r = merges[3 * i + 1], m = merges[3 * i + 2];
        if (l >= e->max_rank || r >= e->max_rank || m >= e->max_rank)
            return FL_E_CORRUPT;
        size_t ll = e->tok_len[l], rl = e->tok_len[r];
        if (ll == 0 || rl == 0 || (size_t)e->tok_len[m] != ll + rl || (i > 0 && m <= prev))
            return FL_E_CORRUPT;
        const uint8_t *mp = e->pool + e->tok_off[m];
        if (memcmp(mp, e->pool + e->tok_off[l], ll) != 0 ||
            memcmp(mp + ll, e->pool + e->tok_off[r], rl) != 0)
            return FL_E_CORRUPT;
        prev = m;
    }
    unsigned bits = table_bits(n);
    e->pairs = calloc((size_t)1 << bits, sizeof *e->pairs);
    if (!e->pairs)
        return FL_E_NOMEM;
    e->pair_shift = 64 - bits;
    e->pair_mask = ((size_t)1 << bits) - 1;
    e->memory += ((size_t)1 << bits) * sizeof *e->pairs;
    for (size_t i = 0; i < n; i++) {
        if (fl_pair_rank(e, merges[3 * i], merges[3 * i + 1]) != FL_NO_RANK)
            return FL_E_CORRUPT; /* the same pair listed twice */
        insert_pair(e, merges[3 * i], merges[3 * i + 1], merges[3 * i + 2]);
    }
    return FL_OK;
}

/* Hugging Face mode: the encoder maps a piece that is a whole token straight
 * to that token, which Hugging Face BPE does only when merging the token's
 * own bytes leads back to it.  Check that this holds for every token. */
static int check_tokens_reachable(const struct fl_encoding *e)
{
    uint32_t *ids = malloc(FL_MAX_HF_TOKEN_LEN * sizeof *ids);
    if (!ids)
        return FL_E_NOMEM;
    int rc = FL_OK;
    for (uint32_t rank = 0; rank < e->max_rank && rc == FL_OK; rank++) {
        size_t len = e->tok_len[rank];
        if (len < 2)
            continue;
        size_t n = fl_bpe_merge(e, e->pool + e->tok_off[rank], len, ids);
        if (n == 0)
            rc = FL_E_NOMEM;
        else if (n != 1 || ids[0] != rank)
            rc = FL_E_CORRUPT;
    }
    free(ids);
    return rc;
}

/*
 * Tiktoken mode: the pair table holds, for each token c, only the last merge
 * of BPE on c's own bytes, and only if that BPE gives c back.  No other pair
 * is ever merged, so leaving the others out changes no result:
 *   - when a run merges (a, b) into c, every merge before it inside c's span
 *     was the lowest rank (leftmost on ties) among all pairs, hence among the
 *     pairs inside the span, which depend only on the span's own tokens: the
 *     merges inside the span are those of BPE on bytes(c) alone, in the same
 *     order, so (a, b) is that BPE's last merge;
 *   - a pair that is never merged is never the lowest rank (else it would be
 *     merged), so removing it never changes which pair is.
 * This is half the table that every cut of every token into two tokens would
 * need (o200k: 4 MB, not 8), and it is computed with the merge itself, tokens
 * shortest first: BPE on bytes(c) only merges into tokens shorter than c until
 * its last merge, so with the pairs of the shorter tokens in the table it ends
 * as exactly the two tokens of that last merge (which is then c's pair), or as
 * more than two (c is never the result of a merge).
 */
static int build_pairs(struct fl_encoding *e)
{
    /* Ranks ordered by token length (a counting sort); at[l] = first of length l. */
    size_t at[FL_MAX_TOKEN_LEN + 2] = {0};
    for (uint32_t rank = 0; rank < e->max_rank; rank++)
        if (e->tok_len[rank] >= 2)
            at[e->tok_len[rank] + 1]++;
    for (size_t l = 1; l <= FL_MAX_TOKEN_LEN + 1; l++)
        at[l] += at[l - 1];
    size_t n = at[FL_MAX_TOKEN_LEN + 1];
    uint32_t *order = malloc((3 * n + 1) * sizeof *order);
    if (!order)
        return FL_E_NOMEM;
    uint32_t *left = order + n, *right = left + n;
    size_t fill[FL_MAX_TOKEN_LEN + 1];
    memcpy(fill, at, sizeof fill);
    for (uint32_t rank = 0; rank < e->max_rank; rank++)
        if (e->tok_len[rank] >= 2)
            order[fill[e->tok_len[rank]]++] = rank;

    unsigned bits = table_bits(n);
    e->pairs = calloc((size_t)1 << bits, sizeof *e->pairs);
    if (!e->pairs) {
        free(order);
        return FL_E_NOMEM;
    }
    e->pair_shift = 64 - bits;
    e->pair_mask = ((size_t)1 << bits) - 1;
    e->memory += ((size_t)1 << bits) * sizeof *e->pairs;
    for (size_t i = at[2]; i < at[3]; i++) { /* two bytes: one way to merge them */
        const uint8_t *p = e->pool + e->tok_off[order[i]];
        insert_pair(e, e->byte_rank[p[0]], e->byte_rank[p[1]], order[i]);
    }
    int rc = FL_OK;
    e->high_rebuild = 1;
    for (size_t l = 3; l <= FL_MAX_TOKEN_LEN && rc == FL_OK; l++) {
        size_t a = at[l], b = at[l + 1];
        rc = fl_bpe_final_pairs(e, order + a, b - a, left + a, right + a);
        for (size_t i = a; i < b && rc == FL_OK; i++) {
            if (left[i] != FL_NO_RANK) {
                insert_pair(e, left[i], right[i], order[i]);
                continue;
            }
            const uint8_t *p = e->pool + e->tok_off[order[i]];
            for (size_t k = 0; k < l; k++)
                if (p[k] >= 0x80)
                    e->high_rebuild = 0;
        }
    }
    free(order);
    return rc;
}

/* Iterate over the non-empty lines of data, trimming a trailing '\r'. */
typedef struct {
    const uint8_t *data;
    size_t len, pos;
} line_iter;

static int next_line(line_iter *it, const uint8_t **line, size_t *n)
{
    while (it->pos < it->len) {
        size_t start = it->pos;
        const uint8_t *nl = memchr(it->data + start, '\n', it->len - start);
        size_t end = nl ? (size_t)(nl - it->data) : it->len;
        it->pos = nl ? end + 1 : it->len;
        size_t stop = end;
        if (stop > start && it->data[stop - 1] == '\r')
            stop--;
        if (stop > start) {
            *line = it->data + start;
            *n = stop - start;
            return 1;
        }
    }
    return 0;
}

static int load(struct fl_encoding *e, const uint8_t *data, size_t len, const uint32_t *merges,
                size_t n_merges)
{
    /* Pass 1: validate every line, size the pool and the rank range. */
    line_iter it = {data, len, 0};
    const uint8_t *s;
    size_t n, lines = 0, pool_cap = 0;
    uint32_t max_rank = 0;
    while (next_line(&it, &s, &n)) {
        line_t ln;
        int rc = parse_line(s, n, &ln);
        if (rc != FL_OK)
            return rc;
        pool_cap += ln.tok_len / 4 * 3;
        if (ln.rank + 1 > max_rank)
            max_rank = ln.rank + 1;
        lines++;
    }
    if (lines < 256)
        return FL_E_CORRUPT;
    e->max_rank = max_rank;
    e->pool = malloc(pool_cap ? pool_cap : 1);
    e->tok_off = malloc((size_t)max_rank * sizeof *e->tok_off);
    e->tok_len = calloc(max_rank, sizeof *e->tok_len);
    if (!e->pool || !e->tok_off || !e->tok_len)
        return FL_E_NOMEM;
    e->memory += pool_cap + (size_t)max_rank * (sizeof *e->tok_off + sizeof *e->tok_len);

    /* Pass 2: decode tokens into the pool. */
    it.pos = 0;
    size_t off = 0;
    while (next_line(&it, &s, &n)) {
        line_t ln;
        if (parse_line(s, n, &ln) != FL_OK)
            return FL_E_CORRUPT;
        long dec = b64_decode(ln.tok, ln.tok_len, e->pool + off);
        if (dec <= 0)
            return FL_E_CORRUPT;
        if ((size_t)dec > (e->hf_merges ? FL_MAX_HF_TOKEN_LEN : FL_MAX_TOKEN_LEN))
            return FL_E_TOO_LARGE;
        if (e->tok_len[ln.rank] != 0)
            return FL_E_CORRUPT; /* duplicate rank */
        e->tok_off[ln.rank] = (uint32_t)off;
        e->tok_len[ln.rank] = (uint16_t)dec;
        off += (size_t)dec;
    }
    e->pool_len = off;

    unsigned bits = table_bits(lines);
    e->pieces = calloc((size_t)1 << bits, sizeof *e->pieces);
    if (!e->pieces)
        return FL_E_NOMEM;
    e->piece_shift = 64 - bits;
    e->piece_mask = ((size_t)1 << bits) - 1;
    e->memory += ((size_t)1 << bits) * sizeof *e->pieces;
    for (uint32_t rank = 0; rank < max_rank; rank++) {
        if (e->tok_len[rank] == 0 || e->tok_len[rank] > FL_MAX_TOKEN_LEN)
            continue;
        int rc = insert_piece(e, rank);
        if (rc != FL_OK)
            return rc;
    }
    for (unsigned b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        e->byte_rank[b] = fl_piece_rank(e, &byte, 1);
        if (e->byte_rank[b] == FL_NO_RANK)
            return FL_E_CORRUPT; /* BPE needs every single byte as a token */
    }
    e->byte_pairs = malloc(65536 * sizeof *e->byte_pairs);
    if (!e->byte_pairs)
        return FL_E_NOMEM;
    e->memory += 65536 * sizeof *e->byte_pairs;
    if (!e->hf_merges) {
        for (unsigned ab = 0; ab < 65536; ab++) {
            uint8_t two[2] = {(uint8_t)(ab >> 8), (uint8_t)ab};
            e->byte_pairs[ab] = fl_piece_rank(e, two, 2);
        }
        return build_pairs(e);
    }
    int rc = build_pairs_from_merges(e, merges, n_merges);
    if (rc != FL_OK)
        return rc;
    for (unsigned ab = 0; ab < 65536; ab++)
        e->byte_pairs[ab] = fl_pair_rank(e, e->byte_rank[ab >> 8], e->byte_rank[ab & 0xFF]);
    return check_tokens_reachable(e);
}

static void trie_free(fl_trie *t)
{
    if (t) {
        free(t->edges);
        free(t->node_rank);
        free(t->depth2);
        free(t);
    }
}

static fl_trie *trie_build(const struct fl_encoding *e)
{
    fl_trie *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t max_nodes = e->pool_len + 1;
    unsigned bits = 4;
    while (((size_t)1 << bits) < max_nodes + max_nodes / 2)
        bits++;
    t->edges = calloc((size_t)1 << bits, sizeof *t->edges);
    t->node_rank = malloc(max_nodes * sizeof *t->node_rank);
    if (!t->edges || !t->node_rank || max_nodes >= 0x3FFFFF) {
        trie_free(t);
        return NULL;
    }
    t->edge_shift = 64 - bits;
    t->edge_mask = ((size_t)1 << bits) - 1;
    t->nodes = 1;
    t->node_rank[0] = FL_NO_RANK;
    for (uint32_t rank = 0; rank < e->max_rank; rank++) {
        const uint8_t *p = e->pool + e->tok_off[rank];
        uint32_t node = 0;
        for (size_t i = 0; i < e->tok_len[rank]; i++) {
            uint32_t child = fl_trie_child(t, node, p[i]);
            if (child == FL_TRIE_NONE) {
                child = (uint32_t)t->nodes++;
                t->node_rank[child] = FL_NO_RANK;
                uint64_t key = (((uint64_t)node << 8) | p[i]) + 1;
                size_t j = (size_t)((key * 0x9E3779B97F4A7C15ull) >> t->edge_shift);
                while (t->edges[j] != 0)
                    j = (j + 1) & t->edge_mask;
                t->edges[j] = (key << 22) | child;
            }
            node = child;
        }
        if (e->tok_len[rank])
            t->node_rank[node] = rank;
    }
    t->depth2 = malloc(65536 * sizeof *t->depth2);
    if (!t->depth2) {
        trie_free(t);
        return NULL;
    }
    for (unsigned ab = 0; ab < 65536; ab++) {
        uint32_t first = fl_trie_child(t, 0, (uint8_t)(ab >> 8));
        t->depth2[ab] = first == FL_TRIE_NONE ? FL_TRIE_NONE : fl_trie_child(t, first, (uint8_t)ab);
    }
    return t;
}

/*
 * The lock of every lazy build (the tries and cross filters of all
 * encodings): builds are rare (once per encoding and table) and short (tens
 * of milliseconds at most), so one lock serves them all, and one lock is what
 * fork handling needs.  A fork in another thread waits for a running build to
 * finish (the prepare handler takes the lock) and the child starts with the
 * lock free, so no child inherits it held by a thread it does not have.  A
 * build holds the lock only while it computes: it never waits for the GIL or
 * any other lock, so the forking thread, which holds the GIL, cannot deadlock
 * with it.
 */
static pthread_mutex_t lazy_lock = PTHREAD_MUTEX_INITIALIZER;

static void lazy_prepare(void)
{
    pthread_mutex_lock(&lazy_lock);
}

static void lazy_parent(void)
{
    pthread_mutex_unlock(&lazy_lock);
}

static void lazy_child(void)
{
    pthread_mutex_init(&lazy_lock, NULL); /* the child's only thread is the one that forked */
}

static void lazy_atfork(void)
{
    pthread_atfork(lazy_prepare, lazy_parent, lazy_child);
}

#if defined(__GNUC__)
/* Registered when the library loads, before any thread can take the lock. */
__attribute__((constructor)) static void lazy_atfork_at_load(void)
{
    lazy_atfork();
}
#define LAZY_ATFORK_ONCE() ((void)0)
#else
static pthread_once_t lazy_atfork_once = PTHREAD_ONCE_INIT;
#define LAZY_ATFORK_ONCE() pthread_once(&lazy_atfork_once, lazy_atfork)
#endif

const fl_trie *fl_encoding_trie(const struct fl_encoding *ce)
{
    /* The trie and the cross filter are the lazily built parts of an otherwise
     * immutable encoding; each pointer is published once, under lazy_lock, and
     * freed only with the encoding. */
    struct fl_encoding *e = (struct fl_encoding *)(uintptr_t)ce;
    fl_trie *t = atomic_load_explicit(&e->trie, memory_order_acquire);
    if (t)
        return t;
    pthread_mutex_lock(&lazy_lock);
    t = atomic_load_explicit(&e->trie, memory_order_relaxed);
    if (!t) {
        t = trie_build(e);
        if (t) {
            atomic_fetch_add(&e->memory, ((t->edge_mask + 1) * sizeof *t->edges) +
                                             (e->pool_len + 1) * sizeof *t->node_rank +
                                             65536 * sizeof *t->depth2);
            atomic_store_explicit(&e->trie, t, memory_order_release);
        }
    }
    pthread_mutex_unlock(&lazy_lock);
    return t;
}

static void cross_free(fl_cross *c)
{
    if (c) {
        free(c->words);
        free(c);
    }
}

/* Append to h[*count..] the hashes of the windows of token t (length n) that
 * fl_cross_maybe asks about (room for n of them is there). */
static void cross_windows(const uint8_t *t, size_t n, uint64_t *h, size_t *count)
{
    for (size_t k = 1; k < n; k++) {
        if (t[k] < 0xC0 || t[k - 1] < 0x80)
            continue;
        if (k >= 2 && n - k >= 2)
            h[(*count)++] = fl_cross_hash(FL_CROSS_W4, t + k - 2);
        else if (k == 1 && n >= 3)
            h[(*count)++] = fl_cross_hash(FL_CROSS_PRE3, t);
        else if (k >= 2) /* n - k == 1 */
            h[(*count)++] = fl_cross_hash(FL_CROSS_SUF3, t + k - 2);
        /* else a two-byte token: byte_pairs knows it */
    }
}

static fl_cross *cross_build(const struct fl_encoding *e)
{
    fl_cross *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!e->high_rebuild)
        return c; /* never cut */
    /* One pass over the tokens collects the windows' hashes; most tokens are
     * ASCII and are skipped on a branch-free test of their bytes. */
    size_t cap = 1024, windows = 0;
    uint64_t *h = malloc(cap * sizeof *h);
    for (uint32_t rank = 0; h && rank < e->max_rank; rank++) {
        const uint8_t *t = e->pool + e->tok_off[rank];
        size_t n = e->tok_len[rank];
        uint8_t high = 0;
        for (size_t k = 1; k < n; k++)
            high |= t[k];
        if (high < 0xC0)
            continue;
        if (cap - windows < n) {
            uint64_t *grown = realloc(h, 2 * cap * sizeof *h);
            if (!grown) {
                free(h);
                h = NULL;
                break;
            }
            h = grown;
            cap *= 2;
        }
        cross_windows(t, n, h, &windows);
    }
    if (!h)
        return c; /* out of memory: never cut, rather than redo the rebuild check on every call */
    unsigned bits = 10; /* words; about 16 filter bits per window */
    while (((size_t)64 << bits) < windows * 16 && bits < 40)
        bits++;
    c->words = calloc((size_t)1 << bits, sizeof *c->words);
    if (c->words) {
        c->shift = 64 - bits;
        for (size_t i = 0; i < windows; i++)
            c->words[h[i] >> c->shift] |= fl_cross_bits(h[i]);
    }
    free(h);
    return c;
}

const fl_cross *fl_encoding_cross(const struct fl_encoding *ce, size_t bytes)
{
    struct fl_encoding *e = (struct fl_encoding *)(uintptr_t)ce;
    fl_cross *c = atomic_load_explicit(&e->cross, memory_order_acquire);
    if (c)
        return c;
    if (atomic_fetch_add_explicit(&e->cross_demand, bytes, memory_order_relaxed) + bytes < FL_CROSS_BUILD_AFTER)
        return NULL;
    pthread_mutex_lock(&lazy_lock);
    c = atomic_load_explicit(&e->cross, memory_order_relaxed);
    if (!c) {
        c = cross_build(e);
        if (c) {
            atomic_fetch_add(&e->memory, sizeof *c + (c->words ? ((size_t)8 << (64 - c->shift)) : 0));
            atomic_store_explicit(&e->cross, c, memory_order_release);
        }
    }
    pthread_mutex_unlock(&lazy_lock);
    return c;
}

static int encoding_new(const char *data, size_t len, const uint32_t *merges, size_t n_merges,
                        int hf_merges, int pattern, fl_encoding **out)
{
    if (!out || (!data && len) || (!merges && n_merges))
        return FL_E_ARG;
    *out = NULL;
    if (pattern != FL_PATTERN_GPT2 && pattern != FL_PATTERN_CL100K && pattern != FL_PATTERN_O200K)
        return FL_E_ARG;
    struct fl_encoding *e = calloc(1, sizeof *e);
    if (!e)
        return FL_E_NOMEM;
    e->pattern = pattern;
    e->hf_merges = hf_merges;
    e->memory = sizeof *e;
    atomic_init(&e->trie, NULL);
    atomic_init(&e->cross, NULL);
    atomic_init(&e->cross_demand, 0);
    atomic_init(&e->simd, fl_simd_max());
    LAZY_ATFORK_ONCE();
    /* Tags are never reused, so a cached entry can only match its own encoding;
     * past FL_CACHE_TAG_MAX encodings new ones simply run without the cache. */
    static atomic_uint next_tag = 1;
    unsigned tag = atomic_load(&next_tag);
    while (tag <= FL_CACHE_TAG_MAX && !atomic_compare_exchange_weak(&next_tag, &tag, tag + 1))
        ;
    e->cache_tag = tag <= FL_CACHE_TAG_MAX ? tag : 0;
    int rc = load(e, (const uint8_t *)data, len, merges, n_merges);
    if (rc != FL_OK) {
        fl_encoding_free(e);
        return rc;
    }
    *out = e;
    return FL_OK;
}

int fl_simd_max(void)
{
#if defined(__x86_64__) && defined(__SSE2__)
    return fl_cpu_avx512() ? FL_SIMD_AVX512 : fl_cpu_avx2() ? FL_SIMD_AVX2 : FL_SIMD_SSE2;
#else
    return FL_SIMD_PORTABLE;
#endif
}

int fl_encoding_set_simd(fl_encoding *enc, int level)
{
    if (!enc || level < FL_SIMD_PORTABLE || level > fl_simd_max())
        return FL_E_ARG;
    atomic_store(&enc->simd, level);
    return FL_OK;
}

int fl_encoding_simd(const fl_encoding *enc)
{
    return enc ? atomic_load(&((struct fl_encoding *)(uintptr_t)enc)->simd) : FL_SIMD_PORTABLE;
}

int fl_encoding_new(const char *data, size_t len, int pattern, fl_encoding **out)
{
    return encoding_new(data, len, NULL, 0, 0, pattern, out);
}

int fl_encoding_new_merges(const char *data, size_t len, const uint32_t *merges, size_t n_merges,
                           int pattern, fl_encoding **out)
{
    return encoding_new(data, len, merges, n_merges, 1, pattern, out);
}

void fl_encoding_free(fl_encoding *enc)
{
    if (!enc)
        return;
    free(enc->pool);
    free(enc->tok_off);
    free(enc->tok_len);
    free(enc->pieces);
    free(enc->pairs);
    free(enc->byte_pairs);
    trie_free(atomic_load(&enc->trie));
    cross_free(atomic_load(&enc->cross));
    free(enc);
}

size_t fl_encoding_memory(const fl_encoding *enc)
{
    return enc ? atomic_load(&enc->memory) : 0;
}

uint32_t fl_encoding_max_rank(const fl_encoding *enc)
{
    return enc ? enc->max_rank : 0;
}

int fl_decode_len(const fl_encoding *enc, const uint32_t *ids, size_t n, size_t *len_out,
                  size_t *bad_index)
{
    if (!enc || (!ids && n) || !len_out)
        return FL_E_ARG;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id >= enc->max_rank || enc->tok_len[id] == 0) {
            if (bad_index)
                *bad_index = i;
            return FL_E_TOKEN;
        }
        total += enc->tok_len[id];
    }
    *len_out = total;
    return FL_OK;
}

int fl_decode(const fl_encoding *enc, const uint32_t *ids, size_t n, char *out, size_t cap,
              size_t *len_out)
{
    if (!enc || (!ids && n) || (!out && cap) || !len_out)
        return FL_E_ARG;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id >= enc->max_rank || enc->tok_len[id] == 0) {
            *len_out = i;
            return FL_E_TOKEN;
        }
        size_t tl = enc->tok_len[id];
        if (cap - pos < tl) {
            *len_out = pos;
            return FL_E_BUFFER;
        }
        memcpy(out + pos, enc->pool + enc->tok_off[id], tl);
        pos += tl;
    }
    *len_out = pos;
    return FL_OK;
}

const char *fl_strerror(int code)
{
    switch (code) {
    case FL_OK:
        return "success";
    case FL_E_NOMEM:
        return "out of memory";
    case FL_E_CORRUPT:
        return "malformed rank file";
    case FL_E_ARG:
        return "invalid argument";
    case FL_E_BUFFER:
        return "output buffer too small";
    case FL_E_TOKEN:
        return "token id not in the vocabulary";
    case FL_E_TOO_LARGE:
        return "vocabulary or token too large";
    case FL_E_SHAPE:
        return "input shape not handled natively";
    case FL_E_FULL:
        return "rate-limit table full";
    case FL_E_RANGE:
        return "clock outside the rate-limit table's range";
    default:
        return "unknown error";
    }
}
