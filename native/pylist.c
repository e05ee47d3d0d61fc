/*
 * pylist.c - the Python list of a call's token ids, built from pre-made int objects.
 *
 * Turning ids into a Python list costs more than finding them: array.tolist()
 * or ffi.unpack() allocate one int object per id (10-30 ns each, and as much
 * again to free them), about as long as the whole BPE encode of English.  An
 * encoding's ids are a fixed range, so the bindings keep a tuple holding the
 * int i at index i, and this file fills a new list with references to its
 * items: one pointer copy and one reference count per id.
 *
 * It also makes the builtins that encode or count a str in one C call
 * (fl_str_function), and the other files' builtins (fl_make_builtin).
 *
 * It and pymessages.c are the only files that include Python.h.  It uses the
 * tuple and list macros of the full C API (the stable ABI's checked PyTuple_GetItem and
 * PyList_SetItem double the cost per id), so the module is built for one
 * Python version rather than as abi3.  cffi releases the GIL around every
 * call, so the function takes the GIL itself.  Objects arrive as addresses
 * (CPython's id()), which the caller keeps alive for the call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>

#include "fast_litellm.h"
#include "fl_internal.h"
#include "fl_python.h"

PyObject *fl_list_of_ids(const uint32_t *ids, size_t n, PyObject *table, int *out_rc)
{
    Py_ssize_t size = PyTuple_Size(table);
    if (size < 0) {
        PyErr_Clear();
        *out_rc = FL_E_ARG;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= (size_t)size) {
            *out_rc = FL_E_TOKEN;
            return NULL;
        }
    }
    PyObject *list = PyList_New((Py_ssize_t)n);
    if (list == NULL) {
        PyErr_Clear();
        *out_rc = FL_E_NOMEM;
        return NULL;
    }
    /* The table's slots and ints are scattered over megabytes: fetch the slot
     * 2 * AHEAD ids ahead and, once it has arrived, the int AHEAD ids ahead. */
    enum { AHEAD = 64 };
    PyObject *const *slots = &PyTuple_GET_ITEM(table, 0);
    for (size_t i = 0; i < n; i++) {
        if (i + 2 * AHEAD < n)
            __builtin_prefetch(&slots[ids[i + 2 * AHEAD]]);
        if (i + AHEAD < n)
            __builtin_prefetch(slots[ids[i + AHEAD]], 1);
        PyObject *item = slots[ids[i]];
        Py_INCREF(item);
        PyList_SET_ITEM(list, (Py_ssize_t)i, item); /* steals the reference */
    }
    return list;
}

/* Below this many bytes an encode keeps the GIL: releasing it costs more than it frees. */
#define KEEP_GIL_BELOW 65536

PyObject *fl_encode_to_list(const fl_encoding *enc, const char *text, size_t len, PyObject *table)
{
    enum { STACK_IDS = 512 };
    uint32_t stack_ids[STACK_IDS];
    uint32_t *ids = len <= STACK_IDS ? stack_ids : malloc(len * sizeof *ids);
    if (ids == NULL)
        return NULL;
    int64_t n;
    if (len >= KEEP_GIL_BELOW) {
        Py_BEGIN_ALLOW_THREADS
        n = fl_encode(enc, text, len, ids, len);
        Py_END_ALLOW_THREADS
    } else {
        n = fl_encode(enc, text, len, ids, len);
    }
    int rc = FL_OK;
    PyObject *list = n >= 0 ? fl_list_of_ids(ids, (size_t)n, table, &rc) : NULL;
    if (ids != stack_ids)
        free(ids);
    return list;
}

int fl_ids_to_pylist(const uint32_t *ids, size_t n, uintptr_t table, uintptr_t out)
{
    if ((ids == NULL && n > 0) || table == 0 || out == 0 || n > (size_t)PY_SSIZE_T_MAX)
        return FL_E_ARG;
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = FL_OK;
    PyObject *holder = (PyObject *)out;
    if (!PyList_Check(holder) || PyList_Size(holder) != 1 || !PyTuple_Check((PyObject *)table)) {
        rc = FL_E_ARG;
    } else {
        PyObject *list = fl_list_of_ids(ids, n, (PyObject *)table, &rc);
        if (list != NULL)
            PyList_SetItem(holder, 0, list); /* steals the new list, releases the old item */
    }
    PyGILState_Release(gil);
    return rc;
}

int64_t fl_encode_pylist(const fl_encoding *enc, const char *text, size_t len, uintptr_t table,
                         uintptr_t out)
{
    /* The ids live in memory of this call only: filling the list may run Python code
     * (a garbage collection, finalizers), which may encode on this thread too. */
    enum { STACK_IDS = 512 };
    uint32_t stack_ids[STACK_IDS];
    if (len > SIZE_MAX / sizeof(uint32_t))
        return FL_E_NOMEM;
    uint32_t *ids = len <= STACK_IDS ? stack_ids : malloc(len * sizeof *ids);
    if (ids == NULL)
        return FL_E_NOMEM;
    int64_t n = fl_encode(enc, text, len, ids, len);
    if (n >= 0) {
        int rc = fl_ids_to_pylist(ids, (size_t)n, table, out);
        if (rc != FL_OK)
            n = rc;
    }
    if (ids != stack_ids)
        free(ids);
    return n;
}

/* ---- Builtins ------------------------------------------------------------------ */

