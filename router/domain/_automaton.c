/* An automaton's passes over a text in one C call each: pyahocorasick's Automaton.iter_long (longest) and
Automaton.iter (every). router/domain/passes.py, Passes.

The main lexicon's longest-match pass over a report was about a seventh of a decision: pyahocorasick walks the
text's UTF-8 bytes one at a time, finds a node's child by a linear scan of its children (up to 64), follows
pointers scattered over megabytes, and hands each match back through a Python iterator. Here the same words make a
trie over code points, its moves (node and character to child) in one open-addressing table, and a pass returns one
list: a third of the steps, each one look-up.

longest() is pyahocorasick 2.3.1's iter_long step for step (AutomatonSearchIterLong.c), with its quirks: after a
match it starts again at the root just past the match's end; a word that ends inside a longer path (at the path's
failure link) is taken only when the path breaks off before the text ends. every() is its iter: at each character
the state is the longest suffix of the text read that begins a word, and every word ending there is given, longest
first (the state and its failure links). Over characters they find what they find over bytes: every key is whole
characters, so a failure link from where a character ends leads to where one ends, a word can only end where a
character does, and the bytes of a character that no node moves on fail back through the same links as the
character does. tests/unit/router/test_passes.py compares them on report texts and on glued pieces of the
catalogue's words; ends are byte offsets, as pyahocorasick gives them.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define NONE UINT32_MAX
#define EMPTY UINT64_MAX
#define ROOT 0u
#define MOST_NODES (UINT32_C(1) << 24) /* a move holds its node's index in 24 bits, and two flags */
#define NODE(move) ((move) & (MOST_NODES - 1))
/* What a move says of the node it leads to, so that following it reads no node: */
#define ENDS (UINT32_C(1) << 24)      /* a word ends there */
#define FAIL_ENDS (UINT32_C(1) << 25) /* no word ends there, but one ends at its failure link (not the root) */

typedef struct {
    int32_t value; /* the word ending here: its index in values, or -1 */
    uint32_t fail; /* the failure link; NONE for the root */
    uint32_t out;  /* the first node, this one or along its failure links, where a word ends; NONE if none */
} Node;

typedef struct {
    uint64_t key;  /* EMPTY, or node << 21 | code point */
    uint32_t move; /* the child, with ENDS and FAIL_ENDS */
} Move;

typedef struct {
    PyObject_HEAD
    Node *nodes;
    Move *moves;
    uint32_t mask;
    PyObject *values; /* a tuple: the words' values, by their place in the items given */
} Automaton;

static inline uint32_t place_of(uint64_t key, uint32_t mask) {
    return (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;
}

/* The move from `node` on code point `c` (the child, with ENDS and FAIL_ENDS), or NONE. */
static inline uint32_t next_of(const Automaton *m, uint32_t node, uint32_t c) {
    uint64_t key = (uint64_t)node << 21 | c;
    uint32_t i = place_of(key, m->mask);
    for (;;) {
        uint64_t k = m->moves[i].key;
        if (k == key) return m->moves[i].move;
        if (k == EMPTY) return NONE;
        i = (i + 1) & m->mask;
    }
}

static int set_moves(Automaton *m, uint32_t edges) {
    uint32_t size = 1024;
    while (size < 2 * edges) size <<= 1; /* at most half full: a look-up mostly reads one place */
    PyMem_Free(m->moves);
    m->moves = PyMem_Malloc((size_t)size * sizeof(Move));
    if (m->moves == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    m->mask = size - 1;
    for (uint32_t i = 0; i < size; i++) m->moves[i].key = EMPTY;
    return 0;
}

static void add_move(Automaton *m, uint32_t node, uint32_t c, uint32_t move) {
    uint64_t key = (uint64_t)node << 21 | c;
    uint32_t at = place_of(key, m->mask);
    while (m->moves[at].key != EMPTY) at = (at + 1) & m->mask;
    m->moves[at].key = key;
    m->moves[at].move = move;
}

/* The code points of UTF-8 bytes b[0..n), into cps, and where each one's last byte is, into ends (unless NULL):
   their number, or -1 for bytes that are not UTF-8 (a lone surrogate, as surrogatepass writes it, is). */
static Py_ssize_t decode(const Py_UCS1 *b, Py_ssize_t n, uint32_t *cps, uint32_t *ends) {
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000}; /* below it, a form is overlong */
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n;) {
        uint32_t c = b[i], size;
        if (c < 0x80) {
            size = 1;
        } else if (c >= 0xC0 && c < 0xE0) {
            size = 2, c &= 0x1F;
        } else if (c >= 0xE0 && c < 0xF0) {
            size = 3, c &= 0x0F;
        } else if (c >= 0xF0 && c < 0xF8) {
            size = 4, c &= 0x07;
        } else {
            return -1;
        }
        if (i + (Py_ssize_t)size > n) return -1;
        for (uint32_t k = 1; k < size; k++) {
            uint32_t more = b[i + k];
            if ((more & 0xC0) != 0x80) return -1;
            c = c << 6 | (more & 0x3F);
        }
        if (c < least[size] || c > 0x10FFFF) return -1;
        i += size;
        cps[count] = c;
        if (ends != NULL) ends[count] = (uint32_t)(i - 1);
        count++;
    }
    return count;
}

