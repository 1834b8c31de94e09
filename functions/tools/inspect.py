#!/usr/bin/env python3
"""Checks lambda-sim handler modules against the ABI contract (docs/abi.md, version 1) without extra tools.

Usage: python3 tools/inspect.py [-v] MODULE.wasm...   (default: every target/wasm32-wasip1/release/*.wasm)

For each module it prints the size, the exports, the imports per module and the custom sections, and checks that:
- exactly one `lambda-sim-abi` custom section exists and holds "1";
- `memory` and `handle` are exported (`handle` and `init` with type () -> i32);
- imports come only from `lambda` and `wasi_snapshot_preview1`, and `lambda` imports have the ABI's signatures.
Exits non-zero if any module fails a check.
"""

import glob
import os
import sys

I32, I64 = 0x7F, 0x7E
VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}

LAMBDA_IMPORTS = {
    "event_len": ((), (I32,)),
    "event_read": ((I32, I32), (I32,)),
    "response_write": ((I32, I32), (I32,)),
    "error": ((I32, I32, I32, I32), ()),
    "request_id": ((I32, I32), (I32,)),
    "remaining_time_ms": ((), (I64,)),
    "wait_us": ((I64,), (I32,)),
}
EXPORT_TYPES = {"handle": ((), (I32,)), "init": ((), (I32,)), "_initialize": ((), ())}


class Reader:
    def __init__(self, data, pos=0, end=None):
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u32(self):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def bytes(self, n):
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def name(self):
        return self.bytes(self.u32()).decode("utf-8", "replace")

    def limits(self):
        flags = self.byte()
        self.u32()
        if flags & 1:
            self.u32()


def parse(data):
    if data[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module")
    r = Reader(data, 8)
    types, func_types, imports, exports, customs = [], [], [], [], []
    imported_funcs = 0
    while r.pos < len(data):
        sid, size = r.byte(), r.u32()
        start = r.pos
        s = Reader(data, start, start + size)
        if sid == 0:
            name = s.name()
            customs.append((name, data[s.pos:start + size]))
        elif sid == 1:
            for _ in range(s.u32()):
                if s.byte() != 0x60:
                    raise ValueError("unsupported type form")
                params = tuple(s.byte() for _ in range(s.u32()))
                results = tuple(s.byte() for _ in range(s.u32()))
                types.append((params, results))
        elif sid == 2:
            for _ in range(s.u32()):
                module, field, kind = s.name(), s.name(), s.byte()
                desc = None
                if kind == 0:
                    desc = types[s.u32()]
                    imported_funcs += 1
                elif kind == 1:
                    s.byte()
                    s.limits()
                elif kind == 2:
                    s.limits()
                elif kind == 3:
                    s.byte()
                    s.byte()
                imports.append((module, field, kind, desc))
        elif sid == 3:
            func_types = [types[s.u32()] for _ in range(s.u32())]
        elif sid == 7:
            for _ in range(s.u32()):
                name, kind, index = s.name(), s.byte(), s.u32()
                exports.append((name, kind, index))
        r.pos = start + size
    return types, func_types, imported_funcs, imports, exports, customs


def sig(t):
    params, results = t
    return "(%s) -> (%s)" % (", ".join(VALTYPES.get(p, hex(p)) for p in params),
                             ", ".join(VALTYPES.get(x, hex(x)) for x in results))


def check(path, verbose):
    data = open(path, "rb").read()
    types, func_types, imported_funcs, imports, exports, customs = parse(data)
    problems = []
    kinds = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}

    abi = [payload for name, payload in customs if name == "lambda-sim-abi"]
    if len(abi) != 1:
        problems.append("%d lambda-sim-abi sections (want exactly 1)" % len(abi))
    elif abi[0].strip() != b"1":
        problems.append("lambda-sim-abi section holds %r (want b'1')" % abi[0])

    export_map = {name: (kind, index) for name, kind, index in exports}
    if export_map.get("memory", (None,))[0] != 2:
        problems.append("no memory export named 'memory'")
    if "handle" not in export_map:
        problems.append("no 'handle' export")
    for name, want in EXPORT_TYPES.items():
        if name in export_map:
            kind, index = export_map[name]
            got = (func_types[index - imported_funcs] if index >= imported_funcs
                   else imports[[i for i, imp in enumerate(imports) if imp[2] == 0][index]][3]) if kind == 0 else None
            if got != want:
                problems.append("export %s has type %s (want %s)" % (name, sig(got) if got else kinds[kind], sig(want)))

    by_module = {}
    for module, field, kind, desc in imports:
        by_module.setdefault(module, []).append(field)
        if module == "lambda":
            want = LAMBDA_IMPORTS.get(field)
            if want is None:
                problems.append("unknown lambda import %s" % field)
            elif desc != want:
                problems.append("lambda.%s has type %s (want %s)" % (field, sig(desc), sig(want)))
        elif module != "wasi_snapshot_preview1":
            problems.append("import from module %r (%s)" % (module, field))

    print("%s: %d bytes (%.2f MB)" % (path, len(data), len(data) / 1e6))
    print("  exports: %s" % ", ".join("%s(%s)" % (n, kinds.get(k, k)) for n, k, _ in exports))
    for module, fields in sorted(by_module.items()):
        print("  imports %s: %s" % (module, ", ".join(sorted(fields)) if verbose or module == "lambda"
                                     else "%d functions" % len(fields)))
    print("  custom sections: %s" % ", ".join("%s(%d B)" % (n, len(p)) for n, p in customs))
    for p in problems:
        print("  PROBLEM: " + p)
    print("  " + ("OK" if not problems else "FAILED"))
    return not problems


def main(argv):
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    if not paths:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        paths = sorted(glob.glob(os.path.join(here, "target", "wasm32-wasip1", "release", "*.wasm")))
    if not paths:
        print("no modules found; build with: cargo build --release --target wasm32-wasip1", file=sys.stderr)
        return 2
    ok = all([check(p, verbose) for p in paths])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
