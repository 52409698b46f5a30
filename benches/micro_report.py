#!/usr/bin/env python3
"""Markdown tables from criterion's saved estimates (target/criterion), one per group.

    cargo bench -p ws-benches --bench mask --bench utf8 --bench frame --bench handshake
    python3 benches/micro_report.py [target/criterion] > micro.md

Each row is one input size; each column one implementation: median time per iteration and,
where the bench set Throughput::Bytes, the throughput (GiB/s); beside each other column,
"ours N×": how many times as fast ours (the first column) is, above 1 ours is faster.
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else 'target/criterion'
rows = {}  # group -> {param -> {function -> (ns, bytes)}}
for dirpath, dirnames, filenames in os.walk(root):
    if os.path.basename(dirpath) != 'new' or 'benchmark.json' not in filenames:
        continue
    bench = json.load(open(os.path.join(dirpath, 'benchmark.json')))
    est = json.load(open(os.path.join(dirpath, 'estimates.json')))
    ns = est['median']['point_estimate']
    tp = bench.get('throughput') or {}
    nbytes = tp.get('Bytes') or tp.get('BytesDecimal')
    group = bench['group_id']
    func = bench.get('function_id') or ''
    param = bench.get('value_str') or ''
    # frame_header puts "encode/..." in the function id: split that into the group.
    if '/' in func:
        sub, func = func.split('/', 1)
        group = f'{group}/{sub}'
    rows.setdefault(group, {}).setdefault(param, {})[func] = (ns, nbytes)


def size_key(p):
    try:
        return (0, int(p))
    except ValueError:
        return (1, p)


def fmt_time(ns):
    if ns >= 1e6:
        return f'{ns / 1e6:.2f} ms'
    if ns >= 1e3:
        return f'{ns / 1e3:.2f} µs'
    return f'{ns:.1f} ns'


def fmt_size(p):
    try:
        n = int(p)
    except ValueError:
        return p or '–'
    if n >= 1 << 20:
        return f'{n >> 20} MiB'
    if n >= 1 << 10:
        return f'{n >> 10} KiB'
    return f'{n} B'


for group in sorted(rows):
    params = sorted(rows[group], key=size_key)
    funcs = []
    for p in params:
        for f in rows[group][p]:
            if f not in funcs:
                funcs.append(f)
    ours = [f for f in funcs if f.startswith('ws_proto') or f.startswith('ws-proto')]
    funcs = ours + [f for f in funcs if f not in ours]
    print(f'#### {group}\n')
    print('| size | ' + ' | '.join(f'`{f}`' for f in funcs) + ' |')
    print('|---' * (len(funcs) + 1) + '|')
    for p in params:
        cells = []
        base = rows[group][p].get(funcs[0])
        for f in funcs:
            v = rows[group][p].get(f)
            if not v:
                cells.append('–')
                continue
            ns, nbytes = v
            cell = fmt_time(ns)
            if nbytes:
                cell += f', {nbytes / ns * 1e9 / (1 << 30):.2f} GiB/s'
            if base and f != funcs[0]:
                # How many times as fast ours is: above 1, ours is faster.
                cell += f' (ours {ns / base[0]:.2f}×)'
            cells.append(cell)
        print(f'| {fmt_size(p)} | ' + ' | '.join(cells) + ' |')
    print()