static void Automaton_dealloc(Automaton *m) {
    PyMem_Free(m->nodes);
    PyMem_Free(m->moves);
    Py_XDECREF(m->values);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

/* The keys' code points, for sorting them: sort_keys[k] starts at sort_cps + sort_at[k], sort_len[k] long. Set
   only while Automaton_init sorts (the GIL is held throughout). */
static const uint32_t *sort_cps;
static const Py_ssize_t *sort_at, *sort_len;

static int by_code_points(const void *a, const void *b) {
    Py_ssize_t i = *(const Py_ssize_t *)a, j = *(const Py_ssize_t *)b;
    const uint32_t *x = sort_cps + sort_at[i], *y = sort_cps + sort_at[j];
    Py_ssize_t n = sort_len[i] < sort_len[j] ? sort_len[i] : sort_len[j];
    for (Py_ssize_t k = 0; k < n; k++)
        if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
    return sort_len[i] < sort_len[j] ? -1 : sort_len[i] > sort_len[j];
}

/* The table place holding the move from `node` on `c`, which must be there. */
static uint32_t place_of_move(const Automaton *m, uint32_t node, uint32_t c) {
    uint64_t key = (uint64_t)node << 21 | c;
    uint32_t i = place_of(key, m->mask);
    while (m->moves[i].key != key) i = (i + 1) & m->mask;
    return i;
}

/* Automaton(items): items a list of (key, value); keys are str of latin-1 characters (UTF-8 bytes,
   lexicon.as_bytes), none empty, none twice. */
static int Automaton_init(Automaton *m, PyObject *args, PyObject *kwds) {
    PyObject *items;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Automaton takes positional arguments");
        return -1;
    }
    if (m->nodes != NULL) {
        PyErr_SetString(PyExc_TypeError, "Automaton already initialised");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &items)) return -1;
    Py_ssize_t nwords = PyList_GET_SIZE(items);
    Py_ssize_t total = 0; /* bytes in all keys: at least their characters, each at most one node */
    for (Py_ssize_t w = 0; w < nwords; w++) {
        PyObject *item = PyList_GET_ITEM(items, w);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(item, 0))) {
            PyErr_SetString(PyExc_TypeError, "items are (str, value) pairs");
            return -1;
        }
        PyObject *key = PyTuple_GET_ITEM(item, 0);
        if (PyUnicode_KIND(key) != PyUnicode_1BYTE_KIND || PyUnicode_GET_LENGTH(key) == 0) {
            PyErr_SetString(PyExc_ValueError, "keys are latin-1 characters, none empty");
            return -1;
        }
        total += PyUnicode_GET_LENGTH(key);
    }
    if (total + 1 >= (Py_ssize_t)MOST_NODES) {
        PyErr_SetString(PyExc_ValueError, "too many nodes");
        return -1;
    }
    uint32_t *cps = PyMem_Malloc((size_t)(total + 1) * sizeof(uint32_t));
    Py_ssize_t *at = PyMem_Malloc((size_t)(nwords + 1) * sizeof(Py_ssize_t));
    Py_ssize_t *len = PyMem_Malloc((size_t)(nwords + 1) * sizeof(Py_ssize_t));
    Py_ssize_t *sorted = PyMem_Malloc((size_t)(nwords + 1) * sizeof(Py_ssize_t));
    uint32_t *path = NULL, *depth = NULL, *parent = NULL, *char_of = NULL, *order = NULL;
    m->values = PyTuple_New(nwords);
    int ok = -1;
    if (!cps || !at || !len || !sorted || !m->values) goto no_memory;
    /* The keys as code points, sorted: keys that share a prefix are then neighbours, and the trie is built with
       no look-up, each key adding the nodes past the prefix it shares with the key before. */
    Py_ssize_t chars = 0, longest = 0;
    for (Py_ssize_t w = 0; w < nwords; w++) {
        PyObject *key = PyTuple_GET_ITEM(PyList_GET_ITEM(items, w), 0);
        Py_ssize_t n = decode(PyUnicode_1BYTE_DATA(key), PyUnicode_GET_LENGTH(key), cps + chars, NULL);
        if (n < 0) {
            PyErr_SetString(PyExc_ValueError, "a key that is not UTF-8");
            goto done;
        }
        at[w] = chars, len[w] = n, sorted[w] = w;
        chars += n;
        if (n > longest) longest = n;
    }
    sort_cps = cps, sort_at = at, sort_len = len;
    qsort(sorted, (size_t)nwords, sizeof(Py_ssize_t), by_code_points);
    sort_cps = NULL, sort_at = sort_len = NULL;
    m->nodes = PyMem_Malloc((size_t)(chars + 1) * sizeof(Node));
    path = PyMem_Malloc((size_t)(longest + 1) * sizeof(uint32_t)); /* the nodes of the key before, by depth */
    depth = PyMem_Malloc((size_t)(chars + 1) * sizeof(uint32_t));
    parent = PyMem_Malloc((size_t)(chars + 1) * sizeof(uint32_t));
    char_of = PyMem_Malloc((size_t)(chars + 1) * sizeof(uint32_t));
    order = PyMem_Malloc((size_t)(chars + 1) * sizeof(uint32_t));
    if (!m->nodes || !path || !depth || !parent || !char_of || !order) goto no_memory;
    m->nodes[ROOT] = (Node){-1, NONE, NONE};
    depth[ROOT] = 0;
    path[0] = ROOT;
    uint32_t count = 1;
    Py_ssize_t before = -1;
    for (Py_ssize_t s = 0; s < nwords; s++) {
        Py_ssize_t w = sorted[s], n = len[w], shared = 0;
        const uint32_t *key = cps + at[w];
        if (before >= 0) {
            const uint32_t *last = cps + at[before];
            while (shared < n && shared < len[before] && key[shared] == last[shared]) shared++;
            if (shared == n) { /* sorted, a key equal to its prefix before it is the same key */
                PyErr_SetString(PyExc_ValueError, "a key twice");
                goto done;
            }
        }
        for (Py_ssize_t d = shared; d < n; d++) {
            uint32_t child = count++;
            m->nodes[child] = (Node){-1, NONE, NONE};
            depth[child] = (uint32_t)d + 1;
            parent[child] = path[d];
            char_of[child] = key[d];
            path[d + 1] = child;
        }
        m->nodes[path[n]].value = (int32_t)w;
        PyObject *value = PyTuple_GET_ITEM(PyList_GET_ITEM(items, w), 1);
        Py_INCREF(value);
        PyTuple_SET_ITEM(m->values, w, value);
        before = w;
    }
    if (set_moves(m, count) < 0) goto done;
    for (uint32_t v = 1; v < count; v++) add_move(m, parent[v], char_of[v], v);
    /* The failure links, shallower nodes first (pyahocorasick's make_automaton, breadth first): a node's link is
       its parent's link followed, link after link, until one moves on its character; else the root. */
    uint32_t maxdepth = (uint32_t)longest;
    uint32_t *starts = PyMem_Calloc((size_t)maxdepth + 2, sizeof(uint32_t));
    if (starts == NULL) goto no_memory;
    for (uint32_t v = 1; v < count; v++) starts[depth[v] + 1]++;
    for (uint32_t d = 1; d <= maxdepth + 1; d++) starts[d] += starts[d - 1];
    for (uint32_t v = 1; v < count; v++) order[starts[depth[v]]++] = v;
    PyMem_Free(starts);
    for (uint32_t o = 0; o + 1 < count; o++) {
        uint32_t v = order[o];
        Node *node = &m->nodes[v];
        if (parent[v] == ROOT) {
            node->fail = ROOT;
        } else {
            uint32_t state = m->nodes[parent[v]].fail;
            while (state != ROOT && next_of(m, state, char_of[v]) == NONE) state = m->nodes[state].fail;
            uint32_t fail = next_of(m, state, char_of[v]);
            node->fail = fail == NONE ? ROOT : NODE(fail);
        }
        node->out = node->value >= 0 ? v : m->nodes[node->fail].out; /* its link's is known: shallower */
    }
    /* Each move says what the search asks of the node it leads to. */
    for (uint32_t v = 1; v < count; v++) {
        const Node *node = &m->nodes[v];
        uint32_t flags = node->value >= 0 ? ENDS
                         : node->fail != ROOT && m->nodes[node->fail].value >= 0 ? FAIL_ENDS : 0;
        m->moves[place_of_move(m, parent[v], char_of[v])].move |= flags;
    }
    Node *kept = PyMem_Realloc(m->nodes, (size_t)count * sizeof(Node)); /* keys share prefixes: fewer nodes */
    if (kept != NULL) m->nodes = kept;
    ok = 0;
    goto done;
