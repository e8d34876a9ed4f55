"""A state opened at the root the last one made starts warm and reads what a cold one does."""

from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB

from l1.node import Devnet
from precompile.warm_accounts import WarmAccountDB, known_accounts

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


def funded_state(db):
    accounts = WarmAccountDB(db)
    for index, address in enumerate(ADDRESSES):
        accounts.set_balance(address, 1000 + index)
    accounts.set_code(ADDRESSES[0], b"\x60\x00")
    accounts.persist()
    return accounts.state_root


def test_writes_and_deletions_carry_over_to_the_next_state():
    db = AtomicDB()
    root = funded_state(db)
    accounts = WarmAccountDB(db, root)
    assert accounts._trie_cache.entries(), "the state should start primed"
    accounts.set_balance(ADDRESSES[1], 7)
    accounts.increment_nonce(ADDRESSES[2])
    accounts.delete_account(ADDRESSES[3])
    accounts.persist()
    new_root = accounts.state_root
    assert known_accounts(db).state_root == new_root
    warm, cold = WarmAccountDB(db, new_root), AccountDB(db, new_root)
    assert account_view(warm, ADDRESSES) == account_view(cold, ADDRESSES)
    assert warm.get_balance(ADDRESSES[1]) == 7 and warm.get_nonce(ADDRESSES[2]) == 1
    assert not warm.account_exists(ADDRESSES[3])


def test_another_root_or_database_starts_cold_and_reads_its_own_accounts():
    db = AtomicDB()
    first_root = funded_state(db)
    accounts = WarmAccountDB(db, first_root)
    accounts.set_balance(ADDRESSES[0], 1)
    accounts.persist()
    past = WarmAccountDB(db, first_root)
    assert past._trie_cache.entries() == {}
    assert account_view(past, ADDRESSES) == account_view(AccountDB(db, first_root), ADDRESSES)
    assert past.get_balance(ADDRESSES[0]) == 1000
    # Same contents, another database object (as a witness is recorded through): cold.
    other = AtomicDB(db.wrapped_db)
    assert WarmAccountDB(other, accounts.state_root)._trie_cache.entries() == {}


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
        parent = devnet.block(head.block_number - 1).header
        assert account_view(WarmAccountDB(db, parent.state_root), addresses) == account_view(
            AccountDB(db, parent.state_root), addresses
        )
