#!/usr/bin/python3
"""Prints every key of an OCDBT database and the SHA-256 of its value, as JSON.

A decoder of TensorStore's OCDBT format written from its published format description, apart
from cairn's C++ reader and writer, to check what the writer produces (and the golden Orbax
databases) from a second implementation. Reads the latest generation of a single-file or
numbered manifest and walks its B+tree; needs Debian's python3-zstandard for zstd nodes.

    ocdbt_dump.py DIR                 -> {"key": "sha256 hex", ...} sorted by key
    ocdbt_dump.py --extract OUT DIR   -> every value written to the file OUT/<key>
"""

import hashlib
import json
import os
import re
import struct
import sys

MANIFEST_MAGIC = 0x0CDB3A2A
BTREE_NODE_MAGIC = 0x0CDB20DE
MISSING = (1 << 64) - 1


class FormatError(Exception):
    pass


class Cursor:
    """Reads the fields of one decoded body, failing on any read past its end."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise FormatError("truncated at byte %d" % self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def byte(self):
        return self.take(1)[0]

    def varint(self):
        value = 0
        for shift in range(0, 70, 7):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                if value >= 1 << 64:
                    raise FormatError("varint overflows 64 bits")
                return value
        raise FormatError("varint longer than 10 bytes")

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def end(self):
        if self.pos != len(self.data):
            raise FormatError("%d trailing bytes" % (len(self.data) - self.pos))


def _crc32c_table():
    table = []
    for n in range(256):
        for _ in range(8):
            n = (n >> 1) ^ (0x82F63B78 if n & 1 else 0)
        table.append(n)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC32C_TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def unframe(encoded, magic):
    """The decoded body of an encoded object, after checking its header and checksum."""
    if len(encoded) < 18:
        raise FormatError("object of %d bytes is too short" % len(encoded))
    found = struct.unpack(">I", encoded[:4])[0]
    if found != magic:
        raise FormatError("magic %08x, expected %08x" % (found, magic))
    length = struct.unpack("<Q", encoded[4:12])[0]
    if length != len(encoded):
        raise FormatError("length field %d, object is %d bytes" % (length, len(encoded)))
    stored = struct.unpack("<I", encoded[-4:])[0]
    if crc32c(encoded[:-4]) != stored:
        raise FormatError("checksum mismatch")
    header = Cursor(encoded[12:-4])
    if header.varint() != 0:
        raise FormatError("unknown format version")
    compression = header.varint()
    body = encoded[12 + header.pos:-4]
    if compression == 0:
        return body
    if compression == 1:
        import zstandard  # Debian's python3-zstandard
        reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
        return reader.read()
    raise FormatError("unknown compression %d" % compression)


def read_file_table(cur, inherited):
    """The (base path, relative path) pairs of a data file table, base paths made whole."""
    count = cur.varint()
    prefix = [0] + [cur.varint() for _ in range(count - 1)] if count else []
    suffix = [cur.varint() for _ in range(count)]
    base = [cur.varint() for _ in range(count)]
    files = []
    previous = b""
    for i in range(count):
        path = previous[:prefix[i]] + cur.take(suffix[i])
        files.append((inherited + path[:base[i]], path[base[i]:]))
        previous = path
    return files


def read_refs(cur, count):
    ids = [cur.varint() for _ in range(count)]
    offsets = [cur.varint() for _ in range(count)]
    lengths = [cur.varint() for _ in range(count)]
    return list(zip(ids, offsets, lengths))


def read_config(cur):
    cur.take(16)  # uuid
    kind = cur.byte()
    cur.varint()  # max inline value bytes
    cur.varint()  # max decoded node bytes
    arity_log2 = cur.byte()
    if cur.varint() == 1:
        cur.u32()  # zstd level
    return kind, arity_log2


class Database:
    def __init__(self, root):
        self.root = root

    def read(self, relative, offset=None, length=None):
        path = os.path.join(self.root, relative.decode())
        with open(path, "rb") as f:
            if offset is None:
                return f.read()
            f.seek(offset)
            data = f.read(length)
        if len(data) != length:
            raise FormatError("%s: %d bytes at %d past its end" % (path, length, offset))
        return data

    def latest_root(self):
        """(file, reference, height) of the latest generation's root, or None when empty."""
        body = unframe(self.read(b"manifest.ocdbt"), MANIFEST_MAGIC)
        cur = Cursor(body)
        kind, _ = read_config(cur)
        if kind == 1:  # numbered: the versions are in the highest manifest.<16 hex digits>
            numbered = sorted(n for n in os.listdir(self.root)
                              if re.fullmatch(r"manifest\.[0-9a-f]{16}", n))
            if not numbered:
                raise FormatError("numbered manifest without manifest.<generation>")
            cur = Cursor(unframe(self.read(numbered[-1].encode()), MANIFEST_MAGIC))
            read_config(cur)
        files = read_file_table(cur, b"")
        count = cur.varint()
        [cur.varint() for _ in range(count)]  # generation numbers
        heights = [cur.byte() for _ in range(count)]
        roots = read_refs(cur, count)
        for _ in range(3 * count):  # key count, tree bytes, out-of-line value bytes
            cur.varint()
        [cur.u64() for _ in range(count)]  # commit times
        nodes = cur.varint()  # version tree nodes hold only older generations
        [cur.varint() for _ in range(nodes)]
        read_refs(cur, nodes)
        [cur.varint() for _ in range(nodes)]
        [cur.u64() for _ in range(nodes)]
        [cur.byte() for _ in range(nodes)]
        cur.end()
        file_id, offset, length = roots[-1]
        if offset == MISSING and length == MISSING:
            return None
        return files[file_id], (offset, length), heights[-1]

    def walk(self, file, ref, height, prefix, out):
        """Adds every key below the node at `ref` of `file` and its value's digest to `out`."""
        base, relative = file
        body = unframe(self.read(base + relative, *ref), BTREE_NODE_MAGIC)
        cur = Cursor(body)
        if cur.byte() != height:
            raise FormatError("node height differs from its parent's expectation")
        files = read_file_table(cur, base)
        count = cur.varint()
        shared = [0] + [cur.varint() for _ in range(count - 1)]
        suffix = [cur.varint() for _ in range(count)]
        common = [cur.varint() for _ in range(count)] if height > 0 else None
        keys = []
        for i in range(count):
            keys.append((keys[-1][:shared[i]] if i else b"") + cur.take(suffix[i]))
        if height > 0:
            children = read_refs(cur, count)
            for _ in range(3 * count):
                cur.varint()
            cur.end()
            for key, scp, (file_id, offset, length) in zip(keys, common, children):
                self.walk(files[file_id], (offset, length), height - 1, prefix + key[:scp], out)
            return
        lengths = [cur.varint() for _ in range(count)]
        kinds = [cur.byte() for _ in range(count)]
        indirect = [i for i in range(count) if kinds[i] == 1]
        ids = [cur.varint() for _ in indirect]
        offsets = [cur.varint() for _ in indirect]
        values = {}
        for i in range(count):
            if kinds[i] == 0:
                values[i] = cur.take(lengths[i])
            elif kinds[i] != 1:
                raise FormatError("unknown value kind %d" % kinds[i])
        cur.end()
        for i, file_id, offset in zip(indirect, ids, offsets):
            fbase, frel = files[file_id]
            values[i] = self.read(fbase + frel, offset, lengths[i])
        for i, key in enumerate(keys):
            whole = (prefix + key).decode("utf-8", "surrogateescape")
            if whole in out:
                raise FormatError("key %r listed twice" % whole)
            out[whole] = values[i]

    def dump(self, raw=False):
        """{key: SHA-256 hex of its value}, or with `raw` {key: the value's bytes}."""
        out = {}
        root = self.latest_root()
        if root is not None:
            file, ref, height = root
            self.walk(file, ref, height, b"", out)
        if list(out) != sorted(out):
            raise FormatError("keys are not in order")
        if raw:
            return out
        return {key: hashlib.sha256(value).hexdigest() for key, value in out.items()}


def extract(values, out_dir):
    """Writes each value to out_dir/<key>; a key's '/' makes subdirectories."""
    for key, value in values.items():
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise FormatError("key %r cannot be a file name" % key)
        path = os.path.join(out_dir, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(value)


def main(argv):
    out_dir = None
    if len(argv) == 4 and argv[1] == "--extract":
        out_dir = argv[2]
        argv = [argv[0], argv[3]]
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        if out_dir is not None:
            extract(Database(argv[1]).dump(raw=True), out_dir)
            return 0
        result = Database(argv[1]).dump()
    except (FormatError, OSError) as error:
        sys.stderr.write("%s: %s\n" % (argv[1], error))
        return 1
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
