"""A synthetic "own log" that looks like a real one: string ids, user and item tables, tags.

Users (ids like ``u-3f9a1c``) have a country, a device, ``|``-separated interests and,
optionally, a pure-noise attribute;
items (ids like YouTube video ids, ``dQw4w9WgXcQ``) have a language, a category and ``|``-
separated tags; each interaction of the log has the viewer's local ``hour`` (a context
feature). Choices are planted: a user mostly watches items in the language of their country
and of a favourite category, so a model that sees the country really can do better than one
that sees the history alone, while the noise attribute carries nothing; with
``context_effect`` the hour picks the category too (each four-hour block of the day has its
own). Used by ``examples/own_log/`` and by the tests of declared features.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COUNTRIES = ("DE", "FR", "US", "BR", "JP")
LANGUAGES = ("de", "fr", "en", "pt", "ja")
DEVICES = ("mobile", "desktop", "tv")
CATEGORIES = ("music", "gaming", "news", "sports", "cooking", "science")
TAGS = ("live", "tutorial", "review", "short", "remix", "interview", "highlights", "vlog")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

SCHEMA = {
    "user": [
        {"name": "country", "kind": "categorical"},
        {"name": "device", "kind": "categorical", "min_count": 5},
    ],
    "item": [
        {"name": "language", "kind": "categorical", "networks": ["tower", "ranker"]},
        {"name": "category", "kind": "categorical", "networks": ["tower", "ranker"]},
        {"name": "tags", "kind": "multi_categorical", "min_count": 3},
        {"name": "duration_seconds", "kind": "numeric", "transform": "log1p"},
    ],
    "context": [{"name": "hour", "kind": "categorical"}],
}
"""The schema file of the example log (``features.json``)."""


@dataclass(frozen=True)
class OwnLog:
    """Where the files of a written log are."""

    log: Path
    users: Path
    items: Path
    features: Path


def interests(favourite: int) -> str:
    """A user's ``|``-separated interests (a multi-valued user attribute, undeclared by
    default): their favourite category and the next one."""
    return "|".join(sorted({CATEGORIES[favourite], CATEGORIES[(favourite + 1) % len(CATEGORIES)]}))


def hour_category(hour: int) -> int:
    """The category a planted context effect chooses at ``hour``: one per four-hour block."""
    return (hour // 4) % len(CATEGORIES)


def _video_id(rng: np.random.Generator) -> str:
    return "".join(_ALPHABET[i] for i in rng.integers(0, len(_ALPHABET), 11))


def write_own_log(
    folder: Path,
    num_users: int = 600,
    num_items: int = 240,
    per_user: tuple[int, int] = (6, 14),
    match: float = 0.8,
    noise_feature: bool = False,
    seed: int = 0,
    context_effect: float = 0.0,
) -> OwnLog:
    """Write ``log.csv``, ``users.csv``, ``items.csv`` and ``features.json`` into ``folder``.

    A user's choices are in their country's language with probability ``match`` (else any
    language), and in their favourite category half of the time. ``noise_feature`` adds a
    user column ``lucky_number`` (random, unrelated to choices; everything else unchanged) and
    declares it. With probability ``context_effect`` a choice is instead in the category of the
    interaction's hour (:func:`hour_category`); 0 draws nothing more, so the log is the same as
    without it.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    item_ids = sorted({_video_id(rng) for _ in range(num_items)})
    languages = rng.integers(0, len(LANGUAGES), len(item_ids))
    categories = rng.integers(0, len(CATEGORIES), len(item_ids))
    appeal = rng.gamma(1.0, 1.0, len(item_ids))
    with (folder / "items.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video_id", "title", "language", "category", "tags", "duration_seconds"])
        for i, item in enumerate(item_ids):
            tags = "|".join(sorted(rng.choice(TAGS, int(rng.integers(0, 4)), replace=False)))
            duration = int(rng.lognormal(6.0, 1.0))
            title = f"{CATEGORIES[categories[i]]} video {i} ({LANGUAGES[languages[i]]})"
            writer.writerow(
                [item, title, LANGUAGES[languages[i]], CATEGORIES[categories[i]], tags, duration]
            )
    user_ids = [f"u-{int(v):06x}" for v in rng.choice(16**6, num_users, replace=False)]
    countries = rng.integers(0, len(COUNTRIES), num_users)
    favourite = rng.integers(0, len(CATEGORIES), num_users)
    # The noise column has its own stream, so the log is the same with or without it.
    lucky = np.random.default_rng([seed, 1]).integers(10, size=num_users)
    with (folder / "users.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["user_id", "country", "device", "interests"]
        writer.writerow(header + (["lucky_number"] if noise_feature else []))
        for u, user in enumerate(user_ids):
            row = [user, COUNTRIES[countries[u]], DEVICES[int(rng.integers(len(DEVICES)))]]
            row.append(interests(int(favourite[u])))
            writer.writerow(row + ([str(int(lucky[u]))] if noise_feature else []))
    start = 1_700_000_000
    with (folder / "log.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "video_id", "timestamp", "watch_fraction", "hour"])
        for u, user in enumerate(user_ids):
            in_language = languages == countries[u]
            in_category = categories == favourite[u]
            when = start + int(rng.integers(0, 86400 * 30))
            seen: set[int] = set()
            for _ in range(int(rng.integers(per_user[0], per_user[1] + 1))):
                pool = in_language if rng.random() < match else np.ones(len(item_ids), bool)
                if rng.random() < 0.5 and (pool & in_category).any():
                    pool = pool & in_category
                hour = (when // 3600) % 24
                if context_effect and rng.random() < context_effect:
                    pool = categories == hour_category(hour)
                weights = np.where(pool, appeal, 0.0)
                weights[list(seen)] = 0.0
                if weights.sum() == 0:
                    break
                item = int(rng.choice(len(item_ids), p=weights / weights.sum()))
                seen.add(item)
                when += int(rng.exponential(3600 * 8)) + 60
                fraction = f"{rng.uniform(0.2, 1.0):.2f}"
                writer.writerow([user, item_ids[item], when, fraction, hour])
    schema = json.loads(json.dumps(SCHEMA))
    if noise_feature:
        schema["user"].append({"name": "lucky_number", "kind": "categorical"})
    (folder / "features.json").write_text(json.dumps(schema, indent=2) + "\n")
    return OwnLog(
        folder / "log.csv", folder / "users.csv", folder / "items.csv", folder / "features.json"
    )
