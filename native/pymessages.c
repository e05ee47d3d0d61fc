/*
 * pymessages.c - token_counter's work on Python objects: the walk of the common
 * request (this part) and the key of the tools memo (the last part).
 *
 * Most requests are a list of dicts whose values are all str, such as
 * {"role": "user", "content": "..."}.  For those, walking the messages in
 * Python, joining the strings and encoding them for the native count costs
 * more than the count itself (about 1 us of a 2.5 us call).  This file does
 * that walk on the objects: the fixed tokens litellm adds (3 per message, 1
 * per "name") and the count of every string, in litellm's slices of
 * chunk_chars code points, in one native call.
 *
 * It takes only shapes it can answer exactly and returns FL_E_SHAPE for the
 * rest, which the Python walk (fast_litellm/_litellm_token_counter.py) then
 * handles: anything but an exact list of exact dicts, a key that is not an
 * exact str, a value that is neither None nor an exact str (lists, tool
 * calls, pydantic objects, str subclasses), "tool_calls" or "function_call"
 * given as a str, a str with a lone surrogate (no UTF-8; litellm's slices see
 * it alone), longer than max_chars (litellm estimates those) or, with
 * FL_MSG_NO_LT, holding '<' before an uppercase letter (where one of the
 * Anthropic tokenizer's added tokens may start) or a character the tokenizers
 * library's NFKC may change (its normalizer).  A non-ASCII str is turned into UTF-8 in a
 * buffer of this file's, never through CPython's cached UTF-8 of the str.
 *
 * CPython only, like pylist.c: its functions are methods of
 * fast_litellm._native_py (pymodule.c), called with the GIL held.  The walk
 * calls no Python code (exact types only, so no __eq__ or __hash__ of a
 * subclass runs and nothing can change the objects under it).  The strings
 * it collects are referenced for the call, and so is the encoding's handle;
 * when their bytes add up to COUNT_WITHOUT_GIL or more, the counting runs
 * with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast_litellm.h"
#include "fl_internal.h"
#include "fl_python.h"
#include "nfkc_stable.h"

#define STACK_TEXTS 64
#define COUNT_WITHOUT_GIL 65536 /* bytes: below this, releasing the GIL costs more than it frees */

/* One string to count: its UTF-8, which is the str's own data (ASCII) or a buffer of ours. */
typedef struct {
    const char *data;
    size_t len;
    char *owned; /* malloc'd UTF-8 of a non-ASCII str, freed with the texts; NULL for ASCII */
} view_t;

typedef struct {
    PyObject **texts; /* referenced strings */
    view_t *views;    /* their UTF-8, same index */
    size_t n, cap;
    PyObject *stack[STACK_TEXTS];
    view_t view_stack[STACK_TEXTS];
    size_t bytes;
} texts_t;

static void texts_init(texts_t *t)
{
    t->texts = t->stack;
    t->views = t->view_stack;
    t->n = t->bytes = 0;
    t->cap = STACK_TEXTS;
}

static void texts_free(texts_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        Py_DECREF(t->texts[i]);
        free(t->views[i].owned);
    }
    if (t->texts != t->stack) {
        free(t->texts);
        free(t->views);
    }
}

static int texts_grow(texts_t *t)
{
    size_t cap = t->cap * 2;
    int on_stack = t->texts == t->stack;
    PyObject **texts = on_stack ? malloc(cap * sizeof *texts) : realloc(t->texts, cap * sizeof *texts);
    if (texts == NULL)
        return FL_E_NOMEM;
    if (on_stack)
        memcpy(texts, t->stack, t->n * sizeof *texts);
    t->texts = texts;
    view_t *views = on_stack ? malloc(cap * sizeof *views) : realloc(t->views, cap * sizeof *views);
    if (views == NULL) {
        if (on_stack) { /* the texts moved off the stack: keep them there so texts_free finds both */
            t->texts = t->stack;
            free(texts);
        }
        return FL_E_NOMEM;
    }
    if (on_stack)
        memcpy(views, t->view_stack, t->n * sizeof *views);
    t->views = views;
    t->cap = cap;
    return FL_OK;
}

/* Add s, whose UTF-8 is view (ownership of view.owned passes to t, also on failure). */
static int texts_push(texts_t *t, PyObject *s, view_t view)
{
    if (t->n == t->cap && texts_grow(t) != FL_OK) {
        free(view.owned);
        return FL_E_NOMEM;
    }
    Py_INCREF(s);
    t->texts[t->n] = s;
    t->views[t->n++] = view;
    t->bytes += view.len;
    return FL_OK;
}

/* cp is NFKC-stable (nfkc_stable.h, generated from the tokenizers library): its own NFKC in any
 * context.  A binary search of the ranges; callers ask only for non-ASCII code points. */
static int nfkc_stable(Py_UCS4 cp)
{
    size_t lo = 0, hi = FL_NFKC_STABLE_RANGES;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < fl_nfkc_stable_ranges[mid][0])
            hi = mid;
        else if (cp > fl_nfkc_stable_ranges[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* An added token of the Anthropic tokenizer may start at ASCII text[i]: '<' and an uppercase
 * letter (fast_litellm/_anthropic.py refuses a configuration with other added tokens). */
static int added_token_at(const char *text, size_t n, size_t i)
{
    return text[i] == '<' && i + 1 < n && text[i + 1] >= 'A' && text[i + 1] <= 'Z';
}

/* Some added token may start in the n ASCII characters at text. */
static int ascii_added_token(const char *text, size_t n)
{
    for (const char *lt = memchr(text, '<', n); lt != NULL;
         lt = memchr(lt + 1, '<', n - (size_t)(lt + 1 - text)))
        if (added_token_at(text, n, (size_t)(lt - text)))
            return 1;
    return 0;
}

/* The Anthropic tokenizer counts s as its UTF-8: every code point NFKC-stable (NFKC changes
 * nothing) and no added token may start in it.  Lone surrogates are not stable. */
static int anthropic_plain(PyObject *s)
{
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            Py_UCS4 next = i + 1 < n ? PyUnicode_READ(kind, data, i + 1) : 0;
            if (c == '<' && next >= 'A' && next <= 'Z')
                return 0;
        } else if (!nfkc_stable(c)) {
            return 0;
        }
    }
    return 1;
}

