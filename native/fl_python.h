/*
 * fl_python.h - what the files that include Python.h (pylist.c, pymessages.c,
 * pymodule.c, pyrouter.c) share.  Include after Python.h.
 *
 * Python objects never cross into C as addresses: the functions that work on
 * them are methods of the module fast_litellm._native_py (pymodule.c), which
 * CPython calls with the GIL held and with its arguments referenced for the
 * call.  A native encoding reaches them as a handle, a capsule that owns it.
 */
#ifndef FL_PYTHON_H
#define FL_PYTHON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define FL_PY_HIDDEN __attribute__((visibility("hidden")))
#else
#define FL_PY_HIDDEN
#endif

/* The capsule name of an encoding handle. */
#define FL_HANDLE_NAME "fast_litellm.fl_encoding"

/* The encoding a handle owns, or NULL with TypeError set for anything but a handle. */
FL_PY_HIDDEN const fl_encoding *fl_handle_encoding(PyObject *handle);

/* The new list of table[ids[0]], .., table[ids[n-1]] (table a tuple of ints), or NULL with
 * *out_rc set (FL_E_ARG, FL_E_TOKEN for an id past the table, FL_E_NOMEM) and no exception.
 * The caller holds the GIL. */
FL_PY_HIDDEN PyObject *fl_list_of_ids(const uint32_t *ids, size_t n, PyObject *table, int *out_rc);

/* The new list of the ids of text[0..len) (UTF-8), the GIL released around the encode from
 * 64 KB on (the caller holds references to what owns text and enc), or NULL with no exception
 * set (no memory, an id past table).  The caller holds the GIL. */
FL_PY_HIDDEN PyObject *fl_encode_to_list(const fl_encoding *enc, const char *text, size_t len, PyObject *table);

/* A new builtin function of def bound to state, which must be an exact tuple of state_size
 * items; NULL with an exception set otherwise. */
FL_PY_HIDDEN PyObject *fl_builtin(PyMethodDef *def, PyObject *state, Py_ssize_t state_size);

/* The methods of fast_litellm._native_py (see pymodule.c for their contracts). */
FL_PY_HIDDEN PyObject *fl_py_own_encoding(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_encode_list(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_ids_to_list(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_str_function(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_count_messages(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_token_counter_entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_encode_entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_plain_key(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_nfkc_unstable_runs(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_latency_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_usage_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_cost_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_shuffle_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_drop_markers(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_no_access_windows(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_order_filter(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_group_members(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_unblocked_cooled(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_batch_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_usage_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_usage_totals(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_model_ids(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_cooldown_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_held_cooldowns(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_team_filter(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_first_info_value(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_least_busy_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_least_busy_index(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_usage_v2_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_counter_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
FL_PY_HIDDEN PyObject *fl_py_plain_deepcopy(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

#endif /* FL_PYTHON_H */
