#!/usr/bin/env python3
"""Wall and CPU time of whole leash processes (median of N runs each, interleaved).
Usage: cli_time.py LEASH_BINARY [N]"""
import os, resource, statistics, subprocess, sys, tempfile, time
if os.geteuid() == 0:  # as root, leash exec needs security.run_as: measure as a plain user
    os.execvp("setpriv", ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                          "env", "TMPDIR=/tmp", "/usr/bin/python3"] + sys.argv)
leash = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
home = tempfile.mkdtemp(prefix="leash-cli-")
ws = os.path.join(home, "ws"); os.makedirs(ws)
env = {"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin",
       "XDG_STATE_HOME": home + "/state", "XDG_CONFIG_HOME": home + "/cfg",
       "XDG_CACHE_HOME": home + "/cache", "XDG_DATA_HOME": home + "/data"}
cfg = home + "/cfg/leash"; os.makedirs(cfg)
open(cfg + "/config.yaml", "w").write(
    "security:\n  execution_mode: auto-approve\n  whitelist: [\"true\"]\nlogging:\n  level: error\n")
cmds = {"--version": [leash, "--version"],
        "policy check -- true": [leash, "policy", "check", "--", "true"],
        "exec -- true": [leash, "exec", "--", "true"]}
for c in cmds.values():  # warm up, and show it works
    r = subprocess.run(c, env=env, cwd=ws, capture_output=True)
    if r.returncode != 0:
        print("FAILED", c, r.returncode, r.stderr.decode()[:500]); sys.exit(1)
res = {k: ([], []) for k in cmds}
for _ in range(n):
    for k, c in cmds.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(c, env=env, cwd=ws, capture_output=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        res[k][0].append(wall * 1000); res[k][1].append(cpu * 1000)
base = statistics.median(res["--version"][0])
for k, (w, c) in res.items():
    print(f"{k:24s} wall p50 {statistics.median(w):7.2f} ms  cpu p50 {statistics.median(c):7.2f} ms  "
          f"wall ratio vs --version {statistics.median(w)/base:5.2f}  (n={n})")
