"""`pip install ./python`: builds the _cairn extension with the project's own CMake build
(the library and the module only) and installs the package. Offline, with Debian's setuptools:

  pip install --no-build-isolation --break-system-packages ./python

Extra CMake arguments can be given in CAIRN_CMAKE_ARGS (space-separated).
"""

import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = os.path.join(os.path.abspath(self.build_temp), "cmake")
        configure = [
            "cmake", "-S", SOURCE, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
            "-DCAIRN_BUILD_TESTS=OFF", "-DCAIRN_BUILD_BENCH=OFF", "-DCAIRN_BUILD_EXAMPLES=OFF",
            "-DCAIRN_BUILD_CLI=OFF", "-DCAIRN_BUILD_MPI=OFF", "-DCAIRN_BUILD_PYTHON=ON",
            "-DPython3_EXECUTABLE=" + sys.executable,
        ] + os.environ.get("CAIRN_CMAKE_ARGS", "").split()
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", build, "--target", "_cairn"], check=True)
        built = os.path.join(build, "python", "cairn", os.path.basename(self.get_ext_filename(
            ext.name.split(".")[-1])))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="cairn",
    version="0.1.0",
    description="Checkpoints for training loops, over cairn's C++ core",
    packages=["cairn"],
    package_data={"cairn": ["*.pyi", "py.typed"]},
    ext_modules=[Extension("cairn._cairn", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    zip_safe=False,
)
