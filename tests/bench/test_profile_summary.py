"""The profile summary names each process by what it runs, whatever py-spy called it."""

from __future__ import annotations

from bench.profile_summary import summarise

RAW = [
    'process 10:"";_phases (/w/main/bench/eleven.py:345);'
    "scan (/w/main/warehouses/floor/scanning.py:9) 3",
    'process 10:"";_loop (/w/main/kit/groupcommit.py:80) 5',
    'process 11:"python -m cli demo";run (/w/main/clearance/simulator/customs.py:1);'
    "CustomsSimulator.run (/w/main/clearance/simulator/customs.py:165) 2",
    'process 12:"python -m cli worker";run_worker (/w/main/clearance/pipeline/workers.py:48) 4',
]


def test_each_process_is_named_by_what_it_runs() -> None:
    totals, inside = summarise(RAW)
    assert totals == {"demo": 8, "customs-sim": 2, "worker": 4}
    assert inside["demo"]["_loop (kit/groupcommit.py)"] == 5
    assert inside["demo"]["scan (warehouses/floor/scanning.py)"] == 3
