/*
 * pyrouter.c - the deployment scans of litellm's routing strategies, in one
 * pass over the group instead of litellm's nested loops.
 *
 * litellm's latency-based, usage-based (v1) and cost-based strategies walk the strategy's
 * usage map and, for every entry, search the whole healthy list for the
 * deployment with that id (the last one matching wins): O(map x group) dict
 * reads, 51 ms at 1000 deployments.  These functions do the same reads once
 * per deployment through an id index, with the same rules:
 *
 *   latency_select(names, healthy, counts, minute, input_tokens, use_stream,
 *                  percentile, buffer_factor, percentile_fn, sample_fn,
 *                  choice_fn, flags)
 *       LowestLatencyLoggingHandler._get_available_deployments after the
 *       token count: (deployment or None, {api_base: latency}), or None where
 *       the Python code answers.
 *   usage_v2_select(names, healthy, tpm_keys, tpm_values, rpm_keys, rpm_values,
 *                   input_tokens, choice_fn)
 *       usage-based-routing-v2's pick from the counters read: (deployment or None,), or None.
 *   counter_keys(names, healthy, minute, memo)
 *       usage-based-routing-v2's counter keys.
 *   usage_select(names, healthy, tpm_dict, rpm_dict, input_tokens)
 *       the scan of LowestTPMLoggingHandler.get_available_deployments:
 *       (deployment or None,), or None where the Python code answers.
 *   cost_select(names, healthy, counts, minute, input_tokens, cost_map, cost_names)
 *       the scan of LowestCostLoggingHandler.async_get_available_deployments,
 *       litellm's cost-map price lookup included: (deployment or None,), or None.
 *   shuffle_select(names, healthy, scoped, metrics, sum_fn, choices_fn, choice_fn)
 *       simple_shuffle's weights and draw: (index, weighted), or None.
 *   drop_markers, no_access_windows, order_filter, group_members, unblocked_cooled
 *       the per-deployment filters in front of the strategy (see each).
 *   batch_get(cache_dict, keys, ttl_dict, clock, loads, variant)
 *       the in-memory cache's batch read, litellm's get_cache per key.
 *   usage_keys(names, model_list, minute, memo), usage_totals(values, n_tpm)
 *       the key list and the sums of Router.get_model_group_usage.
 *   model_ids, cooldown_keys, held_cooldowns
 *       Router.get_model_ids and CooldownCache's read of every deployment's cooldown key.
 *   team_filter, first_info_value
 *       filter_team_based_models' list pass and the tag filter's per-group override.
 *   least_busy_keys, least_busy_index
 *       least-busy's in-flight count keys and its pick from the counts read.
 *   plain_deepcopy(x)
 *       copy.deepcopy of plain data, for the router's model-info copies.
 *
 * names is a tuple of interned keys and objects (RN_* order, written down
 * again in fast_litellm/router/strategies.py).
 *
 * A function declines (returns None) before it changes anything that the
 * Python code would not change the same way: it takes only exact dicts,
 * lists and tuples, exact str ids and keys, and numbers that are exact int,
 * float or bool, so no __eq__, __hash__ or __bool__ of a subclass runs while
 * it reads.  The one change made before a decline is litellm's own first
 * step, adding an entry for each healthy deployment that has none, which the
 * Python code then finds done.  litellm's random draws are made through the
 * random module's own functions, passed in (sample_fn(range(n), n) draws
 * what random.sample(items, n) draws for any n items; choice_fn(range(k))
 * what random.choice(seq) draws for any k items), after every decline is
 * decided.  Python code runs inside only through those functions, the
 * builtin sum and litellm's _percentile_latency: everything read from the
 * caller's objects is referenced first.
 *
 * CPython only; methods of fast_litellm._native_py (pymodule.c), called with
 * the GIL held.  No C global changes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast_litellm.h"
#include "fl_python.h"

enum {
    RN_MODEL_INFO, RN_ID, RN_LITELLM_PARAMS, RN_TPM, RN_RPM, RN_API_BASE, RN_TTFT, RN_LATENCY, RN_MODEL,
    RN_SUM, RN_INF, RN_SIZE
};

/* latency_select's flags: litellm 1.109+ drops unusable samples and falls back to every candidate. */
#define LAT_USABLE_SAMPLES 1
#define LAT_CHOICE_FALLBACK 2

#define DECLINE 1  /* the Python code answers; no exception set */
#define PYERR (-1) /* an exception is set */

/* ---- shared reads ---------------------------------------------------------------- */

/* A number litellm compares: exact int, float or bool (no Python code runs in its arithmetic). */
static int is_number(PyObject *v)
{
    return PyLong_CheckExact(v) || PyFloat_CheckExact(v) || PyBool_Check(v);
}

/* d.get(key) for an exact dict and an exact str key: borrowed, NULL when absent (*err on error). */
static PyObject *get(PyObject *d, PyObject *key, int *err)
{
    PyObject *v = PyDict_GetItemWithError(d, key);
    if (v == NULL && PyErr_Occurred())
        *err = PYERR;
    return v;
}

/*
 * The id index of healthy: {deployment["model_info"]["id"]: deployment}, the last deployment of
 * an id winning, as litellm's inner loop finds it.  DECLINE unless healthy is an exact list of
 * exact dicts whose "model_info" is an exact dict with an exact str "id".
 */
static int index_ids(PyObject *names, PyObject *healthy, PyObject **out)
{
    if (!PyList_CheckExact(healthy))
        return DECLINE;
    PyObject *index = PyDict_New();
    if (index == NULL)
        return PYERR;
    int err = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(healthy); i++) {
        PyObject *d = PyList_GET_ITEM(healthy, i);
        PyObject *info = PyDict_CheckExact(d) ? get(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &err) : NULL;
        PyObject *id = info != NULL && PyDict_CheckExact(info) ? get(info, PyTuple_GET_ITEM(names, RN_ID), &err)
                                                                 : NULL;
        if (err || id == NULL || !PyUnicode_CheckExact(id)) {
            Py_DECREF(index);
            return err ? PYERR : DECLINE;
        }
        if (PyDict_SetItem(index, id, d) < 0) {
            Py_DECREF(index);
            return PYERR;
        }
    }
    *out = index;
    return 0;
}

/* The id of a deployment index_ids accepted: borrowed. */
static PyObject *id_of(PyObject *names, PyObject *d)
{
    PyObject *info = PyDict_GetItem(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO));
    return PyDict_GetItem(info, PyTuple_GET_ITEM(names, RN_ID));
}

/* d.get("litellm_params", {}): borrowed or NULL for {}; DECLINE when it is not an exact dict. */
static int params_of(PyObject *names, PyObject *d, PyObject **out)
{
    int err = 0;
    PyObject *p = get(d, PyTuple_GET_ITEM(names, RN_LITELLM_PARAMS), &err);
    if (err)
        return PYERR;
    if (p != NULL && !PyDict_CheckExact(p))
        return DECLINE;
    *out = p;
    return 0;
}

/*
 * A deployment's tpm or rpm limit, looked up as litellm does: the deployment's own key, then
 * litellm_params', then model_info's, else inf.  truthy: the latency strategy's `a or b or c or
 * inf` (a falsy limit such as 0 passes on); else usage v1's `is None` chain.  Borrowed.
 */
static int limit_of(PyObject *names, PyObject *d, PyObject *params, PyObject *key, int truthy, PyObject **out)
{
    PyObject *info = PyDict_GetItem(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO));
    PyObject *sources[3] = {d, params, info};
    int err = 0;
    for (int i = 0; i < 3; i++) {
        if (sources[i] == NULL)
            continue;
        PyObject *v = get(sources[i], key, &err);
        if (err)
            return PYERR;
        if (v == NULL || v == Py_None)
            continue;
        if (!is_number(v))
            return DECLINE;
        if (!truthy || PyObject_IsTrue(v)) {
            *out = v;
            return 0;
        }
    }
    *out = PyTuple_GET_ITEM(names, RN_INF);
    return 0;
}

/* a + b > limit (op Py_GT) or a + b >= limit (Py_GE) on numbers: 1, 0, or PYERR. */
static int sum_exceeds(PyObject *a, PyObject *b, PyObject *limit, int op)
{
    PyObject *s = PyNumber_Add(a, b);
    if (s == NULL)
        return PYERR;
    int r = PyObject_RichCompareBool(s, limit, op);
    Py_DECREF(s);
    return r < 0 ? PYERR : r;
}

/* ---- latency-based routing ---------------------------------------------------------- */

typedef struct {
    PyObject *deployment; /* referenced; NULL: no healthy deployment has this id (skipped) */
    PyObject *api_base;   /* referenced; NULL when litellm_params' api_base is None */
    PyObject *latency;    /* referenced exact float, or exact int of at most 53 bits */
    double value;         /* its value, exact */
    int potential;        /* within the tpm and rpm limits */
} lat_item_t;

/* Whether every sample is an exact float or a 64-bit int; *usable counts litellm 1.109's usable
 * ones (finite, >= 0). */
static int samples_known(PyObject *seq, Py_ssize_t *usable)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), ok = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        double v;
        if (PyFloat_CheckExact(items[i])) {
            v = PyFloat_AS_DOUBLE(items[i]);
        } else if (PyLong_CheckExact(items[i])) {
            int overflow = 0;
            long long x = PyLong_AsLongLongAndOverflow(items[i], &overflow);
            if (overflow || (x == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                return 0;
            }
            v = (double)x;
        } else {
            return 0;
        }
        if (isfinite(v) && v >= 0)
            ok++;
    }
    *usable = ok;
    return 1;
}

/* A new tuple of seq's usable samples (litellm 1.109's _usable_latency_samples). */
static PyObject *usable_only(PyObject *seq, Py_ssize_t usable)
{
    PyObject *t = PyTuple_New(usable);
    if (t == NULL)
        return NULL;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *s = PySequence_Fast_ITEMS(seq)[i];
        double v = PyFloat_CheckExact(s) ? PyFloat_AS_DOUBLE(s) : (double)PyLong_AsLongLong(s);
        if (isfinite(v) && v >= 0)
            PyTuple_SET_ITEM(t, j++, Py_NewRef(s));
    }
    return t;
}

/* sum(samples) / len(samples), or 0.0 for none (litellm's _average_latency): a new reference. */
static PyObject *average(PyObject *names, PyObject *samples, Py_ssize_t n)
{
    if (n == 0)
        return PyFloat_FromDouble(0.0);
    PyObject *total = PyObject_CallOneArg(PyTuple_GET_ITEM(names, RN_SUM), samples);
    if (total == NULL)
        return NULL;
    PyObject *count = PyLong_FromSsize_t(n);
    PyObject *avg = count != NULL ? PyNumber_TrueDivide(total, count) : NULL;
    Py_XDECREF(count);
    Py_DECREF(total);
    return avg;
}

/* item_map.get(key, []) as an exact list or tuple: borrowed, NULL for []; DECLINE otherwise. */
static int samples_of(PyObject *item_map, PyObject *key, PyObject **out)
{
    int err = 0;
    PyObject *v = get(item_map, key, &err);
    if (err)
        return PYERR;
    if (v != NULL && !PyList_CheckExact(v) && !PyTuple_CheckExact(v))
        return DECLINE;
    *out = v;
    return 0;
}

/* Whether v is a latency compared here as a C double exactly as Python compares it: an exact
 * float that is not NaN (a NaN would make litellm's sort depend on its algorithm), or an exact int
 * of at most 53 bits (the percentile returns a sample, which may be an int). */
static int exact_value(PyObject *v, double *value)
{
    if (PyFloat_CheckExact(v)) {
        *value = PyFloat_AS_DOUBLE(v);
        return !isnan(*value);
    }
    if (PyLong_CheckExact(v)) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (x == -1 && PyErr_Occurred()) || x > (1LL << 53) || x < -(1LL << 53)) {
            PyErr_Clear();
            return 0;
        }
        *value = (double)x;
        return 1;
    }
    return 0;
}

/* The latency litellm selects for one usage-map entry: a new reference in *out, its value in
 * *value. */
static int entry_latency(PyObject *names, PyObject *item_map, int use_stream, PyObject *percentile,
                         PyObject *percentile_fn, int flags, PyObject **out, double *value)
{
    PyObject *lat, *ttft;
    int rc = samples_of(item_map, PyTuple_GET_ITEM(names, RN_LATENCY), &lat);
    if (rc == 0)
        rc = samples_of(item_map, PyTuple_GET_ITEM(names, RN_TTFT), &ttft);
    if (rc != 0)
        return rc;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return PYERR;
    PyObject *lat_seq = lat ? lat : empty, *ttft_seq = ttft ? ttft : empty;
    Py_INCREF(lat_seq);
    Py_INCREF(ttft_seq);
    Py_ssize_t lat_ok, ttft_ok;
    PyObject *chosen = NULL, *result = NULL;
    Py_ssize_t n = 0;
    rc = DECLINE;
    if (!samples_known(lat_seq, &lat_ok) || !samples_known(ttft_seq, &ttft_ok))
        goto done;
    int usable_only_flag = flags & LAT_USABLE_SAMPLES;
    Py_ssize_t ttft_n = usable_only_flag ? ttft_ok : PySequence_Fast_GET_SIZE(ttft_seq);
    int use_ttft = use_stream && ttft_n > 0;
    PyObject *seq = use_ttft ? ttft_seq : lat_seq;
    Py_ssize_t ok = use_ttft ? ttft_ok : lat_ok;
    n = usable_only_flag ? ok : PySequence_Fast_GET_SIZE(seq);
    if (usable_only_flag && ok != PySequence_Fast_GET_SIZE(seq))
        chosen = usable_only(seq, ok); /* the samples litellm keeps, in order */
    else
        chosen = Py_NewRef(seq); /* the same items in the same order: the same sum and percentile */
    if (chosen == NULL) {
        rc = PYERR;
        goto done;
    }
    if (use_ttft && percentile != Py_None) {
        PyObject *args[2] = {chosen, percentile};
        result = PyObject_Vectorcall(percentile_fn, args, 2, NULL);
    } else {
        result = average(names, chosen, n);
    }
    if (result == NULL) {
        rc = PYERR;
    } else if (exact_value(result, value)) {
        *out = result;
        result = NULL;
        rc = 0;
    }
done:
    Py_XDECREF(result);
    Py_XDECREF(chosen);
    Py_DECREF(lat_seq);
    Py_DECREF(ttft_seq);
    Py_DECREF(empty);
    return rc;
}

