"""The embedded corpus: short stories the project writes itself, offline, deterministic by seed.

Every story introduces a hero, a companion animal with its own name and a coloured
treasure in its first two sentences, wanders through a few middle sentences (places,
weather, friends, small events), and comes back to them at the end:

    Once upon a time there was a girl named Mia. Mia had a cat called Pip and a red kite.
    ... (several sentences) ...
    At the end of the day Mia remembered the red kite, and Pip was happy too.

Predicting "red kite" and "Pip" at the end means looking back a few hundred characters,
far beyond a causal convolution's reach (L*(k-1)+1 tokens), so the corpus separates models
that can carry information across a sequence from those that cannot. The word lists and
grammar are the project's own.

Used in notebooks/05_showdown.ipynb and 06_inside_gam.ipynb (the embedded stories, through gamlab.experiments.runs).
"""

from __future__ import annotations

import random

from ..errors import GamlabError

NAMES = {
    "girl": ["Mia", "Lina", "Zoe", "Ava", "Nora", "Ruby", "Ella", "Ida", "Maya", "Lucy", "Tess", "Olive",
             "Hana", "Iris", "June", "Clara"],
    "boy": ["Tom", "Leo", "Max", "Sam", "Ben", "Finn", "Jack", "Theo", "Omar", "Eli", "Hugo", "Noah",
            "Ravi", "Otto", "Kai", "Luca"],
}
PRONOUN = {"girl": ("she", "her"), "boy": ("he", "his")}
PETS = ["cat", "dog", "rabbit", "duck", "frog", "mouse", "puppy", "kitten", "goat", "owl", "turtle", "pony"]
PET_NAMES = ["Pip", "Bongo", "Daisy", "Biscuit", "Pepper", "Sunny", "Coco", "Muffin", "Rocket", "Button",
             "Pebble", "Ziggy", "Noodle", "Maple", "Tiger", "Bean"]
COLORS = ["red", "blue", "green", "yellow", "purple", "orange", "pink", "silver", "golden", "brown",
          "white", "black"]
TREASURES = ["kite", "ball", "hat", "boat", "drum", "book", "shell", "key", "box", "scarf", "lamp",
             "cup", "bell", "stone", "car", "spoon"]
PLACES = ["the park", "the forest", "the beach", "the garden", "the river", "the hill", "the market",
          "the old barn", "the library", "the farm", "the lake", "the meadow"]
FRIENDS = ["a friendly bear", "an old man", "a tall girl", "a small boy", "a kind teacher",
           "a wise owl", "a busy squirrel", "a sleepy fox", "a baker", "a fisherman"]
WEATHER = ["The sun was warm and bright.", "A cold wind blew across the sky.",
           "Soft rain fell on the leaves.", "The clouds were big and grey.",
           "It was a quiet and sunny morning.", "Snow covered the ground like a blanket."]
FEELINGS = ["happy", "sad", "tired", "excited", "curious", "scared", "proud", "hungry"]
THINGS = ["an apple", "a flower", "a feather", "a map", "a cookie", "a leaf", "a coin", "a letter",
          "a sandwich", "a bright rock"]
ACTIONS = ["jumped over a log", "sang a little song", "counted the birds", "looked at the clouds",
           "ran in a big circle", "sat under a tree", "drew a picture in the sand",
           "picked up a stick", "danced in the grass", "climbed a small wall"]


def make_story(rng: random.Random) -> str:
    """One story (a paragraph of plain English, roughly 500 to 900 characters)."""
    kind = rng.choice(["girl", "boy"])
    hero = rng.choice(NAMES[kind])
    he, his = PRONOUN[kind]
    pet, pet_name = rng.choice(PETS), rng.choice(PET_NAMES)
    color, treasure = rng.choice(COLORS), rng.choice(TREASURES)
    place = rng.choice(PLACES)
    opening = rng.choice([
        f"Once upon a time there was a {kind} named {hero}.",
        f"There once lived a little {kind} called {hero}.",
        f"One day a {kind} named {hero} woke up early.",
    ])
    has = rng.choice([
        f"{hero} had a {pet} called {pet_name} and a {color} {treasure}.",
        f"{hero} lived with a {pet} named {pet_name} and loved {his} {color} {treasure}.",
    ])
    middle = [f"One morning {hero} and {pet_name} went to {place}.", rng.choice(WEATHER)]
    for _ in range(rng.randint(3, 6)):  # the long gap between introduction and recall
        friend, thing = rng.choice(FRIENDS), rng.choice(THINGS)
        middle.append(rng.choice([
            f"On the way {he} met {friend}.",
            f"{friend.capitalize()} gave {hero} {thing}.",
            f"{he.capitalize()} {rng.choice(ACTIONS)}.",
            f"The {pet} {rng.choice(ACTIONS)}.",
            f"{hero} felt {rng.choice(FEELINGS)} and {rng.choice(ACTIONS)}.",
            f"Then they walked to {rng.choice(PLACES)}.",
            f"{hero} found {thing} and put it in {his} pocket.",
            f"{friend.capitalize()} said hello and smiled.",
        ]))
    problem = rng.choice([
        f"Suddenly {he} could not find the {treasure}.",
        f"Then {hero} saw that the {treasure} was gone.",
        f"After a while {pet_name} ran away to play.",
    ])
    ending = rng.choice([
        f"At last {hero} found the {color} {treasure} under a bush, and {pet_name} barked with joy.",
        f"In the evening {hero} went home with {pet_name} and the {color} {treasure}.",
        f"At the end of the day {hero} remembered the {color} {treasure}, and {pet_name} was happy too.",
        f"Then {hero} hugged {pet_name} and held the {color} {treasure} close.",
    ])
    return " ".join([opening, has, *middle, problem, ending])


def make_stories(n_stories: int = 6000, seed: int = 0) -> list[str]:
    """The first `n_stories` stories of the stream drawn from `seed`.

    Story i is the same for every n_stories > i (one generator, drawn in order), so a
    larger corpus only adds stories at the end.
    """
    rng = random.Random(seed)
    return [make_story(rng) for _ in range(n_stories)]


def make_corpus(n_stories: int = 6000, seed: int = 0) -> str:
    """`n_stories` stories separated by blank lines; the same seed gives the same text.

    The default (6000 stories) is about 4 MB and takes well under a second.
    """
    return "\n\n".join(make_stories(n_stories, seed)) + "\n"


def validation_period(val_fraction: float = 0.1) -> int:
    """Every how many stories one validates: round(1 / val_fraction), 10 for the default 0.1."""
    if not 0 < val_fraction <= 0.5:
        raise GamlabError(f"val_fraction={val_fraction!r} is outside (0, 0.5]; use a fraction such as 0.1.")
    return round(1 / val_fraction)


def is_validation(i: int, val_fraction: float = 0.1) -> bool:
    """Whether story i belongs to the validation split: the last of every `validation_period`.

    A function of i alone, so a story lands in the same split whatever the corpus size: the
    validation stories of a 600-story corpus are validation stories of a 2000-story run too.
    """
    period = validation_period(val_fraction)
    return i % period == period - 1
