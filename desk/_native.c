/* desk._native: the compiled hot path of a venue depth message.
 *
 * Why C: a Binance depth diff carries two or three levels, so the pure-Python pipeline is dominated by
 * interpreter overhead per level (text -> integer ticks, then the dict/bisect book update); the target
 * (decode + normalise + apply at half the rate of decoding alone) is out of reach of bytecode. Both functions
 * here compute exactly what their Python twins compute (desk.feeds.venues.numbers.parse_levels and the level
 * loops of desk.book.l2.OrderBook.apply_delta); tests/unit/test_native.py checks them against those twins and
 * against Decimal with hypothesis. The package works without this module (pure-Python fallback); it is built by
 * hatch_build.py when a C compiler is present.
 *
 * parse_levels declines (returns None, having touched nothing) on anything it does not handle exactly: a text
 * that is not plain digits with an optional dot, more than 18 significant digits, an off-grid value, JSON it
 * does not expect. The caller then takes the Python path, which either parses the unusual text or raises the
 * precise error. It never guesses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define MAX_DIGITS 18 /* 10**18 - 1 < 2**63 - 1: an int64 holds every 18-digit count */
#define STACK_LEVELS 64

static PyObject *zero; /* the int 0, for the crossed-book comparison */

static const int64_t POW10[19] = {
    1LL,
    10LL,
    100LL,
    1000LL,
    10000LL,
    100000LL,
    1000000LL,
    10000000LL,
    100000000LL,
    1000000000LL,
    10000000000LL,
    100000000000LL,
    1000000000000LL,
    10000000000000LL,
    100000000000000LL,
    1000000000000000LL,
    10000000000000000LL,
    100000000000000000LL,
    1000000000000000000LL,
};

typedef struct {
    const char *p;
    const char *end;
} Cursor;

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) {
        c->p++;
    }
}

