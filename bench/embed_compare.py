"""minorminer's clique embeddings on the graphs of trainer/examples/embed_compare.rs.

Usage: embed_compare.py GRAPH N REPEATS [--find-embedding]
One JSON line per tool: busclique (`busclique.find_clique_embedding(n, g, seed=0, use_cache=False)`,
median of REPEATS runs, no cache on disk) and, with --find-embedding, minorminer's general
heuristic (`minorminer.find_embedding`, one seeded run). Graphs: `advantage2` (the recorded
Advantage2_system1.5 record in data/solvers/), `z12` (`zephyr_graph(12, 4)`), `p16`
(`pegasus_graph(16)`, fabric only).
"""
import json
import pathlib
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import dwave_networkx as dnx  # noqa: E402
import minorminer  # noqa: E402
import networkx as nx  # noqa: E402
from minorminer import busclique  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def graph(name):
    if name == "advantage2":
        record = json.loads((ROOT / "data/solvers/Advantage2_system1.5.json").read_text())
        p = record["properties"]
        m, t = p["topology"]["shape"]
        return dnx.zephyr_graph(m, t, node_list=p["qubits"], edge_list=[tuple(e) for e in p["couplers"]])
    if name == "z12":
        return dnx.zephyr_graph(12, 4)
    if name == "p16":
        return dnx.pegasus_graph(16)
    raise SystemExit(f"unknown graph {name!r}: advantage2, z12 or p16")


def valid(g, emb, n):
    owner = {q: v for v, chain in emb.items() for q in chain}
    if len(owner) != sum(len(c) for c in emb.values()) or len(emb) != n:
        return False
    if any(not nx.is_connected(g.subgraph(chain)) for chain in emb.values()):
        return False
    joined = {(min(owner[a], owner[b]), max(owner[a], owner[b])) for a, b in g.edges()
              if a in owner and b in owner and owner[a] != owner[b]}
    return len(joined) == n * (n - 1) // 2


def report(tool, name, n, emb, times, g, **extra):
    lengths = [len(c) for c in emb.values()]
    print(json.dumps({"tool": tool, "graph": name, "n": n, "qubits": sum(lengths),
                      "min_chain": min(lengths), "max_chain": max(lengths),
                      "valid": valid(g, emb, n), "ms": statistics.median(times) * 1e3,
                      "repeats": len(times), **extra}), flush=True)


def main():
    name, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    g = graph(name)
    times, emb = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        emb = busclique.find_clique_embedding(n, g, seed=0, use_cache=False)
        times.append(time.perf_counter() - started)
    report("busclique", name, n, emb, times, g, version=minorminer.__version__)
    if "--find-embedding" in sys.argv[4:]:
        source = nx.complete_graph(n)
        started = time.perf_counter()
        emb = minorminer.find_embedding(source.edges(), g.edges(), random_seed=1)
        report("minorminer", name, n, emb, [time.perf_counter() - started], g,
               version=minorminer.__version__)


if __name__ == "__main__":
    main()
