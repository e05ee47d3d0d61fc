/*
 * fast_litellm.h - the one public C header of fast-litellm.
 *
 * Everything between FL_CDEF_BEGIN and FL_CDEF_END is fed to cffi's cdef() by
 * fast_litellm/_build.py, so that block holds only what cdef() parses:
 * integer constants, enums, opaque typedefs and prototypes.
 *
 * Conventions: every function returns an int status (FL_OK or a negative
 * FL_E_* code; fl_strerror() names it) and passes results through
 * out-parameters.  Callers own every buffer they pass in; C never keeps a
 * pointer to caller memory after it returns.  cffi releases the GIL around
 * every call, so every function here is safe to call from many threads at
 * once unless its comment says otherwise.
 */
#ifndef FAST_LITELLM_H
#define FAST_LITELLM_H

#include <stddef.h>
#include <stdint.h>

/* FL_CDEF_BEGIN */

/* Bumped whenever a prototype or constant below changes meaning; the Python
 * bindings refuse to load a _native built from another version. */
#define FL_ABI_VERSION 16

enum {
    FL_OK = 0,
    FL_E_NOMEM = -1,       /* an allocation failed */
    FL_E_CORRUPT = -2,     /* a rank file is malformed */
    FL_E_ARG = -3,         /* an argument is out of range (NULL, unknown pattern) */
    FL_E_BUFFER = -4,      /* an output buffer is too small */
    FL_E_TOKEN = -5,       /* a token id is not in the vocabulary */
    FL_E_TOO_LARGE = -6,   /* a vocabulary too large for the packed tables */
    FL_E_SHAPE = -7,       /* an input a function leaves to the Python code (_native_py.count_messages) */
    FL_E_FULL = -8,        /* a rate-limit table has no slot left for a new key */
    FL_E_RANGE = -9        /* a clock reading outside the range a rate-limit table counts */
};

/* Pre-tokenizer patterns, one hand-written scanner each (pretokenize.c). */
enum {
    FL_PATTERN_GPT2 = 1,   /* r50k_base, p50k_base, p50k_edit, gpt2 */
    FL_PATTERN_CL100K = 2, /* cl100k_base */
    FL_PATTERN_O200K = 3   /* o200k_base, o200k_harmony */
};

/* Modifiers of fl_pretokenize's pattern, for tests: the scanner's window path
 * with the portable classifier or the SSE2 one instead of the best the CPU
 * has (AVX-512BW), or the per-piece scanner alone.  The encoder always uses
 * the default. */
enum {
    FL_SCAN_PORTABLE = 16,
    FL_SCAN_PIECEWISE = 32,
    FL_SCAN_SSE2 = 64
};

/* A loaded byte-pair encoding: immutable after fl_encoding_new returns, so one
 * object may be used by any number of threads at once. */
typedef struct fl_encoding fl_encoding;

/* Static English text for a status code; never NULL, never to be freed. */
const char *fl_strerror(int code);

/*
 * Parse a tiktoken rank file ("<base64 token> <rank>" per line) and build the
 * tables for `pattern`.  `data` is read during the call only.
 * On FL_OK *out owns a new encoding, freed with fl_encoding_free.
 * Returns FL_E_CORRUPT for malformed lines, duplicate tokens or ranks, or a
 * vocabulary missing one of the 256 single bytes; FL_E_ARG for an unknown
 * pattern; FL_E_TOO_LARGE past 2^21 - 2 ranks; FL_E_NOMEM.
 */
int fl_encoding_new(const char *data, size_t len, int pattern, fl_encoding **out);

/*
 * As fl_encoding_new, for a Hugging Face byte-level BPE model given as a rank
 * file (rank = token id; ids that are not byte tokens, such as added special
 * tokens, simply have no line) plus its merge list: n_merges triples
 * (left rank, right rank, merged rank) at merges[3 * i ..], in merge priority
 * order.  Only listed pairs ever merge, earliest merge first, leftmost on ties,
 * as in Hugging Face `tokenizers` BPE without dropout.
 * Returns FL_E_CORRUPT (besides fl_encoding_new's cases) when a merge does not
 * spell its merged token, a pair is listed twice, the merged ranks do not
 * strictly increase along the list (the encoder ranks merges by merged rank),
 * or some token's own bytes do not merge back into that token (the encoder
 * maps a piece that is a whole token straight to it).
 */
int fl_encoding_new_merges(const char *data, size_t len, const uint32_t *merges, size_t n_merges,
                           int pattern, fl_encoding **out);

/* Free an encoding; NULL is a no-op.  No call on it may still be running. */
void fl_encoding_free(fl_encoding *enc);

/* Bytes of heap the encoding owns (tables, byte pool). */
size_t fl_encoding_memory(const fl_encoding *enc);

/* One past the highest rank in the vocabulary. */
uint32_t fl_encoding_max_rank(const fl_encoding *enc);

/*
 * SIMD levels: which vector code an encoding runs.  Each level also runs the
 * code of the levels below it where it has none of its own, and every level
 * gives the same ids.
 */
