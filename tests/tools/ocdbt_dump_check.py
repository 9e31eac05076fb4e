#!/usr/bin/python3
"""Checks databases written by cairn's OCDBT writer with the independent decoder ocdbt_dump.py.

    ocdbt_dump_check.py FIXTURE_TOOL WORK_DIR [GOLDEN_ROOT]

Runs FIXTURE_TOOL (tests/tools/ocdbt_write_fixture.cc) into WORK_DIR, then requires the decoder
to list, for each database there, exactly the keys of its `.values` directory with the SHA-256
of each value. A damaged copy of one database must be caught. With GOLDEN_ROOT, every Orbax
database there that has its data files decodes to its four zarr keys. Exits 1 on any failure.
"""

import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ocdbt_dump  # noqa: E402

DATABASES = ["empty", "one", "mixed", "uncompressed", "merged"]


def expected_of(values_dir):
    out = {}
    for name in os.listdir(values_dir):
        key = bytes.fromhex(name).decode("utf-8", "surrogateescape")
        with open(os.path.join(values_dir, name), "rb") as f:
            out[key] = hashlib.sha256(f.read()).hexdigest()
    return out


def differences(expected, actual):
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            problems.append("missing key %r" % key)
        elif key not in expected:
            problems.append("unexpected key %r" % key)
        elif expected[key] != actual[key]:
            problems.append("value of %r differs" % key)
    return problems


def check_written(work):
    failures = 0
    for name in DATABASES:
        expected = expected_of(os.path.join(work, name + ".values"))
        try:
            actual = ocdbt_dump.Database(os.path.join(work, name)).dump()
        except (ocdbt_dump.FormatError, OSError) as error:
            print("FAIL %s: %s" % (name, error))
            failures += 1
            continue
        problems = differences(expected, actual)
        print("%s %s: %d keys" % ("FAIL" if problems else "ok", name, len(actual)))
        for problem in problems[:10]:
            print("  " + problem)
        failures += bool(problems)
    return failures


def check_damage_is_caught(work):
    """One byte of a value changed in a copy: the decoder must no longer agree."""
    copy = os.path.join(work, "damaged")
    shutil.copytree(os.path.join(work, "mixed"), copy)
    data_dir = os.path.join(copy, "d")
    first = sorted(os.listdir(data_dir), key=lambda n: os.path.getsize(os.path.join(data_dir, n)))[-1]
    with open(os.path.join(data_dir, first), "r+b") as f:
        byte = f.read(1)
        f.seek(0)
        f.write(bytes([byte[0] ^ 0xFF]))
    expected = expected_of(os.path.join(work, "mixed.values"))
    try:
        caught = bool(differences(expected, ocdbt_dump.Database(copy).dump()))
    except ocdbt_dump.FormatError:
        caught = True
    print("%s a changed byte is caught" % ("ok" if caught else "FAIL"))
    return 0 if caught else 1


def check_golden(root):
    failures = 0
    checked = 0
    for dirpath, _, filenames in sorted(os.walk(root)):
        if "manifest.ocdbt" not in filenames or not os.path.isdir(os.path.join(dirpath, "d")):
            continue
        try:
            keys = sorted(ocdbt_dump.Database(dirpath).dump())
        except (ocdbt_dump.FormatError, OSError) as error:
            print("FAIL golden %s: %s" % (dirpath, error))
            failures += 1
            continue
        v1 = "/v1_checkpoints/" in dirpath
        want = (["a/c/0", "a/zarr.json", "b.c/c/0", "b.c/zarr.json"] if v1 else
                ["a/.zarray", "a/0", "b.c/.zarray", "b.c/0"])
        if keys != want:
            print("FAIL golden %s: keys %s" % (dirpath, keys))
            failures += 1
        checked += 1
    print("%s golden: %d databases" % ("FAIL" if failures or not checked else "ok", checked))
    return failures + (checked == 0)


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    tool, work = argv[1], argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run([tool, work], check=True)
    failures = check_written(work) + check_damage_is_caught(work)
    if len(argv) == 4 and os.path.isdir(argv[3]):
        failures += check_golden(argv[3])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
