/*
 * token_count.c - litellm's token_counter arithmetic for many strings in one call.
 *
 * litellm counts each string of a request as the sum of the tiktoken counts of
 * its consecutive slices of `chunk_chars` code points (TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS,
 * 1024 by default), so a token that would straddle a slice boundary is split.
 * fl_count_chunked reproduces that on UTF-8: a code point starts at every byte
 * that is not a continuation byte (10xxxxxx).
 */
#include "fast_litellm.h"

/* Byte offset just past `chunk_chars` code points from text[0], or len. */
static size_t chunk_end(const unsigned char *text, size_t len, size_t chunk_chars)
{
    size_t pos = 0, seen = 0;
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

int fl_count_chunked(const fl_encoding *enc, const char *blob, size_t blob_len,
                     const size_t *bounds, size_t n_texts, size_t chunk_chars, int64_t *total)
{
    if (enc == NULL || total == NULL || (n_texts > 0 && (blob == NULL || bounds == NULL)) || chunk_chars == 0)
        return FL_E_ARG;
    if (n_texts > 0 && bounds[n_texts] > blob_len)
        return FL_E_ARG;
    int64_t sum = 0;
    for (size_t i = 0; i < n_texts; i++) {
        size_t start = bounds[i], end = bounds[i + 1];
        if (end < start)
            return FL_E_ARG;
        const unsigned char *text = (const unsigned char *)blob + start;
        size_t len = end - start;
        /* A slice of chunk_chars code points is at most 4 * chunk_chars bytes, so texts
         * shorter than chunk_chars bytes are one slice without scanning. */
        while (len > 0) {
            size_t cut = len <= chunk_chars ? len : chunk_end(text, len, chunk_chars);
            int64_t count = fl_count(enc, (const char *)text, cut);
            if (count < 0)
                return (int)count;
            sum += count;
            text += cut;
            len -= cut;
        }
    }
    *total = sum;
    return FL_OK;
}