/* item_map.get(minute, {}).get(key, 0) as a number: borrowed (an int 0 from names for absent). */
static int minute_count(PyObject *item_map, PyObject *minute, PyObject *key, PyObject *zero, PyObject **out)
{
    int err = 0;
    PyObject *sub = get(item_map, minute, &err);
    if (err)
        return PYERR;
    if (sub == NULL) {
        *out = zero;
        return 0;
    }
    if (!PyDict_CheckExact(sub))
        return DECLINE;
    PyObject *v = get(sub, key, &err);
    if (err)
        return PYERR;
    if (v == NULL)
        v = zero;
    if (!is_number(v))
        return DECLINE;
    *out = v;
    return 0;
}

/* One usage-map entry: its deployment, latency, api_base and whether it is within its limits. */
static int read_entry(PyObject *names, PyObject *index, PyObject *key, PyObject *item_map, PyObject *minute,
                      PyObject *input_tokens, int use_stream, PyObject *percentile, PyObject *percentile_fn,
                      int flags, PyObject *zero, lat_item_t *item)
{
    if (!PyUnicode_CheckExact(key))
        return DECLINE;
    int err = 0;
    PyObject *d = get(index, key, &err);
    if (err)
        return PYERR;
    if (d == NULL)
        return 0; /* litellm skips it and reads nothing of it */
    if (!PyDict_CheckExact(item_map))
        return DECLINE;
    PyObject *params, *tpm_limit, *rpm_limit, *tpm, *rpm;
    int rc = params_of(names, d, &params);
    if (rc == 0)
        rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_TPM), 1, &tpm_limit);
    if (rc == 0)
        rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_RPM), 1, &rpm_limit);
    if (rc == 0)
        rc = minute_count(item_map, minute, PyTuple_GET_ITEM(names, RN_RPM), zero, &rpm);
    if (rc == 0)
        rc = minute_count(item_map, minute, PyTuple_GET_ITEM(names, RN_TPM), zero, &tpm);
    if (rc != 0)
        return rc;
    /* params.get("api_base", ""), recorded unless None: a new reference, or NULL for None. */
    PyObject *api_base = NULL;
    if (params != NULL) {
        api_base = get(params, PyTuple_GET_ITEM(names, RN_API_BASE), &err);
        if (err)
            return PYERR;
    }
    if (api_base == NULL) {
        api_base = PyUnicode_FromStringAndSize("", 0);
        if (api_base == NULL)
            return PYERR;
    } else if (api_base == Py_None) {
        api_base = NULL;
    } else if (!PyUnicode_CheckExact(api_base)) {
        return DECLINE; /* litellm hashes it as a dict key */
    } else {
        Py_INCREF(api_base);
    }
    /* The limits, the counts and the api_base are referenced before Python code (the percentile
     * function, sum) can run; the deployment is held by the index, which is ours. */
    Py_INCREF(tpm_limit);
    Py_INCREF(rpm_limit);
    Py_INCREF(tpm);
    Py_INCREF(rpm);
    Py_INCREF(item_map);
    PyObject *latency = NULL;
    double value = 0;
    rc = entry_latency(names, item_map, use_stream, percentile, percentile_fn, flags, &latency, &value);
    int over = 0;
    if (rc == 0) {
        over = sum_exceeds(tpm, input_tokens, tpm_limit, Py_GT);
        if (over == 0) {
            PyObject *one = PyLong_FromLong(1);
            over = one != NULL ? sum_exceeds(rpm, one, rpm_limit, Py_GT) : PYERR;
            Py_XDECREF(one);
        }
        if (over == PYERR)
            rc = PYERR;
    }
    Py_DECREF(item_map);
    Py_DECREF(tpm_limit);
    Py_DECREF(rpm_limit);
    Py_DECREF(tpm);
    Py_DECREF(rpm);
    if (rc != 0) {
        Py_XDECREF(api_base);
        Py_XDECREF(latency);
        return rc;
    }
    item->deployment = Py_NewRef(d);
    item->api_base = api_base;
    item->latency = latency;
    item->value = value;
    item->potential = !over;
    return 0;
}

/* A stable sort of idx[0..n) by items' latency (merge sort; tmp has room for n). */
static void sort_by_latency(Py_ssize_t *idx, Py_ssize_t *tmp, Py_ssize_t n, const lat_item_t *items)
{
    for (Py_ssize_t width = 1; width < n; width *= 2) {
        for (Py_ssize_t lo = 0; lo < n; lo += 2 * width) {
            Py_ssize_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            Py_ssize_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                tmp[k++] = items[idx[b]].value < items[idx[a]].value ? idx[b++] : idx[a++];
            }
            while (a < mid)
                tmp[k++] = idx[a++];
            while (b < hi)
                tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

/* fn(range(n)), or fn(range(n), n) with with_n: a new reference, or NULL with an exception set. */
static PyObject *call_on_range(PyObject *fn, Py_ssize_t n, int with_n)
{
    PyObject *count = PyLong_FromSsize_t(n);
    if (count == NULL)
        return NULL;
    PyObject *range = PyObject_CallOneArg((PyObject *)&PyRange_Type, count);
    PyObject *result = NULL;
    if (range != NULL) {
        PyObject *args[2] = {range, count};
        result = PyObject_Vectorcall(fn, args, with_n ? 2 : 1, NULL);
    }
    Py_XDECREF(range);
    Py_DECREF(count);
    return result;
}

/* An index in [0, n) that a random function returned, or -1 with an exception set. */
static Py_ssize_t drawn_index(PyObject *v, Py_ssize_t n)
{
    Py_ssize_t i = PyLong_CheckExact(v) ? PyLong_AsSsize_t(v) : -1;
    if (i < 0 || i >= n) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the random module returned an index out of range");
        return -1;
    }
    return i;
}

/* The latency pick over the items (in map order), after every decline is decided. */
static PyObject *latency_pick(lat_item_t *items, Py_ssize_t n, PyObject *buffer_factor, PyObject *sample_fn,
                              PyObject *choice_fn, int flags)
{
    PyObject *per_deployment = NULL, *order = NULL, *result = NULL;
    Py_ssize_t *idx = malloc(2 * (size_t)(n ? n : 1) * sizeof *idx);
    if (idx == NULL)
        return PyErr_NoMemory();
    Py_ssize_t *tmp = idx + n;

    /* Which potential entry is the lowest, and litellm's bound lowest + factor * lowest: neither
     * depends on the shuffle (equal floats are equal whichever comes first). */
    Py_ssize_t low = -1, potential = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (items[i].deployment == NULL || !items[i].potential)
            continue;
        potential++;
        if (low < 0 || items[i].value < items[low].value)
            low = i;
    }
    double bound = 0;
    Py_ssize_t within = 0;
    if (potential > 0) {
        PyObject *buffer = PyNumber_Multiply(buffer_factor, items[low].latency);
        PyObject *limit = buffer != NULL ? PyNumber_Add(items[low].latency, buffer) : NULL;
        Py_XDECREF(buffer);
        if (limit == NULL)
            goto fail;
        int known = exact_value(limit, &bound);
        Py_DECREF(limit);
        if (!known) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            within += items[i].deployment != NULL && items[i].potential && items[i].value <= bound;
        if (within == 0 && !(flags & LAT_CHOICE_FALLBACK)) {
            result = Py_NewRef(Py_None); /* litellm's random.choice([]) raises: it answers */
            goto done;
        }
    }

    /* random.sample(list(items), n): the same draws as sample(range(n), n). */
    order = call_on_range(sample_fn, n, 1);
    if (order == NULL)
        goto fail;
    if (!PyList_CheckExact(order) || PyList_GET_SIZE(order) != n) {
        PyErr_SetString(PyExc_RuntimeError, "random.sample returned something other than a permutation");
        goto fail;
    }
    per_deployment = PyDict_New();
    if (per_deployment == NULL)
        goto fail;
    Py_ssize_t k = 0;
    for (Py_ssize_t j = 0; j < n; j++) {
        Py_ssize_t i = drawn_index(PyList_GET_ITEM(order, j), n);
        if (i < 0)
            goto fail;
        lat_item_t *it = &items[i];
        if (it->deployment == NULL)
            continue;
        if (it->api_base != NULL && PyDict_SetItem(per_deployment, it->api_base, it->latency) < 0)
            goto fail;
        if (it->potential && (within == 0 || it->value <= bound))
            idx[k++] = i; /* the candidates random.choice sees, in shuffled order */
    }
    if (potential == 0) {
        result = Py_BuildValue("(OO)", Py_None, per_deployment);
        goto done;
    }
    sort_by_latency(idx, tmp, k, items); /* litellm's stable sort, restricted to those it keeps */
    PyObject *drawn = call_on_range(choice_fn, k, 0);
    if (drawn == NULL)
        goto fail;
    Py_ssize_t pick = drawn_index(drawn, k);
    Py_DECREF(drawn);
    if (pick < 0)
        goto fail;
    result = Py_BuildValue("(OO)", items[idx[pick]].deployment, per_deployment);
    goto done;
fail:
    result = NULL;
done:
    Py_XDECREF(order);
    Py_XDECREF(per_deployment);
    free(idx);
    return result;
}

/* Add {latency_key: [0], minute: {"tpm": 0, "rpm": 0}} for each healthy id counts lacks, as
 * litellm's first loop does. */
static int add_unseen(PyObject *names, PyObject *healthy, PyObject *counts, PyObject *minute, PyObject *zero)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(healthy); i++) {
        PyObject *id = id_of(names, PyList_GET_ITEM(healthy, i));
        int has = PyDict_Contains(counts, id);
        if (has < 0)
            return PYERR;
        if (has)
            continue;
        PyObject *entry = Py_BuildValue("{O[O]O{sOsO}}", PyTuple_GET_ITEM(names, RN_LATENCY), zero, minute, "tpm",
                                        zero, "rpm", zero);
        if (entry == NULL)
            return PYERR;
        int rc = PyDict_SetItem(counts, id, entry);
        Py_DECREF(entry);
        if (rc < 0)
            return PYERR;
    }
    return 0;
}

