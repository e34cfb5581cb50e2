"""The one native part of RBM Studio: the built-in synth's TinySoundFont core (native/), built as a
stable-ABI (abi3) extension so one wheel serves every Python from 3.11 on. Everything else about
the package is in pyproject.toml."""

from setuptools import Extension, setup

TSF = "native/tsf"

setup(
    ext_modules=[
        Extension(
            "rbm_studio.playback._tsf",
            sources=["native/tsf_module.c"],
            include_dirs=[TSF],
            depends=[f"{TSF}/tsf.h", f"{TSF}/stb_vorbis.c"],
            define_macros=[("Py_LIMITED_API", "0x030B0000")],
            py_limited_api=True,
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp311"}},
)
