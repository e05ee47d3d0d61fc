/*
 * limiter.c - rate-limit tables: litellm's in-memory v3 windows per key, in memory the caller owns
 * (a private buffer, or a MAP_SHARED mapping that several worker processes open).
 *
 * The rule is litellm's v3 limiter's as its in-memory cache makes it (docs/design/litellm_v3_limiter.md
 * section 2.4).  A key's entries live from their first write t0 (a wall-clock instant) until
 * t0 + window; within that life its logical window starts at floor(t0) (in ticks) and, when a hit
 * comes at or after floor(t0) + window while the entries still live, starts once more there (the
 * count goes back to 0, the life does not move).  A hit after the life ends starts a new life.  So a
 * life holds at most two windows, the second shorter than one tick.  Two charging modes:
 *   FL_LIMIT_CHARGE_FIRST   (requests) a live key already over its limit is rejected unchanged (the
 *                           pre-check, which looks at the life, not the window); otherwise the window
 *                           moves on if due, the cost is charged and the hit admitted iff the count
 *                           stays within the limit (the hit that crosses the limit is charged and
 *                           rejected);
 *   FL_LIMIT_ALL_OR_NOTHING (reservations) the count (0 if the window is due to move on) plus the
 *                           cost must fit the limit: then the window moves on if due and the cost is
 *                           charged; otherwise nothing is written.
 * A cost of 0 only reads.
 *
 * Layout (all offsets fixed by the version):
 *   header (128 bytes): magic, version, bucket count, tick, window, epoch, counters;
 *   buckets (64 bytes each: a lock word and three 16-byte slots);
 *   fingerprints (8 bytes per slot): a 64-bit hash of the slot's key.
 * A slot is two words: {key tag (32 bits, another hash of the key, never 0: 0 marks an empty
 * slot) | count (32 bits)} and {life start in ns since the table's epoch (63 bits) | second-window
 * flag (1 bit)}.
 *
 * Concurrency.  Admission is lock-free: the slot's 16 bytes are replaced by one 16-byte CAS that
 * validates tag, count and life together, so a slot reclaimed for another key cannot absorb a hit
 * meant for the old one, and a decision is always made on the state it replaces.  Claiming a slot
 * (a new key, or reusing one whose life has ended) takes the lock of the key's segment (8 buckets
 * in which the key may live), so a key is never claimed twice; the claim is itself a CAS, because
 * a lock-free hit of the slot's old key may race it.  The fingerprint is written after the claim:
 * until then the new key's hits miss the slot and wait on the segment lock, then find it.
 *
 * Processes.  The lock word holds its owner's pid.  A waiter that has spun for 10 ms checks
 * whether the owner still lives and takes the lock over from a dead one (a crash inside the
 * critical section leaves either the slot's old state or its new one: each is one CAS; a crash
 * between the claim and the fingerprint leaves an orphan slot that nothing matches, holding only
 * the crashed caller's own hit, and reclaimed when its life ends).  Counters are in the table,
 * updated atomically, so every process sees the same figures.
 *
 * Clock.  Every hit reads CLOCK_REALTIME (the wall clock litellm's windows and its cache's expiry
 * read, the same in every process of a host) in nanoseconds; a caller may pass its own `now_ns`
 * (tests inject a clock).  A hit whose clock reads earlier than its key's window start (a stale
 * read racing a new window) is charged to that newer window.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill */

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fast_litellm.h"

#define MAGIC 0x3154494d494c4c46ULL /* "FLLIMIT1" */
#define VERSION 2u
#define SLOTS 3u            /* slots per bucket */
#define SEGMENT 8u          /* buckets per segment (a key's probe chain) */
#define STEAL_AFTER_NS 10000000LL

enum { ST_CHECKS, ST_REJECTED, ST_FULL, ST_STOLEN, ST_CLAIMS, ST_RETRIES, ST_COUNT };

typedef struct {
    uint64_t magic;
    uint32_t version;
    uint32_t buckets;
    int64_t tick_ns;
    int64_t window;
    int64_t epoch;      /* absolute tick of relative tick 0 */
    uint64_t stats[ST_COUNT];
    uint8_t pad[128 - 40 - 8 * ST_COUNT];
} header;

