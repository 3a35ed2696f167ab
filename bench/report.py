#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn vpoll-bench's raw samples into results.json, results.md and plot.png.

    report.py --raw RAW.json --host HOST.json --outdir DIR

Every figure is the median of its reps with a distribution-free 95 % confidence
interval of that median (order statistics).  A ratio is the median of the
per-rep ratios of two contenders measured in the same interleaved rep; its
spread is that interval.  A target is "met" when the whole interval is on the
right side of the bound, "missed" when the whole interval is on the wrong side,
and "undecided" otherwise (the spread is larger than the margin).
Only the Python standard library is used; the plot needs gnuplot.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys

MECHS = ["vpoll", "eventfd", "pipe", "socketpair", "emulated", "module-write", "module-ioctl",
         "libvpoll-emulated"]
MECH_LABEL = {
    "vpoll": "EFD_VPOLL (ADD+DEL)",
    "eventfd": "eventfd (write+read)",
    "pipe": "pipe (write+read 1 byte)",
    "socketpair": "AF_UNIX socketpair (send+recv 1 byte)",
    "emulated": "wrapper, emulated backend (add+del readable)",
    "module-write": "module /dev/vpoll, write (ADD+DEL)",
    "module-ioctl": "module /dev/vpoll, ioctl (libvpoll's add+del)",
    "libvpoll-emulated": "Debian libvpoll, emulation (vpoll_ctl add+del IN)",
}
# Memory: one kind per object type (the module's, however it is driven).
KINDS = ["vpoll", "eventfd", "pipe", "socketpair", "emulated", "module", "libvpoll-emulated"]


def median(v):
    s = sorted(v)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def ci95(v):
    """Distribution-free ~95 % confidence interval of the median."""
    s = sorted(v)
    n = len(s)
    if n < 6:
        return s[0], s[-1]
    k = max(0, int(math.floor((n - 1.96 * math.sqrt(n)) / 2)))
    return s[k], s[n - 1 - k]


def summary(v):
    lo, hi = ci95(v)
    m = median(v)
    return {"median": m, "ci95": [lo, hi], "n": len(v),
            "spread_pct": 100 * (hi - lo) / 2 / m if m else float("nan")}


def paired(a, b):
    n = min(len(a), len(b))
    return summary([a[i] / b[i] for i in range(n) if b[i]])


def fmt_ns(s):
    return "%.0f ±%.1f%%" % (s["median"], s["spread_pct"])


def fmt_ratio(s):
    return "%.3f [%.3f, %.3f]" % (s["median"], s["ci95"][0], s["ci95"][1])


def verdict(s, op, bound):
    lo, hi = s["ci95"]
    m = s["median"]
    if op == "<=":
        if hi <= bound:
            return "met"
        if lo > bound:
            return "missed"
        return "undecided (median %s)" % ("meets" if m <= bound else "misses")
    if op == ">=":
        if lo >= bound:
            return "met"
        if hi < bound:
            return "missed"
        return "undecided (median %s)" % ("meets" if m >= bound else "misses")
    if op == ">":
        if lo > bound:
            return "met"
        if hi <= bound:
            return "missed"
        return "undecided (median %s)" % ("meets" if m > bound else "misses")
    if op == "==":
        return "met" if lo == bound and hi == bound else "missed"
    raise ValueError(op)