/*
 * A str litellm counts exactly and this file can count: FL_OK with *view set (an ASCII str is its
 * own UTF-8; any other gets a buffer of ours, so no UTF-8 copy is left inside the caller's str),
 * or FL_E_SHAPE (a lone surrogate: litellm's slices see it alone; over max_chars; with
 * FL_MSG_NO_LT, where an added token may start ('<' and an uppercase letter) or holding a
 * character NFKC may change), or FL_E_NOMEM.
 */
static int countable(PyObject *s, size_t max_chars, int flags, int level, view_t *view)
{
    if (!PyUnicode_IS_READY(s))
        return FL_E_SHAPE;
    size_t len = (size_t)PyUnicode_GET_LENGTH(s);
    if (len > max_chars)
        return FL_E_SHAPE;
    view->owned = NULL;
    if (PyUnicode_IS_ASCII(s)) {
        view->data = PyUnicode_DATA(s);
        view->len = len;
        if ((flags & FL_MSG_NO_LT) && ascii_added_token(view->data, len))
            return FL_E_SHAPE;
        return FL_OK;
    }
    if ((flags & FL_MSG_NO_LT) && !anthropic_plain(s))
        return FL_E_SHAPE; /* the Anthropic tokenizer's NFKC would change it: the Python path's */
    int kind = PyUnicode_KIND(s);
    char *utf8 = malloc(fl_utf8_room(kind, len));
    if (utf8 == NULL)
        return FL_E_NOMEM;
    ptrdiff_t got = fl_utf8_from_ucs(kind, PyUnicode_DATA(s), len, (uint8_t *)utf8, level);
    if (got < 0) {
        free(utf8);
        return FL_E_SHAPE;
    }
    view->data = view->owned = utf8;
    view->len = (size_t)got;
    return FL_OK;
}

/* Collect the strings of the messages into t and add their fixed tokens to *fixed. */
static int walk(PyObject *messages, size_t max_chars, int flags, int level, texts_t *t, int64_t *fixed)
{
    if (!PyList_CheckExact(messages))
        return FL_E_SHAPE;
    Py_ssize_t n = PyList_GET_SIZE(messages);
    *fixed = 3 * (int64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *message = PyList_GET_ITEM(messages, i);
        if (!PyDict_CheckExact(message))
            return FL_E_SHAPE;
        Py_ssize_t at = 0;
        PyObject *key, *value;
        while (PyDict_Next(message, &at, &key, &value)) {
            if (value == Py_None)
                continue;
            if (!PyUnicode_CheckExact(key) || !PyUnicode_CheckExact(value))
                return FL_E_SHAPE;
            if (PyUnicode_CompareWithASCIIString(key, "name") == 0)
                (*fixed)++;
            else if (PyUnicode_CompareWithASCIIString(key, "tool_calls") == 0 ||
                     PyUnicode_CompareWithASCIIString(key, "function_call") == 0)
                return FL_E_SHAPE;
            view_t view;
            int rc = countable(value, max_chars, flags, level, &view);
            if (rc == FL_OK)
                rc = texts_push(t, value, view);
            if (rc != FL_OK)
                return rc;
        }
    }
    return FL_OK;
}

/* Sum of the counts of t's strings, each in slices of chunk_chars code points (fl_count_chunked:
 * UTF-8 holds no 0xFF separator, so each string is one text). */
static int64_t count_texts(const fl_encoding *enc, const texts_t *t, size_t chunk_chars)
{
    int64_t sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        int64_t count = fl_count_chunked(enc, t->views[i].data, t->views[i].len, chunk_chars);
        if (count < 0)
            return count;
        sum += count;
    }
    return sum;
}

/* fl_count_messages with the GIL held by the caller. */
static int64_t count_messages_held(const fl_encoding *enc, PyObject *messages, size_t chunk_chars,
                                   size_t max_chars, int flags)
{
    texts_t t;
    texts_init(&t);
    int64_t fixed = 0;
    int64_t rc = walk(messages, max_chars, flags, fl_encoding_simd(enc), &t, &fixed);
    if (rc == FL_OK) {
        if (t.bytes >= COUNT_WITHOUT_GIL) {
            Py_BEGIN_ALLOW_THREADS
            rc = count_texts(enc, &t, chunk_chars);
            Py_END_ALLOW_THREADS
        } else {
            rc = count_texts(enc, &t, chunk_chars);
        }
        if (rc >= 0)
            rc += fixed;
    }
    texts_free(&t);
    return rc;
}

/* count_messages(handle, messages, chunk_chars, max_chars, flags): the sum (see
 * count_messages_held), or None for a shape the Python walk takes. */
PyObject *fl_py_count_messages(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "count_messages(handle, messages, chunk_chars, max_chars, flags)");
        return NULL;
    }
    const fl_encoding *enc = fl_handle_encoding(args[0]);
    if (enc == NULL)
        return NULL;
    size_t chunk_chars = PyLong_AsSize_t(args[2]), max_chars = PyLong_AsSize_t(args[3]);
    long flags = PyLong_AsLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    if (chunk_chars == 0) {
        PyErr_SetString(PyExc_ValueError, "count_messages: chunk_chars must be positive");
        return NULL;
    }
    /* the handle and messages are the call's arguments, referenced until it returns */
    int64_t total = count_messages_held(enc, args[1], chunk_chars, max_chars, (int)flags);
    if (total == FL_E_SHAPE)
        Py_RETURN_NONE;
    if (total == FL_E_NOMEM)
        return PyErr_NoMemory();
    if (total < 0) {
        PyErr_Format(PyExc_RuntimeError, "fast_litellm native error %lld", (long long)total);
        return NULL;
    }
    return PyLong_FromLongLong(total);
}

/* ---- The entry of token_counter ---------------------------------------------- */

