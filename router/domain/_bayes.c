/* The rescue model's question (router/domain/rescue.py, RescueModel.best) in one C call.

Asked of nearly every decision, the model's Python and numpy steps (an automaton pass with a set to keep each
n-gram once, a gather of the n-grams' rows, a sum, the scores, the best label, its probability) cost about 35 us
a report, nearly as much as the rest of a decision. Here the same steps are one pass: the text's pairs and
triples are looked up in an open-addressing table of the known n-grams (keys: code points packed in 64 bits),
each known n-gram counted once in order of first appearance (the automaton's order: at each end, the triple
before the pair), and the lifts of the labels that saw it (a sparse row: 3.5 labels of 28 on average) added
into the labels' sums.

The arithmetic is the sources' own, operation for operation, so the results are the same doubles: a label's sum
of lifts is added in the order of the n-grams' first appearance (numpy's sum over axis 0 of the dense rows: the
zeros it adds change nothing), a score is sum + (prior + known * unseen), the best is the greatest score, ties to
the greater label, and the probability is 1 / (exp(s - top) summed in label order, as Python's sum of floats).
Compile with floating-point contraction off (no fused multiply-add): router/native_build.py does.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define EMPTY UINT64_MAX
#define PAIR (UINT64_C(1) << 63) /* a pair's key; a triple's is below 2**63 (three 21-bit code points) */
#ifndef SPREAD
#define SPREAD 2 /* table places per n-gram, at least */
#endif

/* A slot of the table: one cache line holds four, so a look-up reads one line, hit or miss. */
typedef struct {
    uint64_t key;    /* EMPTY, or an n-gram's code points */
    uint32_t start;  /* its entries: [start, start + count) */
    uint32_t count;
} Slot;

typedef struct {
    uint16_t label;  /* the label that saw the n-gram */
    uint16_t lift;   /* the index of what seeing it adds, in lifts */
} Entry;

typedef struct {
    PyObject_HEAD
    Py_ssize_t ngrams, nlabels;
    Slot *slots;
    int32_t *row_of;  /* a slot's n-gram's row (explain names n-grams by row) */
    uint64_t mask;
    Entry *entries;
    double *lifts;    /* per distinct count */
    double *base, *unseen;
    int32_t *rank;    /* a label's place in string order, for ties */
    uint32_t *found;  /* the current text's known n-grams (slots), each once, in order */
    uint32_t *seen;   /* a set of the slots found, for the current text */
    uint64_t *keys;   /* the current text's n-grams' keys, in order */
    Py_ssize_t capacity;  /* of found; seen has twice as many places */
    double *sums;
} Model;

static inline uint64_t slot_of(uint64_t key, uint64_t mask) {
    return ((key * UINT64_C(0x9E3779B97F4A7C15)) >> 24) & mask;
}

static inline int64_t lookup(const Model *m, uint64_t key) {
    uint64_t i = slot_of(key, m->mask);
    for (;;) {
        uint64_t k = m->slots[i].key;
        if (k == key) return (int64_t)i;
        if (k == EMPTY) return -1;
        i = (i + 1) & m->mask;
    }
}

