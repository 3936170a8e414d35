#!/usr/bin/env python3
"""Idle daemon: RSS breakdown (smaps_rollup, per mapping) and CPU ticks over S seconds.
Usage: idle.py LEASH_BINARY [SECONDS]"""
import os, subprocess, sys, tempfile, time, socket
leash = sys.argv[1]; secs = int(sys.argv[2]) if len(sys.argv) > 2 else 60
home = tempfile.mkdtemp(prefix="leash-idle-")
ws = os.path.join(home, "ws"); os.makedirs(ws + "/drop")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
open(home + "/transcript.yaml", "w").write("play: by_expect\nresponses: []\n")
cfgp = home + "/config.yaml"
open(cfgp, "w").write(f"""model:\n  backend: replay\n  transcript: {home}/transcript.yaml
security:\n  execution_mode: auto-approve\n  workspace: {ws}\n  whitelist: ["true"]
monitoring:\n  watch_directories: [{ws}/drop]\n  watch_patterns: ["*.task"]
agent:\n  min_free_memory_mb: 0\napi:\n  listen: "127.0.0.1:{port}"\nlogging:\n  level: error\n""")
# LEASH_IDLE_EXTRA_YAML: a file appended to the config (e.g. a `fleet:` section,
# to measure the idle cost of being in a fleet).
if os.environ.get("LEASH_IDLE_EXTRA_YAML"):
    open(cfgp, "a").write(open(os.environ["LEASH_IDLE_EXTRA_YAML"]).read())
env = {"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "XDG_STATE_HOME": home + "/state",
       "XDG_CONFIG_HOME": home + "/cfg", "XDG_CACHE_HOME": home + "/cache", "XDG_DATA_HOME": home + "/data",
       "RUST_LOG": "error"}
env.update({k: v for k, v in os.environ.items() if k.startswith("MALLOC_") or k.startswith("LEASH_")})
p = subprocess.Popen([leash, "--json", "--config", cfgp, "daemon"], env=env, cwd=ws,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
line = p.stdout.readline().decode()
assert '"ready":true' in line, line
time.sleep(2)
def ticks():
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
def rss():
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS") or l.startswith("RssAnon") or l.startswith("RssFile") or l.startswith("Threads"):
            print("  " + l.strip())
print("after start:"); rss()
t0 = ticks(); time.sleep(secs); t1 = ticks()
print(f"after {secs} s idle: cpu ticks {t1 - t0}"); rss()
# per-mapping breakdown (top 12 by Rss)
maps = []; cur = None
for l in open(f"/proc/{p.pid}/smaps"):
    parts = l.split()
    if not l[0].isupper() or ":" not in parts[0] or "-" in parts[0]:
        cur = [l.strip()[:110], 0, 0]; maps.append(cur)
    elif parts[0] == "Rss:": cur[1] = int(parts[1])
    elif parts[0] == "Anonymous:": cur[2] = int(parts[1])
maps.sort(key=lambda m: -m[1])
print("top mappings by Rss (kB rss / kB anon):")
for m in maps[:14]: print(f"  {m[1]:6d} {m[2]:6d}  {m[0]}")
p.terminate(); p.wait()