/*
 * The patched token_counter (fast_litellm/_litellm_token_counter.py) calls
 * this entry first, a builtin function made by fl_token_counter_entry.  For
 * the common request (model a str, messages a list, no text, tools,
 * tool_choice or custom tokenizer) it does in C what the Python path does:
 * the gate's untimed fast path, litellm's model checks and the native count;
 * it returns the count, or None, and then the Python path answers the call
 * from the start, as if the entry did not exist.  It saves the Python frames
 * of the gate and of native_token_counter, about half of a short message.
 *
 * The entry answers only where the Python path would answer natively with
 * the same number:
 * - the gate: the feature enabled for every call (gate.all_native), its
 *   breaker clean, and a call the monitor counts without timing it
 *   (stats.calls at least `samples` and not a multiple of untimed_mask + 1);
 *   it then adds one to stats.calls, as the gate does;
 * - litellm loaded (the context's modules set by the Python path) and
 *   litellm.disable_token_counter not True;
 * - the model's tokenizer, as the Python path decides it: unless
 *   litellm.disable_hf_tokenizer_download is True, litellm's
 *   huggingface_tokenizer_kind(model) must be None, or "anthropic" with the
 *   bundled tokenizer on the Python backend (the context's hf_python(utils)
 *   is True); then litellm's _fix_model_name(model) must not be the legacy
 *   name and must have a vocabulary in the context (the Python path adds
 *   each on first use; the Anthropic one likewise), found by that fixed
 *   name on litellm 1.106-1.108 and by the model name as written from 1.109
 *   (while litellm's tables are those it was found under, tables_current).
 *   model_rules does the work of litellm's two functions itself while
 *   litellm holds the 1.106 or 1.109 ones, and calls them otherwise;
 *   backend_is_python compares the catalog objects hf_python remembered,
 *   and calls it otherwise;
 * - the messages a shape count_messages_held takes.
 * An exception of the code it calls is cleared and the call declined (the
 * Python path meets it again and answers as it always does), except for
 * those that are not an Exception (KeyboardInterrupt), which propagate.
 *
 * Its state is a tuple (gate, breaker, stats, context, names): the context a
 * list the Python side fills (CX_* order) and names a tuple of interned
 * attribute names (NM_* order); both orders are written down once more in
 * the Python module.  No C global changes: every call reads the state.
 */

enum { ST_GATE, ST_BREAKER, ST_STATS, ST_CONTEXT, ST_NAMES, ST_SIZE };
enum {
    CX_LITELLM, CX_UTILS, CX_MODULE, CX_VOCABS, CX_ANTHROPIC, CX_CHUNK, CX_WHOLE, CX_MAX, CX_HF_PYTHON,
    CX_HF_REMEMBERED, CX_RULES, CX_LEGACY, CX_DEFAULT_MODEL, CX_SAMPLES, CX_UNTIMED_MASK, CX_ENCODE_INTS,
    CX_ENCODE_VOCAB, CX_TABLES, CX_SIZE
};
enum {
    NM_ALL_NATIVE, NM_CLEAN, NM_CALLS, NM_DISABLE_TC, NM_DISABLE_HF, NM_HF_KIND, NM_FIX_NAME, NM_ANTHROPIC,
    NM_USES_ANTHROPIC, NM_LITELLM, NM_COHERE_MODELS, NM_ANTHROPIC_MODELS, NM_AZURE_LLMS, NM_OPENAI_MODELS,
    NM_OBJECTS, NM_CATALOG, NM_HF_BACKEND, NM_DECISION, NM_DISPATCH, NM_HF_CONTEXT, NM_RULES, NM_ROLLOUT,
    NM_DECISION_PRIVATE, NM_MODEL_COST, NM_GENERATION, NM_ENCODING_NAME, NM_SIZE
};

#define ENTRY_DECLINE (-1000) /* the Python path answers */
#define ENTRY_PYERR (-1001)   /* a Python exception is set */
#define MAX_MODEL_CHARS 256    /* longer names go through litellm's functions */

/* getattr(owner, name): a new reference, or NULL with an exception set.  A module's attribute is
 * read from its dict first: module getattr finds it there for every name its type does not have,
 * and the names read here (none a dunder) are not ModuleType's. */
static PyObject *get_attr(PyObject *owner, PyObject *name)
{
    if (PyModule_CheckExact(owner)) {
        PyObject *v = PyDict_GetItemWithError(PyModule_GetDict(owner), name);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    return PyObject_GetAttr(owner, name);
}

/* getattr(o, name) is value: 1, or 0 (also without the attribute); ENTRY_PYERR on another error. */
static int attr_is(PyObject *o, PyObject *name, PyObject *value)
{
    PyObject *v = get_attr(o, name);
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return ENTRY_PYERR;
        PyErr_Clear();
        return 0;
    }
    int is = v == value;
    Py_DECREF(v);
    return is;
}

/* owner.name(arg): a new reference, or NULL with an exception set. */
static PyObject *call_attr(PyObject *owner, PyObject *name, PyObject *arg)
{
    PyObject *f = get_attr(owner, name);
    if (f == NULL)
        return NULL;
    PyObject *result = PyObject_CallOneArg(f, arg);
    Py_DECREF(f);
    return result;
}

/* `item in owner.name`: 1, 0, or ENTRY_PYERR. */
static int in_attr(PyObject *owner, PyObject *name, PyObject *item)
{
    PyObject *container = get_attr(owner, name);
    if (container == NULL)
        return ENTRY_PYERR;
    int in = PySequence_Contains(container, item);
    Py_DECREF(container);
    return in < 0 ? ENTRY_PYERR : in;
}

/* The size_t value of an int, or (size_t)-1 with an exception set. */
static size_t size_of(PyObject *o)
{
    if (!PyLong_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "the token_counter entry's context holds a non-int size");
        return (size_t)-1;
    }
    return PyLong_AsSize_t(o);
}

static int has(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0)
            return 1;
    return 0;
}

/* globals[name] is a function with this code and these globals (borrowed reads, no Python code). */
static int is_function(PyObject *globals, PyObject *name, PyObject *code)
{
    PyObject *f = PyDict_GetItemWithError(globals, name);
    return f != NULL && PyFunction_Check(f) && PyFunction_GET_CODE(f) == code &&
           PyFunction_GET_GLOBALS(f) == globals && PyFunction_GET_CLOSURE(f) == NULL;
}

enum { KIND_NONE, KIND_ANTHROPIC, KIND_OTHER };

/* s[i..] starts with word (i may be n). */
static int word_at(const char *s, size_t n, size_t i, const char *word)
{
    size_t k = strlen(word);
    return i <= n && n - i >= k && memcmp(s + i, word, k) == 0;
}

static int one_of(const char *s, size_t n, size_t i, const char *set)
{
    return i < n && s[i] != '\0' && strchr(set, s[i]) != NULL;
}

/*
 * litellm 1.109's _DEEPSEEK_TOKENIZER_MODEL.search on a lower-cased ASCII
 * name: deepseek[-_.](chat[-_.])?v[34] anywhere, or
 * (^|/)deepseek-(chat|reasoner|flash)(:free)?$, where $ also matches before
 * a final newline (Python's re).
 */
