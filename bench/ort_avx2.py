#!/usr/bin/python3
"""Make a copy of onnxruntime-node 1.30.0 whose CPU library runs its AVX2 kernels on a CPU with AVX-512.

  bench/ort_avx2.py SRC DST      (SRC, DST: folders holding node_modules/onnxruntime-node)

For `bench/run --hold-avx2`: on a machine with AVX-512, the AVX2 path of ours is compared with peers that run
their AVX2 code too. ONNX Runtime picks its kernels from cpuid and XCR0 with no switch, so this copies SRC to DST
(every file hard-linked, the x64 library copied) and, in the copy of libonnxruntime.so.1, turns off the three
places that see AVX-512:
  - MLAS's platform table (`if (Cpuid7[1] & 0x10000) ...`, AVX512F): the branch that installs the AVX-512 GEMM,
    conv and activation kernels is never taken (`je` -> `jmp`); the AVX2/FMA3 ones it installed before stay;
  - ORT's CPUIDInfo (`(xcr0 & 0xe6) == 0xe6`, twice): compared with 0xe7, so it never holds;
  - cpuinfo's XCR0 test for the AVX-512 state: `test $0xe6` becomes `test $0xff`, never zero here.
The library must be 1.30.0's x64 one, byte for byte (its SHA-256), and every patched place must hold the
expected bytes; the result's SHA-256 is checked too. A DST already holding the patched library is left as it is.
Anything else: one line on stderr and exit 1, DST untouched (the copy is built beside it and renamed into place).
"""
import hashlib
import os
import shutil
import sys

LIB = "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"
STOCK_SHA256 = "ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
HELD_SHA256 = "535ba151e091bc15642ea30de7acd8ac91cadae4f15742a61b688331c4d0b86d"
# (file offset, old bytes, new bytes); .text's file offsets equal its addresses in this library
PATCHES = [
    (0x16ABD1B, b"\x74\x0e", b"\xeb\x0e"),  # MLAS: test $0x10000,%r10d (AVX512F); je -> jmp past the AVX-512 table
    (0x17EB4EB, b"\xe6", b"\xe7"),          # CPUIDInfo: cmp $0xe6,%r14d -> cmp $0xe7 (xcr0 & 0xe6 never is)
    (0x17EB539, b"\xe6", b"\xe7"),          # CPUIDInfo: the same compare, second use
    (0x1CC77C2, b"\xe6", b"\xff"),          # cpuinfo: test $0xe6,%al on ~xcr0 -> test $0xff (never zero)
]


def fail(msg):
    sys.stderr.write("ort_avx2: %s\n" % msg)
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def patched(lib_bytes):
    b = bytearray(lib_bytes)
    for off, old, new in PATCHES:
        if b[off:off + len(old)] != old:
            fail("%s: at 0x%x expected %s, found %s" % (LIB, off, old.hex(), b[off:off + len(old)].hex()))
        b[off:off + len(new)] = new
    return bytes(b)


def main(argv):
    if len(argv) != 2:
        fail("usage: ort_avx2.py SRC DST (folders holding node_modules/onnxruntime-node)")
    src, dst = argv
    if os.path.isfile(os.path.join(dst, LIB)) and sha256(os.path.join(dst, LIB)) == HELD_SHA256:
        return
    if not os.path.isfile(os.path.join(src, LIB)):
        fail("%s: no %s (is onnxruntime-node installed there?)" % (src, LIB))
    if sha256(os.path.join(src, LIB)) != STOCK_SHA256:
        fail("%s: not onnxruntime-node 1.30.0's x64 library (SHA-256 differs): its AVX-512 checks are elsewhere"
             % os.path.join(src, LIB))
    tmp = dst.rstrip("/") + ".tmp%d" % os.getpid()
    try:
        shutil.copytree(src, tmp, symlinks=True, copy_function=link_or_copy)
        lib = os.path.join(tmp, LIB)
        with open(lib, "rb") as f:
            data = patched(f.read())
        os.unlink(lib)  # a hard link to the stock library: write a new file instead
        with open(lib, "wb") as f:
            f.write(data)
        shutil.copymode(os.path.join(src, LIB), lib)
        if sha256(lib) != HELD_SHA256:
            fail("%s: the patched library's SHA-256 is not the expected one" % lib)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        os.rename(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