no_memory:
    if (!PyErr_Occurred()) PyErr_NoMemory();
done:
    PyMem_Free(cps);
    PyMem_Free(at);
    PyMem_Free(len);
    PyMem_Free(sorted);
    PyMem_Free(path);
    PyMem_Free(depth);
    PyMem_Free(parent);
    PyMem_Free(char_of);
    PyMem_Free(order);
    return ok;
}

static int emit(PyObject *out, Py_ssize_t end, PyObject *value) {
    PyObject *at = PyLong_FromSsize_t(end);
    PyObject *pair = at == NULL ? NULL : PyTuple_New(2);
    if (pair == NULL) {
        Py_XDECREF(at);
        return -1;
    }
    Py_INCREF(value);
    PyTuple_SET_ITEM(pair, 0, at);
    PyTuple_SET_ITEM(pair, 1, value);
    int failed = PyList_Append(out, pair);
    Py_DECREF(pair);
    return failed;
}

/* iter_long's walk over code points cps[0..n), ends[i] the offset of the last byte of cps[i]: the matches into
   out. */
static int walk_longest(const Automaton *m, const uint32_t *cps, const uint32_t *ends, Py_ssize_t n, PyObject *out) {
    const Node *nodes = m->nodes;
    uint32_t state = ROOT, last_node = NONE;
    Py_ssize_t index = -1, last_index = -1;
    for (;;) { /* one step of pyahocorasick's iterator: to the next match, or the end */
        uint32_t fail_node = NONE; /* a node whose failure link ends a word: taken if the path breaks off */
        Py_ssize_t fail_index = -1;
        int fail_flag = 0;
        index += 1;
        while (index < n) {
            uint32_t next;
            if (fail_flag) {
                next = nodes[fail_node].fail | ENDS; /* FAIL_ENDS said a word ends there */
                index = fail_index;
                fail_node = NONE;
                fail_index = -1;
                fail_flag = 0;
            } else {
                next = next_of(m, state, cps[index]);
            }
            if (next != NONE) {
                if (next & ENDS) {
                    last_node = NODE(next);
                    last_index = index;
                } else if (last_node == NONE && fail_node == NONE && next & FAIL_ENDS) {
                    fail_node = NODE(next);
                    fail_index = index;
                }
                state = NODE(next);
                index += 1;
            } else if (last_node != NONE) {
                break;
            } else if (fail_node != NONE) {
                fail_flag = 1;
            } else {
                for (;;) {
                    state = nodes[state].fail;
                    if (state == NONE) {
                        state = ROOT;
                        index += 1;
                        break;
                    }
                    if (next_of(m, state, cps[index]) != NONE) break;
                }
            }
        }
        if (last_node == NONE) return 0;
        if (emit(out, ends[last_index], PyTuple_GET_ITEM(m->values, nodes[last_node].value)) < 0) return -1;
        /* start over just past the match: matches do not overlap */
        state = ROOT;
        index = last_index;
        last_node = NONE;
        last_index = -1;
    }
}

