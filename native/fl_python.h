/*
 * fl_python.h - what the two files that include Python.h (pylist.c,
 * pymessages.c) share.  Include after Python.h.
 */
#ifndef FL_PYTHON_H
#define FL_PYTHON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
/* The new list of table[ids[0]], .., table[ids[n-1]] (table a tuple of ints), or NULL with
 * *out_rc set (FL_E_ARG, FL_E_TOKEN for an id past the table, FL_E_NOMEM) and no exception.
 * The caller holds the GIL. */
PyObject *fl_list_of_ids(const uint32_t *ids, size_t n, PyObject *table, int *out_rc);

#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
/* The new list of the ids of text[0..len) (UTF-8), the GIL released around the encode from
 * 64 KB on (the caller keeps text and enc alive), or NULL with no exception set (no memory,
 * an id past table).  The caller holds the GIL. */
PyObject *fl_encode_to_list(const fl_encoding *enc, const char *text, size_t len, PyObject *table);

#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
/* A builtin function of def bound to `state` (the address of a tuple of state_size
 * items), put in out[0] (the address of a one-item list, whose old item is released).
 * Returns FL_OK, FL_E_ARG for another layout, FL_E_NOMEM.  Takes the GIL itself. */
int64_t fl_make_builtin(PyMethodDef *def, uintptr_t state, Py_ssize_t state_size, uintptr_t out);

#endif /* FL_PYTHON_H */