PyObject *fl_py_latency_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 12 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyLong_CheckExact(args[11])) {
        PyErr_SetString(PyExc_TypeError,
                        "latency_select(names, healthy, counts, minute, input_tokens, use_stream, percentile, "
                        "buffer_factor, percentile_fn, sample_fn, choice_fn, flags)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *counts = args[2], *minute = args[3], *input_tokens = args[4];
    int use_stream = args[5] == Py_True, flags = (int)PyLong_AsLong(args[11]);
    if (!PyDict_CheckExact(counts) || !PyUnicode_CheckExact(minute) || !is_number(input_tokens))
        Py_RETURN_NONE;
    PyObject *index = NULL, *zero = PyLong_FromLong(0), *keys = NULL, *values = NULL, *result = NULL;
    lat_item_t *items = NULL;
    if (zero == NULL)
        return NULL;
    int rc = index_ids(names, healthy, &index);
    if (rc == 0)
        rc = add_unseen(names, healthy, counts, minute, zero);
    if (rc != 0)
        goto out;
    /* A snapshot of the map, referenced: Python code may run below and change it. */
    keys = PyDict_Keys(counts);
    values = keys != NULL ? PyDict_Values(counts) : NULL;
    if (values == NULL || PyList_GET_SIZE(keys) != PyList_GET_SIZE(values)) {
        rc = PYERR;
        goto out;
    }
    Py_ssize_t n = PyList_GET_SIZE(keys);
    items = calloc((size_t)(n ? n : 1), sizeof *items);
    if (items == NULL) {
        PyErr_NoMemory();
        rc = PYERR;
        goto out;
    }
    for (Py_ssize_t i = 0; i < n && rc == 0; i++)
        rc = read_entry(names, index, PyList_GET_ITEM(keys, i), PyList_GET_ITEM(values, i), minute, input_tokens,
                        use_stream, args[6], args[8], flags, zero, &items[i]);
    if (rc == 0)
        result = latency_pick(items, n, args[7], args[9], args[10], flags);
out:
    if (items != NULL) {
        for (Py_ssize_t i = 0; i < (keys ? PyList_GET_SIZE(keys) : 0); i++) {
            Py_XDECREF(items[i].deployment);
            Py_XDECREF(items[i].api_base);
            Py_XDECREF(items[i].latency);
        }
        free(items);
    }
    Py_XDECREF(keys);
    Py_XDECREF(values);
    Py_XDECREF(index);
    Py_DECREF(zero);
    if (rc == DECLINE)
        Py_RETURN_NONE;
    return rc == PYERR ? NULL : result;
}

/* ---- usage-based routing (v1) ------------------------------------------------------- */

PyObject *fl_py_usage_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 5 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE) {
        PyErr_SetString(PyExc_TypeError, "usage_select(names, healthy, tpm_dict, rpm_dict, input_tokens)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *tpm_dict = args[2], *rpm_dict = args[3];
    PyObject *input_tokens = args[4];
    if ((tpm_dict != Py_None && !PyDict_CheckExact(tpm_dict)) || (rpm_dict != Py_None && !PyDict_CheckExact(rpm_dict)) ||
        !is_number(input_tokens))
        Py_RETURN_NONE;
    PyObject *index = NULL, *zero = PyLong_FromLong(0), *one = PyLong_FromLong(1), *counts = NULL;
    if (zero == NULL || one == NULL) {
        Py_XDECREF(zero);
        Py_XDECREF(one);
        return NULL;
    }
    int rc = index_ids(names, healthy, &index);
    if (rc != 0)
        goto out;
    /* litellm's first step: a new {id: 0} map when the cache has none, else 0 for each id it lacks. */
    counts = tpm_dict == Py_None ? PyDict_New() : Py_NewRef(tpm_dict);
    for (Py_ssize_t i = 0; counts != NULL && i < PyList_GET_SIZE(healthy); i++) {
        PyObject *id = id_of(names, PyList_GET_ITEM(healthy, i));
        int has = tpm_dict == Py_None ? 0 : PyDict_Contains(counts, id);
        if (has < 0 || (!has && PyDict_SetItem(counts, id, zero) < 0)) {
            rc = PYERR;
            goto out;
        }
    }
    if (counts == NULL) {
        rc = PYERR;
        goto out;
    }
    /* The scan runs no Python code (exact types only), so counts cannot change under it. */
    PyObject *lowest = PyTuple_GET_ITEM(names, RN_INF), *pick = Py_None, *key, *item_tpm;
    Py_ssize_t pos = 0;
    while (rc == 0 && PyDict_Next(counts, &pos, &key, &item_tpm)) {
        int err = 0;
        PyObject *d = PyUnicode_CheckExact(key) ? get(index, key, &err) : NULL;
        if (err || !PyUnicode_CheckExact(key)) {
            rc = err ? PYERR : DECLINE;
            break;
        }
        if (d == NULL)
            continue;
        PyObject *params, *tpm_limit, *rpm_limit;
        if (!is_number(item_tpm)) {
            rc = DECLINE;
            break;
        }
        rc = params_of(names, d, &params);
        if (rc == 0)
            rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_TPM), 0, &tpm_limit);
        if (rc == 0)
            rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_RPM), 0, &rpm_limit);
        if (rc != 0)
            break;
        int over = sum_exceeds(item_tpm, input_tokens, tpm_limit, Py_GT);
        if (over == 0 && rpm_dict != Py_None) {
            PyObject *rpm = get(rpm_dict, key, &err);
            if (err) {
                rc = PYERR;
                break;
            }
            if (rpm != NULL) {
                if (!is_number(rpm)) {
                    rc = DECLINE;
                    break;
                }
                over = sum_exceeds(rpm, one, rpm_limit, Py_GE);
            }
        }
        if (over == PYERR) {
            rc = PYERR;
            break;
        }
        if (over)
            continue;
        int lower = PyObject_RichCompareBool(item_tpm, lowest, Py_LT);
        if (lower < 0) {
            rc = PYERR;
            break;
        }
        if (lower) {
            lowest = item_tpm;
            pick = d;
        }
    }
    PyObject *result = NULL;
    if (rc == 0)
        result = PyTuple_Pack(1, pick);
    Py_XDECREF(counts);
    Py_XDECREF(index);
    Py_DECREF(zero);
    Py_DECREF(one);
    if (rc == DECLINE)
        Py_RETURN_NONE;
    return result;
out:
    Py_XDECREF(counts);
    Py_XDECREF(index);
    Py_DECREF(zero);
    Py_DECREF(one);
    if (rc == DECLINE)
        Py_RETURN_NONE;
    return NULL;
}

/* ---- usage-based routing v2 ------------------------------------------------------------ */

/* key.split(":")[0] of an exact str: new reference. */
static PyObject *before_colon(PyObject *key)
{
    Py_ssize_t at = PyUnicode_FindChar(key, ':', 0, PyUnicode_GET_LENGTH(key), 1);
    if (at == -2)
        return NULL;
    return at < 0 ? Py_NewRef(key) : PyUnicode_Substring(key, 0, at);
}

/* {key.split(":")[0]: values[i] for i, key in enumerate(keys)}: new reference, NULL with
 * *rc DECLINE (keys not an exact list of exact str, values not an exact list or tuple at least
 * as long: litellm's IndexError) or PYERR. */
static PyObject *split_map(PyObject *keys, PyObject *values, int *rc)
{
    if (!PyList_CheckExact(keys) || !(PyList_CheckExact(values) || PyTuple_CheckExact(values)) ||
        PySequence_Fast_GET_SIZE(values) < PyList_GET_SIZE(keys)) {
        *rc = DECLINE;
        return NULL;
    }
    PyObject *map = PyDict_New();
    PyObject **items = PySequence_Fast_ITEMS(values);
    for (Py_ssize_t i = 0; map != NULL && i < PyList_GET_SIZE(keys); i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        if (!PyUnicode_CheckExact(key)) {
            Py_DECREF(map);
            *rc = DECLINE;
            return NULL;
        }
        PyObject *id = before_colon(key);
        if (id == NULL || PyDict_SetItem(map, id, items[i]) < 0)
            Py_CLEAR(map);
        Py_XDECREF(id);
    }
    if (map == NULL)
        *rc = PYERR;
    return map;
}

/*
 * usage_v2_select(names, healthy, tpm_keys, tpm_values, rpm_keys, rpm_values, input_tokens, choice_fn)
 *     LowestTPMLoggingHandler_v2._common_checks_available_deployment after the token count, with
 *     tpm_values and rpm_values not None: the maps of the counters read ({id: value}, ids cut at
 *     the first ":"), 0 for each healthy id the tpm map lacks or holds None, then litellm's
 *     _return_potential_deployments (limits from the deployment, its litellm_params, its
 *     model_info; within them when tpm + input_tokens <= tpm limit and, for an rpm counter that
 *     is not None, rpm + 1 < rpm limit; the lowest tpm, every tie kept) and
 *     random.choice(potential) through choice_fn(range(k)).  (deployment or None,), or None
 *     where the Python code answers.
 */
PyObject *fl_py_usage_v2_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 8 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE) {
        PyErr_SetString(PyExc_TypeError, "usage_v2_select(names, healthy, tpm_keys, tpm_values, rpm_keys, "
                                         "rpm_values, input_tokens, choice_fn)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *input_tokens = args[6], *choice_fn = args[7];
    PyObject *info_key = PyTuple_GET_ITEM(names, RN_MODEL_INFO), *id_key = PyTuple_GET_ITEM(names, RN_ID);
    if (!PyList_CheckExact(healthy) || !is_number(input_tokens))
        Py_RETURN_NONE;
    int rc = 0;
    PyObject *counts = NULL, *rpms = NULL, *lookup = NULL, *potential = NULL, *result = NULL;
    PyObject *zero = PyLong_FromLong(0), *one = PyLong_FromLong(1);
    if (zero == NULL || one == NULL) {
        rc = PYERR;
        goto out;
    }
    counts = split_map(args[2], args[3], &rc);
    if (counts != NULL)
        rpms = split_map(args[4], args[5], &rc);
    if (rpms == NULL)
        goto out;
    /* every healthy deployment: an exact dict whose model_info is an exact dict with an exact str id */
    lookup = PyDict_New();
    for (Py_ssize_t i = 0; lookup != NULL && rc == 0 && i < PyList_GET_SIZE(healthy); i++) {
        PyObject *d = PyList_GET_ITEM(healthy, i), *info = NULL, *id = NULL;
        int err = 0;
        if (PyDict_CheckExact(d))
            info = get(d, info_key, &err);
        if (!err && info != NULL && PyDict_CheckExact(info))
            id = get(info, id_key, &err);
        if (err) {
            rc = PYERR;
            break;
        }
        if (id == NULL || !PyUnicode_CheckExact(id)) {
            rc = DECLINE;
            break;
        }
        PyObject *held = get(counts, id, &err);
        if (err || ((held == NULL || held == Py_None) && PyDict_SetItem(counts, id, zero) < 0) ||
            PyDict_SetItem(lookup, id, d) < 0)
            rc = PYERR;
    }
    if (lookup == NULL)
        rc = PYERR;
    if (rc != 0)
        goto out;
    potential = PyList_New(0);
    if (potential == NULL) {
        rc = PYERR;
        goto out;
    }
    /* no Python code runs below until the draw: exact types only */
    PyObject *lowest = PyTuple_GET_ITEM(names, RN_INF), *key, *item_tpm;
    Py_ssize_t pos = 0;
    while (rc == 0 && PyDict_Next(counts, &pos, &key, &item_tpm)) {
        PyObject *item = before_colon(key);
        int err = 0;
        PyObject *d = item != NULL ? get(lookup, item, &err) : NULL;
        if (item == NULL || err) {
            Py_XDECREF(item);
            rc = PYERR;
            break;
        }
        if (d == NULL || item_tpm == Py_None) {
            Py_DECREF(item);
            continue;
        }
        PyObject *params, *tpm_limit = NULL, *rpm_limit = NULL;
        rc = is_number(item_tpm) ? params_of(names, d, &params) : DECLINE;
        if (rc == 0)
            rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_TPM), 0, &tpm_limit);
        if (rc == 0)
            rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_RPM), 0, &rpm_limit);
        int over = rc == 0 ? sum_exceeds(item_tpm, input_tokens, tpm_limit, Py_GT) : 0;
        if (rc == 0 && over == 0) {
            PyObject *rpm = get(rpms, item, &err);
            if (err)
                over = PYERR;
            else if (rpm != NULL && rpm != Py_None)
                over = is_number(rpm) ? sum_exceeds(rpm, one, rpm_limit, Py_GE) : (rc = DECLINE, 0);
        }
        Py_DECREF(item);
        if (rc != 0)
            break;
        if (over == PYERR) {
            rc = PYERR;
            break;
        }
        if (over)
            continue;
        int equal = PyObject_RichCompareBool(item_tpm, lowest, Py_EQ);
        int lower = equal == 0 ? PyObject_RichCompareBool(item_tpm, lowest, Py_LT) : 0;
        if (equal < 0 || lower < 0) {
            rc = PYERR;
            break;
        }
        if (equal) {
            if (PyList_Append(potential, d) < 0)
                rc = PYERR;
        } else if (lower) {
            lowest = item_tpm; /* borrowed from counts, which this call holds */
            if (PyList_SetSlice(potential, 0, PyList_GET_SIZE(potential), NULL) < 0 ||
                PyList_Append(potential, d) < 0)
                rc = PYERR;
        }
    }
    if (rc != 0)
        goto out;
    if (PyList_GET_SIZE(potential) == 0) {
        result = PyTuple_Pack(1, Py_None);
    } else {
        PyObject *drawn = call_on_range(choice_fn, PyList_GET_SIZE(potential), 0);
        Py_ssize_t i = drawn != NULL ? drawn_index(drawn, PyList_GET_SIZE(potential)) : -1;
        Py_XDECREF(drawn);
        if (i >= 0)
            result = PyTuple_Pack(1, PyList_GET_ITEM(potential, i));
    }
    if (result == NULL)
        rc = PYERR;
out:
    Py_XDECREF(counts);
    Py_XDECREF(rpms);
    Py_XDECREF(lookup);
    Py_XDECREF(potential);
    Py_XDECREF(zero);
    Py_XDECREF(one);
    if (rc == DECLINE) {
        Py_XDECREF(result);
        Py_RETURN_NONE;
    }
    return rc == PYERR ? (Py_XDECREF(result), NULL) : result;
}

/*
 * The (id, model, minute, tpm key, rpm key) entry of memo (an exact dict whose keys are exact str
 * or None, so a lookup runs no Python code) for id_key, made with tpm_format / rpm_format
 * ("...%U...%U...%U": id text, model text, minute) unless the memo holds one for the identical
 * id and model objects and an equal minute.  id_text and model_text are what the keys spell for
 * them.  New reference, NULL with an exception set.
 */
static PyObject *memo_keys(PyObject *memo, PyObject *id_key, PyObject *model_key, PyObject *minute,
                           PyObject *id_text, PyObject *model_text, const char *tpm_format, const char *rpm_format)
{
    PyObject *entry = PyDict_GetItemWithError(memo, id_key);
    if (entry == NULL && PyErr_Occurred())
        return NULL;
    if (entry != NULL && PyTuple_CheckExact(entry) && PyTuple_GET_SIZE(entry) == 5 &&
        PyTuple_GET_ITEM(entry, 0) == id_key && PyTuple_GET_ITEM(entry, 1) == model_key &&
        PyUnicode_CheckExact(PyTuple_GET_ITEM(entry, 2)) && PyUnicode_Compare(PyTuple_GET_ITEM(entry, 2), minute) == 0)
        return Py_NewRef(entry);
    PyObject *tpm = PyUnicode_FromFormat(tpm_format, id_text, model_text, minute);
    PyObject *rpm = tpm ? PyUnicode_FromFormat(rpm_format, id_text, model_text, minute) : NULL;
    entry = rpm ? PyTuple_Pack(5, id_key, model_key, minute, tpm, rpm) : NULL;
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    if (entry != NULL && PyDict_SetItem(memo, id_key, entry) < 0)
        Py_CLEAR(entry);
    return entry;
}

