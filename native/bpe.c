/*
 * bpe.c - byte-pair merge and the encode / count entry points.
 *
 * A piece that is a whole token (most English and code pieces) costs one
 * table lookup.  Otherwise the piece's bytes are merged exactly as tiktoken
 * does: repeatedly merge the adjacent pair whose concatenation has the lowest
 * rank, the leftmost on ties, until no adjacent pair is a token.
 *   - short pieces: arrays and a linear minimum scan (cache-friendly, O(n*m));
 *   - long pieces: a doubly linked list plus an indexed binary heap keyed by
 *     (rank, position), so runs of one character stay O(n log n).
 */
#include <pthread.h>
#include <stdlib.h>

#include "fl_internal.h"

#define SMALL_PIECE 96   /* pieces shorter than this use the array merge */
#define SCAN_BATCH 256   /* piece ends produced per scanner call */

static size_t merge_small(const struct fl_encoding *e, const uint8_t *p, size_t n, uint32_t *out)
{
    uint32_t tok[SMALL_PIECE], pr[SMALL_PIECE];
    for (size_t i = 0; i < n; i++)
        tok[i] = e->byte_rank[p[i]];
    for (size_t i = 0; i + 1 < n; i++)
        pr[i] = fl_pair_rank(e, tok[i], tok[i + 1]);
    size_t m = n;
    pr[m - 1] = FL_NO_RANK;
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
        tok[bi] = best;
        size_t tail = m - bi - 2;
        memmove(tok + bi + 1, tok + bi + 2, tail * sizeof *tok);
        memmove(pr + bi + 1, pr + bi + 2, tail * sizeof *pr);
        m--;
        pr[bi] = bi + 1 < m ? fl_pair_rank(e, tok[bi], tok[bi + 1]) : FL_NO_RANK;
        if (bi > 0)
            pr[bi - 1] = fl_pair_rank(e, tok[bi - 1], tok[bi]);
    }
    memcpy(out, tok, m * sizeof *tok);
    return m;
}

/* ---- Long pieces: linked list + indexed min-heap --------------------------- */

typedef struct {
    uint32_t *tok, *pr, *next, *prev, *hpos, *heap;
    size_t hn;
} big_t;

#define DEAD 0xFFFFFFFFu

/* Heap order: lower pair rank first, then lower position (leftmost). */
FL_INLINE int heap_less(const big_t *b, uint32_t x, uint32_t y)
{
    return b->pr[x] < b->pr[y] || (b->pr[x] == b->pr[y] && x < y);
}

static void heap_up(big_t *b, size_t i)
{
    uint32_t x = b->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        uint32_t y = b->heap[parent];
        if (!heap_less(b, x, y))
            break;
        b->heap[i] = y;
        b->hpos[y] = (uint32_t)i;
        i = parent;
    }
    b->heap[i] = x;
    b->hpos[x] = (uint32_t)i;
}

static void heap_down(big_t *b, size_t i)
{
    uint32_t x = b->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= b->hn)
            break;
        if (c + 1 < b->hn && heap_less(b, b->heap[c + 1], b->heap[c]))
            c++;
        if (!heap_less(b, b->heap[c], x))
            break;
        b->heap[i] = b->heap[c];
        b->hpos[b->heap[i]] = (uint32_t)i;
        i = c;
    }
    b->heap[i] = x;
    b->hpos[x] = (uint32_t)i;
}

/* Node x's pair rank changed: move it in the heap. */
static void heap_update(big_t *b, uint32_t x, uint32_t rank)
{
    uint32_t old = b->pr[x];
    b->pr[x] = rank;
    if (rank < old)
        heap_up(b, b->hpos[x]);
    else if (rank > old)
        heap_down(b, b->hpos[x]);
}

static void heap_remove(big_t *b, uint32_t x)
{
    size_t i = b->hpos[x];
    uint32_t last = b->heap[--b->hn];
    if (i == b->hn)
        return;
    b->heap[i] = last;
    b->hpos[last] = (uint32_t)i;
    heap_down(b, i);
    heap_up(b, b->hpos[last]);
}

