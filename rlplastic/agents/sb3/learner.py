"""The Learner seam around a stable-baselines3 algorithm: SB3's own rollout collection and ``train()`` run
unmodified, one of our iterations at a time, so the runner's clock, checkpoints, records and interventions hold
for SB3 agents as for ours.

What the wrapper adds and why:
- one iteration = one call of SB3's ``collect_rollouts`` (PPO: ``n_steps`` per env; DQN: ``train_freq``) and
  one ``train()``; SB3's ``learn()`` is not used because the runner alone decides where a phase or an
  intervention begins;
- the env is our ``VectorEnv`` behind ``SB3VecEnv``; a phase is a new env given with ``set_env`` (SB3 keeps
  its replay buffer across it, as our agents do);
- networks and optimisers are views (``sb3/networks.py``): methods edit the very modules SB3 trains;
- random states: SB3 draws from numpy's global generator (minibatch order, replay samples, epsilon) and from
  its action space's; a checkpoint keeps both, with torch's (kept by the runner), so a resumed run equals an
  uninterrupted one.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from torch import nn

from rlplastic.agents.learner import EpisodeCallback, Hooks, LearnerBase, adam
from rlplastic.agents.networks import ArchSpec
from rlplastic.agents.sb3.networks import EncoderExtractor, OptimizerView, to_channels_last
from rlplastic.agents.sb3.vecenv import SB3VecEnv
from rlplastic.envs.spec import EnvSpec, StepResult, VectorEnv


class _NoEnv:
    """The spaces an SB3 algorithm is built for, before the runner gives it a phase's env."""

    frame_stack = 1

    def __init__(self, spec: EnvSpec, num_envs: int) -> None:
        self.num_envs, self.obs_shape = num_envs, spec.obs_shape
        self.action_spec, self.obs_dtype = spec.action_spec, spec.obs_dtype

    def reset(self) -> np.ndarray:
        raise RuntimeError("an SB3 learner needs start_phase(env, iterations) before it acts")

    def step(self, actions: np.ndarray) -> StepResult:
        raise RuntimeError("an SB3 learner needs start_phase(env, iterations) before it acts")

    def close(self) -> None:
        pass


class _Clock(BaseCallback):
    """SB3's per-step callback: counts agent steps and hands each finished episode to the runner."""

    def __init__(self, learner: SB3Learner) -> None:
        super().__init__()
        self.learner = learner
        self.on_episode: EpisodeCallback = lambda step, episode: None

    def _on_step(self) -> bool:
        learner = self.learner
        learner.global_step += learner.vec.num_envs
        last = learner.vec.last
        for episode in last.episodes if last is not None else ():
            self.on_episode(learner.global_step, episode)
        return True


