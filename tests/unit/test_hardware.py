"""Workers where the hardware is: how many a node runs (`auto`, the seed's one per socket, a
number, one per `gpus_per_worker` GPUs), which GPUs each gets, and the errors when a node
cannot give them."""

from __future__ import annotations

import functools
import json

import pytest

from octopus import ConfigError, Node
from octopus.errors import OctopusError
from octopus.hardware import AUTO, Hardware, gpu_shortage, worker_count, worker_gpus
from octopus.limits import MAX_WORKERS_PER_NODE
from octopus.run.deliveries import Deliveries
from octopus.run.generators import distribute_exp_scripts
from octopus.run.manifest import Manifest
from octopus.run.plan import build_plan
from octopus.run.workers import check_gpu_placeholder, make_workers
from octopus.stages.facts import learn_recorded


def node(**values: object) -> Node:
    return Node(test_connection=False, ssh_hostname="gpu1", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requested", "per_worker", "sockets", "found", "count"),
    [
        (None, None, 2, None, 2),  # the seed's rule: one per socket, no facts needed
        (None, None, 1, Hardware(64, 8), 1),  # facts never change the seed's rule
        (5, None, 2, None, 5),  # a number wins
        (5, 2, 1, Hardware(8, 4), 5),  # also with GPUs: workers share them in turn
        (AUTO, None, 1, Hardware(64, 0), 64),  # one per CPU
        (AUTO, None, 1, Hardware(0, 0), 1),  # nothing found: still one worker
        (AUTO, None, 1, Hardware(10**6, 0), MAX_WORKERS_PER_NODE),
        (AUTO, 2, 1, Hardware(64, 8), 4),  # GPUs bound the workers: one per 2 GPUs
        (None, 2, 1, Hardware(64, 5), 2),  # a spare GPU stays unused
        (None, 3, 1, Hardware(64, 2), 1),  # too few GPUs: refused elsewhere (gpu_shortage)
        (AUTO, None, 1, None, None),  # not known yet
        (None, 1, 1, None, None),
    ],
)
def test_worker_count(requested, per_worker, sockets, found, count):
    assert worker_count(requested, per_worker, sockets, found) == count


def test_each_worker_gets_its_own_gpus_and_more_workers_share_them_in_turn():
    found = Hardware(cpus=32, gpus=4)
    assert [worker_gpus(i, 2, found) for i in range(2)] == ["0,1", "2,3"]
    assert [worker_gpus(i, 1, found) for i in range(6)] == ["0", "1", "2", "3", "0", "1"]
    assert worker_gpus(0, 3, found) == "0,1,2"  # GPU 3 is left over
    assert worker_gpus(1, 3, found) == "0,1,2"
    assert worker_gpus(0, None, found) == ""  # no gpus_per_worker: no GPUs of its own
    assert worker_gpus(0, 1, None) == ""
    assert worker_gpus(0, 2, Hardware(gpus=1)) == ""


def test_gpu_shortage_says_what_the_node_has():
    assert gpu_shortage(2, Hardware(gpus=2)) is None
    assert gpu_shortage(None, Hardware()) is None
    assert gpu_shortage(2, Hardware(gpus=1)) == (
        "is 2 but the node has 1 GPU(s) (inv nodes counts them with nvidia-smi)"
    )


def test_the_python_api_keeps_the_seed_rule_and_needs_no_facts():
    seed = node(available_sockets=[0, 1])
    assert not seed.needs_hardware and seed.num_workers == 2
    assert [w.gpus for w in make_workers([seed])] == ["", ""]


def test_auto_needs_the_node_facts_first():
    auto = node(num_parallel_screens_or_jobs="auto")
    assert auto.needs_hardware
    with pytest.raises(OctopusError, match="'gpu1': its workers follow its CPUs and GPUs"):
        _ = auto.num_workers
    auto.learn_hardware(Hardware(cpus=6))
    assert auto.num_workers == 6 and len(make_workers([auto])) == 6