/* str(v) as an f-string formats it, for an exact str or None: new reference; NULL with
 * *decline set for anything else (its __format__ is the Python code's). */
static PyObject *formatted(PyObject *v, int *decline)
{
    if (v == NULL || v == Py_None)
        return PyUnicode_FromString("None");
    if (PyUnicode_CheckExact(v))
        return Py_NewRef(v);
    *decline = 1;
    return NULL;
}

/*
 * counter_keys(names, healthy, minute, memo)
 *     LowestTPMLoggingHandler_v2.usage_counter_keys after its clock read: ([tpm keys], [rpm keys]),
 *     f"{id}:{model}:tpm:{minute}" for each deployment that is a dict, id and model read with
 *     .get (None formats as "None").  None where the Python code answers: a dict subclass, a
 *     model_info or litellm_params that is not a dict, an id or model that is not str or None.
 *     memo (an exact list, the caller's) keeps (id, model, minute, tpm key, rpm key) per position,
 *     trusted only for the identical id and model objects and an equal minute.
 */
PyObject *fl_py_counter_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyUnicode_CheckExact(args[2]) || !PyDict_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "counter_keys(names, healthy, minute: str, memo: dict)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *minute = args[2], *memo = args[3];
    if (!PyList_CheckExact(healthy))
        Py_RETURN_NONE;
    PyObject *tpm_keys = PyList_New(0), *rpm_keys = PyList_New(0), *out = NULL;
    int decline = 0;
    if (tpm_keys == NULL || rpm_keys == NULL)
        goto done;
    Py_INCREF(healthy);
    for (Py_ssize_t i = 0; !decline && i < PyList_GET_SIZE(healthy); i++) {
        PyObject *m = PyList_GET_ITEM(healthy, i);
        if (!PyDict_Check(m))
            continue; /* litellm skips what is not a dict */
        if (!PyDict_CheckExact(m)) {
            decline = 1;
            break;
        }
        Py_INCREF(m);
        int err = 0;
        PyObject *info = get(m, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &err), *id = NULL, *model = NULL;
        if (!err && info != NULL && !PyDict_CheckExact(info))
            decline = 1;
        else if (!err && info != NULL)
            id = get(info, PyTuple_GET_ITEM(names, RN_ID), &err);
        PyObject *params = (!err && !decline) ? get(m, PyTuple_GET_ITEM(names, RN_LITELLM_PARAMS), &err) : NULL;
        if (!err && !decline && params != NULL && !PyDict_CheckExact(params))
            decline = 1;
        else if (!err && !decline && params != NULL)
            model = get(params, PyTuple_GET_ITEM(names, RN_MODEL), &err);
        if (err || decline) {
            Py_DECREF(m);
            break;
        }
        Py_XINCREF(id);
        Py_XINCREF(model);
        Py_DECREF(m);
        PyObject *id_key = id != NULL ? id : Py_None, *model_key = model != NULL ? model : Py_None;
        PyObject *id_text = formatted(id, &decline);
        PyObject *model_text = id_text ? formatted(model, &decline) : NULL;
        PyObject *entry = model_text ? memo_keys(memo, id_key, model_key, minute, id_text, model_text,
                                                 "%U:%U:tpm:%U", "%U:%U:rpm:%U")
                                     : NULL;
        Py_XDECREF(id_text);
        Py_XDECREF(model_text);
        Py_XDECREF(id);
        Py_XDECREF(model);
        if (entry == NULL || PyList_Append(tpm_keys, PyTuple_GET_ITEM(entry, 3)) < 0 ||
            PyList_Append(rpm_keys, PyTuple_GET_ITEM(entry, 4)) < 0) {
            Py_XDECREF(entry);
            break;
        }
        Py_DECREF(entry);
    }
    Py_DECREF(healthy);
    if (PyErr_Occurred())
        goto done;
    if (decline) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    out = PyTuple_Pack(2, tpm_keys, rpm_keys);
done:
    Py_XDECREF(tpm_keys);
    Py_XDECREF(rpm_keys);
    return out;
}

/* ---- cost-based routing --------------------------------------------------------------- */

/* Whether every key of d (an exact dict) is an exact str: then litellm's str_keyed(d) (a
 * pydantic dict[str, object] validation) is d itself. */
static int str_keyed(PyObject *d)
{
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(d, &pos, &k, &v))
        if (!PyUnicode_CheckExact(k))
            return 0;
    return 1;
}

/* A cost-map key candidate: 1 for a non-empty exact str, 0 for None, absent or "", DECLINE for
 * anything else (litellm's isinstance(candidate, str) would take a str subclass). */
static int named(PyObject *v)
{
    if (v == NULL || v == Py_None)
        return 0;
    if (!PyUnicode_CheckExact(v))
        return DECLINE + 1;
    return PyUnicode_GET_LENGTH(v) > 0;
}

/* _as_rate(value): float(value) for an int or float that is not a bool, else None (NULL here).
 * DECLINE for an int or float subclass (float() would run its code) or an int too large. */
static int as_rate(PyObject *v, double *out, int *present)
{
    *present = 0;
    if (v == NULL || PyBool_Check(v))
        return 0;
    if (PyFloat_CheckExact(v)) {
        *out = PyFloat_AS_DOUBLE(v);
        *present = 1;
        return 0;
    }
    if (PyLong_CheckExact(v)) {
        double x = PyLong_AsDouble(v);
        if (x == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return DECLINE;
        }
        *out = x;
        *present = 1;
        return 0;
    }
    return PyLong_Check(v) || PyFloat_Check(v) ? DECLINE : 0;
}

/*
 * litellm's _deployment_cost_map_rates(deployment): the input and output prices of the first
 * cost-map row, among model_info.base_model (or litellm_params.base_model) and
 * litellm_params.model, that declares one.  has_in/has_out say whether each rate is a float
 * (litellm's None otherwise).
 */
static int map_rates(PyObject *names, PyObject *cost_map, PyObject *d, PyObject *params, PyObject *cost_names,
                     double *in, int *has_in, double *out, int *has_out)
{
    PyObject *model_key = PyTuple_GET_ITEM(cost_names, 0), *base_key = PyTuple_GET_ITEM(cost_names, 1);
    PyObject *in_key = PyTuple_GET_ITEM(cost_names, 2), *out_key = PyTuple_GET_ITEM(cost_names, 3);
    PyObject *row_types = PyTuple_GET_ITEM(cost_names, 4);
    PyObject *info = PyDict_GetItem(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO));
    *has_in = *has_out = 0;
    if (!str_keyed(d) || !str_keyed(info) || (params != NULL && !str_keyed(params)))
        return DECLINE;
    int err = 0;
    PyObject *info_base = get(info, base_key, &err);
    PyObject *params_base = params ? get(params, base_key, &err) : NULL;
    PyObject *model = params ? get(params, model_key, &err) : NULL;
    if (err)
        return PYERR;
    int a = named(info_base), b = named(params_base), c = named(model);
    if (a > 1 || b > 1 || c > 1)
        return DECLINE;
    PyObject *first = a ? info_base : (b ? params_base : NULL); /* `info_base or params_base` */
    PyObject *candidates[2] = {first, c ? model : NULL};
    if (candidates[0] != NULL && candidates[1] != NULL) {
        int eq = PyUnicode_Compare(candidates[0], candidates[1]);
        if (eq == -1 && PyErr_Occurred())
            return PYERR;
        if (eq == 0)
            candidates[1] = NULL; /* dict.fromkeys drops the repeat */
    }
    for (int i = 0; i < 2; i++) {
        if (candidates[i] == NULL)
            continue;
        PyObject *row = get(cost_map, candidates[i], &err);
        if (err)
            return PYERR;
        if (row == NULL || row == Py_None)
            continue; /* str_keyed(None) is empty: no declared price */
        int known = PyDict_CheckExact(row);
        for (Py_ssize_t t = 0; !known && t < PyTuple_GET_SIZE(row_types); t++)
            known = (PyObject *)Py_TYPE(row) == PyTuple_GET_ITEM(row_types, t);
        if (!known || !str_keyed(row))
            return DECLINE; /* pydantic would read a mapping of another type its own way */
        PyObject *vin = get(row, in_key, &err), *vout = get(row, out_key, &err);
        if (err)
            return PYERR;
        if ((vin == NULL || vin == Py_None) && (vout == NULL || vout == Py_None))
            continue;
        int rc = as_rate(vin, in, has_in);
        if (rc == 0)
            rc = as_rate(vout, out, has_out);
        return rc;
    }
    return 0;
}

/* params.get(key) when truthy (litellm's own price): borrowed, NULL otherwise; DECLINE for a
 * value that is not an exact int, float or bool. */
static int own_price(PyObject *params, PyObject *key, PyObject **out)
{
    *out = NULL;
    if (params == NULL)
        return 0;
    int err = 0;
    PyObject *v = get(params, key, &err);
    if (err)
        return PYERR;
    if (v == NULL || v == Py_None)
        return 0;
    if (!is_number(v))
        return DECLINE;
    if (PyObject_IsTrue(v))
        *out = v;
    return 0;
}

/*
 * cost_select(names, healthy, counts, minute, input_tokens, cost_map, cost_names)
 *     the scan of LowestCostLoggingHandler.async_get_available_deployments after its token count:
 *     (deployment or None,), or None where the Python code answers.  cost_names is the tuple
 *     ("model", "base_model", "input_cost_per_token", "output_cost_per_token", row_types), the
 *     keys interned; a cost-map row must be an exact dict or of one of the row_types (dict
 *     subclasses that read as dicts, such as litellm's AliasedCostEntry).  It
 *     adds litellm's {minute: {"tpm": 0, "rpm": 0}} entry for each healthy id counts lacks and
 *     returns the first entry, in map order, of the lowest input + output price among those within
 *     their limits, as litellm's stable sort does.  No Python code runs in it.
 */
PyObject *fl_py_cost_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 7 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyTuple_CheckExact(args[6]) || PyTuple_GET_SIZE(args[6]) != 5 || !PyTuple_CheckExact(PyTuple_GET_ITEM(args[6], 4))) {
        PyErr_SetString(PyExc_TypeError,
                        "cost_select(names, healthy, counts, minute, input_tokens, cost_map, cost_names)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *counts = args[2], *minute = args[3], *input_tokens = args[4];
    PyObject *cost_map = args[5], *cost_names = args[6];
    if (!PyDict_CheckExact(counts) || !PyUnicode_CheckExact(minute) || !is_number(input_tokens) ||
        !PyDict_CheckExact(cost_map))
        Py_RETURN_NONE;
    PyObject *index = NULL, *zero = PyLong_FromLong(0), *one = PyLong_FromLong(1), *result = NULL;
    if (zero == NULL || one == NULL)
        goto out;
    int rc = index_ids(names, healthy, &index);
    for (Py_ssize_t i = 0; rc == 0 && i < PyList_GET_SIZE(healthy); i++) {
        PyObject *id = id_of(names, PyList_GET_ITEM(healthy, i));
        int has = PyDict_Contains(counts, id);
        if (has < 0) {
            rc = PYERR;
        } else if (!has) {
            PyObject *entry = Py_BuildValue("{O{sOsO}}", minute, "tpm", zero, "rpm", zero);
            if (entry == NULL || PyDict_SetItem(counts, id, entry) < 0)
                rc = PYERR;
            Py_XDECREF(entry);
        }
    }
    PyObject *pick = Py_None, *key, *item_map;
    double lowest = 0;
    Py_ssize_t pos = 0;
    while (rc == 0 && PyDict_Next(counts, &pos, &key, &item_map)) {
        if (!PyUnicode_CheckExact(key)) {
            rc = DECLINE;
            break;
        }
        int err = 0;
        PyObject *d = get(index, key, &err);
        if (err) {
            rc = PYERR;
            break;
        }
        if (d == NULL)
            continue;
        if (!PyDict_CheckExact(item_map)) {
            rc = DECLINE;
            break;
        }
        PyObject *params, *tpm_limit, *rpm_limit, *tpm, *rpm, *own_in, *own_out;
        double map_in = 0, map_out = 0;
        int has_in, has_out;
        rc = params_of(names, d, &params);
        if (rc == 0)
            rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_TPM), 1, &tpm_limit);
        if (rc == 0)
            rc = limit_of(names, d, params, PyTuple_GET_ITEM(names, RN_RPM), 1, &rpm_limit);
        if (rc == 0)
            rc = map_rates(names, cost_map, d, params, cost_names, &map_in, &has_in, &map_out, &has_out);
        if (rc == 0)
            rc = own_price(params, PyTuple_GET_ITEM(cost_names, 2), &own_in);
        if (rc == 0)
            rc = own_price(params, PyTuple_GET_ITEM(cost_names, 3), &own_out);
        if (rc == 0)
            rc = minute_count(item_map, minute, PyTuple_GET_ITEM(names, RN_RPM), zero, &rpm);
        if (rc == 0)
            rc = minute_count(item_map, minute, PyTuple_GET_ITEM(names, RN_TPM), zero, &tpm);
        if (rc != 0)
            break;
        /* item_cost = input + output, each the deployment's own price, else the map's, else 5.0 */
        PyObject *in = own_in ? Py_NewRef(own_in) : PyFloat_FromDouble(has_in ? map_in : 5.0);
        PyObject *outp = own_out ? Py_NewRef(own_out) : PyFloat_FromDouble(has_out ? map_out : 5.0);
        PyObject *cost = in && outp ? PyNumber_Add(in, outp) : NULL;
        Py_XDECREF(in);
        Py_XDECREF(outp);
        if (cost == NULL) {
            rc = PYERR;
            break;
        }
        double value = PyFloat_Check(cost) ? PyFloat_AS_DOUBLE(cost) : PyLong_AsDouble(cost);
        int exact = PyFloat_CheckExact(cost) || (PyLong_CheckExact(cost) && fabs(value) < 9007199254740992.0);
        Py_DECREF(cost);
        if (PyErr_Occurred()) {
            PyErr_Clear();
            exact = 0;
        }
        if (!exact || isnan(value)) {
            rc = DECLINE; /* compared as C doubles only where that is Python's order */
            break;
        }
        int over = sum_exceeds(tpm, input_tokens, tpm_limit, Py_GT);
        if (over == 0)
            over = sum_exceeds(rpm, one, rpm_limit, Py_GT);
        if (over == PYERR) {
            rc = PYERR;
            break;
        }
        if (!over && (pick == Py_None || value < lowest)) {
            pick = d;
            lowest = value;
        }
    }
    if (rc == 0)
        result = PyTuple_Pack(1, pick);
    else if (rc == DECLINE)
        result = Py_NewRef(Py_None);