class SB3Learner(LearnerBase):
    """Base of the SB3 agents. A subclass sets ``ACTION_KINDS`` and implements ``_make_model`` (the SB3 algorithm
    on ``self.placeholder``), ``_views`` (networks and targets as ``PolicyView``s), ``_optimizer_owners`` (SB3
    attribute owner -> our optimiser names), ``collect``/``update``, ``sample``/``losses``/``probe``."""

    ACTION_KINDS: ClassVar[tuple[str, ...]] = ()
    LAST_STEPPED: ClassVar[str] = ""
    """The network whose optimiser step ends one of SB3's gradient updates (where one update steps several)."""
    OWN_RATES: ClassVar[bool] = False
    """Whether the networks' optimisers keep their own learning rates instead of SB3's one schedule."""

    def __init__(self, cfg: Any, spec: EnvSpec, seed: int, hooks: Hooks | None = None) -> None:
        self.cfg = cfg
        if getattr(cfg, "precision", "fp32") != "fp32":
            raise ValueError("SB3 agents train in fp32 only: set agent.precision=fp32 (SB3's train() has no autocast)")
        hooks = self._setup(spec, seed, hooks, self._arch())
        self.placeholder = SB3VecEnv(_NoEnv(spec, cfg.num_envs))
        self.vec = self.placeholder
        model = self._make_model(seed)
        to_channels_last(model.policy)
        model._total_timesteps = 1  # SB3's progress divides by it; our schedules replace SB3's
        model.set_logger(Logger(folder=None, output_formats=[]))
        model.ep_info_buffer, model.ep_success_buffer = deque(maxlen=1), deque(maxlen=1)  # unread
        self._adopt(model, hooks)
        self.log_every = self.iteration_steps = cfg.iteration_steps

    def _adopt(self, model: BaseAlgorithm, hooks: Hooks) -> None:
        """Take ``model`` as this learner's: views of its networks, our optimisers behind its optimiser slots."""
        self.model, self._hooks = model, hooks
        self.networks, self.target_networks = self._views(model.policy)
        self.optimizers: dict[str, torch.optim.Optimizer] = self._optimizers()
        self._install_optimizer_views()
        self._clock = _Clock(self)
        self._clock.init_callback(model)

    # --- what a subclass provides -------------------------------------------------------------------
    def _arch(self) -> ArchSpec:
        cfg = self.cfg
        return ArchSpec(encoder=cfg.encoder, obs_scale=cfg.obs_scale, activation=cfg.activation)

    def _make_model(self, seed: int) -> BaseAlgorithm:
        raise NotImplementedError

    def _views(self, policy: nn.Module) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        raise NotImplementedError

    def _policy(self) -> str:
        """SB3's policy alias; with our encoder as the features extractor the two differ in nothing else."""
        return "CnnPolicy" if len(self.spec.obs_shape) == 3 else "MlpPolicy"

    def _policy_kwargs(self, **extra: Any) -> dict[str, Any]:
        """Our encoder (``self.arch``) as SB3's features extractor, read directly by SB3's heads (``net_arch=[]``);
        observations are scaled by the encoder, not by SB3."""
        return {
            "features_extractor_class": EncoderExtractor,
            "features_extractor_kwargs": {"arch": self.arch},
            "net_arch": [],
            "normalize_images": False,
        } | extra

    def _optimizer_owners(self) -> dict[str, tuple[nn.Module, tuple[str, ...]]]:
        """SB3 attribute holding an optimiser (``policy``, ``actor``, ...) -> (its owner, our optimiser names)."""
        raise NotImplementedError

    # --- networks and optimisers --------------------------------------------------------------------
    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam per network with SB3's epsilon, as our agents have (Adam is per parameter: the same update as
        SB3's single one); AdamW where a method asks for weight decay (``optimizer_options``)."""
        lr, eps = self._initial_lr(), self.model.policy.optimizer_kwargs.get("eps", 1e-8)
        wd = self.optimizer_options["weight_decay"]
        return {name: adam(net.parameters(), lr, eps, wd) for name, net in self.networks.items()}

    def _initial_lr(self) -> float:
        return float(self.model.lr_schedule(1.0))

    def _install_optimizer_views(self) -> None:
        for owner, names in self._optimizer_owners().values():
            view = OptimizerView(self.optimizers, names, self._before_step, self._after_step, self.OWN_RATES)
            owner.optimizer = view

    def _before_step(self, names: tuple[str, ...]) -> None:
        """Extra loss terms of networks ``names`` (L2-init, Parseval, C-CHAIN): their gradients join SB3's before
        the step. SB3 has clipped its gradient norm already, so these terms are not clipped (ours clip the sum)."""
        extras = [e for name in names if (e := self._hooks.extra_loss(self, name)) is not None]
        if extras:
            torch.stack([e.float() for e in extras]).sum().backward()

    def _after_step(self, names: tuple[str, ...]) -> None:
        """One gradient update ends with the step of the network that SB3 steps last (``LAST_STEPPED``)."""
        if self.LAST_STEPPED in names:
            self.updates += 1
            self._hooks.after_update(self, self.updates)

    def fresh_network(self, name: str) -> nn.Module:
        if name not in self.networks:
            raise KeyError(f"no network {name!r}; this learner has {', '.join(self.networks)}")
        with torch.device(self.device):
            policy = self.model.policy_class(
                self.model.observation_space,
                self.model.action_space,
                self.model.lr_schedule,
                **self.model.policy_kwargs,
            )
        return self._views(to_channels_last(policy))[0][name]

    # --- the run ------------------------------------------------------------------------------------
    def start_phase(self, env: VectorEnv, iterations: int) -> None:
        self.vec = SB3VecEnv(env, getattr(self.cfg, "clip_reward", False))
        self.model.set_env(self.vec, force_reset=True)
        self.model._last_obs = self.vec.reset()
        self.model._last_episode_starts = np.ones((env.num_envs,), dtype=bool)
        self._iteration, self._iterations = 0, max(iterations, 1)

    def _collect_with(self, on_episode: EpisodeCallback) -> _Clock:
        self._clock.on_episode = on_episode
        return self._clock

    def _train_stats(self) -> dict[str, float]:
        """What SB3's ``train()`` logged, by its last name part (``train/value_loss`` -> ``value_loss``)."""
        logger = self.model.logger
        stats = {k.split("/")[-1]: float(v) for k, v in logger.name_to_value.items() if np.isscalar(v)}
        logger.name_to_value.clear()
        logger.name_to_count.clear()
        logger.name_to_excluded.clear()
        return stats

    def update(self, hooks: Hooks) -> dict[str, float]:
        self._hooks = hooks
        stats = self._train()
        self._iteration += 1
        return stats

    def _train(self) -> dict[str, float]:
        raise NotImplementedError

    # --- checkpoints --------------------------------------------------------------------------------
    def _model_state(self) -> dict[str, Any]:
        """SB3's own counters and the last observation (a resume inside a phase continues from it)."""
        m = self.model
        return {
            "num_timesteps": m.num_timesteps,
            "n_updates": m._n_updates,
            "n_calls": getattr(m, "_n_calls", 0),  # DQN's target-update cadence counts these
            "episode_num": m._episode_num,
            "exploration_rate": float(getattr(m, "exploration_rate", 0.0)),  # read by the next action (DQN)
            "progress": m._current_progress_remaining,
            "last_obs": torch.from_numpy(np.asarray(m._last_obs)),
            "episode_starts": torch.from_numpy(np.asarray(m._last_episode_starts)),
            "np_random": _np_state(),
            "space_random": m.action_space.np_random.bit_generator.state,
            "schedule": (self._iteration, self._iterations),
        }

    def _load_model_state(self, state: dict[str, Any]) -> None:
        m = self.model
        m.num_timesteps, m._n_updates = state["num_timesteps"], state["n_updates"]
        m._episode_num, m._current_progress_remaining = state["episode_num"], state["progress"]
        if hasattr(m, "_n_calls"):
            m._n_calls, m.exploration_rate = state["n_calls"], state["exploration_rate"]
        m._last_obs = state["last_obs"].numpy()
        m._last_episode_starts = state["episode_starts"].numpy()
        _set_np_state(state["np_random"])
        m.action_space.np_random.bit_generator.state = state["space_random"]
        self._iteration, self._iterations = state["schedule"]

    def state_dict(self) -> dict[str, Any]:
        return self.base_state() | {"sb3": self._model_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_base_state(state)
        self._load_model_state(state["sb3"])


def _np_state() -> dict[str, Any]:
    """numpy's global random state in a form ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos, "gauss": (has_gauss, gauss)}


def _set_np_state(state: dict[str, Any]) -> None:
    has_gauss, gauss = state["gauss"]
    np.random.set_state((state["kind"], state["keys"].numpy().astype(np.uint32), state["pos"], has_gauss, gauss))