typedef struct {
    uint64_t key;  /* tag << 32 | count; tag 0: empty */
    uint64_t life; /* start (ns since the epoch) << 1 | second window */
} __attribute__((aligned(16))) slot;

typedef struct {
    uint32_t lock; /* owner pid, 0 when free (used on a segment's first bucket) */
    uint32_t pad[3];
    slot s[SLOTS];
} __attribute__((aligned(64))) bucket;

_Static_assert(sizeof(header) == 128, "header is two cache lines");
_Static_assert(sizeof(bucket) == 64, "a bucket is one cache line");

static inline bucket *buckets_of(header *h) { return (bucket *)(void *)((uint8_t *)h + sizeof(header)); }
static inline uint64_t *fps_of(header *h) { return (uint64_t *)(void *)(buckets_of(h) + h->buckets); }

static inline void count_stat(header *h, int which, uint64_t n)
{
    __atomic_fetch_add(&h->stats[which], n, __ATOMIC_RELAXED);
}

size_t fl_limiter_bytes(uint32_t buckets)
{
    return sizeof(header) + (size_t)buckets * (sizeof(bucket) + SLOTS * sizeof(uint64_t));
}

/* Two independent 64-bit hashes of the key bytes (fixed seeds: every process must agree). */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t key_hash(const uint8_t *p, size_t len, uint64_t seed)
{
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t tail = 0;
    for (size_t k = 0; i < len; i++, k++)
        tail |= (uint64_t)p[i] << (8 * k);
    return mix64(h ^ tail ^ 0xa0761d6478bd642fULL);
}

static header *attached(void *mem, size_t size)
{
    header *h = mem;
    if (mem == NULL || size < sizeof(header) || ((uintptr_t)mem & 63u) != 0)
        return NULL;
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != MAGIC || h->version != VERSION)
        return NULL;
    if (h->buckets == 0 || h->buckets % SEGMENT != 0 || fl_limiter_bytes(h->buckets) > size)
        return NULL;
    return h;
}

int fl_limiter_init(void *mem, size_t size, uint32_t buckets, int64_t tick_ns, int64_t window, int64_t epoch)
{
    if (mem == NULL || ((uintptr_t)mem & 63u) != 0 || buckets == 0 || buckets % SEGMENT != 0 ||
        buckets > (1u << 26) || fl_limiter_bytes(buckets) > size || tick_ns <= 0 || window <= 0 ||
        window > INT64_MAX / 4 / tick_ns || epoch < 0 || epoch > INT64_MAX / 4 / tick_ns)
        return FL_E_ARG;
    memset(mem, 0, fl_limiter_bytes(buckets));
    header *h = mem;
    h->version = VERSION;
    h->buckets = buckets;
    h->tick_ns = tick_ns;
    h->window = window;
    h->epoch = epoch;
    __atomic_store_n(&h->magic, MAGIC, __ATOMIC_RELEASE); /* last: openers check it */
    return FL_OK;
}

int fl_limiter_check(void *mem, size_t size) { return attached(mem, size) ? FL_OK : FL_E_CORRUPT; }

