"""Synthetic interaction logs with real structure, at any size, in vectorised numpy.

    python -m benchmarks.scale.generator --rows 1000000 --out /tmp/scale-1m [--csv]

What is planted (so that a model has something to find, and a test can check it is there):

- **taste clusters**: items fall into ``clusters`` groups; each user likes 1-3 of them and
  draws most interactions from them, in runs (the next interaction stays in the current
  cluster with probability ``stay``), so the order of a history predicts the next item;
- **Zipf popularity**: within and across clusters items are drawn in proportion to
  ``rank ** -zipf`` of a random popularity rank;
- **features that carry signal**: a cluster has a language and a dominant category, so an
  item's language, category, tags and duration say which cluster it is from, and a user's
  country is (with probability ``country_match``) the language of their clusters; the device
  carries nothing;
- **string ids**: users ``u-0012ab3f``, items 11-character video ids (``dQw4w9WgXcQ``);
- **heavy-tailed activity**: interactions per user are log-normal (at least ``min_per_user``),
  a (user, item) pair occurs once, timestamps increase per user and the file is in time order.

It writes ``log.parquet`` (and ``log.csv`` with ``csv=True``), ``items.csv``, ``users.csv``,
``features.json`` (:data:`SCHEMA`: the user and item features of the example log of
``trainers/synthetic_log.py``; ``ytrec train --data log.parquet --items items.csv --users
users.csv --features features.json`` takes them), ``truth.npz`` (the planted clusters, for
checks; training never reads it) and ``spec.json`` (the parameters, the row count, the
seconds it took and the in-memory size of the log's columns).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainers.synthetic_log import CATEGORIES, COUNTRIES, DEVICES, LANGUAGES, TAGS
from trainers.synthetic_log import SCHEMA as EXAMPLE_SCHEMA

_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_START = 1_700_000_000
"""Unix time of the first possible interaction (November 2023)."""

SCHEMA = {side: EXAMPLE_SCHEMA[side] for side in ("user", "item")}
"""The feature schema written as ``features.json``: the user and item features of the example
log (``trainers/synthetic_log.py``), the columns this generator writes; not its context side
(an ``hour`` column of the log), so that the benchmark's input stays what it was measured on.
``tests/test_scale_benchmark.py`` checks that every declared column is written."""

SIZES = {
    1_000_000: (20_000, 10_000),
    10_000_000: (100_000, 100_000),
    100_000_000: (1_000_000, 1_000_000),
}
"""Users and items per benchmark size (the 1M row is the issue's baseline log)."""


@dataclass(frozen=True)
class ScaleSpec:
    """The parameters of one synthetic log."""

    rows: int
    users: int
    items: int
    clusters: int
    seed: int = 0
    zipf: float = 1.0
    in_cluster: float = 0.85
    stay: float = 0.7
    country_match: float = 0.8
    min_per_user: int = 5


def spec_for(
    rows: int, seed: int = 0, users: int | None = None, items: int | None = None
) -> ScaleSpec:
    """The benchmark's spec for ``rows`` interactions: the users and items of :data:`SIZES`
    (else 25 interactions per user and 50 per item) unless given; one cluster per ~250
    items, at least 4."""
    default_users, default_items = SIZES.get(rows, (max(10, rows // 25), max(20, rows // 50)))
    users = default_users if users is None else users
    items = default_items if items is None else items
    return ScaleSpec(rows, users, items, clusters=max(4, items // 250), seed=seed)


@dataclass(frozen=True)
class ScaleLog:
    """Where the files of a written log are, and how many interactions it has."""

    folder: Path
    log: Path
    items: Path
    users: Path
    features: Path
    rows: int
    seconds: float


def _video_ids(rng: np.random.Generator, n: int, width: int = 11) -> np.ndarray:
    """``n`` distinct random ids of ``width`` characters from the base64url alphabet."""
    codes = _ALPHABET[rng.integers(0, len(_ALPHABET), (n, width))]
    ids = np.unique(codes.view(f"S{width}").ravel())
    while len(ids) < n:  # 64**11 ids: a collision is a once-in-a-lifetime event
        ids = np.unique(np.concatenate([ids, _video_ids(rng, n - len(ids), width).astype("S")]))
    return rng.permutation(ids.astype(f"U{width}"))


def _hex(values: np.ndarray) -> np.ndarray:
    """Lower-case hexadecimal text of non-negative integers, vectorised."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    shifts = np.arange(28, -1, -4, dtype=np.int64)
    chars = digits[(values[:, None] >> shifts) & 15]
    return np.ascontiguousarray(chars).view("S8").ravel().astype("U8")


def _items(spec: ScaleSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Item attributes: cluster, popularity weight, language, category, tags, duration."""
    n, k = spec.items, spec.clusters
    cluster = rng.permutation(n) % k
    weight = (rng.permutation(n) + 1.0) ** -spec.zipf
    cluster_language = rng.integers(0, len(LANGUAGES), k)
    cluster_category = rng.permutation(np.arange(k) % len(CATEGORIES))
    language = np.where(
        rng.random(n) < 0.9, cluster_language[cluster], rng.integers(0, len(LANGUAGES), n)
    )
    category = np.where(
        rng.random(n) < 0.8, cluster_category[cluster], rng.integers(0, len(CATEGORIES), n)
    )
    favourite_tags = rng.integers(0, len(TAGS), (k, 2))
    picks = np.where(
        rng.random((n, 3)) < 0.6,
        favourite_tags[cluster[:, None], rng.integers(0, 2, (n, 3))],
        rng.integers(0, len(TAGS), (n, 3)),
    )
    count = rng.integers(0, 4, n)
    tag_flags = np.zeros((n, len(TAGS)), dtype=bool)
    for slot in range(3):
        rows = np.flatnonzero(count > slot)
        tag_flags[rows, picks[rows, slot]] = True
    mean_log_duration = rng.uniform(5.0, 7.5, k)
    duration = np.exp(rng.normal(mean_log_duration[cluster], 0.6)).astype(np.int64) + 1
    return {
        "cluster": cluster,
        "weight": weight,
        "language": language,
        "category": category,
        "tags": tag_flags,
        "duration": duration,
        "cluster_language": cluster_language,
    }


def _tag_text(flags: np.ndarray) -> np.ndarray:
    """``|``-joined tag names per row of a [n, len(TAGS)] flag matrix ('' for none)."""
    out = np.full(len(flags), "", dtype=object)
    for t, tag in enumerate(TAGS):
        has = flags[:, t]
        out[has] = np.where(out[has] == "", tag, out[has] + "|" + tag)
    return out.astype(str)


def _users(
    spec: ScaleSpec, rng: np.random.Generator, cluster_language: np.ndarray
) -> dict[str, np.ndarray]:
    """User attributes: country, device, 1-3 favourite clusters, activity (interactions)."""
    n, k = spec.users, spec.clusters
    country = rng.integers(0, len(COUNTRIES), n)
    device = rng.choice(len(DEVICES), n, p=[0.6, 0.3, 0.1])
    by_language = np.argsort(cluster_language, kind="stable")
    counts = np.bincount(cluster_language, minlength=len(LANGUAGES))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    draw = rng.random((n, 3))
    own = by_language[
        np.minimum(starts[country][:, None] + (draw * counts[country][:, None]).astype(np.int64),
                   k - 1)
    ]
    anywhere = rng.integers(0, k, (n, 3))
    matched = (rng.random((n, 3)) < spec.country_match) & (counts[country] > 0)[:, None]
    favourites = np.where(matched, own, anywhere)
    num_favourites = rng.integers(1, 4, n)
    activity = np.minimum(rng.lognormal(0.0, 0.8, n), 10.0)
    per_user = np.maximum(
        spec.min_per_user, np.round(activity / activity.sum() * spec.rows).astype(np.int64)
    )
    per_user = np.minimum(per_user, max(spec.min_per_user, spec.items // 4))
    return {
        "country": country,
        "device": device,
        "favourites": favourites,
        "num_favourites": num_favourites,
        "per_user": per_user,
    }


def _ladder(spec: ScaleSpec, items: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Items sorted by cluster and the search ladder that draws one by popularity within a
    cluster: ``cluster + cumulative share`` rises from c to c + 1 over cluster c's items, so
    ``searchsorted(ladder, c + u)`` for u uniform in [0, 1) is item-by-weight within c."""
    by_cluster = np.argsort(items["cluster"], kind="stable")
    sorted_cluster = items["cluster"][by_cluster]
    weight = items["weight"][by_cluster]
    totals = np.bincount(sorted_cluster, weights=weight, minlength=spec.clusters)
    before = np.cumsum(totals) - totals
    within = (np.cumsum(weight) - before[sorted_cluster]) / totals[sorted_cluster]
    return by_cluster, sorted_cluster + np.minimum(within, 1.0)


def _draw(
    spec: ScaleSpec,
    rng: np.random.Generator,
    ladder: tuple[np.ndarray, np.ndarray],
    users: dict[str, np.ndarray],
    who: np.ndarray,
    drawn: np.ndarray,
    after: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``drawn[j]`` interactions of user ``who[j]`` continuing after time ``after[who[j]]``:
    runs within a cluster (a new run with probability 1 - ``stay``, in one of the user's
    clusters with probability ``in_cluster``), items by popularity within the run's cluster."""
    user = np.repeat(who, drawn)
    first = np.cumsum(drawn) - drawn
    position = np.arange(len(user)) - np.repeat(first, drawn)
    new_run = (position == 0) | (rng.random(len(user)) >= spec.stay)
    run_user = user[new_run]
    slot = (rng.random(len(run_user)) * users["num_favourites"][run_user]).astype(np.int64)
    run_cluster = np.where(
        rng.random(len(run_user)) < spec.in_cluster,
        users["favourites"][run_user, slot],
        rng.integers(0, spec.clusters, len(run_user)),
    )
    cluster = run_cluster[np.cumsum(new_run) - 1]
    by_cluster, steps = ladder
    point = cluster + rng.random(len(user)) * (1.0 - 1e-9)
    item = by_cluster[np.minimum(np.searchsorted(steps, point), spec.items - 1)]
    gap = rng.exponential(6 * 3600.0, len(user)).astype(np.int64) + 30
    elapsed = np.cumsum(gap)
    when = after[user] + elapsed - np.repeat(elapsed[first] - gap[first], drawn)
    return user, item, when


def _first_occurrences(key: np.ndarray) -> np.ndarray:
    """Mask of the first row of each distinct key (a stable sort: numpy's hashing ``unique``
    is ten times slower on tens of millions of int64)."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    first = np.ones(len(key), dtype=bool)
    first[order[1:]] = ordered[1:] != ordered[:-1]
    return first


def _contains(sorted_keys: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Mask of the keys that occur in ``sorted_keys``."""
    at = np.minimum(np.searchsorted(sorted_keys, key), max(len(sorted_keys) - 1, 0))
    return sorted_keys[at] == key if len(sorted_keys) else np.zeros(len(key), dtype=bool)


def _first_per_user(user: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Mask of the first ``limit[u]`` rows of each user (rows grouped by user, in order)."""
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    sizes = np.diff(np.r_[starts, len(user)])
    rank = np.arange(len(user)) - np.repeat(starts, sizes)
    mask: np.ndarray = rank < limit[user]
    return mask


def _interactions(
    spec: ScaleSpec,
    rng: np.random.Generator,
    items: dict[str, np.ndarray],
    users: dict[str, np.ndarray],
    rounds: int = 6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """User row, item row and timestamp per interaction, each (user, item) pair once and at
    most ``per_user`` per user: drawn in rounds, each round continuing the sequences of the
    users still short (a repeat of a pair already taken is dropped)."""
    ladder = _ladder(spec, items)
    wanted = users["per_user"]
    have = np.zeros(spec.users, dtype=np.int64)
    after = rng.integers(_START, _START + 90 * 86400, spec.users)
    taken = np.zeros(0, dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(rounds):
        who = np.flatnonzero(have < wanted)
        if len(who) == 0:
            break
        deficit = wanted[who] - have[who]
        user, item, when = _draw(spec, rng, ladder, users, who, deficit * 3 // 2 + 4, after)
        after[who] = when[np.cumsum(deficit * 3 // 2 + 4) - 1]
        key = user.astype(np.int64) * spec.items + item
        fresh = _first_occurrences(key) & ~_contains(taken, key)
        user, item, when, key = user[fresh], item[fresh], when[fresh], key[fresh]
        keep = _first_per_user(user, wanted - have)
        parts.append((user[keep], item[keep], when[keep]))
        taken = np.sort(np.concatenate([taken, key[keep]]))
        have += np.bincount(user[keep], minlength=spec.users)
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]


def generate(spec: ScaleSpec) -> dict[str, np.ndarray]:
    """Every column of the log and its tables as numpy arrays (rows of the log in time order)."""
    rng = np.random.default_rng(spec.seed)
    items = _items(spec, rng)
    users = _users(spec, rng, items["cluster_language"])
    user, item, when = _interactions(spec, rng, items, users)
    order = np.argsort(when, kind="stable")
    return {
        "user_ids": _hex_user_ids(rng, spec.users),
        "item_ids": _video_ids(rng, spec.items),
        "log_user": user[order],
        "log_item": item[order],
        "log_time": when[order],
        "log_fraction": np.round(rng.uniform(0.2, 1.0, len(order)), 2).astype(np.float32),
        **{f"item_{key}": value for key, value in items.items()},
        **{f"user_{key}": value for key, value in users.items()},
    }


def _hex_user_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct ids like ``u-0012ab3f``."""
    values = rng.choice(16**8, n, replace=False).astype(np.int64)
    return np.char.add("u-", _hex(values))


def _log_table(columns: dict[str, np.ndarray]) -> Any:
    """The log as a pyarrow table of strings (ids), int64 (time) and float32 (watch fraction)."""
    import pyarrow as pa

    def strings(codes: np.ndarray, names: np.ndarray) -> pa.Array:
        dictionary = pa.array(names.astype(object), type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary).cast(
            pa.string()
        )

    return pa.table(
        {
            "user_id": strings(columns["log_user"], columns["user_ids"]),
            "video_id": strings(columns["log_item"], columns["item_ids"]),
            "timestamp": pa.array(columns["log_time"]),
            "watch_fraction": pa.array(columns["log_fraction"]),
        }
    )


def _write_tables(folder: Path, columns: dict[str, np.ndarray]) -> tuple[Path, Path]:
    """``items.csv`` and ``users.csv`` with the feature columns the schema declares."""
    import pyarrow as pa
    from pyarrow import csv

    item_ids = columns["item_ids"]
    items = pa.table(
        {
            "video_id": pa.array(item_ids.astype(object)),
            "title": pa.array(
                np.char.add("video ", np.arange(len(item_ids)).astype(str)).astype(object)
            ),
            "language": pa.array(np.array(LANGUAGES)[columns["item_language"]].astype(object)),
            "category": pa.array(np.array(CATEGORIES)[columns["item_category"]].astype(object)),
            "tags": pa.array(_tag_text(columns["item_tags"]).astype(object)),
            "duration_seconds": pa.array(columns["item_duration"]),
        }
    )
    users = pa.table(
        {
            "user_id": pa.array(columns["user_ids"].astype(object)),
            "country": pa.array(np.array(COUNTRIES)[columns["user_country"]].astype(object)),
            "device": pa.array(np.array(DEVICES)[columns["user_device"]].astype(object)),
        }
    )
    csv.write_csv(items, folder / "items.csv")
    csv.write_csv(users, folder / "users.csv")
    return folder / "items.csv", folder / "users.csv"


def write_scale_log(folder: Path, spec: ScaleSpec, csv_too: bool = False) -> ScaleLog:
    """Generate the log of ``spec`` and write its files into ``folder`` (see the module doc)."""
    import pyarrow.parquet as pq
    from pyarrow import csv

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    columns = generate(spec)
    table = _log_table(columns)
    pq.write_table(table, folder / "log.parquet")
    if csv_too:
        csv.write_csv(table, folder / "log.csv")
    items, users = _write_tables(folder, columns)
    (folder / "features.json").write_text(json.dumps(SCHEMA, indent=2) + "\n")
    np.savez(
        folder / "truth.npz",
        item_ids=columns["item_ids"],
        item_cluster=columns["item_cluster"],
        user_ids=columns["user_ids"],
        user_favourites=columns["user_favourites"],
        user_num_favourites=columns["user_num_favourites"],
    )
    seconds = time.perf_counter() - started
    rows = len(columns["log_user"])
    (folder / "spec.json").write_text(
        json.dumps(
            {
                "spec": asdict(spec),
                "rows_written": rows,
                "seconds": seconds,
                "log_column_mb": round(table.nbytes / 2**20, 1),
            },
            indent=2,
        )
    )
    return ScaleLog(
        folder, folder / "log.parquet", items, users, folder / "features.json", rows, seconds
    )


def write_integer_log(path: Path, spec: ScaleSpec, ratings: bool = False) -> Path:
    """The same log as :func:`write_scale_log` as one CSV of integer ids (``user_id`` and
    ``item_id`` = row + 1, ``timestamp``; with ``ratings`` a 1-5 ``rating``, the watch
    fraction in fifths), no tables: the input of the ingest and training-loop benchmarks,
    which measure the integer-id path of a plain log."""
    import pyarrow as pa
    from pyarrow import csv

    columns = generate(spec)
    table = {
        "user_id": pa.array(columns["log_user"].astype(np.int64) + 1),
        "item_id": pa.array(columns["log_item"].astype(np.int64) + 1),
        "timestamp": pa.array(columns["log_time"]),
    }
    if ratings:
        fifths = np.ceil(columns["log_fraction"] * 5).astype(np.int64)
        table["rating"] = pa.array(np.clip(fifths, 1, 5))
    path.parent.mkdir(parents=True, exist_ok=True)
    csv.write_csv(pa.table(table), path)
    return path


def main(argv: list[str] | None = None) -> None:
    """Command line: write one log."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=None, help="override the size's users")
    parser.add_argument("--items", type=int, default=None, help="override the size's items")
    parser.add_argument("--csv", action="store_true", help="also write log.csv")
    args = parser.parse_args(argv)
    written = write_scale_log(
        args.out, spec_for(args.rows, args.seed, args.users, args.items), args.csv
    )
    print(f"{written.rows} interactions in {written.folder} ({written.seconds:.1f} s)")


if __name__ == "__main__":
    main()
