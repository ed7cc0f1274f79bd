"""What the lessons' exercise tests share: the message a wrong answer hears, and the tables of
typical wrong answers that each tests/lessons/test_exercises_lessonNN.py keeps in its WRONG."""

import pytest

from gamlab import exercises


@pytest.fixture
def wrong():
    """wrong(key, answer) -> the feedback's message; fails the test unless the check calls the answer wrong."""
    def message(key: str, answer) -> str:
        fb = exercises.check(key, answer)
        assert fb.status == "wrong", fb
        return fb.message
    return message


def pytest_generate_tests(metafunc):
    """A test that takes (key, solution) runs once per entry of its module's SOLUTIONS, {key: solution};
    one that takes (key, answer, says) once per row of its module's WRONG table,
    {key: [(answer, what the feedback says), ...]}, with ids such as 2.1-0, 2.1-1, ..."""
    if {"key", "solution"} <= set(metafunc.fixturenames):
        metafunc.parametrize("key, solution", sorted(metafunc.module.SOLUTIONS.items()),
                             ids=sorted(metafunc.module.SOLUTIONS))
    if {"key", "answer", "says"} <= set(metafunc.fixturenames):
        table = metafunc.module.WRONG
        metafunc.parametrize("key, answer, says", [(k, a, s) for k, rows in table.items() for a, s in rows],
                             ids=[f"{k}-{i}" for k, rows in table.items() for i in range(len(rows))])
