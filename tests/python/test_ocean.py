"""Ocean against the emulator: dwave-cloud-client and dwave-system, as installed from PyPI,
pointed at annealer-svc's SAPI front by endpoint and token alone.

Usage: test_ocean.py ENDPOINT TOKEN
"""
import sys

import dimod
from dwave.cloud import Client
from dwave.system import DWaveSampler

ENDPOINT, TOKEN = sys.argv[1], sys.argv[2]
EXPECTED_SOLVERS = {"DW_2000Q_5", "Advantage2_system1.5", "Advantage_system_emulated"}


def problem_on(solver_properties):
    """A small frustrated Ising problem at the first working qubit: a triangle where the graph
    has one (Zephyr, Pegasus), else a 4-cycle (Chimera is bipartite)."""
    adjacent = {}
    for u, v in solver_properties["couplers"]:
        adjacent.setdefault(u, set()).add(v)
        adjacent.setdefault(v, set()).add(u)
    q0 = min(solver_properties["qubits"])
    neighbours = sorted(adjacent[q0])
    for a in neighbours:
        for b in neighbours:
            if a < b and b in adjacent[a]:
                return {q0: 0.3, a: -0.2, b: 0.0}, {(q0, a): 1.0, (q0, b): 1.0, (a, b): 1.0}
    a, b = neighbours[0], neighbours[1]
    c = min((adjacent[a] & adjacent[b]) - {q0})
    h = {q0: 0.3, a: -0.2, b: 0.1, c: 0.0}
    J = {(q0, a): 1.0, (q0, b): -0.5, (a, c): 1.0, (b, c): 0.8}
    return h, J


def check_sampleset(where, sampleset, h, J, num_reads):
    bqm = dimod.BinaryQuadraticModel.from_ising(h, J)
    assert set(sampleset.variables) == set(h) | {v for e in J for v in e}, \
        f"{where}: variables {sorted(sampleset.variables)}"
    occurrences = int(sampleset.record.num_occurrences.sum())
    assert occurrences == num_reads, f"{where}: num_occurrences sum to {occurrences}, not {num_reads}"
    recomputed = bqm.energies(sampleset)
    worst = max(abs(a - b) for a, b in zip(recomputed, sampleset.record.energy))
    assert worst < 1e-9, f"{where}: energies differ from recomputed ones by {worst}"
    timing = sampleset.info.get("timing", {})
    for key in ("qpu_access_time", "qpu_sampling_time", "qpu_programming_time"):
        assert timing.get(key, 0) > 0, f"{where}: timing lacks {key}: {timing}"
    print(f"ok: {where}: {len(sampleset)} rows over {len(sampleset.variables)} variables, "
          f"{occurrences} reads, lowest energy {sampleset.first.energy:+.3f}, "
          f"qpu_access_time {timing['qpu_access_time']:.1f} us")


def main():
    num_reads = 100
    with Client(endpoint=ENDPOINT, token=TOKEN) as client:
        names = {s.name for s in client.get_solvers()}
        assert EXPECTED_SOLVERS <= names, f"solvers listed: {sorted(names)}"
        print(f"ok: Client lists {sorted(names)}")
        for name in ("DW_2000Q_5", "Advantage2_system1.5"):
            solver = client.get_solver(name)
            assert solver.qpu and solver.online, f"{name}: qpu={solver.qpu} online={solver.online}"
            h, J = problem_on(solver.properties)
            future = solver.sample_ising(h, J, num_reads=num_reads, x_seed=11)
            check_sampleset(f"Client.get_solver({name!r}).sample_ising", future.sampleset, h, J, num_reads)
            qubo = {(u, v): w for (u, v), w in J.items()}
            qubo.update({(v, v): w for v, w in h.items()})
            sampleset = solver.sample_qubo(qubo, num_reads=num_reads, answer_mode="raw").sampleset
            bqm = dimod.BinaryQuadraticModel.from_qubo(qubo)
            worst = max(abs(a - b) for a, b in zip(bqm.energies(sampleset), sampleset.record.energy))
            assert worst < 1e-9 and len(sampleset) == num_reads, f"{name}: qubo raw answer ({worst})"
            print(f"ok: Client.get_solver({name!r}).sample_qubo raw: {len(sampleset)} rows")

    for name in ("DW_2000Q_5", "Advantage2_system1.5"):
        sampler = DWaveSampler(endpoint=ENDPOINT, token=TOKEN, solver=name)
        assert sampler.solver.name == name
        assert "x_seed" in sampler.parameters, sorted(sampler.parameters)
        h, J = problem_on(sampler.properties)
        sampleset = sampler.sample_ising(h, J, num_reads=num_reads, annealing_time=20, label="ocean-test")
        sampleset.resolve()
        check_sampleset(f"DWaveSampler(solver={name!r}).sample_ising", sampleset, h, J, num_reads)
        sampler.close()

    with Client(endpoint=ENDPOINT, token="wrong-token") as client:
        try:
            client.get_solvers()
        except Exception as e:  # the client's SolverAuthenticationError
            assert "Auth" in type(e).__name__, repr(e)
            print(f"ok: a wrong token is refused ({type(e).__name__})")
        else:
            raise AssertionError("a wrong token was accepted")
    print("PASSED: Ocean (dwave-cloud-client, dwave-system) against the SAPI front")


if __name__ == "__main__":
    main()