out:
    Py_XDECREF(index);
    Py_XDECREF(zero);
    Py_XDECREF(one);
    return result;
}

/* ---- simple-shuffle -------------------------------------------------------------------- */

/* _metric_weight(deployment, metric) as a double: litellm_params[metric] when litellm_params is a
 * dict, 0.0 for None or absent; DECLINE where litellm raises (a value that is not a number), for
 * litellm_params of another type, and for an int or float subclass. */
static int metric_weight(PyObject *names, PyObject *d, PyObject *metric, double *out)
{
    *out = 0.0;
    if (!PyDict_CheckExact(d))
        return DECLINE;
    int err = 0;
    PyObject *params = get(d, PyTuple_GET_ITEM(names, RN_LITELLM_PARAMS), &err);
    if (err)
        return PYERR;
    if (params == NULL || params == Py_None)
        return 0;
    if (!PyDict_CheckExact(params))
        return DECLINE;
    PyObject *v = get(params, metric, &err);
    if (err)
        return PYERR;
    if (v == NULL || v == Py_None)
        return 0;
    if (PyFloat_CheckExact(v)) {
        *out = PyFloat_AS_DOUBLE(v);
        return 0;
    }
    if (PyLong_CheckExact(v) || PyBool_Check(v)) {
        *out = PyLong_AsDouble(v);
        if (*out == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return DECLINE;
        }
        return 0;
    }
    return DECLINE;
}

/*
 * shuffle_select(names, healthy, scoped, metrics, sum_fn, choices_fn, choice_fn)
 *     simple_shuffle's choice over healthy (an exact list) after litellm has resolved the model and
 *     computed the request-scoped weights (scoped, a tuple, empty when none): the first of scoped,
 *     each deployment's litellm_params weight, rpm, tpm (metrics, interned) whose largest value is
 *     positive and whose weights, divided by it, sum above 0 picks through
 *     choices_fn(range(n), weights=normalized); none: choice_fn(range(n)).  Returns (index,
 *     weighted) or None where the Python code answers (before any draw).
 */
PyObject *fl_py_shuffle_select(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 7 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyTuple_CheckExact(args[2]) || !PyTuple_CheckExact(args[3]) || PyTuple_GET_SIZE(args[3]) != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "shuffle_select(names, healthy, scoped, metrics, sum_fn, choices_fn, choice_fn)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *scoped = args[2], *metrics = args[3];
    if (!PyList_CheckExact(healthy) || PyList_GET_SIZE(healthy) == 0)
        Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(healthy);
    if (PyTuple_GET_SIZE(scoped) != 0 && PyTuple_GET_SIZE(scoped) != n)
        Py_RETURN_NONE;
    double *w = malloc((size_t)n * sizeof *w);
    if (w == NULL)
        return PyErr_NoMemory();
    PyObject *result = NULL, *weights = NULL;
    int rc = 0;
    for (int set = 0; set < 4 && rc == 0; set++) {
        if (set == 0) {
            if (PyTuple_GET_SIZE(scoped) == 0)
                continue;
            /* request-scoped weights: floats, or ints a double holds exactly (litellm divides them as
             * they are) */
            for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
                PyObject *v = PyTuple_GET_ITEM(scoped, i);
                if (PyFloat_CheckExact(v)) {
                    w[i] = PyFloat_AS_DOUBLE(v);
                } else if (PyLong_CheckExact(v)) {
                    w[i] = PyLong_AsDouble(v);
                    if (PyErr_Occurred() || fabs(w[i]) > 9007199254740992.0) {
                        PyErr_Clear();
                        rc = DECLINE;
                    }
                } else {
                    rc = DECLINE;
                }
            }
        } else {
            for (Py_ssize_t i = 0; i < n && rc == 0; i++)
                rc = metric_weight(names, PyList_GET_ITEM(healthy, i), PyTuple_GET_ITEM(metrics, set - 1), &w[i]);
        }
        if (rc != 0)
            break;
        /* largest = max(weights, default=0.0): no NaN (max's answer would depend on the order) */
        double largest = w[0];
        for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
            if (isnan(w[i]))
                rc = DECLINE;
            else if (w[i] > largest)
                largest = w[i];
        }
        if (rc != 0)
            break;
        if (!(largest > 0))
            continue;
        weights = PyTuple_New(n);
        for (Py_ssize_t i = 0; weights != NULL && i < n; i++) {
            PyObject *x = PyFloat_FromDouble(w[i] / largest);
            if (x == NULL) {
                Py_CLEAR(weights);
                break;
            }
            PyTuple_SET_ITEM(weights, i, x);
        }
        if (weights == NULL) {
            rc = PYERR;
            break;
        }
        PyObject *total = PyObject_CallOneArg(args[4], weights); /* litellm's sum(normalized) */
        int known = total != NULL && PyFloat_CheckExact(total);
        double sum = known ? PyFloat_AS_DOUBLE(total) : 0;
        if (total == NULL)
            rc = PYERR;
        else if (!known || isnan(sum))
            rc = DECLINE;
        Py_XDECREF(total);
        if (rc != 0)
            break;
        if (!(sum > 0)) {
            Py_CLEAR(weights);
            continue;
        }
        /* random.choices(healthy, weights=normalized)[0]: the same draw as choices(range(n), ...) */
        PyObject *count = PyLong_FromSsize_t(n);
        PyObject *range = count ? PyObject_CallOneArg((PyObject *)&PyRange_Type, count) : NULL;
        Py_XDECREF(count);
        PyObject *kw = range ? Py_BuildValue("{sO}", "weights", weights) : NULL;
        PyObject *call_args = kw ? PyTuple_Pack(1, range) : NULL;
        PyObject *picked = call_args ? PyObject_Call(args[5], call_args, kw) : NULL;
        Py_XDECREF(call_args);
        Py_XDECREF(kw);
        Py_XDECREF(range);
        if (picked == NULL) {
            rc = PYERR;
            break;
        }
        Py_ssize_t i = PyList_CheckExact(picked) && PyList_GET_SIZE(picked) == 1
                           ? drawn_index(PyList_GET_ITEM(picked, 0), n)
                           : -1;
        Py_DECREF(picked);
        if (i < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "random.choices returned something other than one index");
            rc = PYERR;
            break;
        }
        result = Py_BuildValue("(nO)", i, Py_True);
        break;
    }
    if (rc == 0 && result == NULL) {
        PyObject *drawn = call_on_range(args[6], n, 0); /* random.choice(healthy) */
        Py_ssize_t i = drawn ? drawn_index(drawn, n) : -1;
        Py_XDECREF(drawn);
        if (i >= 0)
            result = Py_BuildValue("(nO)", i, Py_False);
        else
            rc = PYERR;
    }
    Py_XDECREF(weights);
    free(w);
    if (rc == DECLINE)
        Py_RETURN_NONE;
    return rc == PYERR ? NULL : result;
}

/* ---- the healthy-deployment filters (litellm 1.106-1.108's Router) ----------------------- */

/* d.get(key) where d must be an exact dict: borrowed (NULL when absent); DECLINE otherwise. */
static int dict_get(PyObject *d, PyObject *key, PyObject **out)
{
    if (!PyDict_CheckExact(d))
        return DECLINE;
    int err = 0;
    *out = get(d, key, &err);
    return err ? PYERR : 0;
}

/*
 * drop_markers(names, deployments, model_key, prefix)
 *     Router._drop_strategy_markers' list: the deployments (an exact list or tuple of exact dicts)
 *     whose litellm_params is not a dict with a str model starting with prefix (litellm's
 *     "auto_router/" strategy markers).  None where the Python code answers: a mapping of another
 *     type, a str subclass, or nothing left of a non-empty group (litellm raises).
 */
PyObject *fl_py_drop_markers(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyUnicode_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "drop_markers(names, deployments, model_key, prefix: str)");
        return NULL;
    }
    PyObject *names = args[0], *deployments = args[1], *model_key = args[2], *prefix = args[3];
    if (!PyList_CheckExact(deployments) && !PyTuple_CheckExact(deployments))
        Py_RETURN_NONE;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(deployments);
    PyObject **items = PySequence_Fast_ITEMS(deployments);
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *params, *model = NULL;
        int rc = dict_get(items[i], PyTuple_GET_ITEM(names, RN_LITELLM_PARAMS), &params);
        if (rc == 0 && params != NULL && PyDict_Check(params))
            rc = dict_get(params, model_key, &model);
        if (rc == PYERR) {
            Py_DECREF(kept);
            return NULL;
        }
        int marker = 0;
        if (rc == 0 && model != NULL && PyUnicode_Check(model)) {
            if (!PyUnicode_CheckExact(model)) {
                rc = DECLINE;
            } else {
                Py_ssize_t m = PyUnicode_Tailmatch(model, prefix, 0, PY_SSIZE_T_MAX, -1);
                if (m < 0) {
                    Py_DECREF(kept);
                    return NULL;
                }
                marker = (int)m;
            }
        }
        if (rc == DECLINE) {
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        if (!marker && PyList_Append(kept, items[i]) < 0) {
            Py_DECREF(kept);
            return NULL;
        }
    }
    if (n > 0 && PyList_GET_SIZE(kept) == 0) {
        Py_DECREF(kept);
        Py_RETURN_NONE; /* litellm raises BadRequestError: its own code does */
    }
    return kept;
}

/*
 * no_access_windows(names, deployments, windows_key)
 *     True when no deployment (an exact list or tuple of exact dicts) has a model_info dict with
 *     access windows (not None), so litellm's filter_reserved_deployments keeps every deployment
 *     and blocks none; False when one has; None where the Python code answers (a mapping of
 *     another type).
 */
PyObject *fl_py_no_access_windows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE) {
        PyErr_SetString(PyExc_TypeError, "no_access_windows(names, deployments, windows_key)");
        return NULL;
    }
    PyObject *names = args[0], *deployments = args[1];
    if (!PyList_CheckExact(deployments) && !PyTuple_CheckExact(deployments))
        Py_RETURN_NONE;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(deployments);
    PyObject **items = PySequence_Fast_ITEMS(deployments);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *info, *windows = NULL;
        int rc = dict_get(items[i], PyTuple_GET_ITEM(names, RN_MODEL_INFO), &info);
        if (rc == 0 && info != NULL && PyDict_Check(info))
            rc = dict_get(info, args[2], &windows);
        if (rc == PYERR)
            return NULL;
        if (rc == DECLINE)
            Py_RETURN_NONE;
        if (windows != NULL && windows != Py_None)
            Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* get_deployment_order(d): litellm_params' order, else model_info's: borrowed, NULL for None;
 * DECLINE for a block that is not a dict or an order that is not an exact int. */
static int deployment_order(PyObject *names, PyObject *d, PyObject *order_key, PyObject **out)
{
    PyObject *params, *order = NULL;
    *out = NULL;
    int rc = dict_get(d, PyTuple_GET_ITEM(names, RN_LITELLM_PARAMS), &params);
    if (rc == 0 && params != NULL)
        rc = dict_get(params, order_key, &order);
    if (rc == 0 && (order == NULL || order == Py_None)) {
        PyObject *info;
        order = NULL;
        rc = dict_get(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &info);
        if (rc == 0 && info != NULL)
            rc = dict_get(info, order_key, &order);
    }
    if (rc != 0)
        return rc;
    if (order == Py_None)
        order = NULL;
    if (order != NULL && !PyLong_CheckExact(order))
        return DECLINE;
    *out = order;
    return 0;
}

