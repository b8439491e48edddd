/* desk._native: the compiled hot path of a venue depth message.
 *
 * Why C: a Binance depth diff carries two or three levels, so the pure-Python pipeline is dominated by
 * interpreter overhead (text -> integer ticks, health counters, sequence checks, the BookDelta, the dict/bisect
 * book update); the target (decode + normalise + apply at half the rate of decoding alone) is out of reach
 * of bytecode. Every entry point computes exactly what its Python twin computes:
 *   parse_depth  - desk.feeds.venues.numbers.RawLevelParser.slow (level texts -> integer levels, both sides)
 *   apply_sides  - the level loops and the crossed check of desk.book.l2.OrderBook.apply_delta
 *   DepthStep    - desk.feeds.venues.depth_step.DepthStep (the whole per-frame step of Binance's diff sync)
 * tests/unit/test_native.py, test_book.py and test_depth_step.py check them against those twins (and the parser
 * against Decimal) with hypothesis. desk works without this module (desk.native falls back to Python); it is built
 * by hatch_build.py when a C compiler is present.
 *
 * The parser declines (touching nothing) anything it does not handle exactly: a text that is not plain digits
 * with an optional dot, more than 18 digits, an off-grid value, JSON it does not expect. The caller then takes
 * the Python path, which either parses the unusual text or raises the precise error. It never guesses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <structmember.h>

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

/* One JSON string "ddd.ddd" -> count on a 10**-decimals grid. Returns 1 and sets *out, or 0 to decline.
 * Every digit is counted, leading zeros too: a text of more than 18 digits is declined even when its value is
 * small (venues do not send those; declining is always safe), so the accumulator can never overflow. */
static int parse_count(Cursor *c, int decimals, int64_t *out) {
    if (!expect(c, '"')) {
        return 0;
    }
    const char *p = c->p;
    const char *end = c->end;
    uint64_t value = 0;
    const char *start = p;
    while (p < end && (unsigned char)(*p - '0') < 10) {
        value = value * 10 + (uint64_t)(*p - '0');
        p++;
    }
    Py_ssize_t digits = p - start;
    Py_ssize_t frac = 0;
    if (p < end && *p == '.') {
        const char *first = ++p;
        while (p < end && (unsigned char)(*p - '0') < 10) {
            value = value * 10 + (uint64_t)(*p - '0');
            p++;
        }
        frac = p - first;
        digits += frac;
    }
    if (digits == 0 || digits > MAX_DIGITS || p >= end || *p != '"') {
        return 0; /* empty, too long, or escapes, signs, exponents, spaces: the Python path decides */
    }
    c->p = p + 1;
    if (frac <= decimals) {
        int64_t scale = POW10[decimals - frac];
        if (value > (uint64_t)(INT64_MAX / scale)) {
            return 0;
        }
        *out = (int64_t)value * scale;
    } else {
        int64_t excess = POW10[frac - decimals]; /* digits finer than the grid: must all be zero */
        if (value % (uint64_t)excess) {
            return 0; /* off the grid: the Python path raises OffGridError */
        }
        *out = (int64_t)(value / (uint64_t)excess);
    }
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

/* Parsed levels -> a tuple of (price, size) int pairs. */
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

/* Both sides' level texts parsed into int64 pairs; stack storage first, heap past STACK_LEVELS a side. */
typedef struct {
    int64_t stack[2][2 * STACK_LEVELS];
    int64_t *levels[2];
    Py_ssize_t counts[2];
} Parsed;

/* 1 parsed, 0 declined (an unexpected text: the Python path decides), -1 with an exception (not a buffer, no
 * memory). Always pair with parsed_free. */
static int parse_sides(PyObject *const raw[2], int pdec, int sdec, Parsed *out) {
    for (int side = 0; side < 2; side++) {
        out->levels[side] = out->stack[side];
        out->counts[side] = 0;
    }
    for (int side = 0; side < 2; side++) {
        Py_buffer view;
        if (PyObject_GetBuffer(raw[side], &view, PyBUF_SIMPLE) < 0) {
            return -1;
        }
        Cursor c = {(const char *)view.buf, (const char *)view.buf + view.len};
        out->counts[side] = parse_pairs(&c, pdec, sdec, &out->levels[side], STACK_LEVELS, out->stack[side]);
        PyBuffer_Release(&view);
        if (out->counts[side] == -2) {
            return -1;
        }
        if (out->counts[side] < 0) {
            return 0;
        }
    }
    return 1;
}

static void parsed_free(Parsed *parsed) {
    for (int side = 0; side < 2; side++) {
        if (parsed->levels[side] != parsed->stack[side]) {
            PyMem_Free(parsed->levels[side]);
        }
    }
}

PyDoc_STRVAR(parse_depth_doc,
             "parse_depth(raw_bids, raw_asks, price_decimals, size_decimals, /) -> (bids, asks) | None\n\n"
             "The JSON texts of both sides' [[price, size], ...] string pairs (bytes or any buffer, e.g. msgspec.Raw) "
             "-> integer levels on 10**-decimals grids; None declines (the caller takes the exact Python path).");

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
    Parsed parsed;
    int rc = parse_sides(args, (int)pdec, (int)sdec, &parsed);
    PyObject *result = NULL;
    if (rc == 0) {
        result = Py_NewRef(Py_None);
    } else if (rc == 1) {
        PyObject *bids = levels_tuple(parsed.levels[0], parsed.counts[0]);
        PyObject *asks = bids ? levels_tuple(parsed.levels[1], parsed.counts[1]) : NULL;
        if (asks != NULL) {
            result = PyTuple_Pack(2, bids, asks);
        }
        Py_XDECREF(bids);
        Py_XDECREF(asks);
    }
    parsed_free(&parsed);
    return result;
}

