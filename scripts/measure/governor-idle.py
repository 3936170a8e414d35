#!/usr/bin/env python3
"""Idle cost of the resource governor (issue 16): two idle daemons side by side,
one with `device.governor: true` (the default, reading the device every
`device.interval_s` seconds) and one with `governor: false`, same binary, same
config otherwise. Prints each one's CPU time (clock ticks, 10 ms each) over S
seconds and its RSS. Run them together so both see the same machine load.
Usage: governor-idle.py LEASH_BINARY [SECONDS] [INTERVAL_S]"""
import os, subprocess, sys, tempfile, time, socket

leash = sys.argv[1]
secs = int(sys.argv[2]) if len(sys.argv) > 2 else 600
interval = int(sys.argv[3]) if len(sys.argv) > 3 else 30


def start(governor):
    home = tempfile.mkdtemp(prefix=f"leash-gov-{'on' if governor else 'off'}-")
    ws = os.path.join(home, "ws"); os.makedirs(ws + "/drop")
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    open(home + "/transcript.yaml", "w").write("play: by_expect\nresponses: []\n")
    cfgp = home + "/config.yaml"
    open(cfgp, "w").write(f"""model:\n  backend: replay\n  transcript: {home}/transcript.yaml
security:\n  execution_mode: auto-approve\n  workspace: {ws}\n  whitelist: ["true"]
monitoring:\n  watch_directories: [{ws}/drop]\n  watch_patterns: ["*.task"]
device:\n  governor: {'true' if governor else 'false'}\n  interval_s: {interval}
agent:\n  min_free_memory_mb: 0\napi:\n  listen: "127.0.0.1:{port}"\nlogging:\n  level: error\n""")
    env = {"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "XDG_STATE_HOME": home + "/state",
           "XDG_CONFIG_HOME": home + "/cfg", "XDG_CACHE_HOME": home + "/cache",
           "XDG_DATA_HOME": home + "/data", "RUST_LOG": "error"}
    p = subprocess.Popen([leash, "--json", "--config", cfgp, "daemon"], env=env, cwd=ws,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    assert '"ready":true' in line, line
    return p


def ticks(p):
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def rss_kib(p):
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1])
    return -1


on, off = start(True), start(False)
time.sleep(5)
t0 = {"on": ticks(on), "off": ticks(off)}
time.sleep(secs)
for name, p in (("on", on), ("off", off)):
    print(f"governor {name:3}: cpu ticks over {secs} s idle = {ticks(p) - t0[name]} "
          f"(10 ms each), VmRSS {rss_kib(p) / 1024:.1f} MiB")
for p in (on, off):
    p.terminate(); p.wait()
