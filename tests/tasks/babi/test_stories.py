"""The story generators: every answer agrees with an independent reading of the story's text,
supports point into the story and name the question's subject, and every word is known."""

import random

import pytest

from augrnn.tasks.babi import stories
from augrnn.tasks.babi.world import DROP_VERBS, GET_VERBS, LOCATIONS, OBJECTS


def read_world(story):
    """Where each actor is and what each holds, from the text alone."""
    where, holds = {}, {}
    for line in story:
        text = " ".join(line)
        actor, obj = line[0], line[-1]
        if "gave" in line:  # giver gave the object to receiver
            holds[line[3]] = line[5]
        elif line[-1] in LOCATIONS:
            where[actor] = line[-1]
        elif any(text.startswith(f"{actor} {v} ") for v in GET_VERBS):
            holds[obj] = actor
        elif any(text.startswith(f"{actor} {v} ") for v in DROP_VERBS):
            holds.pop(obj, None)
            holds[obj + "@"] = where[actor]
    return where, holds


def object_location(where, holds, obj):
    return where[holds[obj]] if obj in holds else holds[obj + "@"]


@pytest.mark.parametrize("task_type", sorted(stories.TYPES))
def test_every_type_gives_examples_with_known_words_and_valid_supports(task_type):
    rng = random.Random(task_type)
    known = set(stories.vocabulary_words())
    answers = set(stories.possible_answers())
    for _ in range(200):
        e = stories.draw_example(task_type, rng)
        assert e.task_type == task_type
        fewest, most = stories.TYPES[task_type][2]
        assert fewest <= len(e.story) <= most
        assert all(0 <= s < len(e.story) for s in e.supports)
        words = {w for line in (*e.story, e.question) for w in line}
        assert words <= known, words - known
        assert e.answer in answers


@pytest.mark.parametrize("task_type", [1, 2, 6, 7, 8])
def test_world_answers_agree_with_a_reading_of_the_text(task_type):
    rng = random.Random(10 + task_type)
    for _ in range(300):
        e = stories.draw_example(task_type, rng)
        where, holds = read_world(e.story)
        q = e.question
        if task_type == 1:
            assert e.answer == where[q[-1]]
            assert e.story[e.supports[-1]][0] == q[-1]
        elif task_type == 2:
            assert e.answer == object_location(where, holds, q[-1])
            assert any(q[-1] in e.story[s] for s in e.supports)
        elif task_type == 6:
            assert e.answer == ("yes" if where[q[1]] == q[-1] else "no")
        else:
            actor = q[-2]
            carried = [o for o in OBJECTS if holds.get(o) == actor]
            expected = stories.NUMBERS[len(carried)] if task_type == 7 else ",".join(carried)
            assert e.answer == (expected or "nothing")


def test_statements_fix_the_story_length_except_for_fixed_types():
    rng = random.Random(0)
    assert len(stories.draw_example(1, rng, statements=7).story) == 7
    assert len(stories.draw_example(4, rng, statements=7).story) == 2
    assert len(stories.draw_example(15, rng, statements=7).story) == 8


def test_three_supporting_facts_asks_where_an_object_was_before():
    rng = random.Random(2)
    for _ in range(100):
        e = stories.draw_example(3, rng)
        assert e.question[:4] == ("where", "was", "the", e.question[3])
        assert e.answer in LOCATIONS and e.answer != e.question[-1]
        assert len(e.supports) >= 2


def test_deduction_follows_the_species_fear():
    rng = random.Random(4)
    for _ in range(100):
        e = stories.draw_example(15, rng)
        name = e.question[2]
        species = next(line[-1] for line in e.story if line[0] == name)
        plural = dict(stories.SPECIES)[species]
        feared = next(line[-1] for line in e.story if line[0] == plural and "afraid" in line)
        assert e.answer == {many: one for one, many in stories.SPECIES}[feared]


TIME_ORDER = {t: i for i, t in enumerate(stories.TIMES)}


def test_time_reasoning_answers_the_place_just_before_in_time():
    rng = random.Random(5)
    for _ in range(200):
        e = stories.draw_example(14, rng)
        actor, place = e.question[2], e.question[-1]
        visits = []
        for line in e.story:
            text = " ".join(line)
            if actor in line:
                time = next(t for t in stories.TIMES if t in text)
                visits.append((TIME_ORDER[time], line[line.index("the") + 1]))
        visits.sort()
        k = [p for _, p in visits].index(place)
        assert k >= 1 and e.answer == visits[k - 1][1]


def test_positional_and_size_answers_follow_from_the_statements():
    rng = random.Random(6)
    for _ in range(200):
        e = stories.draw_example(17, rng)
        spots = {}
        for line in e.story:
            text = " ".join(line)
            phrase = next(p for p in stories.PLACES if f" {p} " in f" {text} ")
            shape = text[len("the ") : text.index(f" is {phrase}")]
            spots[shape] = stories.PLACES[phrase]
        asked = " ".join(e.question)
        relation = next(p for p in stories.PLACES if f" {p} " in f" {asked} ")
        a = asked[len("is the ") : asked.index(f" {relation}")]
        b = asked[asked.index(f"{relation} the ") + len(f"{relation} the ") :]
        dx, dy = stories.PLACES[relation]
        offset = (spots[a][0] - spots[b][0], spots[a][1] - spots[b][1])
        assert e.answer == ("yes" if offset[0] * dx + offset[1] * dy > 0 else "no")
    for _ in range(200):
        e = stories.draw_example(18, rng)
        smaller = set()
        for line in e.story:
            things = [w for w in line if w in stories.CONTAINERS]
            smaller.add(tuple(things) if "bigger" not in line else tuple(reversed(things)))
        for _ in range(4):  # the transitive closure
            smaller |= {(a, d) for a, b in smaller for c, d in smaller if b == c}
        a, b = [w for w in e.question if w in stories.CONTAINERS]
        fits = (a, b) in smaller if e.question[0] == "does" else (b, a) in smaller
        assert e.answer == ("yes" if fits else "no")


def test_path_finding_steps_lead_from_start_to_end():
    rng = random.Random(7)
    for _ in range(200):
        e = stories.draw_example(19, rng)
        moves = {}
        for line in e.story:
            room, direction, base = line[1], line[3], line[-1]
            moves[(base, direction[0])] = room
            moves[(room, stories.DIRECTIONS[direction][0])] = base
        start, end = e.question[6], e.question[-1]
        here = start
        for letter in e.answer.split(","):
            here = moves[(here, letter)]
        assert here == end
        assert e.answer in stories.path_answers()