enum {
    FL_SIMD_PORTABLE = 0, /* plain C everywhere */
    FL_SIMD_SSE2 = 1,     /* + the o200k scanner's 16-byte classifier, the str builtins' UTF-8 */
    FL_SIMD_AVX2 = 2,     /* + the merge lanes compiled for AVX2 */
    FL_SIMD_AVX512 = 3    /* + the 64-byte classifier (AVX-512BW), merges in AVX-512 registers */
};

/* The highest level this CPU and this build run (x86-64: SSE2 at least). */
int fl_simd_max(void);

/*
 * Run the encoding's code at `level` (default: fl_simd_max()), so that tests
 * can run every level the CPU has, on any machine.  Safe while other threads
 * encode (a call in flight may finish at the old level).  Returns FL_OK, or
 * FL_E_ARG for a level above fl_simd_max() or below FL_SIMD_PORTABLE.
 */
int fl_encoding_set_simd(fl_encoding *enc, int level);

/* The encoding's current level. */
int fl_encoding_simd(const fl_encoding *enc);

/*
 * Encode UTF-8 `text` as ordinary text (special-token text is plain text),
 * exactly as tiktoken's encode_ordinary, writing ids to out[0..cap).
 * Returns the number of ids (>= 0) or a negative FL_E_* code: FL_E_BUFFER if
 * cap is too small (out then holds a prefix), FL_E_NOMEM, FL_E_ARG.
 * Unlike the other functions, the count is the return value: this is the
 * per-request hot path and an out-parameter costs a cffi allocation per call.
 * A text of n bytes never yields more than n ids, so cap >= len always fits.
 * Invalid UTF-8 is tokenized byte-wise without reading past `len`.
 */
int64_t fl_encode(const fl_encoding *enc, const char *text, size_t len, uint32_t *out, size_t cap);

/* The number of ids fl_encode would produce, without storing them, or a
 * negative FL_E_* code. */
int64_t fl_count(const fl_encoding *enc, const char *text, size_t len);

/*
 * Encode n_texts texts in one call, on the calling thread.  Text i is
 * blob[bounds[i] .. bounds[i+1]) (bounds has n_texts + 1 entries,
 * non-decreasing, bounds[n_texts] <= blob_len; bounds[0] need not be 0, so a
 * caller may hand parts of one batch to several threads as bounds + first).
 * Ids of text i go to out[bounds[i] ..] and their number to counts[i]; out
 * must hold bounds[n_texts] ids.  counts may not alias out.  The library
 * starts no threads: parallel batches are the caller's (the bindings' pool).
 */
int fl_encode_batch(const fl_encoding *enc, const char *blob, size_t blob_len,
                    const size_t *bounds, size_t n_texts, uint32_t *out, size_t *counts);

/* As fl_encode_batch, storing only counts[i]. */
int fl_count_batch(const fl_encoding *enc, const char *blob, size_t blob_len,
                   const size_t *bounds, size_t n_texts, size_t *counts);

/*
 * Byte length of the concatenated token bytes of ids[0..n).  Returns
 * FL_E_TOKEN with *bad_index set to the first id that is not a token.
 */
int fl_decode_len(const fl_encoding *enc, const uint32_t *ids, size_t n,
                  size_t *len_out, size_t *bad_index);

/* Write the concatenated token bytes of ids[0..n) to out (cap bytes).
 * Returns FL_E_TOKEN (with *len_out = index of the bad id) or FL_E_BUFFER. */
int fl_decode(const fl_encoding *enc, const uint32_t *ids, size_t n,
              char *out, size_t cap, size_t *len_out);

/*
 * Split UTF-8 `text` into pre-tokenizer pieces of `pattern`, writing the end
 * offset of each piece to ends[0..*n_out).  For tests and diagnostics; the
 * encoder calls the scanner directly.  cap >= len always fits.  `pattern` may
 * carry one FL_SCAN_ modifier.
 */
int fl_pretokenize(int pattern, const char *text, size_t len,
                   size_t *ends, size_t cap, size_t *n_out);

/*
 * MurmurHash3 x86_32 of data[0..len) with `seed`: the hash of the rollout
 * buckets, equal to mmh3.hash(data, seed, signed=False).  Pure; thread-safe.
 */
uint32_t fl_hash_murmur3_32(const char *data, size_t len, uint32_t seed);

/*
 * The rollout bucket (1..100) of a request key for a feature:
 * murmur3_32(feature ":" key, seed 0) % 100 + 1, hashed without building the
 * concatenation.  A request is in a rollout of p percent iff bucket <= p, so
 * raising p only adds requests.  Pure; thread-safe.
 */
uint32_t fl_rollout_bucket(const char *feature, size_t feature_len,
                           const char *key, size_t key_len);