static inline int expect(Cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* One JSON string "ddd.ddd" -> count on a 10**-decimals grid. Returns 1 and sets *out, or 0 to decline. */
static int parse_count(Cursor *c, int decimals, int64_t *out) {
    if (!expect(c, '"')) {
        return 0;
    }
    const char *p = c->p;
    const char *end = c->end;
    int64_t value = 0;
    int significant = 0; /* digits from the first non-zero one */
    int any = 0;         /* at least one digit in the whole text */
    int frac = 0;        /* digits after the dot */
    int dot = 0;
    int trailing_zeros = 0; /* zeros at the end of the digits seen so far */
    for (; p < end; p++) {
        char ch = *p;
        if (ch >= '0' && ch <= '9') {
            any = 1;
            if (dot) {
                frac++;
            }
            if (ch == '0') {
                trailing_zeros++;
                if (significant == 0) {
                    continue;
                }
            } else {
                trailing_zeros = 0;
            }
            if (++significant > MAX_DIGITS) {
                return 0;
            }
            value = value * 10 + (ch - '0');
        } else if (ch == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (p >= end || *p != '"' || !any) {
        return 0; /* escapes, signs, exponents, empty text: the Python path decides */
    }
    c->p = p + 1;
    if (frac <= decimals) {
        int shift = decimals - frac;
        if (value != 0) {
            if (significant + shift > MAX_DIGITS) {
                return 0;
            }
            value *= POW10[shift];
        }
    } else {
        int excess = frac - decimals; /* digits finer than the grid: must all be zero */
        if (value != 0) {
            if (trailing_zeros < excess) {
                return 0; /* off the grid: the Python path raises OffGridError */
            }
            value /= POW10[excess];
        }
    }
    *out = value;
    return 1;
}

/* Parses the text of a JSON array of [price, size] string pairs into counts. Returns the number of levels,
 * or -1 to decline. *levels may be replaced by a heap buffer the caller frees when it differs from stack. */
static Py_ssize_t parse_pairs(Cursor *c, int pdec, int sdec, int64_t **levels, Py_ssize_t capacity,
                              int64_t *stack) {
    Py_ssize_t n = 0;
    if (!expect(c, '[')) {
        return -1;
    }
    if (expect(c, ']')) {
        skip_ws(c);
        return c->p == c->end ? 0 : -1;
    }
    for (;;) {
        if (n == capacity) {
            Py_ssize_t grown = capacity * 4;
            int64_t *bigger = PyMem_Malloc(sizeof(int64_t) * 2 * (size_t)grown);
            if (bigger == NULL) {
                PyErr_NoMemory();
                return -2;
            }
            memcpy(bigger, *levels, sizeof(int64_t) * 2 * (size_t)n);
            if (*levels != stack) {
                PyMem_Free(*levels);
            }
            *levels = bigger;
            capacity = grown;
        }
        int64_t *slot = *levels + 2 * n;
        if (!expect(c, '[') || !parse_count(c, pdec, &slot[0]) || !expect(c, ',') ||
            !parse_count(c, sdec, &slot[1]) || !expect(c, ']')) {
            return -1;
        }
        n++;
        if (expect(c, ',')) {
            continue;
        }
        if (expect(c, ']')) {
            break;
        }
        return -1;
    }
    skip_ws(c);
    return c->p == c->end ? n : -1;
}

static PyObject *levels_tuple(const int64_t *levels, Py_ssize_t n);

PyDoc_STRVAR(parse_levels_doc,
             "parse_levels(raw, price_decimals, size_decimals, /) -> tuple[tuple[int, int], ...] | None\n\n"
             "The JSON text of [[price, size], ...] string pairs (bytes or any buffer, e.g. msgspec.Raw) -> "
             "integer levels on 10**-decimals grids; None declines (the caller takes the exact Python path).");

static PyObject *parse_levels(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "parse_levels expects (raw, price_decimals, size_decimals)");
        return NULL;
    }
    long pdec = PyLong_AsLong(args[1]);
    long sdec = PyLong_AsLong(args[2]);
    if ((pdec == -1 || sdec == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (pdec < 0 || pdec > MAX_DIGITS || sdec < 0 || sdec > MAX_DIGITS) {
        Py_RETURN_NONE;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    int64_t stack[2 * STACK_LEVELS];
    int64_t *levels = stack;
    Cursor c = {(const char *)view.buf, (const char *)view.buf + view.len};
    Py_ssize_t n = parse_pairs(&c, (int)pdec, (int)sdec, &levels, STACK_LEVELS, stack);
    PyBuffer_Release(&view);
    PyObject *result = NULL;
    if (n == -2) {
        goto done;
    }
    if (n < 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = levels_tuple(levels, n);
done:
    if (levels != stack) {
        PyMem_Free(levels);
    }
    return result;
}

/* Both sides' texts -> their integer levels; NULL with an exception, None to decline, else (bids, asks). */
static PyObject *levels_tuple(const int64_t *levels, Py_ssize_t n) {
    PyObject *result = PyTuple_New(n);
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *price = PyLong_FromLongLong(levels[2 * i]);
        PyObject *size = price ? PyLong_FromLongLong(levels[2 * i + 1]) : NULL;
        PyObject *pair = size ? PyTuple_New(2) : NULL;
        if (pair == NULL) {
            Py_XDECREF(price);
            Py_XDECREF(size);
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(pair, 0, price);
        PyTuple_SET_ITEM(pair, 1, size);
        /* Two ints can hold no reference cycle: CPython's collector untracks such tuples itself at its next
         * pass; doing it now keeps millions of levels a second from triggering young-generation passes. */
        PyObject_GC_UnTrack(pair);
        PyTuple_SET_ITEM(result, i, pair);
    }
    return result;
}

PyDoc_STRVAR(parse_depth_doc,
             "parse_depth(raw_bids, raw_asks, price_decimals, size_decimals, /) -> (bids, asks) | None\n\n"
             "parse_levels for both sides of one depth message in one call; None declines both (the caller "
             "takes the exact Python path for the message).");

static PyObject *parse_depth(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "parse_depth expects (raw_bids, raw_asks, price_decimals, size_decimals)");
        return NULL;
    }
    long pdec = PyLong_AsLong(args[2]);
    long sdec = PyLong_AsLong(args[3]);
    if ((pdec == -1 || sdec == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (pdec < 0 || pdec > MAX_DIGITS || sdec < 0 || sdec > MAX_DIGITS) {
        Py_RETURN_NONE;
    }
    int64_t stack[2][2 * STACK_LEVELS];
    int64_t *levels[2] = {stack[0], stack[1]};
    Py_ssize_t counts[2] = {0, 0};
    PyObject *result = NULL;
    for (int side = 0; side < 2; side++) {
        Py_buffer view;
        if (PyObject_GetBuffer(args[side], &view, PyBUF_SIMPLE) < 0) {
            goto done;
        }
        Cursor c = {(const char *)view.buf, (const char *)view.buf + view.len};
        counts[side] = parse_pairs(&c, (int)pdec, (int)sdec, &levels[side], STACK_LEVELS, stack[side]);
        PyBuffer_Release(&view);
        if (counts[side] == -2) {
            goto done;
        }
        if (counts[side] < 0) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    PyObject *bids = levels_tuple(levels[0], counts[0]);
    PyObject *asks = bids ? levels_tuple(levels[1], counts[1]) : NULL;
    if (asks == NULL) {
        Py_XDECREF(bids);
        goto done;
    }
    result = PyTuple_Pack(2, bids, asks);
    Py_DECREF(bids);
    Py_DECREF(asks);
done:
    for (int side = 0; side < 2; side++) {
        if (levels[side] != stack[side]) {
            PyMem_Free(levels[side]);
        }
    }
    return result;
}

/* bisect_left on a list of ints; -1 on error. */
static Py_ssize_t bisect_left(PyObject *list, PyObject *key) {
    Py_ssize_t lo = 0;
    Py_ssize_t hi = PyList_GET_SIZE(list);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        int less = PyObject_RichCompareBool(PyList_GET_ITEM(list, mid), key, Py_LT);
        if (less < 0) {
            return -1;
        }
        if (less) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* insort (= insort_right) on a list of ints; -1 on error. */
static int insort_right(PyObject *list, PyObject *key) {
    Py_ssize_t lo = 0;
    Py_ssize_t hi = PyList_GET_SIZE(list);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        int less = PyObject_RichCompareBool(key, PyList_GET_ITEM(list, mid), Py_LT);
        if (less < 0) {
            return -1;
        }
        if (less) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return PyList_Insert(list, lo, key);
}

PyDoc_STRVAR(apply_levels_doc,
             "apply_levels(book, keys, levels, negate, /) -> None\n\n"
             "OrderBook's level loop: for each (price, size), a non-zero size sets book[price] (adding the key "
             "to the sorted list keys when the price is new), a zero size removes the price. keys holds "
             "-price when negate is true (bids), so both lists ascend from the touch.");

/* OrderBook's level loop for one side; -1 with an exception set on error. */
static int apply_side(PyObject *book, PyObject *keys, PyObject *levels_obj, int negate) {
    PyObject *seq = PySequence_Fast(levels_obj, "levels must be a sequence of (price, size) pairs");
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *level = items[i];
        PyObject *price;
        PyObject *size;
        if ((PyTuple_CheckExact(level) || PyList_CheckExact(level)) && Py_SIZE(level) == 2) {
            PyObject **pair = PySequence_Fast_ITEMS(level);
            price = pair[0];
            size = pair[1];
        } else {
            PyErr_SetString(PyExc_TypeError, "levels must be (price, size) pairs");
            goto fail;
        }
        int nonzero = PyObject_IsTrue(size);
        if (nonzero < 0) {
            goto fail;
        }
        if (nonzero) {
            int present = PyDict_Contains(book, price);
            if (present < 0) {
                goto fail;
            }
            if (!present) {
                PyObject *key = negate ? PyNumber_Negative(price) : Py_NewRef(price);
                if (key == NULL) {
                    goto fail;
                }
                int rc = insort_right(keys, key);
                Py_DECREF(key);
                if (rc < 0) {
                    goto fail;
                }
            }
            if (PyDict_SetItem(book, price, size) < 0) {
                goto fail;
            }
        } else {
            PyObject *old = PyDict_GetItemWithError(book, price);
            if (old == NULL) {
                if (PyErr_Occurred()) {
                    goto fail;
                }
                continue;
            }
            if (PyDict_DelItem(book, price) < 0) {
                goto fail;
            }
            PyObject *key = negate ? PyNumber_Negative(price) : Py_NewRef(price);
            if (key == NULL) {
                goto fail;
            }
            Py_ssize_t at = bisect_left(keys, key);
            Py_DECREF(key);
            if (at < 0 || PyList_SetSlice(keys, at, at + 1, NULL) < 0) {
                goto fail;
            }
        }
    }
    Py_DECREF(seq);
    return 0;
fail:
    Py_DECREF(seq);
    return -1;
}

static PyObject *apply_levels(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyDict_CheckExact(args[0]) || !PyList_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "apply_levels expects (dict, list, levels, negate)");
        return NULL;
    }
    int negate = PyObject_IsTrue(args[3]);
    if (negate < 0 || apply_side(args[0], args[1], args[2], negate) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(apply_sides_doc,
             "apply_sides(bids, bid_keys, bid_levels, asks, ask_prices, ask_levels, /) -> int\n\n"
             "apply_levels for both sides of one delta in one call (bids negated); returns 2 * (number of "
             "levels) + 1 if the book is now crossed (best bid above best ask), else + 0.");

static PyObject *apply_sides(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6 || !PyDict_CheckExact(args[0]) || !PyList_CheckExact(args[1]) || !PyDict_CheckExact(args[3]) ||
        !PyList_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "apply_sides expects (dict, list, levels, dict, list, levels)");
        return NULL;
    }
    Py_ssize_t nb = PyObject_Length(args[2]);
    Py_ssize_t na = nb < 0 ? -1 : PyObject_Length(args[5]);
    if (na < 0) {
        return NULL;
    }
    if ((nb && apply_side(args[0], args[1], args[2], 1) < 0) || (na && apply_side(args[3], args[4], args[5], 0) < 0)) {
        return NULL;
    }
    int crossed = 0;
    if (PyList_GET_SIZE(args[1]) && PyList_GET_SIZE(args[4])) {
        /* best bid above best ask: -bid_keys[0] > ask_prices[0], i.e. bid_keys[0] + ask_prices[0] < 0 */
        PyObject *sum = PyNumber_Add(PyList_GET_ITEM(args[1], 0), PyList_GET_ITEM(args[4], 0));
        if (sum == NULL) {
            return NULL;
        }
        crossed = PyObject_RichCompareBool(sum, zero, Py_LT);
        Py_DECREF(sum);
        if (crossed < 0) {
            return NULL;
        }
    }
    return PyLong_FromSsize_t(2 * (nb + na) + crossed);
}

static PyMethodDef methods[] = {
    {"parse_levels", (PyCFunction)(void (*)(void))parse_levels, METH_FASTCALL, parse_levels_doc},
    {"apply_levels", (PyCFunction)(void (*)(void))apply_levels, METH_FASTCALL, apply_levels_doc},
    {"apply_sides", (PyCFunction)(void (*)(void))apply_sides, METH_FASTCALL, apply_sides_doc},
    {"parse_depth", (PyCFunction)(void (*)(void))parse_depth, METH_FASTCALL, parse_depth_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "desk._native",
    "Compiled hot path of venue depth messages (see desk/_native.c).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    zero = PyLong_FromLong(0);
    if (zero == NULL) {
        return NULL;
    }
    return PyModule_Create(&module);
}
