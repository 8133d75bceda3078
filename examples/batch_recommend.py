"""Batch job: recommend k items for every user of an interaction log and write them to a file.

Usage: python examples/batch_recommend.py ARTIFACT LOG OUT [-k 10]

LOG is a CSV/TSV with a header naming user, item and timestamp columns (your own log, or a
RecBole ``.inter`` file such as MovieLens' ``ml-100k.inter``). Each user's history is their
items in time order. OUT ends in ``.csv`` (user_id, rank, item_id, score, title) or ``.jsonl``
(one JSON object per user). The file is written under a temporary name and renamed when
complete, so a failed run never leaves a partial file behind. Needs only the runtime (no torch).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from ytrec_infer import Recommender

USER, ITEM, TIME = ("user", "user_id", "userid"), ("item", "item_id", "itemid"), ("timestamp",)


def _column(header: list[str], names: tuple[str, ...], path: Path) -> int:
    keys = [h.split(":", 1)[0].strip().lower() for h in header]  # RecBole: "user_id:token"
    for name in names:
        if name in keys:
            return keys.index(name)
    raise SystemExit(f"{path}: no column named any of {', '.join(names)} in {header}")


def read_histories(path: Path) -> dict[int, list[int]]:
    """user id -> item ids ordered by timestamp (ties keep file order)."""
    events: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        first = handle.readline()
        delimiter = "\t" if "\t" in first else ","
        header = next(csv.reader([first], delimiter=delimiter))
        user, item, when = (_column(header, names, path) for names in (USER, ITEM, TIME))
        for row_number, row in enumerate(csv.reader(handle, delimiter=delimiter)):
            if row:
                events[int(row[user])].append((float(row[when]), row_number, int(row[item])))
    return {u: [item for _, _, item in sorted(rows)] for u, rows in sorted(events.items())}


def recommend_all(
    rec: Recommender, histories: dict[int, list[int]], k: int
) -> Iterator[tuple[int, list[dict[str, object]]]]:
    """(user id, ranked items as dicts) for every user, in user id order."""
    for user_id, history in histories.items():
        result = rec.recommend(history, k=k)
        yield user_id, [r.to_dict() for r in result]


def write_atomically(path: Path, rows: Iterator[tuple[int, list[dict[str, object]]]]) -> int:
    """Write CSV or JSON Lines by suffix; return the number of users written."""
    if path.suffix not in (".csv", ".jsonl"):
        raise SystemExit(f"{path}: OUT must end in .csv or .jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    users = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle) if path.suffix == ".csv" else None
            if writer is not None:
                writer.writerow(["user_id", "rank", "item_id", "score", "title"])
            for user_id, items in rows:
                users += 1
                if writer is None:
                    handle.write(json.dumps({"user_id": user_id, "items": items}) + "\n")
                    continue
                for rank, r in enumerate(items, 1):
                    writer.writerow([user_id, rank, r["item_id"], f"{r['score']:.6g}", r["title"]])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", help="artifact folder written by `ytrec train`")
    parser.add_argument("log", type=Path, help="interaction log (CSV/TSV with a header)")
    parser.add_argument("out", type=Path, help="output file, .csv or .jsonl")
    parser.add_argument("-k", type=int, default=10, help="items per user (default 10)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rec = Recommender.load(args.artifact)
    histories = read_histories(args.log)
    users = write_atomically(args.out, recommend_all(rec, histories, args.k))
    seconds = time.perf_counter() - start
    print(
        f"wrote {args.k} recommendations for each of {users} users to {args.out} in {seconds:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
