"""
The compile cache: a new process reads a contract compiled before instead of
compiling it again, and any change to the sources or the compiler compiles
afresh. What the cache gives back is what the compiler gives.
"""

import shutil

import pytest

import contracts
from contracts import cache_path, compile_contract, compile_source

NAME = "L2MessagePasser"  # small: compiles in a fraction of a second


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NR_CONTRACT_CACHE", str(tmp_path / "cache"))
    compile_contract.cache_clear()
    yield tmp_path / "cache"
    compile_contract.cache_clear()


def test_a_contract_compiled_once_is_read_back_as_compiled(cache):
    first = compile_contract(NAME)
    path = cache_path(NAME)
    assert path.parent == cache and path.is_file()
    compile_contract.cache_clear()
    assert compile_contract(NAME) == first == compile_source(NAME)
    assert list(cache.glob("*.tmp")) == []


def test_an_unreadable_cache_entry_is_compiled_again_and_replaced(cache):
    compile_contract(NAME)
    path = cache_path(NAME)
    for damaged in ("", "{not json", '{"abi": []}', '{"abi": [], "bytecode": "zz", '
                    '"runtime": "", "slots": {}}'):
        path.write_text(damaged)
        compile_contract.cache_clear()
        assert compile_contract(NAME) == compile_source(NAME)
        assert path.read_text() != damaged


def test_any_source_edit_or_another_compiler_changes_the_key(cache, tmp_path, monkeypatch):
    sources = tmp_path / "sources"
    skipped = shutil.ignore_patterns("*.py", "__pycache__")
    shutil.copytree(contracts.SOURCES, sources, ignore=skipped)
    monkeypatch.setattr(contracts, "SOURCES", sources)
    before = cache_path(NAME)
    module = sources / "rlp.vy"  # a module NAME does not even import
    module.write_text(module.read_text() + "\n# edited\n")
    edited = cache_path(NAME)
    assert edited != before
    monkeypatch.setattr(contracts.vyper, "__version__", "0.0.0-other")
    assert cache_path(NAME) not in (before, edited)


def test_an_empty_setting_turns_the_cache_off(cache, monkeypatch):
    monkeypatch.setenv("NR_CONTRACT_CACHE", "")
    assert cache_path(NAME) is None
    compile_contract(NAME)
    assert not cache.exists()


def test_an_unwritable_cache_is_skipped(cache, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("NR_CONTRACT_CACHE", str(blocker / "cache"))
    assert compile_contract(NAME) == compile_source(NAME)
