"""Types of ``neuroalign.zoo``, whose names ``__init__.py`` imports on first use."""

from neuroalign.zoo.agent import ZooAgent as ZooAgent
from neuroalign.zoo.agent import build_agent as build_agent
from neuroalign.zoo.agents import AGENTS as AGENTS
from neuroalign.zoo.agents import AlgorithmSpec as AlgorithmSpec
from neuroalign.zoo.behaviour import evaluate_behaviour as evaluate_behaviour
from neuroalign.zoo.behaviour import psychometric as psychometric
from neuroalign.zoo.checkpoint import FORMAT_VERSION as FORMAT_VERSION
from neuroalign.zoo.checkpoint import CheckpointMetadata as CheckpointMetadata
from neuroalign.zoo.checkpoint import checkpoint_name as checkpoint_name
from neuroalign.zoo.checkpoint import load_checkpoint as load_checkpoint
from neuroalign.zoo.checkpoint import read_metadata as read_metadata
from neuroalign.zoo.checkpoint import save_checkpoint as save_checkpoint
from neuroalign.zoo.configs import A2CConfig as A2CConfig
from neuroalign.zoo.configs import AgentConfig as AgentConfig
from neuroalign.zoo.configs import DQNConfig as DQNConfig
from neuroalign.zoo.configs import PPOConfig as PPOConfig
from neuroalign.zoo.configs import QRDQNConfig as QRDQNConfig
from neuroalign.zoo.configs import ReinforceConfig as ReinforceConfig
from neuroalign.zoo.configs import describe as describe
from neuroalign.zoo.contrast import ContrastEnv as ContrastEnv
from neuroalign.zoo.contrast_task import ContrastTask as ContrastTask
from neuroalign.zoo.gridworld import GridworldEnv as GridworldEnv
from neuroalign.zoo.networks import TRUNKS as TRUNKS
from neuroalign.zoo.nwb import TRIAL_TYPES as TRIAL_TYPES
from neuroalign.zoo.nwb import export_nwb as export_nwb
from neuroalign.zoo.pavlovian import PavlovianEnv as PavlovianEnv
from neuroalign.zoo.probe import probe as probe
from neuroalign.zoo.probe import probe_agent as probe_agent
from neuroalign.zoo.registry import checkpoint_path as checkpoint_path
from neuroalign.zoo.registry import default_cache_dir as default_cache_dir
from neuroalign.zoo.registry import list_agents as list_agents
from neuroalign.zoo.registry import list_tasks as list_tasks
from neuroalign.zoo.registry import load_agent as load_agent
from neuroalign.zoo.registry import shipped_seeds as shipped_seeds
from neuroalign.zoo.registry import zoo_dir as zoo_dir
from neuroalign.zoo.tasks import SUCCESS_THRESHOLD as SUCCESS_THRESHOLD
from neuroalign.zoo.tasks import Task as Task
from neuroalign.zoo.tasks import get_task as get_task
from neuroalign.zoo.tasks import make_env as make_env
from neuroalign.zoo.tasks import task_names as task_names
from neuroalign.zoo.training import seeded as seeded
from neuroalign.zoo.training import train as train

__all__: list[str]
