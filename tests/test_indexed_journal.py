"""The indexed journal answers as py-evm's journal does, operation for operation."""

import random

import pytest
from eth.db.backends.memory import MemoryDB
from eth.db.journal import JournalDB
from eth_utils import ValidationError

from l1.accel.journal import IndexedJournal, IndexedJournalDB

KEYS = [bytes([n]) for n in range(6)]


def step(db: JournalDB, opened: list, rng: random.Random, kind: str):
    """One operation on ``db``; what it answered, or the kind of failure it raised."""
    try:
        if kind == "record":
            opened.append(db.record())
            return "recorded"
        if kind == "commit":
            return sorted(db.commit(rng.choice(opened)).items()) if opened else None
        if kind == "discard":
            db.discard(rng.choice(opened)) if opened else None
            return "discarded"
        if kind == "set":
            db[rng.choice(KEYS)] = bytes([rng.randrange(256)])
            return "set"
        if kind == "delete":
            del db[rng.choice(KEYS)]
            return "deleted"
        if kind == "clear":
            db.clear()
            return "cleared"
        if kind == "flatten":
            db.flatten()
            return "flattened"
        if kind == "persist":
            db.persist()
            return "persisted"
        if kind == "unknown":
            return db.has_checkpoint(10**9)
    except (ValidationError, KeyError) as failure:
        return type(failure).__name__
    raise AssertionError(kind)


def view(db: JournalDB, opened: list):
    return (
        {key: db.get(key) for key in KEYS},
        [db.has_checkpoint(checkpoint) for checkpoint in opened],
        sorted(db.diff().pending_items()),
        db._journal.is_flattened,
    )


@pytest.mark.parametrize("seed", range(40))
def test_random_operations_give_the_same_answers_and_contents(seed):
    rng_ours, rng_theirs = random.Random(seed), random.Random(seed)
    start = {key: b"\x00" for key in KEYS[:3]}
    ours, theirs = IndexedJournalDB(MemoryDB(dict(start))), JournalDB(MemoryDB(dict(start)))
    assert isinstance(ours._journal, IndexedJournal)
    opened_ours, opened_theirs = [], []
    kinds = ["record"] * 4 + ["commit", "discard"] * 2 + ["set"] * 4 + ["delete", "clear"]
    kinds += ["flatten", "persist", "unknown"]
    for _ in range(300):
        kind = random.Random(rng_ours.random()).choice(kinds)
        rng_theirs.random()
        answer = step(ours, opened_ours, rng_ours, kind)
        assert step(theirs, opened_theirs, rng_theirs, kind) == answer, kind
        assert view(ours, opened_ours)[0] == view(theirs, opened_theirs)[0]
        assert view(ours, opened_ours)[1:] == view(theirs, opened_theirs)[1:]


def test_deep_nesting_commits_in_constant_time_per_checkpoint():
    """A thousand nested checkpoints, each asked for and committed from the top."""
    journal = IndexedJournal()
    journal.record_checkpoint()  # the root, as a JournalDB starts
    checkpoints = [journal.record_checkpoint() for _ in range(1024)]
    for checkpoint in reversed(checkpoints):
        assert journal.has_checkpoint(checkpoint)
        journal.commit_checkpoint(checkpoint)
        assert not journal.has_checkpoint(checkpoint)
    assert journal.is_flattened and journal._positions == {journal.root_checkpoint: 0}
    with pytest.raises(ValidationError, match="No checkpoint"):
        journal.commit_checkpoint(checkpoints[0])
    with pytest.raises(ValidationError, match="root changeset"):
        journal.commit_checkpoint(journal.root_checkpoint)
