"""The node's side of fencing: a request of a lower leader term than one seen is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitkube.agent import fencing


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