static int deepseek_name(const char *lower, size_t n)
{
    static const char *const words[] = {"chat", "reasoner", "flash"};
    for (size_t i = 0; i + 8 <= n; i++) {
        if (memcmp(lower + i, "deepseek", 8) != 0)
            continue;
        size_t j = i + 8;
        if (one_of(lower, n, j, "-_.")) {
            size_t k = j + 1;
            if (word_at(lower, n, k, "chat") && one_of(lower, n, k + 4, "-_."))
                k += 5;
            if (word_at(lower, n, k, "v") && one_of(lower, n, k + 1, "34"))
                return 1;
        }
        if ((i == 0 || lower[i - 1] == '/') && j < n && lower[j] == '-') {
            for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
                if (!word_at(lower, n, j + 1, words[w]))
                    continue;
                size_t end = j + 1 + strlen(words[w]);
                size_t ends[2] = {end, word_at(lower, n, end, ":free") ? end + 5 : end};
                for (int e = 0; e < 2; e++)
                    if (ends[e] == n || (ends[e] == n - 1 && lower[n - 1] == '\n'))
                        return 1;
            }
        }
    }
    return 0;
}

/*
 * litellm's huggingface_tokenizer_kind (with uses_anthropic_tokenizer) and
 * _fix_model_name, for an ASCII name, while utils and the token_counter
 * module hold the very functions the Python side checked against their
 * source (the context's rules: their three code objects, then True for
 * 1.109's kind function, which also sends DeepSeek names to a HuggingFace
 * tokenizer, False for 1.106's) and their global `litellm` is litellm.  `kind_too`: litellm.disable_hf_tokenizer_download
 * is not True.  Returns 1 with *kind and *fixed (a new reference; not set
 * for KIND_OTHER) set, 0 where litellm's functions are to be called, or
 * ENTRY_PYERR.  With fixed NULL, only the kind is decided.
 */
static int model_rules(PyObject *const *nm, PyObject *const *cx, PyObject *model, int kind_too, int *kind,
                       PyObject **fixed)
{
    PyObject *rules = cx[CX_RULES], *litellm = cx[CX_LITELLM];
    if (!PyTuple_CheckExact(rules) || PyTuple_GET_SIZE(rules) != 4 || !PyModule_CheckExact(cx[CX_UTILS]) ||
        !PyModule_CheckExact(cx[CX_MODULE]) || !PyUnicode_IS_ASCII(model) ||
        PyUnicode_GET_LENGTH(model) > MAX_MODEL_CHARS)
        return 0;
    PyObject *utils = PyModule_GetDict(cx[CX_UTILS]), *module = PyModule_GetDict(cx[CX_MODULE]);
    if (!is_function(utils, nm[NM_HF_KIND], PyTuple_GET_ITEM(rules, 0)) ||
        !is_function(utils, nm[NM_USES_ANTHROPIC], PyTuple_GET_ITEM(rules, 1)) ||
        !is_function(module, nm[NM_FIX_NAME], PyTuple_GET_ITEM(rules, 2)) ||
        PyDict_GetItemWithError(utils, nm[NM_LITELLM]) != litellm ||
        PyDict_GetItemWithError(module, nm[NM_LITELLM]) != litellm)
        return PyErr_Occurred() ? ENTRY_PYERR : 0;

    const char *name = (const char *)PyUnicode_DATA(model);
    size_t n = (size_t)PyUnicode_GET_LENGTH(model);
    *kind = KIND_NONE;
    if (kind_too) {
        int in = in_attr(litellm, nm[NM_COHERE_MODELS], model);
        if (in == ENTRY_PYERR)
            return in;
        if (in == 1 && has(name, n, "command-r")) {
            *kind = KIND_OTHER;
            return 1;
        }
        in = in_attr(litellm, nm[NM_ANTHROPIC_MODELS], model);
        if (in == ENTRY_PYERR)
            return in;
        if (in == 1 && !has(name, n, "claude-3")) {
            *kind = KIND_ANTHROPIC;
        } else {
            char lower[MAX_MODEL_CHARS];
            for (size_t i = 0; i < n; i++)
                lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + ('a' - 'A') : name[i]);
            if ((PyTuple_GET_ITEM(rules, 3) == Py_True && deepseek_name(lower, n)) || has(lower, n, "llama-2") ||
                has(lower, n, "replicate") || has(lower, n, "llama-3")) {
                *kind = KIND_OTHER;
                return 1;
            }
        }
    }
    if (fixed == NULL)
        return 1;
    int in = in_attr(litellm, nm[NM_AZURE_LLMS], model);
    if (in == 1) {
        PyObject *from = PyUnicode_FromString("-35"), *to = PyUnicode_FromString("-3.5");
        *fixed = from != NULL && to != NULL ? PyUnicode_Replace(model, from, to, -1) : NULL;
        Py_XDECREF(from);
        Py_XDECREF(to);
        return *fixed != NULL ? 1 : ENTRY_PYERR;
    }
    if (in == 0)
        in = in_attr(litellm, nm[NM_OPENAI_MODELS], model);
    if (in == ENTRY_PYERR)
        return in;
    *fixed = in == 1 ? model : cx[CX_DEFAULT_MODEL];
    Py_INCREF(*fixed);
    return 1;
}

/* hf_python(utils) (fast_litellm/_litellm_backend.py), without the call while the catalog objects
 * it remembered are still in place (its _catalog_objects, read here in the same order). */
