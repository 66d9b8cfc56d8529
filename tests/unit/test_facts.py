"""Parsing what the facts command prints (recorded from real machines), and judging a node by
it; how `inv nodes` shows the sizes and users."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from octopus import Node
from octopus.facts import (
    disk_kb,
    facts_command,
    gpu_names,
    load_averages,
    logged_in,
    memory_kb,
    parse_facts,
)
from octopus.views.nodes import share_text, users_text

OUTPUT = """hostname=gpu7
cpus=64
numa=2
sockets=2
gpu=GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5c1a7d3e-2f7b-9a40-6b1e-8e2b3a0c1d11)
gpu=GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-0f9e4a2b-77c1-1d3e-93a5-4b6c7d8e9f22)
gpu=GPU 2: NVIDIA A100-SXM4-40GB (UUID: GPU-e86cb44c-6756-fd30-cd4a-1e6da3caf9b0)
gpu=  MIG 3g.20gb     Device  0: (UUID: MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f)
gpu=  MIG 3g.20gb     Device  1: (UUID: MIG-cba663e8-9bed-5b25-b243-5985ef7c9beb)
gpu=GPU 3: NVIDIA A100-SXM4-40GB (UUID: GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809)
mem=MemTotal:       528276144 kB
mem=MemAvailable:   401234560 kB
home_disk=/dev/mapper/vg-home 1921724696 1399178204 424893172      77% /home
load=7.52 6.98 6.10 9/2311 1234567
who=alice    pts/0        2024-03-11 09:12 (10.0.0.5)
who=bob      pts/1        2024-03-11 10:40 (tmux(81234).%0)
who=alice    pts/2        2024-03-11 11:02 (10.0.0.5)
tool.screen=/usr/bin/screen
tool.rsync=/usr/bin/rsync
tool.python3=/usr/bin/python3
tool.setsid=/usr/bin/setsid
tool.nohup=/usr/bin/nohup
tool.sbatch=
tool.squeue=
tool.run_exp=
tool.git=/usr/bin/git
python_version=3.11.2
"""


def test_parse_complete_output():
    facts = parse_facts(
        Node(test_connection=False, ssh_hostname="gpu7", available_sockets=[0, 1]), OUTPUT
    )
    assert (facts.hostname, facts.cpus, facts.numa_sockets, facts.gpus) == ("gpu7", 64, 2, 4)
    assert facts.gpu_names == ["NVIDIA A100-SXM4-40GB"] * 4  # MIG slices are not GPUs
    assert (facts.mem_total_kb, facts.mem_free_kb) == (528276144, 401234560)
    assert (facts.home_total_kb, facts.home_free_kb) == (1921724696, 424893172)
    assert facts.load == [7.52, 6.98, 6.10]
    assert facts.users == ["alice", "bob"]
    assert facts.workers == 2  # the seed's rule: one per available socket
    assert facts.python_version == "3.11.2"
    assert "sbatch" not in facts.tools and facts.tools["screen"] == "/usr/bin/screen"
    assert facts.usable and not facts.warnings


def test_missing_launcher_tool_makes_node_unusable():
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x", use_slurm=True), OUTPUT)
    assert facts.problems == ["sbatch not found", "squeue not found"]
    assert not facts.usable


def test_missing_versioned_python():
    facts = parse_facts(
        Node(test_connection=False, ssh_hostname="x", python_version="3.12"), OUTPUT
    )
    assert facts.problems == ["python3.12 not found"]
    assert "python3.12" in facts_command(
        Node(test_connection=False, ssh_hostname="x", python_version="3.12")
    )


def test_sockets_beyond_numa_nodes_warn():
    facts = parse_facts(
        Node(test_connection=False, ssh_hostname="x", available_sockets=[0, 1, 2]), OUTPUT
    )
    assert facts.usable
    assert facts.warnings == ["available_sockets [2] beyond the 2 NUMA socket(s) found"]


def test_garbage_output_gives_empty_facts_not_an_exception():
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x"), "Welcome!\ncpus=many\n")
    assert facts.cpus == 0 and "rsync not found" in facts.problems


def test_workers_follow_auto_and_gpus_per_worker():
    auto = Node(test_connection=False, ssh_hostname="x", num_parallel_screens_or_jobs="auto")
    assert parse_facts(auto, OUTPUT).workers == 64
    per_two = Node(test_connection=False, ssh_hostname="x", gpus_per_worker=2)
    assert parse_facts(per_two, OUTPUT).workers == 2


def test_more_gpus_per_worker_than_the_node_has_makes_it_unusable():
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x", gpus_per_worker=8), OUTPUT)
    assert facts.problems == [
        "gpus_per_worker is 8 but the node has 4 GPU(s) (inv nodes counts them with nvidia-smi)"
    ]


def test_a_node_without_gpus_memory_info_or_who_gives_zeros_and_empty_lists():
    minimal = "hostname=pi\ncpus=4\nload=0.00 0.01 0.05 1/80 999\n"
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x"), minimal)
    assert (facts.gpus, facts.gpu_names, facts.mem_total_kb, facts.home_total_kb) == (0, [], 0, 0)
    assert facts.users == [] and facts.load == [0.0, 0.01, 0.05]


def test_a_nearly_full_home_folder_warns():
    full = OUTPUT.replace("424893172      77%", "524288      100%")
    facts = parse_facts(Node(test_connection=False, ssh_hostname="x"), full)
    assert facts.usable and facts.warnings == ["only 512 MiB free in the home folder"]


def test_nvidia_smi_failing_without_a_driver_counts_no_gpu():
    failed = [
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running."
    ]
    assert gpu_names(failed) == []
    assert gpu_names(["GPU 0: Tesla V100-PCIE-16GB (UUID: GPU-0a1b)"]) == ["Tesla V100-PCIE-16GB"]


def test_memory_and_disk_lines():
    assert memory_kb(["MemTotal:  1000 kB", "MemAvailable:  250 kB"]) == (1000, 250)
    assert memory_kb([]) == (0, 0)
    # df -P keeps a long filesystem name on the line; a mount point may hold a space.
    line = "//nas.lab/home dir 1000 400 600 40% /mnt/home dir"
    assert disk_kb(line) == (1000, 600)
    assert disk_kb("df: /home/x: No such file or directory") == (0, 0)


@pytest.mark.parametrize(
    ("text", "load"),
    [
        ("0.52 0.58 0.59 1/234 5678", [0.52, 0.58, 0.59]),
        (
            " 10:14:03 up 3 days,  2:05,  2 users,  load average: 0.52, 0.58, 0.59",
            [0.52, 0.58, 0.59],
        ),
        ("10:14  up 3 days, 2:05, 2 users, load averages: 1.91 2.10 2.23", [1.91, 2.1, 2.23]),
        ("", []),
        ("no idea", []),
    ],
)
def test_load_from_proc_or_uptime(text, load):
    assert load_averages(text) == load


def test_logged_in_users_each_once():
    assert logged_in(["carol  tty1  2024-03-11 08:00", "", "carol  pts/3  2024-03-11 09:00"]) == [
        "carol"
    ]


def test_the_table_shows_sizes_in_gib_and_the_first_users():
    assert share_text(401234560, 528276144) == "383/504G"
    assert share_text(5 * 1024**2 + 512 * 1024, 16 * 1024**2) == "5.5/16.0G"
    assert share_text(0, 0) == ""
    assert users_text([]) == "0"
    assert users_text(["alice", "bob"]) == "2: alice, bob"
    assert users_text(["a", "b", "c", "d", "e"]) == "5: a, b, c, +2"


def test_the_command_run_here_finds_what_this_machine_has():
    """One sh command gives everything: run it on this machine and compare with what Python
    reads of the same kernel."""
    node = Node(test_connection=False, ssh_hostname="x")
    output = subprocess.run(
        ["sh", "-c", facts_command(node)], capture_output=True, text=True, timeout=60
    ).stdout
    facts = parse_facts(node, output)
    assert facts.cpus == len(os.sched_getaffinity(0))
    meminfo = Path("/proc/meminfo").read_text()
    assert facts.mem_total_kb == int(meminfo.split("MemTotal:")[1].split()[0])
    assert 0 < facts.mem_free_kb <= facts.mem_total_kb
    home = os.statvfs(os.path.expanduser("~"))
    assert facts.home_total_kb == home.f_blocks * home.f_frsize // 1024
    assert len(facts.load) == 3 and all(x >= 0 for x in facts.load)
