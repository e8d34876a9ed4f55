"""A state opened at the root the last one made starts warm and reads what a cold one does."""

import pytest
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB

from l1.accel.warm_accounts import PrimedCacheDB, WarmAccountDB, known_accounts
from l1.node import Devnet

ADDRESSES = [bytes([n]) * 20 for n in range(1, 6)]


def account_view(account_db, addresses):
    return {
        address: (
            account_db.get_balance(address),
            account_db.get_nonce(address),
            account_db.get_code_hash(address),
            account_db.account_exists(address),
        )
        for address in addresses
    }


SLOTS = [0, 1, 2, 7, 2**255]


def storage_view(account_db, addresses):
    return {(a, slot): account_db.get_storage(a, slot) for a in addresses for slot in SLOTS}


def funded_state(db):
    accounts = WarmAccountDB(db)
    for index, address in enumerate(ADDRESSES):
        accounts.set_balance(address, 1000 + index)
        accounts.set_storage(address, 1, index + 1)
        accounts.set_storage(address, 2**255, 5)
    accounts.set_code(ADDRESSES[0], b"\x60\x00")
    accounts.persist()
    return accounts.state_root


def test_writes_and_deletions_carry_over_to_the_next_state():
    db = AtomicDB()
    root = funded_state(db)
    accounts = WarmAccountDB(db, root)
    assert accounts._trie_cache.handed_over(), "the state should start primed"
    assert accounts.get_storage(ADDRESSES[0], 1) == 1
    assert accounts._get_address_store(ADDRESSES[0])._storage_cache.entries()
    accounts.set_balance(ADDRESSES[1], 7)
    accounts.increment_nonce(ADDRESSES[2])
    accounts.delete_account(ADDRESSES[3])
    accounts.set_storage(ADDRESSES[0], 1, 0)
    accounts.set_storage(ADDRESSES[1], 7, 70)
    accounts.set_storage(ADDRESSES[4], 2**255, 6)
    accounts.persist()
    new_root = accounts.state_root
    assert known_accounts(db).state_root == new_root
    warm, cold = WarmAccountDB(db, new_root), AccountDB(db, new_root)
    assert account_view(warm, ADDRESSES) == account_view(cold, ADDRESSES)
    assert storage_view(warm, ADDRESSES) == storage_view(cold, ADDRESSES)
    assert warm.get_storage(ADDRESSES[0], 1) == 0 and warm.get_storage(ADDRESSES[1], 7) == 70
    assert warm.get_storage(ADDRESSES[3], 1) == 0 and warm.get_storage(ADDRESSES[4], 2**255) == 6
    assert warm.get_balance(ADDRESSES[1]) == 7 and warm.get_nonce(ADDRESSES[2]) == 1
    assert not warm.account_exists(ADDRESSES[3])


def state_root_after_one_write(db):
    """A funded state, then one persisted state that changes the first address's balance."""
    accounts = WarmAccountDB(db, funded_state(db))
    accounts.set_balance(ADDRESSES[0], 1)
    accounts.persist()
    return accounts.state_root


def test_only_what_the_last_state_touched_is_handed_over():
    db = AtomicDB()
    second = WarmAccountDB(db, state_root_after_one_write(db))
    assert ADDRESSES[0] in second._trie_cache.handed_over()
    second.set_balance(ADDRESSES[1], 2)
    second.persist()
    assert set(known_accounts(db).accounts) == {ADDRESSES[1]}
    third = WarmAccountDB(db, second.state_root)
    assert account_view(third, ADDRESSES) == account_view(
        AccountDB(db, second.state_root), ADDRESSES
    )


def test_states_opened_at_the_same_root_do_not_share_writes():
    db = AtomicDB()
    root = state_root_after_one_write(db)
    handed_over = dict(known_accounts(db).accounts)
    one, other = WarmAccountDB(db, root), WarmAccountDB(db, root)
    one._trie_cache[b"key"] = b"written by one"
    del one._trie_cache[ADDRESSES[0]]
    assert other._trie_cache.handed_over() == handed_over == known_accounts(db).accounts
    assert other.get_balance(ADDRESSES[0]) == 1


def test_another_root_or_database_starts_cold_and_reads_its_own_accounts():
    db = AtomicDB()
    first_root = funded_state(db)
    accounts = WarmAccountDB(db, first_root)
    accounts.set_balance(ADDRESSES[0], 1)
    accounts.persist()
    accounts.set_storage(ADDRESSES[0], 1, 99)
    accounts.persist()
    past = WarmAccountDB(db, first_root)
    assert past._trie_cache.handed_over() == {}
    assert account_view(past, ADDRESSES) == account_view(AccountDB(db, first_root), ADDRESSES)
    assert storage_view(past, ADDRESSES) == storage_view(AccountDB(db, first_root), ADDRESSES)
    assert past.get_storage(ADDRESSES[0], 1) == 1
    assert past.get_balance(ADDRESSES[0]) == 1000
    # Same contents, another database object (as a witness is recorded through): cold.
    other = AtomicDB(db.wrapped_db)
    assert WarmAccountDB(other, accounts.state_root)._trie_cache.handed_over() == {}