/* The value of an int that fits in int64; 0 (with *ok = 0) otherwise, or -1 with an exception set. Prices are
 * ticks and fit; anything else takes the generic comparison below, so results never depend on the fast path. */
static inline int64_t small_int(PyObject *o, int *ok) {
    if (!PyLong_CheckExact(o)) {
        *ok = 0; /* not a plain int (a bool, a float): the generic comparison decides */
        return 0;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    *ok = !overflow && !(v == -1 && PyErr_Occurred());
    return (int64_t)v;
}

/* Leftmost (right=0) or rightmost (right=1) insertion point of key in the ascending list; -1 on error. */
static Py_ssize_t bisect(PyObject *list, PyObject *key, int right) {
    Py_ssize_t lo = 0;
    Py_ssize_t hi = PyList_GET_SIZE(list);
    int ok;
    int64_t k = small_int(key, &ok);
    if (!ok && PyErr_Occurred()) {
        return -1;
    }
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        PyObject *item = PyList_GET_ITEM(list, mid);
        int go_right;
        int item_ok = 0;
        int64_t v = ok ? small_int(item, &item_ok) : 0;
        if (item_ok) {
            go_right = right ? v <= k : v < k;
        } else {
            if (PyErr_Occurred()) {
                return -1;
            }
            go_right = right ? !PyObject_RichCompareBool(key, item, Py_LT) : PyObject_RichCompareBool(item, key, Py_LT);
            if (PyErr_Occurred()) {
                return -1;
            }
        }
        if (go_right) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Best bid above best ask (keys hold -bid, prices the asks, both ascending): 1, 0, or -1 with an exception. */
static int book_crossed(PyObject *keys, PyObject *prices) {
    if (!PyList_GET_SIZE(keys) || !PyList_GET_SIZE(prices)) {
        return 0;
    }
    PyObject *bid_key = PyList_GET_ITEM(keys, 0);
    PyObject *ask = PyList_GET_ITEM(prices, 0);
    int ok_bid;
    int ok_ask = 0;
    int64_t b = small_int(bid_key, &ok_bid);
    int64_t a = ok_bid ? small_int(ask, &ok_ask) : 0;
    if (ok_bid && ok_ask && b > INT64_MIN) {
        return -b > a;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *sum = PyNumber_Add(bid_key, ask); /* -bid > ask  <=>  key + ask < 0 */
    if (sum == NULL) {
        return -1;
    }
    int crossed = PyObject_RichCompareBool(sum, zero, Py_LT);
    Py_DECREF(sum);
    return crossed;
}

/* OrderBook's level loop for one side; -1 with an exception set on error. One dict lookup per store: a store
 * that grows the dict is a new price (insort its key); a delete of a price the book lacks is a no-op. */
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
        Py_ssize_t before = PyDict_GET_SIZE(book);
        if (nonzero) {
            if (PyDict_SetItem(book, price, size) < 0) {
                goto fail;
            }
            if (PyDict_GET_SIZE(book) == before) {
                continue; /* an existing price: its size changed, the order did not */
            }
        } else {
            int present = PyDict_Contains(book, price); /* a miss must not cost a KeyError */
            if (present < 0 || (present && PyDict_DelItem(book, price) < 0)) {
                goto fail;
            }
            if (!present) {
                continue; /* removing a price the book does not hold */
            }
        }
        PyObject *key = negate ? PyNumber_Negative(price) : Py_NewRef(price);
        if (key == NULL) {
            goto fail;
        }
        Py_ssize_t at = bisect(keys, key, nonzero);
        int rc = at < 0 ? -1 : nonzero ? PyList_Insert(keys, at, key) : PyList_SetSlice(keys, at, at + 1, NULL);
        Py_DECREF(key);
        if (rc < 0) {
            goto fail;
        }
    }
    Py_DECREF(seq);
    return 0;
fail:
    Py_DECREF(seq);
    return -1;
}

PyDoc_STRVAR(apply_sides_doc,
             "apply_sides(bids, bid_keys, bid_levels, asks, ask_prices, ask_levels, /) -> int\n\n"
             "OrderBook.apply_delta's level loops for both sides (a non-zero size sets book[price], adding the key "
             "to the sorted list when the price is new; zero removes it; bid keys are -price); returns 2 * (number of "
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
    int crossed = book_crossed(args[1], args[4]);
    if (crossed < 0) {
        return NULL;
    }
    return PyLong_FromSsize_t(2 * (nb + na) + crossed);
}

/* apply_side for levels DepthStep just parsed: the same effects, with the prices and sizes already known as int64
 * (no truth test or conversion per level; the bisect compares int64 keys). */
static Py_ssize_t bisect_i64(PyObject *list, int64_t key, int right, int *generic) {
    Py_ssize_t lo = 0;
    Py_ssize_t hi = PyList_GET_SIZE(list);
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        int ok;
        int64_t v = small_int(PyList_GET_ITEM(list, mid), &ok);
        if (!ok) {
            PyErr_Clear();
            *generic = 1; /* a key that is not a small int: let the generic bisect decide */
            return 0;
        }
        if (right ? v <= key : v < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int apply_parsed(PyObject *book, PyObject *keys, PyObject *side, const int64_t *levels, int negate) {
    Py_ssize_t n = PyTuple_GET_SIZE(side);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GET_ITEM(side, i);
        PyObject *price = PyTuple_GET_ITEM(pair, 0);
        int nonzero = levels[2 * i + 1] != 0;
        if (nonzero) {
            Py_ssize_t before = PyDict_GET_SIZE(book);
            if (PyDict_SetItem(book, price, PyTuple_GET_ITEM(pair, 1)) < 0) {
                return -1;
            }
            if (PyDict_GET_SIZE(book) == before) {
                continue;
            }
        } else {
            int present = PyDict_Contains(book, price);
            if (present < 0 || (present && PyDict_DelItem(book, price) < 0)) {
                return -1;
            }
            if (!present) {
                continue;
            }
        }
        int64_t k = negate ? -levels[2 * i] : levels[2 * i]; /* prices are >= 0 and < 10**18: no overflow */
        PyObject *key = PyLong_FromLongLong(k);
        if (key == NULL) {
            return -1;
        }
        int generic = 0;
        Py_ssize_t at = bisect_i64(keys, k, nonzero, &generic);
        if (generic) {
            at = bisect(keys, key, nonzero);
        }
        int rc = at < 0 ? -1 : nonzero ? PyList_Insert(keys, at, key) : PyList_SetSlice(keys, at, at + 1, NULL);
        Py_DECREF(key);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- DepthStep: desk.feeds.venues.depth_step.DepthStep, compiled ---------------------------------------------
 *
 * Same codes and the same effects as the Python class (its docstring is the specification). It reads and writes
 * the book, the sync state and the health counters through their __slots__ member descriptors (looked up once,
 * at construction; the objects' types are checked then and never change), which is what makes it cheap: no
 * attribute lookup by name per frame. Anything outside its fast path is handed back, with nothing changed
 * (UNHANDLED) or after the health count only (DECLINED). */

enum { STALE = 0, NOT_LIVE = 1, GAP = 2, DECLINED = 3, CROSSED = 4, UNHANDLED = 5 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *symbol;
    PyObject *venue;
    PyObject *delta_type;
    PyObject *book;
    PyObject *state;
    PyObject *health;
    PyObject *data_type;
    int price_decimals;
    int size_decimals;
    PyMemberDef *book_seq, *book_ts, *book_updates, *book_live, *book_bids, *book_asks, *book_bid_keys,
        *book_ask_prices;
    PyMemberDef *state_live;
    PyMemberDef *h_messages, *h_last_recv, *h_latency_sum, *h_latency_samples;
    PyMemberDef *d_E, *d_U, *d_u, *d_b, *d_a;
} DepthStep;

static PyMemberDef *slot_of(PyObject *type, const char *name) {
    PyObject *descr = PyObject_GetAttrString(type, name);
    if (descr == NULL) {
        return NULL;
    }
    PyMemberDef *member = NULL;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            member = NULL;
        }
    }
    Py_DECREF(descr); /* the type owns the descriptor; DepthStep keeps the type alive through its objects */
    if (member == NULL) {
        PyErr_Format(PyExc_TypeError, "DepthStep: %R.%s is not a __slots__ attribute", type, name);
    }
    return member;
}

/* Direct __slots__ access, as CPython's own specialised LOAD_ATTR_SLOT/STORE_ATTR_SLOT do: the member was checked
 * at construction to be a T_OBJECT_EX slot of the object's (fixed) type. slot_get returns a new reference, or
 * NULL with AttributeError when the slot is unset (as PyMember_GetOne does); slot_set never fails. */
static inline PyObject *slot_get(PyObject *obj, PyMemberDef *member) {
    PyObject *value = *(PyObject **)((char *)obj + member->offset);
    if (value == NULL) {
        PyErr_Format(PyExc_AttributeError, "DepthStep: '%s' is unset", member->name);
        return NULL;
    }
    return Py_NewRef(value);
}

static inline void slot_set(PyObject *obj, PyMemberDef *member, PyObject *value) {
    PyObject **addr = (PyObject **)((char *)obj + member->offset);
    PyObject *old = *addr;
    *addr = Py_NewRef(value);
    Py_XDECREF(old); /* the book's and the counters' old values are ints: freeing them runs no Python code */
}

/* An int attribute as int64 (*ok = 0 when it is not a plain int that fits); NULL-safe. */
static int64_t get_i64(PyObject *obj, PyMemberDef *member, int *ok) {
    PyObject *value = *(PyObject **)((char *)obj + member->offset); /* borrowed: nothing runs before its use */
    if (value == NULL) {
        *ok = 0;
        return 0;
    }
    int64_t v = small_int(value, ok);
    if (!*ok) {
        PyErr_Clear();
    }
    return v;
}

static int set_i64(PyObject *obj, PyMemberDef *member, int64_t v) {
    PyObject *value = PyLong_FromLongLong(v);
    if (value == NULL) {
        return -1;
    }
    slot_set(obj, member, value);
    Py_DECREF(value);
    return 0;
}

static int get_truth(PyObject *obj, PyMemberDef *member) {
    PyObject *value = slot_get(obj, member);
    if (value == NULL) {
        return -1;
    }
    int truth = value == Py_True ? 1 : value == Py_False ? 0 : PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

static PyObject *code(int c) { return PyLong_FromLong(c); }

static PyObject *step_call(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    DepthStep *st = (DepthStep *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 2 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "DepthStep expects (data, recv_ns)");
        return NULL;
    }
    PyObject *data = args[0];
    PyObject *recv_obj = args[1];
    if ((PyObject *)Py_TYPE(data) != st->data_type) {
        return code(UNHANDLED);
    }
    /* Everything the health count needs, read and checked before anything is written. */
    int ok = 1, ok2 = 1, ok3 = 1, ok4 = 1, ok5 = 1;
    int64_t event_ms = get_i64(data, st->d_E, &ok);
    int64_t recv_ns = small_int(recv_obj, &ok2);
    if (!ok2) {
        PyErr_Clear();
    }
    int64_t messages = get_i64(st->health, st->h_messages, &ok3);
    int64_t latency_sum = get_i64(st->health, st->h_latency_sum, &ok4);
    int64_t samples = get_i64(st->health, st->h_latency_samples, &ok5);
    int64_t ts_ns, latency;
    if (!(ok && ok2 && ok3 && ok4 && ok5) || __builtin_mul_overflow(event_ms, (int64_t)1000000, &ts_ns) ||
        __builtin_sub_overflow(recv_ns, ts_ns, &latency) || __builtin_add_overflow(latency_sum, latency, &latency_sum) ||
        messages == INT64_MAX || samples == INT64_MAX) {
        return code(UNHANDLED);
    }
    if (set_i64(st->health, st->h_messages, messages + 1) < 0 ||
        set_i64(st->health, st->h_latency_sum, latency_sum) < 0 ||
        set_i64(st->health, st->h_latency_samples, samples + 1) < 0) {
        return NULL;
    }
    slot_set(st->health, st->h_last_recv, recv_obj);
    /* The sync checks. */
    int live = get_truth(st->state, st->state_live);
    if (live < 0) {
        return NULL;
    }
    if (!live) {
        return code(NOT_LIVE);
    }
    int64_t local = get_i64(st->book, st->book_seq, &ok);
    int64_t last = get_i64(data, st->d_u, &ok2);
    int64_t first = get_i64(data, st->d_U, &ok3);
    if (!(ok && ok2 && ok3) || local == INT64_MAX) {
        return code(DECLINED);
    }
    if (last <= local) {
        return code(STALE);
    }
    if (first > local + 1) {
        return code(GAP);
    }
    int book_live = get_truth(st->book, st->book_live);
    if (book_live < 0) {
        return NULL;
    }
    if (!book_live) {
        return code(DECLINED);
    }
    int64_t updates = get_i64(st->book, st->book_updates, &ok4);
    if (!ok4) {
        return code(DECLINED);
    }
    /* The levels. */
    PyObject *raw[2] = {slot_get(data, st->d_b), NULL};
    raw[1] = raw[0] ? slot_get(data, st->d_a) : NULL;
    if (raw[1] == NULL) {
        Py_XDECREF(raw[0]);
        return NULL;
    }
    Parsed parsed;
    PyObject *result = NULL;
    PyObject *sides[2] = {NULL, NULL};
    PyObject *containers[4] = {NULL, NULL, NULL, NULL};
    PyObject *delta = NULL;
    int rc = parse_sides(raw, st->price_decimals, st->size_decimals, &parsed);
    if (rc < 0 && PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear(); /* not a buffer (a str): the Python path reads it */
        rc = 0;
    }
    if (rc <= 0) {
        result = rc == 0 ? code(DECLINED) : NULL;
        goto done;
    }
    int64_t *const *levels = parsed.levels;
    const Py_ssize_t *counts = parsed.counts;
    if (counts[0] + counts[1] > INT64_MAX - updates) {
        result = code(DECLINED);
        goto done;
    }
    containers[0] = slot_get(st->book, st->book_bids);
    containers[1] = containers[0] ? slot_get(st->book, st->book_bid_keys) : NULL;
    containers[2] = containers[1] ? slot_get(st->book, st->book_asks) : NULL;
    containers[3] = containers[2] ? slot_get(st->book, st->book_ask_prices) : NULL;
    if (containers[3] == NULL) {
        goto done;
    }
    if (!PyDict_CheckExact(containers[0]) || !PyList_CheckExact(containers[1]) || !PyDict_CheckExact(containers[2]) ||
        !PyList_CheckExact(containers[3])) {
        result = code(DECLINED);
        goto done;
    }
    sides[0] = levels_tuple(levels[0], counts[0]);
    sides[1] = sides[0] ? levels_tuple(levels[1], counts[1]) : NULL;
    if (sides[1] == NULL) {
        goto done;
    }
    {
        PyObject *first_seq = PyLong_FromLongLong(local + 1);
        PyObject *ts = first_seq ? PyLong_FromLongLong(ts_ns) : NULL;
        PyObject *seq = ts ? slot_get(data, st->d_u) : NULL;
        if (seq != NULL) {
            PyObject *call[7] = {st->symbol, st->venue, first_seq, seq, ts, sides[0], sides[1]};
            delta = PyObject_Vectorcall(st->delta_type, call, 7, NULL);
        }
        if (delta != NULL) {
            /* OrderBook.apply_delta: the levels, then updates/seq/ts_ns */
            if (apply_parsed(containers[0], containers[1], sides[0], levels[0], 1) < 0 ||
                apply_parsed(containers[2], containers[3], sides[1], levels[1], 0) < 0 ||
                set_i64(st->book, st->book_updates, updates + counts[0] + counts[1]) < 0) {
                Py_CLEAR(delta);
            } else {
                slot_set(st->book, st->book_seq, seq);
                slot_set(st->book, st->book_ts, ts);
            }
        }
        Py_XDECREF(first_seq);
        Py_XDECREF(ts);
        Py_XDECREF(seq);
    }
    if (delta == NULL) {
        goto done;
    }
    {
        int crossed = book_crossed(containers[1], containers[3]);
        if (crossed < 0) {
            Py_CLEAR(delta);
        } else if (crossed) {
            Py_CLEAR(delta);
            result = code(CROSSED);
        } else {
            result = delta;
            delta = NULL;
        }
    }
done:
    parsed_free(&parsed);
    for (int side = 0; side < 2; side++) {
        Py_XDECREF(sides[side]);
        Py_XDECREF(raw[side]);
    }
    for (int i = 0; i < 4; i++) {
        Py_XDECREF(containers[i]);
    }
    Py_XDECREF(delta);
    return result;
}

static PyObject *step_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *names[] = {"symbol", "venue", "delta_type", "book", "state", "health", "data_type",
                            "price_decimals", "size_decimals", NULL};
    PyObject *symbol, *venue, *delta_type, *book, *state, *health, *data_type;
    int pdec, sdec;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UUOOOOOii:DepthStep", names, &symbol, &venue, &delta_type, &book,
                                     &state, &health, &data_type, &pdec, &sdec)) {
        return NULL;
    }
    if (pdec < 0 || pdec > MAX_DIGITS || sdec < 0 || sdec > MAX_DIGITS || !PyType_Check(data_type)) {
        PyErr_SetString(PyExc_ValueError, "DepthStep: decimals must be 0..18 and data_type a type");
        return NULL;
    }
    DepthStep *st = (DepthStep *)type->tp_alloc(type, 0);
    if (st == NULL) {
        return NULL;
    }
    st->vectorcall = step_call;
    st->symbol = Py_NewRef(symbol);
    st->venue = Py_NewRef(venue);
    st->delta_type = Py_NewRef(delta_type);
    st->book = Py_NewRef(book);
    st->state = Py_NewRef(state);
    st->health = Py_NewRef(health);
    st->data_type = Py_NewRef(data_type);
    st->price_decimals = pdec;
    st->size_decimals = sdec;
    PyObject *bt = (PyObject *)Py_TYPE(book);
    PyObject *stt = (PyObject *)Py_TYPE(state);
    PyObject *ht = (PyObject *)Py_TYPE(health);
    if (!(st->book_seq = slot_of(bt, "seq")) || !(st->book_ts = slot_of(bt, "ts_ns")) ||
        !(st->book_updates = slot_of(bt, "updates")) || !(st->book_live = slot_of(bt, "live")) ||
        !(st->book_bids = slot_of(bt, "bids")) || !(st->book_asks = slot_of(bt, "asks")) ||
        !(st->book_bid_keys = slot_of(bt, "_bid_keys")) || !(st->book_ask_prices = slot_of(bt, "_ask_prices")) ||
        !(st->state_live = slot_of(stt, "live")) || !(st->h_messages = slot_of(ht, "messages")) ||
        !(st->h_last_recv = slot_of(ht, "last_recv_ns")) || !(st->h_latency_sum = slot_of(ht, "latency_sum_ns")) ||
        !(st->h_latency_samples = slot_of(ht, "latency_samples")) || !(st->d_E = slot_of(data_type, "E")) ||
        !(st->d_U = slot_of(data_type, "U")) || !(st->d_u = slot_of(data_type, "u")) ||
        !(st->d_b = slot_of(data_type, "b")) || !(st->d_a = slot_of(data_type, "a"))) {
        Py_DECREF(st);
        return NULL;
    }
    return (PyObject *)st;
}