/* iter's walk, as walk_longest's: every word ending at each character, the longest first. */
static int walk_every(const Automaton *m, const uint32_t *cps, const uint32_t *ends, Py_ssize_t n, PyObject *out) {
    const Node *nodes = m->nodes;
    uint32_t state = ROOT;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t next = NONE;
        for (uint32_t s = state; s != NONE && next == NONE; s = nodes[s].fail) next = next_of(m, s, cps[i]);
        state = next == NONE ? ROOT : NODE(next);
        for (uint32_t w = nodes[state].out; w != NONE; w = nodes[w].fail == NONE ? NONE : nodes[nodes[w].fail].out)
            if (emit(out, ends[i], PyTuple_GET_ITEM(m->values, nodes[w].value)) < 0) return -1;
    }
    return 0;
}

typedef int (*Walk)(const Automaton *, const uint32_t *, const uint32_t *, Py_ssize_t, PyObject *);

#define ON_STACK 512 /* code points: most reports are shorter */

/* A pass over text, the latin-1 view of UTF-8 bytes (lexicon.as_bytes): its matches as [(end, value)], end the
   offset of a match's last byte. */
static PyObject *pass(Automaton *m, PyObject *text, Walk walk) {
    if (!PyUnicode_Check(text) || PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        PyErr_SetString(PyExc_TypeError, "text must be str of latin-1 characters (UTF-8 bytes)");
        return NULL;
    }
    if (m->nodes == NULL) {
        PyErr_SetString(PyExc_ValueError, "Automaton not initialised");
        return NULL;
    }
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    if (size >= (Py_ssize_t)1 << 31) {
        PyErr_SetString(PyExc_ValueError, "text too long");
        return NULL;
    }
    uint32_t stack[2 * ON_STACK];
    uint32_t *cps = stack, *ends = stack + ON_STACK;
    if (size > ON_STACK) {
        cps = PyMem_Malloc((size_t)size * 2 * sizeof(uint32_t));
        if (cps == NULL) return PyErr_NoMemory();
        ends = cps + size;
    }
    PyObject *out = NULL;
    Py_ssize_t n = decode(PyUnicode_1BYTE_DATA(text), size, cps, ends);
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "text is not UTF-8");
    } else if ((out = PyList_New(0)) != NULL && walk(m, cps, ends, n, out) < 0) {
        Py_CLEAR(out);
    }
    if (cps != stack) PyMem_Free(cps);
    return out;
}

static PyObject *Automaton_longest(Automaton *m, PyObject *text) { return pass(m, text, walk_longest); }

static PyObject *Automaton_every(Automaton *m, PyObject *text) { return pass(m, text, walk_every); }

static PyMethodDef Automaton_methods[] = {
    {"longest", (PyCFunction)Automaton_longest, METH_O, "longest(text) -> [(end, value)]: list(automaton.iter_long(text))"},
    {"every", (PyCFunction)Automaton_every, METH_O, "every(text) -> [(end, value)]: list(automaton.iter(text))"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject AutomatonType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "router.domain._automaton.Automaton",
    .tp_basicsize = sizeof(Automaton),
    .tp_dealloc = (destructor)Automaton_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An automaton's passes, one call each (see router/domain/passes.py).",
    .tp_methods = Automaton_methods,
    .tp_init = (initproc)Automaton_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "router.domain._automaton", "An automaton's passes in C.", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__automaton(void) {
    if (PyType_Ready(&AutomatonType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&AutomatonType);
    if (PyModule_AddObject(m, "Automaton", (PyObject *)&AutomatonType) < 0) {
        Py_DECREF(&AutomatonType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