static size_t merge_big(const struct fl_encoding *e, const uint8_t *p, size_t n, uint32_t *out)
{
    if (n >= DEAD)
        return 0;
    big_t b;
    uint32_t *mem = malloc(n * 6 * sizeof *mem);
    if (!mem)
        return 0;
    b.tok = mem;
    b.pr = mem + n;
    b.next = mem + 2 * n;
    b.prev = mem + 3 * n;
    b.hpos = mem + 4 * n;
    b.heap = mem + 5 * n;
    for (size_t i = 0; i < n; i++) {
        b.tok[i] = e->byte_rank[p[i]];
        b.next[i] = (uint32_t)(i + 1);
        b.prev[i] = (uint32_t)(i - 1); /* DEAD for i == 0 */
    }
    b.next[n - 1] = DEAD;
    for (size_t i = 0; i + 1 < n; i++)
        b.pr[i] = fl_pair_rank(e, b.tok[i], b.tok[i + 1]);
    b.pr[n - 1] = FL_NO_RANK;
    /* Only the n-1 left ends of pairs live in the heap. */
    b.hn = n - 1;
    for (size_t i = 0; i + 1 < n; i++) {
        b.heap[i] = (uint32_t)i;
        b.hpos[i] = (uint32_t)i;
    }
    for (size_t i = b.hn / 2; i-- > 0;)
        heap_down(&b, i);
    while (b.hn > 0) {
        uint32_t x = b.heap[0];
        uint32_t rank = b.pr[x];
        if (rank == FL_NO_RANK)
            break;
        uint32_t y = b.next[x];
        b.tok[x] = rank;
        b.tok[y] = DEAD;
        uint32_t z = b.next[y];
        b.next[x] = z;
        if (z != DEAD)
            b.prev[z] = x;
        if (z != DEAD) {
            heap_remove(&b, y); /* y was the left end of pair (y, z) */
            heap_update(&b, x, fl_pair_rank(e, rank, b.tok[z]));
        } else {
            heap_update(&b, x, FL_NO_RANK);
        }
        uint32_t w = b.prev[x];
        if (w != DEAD)
            heap_update(&b, w, fl_pair_rank(e, b.tok[w], rank));
    }
    size_t m = 0;
    for (uint32_t i = 0; i != DEAD; i = b.next[i])
        out[m++] = b.tok[i];
    free(mem);
    return m;
}

size_t fl_bpe_merge(const struct fl_encoding *e, const uint8_t *p, size_t len, uint32_t *out)
{
    if (len < SMALL_PIECE)
        return merge_small(e, p, len, out);
    return merge_big(e, p, len, out);
}

/* ---- Encode / count ---------------------------------------------------------- */

/*
 * Tokenize s[0..len).  With out != NULL, ids go to out (cap entries);
 * otherwise they are only counted.
 */
static int encode_impl(const struct fl_encoding *e, const uint8_t *s, size_t len, uint32_t *out,
                       size_t cap, size_t *n_out)
{
    size_t ends[SCAN_BATCH];
    size_t pos = 0, count = 0;
    uint32_t small_buf[SMALL_PIECE];
    uint32_t *big_buf = NULL;
    int rc = FL_OK;
    while (pos < len) {
        size_t k = fl_scan(e->pattern, s, len, pos, ends, SCAN_BATCH);
        for (size_t j = 0; j < k; j++) {
            size_t end = ends[j];
            size_t plen = end - pos;
            const uint8_t *piece = s + pos;
            pos = end;
            uint32_t rank = fl_piece_rank(e, piece, plen);
            if (FL_LIKELY(rank != FL_NO_RANK)) {
                if (out) {
                    if (FL_UNLIKELY(count >= cap)) {
                        rc = FL_E_BUFFER;
                        goto done;
                    }
                    out[count] = rank;
                }
                count++;
                continue;
            }
            uint32_t *dst;
            if (out && cap - count >= plen) {
                dst = out + count; /* merge straight into the output */
            } else if (plen < SMALL_PIECE) {
                dst = small_buf;
            } else {
                free(big_buf);
                big_buf = malloc(plen * sizeof *big_buf);
                if (!big_buf) {
                    rc = FL_E_NOMEM;
                    goto done;
                }
                dst = big_buf;
            }
            size_t m = fl_bpe_merge(e, piece, plen, dst);
            if (m == 0) {
                rc = FL_E_NOMEM;
                goto done;
            }
            if (out && dst != out + count) {
                if (cap - count < m) {
                    rc = FL_E_BUFFER;
                    goto done;
                }
                memcpy(out + count, dst, m * sizeof *dst);
            }
            count += m;
        }
    }
done:
    free(big_buf);
    *n_out = count;
    return rc;
}

