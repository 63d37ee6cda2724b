"""A simulated world of actors, locations and objects that tells its story line by line and
knows which lines support each fact, as the bAbI tasks are generated (Weston et al. 2015,
"Towards AI-Complete Question Answering", §3 and the simulation of its appendix).

Actors move between locations, get objects where they are, drop and give them. Every action is
checked against the state (an actor gets an object only where it lies and while no one holds
it; gives only to an actor in the same place) and told as one line of lowercase words. The
world answers where an actor or object is, what an actor carries and where an object was, with
the lines that support each answer (0-based line numbers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Actors and the pronoun that refers to each (bAbI's four in the movement tasks).
ACTORS = {"mary": "she", "sandra": "she", "john": "he", "daniel": "he"}
LOCATIONS = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
OBJECTS = ("apple", "football", "milk")
MOVE_VERBS = ("moved to", "went to", "journeyed to", "travelled to", "went back to")
GET_VERBS = ("got", "grabbed", "picked up", "took")
DROP_VERBS = ("dropped", "discarded", "put down", "left")


def words(text: str) -> list[str]:
    return text.split()


@dataclass
class Place:
    """Where something is and the lines that say so."""

    location: str
    supports: tuple[int, ...]


@dataclass
class World:
    """The state of the world and the story told so far.

    rng: the generator of every choice. ``lines`` holds the story, one list of words a line.
    """

    rng: random.Random
    actors: tuple[str, ...] = tuple(ACTORS)
    locations: tuple[str, ...] = LOCATIONS
    objects: tuple[str, ...] = OBJECTS
    lines: list[list[str]] = field(default_factory=list)
    #: actor -> where the story last put them.
    actor_place: dict[str, Place] = field(default_factory=dict)
    #: object -> (holder, the line they took it on).
    held: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: object -> where it was left (not held).
    left: dict[str, Place] = field(default_factory=dict)
    #: object -> every place it has been, in order.
    trail: dict[str, list[Place]] = field(default_factory=dict)

    def tell(self, text: str) -> int:
        """Add a line to the story; returns its number."""
        self.lines.append(words(text))
        return len(self.lines) - 1

    # --- actions ------------------------------------------------------------------------------

    def move(self, actor: str, location: str, text: str | None = None) -> int:
        """``actor`` goes to ``location`` (carrying what they hold)."""
        if text is None:
            text = f"{actor} {self.rng.choice(MOVE_VERBS)} the {location}"
        line = self.tell(text)
        self.actor_place[actor] = Place(location, (line,))
        for obj, (holder, taken) in self.held.items():
            if holder == actor:
                self._follow(obj, Place(location, (taken, line)))
        return line

    def get(self, actor: str, obj: str) -> int:
        """``actor`` takes ``obj`` where both are; the object must lie there, unheld."""
        if not self.can_get(actor, obj):
            raise ValueError(f"{actor} cannot get the {obj} now")
        line = self.tell(f"{actor} {self.rng.choice(GET_VERBS)} the {obj}")
        self.held[obj] = (actor, line)
        self.left.pop(obj, None)
        place = self.actor_place[actor]
        self._follow(obj, Place(place.location, (line, *place.supports)))
        return line

    def drop(self, actor: str, obj: str) -> int:
        """``actor`` leaves ``obj`` where they are."""
        if self.held.get(obj, (None,))[0] != actor:
            raise ValueError(f"{actor} does not hold the {obj}")
        line = self.tell(f"{actor} {self.rng.choice(DROP_VERBS)} the {obj}")
        del self.held[obj]
        place = self.actor_place[actor]
        self.left[obj] = Place(place.location, (line, *place.supports))
        return line

    def give(self, giver: str, obj: str, receiver: str) -> int:
        """``giver`` hands ``obj`` to ``receiver`` in the same place."""
        if self.held.get(obj, (None,))[0] != giver or not self.together(giver, receiver):
            raise ValueError(f"{giver} cannot give the {obj} to {receiver} now")
        line = self.tell(f"{giver} gave the {obj} to {receiver}")
        self.held[obj] = (receiver, line)
        return line

    def _follow(self, obj: str, place: Place) -> None:
        trail = self.trail.setdefault(obj, [])
        if not trail or trail[-1].location != place.location:
            trail.append(place)

    # --- questions ----------------------------------------------------------------------------

    def can_get(self, actor: str, obj: str) -> bool:
        if actor not in self.actor_place or obj in self.held:
            return False
        place = self.left.get(obj)
        return place is None or place.location == self.actor_place[actor].location

    def together(self, a: str, b: str) -> bool:
        return (
            a != b
            and a in self.actor_place
            and b in self.actor_place
            and self.actor_place[a].location == self.actor_place[b].location
        )

    def carried(self, actor: str) -> list[str]:
        """The objects ``actor`` holds, in the order of :attr:`objects`."""
        return [obj for obj in self.objects if self.held.get(obj, (None,))[0] == actor]

    def object_place(self, obj: str) -> Place | None:
        """Where ``obj`` is (None: the story has not placed it)."""
        if obj in self.held:
            holder, taken = self.held[obj]
            place = self.actor_place[holder]
            return Place(place.location, tuple(sorted({taken, *place.supports})))
        return self.left.get(obj)

    # --- random actions -----------------------------------------------------------------------

    def random_move(self, actor: str | None = None) -> int:
        actor = actor or self.rng.choice(self.actors)
        here = self.actor_place.get(actor)
        choices = [loc for loc in self.locations if here is None or loc != here.location]
        return self.move(actor, self.rng.choice(choices))

    def random_action(self, give: bool = False) -> int:
        """A move, or (once actors are placed) a get, drop or give that the state allows."""
        placed = [a for a in self.actors if a in self.actor_place]
        options: list[tuple[str, ...]] = []
        for actor in placed:
            options += [("get", actor, o) for o in self.objects if self.can_get(actor, o)]
            options += [("drop", actor, o) for o in self.carried(actor)]
            if give:
                options += [
                    ("give", actor, o, other)
                    for o in self.carried(actor)
                    for other in placed
                    if self.together(actor, other)
                ]
        if not options or self.rng.random() < 0.5:
            return self.random_move()
        action, *args = self.rng.choice(options)
        return getattr(self, action)(*args)