static int backend_is_python(PyObject *const *nm, PyObject *const *cx)
{
    PyObject *utils = cx[CX_UTILS];
    PyObject *objects = PyObject_GetAttr(cx[CX_HF_REMEMBERED], nm[NM_OBJECTS]);
    if (objects == NULL)
        return ENTRY_PYERR;
    int same = 0;
    if (PyTuple_CheckExact(objects) && PyTuple_GET_SIZE(objects) == 6) {
        PyObject *const *o = ((PyTupleObject *)objects)->ob_item;
        PyObject *catalog = PyDict_GetItemWithError(PyImport_GetModuleDict(), nm[NM_CATALOG]);
        Py_XINCREF(catalog);
        PyObject *dispatch = get_attr(utils, nm[NM_DISPATCH]);
        same = catalog != NULL && dispatch != NULL && attr_is(utils, nm[NM_HF_BACKEND], o[0]) == 1 &&
               attr_is(utils, nm[NM_DECISION], o[1]) == 1 && attr_is(dispatch, nm[NM_HF_CONTEXT], o[2]) == 1 &&
               attr_is(catalog, nm[NM_RULES], o[3]) == 1 && attr_is(catalog, nm[NM_ROLLOUT], o[4]) == 1 &&
               attr_is(catalog, nm[NM_DECISION_PRIVATE], o[5]) == 1;
        Py_XDECREF(catalog);
        Py_XDECREF(dispatch);
        if (PyErr_Occurred()) { /* a missing object: hf_python asks litellm again */
            if (!PyErr_ExceptionMatches(PyExc_Exception)) {
                Py_DECREF(objects);
                return ENTRY_PYERR;
            }
            PyErr_Clear();
        }
    }
    Py_DECREF(objects);
    if (same)
        return 1;
    PyObject *python = PyObject_CallOneArg(cx[CX_HF_PYTHON], utils);
    if (python == NULL)
        return ENTRY_PYERR;
    int yes = python == Py_True;
    Py_DECREF(python);
    return yes;
}

/* litellm's kind and fixed name for the model, by model_rules or by calling litellm's functions:
 * 1 with *kind and *fixed (a new reference, unless KIND_OTHER) set, or ENTRY_PYERR. */
static int model_kind(PyObject *const *nm, PyObject *const *cx, PyObject *model, int kind_too, int *kind,
                      PyObject **fixed)
{
    int rc = model_rules(nm, cx, model, kind_too, kind, fixed);
    if (rc != 0)
        return rc;
    *kind = KIND_NONE;
    if (kind_too) {
        PyObject *answer = call_attr(cx[CX_UTILS], nm[NM_HF_KIND], model);
        if (answer == NULL)
            return ENTRY_PYERR;
        if (answer != Py_None) {
            int is = PyObject_RichCompareBool(answer, nm[NM_ANTHROPIC], Py_EQ);
            *kind = is == 1 ? KIND_ANTHROPIC : KIND_OTHER;
            if (is < 0)
                rc = ENTRY_PYERR;
        }
        Py_DECREF(answer);
        if (rc != 0 || *kind == KIND_OTHER)
            return rc != 0 ? rc : 1;
    }
    *fixed = call_attr(cx[CX_MODULE], nm[NM_FIX_NAME], model);
    return *fixed != NULL ? 1 : ENTRY_PYERR;
}

/* owner.name is `expected` (the very object) and len(owner.name) is the int `size`: 1, 0, or ENTRY_PYERR. */
static int same_table(PyObject *owner, PyObject *name, PyObject *expected, PyObject *size)
{
    PyObject *table = get_attr(owner, name);
    if (table == NULL)
        return ENTRY_PYERR;
    int same = table == expected;
    if (same) {
        Py_ssize_t n = PyObject_Size(table);
        same = n >= 0 && PyLong_Check(size) && PyLong_AsSsize_t(size) == n;
    }
    Py_DECREF(table);
    return PyErr_Occurred() ? ENTRY_PYERR : same;
}

/*
 * From litellm 1.109 the encoding depends on the model name as written and
 * on litellm's tables (openai_tokenizer_encoding_name reads model_cost,
 * azure_llms and open_ai_chat_completion_models), so the vocabularies are
 * keyed by the name and were found under the tables the context's tables
 * tuple records: (model_cost, its size, litellm.utils'
 * _model_cost_mutation_generation, azure_llms, its size,
 * open_ai_chat_completion_models, its size, and the token_counter module's
 * openai_tokenizer_encoding_name and _fix_model_name).  Are they still
 * those?  1, 0 (the Python path refills the vocabularies), or ENTRY_PYERR.
 */
static int tables_current(PyObject *const *nm, PyObject *const *cx, PyObject *tables)
{
    if (PyTuple_GET_SIZE(tables) != 9 || !PyModule_CheckExact(cx[CX_MODULE]))
        return 0;
    PyObject *const *t = ((PyTupleObject *)tables)->ob_item;
    PyObject *functions = PyModule_GetDict(cx[CX_MODULE]);
    if (PyDict_GetItemWithError(functions, nm[NM_ENCODING_NAME]) != t[7] ||
        PyDict_GetItemWithError(functions, nm[NM_FIX_NAME]) != t[8])
        return PyErr_Occurred() ? ENTRY_PYERR : 0;
    PyObject *generation = get_attr(cx[CX_UTILS], nm[NM_GENERATION]);
    if (generation == NULL)
        return ENTRY_PYERR;
    int same = PyObject_RichCompareBool(generation, t[2], Py_EQ);
    Py_DECREF(generation);
    if (same == 1)
        same = same_table(cx[CX_LITELLM], nm[NM_MODEL_COST], t[0], t[1]);
    if (same == 1)
        same = same_table(cx[CX_LITELLM], nm[NM_AZURE_LLMS], t[3], t[4]);
    if (same == 1)
        same = same_table(cx[CX_LITELLM], nm[NM_OPENAI_MODELS], t[5], t[6]);
    return same < 0 ? ENTRY_PYERR : same;
}

/* The encoding of a handle in the context, or NULL (None: not loaded yet). */
static const fl_encoding *context_encoding(PyObject *handle)
{
    return PyCapsule_CheckExact(handle) && PyCapsule_IsValid(handle, FL_HANDLE_NAME)
               ? PyCapsule_GetPointer(handle, FL_HANDLE_NAME)
               : NULL;
}

/* Which encoding counts the model's messages: FL_OK with *enc, *flags and *handle (a new reference
 * to the handle that owns *enc, for the caller to hold while it counts) set; ENTRY_DECLINE;
 * ENTRY_PYERR. */