def test_too_few_gpus_is_an_error_naming_the_node_and_the_key():
    short = node(gpus_per_worker=2)
    with pytest.raises(ConfigError) as info:
        short.learn_hardware(Hardware(cpus=8, gpus=1))
    assert str(info.value) == (
        "node 'gpu1': key 'gpus_per_worker': is 2 but the node has 1 GPU(s) "
        "(inv nodes counts them with nvidia-smi)"
    )
    short.learn_hardware(Hardware(cpus=8, gpus=1), check=False)  # a record's, planned anyway
    assert short.num_workers == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"num_parallel_screens_or_jobs": "atuo"},
            "node 'gpu1': key 'num_parallel_screens_or_jobs': must be a number of workers or "
            "'auto', not 'atuo' (did you mean 'auto'?)",
        ),
        (
            {"gpus_per_worker": 0},
            "node 'gpu1': key 'gpus_per_worker': must be a whole number of GPUs from 1 to 1024 "
            "(or null), not 0",
        ),
        (
            {"gpus_per_worker": True},
            "node 'gpu1': key 'gpus_per_worker': must be a whole number of GPUs from 1 to 1024 "
            "(or null), not True",
        ),
        (
            {"gpus_per_worker": 1, "launcher": "slurm"},
            "node 'gpu1': key 'gpus_per_worker': is for nodes that start their own workers: "
            "a Slurm job asks for GPUs with the experiment's slurm_num_gpus_per_job",
        ),
        (
            {"num_parallel_screens_or_jobs": "auto", "use_slurm": True},
            "node 'gpu1': key 'num_parallel_screens_or_jobs': 'auto' counts the CPUs of the "
            "node octopus logs in to, not the cluster's: give a Slurm node a number of jobs",
        ),
    ],
)
def test_bad_values_are_one_line_naming_node_and_key(values, message):
    with pytest.raises(ConfigError) as info:
        node(**values)
    assert str(info.value) == message


def gpu_node(per_worker: int, gpus: int, workers: int | str = AUTO) -> Node:
    found = node(num_parallel_screens_or_jobs=workers, gpus_per_worker=per_worker)
    found.learn_hardware(Hardware(cpus=64, gpus=gpus))
    return found


def test_gpu_placeholder_is_filled_per_worker_like_job_id():
    plan = build_plan(
        ["train --gpus [gpu] --job [job_id]"],
        "echo [gpu]\n",
        [gpu_node(2, 4)],
        exp_script_gen=functools.partial(distribute_exp_scripts, replicate=True, shuffle=False),
    )
    assert [p.worker.gpus for p in plan.parts] == ["0,1", "2,3"]
    assert [p.commands[0] for p in plan.parts] == [
        "train --gpus 0,1 --job 0",
        "train --gpus 2,3 --job 1",
    ]


def test_with_the_queue_the_taking_worker_fills_gpu():
    plan = build_plan(["train --gpus [gpu]"] * 4, "", [gpu_node(1, 2)], schedule="queue")
    assert [p.worker.gpus for p in plan.parts] == ["0", "1"]
    assert {c for p in plan.parts for c in p.commands} == {"train --gpus [gpu]"}


def test_gpu_placeholder_on_a_node_without_gpus_per_worker_is_refused():
    plain = Node(test_connection=False, ssh_hostname="cpu1")
    with pytest.raises(ConfigError) as info:
        check_gpu_placeholder(["train --gpus [gpu]"], [gpu_node(1, 2), plain])
    assert str(info.value) == (
        "key 'experiment_commands': [gpu] in a command, but node(s) cpu1 give their workers "
        "no GPUs: set gpus_per_worker for them in nodes.yaml, or leave them out (--nodes)"
    )
    with pytest.raises(ConfigError):
        check_gpu_placeholder(["cd ~/run_[gpu]\n", "train"], [plain])  # in the prefix too
    check_gpu_placeholder(["", "train on cpu"], [plain])  # no [gpu]: nothing to refuse
    check_gpu_placeholder(["train --gpus [gpu]"], [gpu_node(1, 2)])


def test_the_record_keeps_each_nodes_count_for_the_stages_after_deliver(tmp_path):
    counted = gpu_node(1, 2)
    plain = Node(test_connection=False, ssh_hostname="cpu1", num_parallel_screens_or_jobs=1)
    plan = build_plan(["a", "b", "c"], "", [counted, plain])
    manifest = Manifest(
        experiment="e",
        delivery="D",
        plan=plan,
        launchers={"gpu1": "screen", "cpu1": "screen"},
        run_root="run",
        hardware={"gpu1": counted.found_hardware.as_dict()},  # type: ignore[union-attr]
    )
    record = Deliveries.of_one(manifest)
    record.write(tmp_path / "manifest.json")
    again = Deliveries.read(tmp_path / "manifest.json")
    assert again.of("gpu1").hardware == {"gpu1": {"cpus": 64, "gpus": 2}}
    shares = manifest.node_shares()
    assert json.loads(shares["gpu1"])["hardware"] == {"gpu1": {"cpus": 64, "gpus": 2}}
    assert json.loads(shares["cpu1"])["hardware"] == {}

    # A later `inv start` has fresh Node objects: they learn the count from the record.
    fresh = node(num_parallel_screens_or_jobs="auto", gpus_per_worker=1)
    learn_recorded([fresh], again)
    assert fresh.num_workers == 2 and fresh.gpus_of(1) == "1"

    manifest.drop_nodes({"gpu1"})
    assert manifest.hardware == {}
