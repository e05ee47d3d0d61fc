"""Percentage rollout: a stable murmur3 bucket, the same in C and Python, monotone and fair."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _subprocess import run_python
from fast_litellm._bindings import lib
from fast_litellm.control import rollout as _rollout

mmh3 = pytest.importorskip("mmh3")

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rollout.json").read_text(encoding="utf-8"))
IDS = [f"req-{i}" for i in range(100_000)]


class TestHash:
    @pytest.mark.parametrize("case", VECTORS["hash"], ids=lambda c: f"{c['hex'][:12]}-{c['seed']}")
    def test_checked_in_hash_vectors(self, case: dict[str, object]) -> None:
        """C and Python murmur3 give the checked-in values."""
        data = bytes.fromhex(str(case["hex"]))
        seed = int(case["seed"])  # type: ignore[call-overload]
        assert lib.fl_hash_murmur3_32(data, len(data), seed) == case["murmur3_32"]
        assert _rollout.murmur3_32(data, seed) == case["murmur3_32"]

    @pytest.mark.parametrize("case", VECTORS["buckets"], ids=lambda c: f"{c['feature']}:{c['key'][:16]}")
    def test_checked_in_bucket_vectors(self, case: dict[str, str | int]) -> None:
        """The bucket of each (feature, key) is the checked-in one, in C, in Python and via checker()."""
        key = str(case["key"]).encode()
        assert _rollout.bucket(str(case["feature"]), key) == case["bucket"]
        assert _rollout.py_bucket(str(case["feature"]), key) == case["bucket"]

    @given(st.binary(max_size=300), st.integers(0, 2**32 - 1))
    def test_c_and_python_equal_mmh3(self, data: bytes, seed: int) -> None:
        """On any bytes and seed, C, the Python twin and mmh3 agree."""
        expected = mmh3.hash(data, seed, signed=False)
        assert lib.fl_hash_murmur3_32(data, len(data), seed) == expected
        assert _rollout.murmur3_32(data, seed) == expected

    @given(st.text(max_size=40), st.text(max_size=200))
    def test_streamed_bucket_equals_hash_of_concatenation(self, feature: str, key: str) -> None:
        """C hashes feature, ':' and key without joining them; the result is the hash of the join."""
        data = key.encode("utf-8", "surrogatepass")
        joined = feature.encode("utf-8", "surrogatepass") + b":" + data
        name = feature.encode("utf-8", "surrogatepass")
        assert lib.fl_rollout_bucket(name, len(name), data, len(data)) == mmh3.hash(joined, 0, signed=False) % 100 + 1


class TestRollout:
    def test_edges(self) -> None:
        """0 % admits nobody, 100 % everybody, with or without a key."""
        check = _rollout.checker("tokenizer")
        assert not any(check(key, 0) for key in IDS[:1000] + [None])
        assert all(check(key, 100) for key in IDS[:1000] + [None])

    def test_deterministic_per_key(self) -> None:
        """The same key always gets the same answer."""
        check = _rollout.checker("router")
        first = [check(key, 37) for key in IDS[:5000]]
        assert first == [check(key, 37) for key in IDS[:5000]]

    def test_monotone_in_percentage(self) -> None:
        """Every key inside a 10 % rollout is inside the 25 % and 50 % ones."""
        check = _rollout.checker("token_counter")
        at10 = {k for k in IDS if check(k, 10)}
        at25 = {k for k in IDS if check(k, 25)}
        at50 = {k for k in IDS if check(k, 50)}
        assert at10 <= at25 <= at50

    @pytest.mark.parametrize("percentage", [1, 10, 50, 99])
    def test_share_is_fair(self, percentage: int) -> None:
        """Over 100,000 keys the admitted share is within 0.5 points of the percentage."""
        check = _rollout.checker("rate_limiter")
        share = sum(check(key, percentage) for key in IDS) / len(IDS) * 100
        assert abs(share - percentage) < 0.5

    def test_features_draw_independent_buckets(self) -> None:
        """Two features admit different 50 % halves (the feature name is in the hash)."""
        a, b = _rollout.checker("tokenizer"), _rollout.checker("router")
        both = sum(a(k, 50) and b(k, 50) for k in IDS[:20000]) / 20000
        assert 0.23 < both < 0.27

    def test_keys_of_other_types(self) -> None:
        """bytes are hashed as they are, str as UTF-8 (lone surrogates kept), others via str()."""
        assert _rollout.key_bytes(b"\xff") == b"\xff"
        assert _rollout.key_bytes("a\ud800") == b"a\xed\xa0\x80"
        assert _rollout.key_bytes(12) == b"12"
        check = _rollout.checker("tokenizer")
        assert check("a\ud800", 50) == (_rollout.py_bucket("tokenizer", b"a\xed\xa0\x80") <= 50)

    def test_no_key_draws_at_random(self) -> None:
        """Without a key about the percentage of calls are admitted, not all or none."""
        check = _rollout.checker("tokenizer")
        share = sum(check(None, 30) for _ in range(20000)) / 20000
        assert 0.27 < share < 0.33

    def test_stable_across_processes_and_hash_seeds(self) -> None:
        """Fresh interpreters with different PYTHONHASHSEED values bucket keys identically."""
        keys = [str(uuid.UUID(int=i * 7919)) for i in range(200)]
        code = f"""
            import json
            from fast_litellm.control import rollout as _rollout
            print(json.dumps([_rollout.bucket("tokenizer", k.encode()) for k in {keys!r}]))
        """
        runs = [run_python(code, PYTHONHASHSEED=seed) for seed in ("1", "2", "12345")]
        assert runs[0] == runs[1] == runs[2]
        assert runs[0] == [_rollout.py_bucket("tokenizer", k.encode()) for k in keys]
