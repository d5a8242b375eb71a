"""The node's side of fencing: a request of a lower leader term than one seen is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitkube.agent import fencing, handler


def test_terms_only_go_up(tmp_path: Path) -> None:
    fencing.admit(tmp_path, 3)
    fencing.admit(tmp_path, 3)  # the same leader again
    fencing.admit(tmp_path, None)  # a lone control machine: not fenced
    fencing.admit(tmp_path, 5)

    with pytest.raises(fencing.Fenced, match="seen leader term 5; the request of term 3"):
        fencing.admit(tmp_path, 3)
    assert (tmp_path / fencing.TERM_FILE).read_text() == "5\n"


@pytest.mark.parametrize("term", [0, -1, "4", 2.5, True])
def test_a_term_that_is_not_a_positive_number_is_a_bad_request(tmp_path: Path,
                                                               term: object) -> None:
    with pytest.raises(ValueError, match="positive whole number"):
        fencing.admit(tmp_path, term)


def test_a_deposed_leaders_converge_changes_nothing(tmp_path: Path) -> None:
    base = {"cluster": "c1", "node": "n1", "state_dir": str(tmp_path / "state"),
            "runtime": {"kind": "sim", "images": ["img:1"]}}
    web = {"uid": "a", "name": "web", "namespace": "ns", "hash": "h1",
           "containers": [{"name": "main", "image": "img:1"}]}
    assert handler.handle({**base, "op": "converge", "term": 2, "pods": [web]})["ok"]

    late = handler.handle({**base, "op": "converge", "term": 1, "pods": []})

    assert late["ok"] is False and late["fenced"] is True and late["permanent"] is True
    assert "seen leader term 2; the request of term 1" in late["error"]
    observed = handler.handle({**base, "op": "observe", "term": 2})
    assert [p["name"] for p in observed["report"]["pods"]] == ["web"]
    unfenced = handler.handle({**base, "op": "observe"})  # a lone control machine's `get`
    assert unfenced["ok"]