int fl_encode(const fl_encoding *enc, const char *text, size_t len, uint32_t *out, size_t cap,
              size_t *n_out)
{
    if (!enc || (!text && len) || (!out && cap) || !n_out)
        return FL_E_ARG;
    if (!out) {
        *n_out = 0;
        return len ? FL_E_BUFFER : FL_OK;
    }
    return encode_impl(enc, (const uint8_t *)text, len, out, cap, n_out);
}

int fl_count(const fl_encoding *enc, const char *text, size_t len, size_t *n_out)
{
    if (!enc || (!text && len) || !n_out)
        return FL_E_ARG;
    return encode_impl(enc, (const uint8_t *)text, len, NULL, 0, n_out);
}

/* ---- Batches ----------------------------------------------------------------- */

typedef struct {
    const struct fl_encoding *e;
    const uint8_t *blob;
    const size_t *bounds;
    size_t first, last; /* texts [first, last) */
    uint32_t *out;
    size_t *counts;
    int rc;
} batch_job;

static void *batch_worker(void *arg)
{
    batch_job *job = arg;
    job->rc = FL_OK;
    for (size_t i = job->first; i < job->last; i++) {
        size_t a = job->bounds[i], b = job->bounds[i + 1];
        uint32_t *dst = job->out ? job->out + a : NULL;
        int rc = encode_impl(job->e, job->blob + a, b - a, dst, b - a, &job->counts[i]);
        if (rc != FL_OK) {
            job->rc = rc;
            break;
        }
    }
    return NULL;
}

#define MAX_THREADS 64

static int run_batch(const fl_encoding *enc, const char *blob, size_t blob_len, const size_t *bounds,
                     size_t n_texts, uint32_t *out, size_t *counts, int n_threads)
{
    if (!enc || !bounds || (!counts && n_texts) || (!blob && blob_len))
        return FL_E_ARG;
    for (size_t i = 0; i < n_texts; i++)
        if (bounds[i] > bounds[i + 1])
            return FL_E_ARG;
    if (bounds[n_texts] > blob_len)
        return FL_E_ARG;
    if (n_texts == 0)
        return FL_OK;
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    if ((size_t)n_threads > n_texts)
        n_threads = (int)n_texts;

    batch_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    /* Cut the texts into n_threads contiguous runs of about equal bytes. */
    size_t total = bounds[n_texts] - bounds[0], first = 0;
    for (int t = 0; t < n_threads; t++) {
        size_t last = first;
        size_t target = bounds[0] + total / (size_t)n_threads * (size_t)(t + 1);
        if (t == n_threads - 1)
            last = n_texts;
        else
            while (last < n_texts && (last == first || bounds[last] < target))
                last++;
        jobs[t] = (batch_job){enc, (const uint8_t *)blob, bounds, first, last, out, counts, FL_OK};
        first = last;
    }
    int created[MAX_THREADS] = {0};
    for (int t = 1; t < n_threads; t++)
        created[t] = pthread_create(&tids[t], NULL, batch_worker, &jobs[t]) == 0;
    batch_worker(&jobs[0]);
    for (int t = 1; t < n_threads; t++) {
        if (created[t])
            pthread_join(tids[t], NULL);
        else
            batch_worker(&jobs[t]); /* no thread available: do it here */
    }
    int rc = FL_OK;
    for (int t = 0; t < n_threads && rc == FL_OK; t++)
        rc = jobs[t].rc;
    return rc;
}

int fl_encode_batch(const fl_encoding *enc, const char *blob, size_t blob_len, const size_t *bounds,
                    size_t n_texts, uint32_t *out, size_t *counts, int n_threads)
{
    if (!out)
        return FL_E_ARG;
    return run_batch(enc, blob, blob_len, bounds, n_texts, out, counts, n_threads);
}

int fl_count_batch(const fl_encoding *enc, const char *blob, size_t blob_len, const size_t *bounds,
                   size_t n_texts, size_t *counts, int n_threads)
{
    return run_batch(enc, blob, blob_len, bounds, n_texts, NULL, counts, n_threads);
}
