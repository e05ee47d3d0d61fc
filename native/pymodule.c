/*
 * pymodule.c - fast_litellm._native_py, the functions of fast-litellm that
 * take Python objects.
 *
 * cffi passes C values only, so a C function that works on Python objects
 * would have to receive them as addresses (id()), which says nothing about
 * who keeps them alive: a table a thread built lazily and another replaced
 * could be freed while the first thread's call still read it.  These
 * functions are instead methods of a real extension module, made here by
 * fl_python_init and put in sys.modules: CPython calls them with the GIL held
 * and their arguments referenced for the call, like any builtin.  A native
 * encoding travels as its handle, a capsule that owns it (pylist.c).
 *
 *   own_encoding(address)                 the handle of a new fl_encoding
 *   encode_list(handle, data, table)      the ids of UTF-8 bytes, as a list
 *   ids_to_list(buffer, start, n, table)  ids in a buffer, as a list
 *   str_function(kind, state)             encode_ordinary / count builtins
 *   count_messages(handle, messages, chunk_chars, max_chars, flags)
 *   token_counter_entry(state), encode_entry(state)   litellm's C entries
 *   plain_key(value, max_bytes)           the tools memo's key
 *   nfkc_unstable_runs(text)              where NFKC may change a str (nfkc_stable.h)
 *   latency_select, usage_select, usage_v2_select, cost_select, shuffle_select, counter_keys
 *                                         routing strategies' scans (pyrouter.c)
 *   drop_markers, no_access_windows, order_filter, group_members, unblocked_cooled
 *                                         the router's filters (pyrouter.c)
 *   batch_get(cache_dict, keys, ttl_dict, clock, loads, variant)
 *                                         the in-memory cache's batch read (pyrouter.c)
 *   usage_keys, usage_totals              the remaining-usage headers' read (pyrouter.c)
 *   team_filter, first_info_value       the team and tag filters (pyrouter.c)
 *   least_busy_keys, least_busy_index   least-busy's keys and pick (pyrouter.c)
 *   model_ids, cooldown_keys, held_cooldowns
 *                                         the cooldown read of every deployment (pyrouter.c)
 *   plain_deepcopy(x)                     copy.deepcopy of plain data (pyrouter.c)
 *
 * table is an encoding's int table: a tuple whose item i is the int i, for
 * every rank.  The contracts are at each function (pylist.c, pymessages.c).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "fast_litellm.h"
#include "fl_python.h"

#define FL_METHOD(name) {#name, (PyCFunction)(void (*)(void))fl_py_##name, METH_FASTCALL, NULL}

static PyMethodDef methods[] = {
    FL_METHOD(own_encoding),
    FL_METHOD(encode_list),
    FL_METHOD(ids_to_list),
    FL_METHOD(str_function),
    FL_METHOD(count_messages),
    FL_METHOD(token_counter_entry),
    FL_METHOD(encode_entry),
    FL_METHOD(plain_key),
    FL_METHOD(nfkc_unstable_runs),
    FL_METHOD(latency_select),
    FL_METHOD(usage_select),
    FL_METHOD(cost_select),
    FL_METHOD(shuffle_select),
    FL_METHOD(drop_markers),
    FL_METHOD(no_access_windows),
    FL_METHOD(order_filter),
    FL_METHOD(group_members),
    FL_METHOD(unblocked_cooled),
    FL_METHOD(batch_get),
    FL_METHOD(usage_keys),
    FL_METHOD(usage_totals),
    FL_METHOD(model_ids),
    FL_METHOD(cooldown_keys),
    FL_METHOD(held_cooldowns),
    FL_METHOD(team_filter),
    FL_METHOD(first_info_value),
    FL_METHOD(least_busy_keys),
    FL_METHOD(least_busy_index),
    FL_METHOD(usage_v2_select),
    FL_METHOD(counter_keys),
    FL_METHOD(plain_deepcopy),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "fast_litellm._native_py",
    "fast-litellm's functions that take Python objects (native/pymodule.c).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

int fl_python_init(void)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = FL_OK;
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *found = PyDict_GetItemString(modules, module_def.m_name);
    if (found == NULL) {
        PyObject *module = PyModule_Create(&module_def);
        if (module == NULL || PyDict_SetItemString(modules, module_def.m_name, module) < 0)
            rc = FL_E_NOMEM;
        Py_XDECREF(module);
    }
    if (rc != FL_OK)
        PyErr_Clear();
    PyGILState_Release(gil);
    return rc;
}