/*
 * litellm's token_counter sum over the UTF-8 texts in blob[0..blob_len),
 * separated by single 0xFF bytes (which valid UTF-8 never contains; an empty
 * text is two adjacent separators): each text is cut into consecutive slices
 * of chunk_chars code points, each slice counted as fl_count counts it.
 * Returns the sum (>= 0), FL_E_ARG for chunk_chars == 0 or a NULL buffer, or
 * fl_count's negative code.  Thread-safe.
 */
int64_t fl_count_chunked(const fl_encoding *enc, const char *blob, size_t blob_len, size_t chunk_chars);

/* Kinds of _native_py.str_function (pylist.c). */
enum {
    FL_STR_ENCODE = 0, /* the list of ids */
    FL_STR_COUNT = 1   /* their number */
};

/* Flags of _native_py.count_messages (pymessages.c). */
enum {
    FL_MSG_NO_LT = 1 /* the Anthropic tokenizer: '<' before [A-Z] (added tokens) or NFKC-unstable text is left to Python */
};

/*
 * Rate-limit tables (limiter.c): litellm's in-memory v3 windows per key (a life of `window` ticks
 * from the first write, a logical window from its tick, moved on once within the life), in
 * 64-byte-aligned memory the caller owns and keeps alive across every call (a private buffer, or a
 * MAP_SHARED mapping shared by worker processes).  Admission is lock-free; claiming a slot for a new
 * key takes a lock that a dead process's is taken over from.  Clock readings are ns since the Unix
 * epoch; a negative one reads CLOCK_REALTIME.
 */
enum {
    FL_LIMIT_CHARGE_FIRST = 0,   /* live and over the limit: rejected unchanged; else charged, admitted iff within */
    FL_LIMIT_ALL_OR_NOTHING = 1  /* charged and admitted iff count + cost <= limit, else nothing written */
};
enum { FL_LIMITER_STATS = 8 };   /* fl_limiter_stats' figures (see limiter.c) */
enum { FL_PASS_PRECHECK = 2 };   /* fl_limiter_pass: rejected by the pre-check, nothing charged */

/* Bytes a table of `buckets` buckets (a multiple of 8; 3 keys each) needs. */
size_t fl_limiter_bytes(uint32_t buckets);
/* Make a table in mem[0..size): windows of `window` ticks of `tick_ns` ns; clock readings from tick
 * `epoch` on.  Not thread-safe: run it before the memory is shared (the magic number is written
 * last).  FL_OK or FL_E_ARG. */
int fl_limiter_init(void *mem, size_t size, uint32_t buckets, int64_t tick_ns, int64_t window, int64_t epoch);
/* FL_OK if mem[0..size) holds a table of this version, else FL_E_CORRUPT. */
int fl_limiter_check(void *mem, size_t size);
/* CLOCK_REALTIME in ticks of tick_ns ns (FL_E_ARG for tick_ns <= 0). */
int64_t fl_limiter_clock(int64_t tick_ns);
/* One hit of `cost` on `key` against `limit` in `mode` at `now_ns`: 1 admitted, 0 rejected,
 * FL_E_FULL (no slot for a new key), FL_E_RANGE (a clock before the epoch), FL_E_ARG; out[0] the
 * logical window's start (ticks), out[1] the count after the hit, out[2] the life's start (ns). */
int fl_limiter_hit(void *mem, size_t size, const char *key, size_t len, uint32_t cost, uint32_t limit, int mode,
                   int64_t now_ns, int64_t *out);
/* litellm's v3 rpm pass over n (1..64) keys, keys[0..) holding them one after another (lens[i]
 * bytes each), at `now_ns`: the pre-check (a read of each: a live key over limits[i] rejects, and
 * nothing is charged: FL_PASS_PRECHECK), then a charge-first hit of 1 on each (1: every count within
 * its limit; 0: one is over, every charge stays).  out[3i..3i+3) as fl_limiter_hit's out for key i.
 * Keys without a slot are charged first, so FL_E_FULL comes before any charge unless two new keys
 * meet a full table.  FL_E_ARG, FL_E_RANGE. */
int fl_limiter_pass(void *mem, size_t size, const char *keys, const size_t *lens, const uint32_t *limits, size_t n,
                    int64_t now_ns, int64_t *out);
/* The counters (checks, rejected, table full, locks taken over, claims of empty slots, CAS retries),
 * then the keys alive at `now_ns` and the slots in all, into out[0..FL_LIMITER_STATS). */
int fl_limiter_stats(void *mem, size_t size, int64_t now_ns, int64_t *out, size_t n);

/*
 * CPython only (pymodule.c): make the module fast_litellm._native_py and put
 * it in sys.modules, once (later calls find it there).  Its functions take
 * Python objects as arguments, so no object crosses into C as an address:
 * the token-id lists, the str builtins, token_counter's and litellm.encode's
 * C entries, the message walk and the tools-memo key.  Takes the GIL itself.
 * Returns FL_OK, or FL_E_NOMEM if the module could not be made.
 */
int fl_python_init(void);

/* FL_CDEF_END */

#endif /* FAST_LITELLM_H */
