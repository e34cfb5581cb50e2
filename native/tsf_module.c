/* rbm_studio.playback._tsf: the built-in synth's native core, TinySoundFont (tsf.h, MIT) and
 * stb_vorbis (SF3 samples, public domain / MIT), vendored from the tinysoundfont 0.3.7 sdist.
 *
 * Why our own binding: the tinysoundfont package declares pyaudio (no Linux/macOS wheels) and its
 * wheels stop at Python 3.12, so a plain `pip install` of RBM Studio could not get a synth. This
 * module uses only the stable ABI (Py_LIMITED_API 3.11): one abi3 build serves every later Python.
 *
 * It takes SoundFont bytes that rbm_studio.playback.soundfont_check has already checked (the
 * Python side never hands it anything else). Every call takes the object's lock with the GIL
 * released, so rendering in the audio thread never holds up Python and two threads can never be
 * inside tsf at once.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include "stb_vorbis.c"
#define TSF_IMPLEMENTATION
#include "tsf.h"

#define CHANNELS 16
#define CONTROLLER_ALL_SOUND_OFF 120

typedef struct {
    PyObject_HEAD
    tsf *font;
    PyThread_type_lock lock;
} SynthObject;

#define LOCKED(self, statement)                                 \
    do {                                                        \
        Py_BEGIN_ALLOW_THREADS                                  \
        PyThread_acquire_lock((self)->lock, WAIT_LOCK);         \
        statement;                                              \
        PyThread_release_lock((self)->lock);                    \
        Py_END_ALLOW_THREADS                                    \
    } while (0)

static int check_channel_key(int channel, int key) {
    if (channel < 0 || channel >= CHANNELS || key < 0 || key > 127) {
        PyErr_SetString(PyExc_ValueError, "channel must be 0-15 and key 0-127");
        return -1;
    }
    return 0;
}

static int Synth_init(SynthObject *self, PyObject *args, PyObject *kwds) {
    static char *keywords[] = {"data", "sample_rate", "gain_db", "max_voices", NULL};
    Py_buffer data;
    int sample_rate, max_voices;
    float gain_db;
    tsf *font;
    if (self->font != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Synth is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*ifi", keywords, &data, &sample_rate, &gain_db,
                                     &max_voices))
        return -1;
    if (data.len > INT_MAX || sample_rate < 1 || max_voices < 1) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "SoundFont too large, or sample rate / voices below 1");
        return -1;
    }
    if (self->lock == NULL) self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        PyBuffer_Release(&data);
        PyErr_NoMemory();
        return -1;
    }
    Py_BEGIN_ALLOW_THREADS
    font = tsf_load_memory(data.buf, (int)data.len);  /* copies what it keeps */
    if (font != NULL) {
        tsf_set_output(font, TSF_STEREO_INTERLEAVED, sample_rate, gain_db);
        tsf_set_max_voices(font, max_voices);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (font == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Could not load SoundFont from bytes");
        return -1;
    }
    self->font = font;
    return 0;
}

static void Synth_dealloc(SynthObject *self) {
    PyTypeObject *type = Py_TYPE((PyObject *)self);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    if (self->font != NULL) tsf_close(self->font);
    if (self->lock != NULL) PyThread_free_lock(self->lock);
    tp_free(self);
    Py_DECREF(type);
}

static int ready(SynthObject *self) {
    if (self->font == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Synth has no SoundFont (its __init__ failed)");
        return -1;
    }
    return 0;
}

static PyObject *Synth_has_preset(SynthObject *self, PyObject *args) {
    int bank, preset, index;
    if (ready(self) < 0 || !PyArg_ParseTuple(args, "ii", &bank, &preset)) return NULL;
    LOCKED(self, index = tsf_get_presetindex(self->font, bank, preset));
    return PyBool_FromLong(index != -1);
}

static PyObject *Synth_program_select(SynthObject *self, PyObject *args) {
    int channel, bank, preset, drums, ok = 0;
    if (ready(self) < 0 || !PyArg_ParseTuple(args, "iiip", &channel, &bank, &preset, &drums))
        return NULL;
    if (check_channel_key(channel, preset) < 0) return NULL;
    LOCKED(self, ok = tsf_channel_set_bank(self->font, channel, bank) &&
                      tsf_channel_set_presetnumber(self->font, channel, preset, drums));
    return PyBool_FromLong(ok);
}

