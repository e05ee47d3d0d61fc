/*
 * limiter_hammer.c - native/limiter.c under load, for tests/test_limiter.py (built there with gcc).
 *
 *   limiter_hammer threads|processes|crash WORKERS CHECKS KEYS LIMIT WINDOW_MS
 *
 * WORKERS threads (or forked processes sharing one MAP_SHARED table) hit KEYS keys at random until
 * CHECKS hits were made in all, on the real clock in 1 ms ticks with windows of WINDOW_MS.  Each
 * worker tallies its admissions and rejections by the window the table says it charged (key, the
 * life's start, first or second window of the life).  "crash": one extra process takes the lock of every other segment and dies
 * holding them before the others start; keys are then new on every hit (each needs a claim,
 * which needs a lock), and the longest single hit is reported.
 *
 * Prints one JSON line: checks, admitted, windows, over (windows that admitted more than LIMIT),
 * max_admitted, saturated (windows wholly inside the run with a rejection), exact (those of them
 * that admitted exactly LIMIT), full (table-full answers), stolen (locks taken over), max_hit_ms.
 * Built with -DFL_LIMITER_TEST_RACY, the table's CAS is a non-atomic check-then-set: over must be > 0.
 * Built with -DHAMMER_PLAIN_TALLY, the tallies are plain increments: a data race for ThreadSanitizer.
 */
#define _GNU_SOURCE
#include "../native/limiter.c"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define SPAN 20000 /* ms of window starts tallied (a run lasts a few seconds) */

typedef struct {
    uint32_t admitted, rejected;
} tally;

static void *table;
static size_t table_size;
static tally *tallies; /* [KEYS][SPAN][2], shared */
static int64_t t0;
static long checks_per_worker, keys, limit, window, mode_crash;
static int64_t *max_hit_ns; /* shared, per worker */
static int64_t *full_count;

static void work(long id)
{
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1);
    char key[32];
    int64_t worst = 0;
    for (long i = 0; i < checks_per_worker; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        long k = (long)(rng % (uint64_t)keys);
        int len = mode_crash ? snprintf(key, sizeof key, "w%ld-%ld", id, i) : snprintf(key, sizeof key, "key-%ld", k);
        int64_t out[3];
        int64_t before = mode_crash ? monotonic_ns() : 0;
        int rc = fl_limiter_hit(table, table_size, key, (size_t)len, 1, (uint32_t)limit, FL_LIMIT_CHARGE_FIRST, -1, out);
        if (mode_crash) {
            int64_t took = monotonic_ns() - before;
            worst = took > worst ? took : worst;
            if (rc == FL_E_FULL)
                __atomic_fetch_add(full_count, 1, __ATOMIC_RELAXED);
            continue;
        }
        if (rc < 0) {
            __atomic_fetch_add(full_count, 1, __ATOMIC_RELAXED);
            continue;
        }
        /* a window is (the life's start, first or second window of the life) */
        int64_t life_ms = out[2] / 1000000, at = life_ms - t0;
        if (at < 0 || at >= SPAN)
            continue;
        tally *t = &tallies[(k * SPAN + at) * 2 + (out[0] != life_ms)];
#ifdef HAMMER_PLAIN_TALLY /* a planted data race, which ThreadSanitizer must report */
        if (rc == 1)
            t->admitted++;
        else
            t->rejected++;
        continue;
#endif
        if (rc == 1)
            __atomic_fetch_add(&t->admitted, 1, __ATOMIC_RELAXED);
        else
            __atomic_fetch_add(&t->rejected, 1, __ATOMIC_RELAXED);
    }
    max_hit_ns[id] = worst;
}

static void *thread_main(void *arg)
{
    work((long)(intptr_t)arg);
    return NULL;
}

static void *shared_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s threads|processes|crash WORKERS CHECKS KEYS LIMIT WINDOW_MS\n", argv[0]);
        return 2;
    }
    const char *how = argv[1];
    long workers = atol(argv[2]), checks = atol(argv[3]);
    keys = atol(argv[4]), limit = atol(argv[5]), window = atol(argv[6]);
    mode_crash = strcmp(how, "crash") == 0;
    checks_per_worker = checks / workers;
    uint32_t buckets = mode_crash ? 64 : 1024;
    table_size = fl_limiter_bytes(buckets);
    table = shared_alloc(table_size);
    t0 = fl_limiter_clock(1000000);
    if (fl_limiter_init(table, table_size, buckets, 1000000, window, t0 - 1000) != FL_OK)
        return 2;
    tallies = shared_alloc(sizeof(tally) * (size_t)keys * SPAN * 2);
    max_hit_ns = shared_alloc(sizeof(int64_t) * (size_t)(workers + 1));
    full_count = shared_alloc(sizeof(int64_t));

    if (mode_crash) { /* a process that dies holding half the segment locks */
        pid_t pid = fork();
        if (pid == 0) {
            header *h = table;
            for (uint32_t seg = 0; seg < h->buckets; seg += 2 * SEGMENT)
                segment_lock(h, &buckets_of(h)[seg].lock);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    if (strcmp(how, "threads") == 0) {
        pthread_t *threads = calloc((size_t)workers, sizeof *threads);
        for (long i = 0; i < workers; i++)
            pthread_create(&threads[i], NULL, thread_main, (void *)(intptr_t)i);
        for (long i = 0; i < workers; i++)
            pthread_join(threads[i], NULL);
        free(threads);
    } else {
        for (long i = 0; i < workers; i++)
            if (fork() == 0) {
                work(i);
                _exit(0);
            }
        for (long i = 0; i < workers; i++)
            wait(NULL);
    }
    int64_t end = fl_limiter_clock(1000000) - t0;

    long long admitted = 0, windows = 0, over = 0, max_admitted = 0, saturated = 0, exact = 0;
    for (long k = 0; k < keys; k++)
        for (int64_t i = 0; i < SPAN * 2; i++) {
            int64_t at = i / 2;
            tally *t = &tallies[k * SPAN * 2 + i];
            if (t->admitted + t->rejected == 0)
                continue;
            windows++;
            admitted += t->admitted;
            max_admitted = t->admitted > max_admitted ? t->admitted : max_admitted;
            over += t->admitted > limit;
            if (t->rejected > 0 && at > 0 && at + window < end) {
                saturated++;
                exact += t->admitted == limit;
            }
        }
    int64_t stats[FL_LIMITER_STATS], worst = 0;
    fl_limiter_stats(table, table_size, -1, stats, FL_LIMITER_STATS);
    for (long i = 0; i < workers; i++)
        worst = max_hit_ns[i] > worst ? max_hit_ns[i] : worst;
    printf("{\"checks\": %lld, \"admitted\": %lld, \"windows\": %lld, \"over\": %lld, \"max_admitted\": %lld, "
           "\"saturated\": %lld, \"exact\": %lld, \"full\": %lld, \"stolen\": %lld, \"max_hit_ms\": %.3f, "
           "\"elapsed_ms\": %lld}\n",
           (long long)stats[0], admitted, windows, over, max_admitted, saturated, exact, (long long)*full_count,
           (long long)stats[3], (double)worst / 1e6, (long long)end);
    return 0;
}
