"""A model an SB3 user built (``PPO("CnnPolicy", env)``, ``DQN("MlpPolicy", env)``) as our Learner, so
``rlplastic.sb3.PlasticityCallback`` can apply a method to it inside the user's own ``model.learn()``.

Its networks are views of SB3's own layers: the features extractor's and the ``mlp_extractor`` branch's leaf
modules in forward order (NatureCNN, FlattenExtractor, ``create_mlp``'s Linear/activation pairs) as the encoder,
``action_net``/``value_net`` (or DQN's last ``q_net`` layer) as the heads. A policy whose actor and critic share
the features extractor and have no MLP branches is one network ``actor_critic``; otherwise ``actor`` and
``critic``. The policy's one optimiser becomes one Adam per network (the same update, starting with fresh moments
at each ``learn()``) behind SB3's ``policy.optimizer``, so per-update methods and their extra losses run inside
SB3's ``train()``; when training ends the policy gets one Adam back, with those moments (``release``).

Not possible on a model already built: methods that change the architecture (LayerNorm, CReLU, DFF: build the
network with them instead), continuous-action PPO (its ``log_std`` belongs to no layer), SAC, optimisers other
than Adam.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.utils import get_parameters_by_name
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from rlplastic.agents.learner import Batch, Hooks, frozen_copy
from rlplastic.agents.networks import ArchSpec
from rlplastic.agents.sb3.learner import SB3Learner
from rlplastic.agents.sb3.networks import PolicyView
from rlplastic.envs.spec import ActionSpec, EnvSpec

NO_DATA = (
    "methods that read the agent's data (ReDo, DASH, C-CHAIN) are not available in PlasticityCallback; train them "
    "with --agent sb3_ppo or sb3_dqn"
)
NO_ARCH = ArchSpec(encoder="mlp_64")  # a probe: a method that edits it would change a network already built


def leaves(*modules: nn.Module) -> nn.Sequential:
    """The leaf modules of ``modules`` in registration order (SB3 registers its layers in forward order)."""
    return nn.Sequential(*[m for module in modules for m in module.modules() if not list(m.children())])


def native_views(policy: nn.Module) -> dict[str, PolicyView]:
    """Our networks over SB3's own ``ActorCriticPolicy`` (discrete actions) or ``DQNPolicy``."""
    scale = 1 / 255 if policy.normalize_images and is_image_space(policy.observation_space) else 1.0
    if isinstance(policy, DQNPolicy):
        q = policy.q_net
        last = len(q.q_net) - 1
        head = (q.q_net[last], lambda m: q.q_net.__setitem__(last, m))
        return {"q": PolicyView(leaves(q.features_extractor, q.q_net[:last]), {"q": head}, scale)}
    if not isinstance(policy, ActorCriticPolicy) or hasattr(policy, "log_std"):
        raise ValueError(
            f"PlasticityCallback acts on PPO/A2C models with discrete actions and on DQN models, not on a "
            f"{type(policy).__name__}{' with continuous actions' if hasattr(policy, 'log_std') else ''}"
        )
    pi = (policy.action_net, lambda m: setattr(policy, "action_net", m))
    vf = (policy.value_net, lambda m: setattr(policy, "value_net", m))
    mlp = policy.mlp_extractor
    if policy.share_features_extractor and not list(mlp.parameters()):
        return {"actor_critic": PolicyView(leaves(policy.features_extractor), {"policy": pi, "value": vf}, scale)}
    return {
        "actor": PolicyView(leaves(policy.pi_features_extractor, mlp.policy_net), {"policy": pi}, scale),
        "critic": PolicyView(leaves(policy.vf_features_extractor, mlp.value_net), {"value": vf}, scale),
    }