static void Model_dealloc(Model *m) {
    PyMem_Free(m->slots);
    PyMem_Free(m->row_of);
    PyMem_Free(m->entries);
    PyMem_Free(m->lifts);
    PyMem_Free(m->base);
    PyMem_Free(m->unseen);
    PyMem_Free(m->rank);
    PyMem_Free(m->found);
    PyMem_Free(m->seen);
    PyMem_Free(m->keys);
    PyMem_Free(m->sums);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

static void *copy_buffer(PyObject *obj, Py_ssize_t count, Py_ssize_t size, const char *what) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len != count * size) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, expected %zd", what, view.len, count * size);
        PyBuffer_Release(&view);
        return NULL;
    }
    void *out = PyMem_Malloc(view.len ? (size_t)view.len : 1);
    if (out == NULL) {
        PyBuffer_Release(&view);
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(out, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return out;
}

static int key_of(PyObject *gram, uint64_t *key) {
    if (!PyUnicode_Check(gram)) {
        PyErr_SetString(PyExc_TypeError, "n-grams must be str");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(gram);
    int kind = PyUnicode_KIND(gram);
    const void *data = PyUnicode_DATA(gram);
    if (n == 2) {
        *key = PAIR | ((uint64_t)PyUnicode_READ(kind, data, 0) << 21) | PyUnicode_READ(kind, data, 1);
    } else if (n == 3) {
        *key = ((uint64_t)PyUnicode_READ(kind, data, 0) << 42) | ((uint64_t)PyUnicode_READ(kind, data, 1) << 21)
               | PyUnicode_READ(kind, data, 2);
    } else {
        PyErr_SetString(PyExc_ValueError, "n-grams are pairs and triples");
        return -1;
    }
    return 0;
}

static int grow(Model *m, Py_ssize_t capacity) {
    uint32_t *found = PyMem_Realloc(m->found, (size_t)capacity * sizeof(uint32_t));
    if (found == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->found = found;
    uint32_t *seen = PyMem_Realloc(m->seen, (size_t)capacity * 2 * sizeof(uint32_t));
    if (seen == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->seen = seen;
    uint64_t *keys = PyMem_Realloc(m->keys, (size_t)capacity * sizeof(uint64_t));
    if (keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->keys = keys;
    m->capacity = capacity;
    return 0;
}

/* Model(grams, rows, lifts, base, unseen, rank): grams a list of str and rows a list of bytes (Tables.rows: per
   n-gram, 4 bytes per label that saw it, label and lift index, little-endian); lifts float64 per distinct count;
   base, unseen float64 and rank int32 per label (native byte order). */
static int Model_init(Model *m, PyObject *args, PyObject *kwds) {
    PyObject *grams, *rows, *lifts, *base, *unseen, *rank;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Model takes positional arguments");
        return -1;
    }
    if (m->lifts != NULL || m->slots != NULL) { /* once: a second call would leak or mix tables */
        PyErr_SetString(PyExc_TypeError, "Model already initialised");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!O!OOOO", &PyList_Type, &grams, &PyList_Type, &rows, &lifts, &base, &unseen, &rank))
        return -1;
    Py_ssize_t ngrams = PyList_GET_SIZE(grams);
    if (ngrams >= INT32_MAX / 4 || PyList_GET_SIZE(rows) != ngrams) {
        PyErr_SetString(PyExc_ValueError, "a row per n-gram, fewer than 2**29");
        return -1;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(base, &view, PyBUF_SIMPLE) < 0) return -1;
    Py_ssize_t nlabels = view.len / (Py_ssize_t)sizeof(double);
    PyBuffer_Release(&view);
    if (nlabels < 1 || nlabels > 65536) {
        PyErr_SetString(PyExc_ValueError, "1 to 65536 labels");
        return -1;
    }
    if (PyObject_GetBuffer(lifts, &view, PyBUF_SIMPLE) < 0) return -1;
    Py_ssize_t nlifts = view.len / (Py_ssize_t)sizeof(double);
    PyBuffer_Release(&view);
    m->ngrams = ngrams;
    m->nlabels = nlabels;
    if (!(m->lifts = copy_buffer(lifts, nlifts, sizeof(double), "lifts"))) return -1;
    if (!(m->base = copy_buffer(base, nlabels, sizeof(double), "base"))) return -1;
    if (!(m->unseen = copy_buffer(unseen, nlabels, sizeof(double), "unseen"))) return -1;
    if (!(m->rank = copy_buffer(rank, nlabels, sizeof(int32_t), "rank"))) return -1;
    Py_ssize_t total = 0;
    for (Py_ssize_t r = 0; r < ngrams; r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyBytes_Check(row) || PyBytes_GET_SIZE(row) % 4) {
            PyErr_SetString(PyExc_ValueError, "a row is bytes, 4 per entry");
            return -1;
        }
        total += PyBytes_GET_SIZE(row) / 4;
    }
    if (total >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many entries");
        return -1;
    }
    uint64_t size = 1024;
    while (size < (uint64_t)ngrams * SPREAD) size <<= 1;
    m->mask = size - 1;
    m->slots = PyMem_Malloc(size * sizeof(Slot));
    m->row_of = PyMem_Malloc(size * sizeof(int32_t));
    m->entries = PyMem_Malloc((size_t)(total ? total : 1) * sizeof(Entry));
    m->sums = PyMem_Malloc((size_t)nlabels * sizeof(double));
    if (!m->slots || !m->row_of || !m->entries || !m->sums) {
        PyErr_NoMemory();
        return -1;
    }
    if (grow(m, 256) < 0) return -1;
    for (uint64_t i = 0; i < size; i++) {
        m->slots[i].key = EMPTY;
        m->row_of[i] = -1;
    }
    uint32_t at = 0;
    for (Py_ssize_t r = 0; r < ngrams; r++) {
        uint64_t key;
        if (key_of(PyList_GET_ITEM(grams, r), &key) < 0) return -1;
        uint64_t i = slot_of(key, m->mask);
        while (m->slots[i].key != EMPTY && m->slots[i].key != key) i = (i + 1) & m->mask;
        if (m->slots[i].key == key) {
            PyErr_SetString(PyExc_ValueError, "an n-gram twice");
            return -1;
        }
        PyObject *row = PyList_GET_ITEM(rows, r);
        const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(row);
        uint32_t count = (uint32_t)(PyBytes_GET_SIZE(row) / 4);
        for (uint32_t e = 0; e < count; e++, b += 4) {
            Entry entry = {(uint16_t)(b[0] | b[1] << 8), (uint16_t)(b[2] | b[3] << 8)};
            if (entry.label >= nlabels || entry.lift >= nlifts) {
                PyErr_SetString(PyExc_ValueError, "a label or lift index out of range");
                return -1;
            }
            m->entries[at + e] = entry;
        }
        m->slots[i].key = key;
        m->slots[i].start = at;
        m->slots[i].count = count;
        m->row_of[i] = (int32_t)r;
        at += count;
    }
    return 0;
}

/* The text's known n-grams, each once, in the automaton's order, into m->found; their number, or -1. */
static Py_ssize_t scan(Model *m, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return -1;
    }
    if (m->slots == NULL) {
        PyErr_SetString(PyExc_ValueError, "Model not initialised");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > (Py_ssize_t)1 << 28) {
        PyErr_SetString(PyExc_ValueError, "text too long");
        return -1;
    }
    /* at most two n-grams end at each character: found and its set (half full at most) never overflow */
    Py_ssize_t capacity = m->capacity;
    while (capacity < 2 * n) capacity *= 2;
    if (capacity != m->capacity && grow(m, capacity) < 0) return -1;
    uint32_t places = 1;
    while (places < 4 * (uint32_t)(n ? n : 1)) places <<= 1;
    uint32_t *seen = m->seen;
    memset(seen, 0xFF, places * sizeof(uint32_t));
    uint32_t within = places - 1;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    /* The keys first, each one's place in the table asked of memory ahead (the table is megabytes, a look-up
       mostly a cache miss): the misses then overlap instead of following one another. */
    uint64_t *keys = m->keys;
    Py_ssize_t nkeys = 0;
    uint64_t a = 0, b = 0; /* the two code points before the current one */
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t c = PyUnicode_READ(kind, data, i);
        if (i >= 2) keys[nkeys++] = (a << 42) | (b << 21) | c; /* the triple ending here, then the pair */
        if (i >= 1) keys[nkeys++] = PAIR | (b << 21) | c;
        a = b;
        b = c;
    }
    for (Py_ssize_t k = 0; k < nkeys; k++) __builtin_prefetch(&m->slots[slot_of(keys[k], m->mask)]);
    Py_ssize_t known = 0;
    for (Py_ssize_t k = 0; k < nkeys; k++) {
        int64_t slot = lookup(m, keys[k]);
        if (slot < 0) continue;
        uint32_t place = ((uint32_t)slot * UINT32_C(0x9E3779B1)) >> 7 & within;
        while (seen[place] != UINT32_MAX && seen[place] != (uint32_t)slot) place = (place + 1) & within;
        if (seen[place] == (uint32_t)slot) continue;
        seen[place] = (uint32_t)slot;
        m->found[known++] = (uint32_t)slot;
        __builtin_prefetch(&m->entries[m->slots[slot].start]);
    }
    return known;
}

/* best(text) -> (label index, probability unrounded, margin over the next label) or None when none of the text's
   n-grams is known. */
static PyObject *Model_best(Model *m, PyObject *text) {
    Py_ssize_t known = scan(m, text);
    if (known < 0) return NULL;
    if (known == 0) Py_RETURN_NONE;
    Py_ssize_t nlabels = m->nlabels;
    double *s = m->sums;
    for (Py_ssize_t l = 0; l < nlabels; l++) s[l] = 0.0;
    for (Py_ssize_t k = 0; k < known; k++) {
        const Slot *slot = &m->slots[m->found[k]];
        const Entry *e = &m->entries[slot->start], *end = e + slot->count;
        for (; e < end; e++) s[e->label] += m->lifts[e->lift];
    }
    double count = (double)known;
    for (Py_ssize_t l = 0; l < nlabels; l++) {
        double prior = m->base[l] + count * m->unseen[l];
        s[l] = s[l] + prior;
    }
    Py_ssize_t best = 0;
    for (Py_ssize_t l = 1; l < nlabels; l++) {
        if (s[l] > s[best] || (s[l] == s[best] && m->rank[l] > m->rank[best])) best = l;
    }
    double top = s[best], total = 0.0, runner_up = -INFINITY;
    for (Py_ssize_t l = 0; l < nlabels; l++) {
        total += exp(s[l] - top);
        if (l != best && s[l] > runner_up) runner_up = s[l];
    }
    return Py_BuildValue("(ndd)", best, 1.0 / total, top - runner_up);
}

/* explain(text, me) -> [(row, weight)]: the text's known n-grams label `me` saw, in order, each with how far
   me's log-probability of it passes the strongest other label's (a label that never saw it: its unseen). */
static PyObject *Model_explain(Model *m, PyObject *args) {
    PyObject *text;
    Py_ssize_t me;
    if (!PyArg_ParseTuple(args, "Un", &text, &me)) return NULL;
    if (me < 0 || me >= m->nlabels) {
        PyErr_SetString(PyExc_IndexError, "label index out of range");
        return NULL;
    }
    Py_ssize_t known = scan(m, text);
    if (known < 0) return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    Py_ssize_t nlabels = m->nlabels;
    double *row_lift = m->sums;
    for (Py_ssize_t k = 0; k < known; k++) {
        const Slot *slot = &m->slots[m->found[k]];
        int32_t row = m->row_of[m->found[k]];
        for (Py_ssize_t l = 0; l < nlabels; l++) row_lift[l] = 0.0;
        const Entry *e = &m->entries[slot->start], *end = e + slot->count;
        for (; e < end; e++) row_lift[e->label] = m->lifts[e->lift];
        double mine = row_lift[me];
        if (!(mine > 0.0)) continue;
        double other = -INFINITY;
        for (Py_ssize_t l = 0; l < nlabels; l++) {
            if (l == me) continue;
            double v = row_lift[l] + m->unseen[l];
            if (v > other) other = v;
        }
        double weight = (m->unseen[me] + mine) - other;
        PyObject *pair = Py_BuildValue("(id)", row, weight);
        if (pair == NULL || PyList_Append(out, pair) < 0) {
            Py_XDECREF(pair);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(pair);
    }
    return out;
}

static PyMethodDef Model_methods[] = {
    {"best", (PyCFunction)Model_best, METH_O, "best(text) -> (label index, probability, margin) or None"},
    {"explain", (PyCFunction)Model_explain, METH_VARARGS, "explain(text, label index) -> [(row, weight)]"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "router.domain._bayes.Model",
    .tp_basicsize = sizeof(Model),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The rescue model's tables, asked in one call (see router/domain/rescue.py).",
    .tp_methods = Model_methods,
    .tp_init = (initproc)Model_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "router.domain._bayes", "The rescue model's question in C.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__bayes(void) {
    if (PyType_Ready(&ModelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&ModelType);
    if (PyModule_AddObject(m, "Model", (PyObject *)&ModelType) < 0) {
        Py_DECREF(&ModelType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
