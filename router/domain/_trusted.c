/* A pydantic model from trusted values in one C call: router/domain/build.py, trusted().

A decision builds about seven models (the decision, its evidence, its alternatives) from values known valid, and
trusted() in Python makes each by object.__new__ and the four setters of BaseModel's slots (__dict__ and three
members), each a call through a wrapper: about 400 ns a model, a twentieth of a decision. Here the same steps are
one call: the class's allocator (what object.__new__ calls), then the __dict__ and the three members set through
the same descriptors' definitions, so the model is the one the Python steps make.
*/

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyTypeObject *base;              /* pydantic's BaseModel: every class made must derive from it */
static PyMemberDef *fields_set, *extra, *private_; /* its members __pydantic_fields_set__, _extra__, _private__ */

static PyMemberDef *member_of(PyObject *descriptor, const char *name) {
    if (descriptor == NULL || !PyObject_TypeCheck(descriptor, &PyMemberDescr_Type)
        || ((PyMemberDescrObject *)descriptor)->d_member->type != T_OBJECT_EX
        || ((PyMemberDescrObject *)descriptor)->d_member->flags & READONLY) {
        PyErr_Format(PyExc_TypeError, "%s: a writable object slot expected", name);
        return NULL;
    }
    return ((PyMemberDescrObject *)descriptor)->d_member;
}

/* setup(BaseModel): read BaseModel's slots once. */
static PyObject *setup(PyObject *module, PyObject *model) {
    (void)module;
    if (!PyType_Check(model)) {
        PyErr_SetString(PyExc_TypeError, "setup takes pydantic's BaseModel");
        return NULL;
    }
    PyObject *slots = ((PyTypeObject *)model)->tp_dict;
    PyMemberDef *f = member_of(PyDict_GetItemString(slots, "__pydantic_fields_set__"), "__pydantic_fields_set__");
    PyMemberDef *e = f ? member_of(PyDict_GetItemString(slots, "__pydantic_extra__"), "__pydantic_extra__") : NULL;
    PyMemberDef *p = e ? member_of(PyDict_GetItemString(slots, "__pydantic_private__"), "__pydantic_private__") : NULL;
    if (p == NULL) return NULL;
    Py_INCREF(model);
    Py_XSETREF(base, (PyTypeObject *)model);
    fields_set = f, extra = e, private_ = p;
    Py_RETURN_NONE;
}

/* made(cls, values, fields): an instance of cls holding the dict `values`, its fields set `fields`, no extra and no
   private values. */
static PyObject *made(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "made(cls, values, fields)");
        return NULL;
    }
    if (base == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup(BaseModel) first");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    if (!PyType_Check(args[0]) || !PyType_IsSubtype(cls, base) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "made takes a BaseModel class and a dict");
        return NULL;
    }
    if (cls->tp_flags & Py_TPFLAGS_IS_ABSTRACT) { /* as object.__new__ refuses it */
        PyErr_Format(PyExc_TypeError, "can't instantiate abstract class %s", cls->tp_name);
        return NULL;
    }
    PyObject *model = cls->tp_alloc(cls, 0);
    if (model == NULL) return NULL;
    if (PyObject_GenericSetDict(model, args[1], NULL) < 0 || PyMember_SetOne((char *)model, fields_set, args[2]) < 0
        || PyMember_SetOne((char *)model, extra, Py_None) < 0 || PyMember_SetOne((char *)model, private_, Py_None) < 0) {
        Py_DECREF(model);
        return NULL;
    }
    return model;
}

static PyMethodDef methods[] = {
    {"setup", (PyCFunction)setup, METH_O, "setup(BaseModel): read its slots once"},
    {"made", (PyCFunction)(void (*)(void))made, METH_FASTCALL, "made(cls, values, fields) -> a model of cls"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "router.domain._trusted", "Pydantic models from trusted values in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__trusted(void) { return PyModule_Create(&module); }
