/*
 * hash.c - MurmurHash3 x86_32 (Austin Appleby's public-domain design), the
 * stable hash behind percentage rollout.
 *
 * The rollout bucket hashes "feature:key" as one byte string, so the hash is
 * written as a small streaming state (a running h, a partial 4-byte block and
 * the total length) that is fed the three parts in turn; the result equals
 * the one-shot hash of their concatenation.
 */
#include <string.h>

#include "fast_litellm.h"

static const uint32_t C1 = 0xcc9e2d51u;
static const uint32_t C2 = 0x1b873593u;

typedef struct {
    uint32_t h;
    uint32_t tail;     /* pending bytes, little-endian, tail_len of them */
    unsigned tail_len; /* 0..3 */
    size_t total;
} murmur_state;

static inline uint32_t rotl32(uint32_t x, unsigned r) { return (x << r) | (x >> (32u - r)); }

static inline uint32_t mix_k(uint32_t k)
{
    k *= C1;
    k = rotl32(k, 15);
    return k * C2;
}

static inline void mix_block(murmur_state *st, uint32_t k)
{
    st->h ^= mix_k(k);
    st->h = rotl32(st->h, 13);
    st->h = st->h * 5u + 0xe6546b64u;
}

static void murmur_feed(murmur_state *st, const unsigned char *p, size_t len)
{
    st->total += len;
    /* Complete a partial block left by the previous part. */
    while (len > 0 && st->tail_len > 0) {
        st->tail |= (uint32_t)*p++ << (8u * st->tail_len);
        len--;
        if (++st->tail_len == 4) {
            mix_block(st, st->tail);
            st->tail = 0;
            st->tail_len = 0;
        }
    }
    for (; len >= 4; p += 4, len -= 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        mix_block(st, k);
    }
    for (; len > 0; len--)
        st->tail |= (uint32_t)*p++ << (8u * st->tail_len++);
}

static uint32_t murmur_final(murmur_state *st)
{
    uint32_t h = st->h;
    if (st->tail_len > 0)
        h ^= mix_k(st->tail);
    h ^= (uint32_t)st->total; /* the reference mixes in the length mod 2^32 */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t fl_hash_murmur3_32(const char *data, size_t len, uint32_t seed)
{
    murmur_state st = {seed, 0, 0, 0};
    if (data != NULL)
        murmur_feed(&st, (const unsigned char *)data, len);
    return murmur_final(&st);
}

uint32_t fl_rollout_bucket(const char *feature, size_t feature_len, const char *key, size_t key_len)
{
    murmur_state st = {0, 0, 0, 0};
    if (feature != NULL)
        murmur_feed(&st, (const unsigned char *)feature, feature_len);
    murmur_feed(&st, (const unsigned char *)":", 1);
    if (key != NULL)
        murmur_feed(&st, (const unsigned char *)key, key_len);
    return murmur_final(&st) % 100u + 1u;
}