static int model_encoding(PyObject *const *nm, PyObject *const *cx, PyObject *model, const fl_encoding **enc,
                          size_t *chunk, int *flags, PyObject **handle)
{
    PyObject *litellm = cx[CX_LITELLM];
    int off = attr_is(litellm, nm[NM_DISABLE_TC], Py_True);
    if (off != 0)
        return off == 1 ? ENTRY_DECLINE : off; /* litellm answers 0 itself */
    off = attr_is(litellm, nm[NM_DISABLE_HF], Py_True);
    if (off == ENTRY_PYERR)
        return off;
    int kind = KIND_NONE;
    PyObject *fixed = NULL;
    int rc = model_kind(nm, cx, model, off == 0, &kind, &fixed);
    if (rc != 1)
        return rc;
    if (kind == KIND_OTHER)
        return ENTRY_DECLINE; /* llama, command-r: litellm's */
    if (kind == KIND_ANTHROPIC) {
        rc = backend_is_python(nm, cx);
        if (rc != 1) {
            Py_DECREF(fixed);
            return rc == 0 ? ENTRY_DECLINE : rc; /* the Rust backend: litellm's */
        }
    }
    rc = PyObject_RichCompareBool(fixed, cx[CX_LEGACY], Py_EQ);
    PyObject *found = NULL, *key = fixed;
    if (rc == 0 && kind != KIND_ANTHROPIC && PyTuple_CheckExact(cx[CX_TABLES])) {
        key = model; /* litellm 1.109 and later */
        rc = tables_current(nm, cx, cx[CX_TABLES]);
        rc = rc == 1 ? 0 : rc == 0 ? 1 : -1;
    }
    if (rc == 0) {
        found = kind == KIND_ANTHROPIC ? cx[CX_ANTHROPIC] : PyDict_GetItemWithError(cx[CX_VOCABS], key);
        rc = found != NULL ? 0 : PyErr_Occurred() ? -1 : 1;
        Py_XINCREF(found); /* held from here: the code called below may replace the context's */
    }
    Py_DECREF(fixed);
    if (rc != 0)
        return rc < 0 ? ENTRY_PYERR : ENTRY_DECLINE; /* the legacy name, other tables, or no vocabulary yet */
    *enc = context_encoding(found);
    if (*enc == NULL) {
        Py_DECREF(found);
        return ENTRY_DECLINE; /* None: not loaded yet */
    }
    *chunk = size_of(cx[kind == KIND_ANTHROPIC ? CX_WHOLE : CX_CHUNK]);
    *flags = kind == KIND_ANTHROPIC ? FL_MSG_NO_LT : 0;
    if (*chunk == (size_t)-1) {
        Py_DECREF(found);
        return ENTRY_PYERR;
    }
    *handle = found;
    return FL_OK;
}

/* The gate's untimed fast path (see above): FL_OK with *calls = stats.calls, ENTRY_DECLINE or
 * ENTRY_PYERR. */
static int gate_untimed(PyObject *const *st, PyObject *const *nm, PyObject *const *cx, long long *calls)
{
    if (cx[CX_LITELLM] == Py_None)
        return ENTRY_DECLINE; /* the Python path has not loaded litellm's modules yet */
    int yes = attr_is(st[ST_GATE], nm[NM_ALL_NATIVE], Py_True);
    if (yes == 1)
        yes = attr_is(st[ST_BREAKER], nm[NM_CLEAN], Py_True);
    if (yes != 1)
        return yes == 0 ? ENTRY_DECLINE : yes;
    PyObject *value = PyObject_GetAttr(st[ST_STATS], nm[NM_CALLS]);
    if (value == NULL)
        return ENTRY_PYERR;
    long long n = PyLong_Check(value) ? PyLong_AsLongLong(value) : -1;
    Py_DECREF(value);
    long long samples = PyLong_AsLongLong(cx[CX_SAMPLES]), mask = PyLong_AsLongLong(cx[CX_UNTIMED_MASK]);
    if (PyErr_Occurred())
        return ENTRY_PYERR;
    if (n < samples || (n & mask) == 0)
        return ENTRY_DECLINE; /* a call the monitor times, or stats the gate does not keep */
    *calls = n;
    return FL_OK;
}

/* stats.calls = calls + 1, as the gate counts an answered call: FL_OK or ENTRY_PYERR. */
static int gate_counted(PyObject *const *st, PyObject *const *nm, long long calls)
{
    PyObject *next = PyLong_FromLongLong(calls + 1);
    if (next == NULL || PyObject_SetAttr(st[ST_STATS], nm[NM_CALLS], next) < 0) {
        Py_XDECREF(next);
        return ENTRY_PYERR;
    }
    Py_DECREF(next);
    return FL_OK;
}

/* The count without the reply priming, ENTRY_DECLINE or ENTRY_PYERR. */
static int64_t entry_count(PyObject *const *st, PyObject *const *nm, PyObject *const *cx, PyObject *model,
                           PyObject *messages)
{
    long long n;
    int rc = gate_untimed(st, nm, cx, &n);
    if (rc != FL_OK)
        return rc;
    const fl_encoding *enc = NULL;
    size_t chunk = 0;
    int flags = 0;
    PyObject *handle = NULL;
    rc = model_encoding(nm, cx, model, &enc, &chunk, &flags, &handle);
    if (rc != FL_OK)
        return rc;
    size_t max_chars = size_of(cx[CX_MAX]);
    int64_t total = max_chars == (size_t)-1 ? ENTRY_PYERR : count_messages_held(enc, messages, chunk, max_chars, flags);
    Py_DECREF(handle);
    if (total == ENTRY_PYERR)
        return ENTRY_PYERR;
    if (total < 0)
        return ENTRY_DECLINE; /* a shape the Python walk takes, or no memory: the Python path says */
    rc = gate_counted(st, nm, n);
    return rc != FL_OK ? rc : total;
}

/* The context's items of state, held in cx (the code an entry calls may replace them), and the
 * names in *nm: 1, or 0 for another layout. */
static int hold_context(PyObject *state, PyObject **cx, PyObject *const **nm)
{
    PyObject *const *st = ((PyTupleObject *)state)->ob_item;
    PyObject *context = st[ST_CONTEXT], *names = st[ST_NAMES];
    if (!PyList_CheckExact(context) || PyList_GET_SIZE(context) != CX_SIZE || !PyTuple_CheckExact(names) ||
        PyTuple_GET_SIZE(names) != NM_SIZE)
        return 0;
    for (int i = 0; i < CX_SIZE; i++) {
        cx[i] = PyList_GET_ITEM(context, i);
        Py_INCREF(cx[i]);
    }
    *nm = ((PyTupleObject *)names)->ob_item;
    return 1;
}

static void release_context(PyObject **cx)
{
    for (int i = 0; i < CX_SIZE; i++)
        Py_DECREF(cx[i]);
}

/* An entry's answer to ENTRY_PYERR: None (the Python path meets the exception again), or NULL for
 * one that is not an Exception (KeyboardInterrupt, SystemExit), as the Python path would. */
