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
