/*
 * token_count.c - litellm's token_counter arithmetic for many strings in one call.
 *
 * litellm counts each string of a request as the sum of the tiktoken counts of
 * its consecutive slices of `chunk_chars` code points (TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS,
 * 1024 by default), so a token that would straddle a slice boundary is split.
 * fl_count_chunked reproduces that on UTF-8: a code point starts at every byte
 * that is not a continuation byte (10xxxxxx).  The texts of a request arrive
 * in one buffer separated by 0xFF, a byte that valid UTF-8 never contains, so
 * the call needs no offsets array.
 */
#include <string.h>

#include "fl_internal.h"

/* Byte offset just past `chunk_chars` code points from text[0], or len. */
static size_t chunk_end(const unsigned char *text, size_t len, size_t chunk_chars)
{
    size_t pos = 0, seen = 0;
    /* Whole words of 8 bytes while their code points still fit: the continuation bytes of a
     * word are those with bit 7 set and bit 6 clear. */
    while (pos + 8 <= len) {
        uint64_t x = fl_load64(text + pos);
        size_t starts = 8 - (size_t)__builtin_popcountll(x & ~(x << 1) & 0x8080808080808080ull);
        if (seen + starts > chunk_chars)
            break;
        seen += starts;
        pos += 8;
    }
    while (pos < len) {
        if ((text[pos] & 0xC0u) != 0x80u) {
            if (seen == chunk_chars)
                return pos;
            seen++;
        }
        pos++;
    }
    return len;
}

int64_t fl_count_chunked(const fl_encoding *enc, const char *blob, size_t blob_len, size_t chunk_chars)
{
    if (enc == NULL || (blob == NULL && blob_len > 0) || chunk_chars == 0)
        return FL_E_ARG;
    int64_t sum = 0;
    const unsigned char *text = (const unsigned char *)blob;
    const unsigned char *end = text + blob_len;
    for (;;) {
        /* One text: up to the next 0xFF separator (a byte UTF-8 never contains) or the end. */
        const unsigned char *stop = text < end ? memchr(text, 0xFF, (size_t)(end - text)) : NULL;
        if (stop == NULL)
            stop = end;
        size_t len = (size_t)(stop - text);
        /* A slice of chunk_chars code points is at least chunk_chars bytes, so a text of at
         * most chunk_chars bytes is one slice without scanning. */
        while (len > 0) {
            size_t cut = len <= chunk_chars ? len : chunk_end(text, len, chunk_chars);
            int64_t count = fl_count(enc, (const char *)text, cut);
            if (count < 0)
                return count;
            sum += count;
            text += cut;
            len -= cut;
        }
        if (stop == end)
            return sum;
        text = stop + 1;
    }
}