class AdoptedLearner(SB3Learner):
    """``model`` (built and trained by its user) as a Learner; ``seed`` seeds what methods draw themselves."""

    def __init__(self, model: BaseAlgorithm, seed: int, hooks: Hooks) -> None:
        if hooks.modify_arch(NO_ARCH) != NO_ARCH:
            raise ValueError(
                "this method changes the network's architecture (LayerNorm, CReLU, DFF), which a model built before "
                "the callback cannot take; build the SB3 policy with it, or use --agent sb3_ppo/sb3_dqn"
            )
        policy = model.policy
        if policy.optimizer_class is not torch.optim.Adam or set(policy.optimizer_kwargs) - {"eps"}:
            raise ValueError(
                "PlasticityCallback rebuilds the policy's optimiser as one Adam per network with its eps: it needs "
                f"SB3's default Adam, not {policy.optimizer_class.__name__} with {policy.optimizer_kwargs}"
            )
        self.cfg = _Settings(model.n_envs)
        n = model.action_space.n if hasattr(model.action_space, "n") else 0
        space = model.observation_space
        spec = EnvSpec(tuple(space.shape), ActionSpec(n=int(n)), 1, str(space.dtype))
        self._setup(spec, seed, hooks, NO_ARCH)
        self.LAST_STEPPED = ""  # set from the views below
        self._adopt(model, hooks)
        self.log_every = self.iteration_steps = model.n_envs

    def _views(self, policy: nn.Module) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        views = native_views(policy)
        self.LAST_STEPPED = list(views)[-1]
        if isinstance(policy, DQNPolicy):
            return views, {"q": native_views_target(policy)}
        return views, {}

    def _optimizer_owners(self) -> dict[str, tuple[nn.Module, tuple[str, ...]]]:
        names = tuple(self.networks)
        covered = {id(p) for net in self.networks.values() for p in net.parameters()}
        missing = [n for n, p in self.model.policy.named_parameters() if id(p) not in covered and p.requires_grad]
        if isinstance(self.model.policy, DQNPolicy):
            target = {id(p) for p in self.model.policy.q_net_target.parameters()}
            missing = [n for n, p in self.model.policy.named_parameters() if id(p) not in covered | target]
        if missing:
            raise ValueError(f"PlasticityCallback cannot see SB3 parameters {', '.join(missing[:3])} in any layer")
        if sum(len(list(net.parameters())) for net in self.networks.values()) > len(covered):
            raise ValueError(
                "the actor and the critic share a features extractor with weights and have MLP branches of their own: "
                "one network per optimiser is not possible; set share_features_extractor=False or net_arch=[]"
            )
        return {"policy": (self.model.policy, names)}

    def _initial_lr(self) -> float:
        return float(self.model.lr_schedule(self.model._current_progress_remaining))

    def sync_targets(self) -> None:
        """DQN's target becomes a copy of the online Q-network, structure too (injection changes the head)."""
        policy = self.model.policy
        if isinstance(policy, DQNPolicy):
            policy.q_net_target = frozen_copy(policy.q_net)
            self.model._create_aliases()
            self.model.batch_norm_stats_target = get_parameters_by_name(policy.q_net_target, ["running_"])
            self.target_networks = {"q": native_views_target(policy)}

    def release(self) -> None:
        """Give the policy back in SB3's own shape: injected heads folded into one Linear each, and one optimiser of
        its class over all its parameters holding the moments our per-network optimisers gathered (their
        parameters are disjoint), so SB3 can save, load and go on training."""
        policy = self.model.policy
        for view in self.networks.values():
            for name, head in view.heads.items():
                if hasattr(head, "folded"):  # an injected head: one trainable Linear of the same function, so the
                    setattr(view, name, head.folded().requires_grad_(True))  # policy is SB3's shape again
        self.sync_targets()
        lr = self.optimizers[next(iter(self.optimizers))].param_groups[0]["lr"]
        params = list({id(p): p for net in self.networks.values() for p in net.parameters()}.values())
        whole = policy.optimizer_class(params, lr=lr, **policy.optimizer_kwargs)  # DQN's: the online net only
        kept = {id(p) for p in params}  # a folded head's parts are gone, their moments with them
        for opt in {id(o): o for o in self.optimizers.values()}.values():
            if type(opt) is type(whole):  # a method's own optimiser (TRAC, Kron) keeps other state: start afresh
                whole.state.update({p: state for p, state in opt.state.items() if id(p) in kept})
        policy.optimizer = whole

    def sample(self, n: int, rng: np.random.Generator | None = None) -> Batch:
        raise NotImplementedError(NO_DATA)

    def losses(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError(NO_DATA)


class _Settings:
    """What the runner-side code reads of an adopted model's configuration."""

    def __init__(self, num_envs: int) -> None:
        self.num_envs, self.iteration_steps, self.precision = num_envs, num_envs, "fp32"


def native_views_target(policy: DQNPolicy) -> PolicyView:
    q = policy.q_net_target
    last = len(q.q_net) - 1
    scale = 1 / 255 if policy.normalize_images and is_image_space(policy.observation_space) else 1.0
    return PolicyView(leaves(q.features_extractor, q.q_net[:last]), {"q": (q.q_net[last], lambda m: None)}, scale)


def hyper_parameters(model: BaseAlgorithm) -> dict[str, Any]:
    """The SB3 model's hyper-parameters that define a run, for its ``config.json`` (plain values only)."""
    names = (
        "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "ent_coef", "vf_coef", "max_grad_norm",
        "normalize_advantage", "buffer_size", "learning_starts", "tau", "gradient_steps", "target_update_interval",
        "exploration_fraction", "exploration_initial_eps", "exploration_final_eps",
    )  # fmt: skip
    values: dict[str, Any] = {"algorithm": type(model).__name__, "policy": type(model.policy).__name__}
    values["num_envs"] = model.n_envs
    values["learning_rate"] = model.learning_rate if isinstance(model.learning_rate, (int, float)) else "schedule"
    values |= {k: getattr(model, k) for k in names if isinstance(getattr(model, k, None), (int, float, bool, str))}
    if hasattr(model, "train_freq"):
        values["train_freq"] = int(model.train_freq.frequency)
    values["net_arch"] = repr(model.policy_kwargs.get("net_arch"))
    return values
