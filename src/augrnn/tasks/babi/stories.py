"""The bAbI task types as story generators (Weston et al. 2015, Table 1): each draws a story of a
given number of statements from the simulated world (:mod:`augrnn.tasks.babi.world`) or from
the type's own templates, then asks one question whose answer and supporting lines the
generator knows.

bAbI asks several questions in one story, each scored on the lines before it; a generated
example here is one story and one question at its end, so examples are independent.

All 20 types of the paper are built (its numbering): 1 single supporting fact, 2 two
supporting facts, 3 three supporting facts, 4 two-argument relations, 5 three-argument
relations, 6 yes/no questions, 7 counting, 8 lists/sets, 9 simple negation, 10 indefinite
knowledge, 11 basic coreference, 12 conjunction, 13 compound coreference, 14 time reasoning,
15 basic deduction, 16 basic induction, 17 positional reasoning, 18 size reasoning, 19 path
finding, 20 agent's motivations. Their words, names and story lengths are augrnn's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

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


def three_argument_relations(rng: random.Random, statements: int) -> Example:
    """Objects handed between actors; a question about one hand-over whose answer the story
    makes unique."""
    world = World(rng)
    gives: list[tuple[str, str, str, int]] = []  # giver, object, receiver, line
    for _ in range(statements):
        before = len(world.lines)
        world.random_action(give=True)
        said = world.lines[before]
        if said[1] == "gave":
            gives.append((said[0], said[3], said[5], before))
    if not gives:
        raise NoQuestion
    giver, obj, receiver, line = rng.choice(gives)
    kind = rng.randrange(4)
    if kind == 0:
        question, answer = f"who gave the {obj} to {receiver}", giver
        same = {g[0] for g in gives if g[1] == obj and g[2] == receiver}
    elif kind == 1:
        question, answer = f"who did {giver} give the {obj} to", receiver
        same = {g[2] for g in gives if g[0] == giver and g[1] == obj}
    elif kind == 2:
        question, answer = f"what did {giver} give to {receiver}", obj
        same = {g[1] for g in gives if g[0] == giver and g[2] == receiver}
    else:
        giver, obj, receiver, line = [g for g in gives if g[1] == obj][-1]
        question, answer, same = f"who received the {obj}", receiver, {receiver}
    if len(same) > 1:
        raise NoQuestion
    return _example(world.lines, question, answer, (line,), 5)


#: Times of day in their order.
TIMES = ("yesterday", "this morning", "this afternoon", "this evening")


def time_reasoning(rng: random.Random, statements: int) -> Example:
    """Where actors were at times of day, told out of order; where was an actor before a
    place. Each actor is told 2-4 times; at most 16 statements (4 actors)."""
    facts: list[tuple[str, int, str]] = []
    actors = list(ACTORS)
    rng.shuffle(actors)
    counts = split_counts(statements, len(actors), 2, len(TIMES), rng)
    for actor, n in zip(actors, counts, strict=False):
        times = sorted(rng.sample(range(len(TIMES)), n))
        places = rng.sample(LOCATIONS, n)
        facts += [(actor, t, place) for t, place in zip(times, places, strict=True)]
    rng.shuffle(facts)
    lines = []
    for actor, t, place in facts:
        verb = rng.choice(("went to", "journeyed to", "travelled to"))
        phrase = f"{TIMES[t]} {actor} {verb} the {place}"
        lines.append(
            words(phrase if rng.random() < 0.5 else f"{actor} {verb} the {place} {TIMES[t]}")
        )
    actor = rng.choice(sorted({a for a, _, _ in facts}))
    visits = sorted((t, place, i) for i, (a, t, place) in enumerate(facts) if a == actor)
    k = rng.randrange(1, len(visits))
    question = f"where was {actor} before the {visits[k][1]}"
    return _example(lines, question, visits[k - 1][1], (visits[k - 1][2], visits[k][2]), 14)


ANIMALS = ("swan", "lion", "frog", "rhino")
COLOURS = ("white", "yellow", "green", "gray")
PETS = ("lily", "bernhard", "greg", "julius", "brian")


def basic_induction(rng: random.Random, statements: int) -> Example:
    """Animals of a species share a colour; the colour of one told only its species. 9
    statements; ``statements`` is ignored."""
    colour_of = dict(zip(ANIMALS, rng.sample(COLOURS, len(COLOURS)), strict=True))
    asked, *others = rng.sample(PETS, len(PETS))
    species = {asked: rng.choice(ANIMALS)}
    species[others[0]] = species[asked]  # one that shows the colour
    for name in others[1:]:
        species[name] = rng.choice(ANIMALS)
    facts = [(f"{name} is a {species[name]}", name, "kind") for name in [asked, *others]]
    facts += [(f"{name} is {colour_of[species[name]]}", name, "colour") for name in others]
    rng.shuffle(facts)
    lines = [words(text) for text, _, _ in facts]
    witness = others[0]
    supports = [i for i, (_, name, _) in enumerate(facts) if name == witness]
    supports.append(next(i for i, (_, name, _) in enumerate(facts) if name == asked))
    return _example(lines, f"what color is {asked}", colour_of[species[asked]], supports, 16)


SHAPES = ("triangle", "red square", "blue square", "pink rectangle", "red sphere", "yellow square")
#: A direction's phrase and its unit step (x to the right, y up).
PLACES = {
    "to the left of": (-1, 0),
    "to the right of": (1, 0),
    "above": (0, 1),
    "below": (0, -1),
}


def positional_reasoning(rng: random.Random, statements: int) -> Example:
    """Two shapes placed beside a third; is one left / right / above / below the other? 2
    statements; ``statements`` is ignored."""
    middle, first, second = rng.sample(SHAPES, 3)
    (p1, d1), (p2, d2) = rng.sample(list(PLACES.items()), 2)
    lines = [
        words(f"the {first} is {p1} the {middle}"),
        words(f"the {second} is {p2} the {middle}"),
    ]
    relation, (dx, dy) = rng.choice(list(PLACES.items()))
    a, b = (first, second) if rng.random() < 0.5 else (second, first)
    pa, pb = (d1, d2) if a == first else (d2, d1)
    offset = (pa[0] - pb[0], pa[1] - pb[1])
    holds = offset[0] * dx > 0 if dx else offset[1] * dy > 0
    answer = "yes" if holds else "no"
    return _example(lines, f"is the {a} {relation} the {b}", answer, (0, 1), 17)


CONTAINERS = ("box", "chest", "chocolate", "container", "suitcase")


def size_reasoning(rng: random.Random, statements: int) -> Example:
    """Which of five things fits in which, told as a chain of comparisons; does one fit in
    another two or more links away? 4 statements; ``statements`` is ignored."""
    order = rng.sample(CONTAINERS, len(CONTAINERS))  # smallest first
    facts = []
    for small, big in zip(order, order[1:], strict=False):
        facts.append(
            rng.choice(
                (
                    f"the {small} fits inside the {big}",
                    f"the {big} is bigger than the {small}",
                    f"the {small} is smaller than the {big}",
                )
            )
        )
    shown = list(range(len(facts)))
    rng.shuffle(shown)
    lines = [words(facts[i]) for i in shown]
    i, j = sorted(rng.sample(range(len(order)), 2))
    while j - i < 2:
        i, j = sorted(rng.sample(range(len(order)), 2))
    supports = [shown.index(k) for k in range(i, j)]
    a, b = (order[i], order[j]) if rng.random() < 0.5 else (order[j], order[i])
    if rng.random() < 0.5:
        question, answer = f"does the {a} fit in the {b}", "yes" if a == order[i] else "no"
    else:
        question, answer = f"is the {a} bigger than the {b}", "yes" if a == order[j] else "no"
    return _example(lines, question, answer, supports, 18)


#: Compass directions and their unit steps.
COMPASS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0)}


def path_finding(rng: random.Random, statements: int) -> Example:
    """Five rooms on a grid, each told beside another; the two steps from one room to another.
    4 statements; ``statements`` is ignored."""
    rooms = rng.sample(ROOMS, 5)
    at = {rooms[0]: (0, 0)}
    edges = []
    for room in rooms[1:]:
        while True:
            base = rng.choice(list(at))
            direction, (dx, dy) = rng.choice(list(COMPASS.items()))
            spot = (at[base][0] + dx, at[base][1] + dy)
            if spot not in at.values():
                break
        at[room] = spot
        edges.append((room, direction, base))
    rng.shuffle(edges)
    lines = [words(f"the {room} is {direction} of the {base}") for room, direction, base in edges]
    steps = {}  # (from, to) -> (direction, line)
    for i, (room, direction, base) in enumerate(edges):
        steps[(base, room)] = (direction, i)
        steps[(room, base)] = (DIRECTIONS[direction], i)
    routes = [
        (a, c, first, second)
        for (a, b), first in steps.items()
        for (b2, c), second in steps.items()
        if b2 == b and c != a
    ]
    start, end, (d1, i1), (d2, i2) = rng.choice(routes)
    answer = f"{d1[0]},{d2[0]}"
    return _example(lines, f"how do you go from the {start} to the {end}", answer, (i1, i2), 19)


#: Each motivation, where it sends an actor and what they take there.
MOTIVES = {
    "hungry": ("kitchen", "apple"),
    "thirsty": ("kitchen", "milk"),
    "tired": ("bedroom", "pajamas"),
    "bored": ("garden", "football"),
}


def agents_motivations(rng: random.Random, statements: int) -> Example:
    """Actors with a motivation, some of whom act on it; why did one go or take something,
    or where will one go. Each actor is told 1-3 statements; at most 12 (4 actors)."""
    lines, asked_about = [], []
    actors = list(ACTORS)
    rng.shuffle(actors)
    for actor, told in zip(actors, split_counts(statements, len(actors), 1, 3, rng), strict=False):
        motive = rng.choice(list(MOTIVES))
        place, thing = MOTIVES[motive]
        said = len(lines)
        lines.append(words(f"{actor} is {motive}"))
        if told == 1:
            asked_about.append((f"where will {actor} go", place, (said,)))
        if told >= 2:
            went = len(lines)
            lines.append(words(f"{actor} went to the {place}"))
            asked_about.append((f"why did {actor} go to the {place}", motive, (said, went)))
        if told == 3:
            took = len(lines)
            lines.append(words(f"{actor} grabbed the {thing} there"))
            asked_about.append((f"why did {actor} get the {thing}", motive, (said, took)))
    question, answer, supports = rng.choice(asked_about)
    return _example(lines, question, answer, supports, 20)


Generator = Callable[[random.Random, int], Example]

#: The task types, by bAbI number: (generator, the paper's name, statements per story
#: (fewest, most) where the generator uses them).
TYPES: dict[int, tuple[Generator, str, tuple[int, int]]] = {
    1: (single_supporting_fact, "single supporting fact", (2, 10)),
    2: (two_supporting_facts, "two supporting facts", (2, 20)),
    3: (three_supporting_facts, "three supporting facts", (8, 40)),
    4: (two_argument_relations, "two argument relations", (2, 2)),
    5: (three_argument_relations, "three argument relations", (4, 30)),
    6: (yes_no_questions, "yes/no questions", (2, 12)),
    7: (counting, "counting", (2, 12)),
    8: (lists_sets, "lists/sets", (2, 12)),
    9: (simple_negation, "simple negation", (2, 10)),
    10: (indefinite_knowledge, "indefinite knowledge", (2, 10)),
    11: (basic_coreference, "basic coreference", (2, 10)),
    12: (conjunction, "conjunction", (2, 10)),
    13: (compound_coreference, "compound coreference", (2, 10)),
    14: (time_reasoning, "time reasoning", (4, 16)),
    15: (basic_deduction, "basic deduction", (8, 8)),
    16: (basic_induction, "basic induction", (9, 9)),
    17: (positional_reasoning, "positional reasoning", (2, 2)),
    18: (size_reasoning, "size reasoning", (4, 4)),
    19: (path_finding, "path finding", (4, 4)),
    20: (agents_motivations, "agent's motivations", (2, 12)),
}


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


def path_answers() -> list[str]:
    """The answers of path finding: two compass letters, "n,e" (never a step and its reverse)."""
    letters = {d[0]: d for d in COMPASS}
    return [f"{a},{b}" for a in letters for b in letters if DIRECTIONS[letters[a]] != letters[b]]


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
        *TIMES,
        *ANIMALS,
        *COLOURS,
        *PETS,
        *SHAPES,
        *PLACES,
        *CONTAINERS,
        *COMPASS,
        *MOTIVES,
        *(w for place, thing in MOTIVES.values() for w in (place, thing)),
        "the where is was before what how many objects carrying of a are afraid and they",
        "moved went journeyed travelled back to got grabbed picked up took dropped discarded",
        "put down left gave in not no longer either or yes no maybe nothing",
        "who did give received color fits inside bigger than smaller does fit do you go from",
        "why will get there",
    ]
    for text in texts:
        found.update(text.split())
    return sorted(found)


def possible_answers() -> list[str]:
    """Every answer the generators can give: words, lists of objects in their order, and the
    two steps of a path."""
    lists = {",".join(c) for n in range(2, len(OBJECTS) + 1) for c in combinations(OBJECTS, n)}
    return sorted(set(vocabulary_words()) | lists | set(path_answers()))


def split_counts(total: int, most_parts: int, low: int, high: int, rng: random.Random) -> list[int]:
    """``total`` split into at most ``most_parts`` random parts of ``low``-``high`` each
    (``total`` clamped to what such parts can make)."""
    total = min(max(total, low), most_parts * high)
    parts = rng.randint(-(-total // high), min(most_parts, total // low))
    counts = [low] * parts
    for _ in range(total - low * parts):
        counts[rng.choice([i for i, c in enumerate(counts) if c < high])] += 1
    return counts