static PyObject *Synth_note_on(SynthObject *self, PyObject *args) {
    int channel, key, velocity;
    float level;
    if (ready(self) < 0 || !PyArg_ParseTuple(args, "iii", &channel, &key, &velocity)) return NULL;
    if (check_channel_key(channel, key) < 0) return NULL;
    if (velocity < 0 || velocity > 127) {
        PyErr_SetString(PyExc_ValueError, "velocity must be 0-127");
        return NULL;
    }
    level = (float)((double)velocity / 127.0);
    LOCKED(self, tsf_channel_note_on(self->font, channel, key, level));
    Py_RETURN_NONE;
}

static PyObject *Synth_note_off(SynthObject *self, PyObject *args) {
    int channel, key;
    if (ready(self) < 0 || !PyArg_ParseTuple(args, "ii", &channel, &key)) return NULL;
    if (check_channel_key(channel, key) < 0) return NULL;
    LOCKED(self, tsf_channel_note_off(self->font, channel, key));
    Py_RETURN_NONE;
}

static PyObject *Synth_control_change(SynthObject *self, PyObject *args) {
    int channel, controller, value;
    if (ready(self) < 0 || !PyArg_ParseTuple(args, "iii", &channel, &controller, &value))
        return NULL;
    if (check_channel_key(channel, controller) < 0) return NULL;
    if (value < 0 || value > 127) {
        PyErr_SetString(PyExc_ValueError, "controller value must be 0-127");
        return NULL;
    }
    LOCKED(self, tsf_channel_midi_control(self->font, channel, controller, value));
    Py_RETURN_NONE;
}

static PyObject *Synth_sounds_off(SynthObject *self, PyObject *Py_UNUSED(ignored)) {
    int channel;
    if (ready(self) < 0) return NULL;
    LOCKED(self, for (channel = 0; channel < CHANNELS; channel++) tsf_channel_midi_control(
                     self->font, channel, CONTROLLER_ALL_SOUND_OFF, 0));
    Py_RETURN_NONE;
}

static PyObject *Synth_render_into(SynthObject *self, PyObject *args) {
    Py_buffer out;
    Py_ssize_t frames;
    if (ready(self) < 0 || !PyArg_ParseTuple(args, "w*", &out)) return NULL;
    if (!PyBuffer_IsContiguous(&out, 'C') || out.len % (Py_ssize_t)(2 * sizeof(float))) {
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError,
                        "the buffer must be C-contiguous, whole stereo float32 frames");
        return NULL;
    }
    frames = out.len / (Py_ssize_t)(2 * sizeof(float));
    if (frames > INT_MAX) {
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "too many frames in one render");
        return NULL;
    }
    if (frames > 0) LOCKED(self, tsf_render_float(self->font, (float *)out.buf, (int)frames, 0));
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyMethodDef Synth_methods[] = {
    {"has_preset", (PyCFunction)Synth_has_preset, METH_VARARGS,
     "has_preset(bank, preset): whether the SoundFont has that preset."},
    {"program_select", (PyCFunction)Synth_program_select, METH_VARARGS,
     "program_select(channel, bank, preset, drums): False when no such preset exists."},
    {"note_on", (PyCFunction)Synth_note_on, METH_VARARGS, "note_on(channel, key, velocity)"},
    {"note_off", (PyCFunction)Synth_note_off, METH_VARARGS, "note_off(channel, key)"},
    {"control_change", (PyCFunction)Synth_control_change, METH_VARARGS,
     "control_change(channel, controller, value)"},
    {"sounds_off", (PyCFunction)Synth_sounds_off, METH_NOARGS,
     "sounds_off(): every voice on every channel stops at once."},
    {"render_into", (PyCFunction)Synth_render_into, METH_VARARGS,
     "render_into(buffer): fill a writable buffer of stereo float32 frames."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Synth_slots[] = {
    {Py_tp_doc, (void *)"Synth(data, sample_rate, gain_db, max_voices): one SoundFont, 16 channels."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, (void *)Synth_init},
    {Py_tp_dealloc, (void *)Synth_dealloc},
    {Py_tp_methods, Synth_methods},
    {0, NULL},
};

static PyType_Spec Synth_spec = {
    "rbm_studio.playback._tsf.Synth",
    sizeof(SynthObject),
    0,
    Py_TPFLAGS_DEFAULT,
    Synth_slots,
};

static struct PyModuleDef tsf_module = {
    PyModuleDef_HEAD_INIT, "_tsf", "TinySoundFont for the built-in synth (stable ABI).", -1, NULL,
};

PyMODINIT_FUNC PyInit__tsf(void) {
    PyObject *module = PyModule_Create(&tsf_module);
    PyObject *type;
    if (module == NULL) return NULL;
    type = PyType_FromSpec(&Synth_spec);
    if (type == NULL || PyModule_AddObject(module, "Synth", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
