"""The planner's shuffle gives the order random's own shuffle gives, and leaves the generator
where random's own would: a seeded experiment splits its commands as the original did."""

from __future__ import annotations

import random
from typing import Any

import pytest

from octopus.run.generators import shuffle_in_place

SIZES = [*range(0, 70), 127, 128, 129, 1000, 4097]


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_it_shuffles_as_random_random_does(seed: int) -> None:
    for size in SIZES:
        theirs, ours = random.Random(seed), random.Random(seed)
        expected, got = list(range(size)), list(range(size))
        theirs.shuffle(expected)
        shuffle_in_place(got, ours)
        assert got == expected, size
        assert ours.random() == theirs.random(), size


def test_it_shuffles_as_the_random_module_does() -> None:
    state = random.getstate()
    try:
        for size in SIZES:
            random.seed(size)
            expected = list(range(size))
            random.shuffle(expected)
            after = random.random()
            random.seed(size)
            got = list(range(size))
            shuffle_in_place(got, random)
            assert got == expected, size
            assert random.random() == after, size
    finally:
        random.setstate(state)


class Reversing(random.Random):
    """A generator of the user's with a shuffle of its own."""

    def shuffle(self, x: list[Any]) -> None:  # type: ignore[override]
        x.reverse()


def test_a_generator_of_another_kind_shuffles_as_it_does_itself() -> None:
    items = list(range(10))
    shuffle_in_place(items, Reversing(1))
    assert items == list(range(9, -1, -1))