def test_devnet_states_read_what_cold_states_read_block_after_block():
    with Devnet() as devnet:
        w3 = devnet.web3()
        sender, receiver = w3.eth.accounts[0], w3.eth.accounts[1]
        for value in (1, 2, 3):
            w3.eth.send_transaction({"from": sender, "to": receiver, "value": value})
        head = devnet.head()
        db = devnet.chain.chaindb.db
        known = known_accounts(db)
        assert known.state_root == head.state_root and len(known.accounts) >= 5
        addresses = list(known.accounts) + [bytes(20), b"\x42" * 20]
        warm = WarmAccountDB(db, head.state_root)
        assert account_view(warm, addresses) == account_view(
            AccountDB(db, head.state_root), addresses
        )
        # The system contracts' slots the blocks wrote and read: primed, and as the trie has them.
        assert known.storage and all(entries for entries in known.storage.values())
        for (address, _), entries in known.storage.items():
            slots = [int.from_bytes(key, "big") for key in entries]
            assert {s: warm.get_storage(address, s) for s in slots} == {
                s: AccountDB(db, head.state_root).get_storage(address, s) for s in slots
            }
        parent = devnet.block(head.block_number - 1).header
        assert account_view(WarmAccountDB(db, parent.state_root), addresses) == account_view(
            AccountDB(db, parent.state_root), addresses
        )


def test_a_written_or_deleted_key_never_reads_its_handed_over_value_again():
    db = {b"a": b"old a", b"b": b"b", b"c": b"old c"}
    cache = PrimedCacheDB(db, cache_size=1)
    cache.prime({b"a": b"handed-over a", b"c": b"handed-over c"})
    assert cache[b"a"] == b"handed-over a"
    cache[b"a"] = b"new a"
    del cache[b"c"]
    assert cache[b"b"] == b"b"  # evicts everything cached before
    assert cache[b"a"] == b"new a" and db[b"a"] == b"new a"
    assert b"c" not in cache and b"c" not in db
    assert cache.entries() == {b"a": b"new a"}


def test_a_warm_storage_db_has_the_layers_py_evm_builds():
    """Built without py-evm's __init__: the same attributes, the same starting values."""
    from eth.db.storage import AccountStorageDB

    from l1.accel.warm_accounts import WarmAccountStorageDB

    db = AtomicDB()
    root = funded_state(db)
    storage_root = AccountDB(db, root)._get_storage_root(ADDRESSES[0])
    theirs = AccountStorageDB(db, storage_root, ADDRESSES[0])
    ours = WarmAccountStorageDB(db, storage_root, ADDRESSES[0])
    # its own: the checkpoints it covers, in groups
    assert set(vars(ours)) - {"_recorded", "_group_starts"} == set(vars(theirs))
    assert {type(layer) for layer in vars(ours).values()} >= {PrimedCacheDB}
    assert ours._clear_count.diff() == theirs._clear_count.diff()
    assert dict(ours._clear_count._wrapped_db.kv_store) == dict(
        theirs._clear_count._wrapped_db.kv_store
    )
    for slot in (1, 2**255, 3):
        assert ours.get(slot) == theirs.get(slot)


def storage_step(store, opened, rng, kind, next_checkpoint):
    """One operation on a storage DB; what it answered, or the kind of failure it raised."""
    from eth_utils import ValidationError

    try:
        if kind == "record":
            checkpoint = next_checkpoint()
            store.record(checkpoint)
            opened.append(checkpoint)
            return "recorded"
        if kind in ("commit", "discard") and opened:
            checkpoint = opened.pop(rng.randrange(len(opened)))
            getattr(store, kind)(checkpoint)
            return kind
        if kind == "discard unknown":
            store.discard(next_checkpoint())
            return "reset"
        if kind == "set":
            store.set(rng.choice(SLOTS), rng.randrange(3))
            return "set"
        if kind == "delete":
            store.delete()
            return "deleted"
        if kind == "root":
            store.make_storage_root()
            return store.get_changed_root() if store.has_changed_root else None
        return None
    except (ValidationError, KeyError) as failure:
        return type(failure).__name__