static PyObject *declined_on_error(void)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return NULL;
    PyErr_Clear();
    Py_RETURN_NONE;
}

/* entry(model, messages, custom_tokenizer, text, count_response_tokens, tools, tool_choice). */
static PyObject *entry(PyObject *state, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "the token_counter entry takes 7 arguments");
        return NULL;
    }
    PyObject *model = args[0], *messages = args[1];
    if (args[2] != Py_None || args[3] != Py_None || args[5] != Py_None || args[6] != Py_None ||
        !PyUnicode_CheckExact(model) || !PyList_CheckExact(messages))
        Py_RETURN_NONE;
    PyObject *cx[CX_SIZE];
    PyObject *const *nm;
    if (!hold_context(state, cx, &nm))
        Py_RETURN_NONE;
    int64_t total = entry_count(((PyTupleObject *)state)->ob_item, nm, cx, model, messages);
    release_context(cx);
    if (total == ENTRY_PYERR)
        return declined_on_error();
    if (total < 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(args[4] == Py_False ? total + 3 : total);
}

static PyMethodDef entry_def = {
    "token_counter_entry", (PyCFunction)(void (*)(void))entry, METH_FASTCALL,
    "fast-litellm's C entry of token_counter: the count, or None for the Python path.",
};

/*
 * The entry of litellm.utils.encode, made by fl_encode_entry with the same
 * state (the encode feature's gate, breaker and stats): for an exact ASCII
 * str and no custom tokenizer, what fast_litellm/_litellm_tokenizer.py's
 * Python path does -- the gate's untimed fast path, its _uses_tiktoken
 * (litellm.disable_hf_tokenizer_download True, or huggingface_tokenizer_kind
 * None, by model_rules while litellm holds the 1.106 functions) and the
 * native encode with the default encoding the context holds -- in C; None
 * otherwise.  Plain litellm.encode on 20 characters costs about 8 us, the
 * Python path about 2.5 us, this entry 0.7 us.
 */

/* Would litellm encode the model with its default tiktoken encoding?  1, 0 or ENTRY_PYERR. */
static int uses_tiktoken(PyObject *const *nm, PyObject *const *cx, PyObject *model)
{
    int off = attr_is(cx[CX_LITELLM], nm[NM_DISABLE_HF], Py_True);
    if (off != 0)
        return off;
    int kind = KIND_NONE;
    int rc = model_rules(nm, cx, model, 1, &kind, NULL);
    if (rc == 1)
        return kind == KIND_NONE;
    if (rc != 0)
        return rc;
    PyObject *answer = call_attr(cx[CX_UTILS], nm[NM_HF_KIND], model);
    if (answer == NULL)
        return ENTRY_PYERR;
    int none = answer == Py_None;
    Py_DECREF(answer);
    return none;
}

/* The list of ids of the ASCII str text: FL_OK with *list set, ENTRY_DECLINE or ENTRY_PYERR. */
static int encode_ids(PyObject *const *st, PyObject *const *nm, PyObject *const *cx, PyObject *model,
                      PyObject *text, PyObject **list)
{
    long long calls;
    int rc = gate_untimed(st, nm, cx, &calls);
    if (rc != FL_OK)
        return rc;
    rc = uses_tiktoken(nm, cx, model);
    if (rc != 1)
        return rc == 0 ? ENTRY_DECLINE : rc;
    /* ints and the handle are held by hold_context, text is the call's argument */
    PyObject *ints = cx[CX_ENCODE_INTS];
    const fl_encoding *enc = context_encoding(cx[CX_ENCODE_VOCAB]);
    if (enc == NULL || !PyTuple_CheckExact(ints) || (size_t)PyTuple_GET_SIZE(ints) < fl_encoding_max_rank(enc))
        return ENTRY_DECLINE; /* the vocabulary is not loaded yet */
    /* ASCII: its own UTF-8 */
    *list = fl_encode_to_list(enc, (const char *)PyUnicode_DATA(text), (size_t)PyUnicode_GET_LENGTH(text),
                              ints);
    if (*list == NULL)
        return ENTRY_DECLINE; /* no memory, or ids the table does not hold: the Python path says */
    rc = gate_counted(st, nm, calls);
    if (rc != FL_OK)
        Py_CLEAR(*list);
    return rc;
}

/* encode_entry(model, text, custom_tokenizer). */
static PyObject *encode_entry(PyObject *state, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "the encode entry takes 3 arguments");
        return NULL;
    }
    PyObject *model = args[0], *text = args[1];
    if (args[2] != Py_None || !PyUnicode_CheckExact(model) || !PyUnicode_CheckExact(text) ||
        !PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    PyObject *cx[CX_SIZE];
    PyObject *const *nm;
    if (!hold_context(state, cx, &nm))
        Py_RETURN_NONE;
    PyObject *list = NULL;
    int rc = encode_ids(((PyTupleObject *)state)->ob_item, nm, cx, model, text, &list);
    release_context(cx);
    if (rc == ENTRY_PYERR)
        return declined_on_error();
    if (rc != FL_OK)
        Py_RETURN_NONE;
    return list;
}

static PyMethodDef encode_entry_def = {
    "encode_entry", (PyCFunction)(void (*)(void))encode_entry, METH_FASTCALL,
    "fast-litellm's C entry of litellm.encode: the ids, or None for the Python path.",
};

/* An entry of def bound to args[0], the state (see above). */
static PyObject *make_entry(PyMethodDef *def, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%s(state) takes one argument", def->ml_name);
        return NULL;
    }
    return fl_builtin(def, args[0], ST_SIZE);
}

/* token_counter_entry(state) and encode_entry(state). */
PyObject *fl_py_token_counter_entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return make_entry(&entry_def, args, nargs);
}

PyObject *fl_py_encode_entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return make_entry(&encode_entry_def, args, nargs);
}

/* ---- The key of the tools memo ------------------------------------------------ */

/*
 * token_counter remembers the count of a rendered `tools` block by the tools'
 * value, so it needs a key that two values share only if litellm renders
 * them alike: when both are the same exact plain data.  This is a type-tagged
 * serialization of None, bool, int (64-bit), float (its bits), str (its code
 * units), list, tuple and dict (in iteration order): every item starts with a
 * tag and every length is a fixed 8 bytes, so no two values give the same
 * bytes.  Anything else (a subclass, bytes, a set, an object, a huge int,
 * nesting deeper than MAX_DEPTH, a key longer than max_bytes) is FL_E_SHAPE:
 * no key, and the tools are rendered as usual.  The walk runs no Python code
 * (exact types only), so nothing can change the objects during it.
 */

