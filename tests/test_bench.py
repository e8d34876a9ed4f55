"""The benchmark's workload blocks are real L2 blocks: every engine verifies them."""

from precompile.bench import build_workloads, format_results, measure_engine
from precompile.encoding import decode
from precompile.engines import engines
from precompile.guest import stateless_validation
from precompile.ssz import StatelessInput

from mutations import STRUCTURAL_MUTATIONS


def test_workload_blocks_fill_their_gas_and_every_engine_verifies_them():
    target = 400_000
    workloads = build_workloads(target)
    assert [w.label for w in workloads] == ["compute-heavy", "storage-heavy"]
    for workload in workloads:
        assert 0.9 * target <= workload.gas_used <= target / 0.97
        for engine in sorted(engines()):
            measurement = measure_engine(workload, engine)
            assert measurement.declined is None and measurement.seconds > 0
        mutated = decode(workload.encoded_input, StatelessInput)
        STRUCTURAL_MUTATIONS["post_state_root"](mutated)
        assert not stateless_validation(mutated).result.successful_validation
    table = format_results({w.label: [w.raw_pyevm, w.raw_pyevm] for w in workloads})
    assert "compute-heavy" in table and "1.00000x" in table
