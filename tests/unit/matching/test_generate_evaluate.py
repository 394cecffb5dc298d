"""The generator of German duplicates and the pair/cluster scoring, without a model."""

from __future__ import annotations

import pytest

from omnikanal.matching import names
from omnikanal.matching.evaluate import read_labelled, score, true_pairs
from omnikanal.matching.generate import generate
from omnikanal.matching.pairs import ScoredPair


def test_the_generator_is_seeded_and_makes_duplicates() -> None:
    first, again = generate(500, seed=3), generate(500, seed=3)
    assert [r.traits for r in first] == [r.traits for r in again]
    assert len(first) == 500
    people = {r.person_id for r in first}
    assert 300 < len(people) < 500
    assert generate(500, seed=4)[0].traits != first[0].traits


def test_pairs_and_clusters_are_scored_against_the_truth() -> None:
    records = [r for r in generate(200, seed=1)]
    truth = sorted(true_pairs(records))
    a, b = truth[0]
    found = [ScoredPair(a, b, 0.995, 10.0, {}), ScoredPair("r-x", "r-y", 0.6, 1.0, {})]
    high, low = score(records, found, [0.99, 0.5])
    assert high.precision == 1.0
    assert high.recall == pytest.approx(1 / len(truth))
    assert low.precision == 0.5


def test_a_labelled_file_needs_its_truth_columns() -> None:
    records = read_labelled(
        "record_id,person_id,firstName,lastName,city\n1,a,Anna,Müller,Köln\n2,a,Anna,Mueller,\n"
    )
    assert records[1].traits == {"firstName": "Anna", "lastName": "Mueller", "address": {}}
    assert records[0].traits["address"] == {"city": "Köln"}
    with pytest.raises(ValueError, match="person_id"):
        read_labelled("record_id,firstName\n1,Anna\n")
    with pytest.raises(ValueError, match="line 2"):
        read_labelled("record_id,person_id\n1,\n")


def _shares(cumulative: list[float]) -> list[float]:
    total = cumulative[-1]
    return [(b - a) / total for a, b in zip([0.0, *cumulative], cumulative, strict=False)]


def test_the_pools_are_spread_like_german_names_and_postcodes() -> None:
    surnames = _shares(names.SURNAME_CUMULATIVE)
    assert names.SURNAMES[0] == "Müller"
    assert 0.003 <= surnames[0] <= 0.005
    assert len(set(names.SURNAMES)) > 20_000
    for pool, cumulative in ((names.FEMALE, names.FEMALE_CUMULATIVE), (names.MALE, names.MALE_CUMULATIVE)):
        assert len(set(pool)) > 200
        assert 0.01 <= _shares(cumulative)[0] <= 0.02
    assert len({code for _, code in names.POSTCODES}) > 7_000
    assert all(len(code) == 5 and code.isdigit() for _, code in names.POSTCODES)


def test_some_people_are_namesakes_of_others() -> None:
    records = generate(5000, seed=2)
    people: dict[tuple[str, str], set[str]] = {}
    for record in records:
        key = (record.traits["firstName"], record.traits["lastName"])
        people.setdefault(key, set()).add(record.person_id)
    assert sum(1 for ids in people.values() if len(ids) > 1) > 50