def analyse(raw):
    res = {"setclear": {}, "handoff": {}, "memory": {}, "scale": {}, "fanout": {}}
    targets = []

    def target(name, s, op, bound, note=""):
        targets.append({"id": ("T%d" % (1 + sum(1 for t in targets if not t["note"]))) if not note
                        else ("I%d" % (1 + sum(1 for t in targets if t["note"]))),
                        "target": name, "op": op, "bound": bound, "ratio": s,
                        "verdict": verdict(s, op, bound) if not note else "-", "note": note})

    # 1. set and clear
    if "setclear" in raw:
        sc = {(c["waiter"], c["mech"]): c["ns"] for c in raw["setclear"]}
        for (w, m), v in sc.items():
            res["setclear"]["%s/%s" % (m, w)] = dict(summary(v), vs_vpoll=paired(v, sc[(w, "vpoll")]))
        for w, wl in (("none", "no waiter"), ("epoll", "one epoll waiter")):
            target("set-and-clear, %s: vpoll / eventfd" % wl,
                   paired(sc[(w, "vpoll")], sc[(w, "eventfd")]), "<=", 1.05)
            target("set-and-clear, %s: pipe / vpoll" % wl,
                   paired(sc[(w, "pipe")], sc[(w, "vpoll")]), ">=", 1.5)
            target("set-and-clear, %s: socketpair / vpoll" % wl,
                   paired(sc[(w, "socketpair")], sc[(w, "vpoll")]), ">=", 2.5)
            target("set-and-clear, %s: emulated backend / vpoll" % wl,
                   paired(sc[(w, "emulated")], sc[(w, "vpoll")]), ">", 1.0, "no target; shown")

    # 2. hand-off
    if "handoff" in raw:
        ho = {(c["wait"], c["mech"]): c["ns"] for c in raw["handoff"]}
        for (w, m), v in ho.items():
            res["handoff"]["%s/%s" % (m, w)] = dict(summary(v), vs_vpoll=paired(v, ho[(w, "vpoll")]))
        for w in ("epoll", "poll"):
            if (w, "vpoll") not in ho:
                continue
            target("hand-off via %s: vpoll / eventfd" % w,
                   paired(ho[(w, "vpoll")], ho[(w, "eventfd")]), "<=", 1.10)
            target("hand-off via %s: pipe / vpoll" % w,
                   paired(ho[(w, "pipe")], ho[(w, "vpoll")]), ">", 1.0)
            target("hand-off via %s: emulated backend / vpoll" % w,
                   paired(ho[(w, "emulated")], ho[(w, "vpoll")]), ">", 1.0)
            target("hand-off via %s: socketpair / vpoll" % w,
                   paired(ho[(w, "socketpair")], ho[(w, "vpoll")]), ">", 1.0)
    if "handoff_cross" in raw:
        ho = {(c["wait"], c["mech"]): c["ns"] for c in raw["handoff_cross"]}
        res["handoff_cross"] = {"%s/%s" % (m, w): dict(summary(v), vs_vpoll=paired(v, ho[(w, "vpoll")]))
                                for (w, m), v in ho.items()}

    # 3. memory
    if "memory" in raw:
        mem = {c["kind"]: c for c in raw["memory"]["cases"]}
        res["memory"]["count"] = raw["memory"]["count"]
        for k, c in mem.items():
            res["memory"][k] = {
                "slab_bytes": summary(c["slab_bytes"]),
                "slabinfo_bytes": summary(c["slabinfo_bytes"]) if "slabinfo_bytes" in c else None,
                "slabinfo_vs_vpoll": paired(c["slabinfo_bytes"], mem["vpoll"]["slabinfo_bytes"])
                if "slabinfo_bytes" in c else None,
                "sunreclaim_bytes": summary(c["sunreclaim_bytes"]),
                "memavailable_bytes": summary(c["memavailable_bytes"]),
                "fds": summary(c["fds"]),
                "slab_vs_vpoll": paired(c["slab_bytes"], mem["vpoll"]["slab_bytes"]),
                "caches": c["caches"],
            }
        v = mem["vpoll"]["slab_bytes"]
        target("kernel memory (slab): vpoll / eventfd", paired(v, mem["eventfd"]["slab_bytes"]), "<=", 1.05)
        target("kernel memory (slab): pipe pair / vpoll", paired(mem["pipe"]["slab_bytes"], v), ">=", 5.0)
        target("kernel memory (slab): socketpair / vpoll", paired(mem["socketpair"]["slab_bytes"], v), ">=", 9.0)
        target("kernel memory (slab): emulated backend / vpoll", paired(mem["emulated"]["slab_bytes"], v),
               ">", 1.0, "no target; shown")
        target("fds per virtual fd: vpoll", summary(mem["vpoll"]["fds"]), "==", 1.0)

    # 4. scale
    if "scale" in raw:
        rows = [c for c in raw["scale"] if c["mech"] != "chase"]
        sc = {(c["mech"], c["pattern"], int(c["nfds"])): c["ns"] for c in rows}
        small = min(n for (_, _, n) in sc)
        big = max(n for (_, _, n) in sc)
        for (m, p, n), v in sorted(sc.items()):
            res["scale"]["%s/%s/%d" % (m, p, n)] = dict(
                summary(v), vs_1=paired(v, sc[(m, "random", small)]),
                vs_eventfd=paired(v, sc[("eventfd", p, n)]) if ("eventfd", p, n) in sc else None)
        res["scale_chase"] = {str(int(c["bytes"])): summary(c["ns"])
                              for c in raw["scale"] if c["mech"] == "chase"}
        target("scale: vpoll round at %d fds / at %d fd" % (big, small),
               paired(sc[("vpoll", "random", big)], sc[("vpoll", "random", small)]), "<=", 1.2)
        if ("eventfd", "random", big) in sc:
            target("scale, floor: eventfd round at %d fds / at %d fd" % (big, small),
                   paired(sc[("eventfd", "random", big)], sc[("eventfd", "random", small)]), "<=", 1.2,
                   "no target; the same test with plain eventfds")
            target("scale: vpoll / eventfd, both at %d fds" % big,
                   paired(sc[("vpoll", "random", big)], sc[("eventfd", "random", big)]), "<=", 1.05,
                   "no target; the floor comparison")
        if ("vpoll", "hot", big) in sc:
            target("scale, control: vpoll at %d fds toggling one fd / at %d fd" % (big, small),
                   paired(sc[("vpoll", "hot", big)], sc[("vpoll", "random", small)]), "<=", 1.2,
                   "no target; same set, no cold memory")

    # 5. fan-out
    if "fanout" in raw:
        fo = {(c["mode"], int(c["waiters"])): c["ns"] for c in raw["fanout"]}
        for (m, n), v in sorted(fo.items()):
            res["fanout"]["%s/%d" % (m, n)] = summary(v)

    # The module's /dev/vpoll against native EFD_VPOLL (issue 15), and Debian's libvpoll in its
    # emulation; after the others, so that their ids stay what they were.
    if "setclear" in raw:
        sc = {(c["waiter"], c["mech"]): c["ns"] for c in raw["setclear"]}
        for w, wl in (("none", "no waiter"), ("epoll", "one epoll waiter")):
            for m in ("module-write", "module-ioctl"):
                if (w, m) in sc:
                    target("set-and-clear, %s: %s / vpoll" % (wl, m),
                           paired(sc[(w, m)], sc[(w, "vpoll")]), "<=", 1.10)
            if (w, "libvpoll-emulated") in sc:
                target("set-and-clear, %s: Debian libvpoll emulation / vpoll" % wl,
                       paired(sc[(w, "libvpoll-emulated")], sc[(w, "vpoll")]), ">", 1.0, "no target; shown")
    if "memory" in raw:
        mem = {c["kind"]: c for c in raw["memory"]["cases"]}
        v = mem["vpoll"].get("slabinfo_bytes")
        if v and "module" in mem:
            target("kernel memory (every slab cache): module / vpoll",
                   paired(mem["module"]["slabinfo_bytes"], v), "<=", 1.10)
        if v and "libvpoll-emulated" in mem:
            target("kernel memory (every slab cache): Debian libvpoll emulation / vpoll",
                   paired(mem["libvpoll-emulated"]["slabinfo_bytes"], v), ">", 1.0, "no target; shown")
    return res, targets


