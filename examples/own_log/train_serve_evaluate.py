"""Your own data end to end: a log with string ids, user and item tables, a feature schema.

    python examples/own_log/train_serve_evaluate.py [FOLDER]

Writes a log that looks like a video site's (``trainers/synthetic_log.py``: user ids like
``u-3f9a1c``, video ids like ``dQw4w9WgXcQ``, users with country and device, videos with
language, category, ``|``-separated tags and a duration, each interaction with the viewer's
local ``hour``, a context feature) and its ``features.json`` into FOLDER
(default ``artifacts/own_log``), then does what you would do with your own files:

    ytrec train --data log.csv --items items.csv --users users.csv --features features.json --out art
    ytrec evaluate art --data log.csv --items items.csv --users users.csv

and serves the artifact with ``Recommender.load(...).recommend([...string ids...],
user={"country": "DE"}, context={"hour": "21"})``, with and without the user's country and
the hour.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from trainers.synthetic_log import write_own_log
from ytrec_infer import Recommender
from ytrec_infer.cli import main as ytrec


def run(folder: Path, preset: str = "default") -> Recommender:
    """Write the files, train, evaluate and load the artifact; returns the loaded recommender."""
    files = write_own_log(folder / "data", num_users=1500, num_items=600)
    tables = ["--items", str(files.items), "--users", str(files.users)]
    for args in (
        ["train", "--data", str(files.log), *tables, "--features", str(files.features),
         "--out", str(folder / "art"), "--preset", preset, "--quiet"],
        ["evaluate", str(folder / "art"), "--data", str(files.log), *tables],
    ):
        result = CliRunner().invoke(ytrec, args)
        print(f"$ ytrec {' '.join(args)}\n{result.output}")
        if result.exit_code != 0:
            raise SystemExit(result.exit_code)
    return Recommender.load(folder / "art")


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("artifacts/own_log")
    rec = run(folder)
    history = [str(i) for i in rec.catalog.item_ids[:3]]
    print("request fields:", rec.schema.fields, "context fields:", rec.schema.context_fields)
    for user, context in (({"country": "DE"}, {"hour": "21"}), (None, None)):
        top = rec.recommend(history, k=5, user=user, context=context)
        print(f"user={user} context={context}:")
        for r in top:
            print(f"  {r.item_id}  {r.score:+.3f}  {r.title}")


if __name__ == "__main__":
    main()