int64_t fl_limiter_clock(int64_t tick_ns)
{
    struct timespec ts;
    if (tick_ns <= 0 || clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return FL_E_ARG;
    return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec) / tick_ns;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void segment_lock(header *h, uint32_t *word)
{
    uint32_t me = (uint32_t)getpid();
    int64_t since = 0;
    for (unsigned spins = 0;; spins++) {
        uint32_t owner = 0;
        if (__atomic_compare_exchange_n(word, &owner, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        if ((spins & 63u) != 63u)
            continue;
        sched_yield();
        if (owner == me)
            continue; /* another thread of this process: it is alive */
        int64_t t = monotonic_ns();
        if (since == 0) {
            since = t;
        } else if (t - since > STEAL_AFTER_NS && kill((pid_t)owner, 0) == -1 && errno == ESRCH &&
                   __atomic_compare_exchange_n(word, &owner, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            count_stat(h, ST_STOLEN, 1);
            return;
        }
    }
}

static void segment_unlock(uint32_t *word) { __atomic_store_n(word, 0, __ATOMIC_RELEASE); }

typedef struct {
    int64_t start;   /* life start, ns since the epoch */
    int second;      /* in the life's second window */
    uint32_t count;
} state;

static inline state unpack(uint64_t key, uint64_t life)
{
    return (state){(int64_t)(life >> 1), (int)(life & 1u), (uint32_t)key};
}

/* A hit at `now` (ns since the epoch) on `st` (no entry yet when !present): admitted (1) or
 * rejected (0); *next is the state to report, and to write when *changed; *window is its logical
 * window's start, in ticks since the epoch. */
static int decide(const header *h, state st, int present, int64_t now, uint32_t cost, uint32_t limit, int mode,
                  state *next, int64_t *window, int *changed)
{
    int64_t span = h->window * h->tick_ns;
    int alive = present && now <= st.start + span;
    int64_t now_tick = now / h->tick_ns;
    state moved = st;
    if (!alive) {
        moved = (state){now, 0, 0};
    } else if (now_tick - (st.start / h->tick_ns + (st.second ? h->window : 0)) >= h->window) {
        moved.second = 1;
        moved.count = 0;
    }
    int admitted;
    if (mode == FL_LIMIT_ALL_OR_NOTHING) { /* a rejection writes nothing; it reports the window it saw */
        admitted = (uint64_t)moved.count + cost <= limit;
        *next = moved;
        if (admitted)
            next->count += cost;
        *changed = admitted && cost > 0;
    } else if (alive && st.count > limit) { /* the pre-check: nothing is written */
        admitted = 0;
        *next = st;
        *changed = 0;
    } else {
        *next = moved;
        next->count += cost;
        admitted = next->count <= limit;
        *changed = cost > 0;
    }
    *window = next->start / h->tick_ns + (next->second ? h->window : 0);
    return admitted;
}

static inline uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* Replace the slot's {key, old life} by {key2, next life} in one atomic step; 0 if it held something else.
 * x86-64: lock cmpxchg16b, written out (gcc calls a library function for a 16-byte __sync
 * without -mcx16, and libatomic's fallback locks are not shared between processes). */
static inline int cas_slot(slot *s, uint64_t key, uint64_t old, uint64_t key2, uint64_t next)
{
#if defined(FL_LIMITER_TEST_RACY) /* tests/limiter_hammer.c's mutant: check, then set; the hammer must fail it */
    if (load64(&s->key) != key || load64(&s->life) != old)
        return 0;
    for (volatile int i = 0; i < 64; i++) /* the work a check-then-set does in between, made visible */
        ;
    __atomic_store_n(&s->key, key2, __ATOMIC_RELAXED);
    __atomic_store_n(&s->life, next, __ATOMIC_RELAXED);
    return 1;
#elif defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
    unsigned char ok;
    __asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
                         : "=q"(ok), "+m"(*s), "+a"(key), "+d"(old)
                         : "b"(key2), "c"(next)
                         : "memory", "cc");
    return ok;
#elif defined(__x86_64__) || defined(__aarch64__) /* TSan builds (-mcx16) see the builtin */
    unsigned __int128 expect = ((unsigned __int128)old << 64) | key, want = ((unsigned __int128)next << 64) | key2;
    return __sync_bool_compare_and_swap((unsigned __int128 *)(void *)s, expect, want);
#else
#error "limiter.c needs a 16-byte compare-and-swap (x86-64 or aarch64)"
#endif
}

/* The slot holding the key (tag, fp) in its segment's chain, or NULL. */
static slot *find(header *h, uint32_t tag, uint64_t fp_of_key, size_t first, size_t seg)
{
    bucket *b = buckets_of(h);
    uint64_t *fp = fps_of(h);
    for (size_t i = 0; i < SEGMENT; i++) {
        size_t at = seg + (first + i) % SEGMENT;
        for (size_t k = 0; k < SLOTS; k++) {
            slot *s = &b[at].s[k];
            if ((uint32_t)(load64(&s->key) >> 32) == tag && load64(&fp[at * SLOTS + k]) == fp_of_key)
                return s;
        }
    }
    return NULL;
}

static inline uint64_t key_word(uint32_t tag, uint32_t count) { return ((uint64_t)tag << 32) | count; }
static inline uint64_t life_word(state st) { return ((uint64_t)st.start << 1) | (uint64_t)st.second; }

/* Under the segment lock: a slot for (tag, fp), claimed with the state `fresh`: an empty one if the
 * segment has one, else one whose life has ended (so an ended life stays readable, to a hit with a
 * stale clock, until its slot is needed); NULL when every slot holds a living key (the table is
 * full there). */
static slot *claim(header *h, uint32_t tag, uint64_t fp_of_key, size_t first, size_t seg, int64_t now, state fresh)
{
    bucket *b = buckets_of(h);
    uint64_t *fp = fps_of(h);
    int64_t span = h->window * h->tick_ns;
    for (int reuse = 0; reuse <= 1; reuse++)
        for (size_t i = 0; i < SEGMENT; i++) {
            size_t at = seg + (first + i) % SEGMENT;
            for (size_t k = 0; k < SLOTS; k++) {
                slot *s = &b[at].s[k];
                for (;;) {
                    uint64_t key = load64(&s->key), life = load64(&s->life);
                    int empty = (key >> 32) == 0;
                    if (empty == reuse || (!empty && now <= (int64_t)(life >> 1) + span))
                        break; /* not what this pass takes, or living: not ours to take */
                    if (cas_slot(s, key, life, key_word(tag, fresh.count), life_word(fresh))) {
                        __atomic_store_n(&fp[at * SLOTS + k], fp_of_key, __ATOMIC_RELEASE);
                        if (empty)
                            count_stat(h, ST_CLAIMS, 1);
                        return s;
                    }
                    count_stat(h, ST_RETRIES, 1); /* a hit of its old key renewed it, or a torn read */
                }
            }
        }
    return NULL;
}

/* One hit on a table already checked, at `now` (ns since the epoch); see fl_limiter_hit.  *found
 * (when not NULL) says whether the key had a slot before the hit. */
static int hit_one(header *h, const char *key, size_t len, uint32_t cost, uint32_t limit, int mode, int64_t now,
                   int64_t *out, int *found)
{
    const uint8_t *bytes = (const uint8_t *)key;
    uint64_t h1 = key_hash(bytes, len, 0x243f6a8885a308d3ULL), h2 = key_hash(bytes, len, 0x13198a2e03707344ULL);
    uint32_t tag = (uint32_t)(h1 >> 32);
    tag += tag == 0;
    size_t segments = h->buckets / SEGMENT;
    size_t seg = (size_t)(h1 % segments) * SEGMENT, first = (size_t)(h2 % SEGMENT);
    count_stat(h, ST_CHECKS, 1);

    state next;
    int64_t window;
    int changed = 0, admitted;
    if (found != NULL)
        *found = 1;
    for (;;) {
        slot *s = find(h, tag, h2, first, seg);
        if (s == NULL) {
            if (found != NULL)
                *found = 0;
            admitted = decide(h, (state){0, 0, 0}, 0, now, cost, limit, mode, &next, &window, &changed);
            if (!changed)
                break; /* a read, or a reservation that does not fit: nothing to store for a new key */
            bucket *b = buckets_of(h);
            uint32_t *word = &b[seg].lock;
            segment_lock(h, word);
            s = find(h, tag, h2, first, seg); /* another hit may have claimed it meanwhile */
            slot *claimed = s == NULL ? claim(h, tag, h2, first, seg, now, next) : NULL;
            segment_unlock(word);
            if (s != NULL)
                continue; /* found after all: admit through it */
            if (claimed == NULL) {
                count_stat(h, ST_FULL, 1);
                return FL_E_FULL;
            }
            break;
        }
        uint64_t key_now = load64(&s->key), life_now = load64(&s->life);
        if ((uint32_t)(key_now >> 32) != tag)
            continue; /* reclaimed for another key since find: look again */
        admitted = decide(h, unpack(key_now, life_now), 1, now, cost, limit, mode, &next, &window, &changed);
        if (!changed || cas_slot(s, key_now, life_now, key_word(tag, next.count), life_word(next)))
            break;
        count_stat(h, ST_RETRIES, 1);
    }
    if (!admitted)
        count_stat(h, ST_REJECTED, 1);
    out[0] = window + h->epoch;
    out[1] = (int64_t)next.count;
    out[2] = next.start + h->epoch * h->tick_ns;
    return admitted;
}

/* The table's `now`, ns since its epoch, from a reading in ns since the Unix epoch (< 0: the clock),
 * or FL_E_RANGE. */
static int64_t table_now(const header *h, int64_t now_ns)
{
    if (now_ns < 0)
        now_ns = fl_limiter_clock(1);
    int64_t now = now_ns - h->epoch * h->tick_ns;
    return now < 0 || now > (INT64_MAX >> 2) ? FL_E_RANGE : now;
}

int fl_limiter_hit(void *mem, size_t size, const char *key, size_t len, uint32_t cost, uint32_t limit, int mode,
                   int64_t now_ns, int64_t *out)
{
    header *h = attached(mem, size);
    if (h == NULL || (key == NULL && len > 0) || out == NULL ||
        (mode != FL_LIMIT_CHARGE_FIRST && mode != FL_LIMIT_ALL_OR_NOTHING) || cost > (1u << 31) ||
        limit > (1u << 31))
        return FL_E_ARG;
    int64_t now = table_now(h, now_ns);
    if (now < 0)
        return (int)now; /* before the table's epoch */
    return hit_one(h, key, len, cost, limit, mode, now, out, NULL);
}

int fl_limiter_pass(void *mem, size_t size, const char *keys, const size_t *lens, const uint32_t *limits, size_t n,
                    int64_t now_ns, int64_t *out)
{
    header *h = attached(mem, size);
    if (h == NULL || lens == NULL || limits == NULL || out == NULL || n == 0 || n > 64)
        return FL_E_ARG;
    size_t total = 0, offset[64];
    for (size_t i = 0; i < n; i++) {
        if (limits[i] > (1u << 31))
            return FL_E_ARG;
        offset[i] = total;
        total += lens[i];
    }
    if (keys == NULL && total > 0)
        return FL_E_ARG;
    int64_t now = table_now(h, now_ns);
    if (now < 0)
        return (int)now;
    /* The pre-check: a read of each; a live key over its limit rejects the request, nothing charged. */
    int found[64], over = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = hit_one(h, keys + offset[i], lens[i], 0, limits[i], FL_LIMIT_CHARGE_FIRST, now, out + 3 * i, &found[i]);
        if (rc < 0)
            return rc;
        over |= rc == 0;
    }
    if (over)
        return FL_PASS_PRECHECK;
    /* The charges: keys without a slot first, so that a full table is met before anything is charged
     * (unless two new keys meet it: then the first one's charge stays). */
    int admitted = 1;
    for (int claims = 1; claims >= 0; claims--)
        for (size_t i = 0; i < n; i++) {
            if (found[i] == claims)
                continue;
            int rc = hit_one(h, keys + offset[i], lens[i], 1, limits[i], FL_LIMIT_CHARGE_FIRST, now, out + 3 * i, NULL);
            if (rc < 0)
                return rc;
            admitted &= rc;
        }
    return admitted;
}

int fl_limiter_stats(void *mem, size_t size, int64_t now_ns, int64_t *out, size_t n)
{
    header *h = attached(mem, size);
    if (h == NULL || out == NULL || n < ST_COUNT + 2)
        return FL_E_ARG;
    for (size_t i = 0; i < ST_COUNT; i++)
        out[i] = (int64_t)__atomic_load_n(&h->stats[i], __ATOMIC_RELAXED);
    if (now_ns < 0)
        now_ns = fl_limiter_clock(1);
    int64_t now = now_ns - h->epoch * h->tick_ns, span = h->window * h->tick_ns, live = 0;
    bucket *b = buckets_of(h);
    for (size_t i = 0; i < h->buckets; i++)
        for (size_t k = 0; k < SLOTS; k++)
            live += (load64(&b[i].s[k].key) >> 32) != 0 && now <= (int64_t)(load64(&b[i].s[k].life) >> 1) + span;
    out[ST_COUNT] = live;
    out[ST_COUNT + 1] = (int64_t)h->buckets * SLOTS;
    return FL_OK;
}