def markdown(raw, host, res, targets):
    L = []
    add = L.append
    add("Machine: %s; %s host cores, host load %s at the start and %s at the end of the run."
        % (host.get("cpu_model", "?"), host.get("host_cpus", "?"), host.get("load_before", "?"),
           host.get("load_after", "?")))
    add("Guest: %s under QEMU %s (accelerator: %s, guest CPUs online: %d, memory %s), "
        "timed with the TSC (%s)."
        % (raw["kernel"], host.get("qemu", "?"), host.get("accel", "?"), int(raw["cpus"]),
           host.get("mem", "?"),
           ("the host's %.3f GHz; the guest's own estimate against CLOCK_MONOTONIC was %.3f GHz"
            % (host["tsc_mhz"] / 1000.0, raw["tsc_ghz"])) if "ns_rescaled_by" in raw
           else "%.3f GHz, estimated in the guest" % raw.get("tsc_ghz", 0)))
    add("Run: %s, commit %s; %d reps per micro benchmark, each the median of %d timed blocks of "
        "%.1f ms per contender; %.0f s in the guest%s."
        % (host.get("date", "?"), host.get("commit", "?"), int(raw["reps"]), int(raw["blocks"]),
           raw["block_ms"], raw.get("seconds", 0),
           ", QUICK (smoke test, not figures)" if raw.get("quick") else ""))
    skipped = []
    if raw.get("module") is False:
        skipped.append("the module's rows (no /dev/vpoll in the guest: run-bench --module VPOLL.KO)")
    if raw.get("libvpoll_fd") == "":
        skipped.append("Debian libvpoll's row (libvpoll-dev missing when vpoll-bench was built)")
    if skipped:
        add("Skipped: %s." % "; ".join(skipped))
    elif raw.get("libvpoll_fd"):
        add("Debian libvpoll ran its socketpair emulation (eventfd(EFD_VPOLL) and open(\"/dev/vpoll\") "
            "refused until main(); its fd was %s); the module was loaded with insmod before the run (%s)."
            % (raw["libvpoll_fd"], host.get("module", "?")))
    add("")
    add("Times are medians of the reps ± half the 95 % confidence interval of the median; ratios are "
        "medians of per-rep ratios [95 % CI]. Absolute times under TCG mean little: read the ratios.")
    add("")
    add("### Targets")
    add("")
    add("| | target | bound | measured | verdict |")
    add("|---|---|---|---|---|")
    for t in targets:
        bound = "%s %g" % (t["op"], t["bound"])
        if t["note"]:
            add("| %s | %s | (%s) | %s | - |" % (t["id"], t["target"], t["note"], fmt_ratio(t["ratio"])))
        else:
            add("| %s | %s | %s | %s | %s |" % (t["id"], t["target"], bound, fmt_ratio(t["ratio"]), t["verdict"]))
    def mechanism_table(title, group, columns):
        """One row per mechanism, two variants (KEY, LABEL) side by side, each with × vpoll."""
        (ka, la), (kb, lb) = columns
        add("")
        add(title)
        add("")
        add("| mechanism | %s | × vpoll | %s | × vpoll |" % (la, lb))
        add("|---|---|---|---|---|")
        for m in MECHS:
            if "%s/%s" % (m, ka) not in res[group]:
                continue
            a, b = res[group]["%s/%s" % (m, ka)], res[group]["%s/%s" % (m, kb)]
            add("| %s | %s | %s | %s | %s |" % (MECH_LABEL[m], fmt_ns(a), fmt_ratio(a["vs_vpoll"]),
                                              fmt_ns(b), fmt_ratio(b["vs_vpoll"])))

    if res["setclear"]:
        mechanism_table("### 1. Set-and-clear (ns per set+clear pair)", "setclear",
                        [("none", "no waiter"), ("epoll", "one epoll waiter")])
    if res["handoff"]:
        mechanism_table("### 2. Hand-off latency (ns per one-way hand-off, two threads on one CPU)",
                        "handoff", [("epoll", "epoll_wait"), ("poll", "poll")])
    if res.get("handoff_cross"):
        add("")
        add("Across two CPUs (one thread pinned to CPU 0, the other to CPU 1), epoll_wait:")
        add("")
        add("| mechanism | ns per hand-off | × vpoll |")
        add("|---|---|---|")
        for m in MECHS:
            c = res["handoff_cross"].get("%s/epoll" % m)
            if c:
                add("| %s | %s | %s |" % (MECH_LABEL[m], fmt_ns(c), fmt_ratio(c["vs_vpoll"])))
    if res["memory"]:
        mem = res["memory"]
        add("")
        add("### 3. Kernel memory and descriptors per virtual fd (%d of each)" % mem["count"])
        add("")
        add("| kind | slab B | × vpoll | every slab cache B | × vpoll | of which unreclaimable B "
            "| MemAvailable drop B | fds |")
        add("|---|---|---|---|---|---|---|---|")
        kinds = [k for k in KINDS if k in mem]
        for k in kinds:
            c = mem[k]
            si = c["slabinfo_bytes"]
            add("| %s | %.0f | %s | %s | %s | %.0f | %.0f | %.2f |" % (
                k, c["slab_bytes"]["median"], fmt_ratio(c["slab_vs_vpoll"]),
                "%.0f" % si["median"] if si else "-",
                fmt_ratio(c["slabinfo_vs_vpoll"]) if si else "-",
                c["sunreclaim_bytes"]["median"], c["memavailable_bytes"]["median"],
                c["fds"]["median"]))
        add("")
        add("\"slab\" is `Slab:` of /proc/meminfo; \"every slab cache\" the sum over all the caches "
            "of /proc/slabinfo (slabs × pages per slab), kmalloc-cg-* included.")
        add("")
        add("Slab caches that grew (bytes per object, first rep):")
        add("")
        for k in kinds:
            caches = sorted(mem[k]["caches"].items(), key=lambda kv: -kv[1])
            add("- %s: %s" % (k, ", ".join("%s %.0f" % kv for kv in caches)))
    if res["scale"]:
        add("")
        add("### 4. Scale (ns per round: set one fd, epoll_wait, clear it; one epoll set of N fds)")
        add("")
        add("| fds in the epoll set | vpoll, random fd | × 1 fd | eventfd, random fd | × 1 fd | vpoll / eventfd |")
        add("|---|---|---|---|---|---|")
        ns = sorted({int(k.split("/")[2]) for k in res["scale"]})
        for n in ns:
            v, e = res["scale"].get("vpoll/random/%d" % n), res["scale"].get("eventfd/random/%d" % n)
            add("| %d | %s | %s | %s | %s | %s |" % (n, fmt_ns(v), fmt_ratio(v["vs_1"]),
                                                   fmt_ns(e) if e else "-", fmt_ratio(e["vs_1"]) if e else "-",
                                                   fmt_ratio(v["vs_eventfd"]) if v["vs_eventfd"] else "-"))
        for k, v in sorted(res["scale"].items()):
            if "/hot/" in k:
                add("| %s, the same fd every round | %s | %s | | | |" % (k.split("/")[2], fmt_ns(v), fmt_ratio(v["vs_1"])))
        if res.get("scale_chase"):
            add("")
            add("Control, user space: a dependent load through a random cyclic chain of cache lines costs %s"
                % " and ".join("%s ns over %s" % ("%.1f" % s["median"], ("%d KiB" % (int(b) // 1024)) if int(b) < 1 << 20
                                                 else ("%d MiB" % (int(b) >> 20)))
                               for b, s in sorted(res["scale_chase"].items(), key=lambda kv: int(kv[0]))) +
                " in this guest (a TCG soft-TLB miss and page walk per load).")
    if res["fanout"]:
        add("")
        add("### 5. Wake fan-out (ns per round: ADD, until the woken waiters ran, DEL)")
        add("")
        add("| waiters | plain | EPOLLEXCLUSIVE | plain / exclusive |")
        add("|---|---|---|---|")
        ns = sorted({int(k.split("/")[1]) for k in res["fanout"]})
        for n in ns:
            p, e = res["fanout"]["plain/%d" % n], res["fanout"]["exclusive/%d" % n]
            add("| %d | %s | %s | %.2f |" % (n, fmt_ns(p), fmt_ns(e), p["median"] / e["median"]))
    return "\n".join(L) + "\n"


def plot(outdir, res, targets, quick):
    gp = shutil.which("gnuplot")
    if not gp:
        print("report.py: gnuplot not found (apt-get install gnuplot-nox): no plot.png", file=sys.stderr)
        return False
    d = os.path.join(outdir, "plot-data")
    os.makedirs(d, exist_ok=True)

    def w(name, rows):
        with open(os.path.join(d, name), "w") as f:
            for r in rows:
                f.write(" ".join(str(x) for x in r) + "\n")

    def row(label, s):
        return ['"%s"' % label, s["median"], s["ci95"][0], s["ci95"][1]]

    if res["setclear"]:
        w("setclear.dat", [row(m, res["setclear"]["%s/none" % m]) + row(m, res["setclear"]["%s/epoll" % m])[1:]
                           for m in MECHS if "%s/none" % m in res["setclear"]])
    if res["handoff"]:
        w("handoff.dat", [row(m, res["handoff"]["%s/epoll" % m]) + row(m, res["handoff"]["%s/poll" % m])[1:]
                          for m in MECHS if "%s/epoll" % m in res["handoff"]])
    if res["memory"]:
        w("memory.dat", [['"%s"' % k, res["memory"][k]["slab_bytes"]["median"],
                          res["memory"][k]["slab_bytes"]["ci95"][0], res["memory"][k]["slab_bytes"]["ci95"][1]]
                         for k in KINDS if k in res["memory"]])
    if res["scale"]:
        for m in ("vpoll", "eventfd"):
            w("scale-%s.dat" % m, [[int(k.split("/")[2]), s["median"], s["ci95"][0], s["ci95"][1]]
                                   for k, s in sorted(res["scale"].items(), key=lambda kv: int(kv[0].split("/")[2]))
                                   if k.startswith(m + "/random/")])
        w("scale-hot.dat", [[int(k.split("/")[2]), s["median"], s["ci95"][0], s["ci95"][1]]
                            for k, s in res["scale"].items() if "/hot/" in k] or [[1, 0, 0, 0]])
    if res["fanout"]:
        for mode in ("plain", "exclusive"):
            w("fanout-%s.dat" % mode, [[int(k.split("/")[1]), s["median"], s["ci95"][0], s["ci95"][1]]
                                       for k, s in sorted(res["fanout"].items(), key=lambda kv: int(kv[0].split("/")[1]))
                                       if k.startswith(mode + "/")])
    trows = []
    for t in targets:
        if t["note"] or t["op"] == "==":
            continue
        m, lo, hi = t["ratio"]["median"], t["ratio"]["ci95"][0], t["ratio"]["ci95"][1]
        if t["op"] == "<=":
            vals = (m / t["bound"], lo / t["bound"], hi / t["bound"])
        else:
            vals = (t["bound"] / m, t["bound"] / hi, t["bound"] / lo)
        trows.append(['"%s"' % t["id"]] + [min(x, 2.0) for x in vals])
    w("targets.dat", trows)
    title = "EFD_VPOLL vs the alternatives (patched 6.12, QEMU TCG)" + (" QUICK RUN" if quick else "")
    script = """
set terminal pngcairo size 1500,950 font ",10" noenhanced
set output '%(out)s'
set multiplot layout 2,3 title '%(title)s'
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.9
set xtics rotate by -25 scale 0
set grid ytics
set key top left
set logscale y
set title 'set-and-clear: ns per pair (log)'
plot '%(d)s/setclear.dat' using 2:3:4:xtic(1) title 'no waiter', '' using 5:6:7 title 'epoll waiter'
set title 'hand-off: ns one way (log)'
plot '%(d)s/handoff.dat' using 2:3:4:xtic(1) title 'epoll_wait', '' using 5:6:7 title 'poll'
unset logscale y
set title 'kernel slab bytes per virtual fd'
plot '%(d)s/memory.dat' using 2:3:4:xtic(1) title 'slab'
set style data yerrorlines
set xtics norotate
set logscale x
set yrange [0:*]
set xrange [0.5:300000]
set title 'scale: ns per round vs fds in the epoll set'
set key bottom right
plot '%(d)s/scale-vpoll.dat' using 1:2:3:4 title 'vpoll, random fd' pt 7, '%(d)s/scale-eventfd.dat' using 1:2:3:4 title 'eventfd, random fd' pt 5, '%(d)s/scale-hot.dat' using 1:2:3:4 title 'vpoll, same fd' pt 9
set logscale y
set yrange [*:*]
set xrange [0.7:100]
set title 'wake fan-out: ns per round vs waiters'
plot '%(d)s/fanout-plain.dat' using 1:2:3:4 title 'plain' pt 7, '%(d)s/fanout-exclusive.dat' using 1:2:3:4 title 'EPOLLEXCLUSIVE' pt 5
unset logscale
set autoscale x
set yrange [0:*]
set style data histogram
set style histogram errorbars gap 1 lw 1
set xtics rotate by -90 scale 0
set key off
set yrange [0:2]
set title 'targets (ids of the table): measured / bound, below 1 = met'
plot '%(d)s/targets.dat' using 2:3:4:xtic(1) lc rgb '#4477aa', 1 with lines lc rgb 'red' dt 2
unset multiplot
""" % {"out": os.path.join(outdir, "plot.png"), "d": d, "title": title}
    with open(os.path.join(d, "plot.gp"), "w") as f:
        f.write(script)
    r = subprocess.run([gp, os.path.join(d, "plot.gp")])
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--outdir", required=True)
    a = ap.parse_args()
    with open(a.raw) as f:
        raw = json.load(f)
    with open(a.host) as f:
        host = json.load(f)
    # Under TCG the guest TSC runs at the host's TSC rate: when the host's rate is known, use it
    # (vpoll-bench converted with its own estimate against the guest's CLOCK_MONOTONIC).
    if host.get("accel") == "tcg" and host.get("tsc_mhz") and raw.get("tsc_ghz"):
        factor = raw["tsc_ghz"] * 1000.0 / host["tsc_mhz"]
        raw["ns_rescaled_by"] = factor
        for group in ("setclear", "handoff", "handoff_cross", "scale", "fanout"):
            for c in raw.get(group, []):
                c["ns"] = [x * factor for x in c["ns"]]
    res, targets = analyse(raw)
    md = markdown(raw, host, res, targets)
    with open(os.path.join(a.outdir, "results.json"), "w") as f:
        json.dump({"host": host, "raw": raw, "summary": res, "targets": targets}, f, indent=1)
        f.write("\n")
    with open(os.path.join(a.outdir, "results.md"), "w") as f:
        f.write(md)
    plotted = plot(a.outdir, res, targets, raw.get("quick"))
    sys.stdout.write(md)
    print("report.py: wrote %s/results.json, results.md%s" % (a.outdir, ", plot.png" if plotted else ""))


if __name__ == "__main__":
    main()