def test_a_warm_storage_db_discards_as_py_evms_does():
    """Random set, delete, record, commit and discard: the same values, roots and refusals."""
    import itertools
    import random

    from eth.db.storage import AccountStorageDB

    from l1.accel.warm_accounts import WarmAccountStorageDB

    kinds = ["record"] * 3 + ["commit", "discard"] * 2 + ["set"] * 4
    kinds += ["delete", "discard unknown", "root"]
    for seed in range(30):
        db = AtomicDB()
        root = funded_state(db)
        storage_root = AccountDB(db, root)._get_storage_root(ADDRESSES[0])
        ids = itertools.count(10**6)
        stores = [
            (cls(db, storage_root, ADDRESSES[0]), [], random.Random(seed))
            for cls in (WarmAccountStorageDB, AccountStorageDB)
        ]
        picker = random.Random(seed)
        for _ in range(150):
            kind = picker.choice(kinds)
            checkpoint = next(ids)
            answers = [
                storage_step(store, opened, rng, kind, lambda: checkpoint)
                for store, opened, rng in stores
            ]
            assert answers[0] == answers[1], (seed, kind)
            views = [[store.get(slot) for slot in SLOTS] for store, _, _ in stores]
            assert views[0] == views[1], (seed, kind)


def account_step(accounts, opened, rng, kind):
    """One operation on an account DB; what it answered, or that it refused."""
    from eth_utils import ValidationError

    address = rng.choice(ADDRESSES + [bytes([9]) * 20, bytes([10]) * 20])
    try:
        if kind == "touch":
            accounts.touch_account(address)
        elif kind == "balance":
            accounts.set_balance(address, rng.choice([0, 0, 7]))
        elif kind == "delete":
            accounts.delete_account(address)
        elif kind == "store":
            accounts.set_storage(address, rng.choice(SLOTS), rng.choice([0, 3, 4]))
        elif kind == "wipe":
            accounts.delete_storage(address)
        elif kind == "lock":  # a transaction's end
            accounts.lock_changes()
        elif kind == "clear empty":  # EIP-161, as py-evm's state does it for touched accounts
            if accounts.account_exists(address) and accounts.account_is_empty(address):
                accounts.delete_account(address)
        elif kind == "record":
            opened.append(accounts.record())
        elif kind in ("commit", "discard") and opened:
            # The latest, as call frames end; an older one now and then, as a
            # state reverted to an earlier snapshot ends the frames after it.
            index = len(opened) - 1 if rng.random() < 0.8 else rng.randrange(len(opened))
            checkpoint = opened[index]
            del opened[index:]
            getattr(accounts, kind)(checkpoint)
        elif kind == "root":
            opened.clear()  # py-evm persists the journal: every checkpoint is closed
            return accounts.make_state_root()
    except ValidationError:  # e.g. py-evm's: a revert past two wipes of one storage
        return "refused"
    return kind


@pytest.mark.parametrize("records, closes", [(4, 2), (10, 2)], ids=["shallow", "deep"])
def test_a_warm_account_db_touches_and_checkpoints_as_py_evms_does(records, closes):
    """
    Random touches, balance and storage writes (to zero too), deletions,
    storage wipes, EIP-161 clears, transaction ends and checkpoints on
    funded, empty and absent accounts: the same accounts, storage, existence
    and state roots as py-evm's, though it skips rewriting accounts that have
    something in them and records checkpoints in a storage only before it is
    written, the checkpoints opened since its last write as one (``deep``:
    frames nested many at a time between writes).
    """
    import random

    kinds = ["touch"] * 4 + ["balance", "delete", "clear empty", "root"] * 2
    kinds += ["store"] * 6 + ["wipe", "lock"]
    kinds += ["record"] * records + ["commit", "discard"] * closes
    addresses = ADDRESSES + [bytes([9]) * 20, bytes([10]) * 20]
    for seed in range(100):
        db = AtomicDB()
        root = funded_state(db)
        dbs = [(cls(db, root), [], random.Random(seed)) for cls in (WarmAccountDB, AccountDB)]
        picker = random.Random(seed)
        for step in range(150):
            kind = picker.choice(kinds)
            answers = [account_step(accounts, opened, rng, kind) for accounts, opened, rng in dbs]
            assert answers[0] == answers[1], (seed, step, kind)
            if answers[0] == "refused":
                break  # py-evm has left its journals half reverted: nothing more to compare
            views = [
                (account_view(accounts, addresses), storage_view(accounts, addresses))
                for accounts, _, _ in dbs
            ]
            assert views[0] == views[1], (seed, step, kind)
        else:
            assert dbs[0][0].make_state_root() == dbs[1][0].make_state_root(), seed
