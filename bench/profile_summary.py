"""Summarise a py-spy speedscope profile: the functions with the most inclusive and self time.

.venv/bin/python bench/profile_summary.py hub-profile.json [--thread sitless-hub]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", help="speedscope JSON written by py-spy record")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", help="only profiles whose name contains this")
    args = parser.parse_args()
    data = json.loads(Path(args.profile).read_text())
    frames = data["shared"]["frames"]
    for prof in data["profiles"]:
        if args.thread and args.thread not in prof["name"]:
            continue
        total = sum(prof["weights"])
        if not total:
            continue
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for stack, weight in zip(prof["samples"], prof["weights"], strict=True):
            names = [
                f"{frames[i]['name']} ({Path(frames[i].get('file', '?')).name}:"
                f"{frames[i].get('line', 0)})"
                for i in stack
            ]
            for name in set(names):
                inclusive[name] += weight
            if names:
                own[names[-1]] += weight
        print(f"== {prof['name']}: {total} samples")
        for name, weight in inclusive.most_common(args.top):
            print(f"  incl {100 * weight / total:5.1f}%  {name}")
        for name, weight in own.most_common(args.top // 2):
            print(f"  self {100 * weight / total:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