int64_t fl_make_builtin(PyMethodDef *def, uintptr_t state, Py_ssize_t state_size, uintptr_t out)
{
    if (state == 0 || out == 0)
        return FL_E_ARG;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *st = (PyObject *)state, *holder = (PyObject *)out;
    int64_t rc = FL_OK;
    if (!PyTuple_CheckExact(st) || PyTuple_GET_SIZE(st) != state_size || !PyList_CheckExact(holder) ||
        PyList_GET_SIZE(holder) != 1) {
        rc = FL_E_ARG;
    } else {
        PyObject *f = PyCFunction_New(def, st);
        if (f == NULL) {
            PyErr_Clear();
            rc = FL_E_NOMEM;
        } else {
            PyList_SetItem(holder, 0, f); /* steals f, releases the old item */
        }
    }
    PyGILState_Release(gil);
    return rc;
}

/*
 * f(text) for an encoding: the ids of an exact str (encode) or their number
 * (count), with no cffi call around it: cffi's own call releases and retakes
 * the GIL, and the list fill takes it again, about 0.4 us of the 0.9 us that
 * encoding 20 characters cost.  State: (ints, address, owner, fallback): the
 * int table (encode only), the fl_encoding's address as an int, the object that owns it
 * (kept alive by the state), and the Python function that answers every
 * other case -- not a str, a str subclass, lone surrogates (their UTF-8
 * fails), no memory -- with the same argument.
 */
enum { ST_INTS, ST_ADDRESS, ST_OWNER, ST_FALLBACK, ST_STR_SIZE };

/* The fallback's answer for args. */
static PyObject *fallback(PyObject *const *st, PyObject *const *args, Py_ssize_t nargs)
{
    return PyObject_Vectorcall(st[ST_FALLBACK], args, (size_t)nargs, NULL);
}

/* The ids (want_list) or the count of an exact str, or NULL with no exception set. */
static PyObject *str_call(PyObject *const *st, PyObject *text, int want_list)
{
    PyObject *ints = st[ST_INTS];
    if ((want_list && !PyTuple_CheckExact(ints)) || !PyLong_Check(st[ST_ADDRESS]))
        return NULL;
    const fl_encoding *enc = PyLong_AsVoidPtr(st[ST_ADDRESS]);
    if (enc == NULL) {
        PyErr_Clear();
        return NULL;
    }
    enum { STACK_UTF8 = 1024 };
    uint8_t stack_utf8[STACK_UTF8], *heap_utf8 = NULL;
    const char *data;
    size_t len;
    if (PyUnicode_IS_ASCII(text)) {
        data = (const char *)PyUnicode_DATA(text); /* its own UTF-8 */
        len = (size_t)PyUnicode_GET_LENGTH(text);
    } else {
        int kind = PyUnicode_KIND(text);
        size_t n = (size_t)PyUnicode_GET_LENGTH(text), room = fl_utf8_room(kind, n);
        uint8_t *buf = room <= STACK_UTF8 ? stack_utf8 : (heap_utf8 = malloc(room));
        ptrdiff_t got = buf ? fl_utf8_from_ucs(kind, PyUnicode_DATA(text), n, buf) : -1;
        if (got < 0) {
            free(heap_utf8); /* lone surrogates or no memory: the fallback answers as tiktoken does */
            return NULL;
        }
        data = (const char *)buf;
        len = (size_t)got;
    }
    /* text is held by the caller, the encoding by the state's owner */
    PyObject *result = NULL;
    if (want_list) {
        result = fl_encode_to_list(enc, data, len, ints);
    } else {
        int64_t n;
        if (len >= KEEP_GIL_BELOW) {
            Py_BEGIN_ALLOW_THREADS
            n = fl_count(enc, data, len);
            Py_END_ALLOW_THREADS
        } else {
            n = fl_count(enc, data, len);
        }
        result = n >= 0 ? PyLong_FromLongLong(n) : NULL;
    }
    if (result == NULL)
        PyErr_Clear();
    free(heap_utf8);
    return result;
}

static PyObject *str_function(PyObject *state, PyObject *const *args, Py_ssize_t nargs, int want_list)
{
    PyObject *const *st = ((PyTupleObject *)state)->ob_item;
    if (nargs == 1 && PyUnicode_CheckExact(args[0])) {
        PyObject *result = str_call(st, args[0], want_list);
        if (result != NULL)
            return result;
    }
    return fallback(st, args, nargs);
}

static PyObject *str_encode(PyObject *state, PyObject *const *args, Py_ssize_t nargs)
{
    return str_function(state, args, nargs, 1);
}

static PyObject *str_count(PyObject *state, PyObject *const *args, Py_ssize_t nargs)
{
    return str_function(state, args, nargs, 0);
}

static PyMethodDef str_encode_def = {
    "encode_ordinary", (PyCFunction)(void (*)(void))str_encode, METH_FASTCALL,
    "The ids of an exact str, in one C call; the fallback answers everything else.",
};

static PyMethodDef str_count_def = {
    "count", (PyCFunction)(void (*)(void))str_count, METH_FASTCALL,
    "The number of ids of an exact str, in one C call; the fallback answers everything else.",
};

int64_t fl_str_function(int kind, uintptr_t state, uintptr_t out)
{
    if (kind != FL_STR_ENCODE && kind != FL_STR_COUNT)
        return FL_E_ARG;
    return fl_make_builtin(kind == FL_STR_ENCODE ? &str_encode_def : &str_count_def, state, ST_STR_SIZE, out);
}
