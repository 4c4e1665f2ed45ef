"""The words that say how well the app knows the user's taste (core.personal.confidence.describe, shown
by the Info panel and ``piaa personalize``): they follow the cross-validated agreement AND its
comparison with the generic score, so they never claim "knows your taste well" next to "no better than
the generic score". Every level boundary and every comparison boundary is crossed."""
from __future__ import annotations

import re

import pytest

from piaa_desktop.core.personal.confidence import EARLY, MARGIN, MIN_ANSWERS, assess, describe, margin

AGREE = [0.5, 0.569, 0.57, 0.6, 0.649, 0.65, 0.7, 0.749, 0.75, 0.8, 0.95]
COUNTS = [MIN_ANSWERS, EARLY - 1, EARLY, 100, 400]


def _gaps(n: int) -> list[float]:
    """Personal minus generic agreement: far apart, and just inside, on and just outside +-margin(n)
    (in thousandths, as the metrics are stored)."""
    m = round(margin(n), 3)
    near = [m - 0.001, m, m + 0.001]
    return [-0.3, *[-g for g in near], -0.01, 0.0, 0.01, *near, 0.3]


def _expected_level(x: float) -> str:
    return "well" if x >= 0.75 else "fairly" if x >= 0.65 else "roughly" if x >= 0.57 else "not"


def _metrics(agree, gen, n):
    return {"cv_pair_agreement": agree, "cv_generic_agreement": gen, "cv_answers": n}


def _percents(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"(\d+) %", text)]


def _check(agree: float, gen: float, n: int) -> None:
    level, versus = assess(_metrics(agree, gen, n))
    diff = round(agree - gen, 3)
    m = round(margin(n), 3)
    want_versus = "better" if diff >= m else "worse" if diff <= -m else "same"
    assert versus == want_versus
    # "about the same": the words speak of the generic score, which the user already has
    assert level == _expected_level(gen if versus == "same" else agree)
    text = describe(_metrics(agree, gen, n))
    mine, generic = _percents(text)
    assert (mine, generic) == (round(agree * 100), round(gen * 100))
    assert ("It knows your taste" in text) == (versus == "better" and level in ("well", "fairly"))
    if "knows your taste well" in text:
        assert agree >= 0.75 and diff >= MARGIN
    if versus == "better":
        assert mine > generic and f"The generic score manages {generic} %" in text
    elif versus == "worse":
        assert mine < generic
        assert "does worse than the generic score" in text and "reset to the generic score" in text
        assert "knows" not in text and "matches your taste" not in text
    elif level == "not":
        assert abs(mine - generic) <= round(m * 100)
        assert text.startswith("Neither score knows your taste yet") and "coin toss" in text
    else:
        assert abs(mine - generic) <= round(m * 100)
        assert text.startswith("The generic score") and "adds little yet" in text
        assert ("already matches" in text) == (level in ("well", "fairly"))
        assert ("only roughly" in text) == (level == "roughly")
    assert ("first impression" in text) == (n < EARLY)
    assert f"{n} of your answers" in text
    if level in ("roughly", "not") or versus in ("same", "worse"):
        assert "more answers" in text.lower()


def test_words_agree_with_the_numbers_and_the_generic_score():
    """Every level boundary x every comparison boundary x few / enough answers (one test, 400+ cases)."""
    checked = 0
    for agree in AGREE:
        for n in COUNTS:
            for gap in _gaps(n):
                gen = round(agree - gap, 3)
                if not 0.0 <= gen <= 1.0:
                    continue
                try:
                    _check(agree, gen, n)
                except AssertionError as exc:
                    raise AssertionError(f"agree={agree} generic={gen} n={n}: {describe(_metrics(agree, gen, n))}"
                                         ) from exc
                checked += 1
    assert checked > 400


def test_generic_score_matching_a_well_known_taste_is_not_called_a_personal_success():
    """The contradiction this replaces: 78 % agreement, the generic score 77 % on the same answers."""
    text = describe(_metrics(0.78, 0.77, 40))
    assert text.startswith("The generic score already matches your taste well")
    assert "adds little yet" in text and "It knows your taste" not in text
    assert "78 %" in text and "77 %" in text


def test_a_lead_within_the_noise_of_few_answers_is_not_called_better():
    """Random ratings (no taste at all) reach 0.66 held-out agreement against the generic 0.59 with 40
    answers: that lead is within the noise of 40 answers; the same lead on 400 answers is real."""
    assert MARGIN < margin(40) and margin(400) == pytest.approx(MARGIN)
    assert assess(_metrics(0.66, 0.59, 40)) == ("roughly", "same")
    assert "It knows your taste" not in describe(_metrics(0.66, 0.59, 40))
    assert assess(_metrics(0.66, 0.59, 400)) == ("fairly", "better")
    assert describe(_metrics(0.66, 0.59, 400)).startswith("It knows your taste fairly well")


@pytest.mark.parametrize("agree,level", [(0.8, "well"), (0.7, "fairly"), (0.6, "roughly"), (0.52, "not")])
def test_a_model_stored_before_the_generic_check_speaks_of_its_own_agreement(agree, level):
    m = {"cv_pair_agreement": agree, "cv_answers": 50}
    assert assess(m) == (level, "unknown")
    text = describe(m)
    assert "generic" not in text and _percents(text) == [round(agree * 100)]
    assert ("It knows your taste" in text) == (level in ("well", "fairly"))


def test_no_model_and_too_few_answers():
    assert assess(None) == ("none", "unknown") and "No personal model yet" in describe(None)
    assert assess({}) == ("none", "unknown")
    few = {"cv_answers": 4, "cv_pair_agreement": None, "cv_generic_agreement": None}
    assert assess(few) == ("unchecked", "unknown")
    assert "too few" in describe(few) and f"at least {MIN_ANSWERS}" in describe(few)