/*
 * order_filter(names, deployments, target_order, order_key)
 *     litellm.utils.get_order_filtered_deployments: the deployments whose order equals
 *     target_order, or without one, those of the lowest order; deployments itself when none has
 *     an order.  None where the Python code answers (orders that are not ints, blocks that are
 *     not dicts).
 */
PyObject *fl_py_order_filter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE) {
        PyErr_SetString(PyExc_TypeError, "order_filter(names, deployments, target_order, order_key)");
        return NULL;
    }
    PyObject *names = args[0], *deployments = args[1], *target = args[2], *key = args[3];
    if ((!PyList_CheckExact(deployments) && !PyTuple_CheckExact(deployments)) ||
        (target != Py_None && !PyLong_CheckExact(target)))
        Py_RETURN_NONE;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(deployments);
    PyObject **items = PySequence_Fast_ITEMS(deployments);
    PyObject *low = target != Py_None ? target : NULL;
    if (low == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *order;
            int rc = deployment_order(names, items[i], key, &order);
            if (rc == PYERR)
                return NULL;
            if (rc == DECLINE)
                Py_RETURN_NONE;
            if (order == NULL)
                continue;
            int lower = low == NULL ? 1 : PyObject_RichCompareBool(order, low, Py_LT);
            if (lower < 0)
                return NULL;
            if (lower)
                low = order;
        }
        if (low == NULL)
            return Py_NewRef(deployments); /* litellm returns the list it was given */
    }
    Py_INCREF(low);
    PyObject *kept = PyList_New(0);
    for (Py_ssize_t i = 0; kept != NULL && i < n; i++) {
        PyObject *order;
        int rc = deployment_order(names, items[i], key, &order);
        int same = rc == 0 && order != NULL ? PyObject_RichCompareBool(order, low, Py_EQ) : 0;
        if (rc == PYERR || same < 0) {
            Py_CLEAR(kept);
        } else if (rc == DECLINE) {
            Py_CLEAR(kept);
            Py_DECREF(low);
            Py_RETURN_NONE;
        } else if (same && PyList_Append(kept, items[i]) < 0) {
            Py_CLEAR(kept);
        }
    }
    Py_DECREF(low);
    return kept;
}

/*
 * group_members(model_list, indices, model_name, name_key)
 *     Router.get_all_deployments(model_name) without a team or alias: the deployments at indices
 *     (the router's model-name index) whose "model_name" equals model_name, in index order.  None
 *     where the Python code answers (anything but exact lists of exact dicts and ints in range,
 *     a missing or non-str model_name).
 */
PyObject *fl_py_group_members(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "group_members(model_list, indices, model_name, name_key)");
        return NULL;
    }
    PyObject *model_list = args[0], *indices = args[1], *model_name = args[2], *name_key = args[3];
    if (!PyList_CheckExact(model_list) || !PyList_CheckExact(indices) || !PyUnicode_CheckExact(model_name))
        Py_RETURN_NONE;
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(indices); i++) {
        PyObject *index = PyList_GET_ITEM(indices, i);
        Py_ssize_t at = PyLong_CheckExact(index) ? PyLong_AsSsize_t(index) : -1;
        if (at == -1 && PyErr_Occurred())
            PyErr_Clear();
        PyObject *model = at >= 0 && at < PyList_GET_SIZE(model_list) ? PyList_GET_ITEM(model_list, at) : NULL;
        PyObject *name = NULL;
        if (model != NULL && dict_get(model, name_key, &name) == PYERR) {
            Py_DECREF(kept);
            return NULL;
        }
        if (name == NULL || !PyUnicode_CheckExact(name)) {
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        int same = PyUnicode_Compare(name, model_name);
        if (same == -1 && PyErr_Occurred()) {
            Py_DECREF(kept);
            return NULL;
        }
        if (same == 0 && PyList_Append(kept, model) < 0) {
            Py_DECREF(kept);
            return NULL;
        }
    }
    return kept;
}

/*
 * unblocked_cooled(names, deployments, cooled, blocked_key)
 *     Router._filter_cooldown_deployments (cooled, a set or frozenset of ids; blocked_key None)
 *     or _filter_blocked_deployments (cooled None): the deployments (an exact list of exact dicts)
 *     whose model_info id is not in cooled, or whose model_info "blocked" is not True.  None where
 *     the Python code answers.
 */
PyObject *fl_py_unblocked_cooled(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE) {
        PyErr_SetString(PyExc_TypeError, "unblocked_cooled(names, deployments, cooled, blocked_key)");
        return NULL;
    }
    PyObject *names = args[0], *deployments = args[1], *cooled = args[2], *blocked_key = args[3];
    if (!PyList_CheckExact(deployments) || (cooled != Py_None && !PyAnySet_CheckExact(cooled)) ||
        (cooled == Py_None) == (blocked_key == Py_None))
        Py_RETURN_NONE;
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(deployments); i++) {
        PyObject *d = PyList_GET_ITEM(deployments, i), *info = NULL, *id = NULL, *blocked = NULL;
        int rc = dict_get(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &info);
        if (rc == 0 && blocked_key != Py_None && info != NULL && info != Py_None)
            rc = dict_get(info, blocked_key, &blocked);
        if (rc == 0 && cooled != Py_None) {
            if (info == NULL || info == Py_None)
                rc = DECLINE; /* litellm's deployment["model_info"]["id"] raises */
            else
                rc = dict_get(info, PyTuple_GET_ITEM(names, RN_ID), &id);
            if (rc == 0 && (id == NULL || !PyUnicode_CheckExact(id)))
                rc = DECLINE;
        }
        int is_cooled = rc == 0 && id != NULL ? PySet_Contains(cooled, id) : 0;
        if (rc == PYERR || is_cooled < 0) {
            Py_DECREF(kept);
            return NULL;
        }
        if (rc == DECLINE) {
            Py_DECREF(kept);
            Py_RETURN_NONE;
        }
        if (!is_cooled && blocked != Py_True && PyList_Append(kept, d) < 0) {
            Py_DECREF(kept);
            return NULL;
        }
    }
    return kept;
}

/* ---- the in-memory cache's batch read --------------------------------------------------- */

/*
 * InMemoryCache.get_cache(key) for a key cache (an exact dict) holds, litellm's rules to the
 * letter: the expiry test (variant 0, litellm 1.106-1.108: the clock is read only for a key
 * ttl_dict holds; variant 1, 1.109+: the clock is read first and a key ttl_dict lacks never
 * expires), an expired key popped from both dicts and answered None, then loads(value) with any
 * Exception answered by the value itself (json.loads raises TypeError at once for anything that
 * is not a str, bytes or bytearray).  The value is read after the clock, as litellm reads it; on
 * 1.109+ a value gone by then is None, on 1.106 it is litellm's KeyError.  New reference or NULL.
 */
/* d.pop(key, None) for an exact dict and an exact str key: 0, or -1 with an exception set. */
static int pop_absent_ok(PyObject *d, PyObject *key)
{
    if (PyDict_DelItem(d, key) == 0)
        return 0;
    if (!PyErr_ExceptionMatches(PyExc_KeyError))
        return -1;
    PyErr_Clear();
    return 0;
}

static PyObject *held_value(PyObject *cache, PyObject *ttl, PyObject *key, PyObject *clock, PyObject *loads,
                            int variant)
{
    int expired = 0;
    int timed = variant == 1 ? 1 : PyDict_Contains(ttl, key);
    if (timed < 0)
        return NULL;
    if (timed) {
        PyObject *now = PyObject_CallNoArgs(clock);
        if (now == NULL)
            return NULL;
        PyObject *until = PyDict_GetItemWithError(ttl, key);
        if (until == NULL) {
            Py_DECREF(now);
            if (PyErr_Occurred())
                return NULL;
            if (variant == 0) { /* litellm 1.106 indexes ttl_dict[key]: the clock removed it */
                PyErr_SetObject(PyExc_KeyError, key);
                return NULL;
            }
        } else {
            Py_INCREF(until);
            expired = PyObject_RichCompareBool(now, until, Py_GT);
            Py_DECREF(until);
            Py_DECREF(now);
            if (expired < 0)
                return NULL;
        }
    }
    if (expired) {
        if (pop_absent_ok(cache, key) < 0 || pop_absent_ok(ttl, key) < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *value = PyDict_GetItemWithError(cache, key);
    if (value == NULL) {
        if (PyErr_Occurred())
            return NULL;
        if (variant == 1)
            Py_RETURN_NONE;
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    Py_INCREF(value);
    if (value == Py_None || PyLong_CheckExact(value) || PyFloat_CheckExact(value) || PyBool_Check(value) ||
        PyDict_CheckExact(value) || PyList_CheckExact(value) || PyTuple_CheckExact(value))
        return value; /* json.loads raises TypeError before reading it; litellm keeps the value */
    PyObject *decoded = PyObject_CallOneArg(loads, value);
    if (decoded != NULL) {
        Py_DECREF(value);
        return decoded;
    }
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        Py_DECREF(value);
        return NULL;
    }
    PyErr_Clear();
    return value;
}

/*
 * batch_get(cache_dict, keys, ttl_dict, clock, loads, variant)
 *     InMemoryCache.batch_get_cache / async_batch_get_cache: for each key (an exact list of exact
 *     str), litellm's get_cache in key order: None for a key cache_dict (an exact dict) does not
 *     hold, without reading anything else, and held_value for one it holds (clock is the cache's
 *     _clock, loads the json.loads litellm's module calls).  None where the Python code answers.
 *     The cooldown read of every deployment of a router is one such batch: a thousand keys,
 *     nearly all absent; the usage-header read, two held counters per deployment.
 */
PyObject *fl_py_batch_get(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    int variant = nargs == 6 ? PyLong_AsLong(args[5]) : -1;
    if (nargs != 6 || (variant != 0 && variant != 1)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "batch_get(cache_dict, keys, ttl_dict, clock, loads, variant: 0 | 1)");
        return NULL;
    }
    PyObject *cache = args[0], *keys = args[1], *ttl = args[2], *clock = args[3], *loads = args[4];
    if (!PyDict_CheckExact(cache) || !PyDict_CheckExact(ttl) || !PyList_CheckExact(keys))
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++)
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(keys, i)))
            Py_RETURN_NONE;
    /* clock and loads run Python code: keep the dicts and the list (and so its keys) alive */
    Py_INCREF(keys);
    Py_INCREF(cache);
    Py_INCREF(ttl);
    Py_ssize_t n = PyList_GET_SIZE(keys);
    PyObject *values = PyList_New(n);
    for (Py_ssize_t i = 0; values != NULL && i < n; i++) {
        PyObject *key = i < PyList_GET_SIZE(keys) ? PyList_GET_ITEM(keys, i) : NULL;
        if (key == NULL) { /* Python code shortened the list: litellm's loop would stop here too */
            PyErr_SetString(PyExc_RuntimeError, "the key list changed during the read");
            Py_CLEAR(values);
            break;
        }
        Py_INCREF(key);
        int held = PyDict_Contains(cache, key);
        PyObject *value = held > 0 ? held_value(cache, ttl, key, clock, loads, variant)
                                   : held == 0 ? Py_NewRef(Py_None) : NULL;
        Py_DECREF(key);
        if (value == NULL) {
            Py_CLEAR(values);
            break;
        }
        PyList_SET_ITEM(values, i, value);
    }
    Py_DECREF(ttl);
    Py_DECREF(cache);
    Py_DECREF(keys);
    return values;
}

/* ---- the remaining-usage headers (Router.get_model_group_usage) -------------------------- */

/*
 * usage_keys(names, model_list, minute, memo)
 *     The tpm keys then the rpm keys Router.get_model_group_usage reads, in model_list order:
 *     "global_router:{id}:{model}:tpm:{minute}" for each deployment (an exact dict) whose
 *     d.get("model_info", {}).get("id") and d["litellm_params"].get("model") are both not None.
 *     None where the Python code answers: a mapping of another type, a missing litellm_params
 *     (litellm's KeyError), an id or model that is not an exact str (str.format's rules).
 *     memo (an exact dict, the caller's) maps an id to (id, model, minute, tpm key, rpm key) (see
 *     memo_keys): an entry is reused only for the same id and model objects and an equal minute,
 *     so a key is always the one str.format would build.
 */
