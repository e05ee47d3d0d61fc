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
 * It also holds the encoding handles (capsules that own an fl_encoding), the
 * builtins that encode or count a str in one C call (str_function), and the
 * binding of the other files' builtins to their state (fl_builtin).
 *
 * It uses the tuple and list macros of the full C API (the stable ABI's
 * checked PyTuple_GetItem and PyList_SetItem double the cost per id), so the
 * module is built for one Python version rather than as abi3.  Its functions
 * are methods of fast_litellm._native_py (pymodule.c): CPython calls them with
 * the GIL held and their arguments referenced for the call.
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

/* ---- Encoding handles ----------------------------------------------------------- */

static void handle_free(PyObject *capsule)
{
    fl_encoding_free(PyCapsule_GetPointer(capsule, FL_HANDLE_NAME));
}

const fl_encoding *fl_handle_encoding(PyObject *handle)
{
    if (!PyCapsule_CheckExact(handle) || !PyCapsule_IsValid(handle, FL_HANDLE_NAME)) {
        PyErr_SetString(PyExc_TypeError, "expected a fast_litellm encoding handle");
        return NULL;
    }
    return PyCapsule_GetPointer(handle, FL_HANDLE_NAME);
}

/* own_encoding(address): the handle that owns the fl_encoding at address, just returned by
 * fl_encoding_new (the caller frees it itself if this raises). */
PyObject *fl_py_own_encoding(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 1 || !PyLong_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "own_encoding(address: int)");
        return NULL;
    }
    void *enc = PyLong_AsVoidPtr(args[0]);
    if (enc == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "own_encoding: NULL address");
        return NULL;
    }
    return PyCapsule_New(enc, FL_HANDLE_NAME, handle_free);
}

/* An exact tuple that holds an int for every rank of enc (1), or 0 with TypeError set. */
static int is_int_table(PyObject *table, const fl_encoding *enc)
{
    if (PyTuple_CheckExact(table) && (size_t)PyTuple_GET_SIZE(table) >= fl_encoding_max_rank(enc))
        return 1;
    PyErr_SetString(PyExc_TypeError, "expected the encoding's int table (a tuple of its ranks)");
    return 0;
}

/* encode_list(handle, data: bytes, table): the list of the ids of the UTF-8 data. */
PyObject *fl_py_encode_list(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "encode_list(handle, data: bytes, table)");
        return NULL;
    }
    const fl_encoding *enc = fl_handle_encoding(args[0]);
    if (enc == NULL || !is_int_table(args[2], enc))
        return NULL;
    /* data, handle and table are the call's arguments: referenced until it returns */
    PyObject *list = fl_encode_to_list(enc, PyBytes_AS_STRING(args[1]), (size_t)PyBytes_GET_SIZE(args[1]),
                                       args[2]);
    return list != NULL ? list : PyErr_NoMemory();
}

/* ids_to_list(buffer, start, n, table): the list of the n uint32 ids of buffer from id start. */
PyObject *fl_py_ids_to_list(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "ids_to_list(buffer, start: int, n: int, table: tuple)");
        return NULL;
    }
    size_t start = PyLong_AsSize_t(args[1]), n = PyLong_AsSize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *list = NULL;
    size_t have = (size_t)view.len / sizeof(uint32_t);
    if (start > have || n > have - start || ((uintptr_t)view.buf % _Alignof(uint32_t)) != 0) {
        PyErr_SetString(PyExc_ValueError, "ids_to_list: the ids are not inside the buffer");
    } else {
        int rc = FL_OK;
        list = fl_list_of_ids((const uint32_t *)view.buf + start, n, args[3], &rc);
        if (list == NULL && rc == FL_E_TOKEN)
            PyErr_SetString(PyExc_ValueError, "ids_to_list: an id is past the int table");
        else if (list == NULL)
            PyErr_NoMemory();
    }
    PyBuffer_Release(&view);
    return list;
}

/* ---- Builtins ------------------------------------------------------------------ */

PyObject *fl_builtin(PyMethodDef *def, PyObject *state, Py_ssize_t state_size)
{
    if (!PyTuple_CheckExact(state) || PyTuple_GET_SIZE(state) != state_size) {
        PyErr_Format(PyExc_TypeError, "%s's state must be a tuple of %zd items", def->ml_name, state_size);
        return NULL;
    }
    return PyCFunction_New(def, state); /* the function references its state */
}

/*
 * f(text) for an encoding: the ids of an exact str (encode) or their number
 * (count), with no cffi call around it: cffi's own call releases and retakes
 * the GIL, and the list fill takes it again, about 0.4 us of the 0.9 us that
 * encoding 20 characters cost.  State: (ints, handle, fallback): the int
 * table (encode only; None for count), the encoding's handle, and the Python
 * function that answers every other case -- not a str, a str subclass, lone
 * surrogates (their UTF-8 fails), no memory -- with the same argument.  The
 * state is checked when the function is made and never changes after.
 */
enum { ST_INTS, ST_HANDLE, ST_FALLBACK, ST_STR_SIZE };

/* The fallback's answer for args. */
static PyObject *fallback(PyObject *const *st, PyObject *const *args, Py_ssize_t nargs)
{
    return PyObject_Vectorcall(st[ST_FALLBACK], args, (size_t)nargs, NULL);
}

/* The ids (want_list) or the count of an exact str, or NULL with no exception set. */
static PyObject *str_call(PyObject *const *st, PyObject *text, int want_list)
{
    PyObject *ints = st[ST_INTS];
    const fl_encoding *enc = PyCapsule_GetPointer(st[ST_HANDLE], FL_HANDLE_NAME); /* checked when made */
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
        ptrdiff_t got = buf ? fl_utf8_from_ucs(kind, PyUnicode_DATA(text), n, buf, fl_encoding_simd(enc)) : -1;
        if (got < 0) {
            free(heap_utf8); /* lone surrogates or no memory: the fallback answers as tiktoken does */
            return NULL;
        }
        data = (const char *)buf;
        len = (size_t)got;
    }
    /* text is the call's argument and the handle is in the state: both referenced for the call */
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

/* str_function(kind: 0 encode | 1 count, state): f(text) bound to state (see above). */
PyObject *fl_py_str_function(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    long kind = nargs == 2 ? PyLong_AsLong(args[0]) : -1;
    if (nargs != 2 || (kind != FL_STR_ENCODE && kind != FL_STR_COUNT)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "str_function(kind: 0 | 1, state: tuple)");
        return NULL;
    }
    PyObject *state = args[1];
    if (!PyTuple_CheckExact(state) || PyTuple_GET_SIZE(state) != ST_STR_SIZE) {
        PyErr_SetString(PyExc_TypeError, "str_function's state is (ints, handle, fallback)");
        return NULL;
    }
    const fl_encoding *enc = fl_handle_encoding(PyTuple_GET_ITEM(state, ST_HANDLE));
    if (enc == NULL || (kind == FL_STR_ENCODE && !is_int_table(PyTuple_GET_ITEM(state, ST_INTS), enc)))
        return NULL;
    if (!PyCallable_Check(PyTuple_GET_ITEM(state, ST_FALLBACK))) {
        PyErr_SetString(PyExc_TypeError, "str_function's fallback must be callable");
        return NULL;
    }
    return fl_builtin(kind == FL_STR_ENCODE ? &str_encode_def : &str_count_def, state, ST_STR_SIZE);
}
