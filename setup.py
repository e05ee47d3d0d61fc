from setuptools import setup

setup(cffi_modules=["fast_litellm/_build.py:ffibuilder"])
