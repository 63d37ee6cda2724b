"""The bAbI task types as story generators (Weston et al. 2015, Table 1): each draws a story of a
given number of statements from the simulated world (:mod:`augrnn.tasks.babi.world`) or from
the type's own templates, then asks one question whose answer and supporting lines the
generator knows.

bAbI asks several questions in one story, each scored on the lines before it; a generated
example here is one story and one question at its end, so examples are independent.

Types built (the paper's numbering): 1 single supporting fact, 2 two supporting facts, 3 three
supporting facts, 4 two-argument relations, 6 yes/no questions, 7 counting, 8 lists/sets, 9
simple negation, 10 indefinite knowledge, 11 basic coreference, 12 conjunction, 13 compound
coreference, 15 basic deduction. Not yet built: 5 three-argument relations, 14 time reasoning,
16 basic induction, 17 positional reasoning, 18 size reasoning, 19 path finding, 20 agent's
motivations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from augrnn.tasks.babi.world import ACTORS, LOCATIONS, OBJECTS, World, words

NUMBERS = ("none", "one", "two", "three")
AFTERWARDS = ("then", "afterwards", "following that", "after that")


@dataclass(frozen=True)
class Example:
    """One story and its question.

    story: the statements, a list of words each; question: its words; answer: one word, or
    words joined by commas (a list); supports: the 0-based numbers of the lines the answer
    rests on; task_type: the bAbI type (1-20).
    """

    story: tuple[tuple[str, ...], ...]
    question: tuple[str, ...]
    answer: str
    supports: tuple[int, ...]
    task_type: int


class NoQuestion(Exception):
    """The story drawn leaves no question of the type to ask; draw another."""


def _example(world_lines, question: str, answer: str, supports, task_type: int) -> Example:
    return Example(
        tuple(tuple(line) for line in world_lines),
        tuple(words(question)),
        answer,
        tuple(sorted(set(supports))),
        task_type,
    )


def single_supporting_fact(rng: random.Random, statements: int) -> Example:
    world = World(rng)
    for _ in range(statements):
        world.random_move()
    actor = rng.choice(list(world.actor_place))
    place = world.actor_place[actor]
    return _example(world.lines, f"where is {actor}", place.location, place.supports, 1)


def _object_world(rng: random.Random, statements: int, give: bool = False) -> World:
    world = World(rng)
    for _ in range(statements):
        world.random_action(give=give)
    return world


def two_supporting_facts(rng: random.Random, statements: int) -> Example:
    world = _object_world(rng, statements)
    placed = [o for o in world.objects if world.object_place(o) is not None]
    if not placed:
        raise NoQuestion
    obj = rng.choice(placed)
    place = world.object_place(obj)
    return _example(world.lines, f"where is the {obj}", place.location, place.supports, 2)


def three_supporting_facts(rng: random.Random, statements: int) -> Example:
    world = _object_world(rng, statements)
    options = []
    for obj, trail in world.trail.items():
        locations = [p.location for p in trail]
        options += [(obj, i) for i in range(1, len(trail)) if locations.count(locations[i]) == 1]
    if not options:
        raise NoQuestion
    obj, i = rng.choice(options)
    before, after = world.trail[obj][i - 1], world.trail[obj][i]
    question = f"where was the {obj} before the {after.location}"
    return _example(world.lines, question, before.location, before.supports + after.supports, 3)


DIRECTIONS = {"north": "south", "south": "north", "east": "west", "west": "east"}
ROOMS = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")


def two_argument_relations(rng: random.Random, statements: int) -> Example:
    """Two statements of where rooms lie; ``statements`` is ignored (always 2)."""
    middle, first, second = rng.sample(ROOMS, 3)
    d1, d2 = rng.sample(list(DIRECTIONS), 2)
    lines = [
        words(f"the {first} is {d1} of the {middle}"),
        words(f"the {second} is {d2} of the {middle}"),
    ]
    line = rng.randrange(2)
    room, direction = (first, d1) if line == 0 else (second, d2)
    if rng.random() < 0.5:
        return _example(lines, f"what is {direction} of the {middle}", room, (line,), 4)
    return _example(lines, f"what is the {middle} {DIRECTIONS[direction]} of", room, (line,), 4)


def yes_no_questions(rng: random.Random, statements: int) -> Example:
    world = _object_world(rng, statements)
    actor = rng.choice(list(world.actor_place))
    place = world.actor_place[actor]
    location = place.location if rng.random() < 0.5 else rng.choice(LOCATIONS)
    answer = "yes" if location == place.location else "no"
    return _example(world.lines, f"is {actor} in the {location}", answer, place.supports, 6)


def _holdings(rng: random.Random, statements: int) -> tuple[World, str, list[int]]:
    world = _object_world(rng, statements, give=True)
    actors = [a for a in world.actors if a in world.actor_place]
    actor = rng.choice(actors)
    supports = [world.held[o][1] for o in world.carried(actor)]
    return world, actor, supports


def counting(rng: random.Random, statements: int) -> Example:
    world, actor, supports = _holdings(rng, statements)
    answer = NUMBERS[len(world.carried(actor))]
    return _example(world.lines, f"how many objects is {actor} carrying", answer, supports, 7)


def lists_sets(rng: random.Random, statements: int) -> Example:
    world, actor, supports = _holdings(rng, statements)
    answer = ",".join(world.carried(actor)) or "nothing"
    return _example(world.lines, f"what is {actor} carrying", answer, supports, 8)


def simple_negation(rng: random.Random, statements: int) -> Example:
    lines, last = [], {}
    for i in range(statements):
        actor, location = rng.choice(list(ACTORS)), rng.choice(LOCATIONS)
        if rng.random() < 0.5:
            lines.append(words(f"{actor} is in the {location}"))
            last[actor] = (True, location, i)
        else:
            lines.append(words(f"{actor} is {rng.choice(('not', 'no longer'))} in the {location}"))
            last[actor] = (False, location, i)
    actor = rng.choice(list(last))
    positive, location, line = last[actor]
    if positive and rng.random() < 0.5:
        location = rng.choice([loc for loc in LOCATIONS if loc != location])
        answer = "no"
    else:
        answer = "yes" if positive else "no"
    return _example(lines, f"is {actor} in the {location}", answer, (line,), 9)


def indefinite_knowledge(rng: random.Random, statements: int) -> Example:
    lines, last = [], {}
    for i in range(statements):
        actor = rng.choice(list(ACTORS))
        if rng.random() < 0.5:
            location = rng.choice(LOCATIONS)
            lines.append(words(f"{actor} {rng.choice(('went to', 'journeyed to'))} the {location}"))
            last[actor] = ({location}, i)
        else:
            a, b = rng.sample(LOCATIONS, 2)
            lines.append(words(f"{actor} is either in the {a} or the {b}"))
            last[actor] = ({a, b}, i)
    actor = rng.choice(list(last))
    possible, line = last[actor]
    location = rng.choice(sorted(possible)) if rng.random() < 0.6 else rng.choice(LOCATIONS)
    if location not in possible:
        answer = "no"
    elif len(possible) == 1:
        answer = "yes"
    else:
        answer = "maybe"
    return _example(lines, f"is {actor} in the {location}", answer, (line,), 10)


def basic_coreference(rng: random.Random, statements: int) -> Example:
    lines, last, named = [], {}, None
    for i in range(statements):
        location = rng.choice(LOCATIONS)
        if named is not None and rng.random() < 0.5:
            pronoun = ACTORS[named[0]]
            lines.append(words(f"{rng.choice(AFTERWARDS)} {pronoun} went to the {location}"))
            last[named[0]] = (location, (named[1], i))
        else:
            actor = rng.choice(list(ACTORS))
            lines.append(words(f"{actor} {rng.choice(('went to', 'moved to'))} the {location}"))
            last[actor], named = (location, (i,)), (actor, i)
    actor = rng.choice(list(last))
    location, supports = last[actor]
    return _example(lines, f"where is {actor}", location, supports, 11)


def conjunction(rng: random.Random, statements: int) -> Example:
    lines, last = [], {}
    for i in range(statements):
        a, b = rng.sample(list(ACTORS), 2)
        location = rng.choice(LOCATIONS)
        lines.append(words(f"{a} and {b} {rng.choice(('went to', 'travelled to'))} the {location}"))
        last[a] = last[b] = (location, i)
    actor = rng.choice(list(last))
    location, line = last[actor]
    return _example(lines, f"where is {actor}", location, (line,), 12)


def compound_coreference(rng: random.Random, statements: int) -> Example:
    lines, last, pair = [], {}, None
    for i in range(statements):
        location = rng.choice(LOCATIONS)
        if pair is not None and rng.random() < 0.5:
            lines.append(words(f"{rng.choice(AFTERWARDS)} they went to the {location}"))
            for actor in pair[0]:
                last[actor] = (location, (pair[1], i))
        else:
            a, b = rng.sample(list(ACTORS), 2)
            lines.append(words(f"{a} and {b} moved to the {location}"))
            last[a] = last[b] = (location, (i,))
            pair = ((a, b), i)
    actor = rng.choice(list(last))
    location, supports = last[actor]
    return _example(lines, f"where is {actor}", location, supports, 13)


#: Species (singular, plural) and the names of their members.
SPECIES = (("cat", "cats"), ("mouse", "mice"), ("sheep", "sheep"), ("wolf", "wolves"))
NAMES = ("gertrude", "winona", "jessica", "emily")


def basic_deduction(rng: random.Random, statements: int) -> Example:
    """Four statements of what each species fears, four of which species each name is, in a
    random order; ``statements`` is ignored (always 8)."""
    facts = [
        (f"{plural} are afraid of {rng.choice([p for _, p in SPECIES if p != plural])}", plural)
        for _, plural in SPECIES
    ]
    members = [(name, rng.choice(SPECIES)) for name in NAMES]
    facts += [(f"{name} is a {species[0]}", name) for name, species in members]
    rng.shuffle(facts)
    lines = [words(text) for text, _ in facts]
    name, (_, plural) = rng.choice(members)
    fear_line = next(i for i, (_, key) in enumerate(facts) if key == plural)
    name_line = next(i for i, (_, key) in enumerate(facts) if key == name)
    feared = lines[fear_line][-1]
    answer = next(single for single, many in SPECIES if many == feared)
    return _example(lines, f"what is {name} afraid of", answer, (fear_line, name_line), 15)


Generator = Callable[[random.Random, int], Example]

#: The task types built, by bAbI number: (generator, the paper's name, statements per story
#: (fewest, most) where the generator uses them).
TYPES: dict[int, tuple[Generator, str, tuple[int, int]]] = {
    1: (single_supporting_fact, "single supporting fact", (2, 10)),
    2: (two_supporting_facts, "two supporting facts", (2, 20)),
    3: (three_supporting_facts, "three supporting facts", (8, 40)),
    4: (two_argument_relations, "two argument relations", (2, 2)),
    6: (yes_no_questions, "yes/no questions", (2, 12)),
    7: (counting, "counting", (2, 12)),
    8: (lists_sets, "lists/sets", (2, 12)),
    9: (simple_negation, "simple negation", (2, 10)),
    10: (indefinite_knowledge, "indefinite knowledge", (2, 10)),
    11: (basic_coreference, "basic coreference", (2, 10)),
    12: (conjunction, "conjunction", (2, 10)),
    13: (compound_coreference, "compound coreference", (2, 10)),
    15: (basic_deduction, "basic deduction", (8, 8)),
}
#: Types of the paper not generated yet.
MISSING = (5, 14, 16, 17, 18, 19, 20)


def draw_example(task_type: int, rng: random.Random, statements: int | None = None) -> Example:
    """An example of ``task_type`` with ``statements`` lines (None: uniform over the type's
    range); a story that leaves no question is drawn again."""
    generate, _, (fewest, most) = TYPES[task_type]
    for _ in range(1000):
        n = statements if statements is not None else rng.randint(fewest, most)
        try:
            return generate(rng, n)
        except NoQuestion:
            continue
    raise RuntimeError(f"bAbI type {task_type} found no question to ask in 1000 stories")


def vocabulary_words() -> list[str]:
    """Every word the generators can write, in a fixed order."""
    found: set[str] = set()
    texts = [
        *ACTORS,
        *ACTORS.values(),
        *LOCATIONS,
        *OBJECTS,
        *NUMBERS,
        *AFTERWARDS,
        *DIRECTIONS,
        *NAMES,
        *(w for pair in SPECIES for w in pair),
        "the where is was before what how many objects carrying of a are afraid and they",
        "moved went journeyed travelled back to got grabbed picked up took dropped discarded",
        "put down left gave in not no longer either or yes no maybe nothing",
    ]
    for text in texts:
        found.update(text.split())
    return sorted(found)
