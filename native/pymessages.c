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
 * given as a str, a str that is not ASCII (its UTF-8 would have to be made;
 * the Python path does that), longer than max_chars (litellm estimates those)
 * or, with FL_MSG_NO_LT, holding '<' (the Anthropic tokenizer's added tokens).
 *
 * CPython only, like pylist.c.  cffi releases the GIL around the call, so the
 * walk takes it again and calls no Python code while it holds it (exact types
 * only, so no __eq__ or __hash__ of a subclass runs and nothing can change the
 * objects under it).  The strings it collects are referenced for the call;
 * when their bytes add up to COUNT_WITHOUT_GIL or more, the counting runs
 * with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>

#include "fast_litellm.h"

#define STACK_TEXTS 64
#define COUNT_WITHOUT_GIL 65536 /* bytes: below this, releasing the GIL costs more than it frees */

typedef struct {
    PyObject **texts; /* referenced strings */
    size_t n, cap;
    PyObject *stack[STACK_TEXTS];
    size_t bytes;
} texts_t;

static int texts_push(texts_t *t, PyObject *s)
{
    if (t->n == t->cap) {
        size_t cap = t->cap * 2;
        PyObject **grown = t->texts == t->stack ? malloc(cap * sizeof *grown)
                                                : realloc(t->texts, cap * sizeof *grown);
        if (grown == NULL)
            return FL_E_NOMEM;
        if (t->texts == t->stack)
            memcpy(grown, t->stack, t->n * sizeof *grown);
        t->texts = grown;
        t->cap = cap;
    }
    Py_INCREF(s);
    t->texts[t->n++] = s;
    t->bytes += (size_t)PyUnicode_GET_LENGTH(s);
    return FL_OK;
}

/* An ASCII str litellm counts exactly and this file can count: FL_OK, or FL_E_SHAPE. */
static int countable(PyObject *s, size_t max_chars, int flags)
{
    if (!PyUnicode_IS_READY(s) || !PyUnicode_IS_ASCII(s))
        return FL_E_SHAPE;
    size_t len = (size_t)PyUnicode_GET_LENGTH(s);
    if (len > max_chars)
        return FL_E_SHAPE;
    if ((flags & FL_MSG_NO_LT) && memchr(PyUnicode_DATA(s), '<', len) != NULL)
        return FL_E_SHAPE;
    return FL_OK;
}

/* Collect the strings of the messages into t and add their fixed tokens to *fixed. */
static int walk(PyObject *messages, size_t max_chars, int flags, texts_t *t, int64_t *fixed)
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
            int rc = countable(value, max_chars, flags);
            if (rc == FL_OK)
                rc = texts_push(t, value);
            if (rc != FL_OK)
                return rc;
        }
    }
    return FL_OK;
}

/* Sum of the counts of t's strings, each in slices of chunk_chars characters
 * (fl_count_chunked: ASCII holds no 0xFF separator, so each string is one text). */
static int64_t count_texts(const fl_encoding *enc, const texts_t *t, size_t chunk_chars)
{
    int64_t sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        int64_t count = fl_count_chunked(enc, PyUnicode_DATA(t->texts[i]),
                                         (size_t)PyUnicode_GET_LENGTH(t->texts[i]), chunk_chars);
        if (count < 0)
            return count;
        sum += count;
    }
    return sum;
}

int64_t fl_count_messages(const fl_encoding *enc, uintptr_t messages, size_t chunk_chars, size_t max_chars,
                          int flags)
{
    if (enc == NULL || messages == 0 || chunk_chars == 0)
        return FL_E_ARG;
    PyGILState_STATE gil = PyGILState_Ensure();
    texts_t t;
    t.texts = t.stack;
    t.n = t.bytes = 0;
    t.cap = STACK_TEXTS;
    int64_t fixed = 0;
    int64_t rc = walk((PyObject *)messages, max_chars, flags, &t, &fixed);
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
    for (size_t i = 0; i < t.n; i++)
        Py_DECREF(t.texts[i]);
    if (t.texts != t.stack)
        free(t.texts);
    PyGILState_Release(gil);
    return rc;
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

int64_t fl_plain_key(uintptr_t value, size_t max_bytes, uintptr_t out)
{
    if (value == 0 || out == 0)
        return FL_E_ARG;
    PyGILState_STATE gil = PyGILState_Ensure();
    keybuf_t b;
    b.p = b.stack;
    b.n = 0;
    b.cap = sizeof b.stack;
    b.max = max_bytes;
    int64_t rc = put_value(&b, (PyObject *)value, 0);
    if (rc == FL_OK && b.n > max_bytes) /* grow() stops a walk past max_bytes only beyond the stack */
        rc = FL_E_SHAPE;
    PyObject *holder = (PyObject *)out;
    if (rc == FL_OK && (!PyList_CheckExact(holder) || PyList_GET_SIZE(holder) != 1))
        rc = FL_E_ARG;
    if (rc == FL_OK) {
        PyObject *key = PyBytes_FromStringAndSize((const char *)b.p, (Py_ssize_t)b.n);
        if (key == NULL) {
            PyErr_Clear();
            rc = FL_E_NOMEM;
        } else {
            PyList_SetItem(holder, 0, key); /* steals the new key, releases the old item */
            rc = (int64_t)b.n;
        }
    }
    if (b.p != b.stack)
        free(b.p);
    PyGILState_Release(gil);
    return rc;
}
