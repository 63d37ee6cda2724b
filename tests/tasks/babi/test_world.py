"""The simulated world: actions only where the state allows them, objects that follow their
holder, and the lines that support each fact."""

import random

import pytest

from augrnn.tasks.babi.world import World


def test_objects_follow_their_holder_and_are_left_where_dropped():
    world = World(random.Random(0))
    world.move("mary", "kitchen")  # line 0
    world.move("john", "garden")  # line 1
    assert world.get("mary", "milk") == 2
    assert world.object_place("milk").location == "kitchen"
    assert world.object_place("milk").supports == (0, 2)
    world.move("mary", "office")  # line 3
    assert world.object_place("milk").location == "office"
    assert world.object_place("milk").supports == (2, 3)
    world.drop("mary", "milk")  # line 4
    world.move("mary", "garden")  # line 5
    assert world.object_place("milk").location == "office"
    assert set(world.object_place("milk").supports) == {3, 4}
    assert [p.location for p in world.trail["milk"]] == ["kitchen", "office"]
    assert world.lines[4][0] == "mary" and world.lines[4][-1] == "milk"


def test_actions_the_state_forbids_are_refused():
    world = World(random.Random(0))
    world.move("mary", "kitchen")
    world.move("john", "garden")
    world.get("mary", "apple")
    with pytest.raises(ValueError, match="john cannot get the apple"):
        world.get("john", "apple")  # held by mary
    with pytest.raises(ValueError, match="john does not hold the apple"):
        world.drop("john", "apple")
    with pytest.raises(ValueError, match="cannot give the apple to john"):
        world.give("mary", "apple", "john")  # not in the same place
    world.move("john", "kitchen")
    world.give("mary", "apple", "john")
    assert world.carried("john") == ["apple"] and world.carried("mary") == []
    world.drop("john", "apple")
    world.move("mary", "office")
    with pytest.raises(ValueError, match="mary cannot get the apple"):
        world.get("mary", "apple")  # it lies in the kitchen


def test_random_actions_keep_the_state_consistent():
    world = World(random.Random(3))
    for _ in range(300):
        world.random_action(give=True)
        for obj in world.objects:
            assert not (obj in world.held and obj in world.left)
            if obj in world.held:
                holder = world.held[obj][0]
                assert world.object_place(obj).location == world.actor_place[holder].location
