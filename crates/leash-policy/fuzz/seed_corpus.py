#!/usr/bin/env python3
"""Write libFuzzer seed inputs for the `shell_parse` target from the policy's
hostile and benign corpora (tests/corpus/*.cases): one file per shell-form case,
placeholders replaced by plain stand-in paths. `limits.*` cases are skipped
(libFuzzer's -max_len caps inputs anyway). Usage: python3 seed_corpus.py OUTDIR"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "tests", "corpus")
STAND_INS = {
    "WS": "/home/u/project", "HOME": "/home/u", "BIN": "/usr/bin", "BB": "/opt/bb",
    "OUT": "/srv/outside", "ROOT": "/srv", "NL": "\n", "CR": "\r", "TAB": "\t",
    "SP": " ", "NUL": "\0",
}


def expand(text):
    def one(match):
        token = match.group(1)
        if token.startswith("U+"):
            return chr(int(token[2:], 16))
        if token.startswith("REPEAT:"):
            _, count, unit = token.split(":", 2)
            return unit * min(int(count), 64)
        return STAND_INS[token]
    return re.sub("«([^»]*)»", one, text)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = 0
    for name in ("hostile.cases", "benign.cases"):
        with open(os.path.join(CORPUS, name), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.split(None, 3)
                case, form = parts[0], parts[2]
                if not form.startswith("sh") or case.startswith("limits."):
                    continue
                text = expand(parts[3] if len(parts) > 3 else "")
                with open(os.path.join(out, case), "wb") as seed:
                    seed.write(text.encode("utf-8"))
                written += 1
    print(f"wrote {written} seeds to {out}")


if __name__ == "__main__":
    main()
