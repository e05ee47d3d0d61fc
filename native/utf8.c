/*
 * utf8.c - the UTF-8 of a Python str's code points, for the tokenizer's builtins.
 *
 * A str that is not ASCII stores its code points in 1, 2 or 4 bytes each
 * (PEP 393).  CPython's own encoder (str.encode, PyUnicode_AsUTF8String)
 * goes one code point at a time, about 0.5 ns each: near a tenth of the time
 * of encoding English text whose str is 2-byte because of one curly quote.
 * Here blocks of 16 ASCII code points are checked and narrowed at once (SSE2
 * compares and packs; plain loops the compiler may vectorize elsewhere), and
 * only blocks holding another code point go one code point at a time.
 *
 * Surrogates (U+D800..U+DFFF) have no UTF-8; the function reports them and
 * the caller takes the path that treats them as tiktoken does.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "fl_internal.h"

#define VEC 16 /* code points per ASCII check */

/* Append the UTF-8 of cp (not a surrogate, < 0x110000) at out; returns the new end. */
FL_INLINE uint8_t *put_utf8(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        *out++ = (uint8_t)cp;
    } else if (cp < 0x800) {
        *out++ = (uint8_t)(0xC0 | cp >> 6);
        *out++ = (uint8_t)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (uint8_t)(0xE0 | cp >> 12);
        *out++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (uint8_t)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (uint8_t)(0xF0 | cp >> 18);
        *out++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        *out++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return out;
}

#if defined(__SSE2__)
/* If the VEC code points at p are ASCII, write them as VEC bytes to out and return 1. */
FL_INLINE int ascii_block_sse2(int kind, const uint8_t *p, uint8_t *out)
{
    __m128i a, b;
    if (kind == 1) {
        a = _mm_loadu_si128((const __m128i *)(const void *)p);
        if (_mm_movemask_epi8(a) != 0)
            return 0;
        _mm_storeu_si128((__m128i *)(void *)out, a);
        return 1;
    }
    if (kind == 2) {
        a = _mm_loadu_si128((const __m128i *)(const void *)p);
        b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        __m128i high = _mm_and_si128(_mm_or_si128(a, b), _mm_set1_epi16((short)0xFF80));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(high, _mm_setzero_si128())) != 0xFFFF)
            return 0;
    } else {
        __m128i w0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i w1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        __m128i w2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
        __m128i w3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
        __m128i any = _mm_or_si128(_mm_or_si128(w0, w1), _mm_or_si128(w2, w3));
        __m128i high = _mm_and_si128(any, _mm_set1_epi32((int)0xFFFFFF80u));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(high, _mm_setzero_si128())) != 0xFFFF)
            return 0;
        a = _mm_packs_epi32(w0, w1); /* values < 0x80: no saturation */
        b = _mm_packs_epi32(w2, w3);
    }
    _mm_storeu_si128((__m128i *)(void *)out, _mm_packus_epi16(a, b));
    return 1;
}
#endif

/* ascii_block_sse2 in plain loops the compiler may vectorize. */
FL_INLINE int ascii_block_portable(int kind, const uint8_t *p, uint8_t *out)
{
    if (kind == 1) {
        uint8_t any = 0;
        for (size_t i = 0; i < VEC; i++)
            any |= p[i];
        if (any & 0x80)
            return 0;
        memcpy(out, p, VEC);
        return 1;
    }
    if (kind == 2) {
        uint16_t u[VEC], any = 0;
        memcpy(u, p, sizeof u);
        for (size_t i = 0; i < VEC; i++)
            any |= u[i];
        if (any & 0xFF80)
            return 0;
        for (size_t i = 0; i < VEC; i++)
            out[i] = (uint8_t)u[i];
        return 1;
    }
    uint32_t u[VEC], any = 0;
    memcpy(u, p, sizeof u);
    for (size_t i = 0; i < VEC; i++)
        any |= u[i];
    if (any & 0xFFFFFF80u)
        return 0;
    for (size_t i = 0; i < VEC; i++)
        out[i] = (uint8_t)u[i];
    return 1;
}

/* ascii_block_sse2 where the build has SSE2 and sse2 is 1, else ascii_block_portable. */
FL_INLINE int ascii_block(int kind, int sse2, const uint8_t *p, uint8_t *out)
{
#if defined(__SSE2__)
    if (sse2)
        return ascii_block_sse2(kind, p, out);
#endif
    (void)sse2;
    return ascii_block_portable(kind, p, out);
}

/* Code point i of the PEP 393 array p of kind `kind`. */
FL_INLINE uint32_t code_point(int kind, const uint8_t *p, size_t i)
{
    if (kind == 1)
        return p[i];
    if (kind == 2) {
        uint16_t u;
        memcpy(&u, p + 2 * i, 2);
        return u;
    }
    uint32_t u;
    memcpy(&u, p + 4 * i, 4);
    return u;
}

FL_INLINE ptrdiff_t utf8_of(int kind, int sse2, const uint8_t *p, size_t n, uint8_t *out)
{
    uint8_t *o = out;
    size_t i = 0;
    while (i < n) {
        if (n - i >= VEC && ascii_block(kind, sse2, p + i * (size_t)kind, o)) {
            i += VEC;
            o += VEC;
            continue;
        }
        /* One code point at a time to the end of this block (or of the text). */
        size_t stop = n - i >= VEC ? i + VEC : n;
        for (; i < stop; i++) {
            uint32_t cp = code_point(kind, p, i);
            if (FL_UNLIKELY(cp - 0xD800u < 0x800u || cp >= 0x110000u))
                return -1;
            o = put_utf8(o, cp);
        }
    }
    return o - out;
}

ptrdiff_t fl_utf8_from_ucs(int kind, const void *data, size_t n, uint8_t *out, int level)
{
    /* kind and sse2 are constants inside each call, so each gets its own loop */
    if (level < FL_SIMD_SSE2) {
        if (kind == 1)
            return utf8_of(1, 0, data, n, out);
        if (kind == 2)
            return utf8_of(2, 0, data, n, out);
        return kind == 4 ? utf8_of(4, 0, data, n, out) : -1;
    }
    if (kind == 1)
        return utf8_of(1, 1, data, n, out);
    if (kind == 2)
        return utf8_of(2, 1, data, n, out);
    return kind == 4 ? utf8_of(4, 1, data, n, out) : -1;
}