PyObject *fl_py_usage_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyUnicode_CheckExact(args[2]) || !PyDict_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "usage_keys(names, model_list, minute: str, memo: dict)");
        return NULL;
    }
    PyObject *names = args[0], *models = args[1], *minute = args[2], *memo = args[3];
    if (!PyList_CheckExact(models))
        Py_RETURN_NONE;
    PyObject *info_key = PyTuple_GET_ITEM(names, RN_MODEL_INFO), *id_key = PyTuple_GET_ITEM(names, RN_ID);
    PyObject *params_key = PyTuple_GET_ITEM(names, RN_LITELLM_PARAMS);
    PyObject *model_key = PyTuple_GET_ITEM(names, RN_MODEL);
    PyObject *tpm_keys = PyList_New(0), *rpm_keys = PyList_New(0), *out = NULL;
    if (tpm_keys == NULL || rpm_keys == NULL)
        goto done;
    /* The keys are collected in lists of this call's own: the memo is only ever a cache, and an
     * entry is trusted only for the same id and model objects it holds (a dict lookup can run an
     * exotic key's __eq__, which could change the memo or the list). */
    Py_INCREF(models);
    int decline = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(models); i++) {
        PyObject *d = PyList_GET_ITEM(models, i);
        if (!PyDict_CheckExact(d)) {
            decline = 1;
            break;
        }
        Py_INCREF(d);
        int err = 0;
        PyObject *info = get(d, info_key, &err), *id = NULL, *params = NULL, *model = NULL;
        if (!err && info != NULL) {
            if (!PyDict_CheckExact(info))
                decline = 1;
            else
                id = get(info, id_key, &err);
        }
        if (!err && !decline) {
            params = get(d, params_key, &err);
            if (!err && (params == NULL || !PyDict_CheckExact(params)))
                decline = 1; /* litellm's KeyError, or a mapping of another type */
            else if (!err)
                model = get(params, model_key, &err);
        }
        if (err || decline) {
            Py_DECREF(d);
            break;
        }
        if (id == NULL || id == Py_None || model == NULL || model == Py_None) {
            Py_DECREF(d);
            continue;
        }
        if (!PyUnicode_CheckExact(id) || !PyUnicode_CheckExact(model)) {
            Py_DECREF(d);
            decline = 1;
            break;
        }
        Py_INCREF(id);
        Py_INCREF(model);
        Py_DECREF(d);
        PyObject *entry = memo_keys(memo, id, model, minute, id, model, "global_router:%U:%U:tpm:%U",
                                    "global_router:%U:%U:rpm:%U");
        Py_DECREF(id);
        Py_DECREF(model);
        if (entry == NULL || PyList_Append(tpm_keys, PyTuple_GET_ITEM(entry, 3)) < 0 ||
            PyList_Append(rpm_keys, PyTuple_GET_ITEM(entry, 4)) < 0) {
            Py_XDECREF(entry);
            err = 1;
            break;
        }
        Py_DECREF(entry);
    }
    Py_DECREF(models);
    if (PyErr_Occurred())
        goto done;
    if (decline) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    out = PySequence_Concat(tpm_keys, rpm_keys);
done:
    Py_XDECREF(tpm_keys);
    Py_XDECREF(rpm_keys);
    return out;
}

/* The sum of the values isinstance(value, int) admits, `total += value` from 0 (so an int
 * subclass's own addition runs, as in litellm's loop); None when none is admitted. */
static PyObject *int_total(PyObject *values, Py_ssize_t start, Py_ssize_t stop)
{
    PyObject *total = NULL;
    for (Py_ssize_t i = start; i < stop && i < PyList_GET_SIZE(values); i++) {
        PyObject *v = PyList_GET_ITEM(values, i);
        int admitted = v == Py_None ? 0 : PyLong_Check(v) ? 1 : PyObject_IsInstance(v, (PyObject *)&PyLong_Type);
        if (admitted < 0) {
            Py_XDECREF(total);
            return NULL;
        }
        if (!admitted)
            continue;
        if (total == NULL)
            total = PyLong_FromLong(0);
        Py_INCREF(v);
        PyObject *sum = total ? PyNumber_InPlaceAdd(total, v) : NULL;
        Py_DECREF(v);
        Py_XDECREF(total);
        total = sum;
        if (total == NULL)
            return NULL;
    }
    return total != NULL ? total : Py_NewRef(Py_None);
}

/*
 * usage_totals(values, n_tpm)
 *     (tpm, rpm) as Router.get_model_group_usage sums values[:n_tpm] and values[n_tpm:] (an
 *     exact list), or None where the Python code answers.
 */
PyObject *fl_py_usage_totals(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    Py_ssize_t n = nargs == 2 ? PyLong_AsSsize_t(args[1]) : -1;
    if (n < 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "usage_totals(values: list, n_tpm: int >= 0)");
        return NULL;
    }
    PyObject *values = args[0];
    if (!PyList_CheckExact(values))
        Py_RETURN_NONE;
    Py_INCREF(values); /* an int subclass's addition runs Python code */
    PyObject *tpm = int_total(values, 0, n);
    PyObject *rpm = tpm ? int_total(values, n, PY_SSIZE_T_MAX) : NULL;
    PyObject *out = rpm ? PyTuple_Pack(2, tpm, rpm) : NULL;
    Py_XDECREF(tpm);
    Py_XDECREF(rpm);
    Py_DECREF(values);
    return out;
}

/* ---- the cooldown read of every deployment (litellm 1.106-1.109) ------------------------ */

/* model_list[idx] as Python indexes it (negative from the end): borrowed, NULL to decline. */
static PyObject *listed(PyObject *model_list, PyObject *idx)
{
    if (!PyLong_CheckExact(idx))
        return NULL;
    Py_ssize_t i = PyLong_AsSsize_t(idx), n = PyList_GET_SIZE(model_list);
    if (i == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return NULL;
    }
    if (i < 0)
        i += n;
    return i >= 0 && i < n ? PyList_GET_ITEM(model_list, i) : NULL;
}

#define KEEP 2

/* Whether Router.get_model_ids keeps model: "model_info" in model and "id" in its model_info,
 * and not (exclude_team and model_info.get("team_id")).  KEEP, 0 (skip), DECLINE or PYERR. */
static int keeps_id(PyObject *names, PyObject *model, PyObject *team_key, int exclude_team, PyObject **info_out)
{
    if (model == NULL || !PyDict_CheckExact(model))
        return DECLINE;
    int err = 0;
    PyObject *info = get(model, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &err);
    if (err)
        return PYERR;
    if (info == NULL)
        return 0;
    if (!PyDict_CheckExact(info))
        return DECLINE;
    int has_id = PyDict_Contains(info, PyTuple_GET_ITEM(names, RN_ID));
    if (has_id <= 0)
        return has_id < 0 ? PYERR : 0;
    if (exclude_team) {
        PyObject *team = get(info, team_key, &err);
        if (err)
            return PYERR;
        if (team != NULL && team != Py_None) {
            if (!PyUnicode_CheckExact(team))
                return DECLINE;
            if (PyUnicode_GET_LENGTH(team) > 0)
                return 0;
        }
    }
    *info_out = info;
    return KEEP;
}

/*
 * model_ids(names, model_list, id_map, name_index, model_name, exclude_team, team_key)
 *     Router.get_model_ids: with model_name None, the keys of id_map (model_id_to_deployment_
 *     index_map) whose model_list entry has a model_info with an "id"; else the "id" of each
 *     model_list[i] for i in name_index[model_name] (model_name_to_deployment_indices) with one.
 *     exclude_team drops those whose model_info has a truthy team_id.  None where the Python code
 *     answers (mappings of other types, indexes that are not ints or out of range).
 */
PyObject *fl_py_model_ids(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 7 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyUnicode_CheckExact(args[6])) {
        PyErr_SetString(PyExc_TypeError,
                        "model_ids(names, model_list, id_map, name_index, model_name, exclude_team, team_key)");
        return NULL;
    }
    PyObject *names = args[0], *model_list = args[1], *id_map = args[2], *name_index = args[3];
    PyObject *model_name = args[4], *team_key = args[6];
    int exclude_team = PyObject_IsTrue(args[5]);
    if (exclude_team < 0)
        return NULL;
    if (!PyList_CheckExact(model_list))
        Py_RETURN_NONE;
    PyObject *ids = PyList_New(0);
    if (ids == NULL)
        return NULL;
    int rc = 0;
    if (model_name == Py_None) {
        if (!PyDict_CheckExact(id_map))
            rc = DECLINE;
        Py_ssize_t pos = 0;
        PyObject *model_id, *idx;
        while (rc == 0 && PyDict_Next(id_map, &pos, &model_id, &idx)) {
            PyObject *info = NULL;
            int keep = keeps_id(names, listed(model_list, idx), team_key, exclude_team, &info);
            if (keep < 0 || keep == DECLINE)
                rc = keep;
            else if (keep == KEEP && PyList_Append(ids, model_id) < 0)
                rc = PYERR;
        }
    } else if (!PyUnicode_CheckExact(model_name) || !PyDict_CheckExact(name_index)) {
        rc = DECLINE;
    } else {
        int err = 0;
        PyObject *indices = get(name_index, model_name, &err);
        if (err)
            rc = PYERR;
        else if (indices != NULL && !PyList_CheckExact(indices))
            rc = DECLINE;
        for (Py_ssize_t i = 0; rc == 0 && indices != NULL && i < PyList_GET_SIZE(indices); i++) {
            PyObject *info = NULL;
            int keep = keeps_id(names, listed(model_list, PyList_GET_ITEM(indices, i)), team_key, exclude_team,
                                &info);
            if (keep < 0 || keep == DECLINE)
                rc = keep;
            else if (keep == KEEP) {
                PyObject *id = get(info, PyTuple_GET_ITEM(names, RN_ID), &err);
                if (err || id == NULL || PyList_Append(ids, id) < 0)
                    rc = PYERR;
            }
        }
    }
    if (rc != 0) {
        Py_DECREF(ids);
        if (rc == DECLINE)
            Py_RETURN_NONE;
        return NULL;
    }
    return ids;
}

/*
 * cooldown_keys(model_ids, memo)
 *     [CooldownCache.get_cooldown_cache_key(id) for id in model_ids]: "deployment:" + id +
 *     ":cooldown" for each exact str id (an exact list), or None where the Python code answers.
 *     memo (an exact dict, the caller's) maps an id object to (id, key); an entry is used only
 *     for the identical id object.
 */
PyObject *fl_py_cooldown_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyDict_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "cooldown_keys(model_ids, memo: dict)");
        return NULL;
    }
    PyObject *model_ids = args[0], *memo = args[1];
    if (!PyList_CheckExact(model_ids))
        Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(model_ids);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(model_ids, i)))
            Py_RETURN_NONE;
    PyObject *keys = PyList_New(n);
    if (keys == NULL)
        return NULL;
    /* exact str keys in an exact dict whose keys are all exact str: no Python code runs */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = PyList_GET_ITEM(model_ids, i);
        PyObject *entry = PyDict_GetItemWithError(memo, id);
        if (entry == NULL && PyErr_Occurred()) {
            Py_DECREF(keys);
            return NULL;
        }
        if (entry != NULL && PyTuple_CheckExact(entry) && PyTuple_GET_SIZE(entry) == 2 &&
            PyTuple_GET_ITEM(entry, 0) == id) {
            PyList_SET_ITEM(keys, i, Py_NewRef(PyTuple_GET_ITEM(entry, 1)));
            continue;
        }
        PyObject *key = PyUnicode_FromFormat("deployment:%U:cooldown", id);
        PyObject *fresh = key ? PyTuple_Pack(2, id, key) : NULL;
        if (fresh == NULL || PyDict_SetItem(memo, id, fresh) < 0) {
            Py_XDECREF(fresh);
            Py_XDECREF(key);
            Py_DECREF(keys);
            return NULL;
        }
        Py_DECREF(fresh);
        PyList_SET_ITEM(keys, i, key);
    }
    return keys;
}

/*
 * held_cooldowns(model_ids, results)
 *     (pairs, all_none): the (id, result) pairs of zip(model_ids, results) whose result is a
 *     non-empty dict, in order, as CooldownCache's loop passes them on (`if result and
 *     isinstance(result, dict)`), and whether every result is None.
 *     None where the Python code answers: a results sequence that is not an exact list or tuple,
 *     or a result other than None and an exact dict (its truth test could run Python code).
 */
PyObject *fl_py_held_cooldowns(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "held_cooldowns(model_ids, results)");
        return NULL;
    }
    PyObject *model_ids = args[0], *results = args[1];
    if (!PyList_CheckExact(model_ids) || !(PyList_CheckExact(results) || PyTuple_CheckExact(results)))
        Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(model_ids), m = PySequence_Fast_GET_SIZE(results);
    if (m < n)
        n = m;
    PyObject **items = PySequence_Fast_ITEMS(results);
    for (Py_ssize_t i = 0; i < m; i++)
        if (items[i] != Py_None && !PyDict_CheckExact(items[i]))
            Py_RETURN_NONE;
    int all_none = 1;
    for (Py_ssize_t i = 0; i < m && all_none; i++)
        all_none = items[i] == Py_None;
    PyObject *held = PyList_New(0);
    for (Py_ssize_t i = 0; held != NULL && i < n; i++) {
        PyObject *result = items[i];
        if (result == Py_None || PyDict_GET_SIZE(result) == 0)
            continue;
        PyObject *pair = PyTuple_Pack(2, PyList_GET_ITEM(model_ids, i), result);
        if (pair == NULL || PyList_Append(held, pair) < 0)
            Py_CLEAR(held);
        Py_XDECREF(pair);
    }
    if (held == NULL)
        return NULL;
    PyObject *out = PyTuple_Pack(2, held, all_none ? Py_True : Py_False);
    Py_DECREF(held);
    return out;
}

/* ---- team and tag filters (every line) ------------------------------------------------- */

/* d.get("model_info") for an exact dict d: *info is NULL for an absent key or None, else an exact
 * dict (borrowed).  DECLINE for anything else. */
static int info_of(PyObject *names, PyObject *d, PyObject **info)
{
    if (!PyDict_CheckExact(d))
        return DECLINE;
    int err = 0;
    PyObject *v = get(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &err);
    if (err)
        return PYERR;
    if (v == Py_None)
        v = NULL;
    if (v != NULL && !PyDict_CheckExact(v))
        return DECLINE;
    *info = v;
    return 0;
}