static int step_traverse(DepthStep *st, visitproc visit, void *arg) {
    Py_VISIT(st->symbol);
    Py_VISIT(st->venue);
    Py_VISIT(st->delta_type);
    Py_VISIT(st->book);
    Py_VISIT(st->state);
    Py_VISIT(st->health);
    Py_VISIT(st->data_type);
    return 0;
}

static int step_clear(DepthStep *st) {
    Py_CLEAR(st->symbol);
    Py_CLEAR(st->venue);
    Py_CLEAR(st->delta_type);
    Py_CLEAR(st->book);
    Py_CLEAR(st->state);
    Py_CLEAR(st->health);
    Py_CLEAR(st->data_type);
    return 0;
}

static void step_dealloc(DepthStep *st) {
    PyObject_GC_UnTrack(st);
    step_clear(st);
    Py_TYPE(st)->tp_free((PyObject *)st);
}

static PyTypeObject DepthStepType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "desk._native.DepthStep",
    .tp_basicsize = sizeof(DepthStep),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "DepthStep(symbol, venue, delta_type, book, state, health, data_type, price_decimals, "
              "size_decimals): desk.feeds.venues.depth_step.DepthStep, compiled.",
    .tp_new = step_new,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(DepthStep, vectorcall),
    .tp_traverse = (traverseproc)step_traverse,
    .tp_clear = (inquiry)step_clear,
    .tp_dealloc = (destructor)step_dealloc,
};

static PyMethodDef methods[] = {
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
    if (PyType_Ready(&DepthStepType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "DepthStep", (PyObject *)&DepthStepType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
