#!/usr/bin/env python3
"""Turns a benches/run.sh result file into a markdown report and PNG charts.

    python3 benches/report.py benches/results/<date>.json [--no-charts]

Writes <date>.md beside the JSON and, with matplotlib, <date>-*.png.
"""
import json
import os
import sys

PEERS = ['peer_fastwebsockets', 'peer_tokio_websockets', 'peer_tungstenite']
RAW = 'raw_tcp_echo'
# Other work on the machine (cores) above which a run is marked as disturbed.
BUSY = 0.3


def fmt_rate(v):
    if v is None:
        return '–'
    if v >= 1e6:
        return f'{v / 1e6:.2f} M'
    if v >= 1e4:
        return f'{v / 1e3:.0f} k'
    if v >= 1e3:
        return f'{v / 1e3:.1f} k'
    return f'{v:.0f}'


def fmt_ns(v):
    if v is None:
        return '–'
    if v >= 1e6:
        return f'{v / 1e6:.1f} ms'
    if v >= 1e4:
        return f'{v / 1e3:.0f} µs'
    if v >= 1e3:
        return f'{v / 1e3:.1f} µs'
    return f'{v:.0f} ns'


def ratio(a, b):
    if not a or not b:
        return '–'
    return f'{a / b:.2f}×'


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    charts = '--no-charts' not in sys.argv
    path = args[0]
    doc = json.load(open(path))
    stem = path[:-5] if path.endswith('.json') else path
    runs = doc['runs']
    servers = []
    for r in runs:
        if r.get('server') and r['server'] not in servers:
            servers.append(r['server'])
    ours = [s for s in servers if s.startswith('ws-')]
    order = ours + [s for s in servers if s == 'blocking_echo'] + [p for p in PEERS if p in servers] + \
        ([RAW] if RAW in servers else [])
    # With ROUNDS > 1 a (server, scenario) ran several times: its cell is the median round
    # by messages/s, and `spread` keeps every round's server CPU per echo.
    rounds = {}
    for r in runs:
        rounds.setdefault((r.get('server'), r.get('scenario')), []).append(r)
    by, spread, user_spread = {}, {}, {}
    for key, rs in rounds.items():
        ok = sorted((r for r in rs if r.get('ok', False)), key=lambda r: r.get('rate') or 0)
        by[key] = ok[(len(ok) - 1) // 2] if ok else rs[0]
        spread[key] = [r.get('server_cpu_ns_per_msg') for r in ok if r.get('server_cpu_ns_per_msg')]
        user_spread[key] = sorted(r['server_user_ns_per_msg'] for r in ok if r.get('server_user_ns_per_msg'))
    repeated = max((len(v) for v in spread.values()), default=1)
    scenarios = []
    for r in runs:
        if r.get('scenario') and r['scenario'] not in scenarios:
            scenarios.append(r['scenario'])

    def table(title):
        """A heading and the header of a table with one column per server."""
        md.append(title)
        md.append('| scenario | ' + ' | '.join(order) + ' |')
        md.append('|---' * (len(order) + 1) + '|')

    def get(server, scenario, key):
        r = by.get((server, scenario))
        if not r or not r.get('ok', False):
            return None
        return r.get(key)

    md = []
    md.append(f"Run of {doc['date']} at commit `{doc.get('commit', '?')}` on {doc['machine']['nproc']} cores "
              f"({doc['machine']['cpu']}), Linux {doc['machine'].get('kernel', '?')}. Command: `{doc['command']}`.\n")
    for n in doc.get('notes', []):
        md.append(f'- {n}')
    if doc.get('uncommitted'):
        md.append('- built with uncommitted changes in: ' + ', '.join(f'`{f}`' for f in doc['uncommitted']))
    failed = [r for r in runs if not r.get('ok', False)]
    if failed:
        md.append('')
        md.append('Runs that failed (shown as –):')
        for r in failed:
            md.append(f"- {r.get('server')} {r.get('scenario')}: {r.get('first_error', '?')}")
    md.append('')

    echo = [s for s in scenarios if s.startswith('echo-')]
    if echo:
        table('### Echo: messages/s (server CPU per echo)\n')
        for sc in echo:
            cells = []
            for s in order:
                rate = get(s, sc, 'rate')
                cpu = get(s, sc, 'server_cpu_ns_per_msg')
                busy = (get(s, sc, 'others_cpu_util') or 0) > BUSY
                cells.append(f'{fmt_rate(rate)} ({fmt_ns(cpu)}){"†" if busy else ""}' if rate else '–')
            md.append(f'| {sc} | ' + ' | '.join(cells) + ' |')
        md.append('')
        md.append('Scenario names: message size, `cN` connections, `kK` messages in flight per connection. '
                  'Every echo was checked byte for byte. † marks a run during which other work on the machine '
                  f'used more than {BUSY:.1f} cores of 2 (its messages/s understates; CPU per echo holds better).\n')
        if repeated > 1:
            md.append(f'Each cell is the median of up to {repeated} rounds by messages/s (`ROUNDS`), the servers '
                      'taking turns within each round.\n')
            table('### Spread over rounds: server CPU per echo, lowest – highest\n')
            for sc in echo:
                cells = []
                for s in order:
                    v = spread.get((s, sc)) or []
                    cells.append(f'{fmt_ns(min(v))} – {fmt_ns(max(v))} ({len(v)})' if v else '–')
                md.append(f'| {sc} | ' + ' | '.join(cells) + ' |')
            md.append('')

        if any(user_spread.get((s, sc)) for s in order for sc in echo):
            table('### Echo: user-space part of the server CPU per echo (median of the rounds; lowest – highest)\n')
            for sc in echo:
                cells = []
                for s in order:
                    v = user_spread.get((s, sc)) or []
                    mid = v[(len(v) - 1) // 2] if v else None
                    cells.append(f'{fmt_ns(mid)}' + (f' ({fmt_ns(v[0])} – {fmt_ns(v[-1])})' if len(v) > 1 else '')
                                 if v else '–')
                md.append(f'| {sc} | ' + ' | '.join(cells) + ' |')
            md.append('')
            md.append('The kernel\'s part (the rest of the CPU per echo, mostly loopback TCP) is much the same for '
                      'every server; the user-space part is where the servers differ. `/proc/PID/stat` splits CPU '
                      'time into user and system by the mode seen at each clock tick (250 Hz on the machine of '
                      'BENCHMARKS.md), so over a 4 s window the user part of a small echo, ~15% of its CPU, carries '
                      'a sampling error of ~7% per run (one standard deviation); the median of several rounds '
                      'less.\n')

        table('### Echo latency p50 / p99 (µs)\n')
        for sc in echo:
            cells = []
            for s in order:
                p50, p99 = get(s, sc, 'p50_us'), get(s, sc, 'p99_us')
                cells.append(f'{p50:.0f} / {p99:.0f}' if p50 is not None else '–')
            md.append(f'| {sc} | ' + ' | '.join(cells) + ' |')
        md.append('')

        for o in ours + (['blocking_echo'] if 'blocking_echo' in servers else []):
            md.append(f'### Ratios of {o}: messages/s ratio (server CPU per echo ratio; below 1 is less CPU)\n')
            cols = [p for p in PEERS if p in servers] + ['best peer'] + ([RAW] if RAW in servers else [])
            md.append('| scenario | ' + ' | '.join(f'vs {c}' for c in cols) + ' |')
            md.append('|---' * (len(cols) + 1) + '|')
            for sc in echo:
                rate, cpu = get(o, sc, 'rate'), get(o, sc, 'server_cpu_ns_per_msg')
                cells = []
                for c in cols:
                    if c == 'best peer':
                        cand = [(get(p, sc, 'rate'), p) for p in PEERS if get(p, sc, 'rate')]
                        if not cand:
                            cells.append('–')
                            continue
                        _, p = max(cand)
                    else:
                        p = c
                    pr, pc = get(p, sc, 'rate'), get(p, sc, 'server_cpu_ns_per_msg')
                    cells.append(f'{ratio(rate, pr)} ({ratio(cpu, pc)})')
                md.append(f'| {sc} | ' + ' | '.join(cells) + ' |')
            md.append('')

    def simple(prefix, title, key, fmt, extra=None):
        scs = [s for s in scenarios if s.startswith(prefix)]
        if not scs:
            return
        table(f'### {title}\n')
        for sc in scs:
            cells = []
            for s in order:
                v = get(s, sc, key)
                cells.append(fmt(v) + (extra(s, sc) if extra and v is not None else '') if v is not None else '–')
            md.append(f'| {sc} | ' + ' | '.join(cells) + ' |')
        md.append('')

    simple('connrate', 'Connection rate: connect + upgrade + close handshake per second (server CPU per cycle)', 'rate',
           fmt_rate, lambda s, sc: f" ({fmt_ns(get(s, sc, 'server_cpu_ns_per_msg'))})")
    simple('idle', 'Idle memory: server RSS growth per open WebSocket connection', 'rss_per_conn',
           lambda v: f'{v / 1024:.1f} KiB')
    simple('broadcast', 'Broadcast fan-out: deliveries/s over all receivers (server CPU per delivery)', 'rate',
           fmt_rate, lambda s, sc: f" ({fmt_ns(get(s, sc, 'server_cpu_ns_per_msg'))}; "
                                   f"{fmt_rate(get(s, sc, 'sent_rate'))} broadcasts/s)")

    deflate = [s for s in scenarios if s.startswith('deflate-')]
    if deflate:
        md.append('### Compressed echo (permessage-deflate, level 6, 15-bit windows; JSON-like text)\n')
        md.append('Raw zlib-rs does the same inflate and deflate per message on the load core: once through one warm '
                  'deflate stream, and once through one stream per connection taking turns (the state a server with '
                  'context takeover keeps; in a fixed cycle, which is the worst order for a cache).\n')
        md.append('Compression is user-space work; "extra user CPU" is the user-space part of the extra CPU, '
                  'which leaves out the kernel work that a slower echo adds per message (fewer echoes per '
                  'wake-up of either side).\n')
        md.append('| server | scenario | messages/s | server CPU/echo | same, uncompressed | extra CPU for compression '
                  '| raw zlib-rs, one warm stream | extra / that | raw zlib-rs, a stream per connection | extra / that '
                  '| extra user CPU | extra user / a stream per connection |')
        md.append('|---|---|---|---|---|---|---|---|---|---|---|---|')
        for s in order:
            for sc in deflate:
                rate = get(s, sc, 'rate')
                if rate is None:
                    continue
                cpu = get(s, sc, 'server_cpu_ns_per_msg')
                plain_sc = sc.replace('deflate-', 'echo-')
                plain = get(s, plain_sc, 'server_cpu_ns_per_msg')
                z = get(s, sc, 'zlib_ns_per_msg')
                zs = get(s, sc, 'zlib_states_ns_per_msg')
                extra = cpu - plain if cpu and plain else None
                user, plain_user = get(s, sc, 'server_user_ns_per_msg'), get(s, plain_sc, 'server_user_ns_per_msg')
                extra_user = user - plain_user if user and plain_user else None
                md.append(f'| {s} | {sc} | {fmt_rate(rate)} | {fmt_ns(cpu)} | {fmt_ns(plain)} | {fmt_ns(extra)} | '
                          f'{fmt_ns(z)} | {ratio(extra, z)} | {fmt_ns(zs)} | {ratio(extra, zs)} | '
                          f'{fmt_ns(extra_user)} | {ratio(extra_user, zs)} |')
        md.append('')

    if doc.get('strace'):
        md.append('### Syscalls per echoed message (`strace -c -f`, 100 connections, 20 B, 2 s)\n')
        md.append('Socket writes (`writev`, `sendto`, `sendmsg`) and reads (`recvfrom`, `recvmsg`, `readv`) per echo; '
                  '"all" counts every call except per-connection ones (accept, setsockopt, close, ...).\n')
        md.append('| server | in flight | socket writes/msg | socket reads/msg | epoll waits/msg | all syscalls/msg | top calls |')
        md.append('|---|---|---|---|---|---|---|')
        for t in doc['strace']:
            top = sorted(t['calls'].items(), key=lambda kv: -kv[1])[:4]
            md.append(f"| {t['server']} | {t['inflight']} | {t['writes_per_msg']:.3f} | {t['reads_per_msg']:.3f} | "
                      f"{t['epoll_per_msg']:.3f} | {t.get('syscalls_per_msg', float('nan')):.2f} | "
                      + ', '.join(f'{c} {n}' for c, n in top) + ' |')
        md.append('')

    loads = [r.get('load_cpu_util') for r in runs if r.get('load_cpu_util') is not None]
    if loads:
        busy = sum(1 for x in loads if x > 0.9)
        md.append(f'Load generator CPU: {busy} of {len(loads)} timed runs had it above 90% of its core '
                  '(there the generator, not the server, may set the rate).\n')
    others = sorted(r['others_cpu_util'] for r in runs if r.get('others_cpu_util') is not None)
    if others:
        md.append(f'Other work on the machine during the timed windows (CPU not used by the server or the load '
                  f'generator, in cores of 2): median {others[len(others) // 2]:.2f}, max {others[-1]:.2f}; '
                  f'{sum(1 for x in others if x > 0.2)} of {len(others)} runs above 0.2.\n')
    lavg = [r.get('loadavg_before') for r in runs if r.get('loadavg_before') is not None]
    if lavg:
        md.append(f'Load average before runs: min {min(lavg):.2f}, median {sorted(lavg)[len(lavg) // 2]:.2f}, '
                  f'max {max(lavg):.2f} (2 would mean both cores busy before the run started).\n')

    chart_names = []
    if charts:
        chart_names = make_charts(doc, stem, order, echo, scenarios, get)
        for c in chart_names:
            md.append(f'![{os.path.splitext(os.path.basename(c))[0]}]({os.path.basename(c)})')
        md.append('')
    open(stem + '.md', 'w').write('\n'.join(md) + '\n')
    print(stem + '.md')


def make_charts(doc, stem, order, echo, scenarios, get):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    colors = {}
    palette = ['#1f77b4', '#17becf', '#2ca02c', '#9467bd', '#aec7e8', '#ff7f0e', '#d62728', '#8c564b', '#7f7f7f']
    for i, s in enumerate(order):
        colors[s] = '#444444' if s == RAW else palette[i % len(palette)]
    out = []

    def grouped(ax, scs, key, title, ylabel, norm=None, log=False):
        n = len(order)
        width = 0.8 / n
        for i, s in enumerate(order):
            vals = []
            for sc in scs:
                v = get(s, sc, key)
                if v is not None and norm:
                    base = get(norm, sc, key)
                    v = v / base if base else None
                vals.append(v if v is not None else 0)
            xs = [j + (i - n / 2 + 0.5) * width for j in range(len(scs))]
            ax.bar(xs, vals, width, label=s, color=colors[s])
        ax.set_xticks(range(len(scs)))
        ax.set_xticklabels([sc.replace('echo-', '').replace('deflate-', '') for sc in scs], rotation=20, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel, fontsize=9)
        if log:
            ax.set_yscale('log')
        ax.grid(axis='y', alpha=0.3)

    if echo:
        k1 = [s for s in echo if s.endswith('-k1')]
        k16 = [s for s in echo if s.endswith('-k16')]
        norm = RAW if RAW in order else None
        fig, axes = plt.subplots(2, 1, figsize=(12, 8))
        grouped(axes[0], k1, 'rate', 'Echo, 1 message in flight per connection',
                'messages/s ÷ raw TCP echo' if norm else 'messages/s', norm)
        grouped(axes[1], k16, 'rate', 'Echo, 16 messages in flight per connection (pipelined)',
                'messages/s ÷ raw TCP echo' if norm else 'messages/s', norm)
        axes[0].legend(fontsize=8, ncol=4)
        fig.suptitle(f"Echo throughput relative to a raw TCP echo (1.0), {doc['date']}, server on 1 core", fontsize=11)
        fig.tight_layout()
        name = stem + '-echo-throughput.png'
        fig.savefig(name, dpi=90)
        plt.close(fig)
        out.append(name)

        fig, axes = plt.subplots(2, 1, figsize=(12, 8))
        grouped(axes[0], k1, 'server_cpu_ns_per_msg', 'Server CPU per echo, 1 in flight', 'ns (log)', log=True)
        grouped(axes[1], k16, 'server_cpu_ns_per_msg', 'Server CPU per echo, 16 in flight', 'ns (log)', log=True)
        axes[0].legend(fontsize=8, ncol=4)
        fig.suptitle('Server CPU time (user + system) per echoed message: lower is better', fontsize=11)
        fig.tight_layout()
        name = stem + '-echo-cpu.png'
        fig.savefig(name, dpi=90)
        plt.close(fig)
        out.append(name)

    other = [(p, k, t, u) for p, k, t, u in [
        ('connrate', 'rate', 'Connections/s (connect, upgrade, close)', 'cycles/s'),
        ('idle', 'rss_per_conn', 'Server RSS per idle connection', 'bytes'),
        ('broadcast', 'rate', 'Broadcast deliveries/s', 'deliveries/s'),
    ] if any(s.startswith(p) for s in scenarios)]
    if other:
        fig, axes = plt.subplots(1, len(other), figsize=(5 * len(other), 4.5), squeeze=False)
        for ax, (p, k, t, u) in zip(axes[0], other):
            scs = [s for s in scenarios if s.startswith(p)]
            names = [s for s in order if any(get(s, sc, k) is not None for sc in scs)]
            vals = [get(s, scs[0], k) or 0 for s in names]
            ax.bar(range(len(names)), vals, color=[colors[s] for s in names])
            ax.set_xticks(range(len(names)))
            ax.set_xticklabels(names, rotation=30, ha='right', fontsize=8)
            ax.set_title(t + f' ({scs[0]})', fontsize=10)
            ax.set_ylabel(u, fontsize=9)
            if p == 'idle':
                ax.set_yscale('log')
            ax.grid(axis='y', alpha=0.3)
        fig.tight_layout()
        name = stem + '-connections.png'
        fig.savefig(name, dpi=90)
        plt.close(fig)
        out.append(name)
    return out


if __name__ == '__main__':
    main()
