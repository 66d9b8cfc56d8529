"""bulk_work holds the cyclic collector off while a monitor makes objects by the million, and
gives it back as it found it, however deep the nesting."""

from __future__ import annotations

import gc

from octopus.run.bulk import bulk_work


def test_the_collector_is_off_inside_and_as_it_was_after() -> None:
    assert gc.isenabled()
    with bulk_work():
        assert not gc.isenabled()
        with bulk_work():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer one still works
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with bulk_work():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_made_inside_are_collected_after() -> None:
    class Node:
        other: object = None

    with bulk_work():
        first, second = Node(), Node()
        first.other, second.other = second, first
        del first, second
        found = sum(isinstance(o, Node) for o in gc.get_objects())
    assert found == 2
    gc.collect()
    assert not any(isinstance(o, Node) for o in gc.get_objects())
