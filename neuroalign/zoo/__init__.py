"""The model zoo: valence tasks, value- and policy-learning agents, their activations.

Tasks (gymnasium environments): ``pavlovian`` (cue, delay, outcome; lick or
withdraw), ``gridworld`` (an arena with a reward site and a hazard) and
``contrast`` (the mice's two-choice visual contrast task, Steinmetz et al. 2019).
Agents (torch, one shared trunk): value-learners ``dqn`` and ``qrdqn``,
policy-learners ``reinforce``, ``a2c`` and ``ppo`` with an MLP trunk, and each with
a recurrent GRU trunk (``dqn-gru`` ... ``ppo-gru``, ``contrast`` task); the
policy-learners also with separate actor and critic networks (``reinforce-sep`` ...
``ppo-gru-sep``; :func:`agent_name` maps ``(algorithm, trunk, layout)`` to a name).

Seed sweeps (``neuroalign zoo sweep``, :func:`run_sweep`) train many seeds in
parallel into content-addressed checkpoints that :func:`load_agent` finds.

Typical use::

    from neuroalign.zoo import load_agent, probe
    acts = probe("dqn", "pavlovian", seed=0, average=True)   # condition x unit
    mice_grid = probe("ppo-gru", "contrast", seed=0, by="side", steps=range(4))
"""

from __future__ import annotations

from neuroalign.core.lazy import lazy_exports

#: public name -> submodule of neuroalign.zoo that defines it (imported on first use)
_EXPORTS: dict[str, str] = {
    "AGENTS": "agents",
    "A2CConfig": "configs",
    "FORMAT_VERSION": "checkpoint",
    "SUCCESS_THRESHOLD": "tasks",
    "TRIAL_TYPES": "nwb",
    "AgentConfig": "configs",
    "AlgorithmSpec": "agents",
    "ContrastEnv": "contrast",
    "ContrastTask": "contrast_task",
    "TRUNKS": "agents.table",
    "evaluate_behaviour": "behaviour",
    "psychometric": "behaviour",
    "DQNConfig": "configs",
    "GridworldEnv": "gridworld",
    "PPOConfig": "configs",
    "PavlovianEnv": "pavlovian",
    "QRDQNConfig": "configs",
    "ReinforceConfig": "configs",
    "Task": "tasks",
    "ZooAgent": "agent",
    "build_agent": "agent",
    "agent_name": "agents",
    "agent_parts": "agents",
    "LAYOUTS": "agents.table",
    "CheckpointMetadata": "checkpoint",
    "checkpoint_name": "addressing",
    "checkpoint_path": "registry",
    "default_cache_dir": "registry",
    "describe": "configs",
    "export_nwb": "nwb",
    "get_task": "tasks",
    "list_agents": "registry",
    "list_tasks": "registry",
    "load_agent": "registry",
    "load_checkpoint": "checkpoint",
    "make_env": "tasks",
    "probe": "probe",
    "probe_agent": "probe",
    "read_metadata": "checkpoint",
    "save_checkpoint": "checkpoint",
    "seeded": "training",
    "shipped_seeds": "registry",
    "without_shipped": "registry",
    "task_names": "tasks",
    "train": "training",
    "zoo_dir": "registry",
    "JobKind": "sweep",
    "JobResult": "sweep",
    "SweepJob": "sweep",
    "SweepPlan": "sweep",
    "SweepSummary": "sweep",
    "TrainSettings": "addressing",
    "checkpoint_key": "addressing",
    "code_version": "addressing",
    "plan_sweep": "sweep",
    "register_job_kind": "sweep",
    "run_sweep": "sweep",
    "sweep_checkpoint": "sweep",
}

__all__ = [
    "AGENTS",
    "FORMAT_VERSION",
    "LAYOUTS",
    "SUCCESS_THRESHOLD",
    "TRIAL_TYPES",
    "TRUNKS",
    "A2CConfig",
    "AgentConfig",
    "AlgorithmSpec",
    "CheckpointMetadata",
    "ContrastEnv",
    "ContrastTask",
    "DQNConfig",
    "GridworldEnv",
    "JobKind",
    "JobResult",
    "PPOConfig",
    "PavlovianEnv",
    "QRDQNConfig",
    "ReinforceConfig",
    "SweepJob",
    "SweepPlan",
    "SweepSummary",
    "Task",
    "TrainSettings",
    "ZooAgent",
    "agent_name",
    "agent_parts",
    "build_agent",
    "checkpoint_key",
    "checkpoint_name",
    "checkpoint_path",
    "code_version",
    "default_cache_dir",
    "describe",
    "evaluate_behaviour",
    "export_nwb",
    "get_task",
    "list_agents",
    "list_tasks",
    "load_agent",
    "load_checkpoint",
    "make_env",
    "plan_sweep",
    "probe",
    "probe_agent",
    "psychometric",
    "read_metadata",
    "register_job_kind",
    "run_sweep",
    "save_checkpoint",
    "seeded",
    "shipped_seeds",
    "sweep_checkpoint",
    "task_names",
    "train",
    "without_shipped",
    "zoo_dir",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