#define MAX_DEPTH 64
#define KEY_STACK 4096

typedef struct {
    uint8_t *p;
    size_t n, cap, max;
    uint8_t stack[KEY_STACK];
} keybuf_t;

/* Room for `len` more bytes: FL_OK, FL_E_SHAPE past max, FL_E_NOMEM. */
static int grow(keybuf_t *b, size_t len)
{
    if (len > b->max - b->n)
        return FL_E_SHAPE;
    size_t cap = b->cap;
    while (cap < b->n + len)
        cap *= 2;
    uint8_t *grown = b->p == b->stack ? malloc(cap) : realloc(b->p, cap);
    if (grown == NULL)
        return FL_E_NOMEM;
    if (b->p == b->stack)
        memcpy(grown, b->stack, b->n);
    b->p = grown;
    b->cap = cap;
    return FL_OK;
}

/* A tag and an 8-byte value (a length, an int, a float's bits). */
static inline int put_head(keybuf_t *b, uint8_t tag, uint64_t value)
{
    if (b->cap - b->n < 9) {
        int rc = grow(b, 9);
        if (rc != FL_OK)
            return rc;
    }
    b->p[b->n] = tag;
    memcpy(b->p + b->n + 1, &value, 8);
    b->n += 9;
    return FL_OK;
}

static int put_value(keybuf_t *b, PyObject *o, int depth)
{
    if (depth > MAX_DEPTH)
        return FL_E_SHAPE;
    if (o == Py_None || o == Py_True || o == Py_False)
        return put_head(b, o == Py_None ? 'N' : o == Py_True ? 'T' : 'F', 0);
    if (PyUnicode_CheckExact(o)) {
        if (!PyUnicode_IS_READY(o))
            return FL_E_SHAPE;
        size_t units = (size_t)PyUnicode_GET_LENGTH(o), kind = PyUnicode_KIND(o);
        size_t bytes = units * kind;
        int rc = put_head(b, (uint8_t)('0' + kind), units);
        if (rc == FL_OK && b->cap - b->n < bytes)
            rc = grow(b, bytes);
        if (rc != FL_OK)
            return rc;
        const uint8_t *data = PyUnicode_DATA(o);
        uint8_t *dst = b->p + b->n;
        if (bytes <= 16) { /* most keys and short values: no library call */
            for (size_t i = 0; i < bytes; i++)
                dst[i] = data[i];
        } else {
            memcpy(dst, data, bytes);
        }
        b->n += bytes;
        return FL_OK;
    }
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return FL_E_SHAPE;
        }
        return put_head(b, 'i', (uint64_t)v);
    }
    if (PyFloat_CheckExact(o)) {
        double d = PyFloat_AS_DOUBLE(o);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        return put_head(b, 'f', bits);
    }
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
        int list = PyList_CheckExact(o);
        Py_ssize_t n = list ? PyList_GET_SIZE(o) : PyTuple_GET_SIZE(o);
        PyObject **items = list ? ((PyListObject *)o)->ob_item : ((PyTupleObject *)o)->ob_item;
        int rc = put_head(b, list ? 'l' : 't', (uint64_t)n);
        for (Py_ssize_t i = 0; i < n && rc == FL_OK; i++)
            rc = put_value(b, items[i], depth + 1);
        return rc;
    }
    if (PyDict_CheckExact(o)) {
        int rc = put_head(b, 'd', (uint64_t)PyDict_GET_SIZE(o));
        Py_ssize_t at = 0;
        PyObject *key, *value;
        while (rc == FL_OK && PyDict_Next(o, &at, &key, &value)) {
            rc = put_value(b, key, depth + 1);
            if (rc == FL_OK)
                rc = put_value(b, value, depth + 1);
        }
        return rc;
    }
    return FL_E_SHAPE;
}

/* plain_key(value, max_bytes): the key of value (bytes), or None where it has none. */
PyObject *fl_py_plain_key(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "plain_key(value, max_bytes: int)");
        return NULL;
    }
    size_t max_bytes = PyLong_AsSize_t(args[1]);
    if (max_bytes == (size_t)-1 && PyErr_Occurred())
        return NULL;
    keybuf_t b;
    b.p = b.stack;
    b.n = 0;
    b.cap = sizeof b.stack;
    b.max = max_bytes;
    /* value is the call's argument; the walk runs no Python code, so nothing changes under it */
    int rc = put_value(&b, args[0], 0);
    if (rc == FL_OK && b.n > max_bytes) /* grow() stops a walk past max_bytes only beyond the stack */
        rc = FL_E_SHAPE;
    PyObject *key = NULL;
    if (rc == FL_OK)
        key = PyBytes_FromStringAndSize((const char *)b.p, (Py_ssize_t)b.n);
    else if (rc == FL_E_SHAPE)
        key = Py_NewRef(Py_None);
    else
        PyErr_NoMemory();
    if (b.p != b.stack)
        free(b.p);
    return key;
}

/* nfkc_unstable_runs(text): the (start, end) code-point offsets of each maximal run of characters
 * that are not NFKC-stable (nfkc_stable.h; lone surrogates included), in order: an empty list when
 * the tokenizers library's NFKC returns the str unchanged. */
PyObject *fl_py_nfkc_unstable_runs(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 1 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "nfkc_unstable_runs(text: str)");
        return NULL;
    }
    PyObject *s = args[0], *runs = PyList_New(0);
    if (runs == NULL)
        return NULL;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), start = -1;
    for (Py_ssize_t i = 0; i <= n; i++) {
        Py_UCS4 c = i < n ? PyUnicode_READ(kind, data, i) : 0;
        int stable = i == n || c < 0x80 || nfkc_stable(c);
        if (!stable && start < 0) {
            start = i;
        } else if (stable && start >= 0) {
            PyObject *run = Py_BuildValue("(nn)", start, i);
            if (run == NULL || PyList_Append(runs, run) < 0) {
                Py_XDECREF(run);
                Py_DECREF(runs);
                return NULL;
            }
            Py_DECREF(run);
            start = -1;
        }
    }
    return runs;
}