/*
 * team_filter(names, healthy, request_team_id, team_key)
 *     The list filter_team_based_models returns for a list of deployments: those whose
 *     model_info's id is not the id of a deployment with a team_id other than request_team_id.
 *     None where the Python code answers: a deployment or model_info of another type, a team_id
 *     or request_team_id that is not an exact str (or None), an id that is not an exact str (or
 *     None), a model_info that is None (litellm's second pass raises on it).
 */
PyObject *fl_py_team_filter(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 4 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyUnicode_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "team_filter(names, healthy, request_team_id, team_key)");
        return NULL;
    }
    PyObject *names = args[0], *healthy = args[1], *team_id = args[2], *team_key = args[3];
    PyObject *id_key = PyTuple_GET_ITEM(names, RN_ID), *info_key = PyTuple_GET_ITEM(names, RN_MODEL_INFO);
    if (!PyList_CheckExact(healthy) || (team_id != Py_None && !PyUnicode_CheckExact(team_id)))
        Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(healthy);
    PyObject *removed = NULL, *out = NULL;
    int rc = 0;
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *d = PyList_GET_ITEM(healthy, i), *info = NULL;
        rc = info_of(names, d, &info);
        if (rc != 0)
            break;
        int err = 0;
        PyObject *id = info != NULL ? get(info, id_key, &err) : NULL;
        if (!err && id != NULL && id != Py_None && !PyUnicode_CheckExact(id))
            rc = DECLINE;
        PyObject *team = (!err && rc == 0 && info != NULL) ? get(info, team_key, &err) : NULL;
        if (err) {
            rc = PYERR;
            break;
        }
        if (rc != 0 || team == NULL || team == Py_None)
            continue;
        if (!PyUnicode_CheckExact(team)) {
            rc = DECLINE;
            break;
        }
        if (team_id != Py_None && PyUnicode_Compare(team, team_id) == 0)
            continue;
        if (removed == NULL && (removed = PySet_New(NULL)) == NULL)
            rc = PYERR;
        else if (PySet_Add(removed, id != NULL ? id : Py_None) < 0)
            rc = PYERR;
    }
    /* a model_info that is None: the first pass reads it as {}, the second raises */
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *d = PyList_GET_ITEM(healthy, i);
        int err = 0;
        PyObject *v = get(d, info_key, &err);
        if (err)
            rc = PYERR;
        else if (v == Py_None)
            rc = DECLINE;
    }
    if (rc == 0 && removed == NULL)
        out = PyList_GetSlice(healthy, 0, n);
    else if (rc == 0) {
        out = PyList_New(0);
        for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
            PyObject *d = PyList_GET_ITEM(healthy, i), *info = NULL;
            int err = 0;
            info_of(names, d, &info);
            PyObject *id = info != NULL ? get(info, id_key, &err) : NULL;
            int gone = err ? -1 : PySet_Contains(removed, id != NULL ? id : Py_None);
            if (gone < 0 || (!gone && PyList_Append(out, d) < 0))
                Py_CLEAR(out);
        }
    }
    Py_XDECREF(removed);
    if (rc == DECLINE)
        Py_RETURN_NONE;
    return out;
}

/*
 * first_info_value(names, deployments, key)
 *     (value,): the first (d.get("model_info") or {}).get(key) that is not None over deployments
 *     (an exact list or tuple of exact dicts), or (None,).  None where the Python code answers.
 */
PyObject *fl_py_first_info_value(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE ||
        !PyUnicode_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "first_info_value(names, deployments, key: str)");
        return NULL;
    }
    PyObject *names = args[0], *deployments = args[1], *key = args[2];
    if (!PyList_CheckExact(deployments) && !PyTuple_CheckExact(deployments))
        Py_RETURN_NONE;
    PyObject **items = PySequence_Fast_ITEMS(deployments);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(deployments);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *info = NULL;
        int rc = info_of(names, items[i], &info);
        if (rc == DECLINE)
            Py_RETURN_NONE;
        if (rc < 0)
            return NULL;
        if (info == NULL)
            continue;
        int err = 0;
        PyObject *value = get(info, key, &err);
        if (err)
            return NULL;
        if (value != NULL && value != Py_None)
            return PyTuple_Pack(1, value);
    }
    return PyTuple_Pack(1, Py_None);
}

/* ---- least-busy (litellm 1.106-1.109's LeastBusyLoggingHandler) ----------------------- */

/*
 * least_busy_keys(names, model_group, deployments)
 *     [f"{model_group}_request_count:{str(id)}" for each deployment], the keys
 *     _request_count_keys builds after its pydantic validation, for an exact str model_group and an
 *     exact list of exact dicts whose "model_info" is an exact dict with an "id" that is an exact
 *     str or an exact int (not bool: pydantic's str | int reads those unchanged).  None where the
 *     Python code answers (it validates, converts or raises).
 */
PyObject *fl_py_least_busy_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 3 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != RN_SIZE) {
        PyErr_SetString(PyExc_TypeError, "least_busy_keys(names, model_group, deployments)");
        return NULL;
    }
    PyObject *names = args[0], *group = args[1], *deployments = args[2];
    if (!PyUnicode_CheckExact(group) || !PyList_CheckExact(deployments))
        Py_RETURN_NONE;
    Py_ssize_t n = PyList_GET_SIZE(deployments);
    PyObject *prefix = PyUnicode_FromFormat("%U_request_count:", group);
    PyObject *out = prefix != NULL ? PyList_New(n) : NULL;
    int rc = out != NULL ? 0 : PYERR;
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *d = PyList_GET_ITEM(deployments, i), *info = NULL, *id = NULL;
        int err = 0;
        if (!PyDict_CheckExact(d))
            rc = DECLINE;
        else if ((info = get(d, PyTuple_GET_ITEM(names, RN_MODEL_INFO), &err)) == NULL || !PyDict_CheckExact(info))
            rc = err ? PYERR : DECLINE;
        else if ((id = get(info, PyTuple_GET_ITEM(names, RN_ID), &err)) == NULL ||
                 !(PyUnicode_CheckExact(id) || PyLong_CheckExact(id)))
            rc = err ? PYERR : DECLINE;
        if (rc != 0)
            break;
        PyObject *text = PyUnicode_CheckExact(id) ? Py_NewRef(id) : PyObject_Str(id);
        PyObject *key = text != NULL ? PyUnicode_Concat(prefix, text) : NULL;
        Py_XDECREF(text);
        if (key == NULL)
            rc = PYERR;
        else
            PyList_SET_ITEM(out, i, key);
    }
    Py_XDECREF(prefix);
    if (rc == 0)
        return out;
    Py_XDECREF(out);
    if (rc == DECLINE)
        Py_RETURN_NONE;
    return NULL;
}

/*
 * least_busy_index(raw, n)
 *     The index _least_busy picks from the counts _local_counts reads off the in-memory cache's
 *     answer raw: the first deployment with the fewest requests in flight; None (not an index) for
 *     no deployments.  raw is None (all counts 0) or an exact list of n values, each None (0), an
 *     exact int of at most 2**53 in size (int(float(v)) == v) or a finite exact float (truncated
 *     as int() does).  Returns (index,) or (None,); None where the Python code answers (another
 *     shape, a value pydantic would convert or reject, a list of another length).
 */
PyObject *fl_py_least_busy_index(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    Py_ssize_t n = nargs == 2 && PyLong_CheckExact(args[1]) ? PyLong_AsSsize_t(args[1]) : -1;
    if (n < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "least_busy_index(raw, n: int >= 0)");
        return NULL;
    }
    PyObject *raw = args[0];
    if (n == 0)
        return raw == Py_None || (PyList_CheckExact(raw) && PyList_GET_SIZE(raw) == 0) ? PyTuple_Pack(1, Py_None)
                                                                                          : Py_NewRef(Py_None);
    if (raw == Py_None)
        return Py_BuildValue("(n)", (Py_ssize_t)0);
    if (!PyList_CheckExact(raw) || PyList_GET_SIZE(raw) != n)
        Py_RETURN_NONE;
    const double limit = 9007199254740992.0; /* 2**53: ints up to here survive float() exactly */
    Py_ssize_t best = 0;
    double best_count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(raw, i);
        double count;
        if (v == Py_None)
            count = 0;
        else if (PyLong_CheckExact(v)) {
            int overflow = 0;
            long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
            if (overflow || x > (long long)limit || x < -(long long)limit)
                Py_RETURN_NONE;
            count = (double)x;
        } else if (PyFloat_CheckExact(v)) {
            double x = PyFloat_AS_DOUBLE(v);
            if (!isfinite(x) || fabs(x) >= limit)
                Py_RETURN_NONE;
            count = trunc(x);
        } else
            Py_RETURN_NONE;
        if (i == 0 || count < best_count) {
            best = i;
            best_count = count;
        }
    }
    return Py_BuildValue("(n)", best);
}

/* ---- copy.deepcopy of plain data (litellm 1.106-1.108's router) ------------------------- */

#define COPY_MAX_DEPTH 200 /* deeper: copy.deepcopy answers (or raises RecursionError) itself */

/* deepcopy(x, memo) for exact None, bool, int, float, str, bytes, list, tuple and dict, as
 * copy.deepcopy does it: atomic values are themselves, a container copied once per identity
 * (memo, keyed by address, holds the copies; the originals are alive for the whole call), a tuple
 * whose items all copy to themselves is itself.  NULL with *declined set for anything else. */
static PyObject *copy_plain(PyObject *x, PyObject *memo, int depth, int *declined)
{
    if (x == Py_None || PyBool_Check(x) || PyLong_CheckExact(x) || PyFloat_CheckExact(x) || PyUnicode_CheckExact(x) ||
        PyBytes_CheckExact(x))
        return Py_NewRef(x);
    int list = PyList_CheckExact(x), dict = PyDict_CheckExact(x), tuple = PyTuple_CheckExact(x);
    if ((!list && !dict && !tuple) || depth > COPY_MAX_DEPTH) {
        *declined = 1;
        return NULL;
    }
    PyObject *key = PyLong_FromVoidPtr(x);
    if (key == NULL)
        return NULL;
    PyObject *seen = PyDict_GetItemWithError(memo, key);
    if (seen != NULL || PyErr_Occurred()) {
        Py_DECREF(key);
        return seen ? Py_NewRef(seen) : NULL;
    }
    PyObject *y = NULL;
    if (list || dict) {
        y = list ? PyList_New(0) : PyDict_New();
        if (y == NULL || PyDict_SetItem(memo, key, y) < 0) { /* before the items: cycles find it */
            Py_XDECREF(y);
            Py_DECREF(key);
            return NULL;
        }
        if (list) {
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(x); i++) {
                PyObject *item = copy_plain(PyList_GET_ITEM(x, i), memo, depth + 1, declined);
                if (item == NULL || PyList_Append(y, item) < 0) {
                    Py_XDECREF(item);
                    Py_CLEAR(y);
                    break;
                }
                Py_DECREF(item);
            }
        } else {
            PyObject *k, *v;
            Py_ssize_t pos = 0;
            while (PyDict_Next(x, &pos, &k, &v)) {
                PyObject *ck = copy_plain(k, memo, depth + 1, declined);
                PyObject *cv = ck ? copy_plain(v, memo, depth + 1, declined) : NULL;
                int rc = cv ? PyDict_SetItem(y, ck, cv) : -1;
                Py_XDECREF(ck);
                Py_XDECREF(cv);
                if (rc < 0) {
                    Py_CLEAR(y);
                    break;
                }
            }
        }
        Py_DECREF(key);
        return y;
    }
    /* a tuple: its items first, then the memo (a cycle through it may have copied it already) */
    Py_ssize_t n = PyTuple_GET_SIZE(x);
    PyObject *items = PyTuple_New(n);
    int changed = 0;
    for (Py_ssize_t i = 0; items != NULL && i < n; i++) {
        PyObject *item = copy_plain(PyTuple_GET_ITEM(x, i), memo, depth + 1, declined);
        if (item == NULL) {
            Py_CLEAR(items);
            break;
        }
        changed |= item != PyTuple_GET_ITEM(x, i);
        PyTuple_SET_ITEM(items, i, item);
    }
    if (items != NULL) {
        seen = PyDict_GetItemWithError(memo, key);
        if (seen != NULL) {
            y = Py_NewRef(seen);
        } else if (!PyErr_Occurred()) {
            y = changed ? Py_NewRef(items) : Py_NewRef(x);
            if (changed && PyDict_SetItem(memo, key, y) < 0)
                Py_CLEAR(y);
        }
        Py_DECREF(items);
    }
    Py_DECREF(key);
    return y;
}

/*
 * plain_deepcopy(x)
 *     (copy.deepcopy(x),) for plain data (see copy_plain), or None where copy.deepcopy answers
 *     (any other type anywhere in x, nesting deeper than COPY_MAX_DEPTH).  Runs no Python code.
 */
PyObject *fl_py_plain_deepcopy(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "plain_deepcopy(x)");
        return NULL;
    }
    PyObject *memo = PyDict_New();
    if (memo == NULL)
        return NULL;
    int declined = 0;
    PyObject *y = copy_plain(args[0], memo, 0, &declined);
    Py_DECREF(memo);
    if (y == NULL) {
        if (!declined)
            return NULL;
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *result = PyTuple_Pack(1, y);
    Py_DECREF(y);
    return result;
}
