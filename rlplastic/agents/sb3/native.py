"""A model an SB3 user built (``PPO("CnnPolicy", env)``, ``DQN("MlpPolicy", env)``, ``SAC("MlpPolicy", env)``) as
our Learner, so ``rlplastic.sb3.PlasticityCallback`` can apply a method to it inside the user's own ``model.learn()``.

Its networks are views of SB3's own layers: the features extractor's and the ``mlp_extractor`` branch's leaf
modules in forward order (NatureCNN, FlattenExtractor, ``create_mlp``'s Linear/activation pairs) as the encoder,
``action_net``/``value_net`` (or DQN's last ``q_net`` layer) as the heads. A policy whose actor and critic share
the features extractor and have no MLP branches is one network ``actor_critic``; otherwise ``actor`` and
``critic``. SAC: ``actor`` (``latent_pi`` with heads ``mean`` and ``log_std``) and one network per critic
(``q1``, ``q2``: each q-network's layers over the observation and action side by side, last layer ``q``), their
targets the target critic's. Each SB3 optimiser becomes one Adam per network (the same update, starting with fresh
moments at each ``learn()``) behind SB3's ``optimizer`` attribute, so per-update methods and their extra losses run
inside SB3's ``train()``; when training ends the policy gets SB3's Adams back, with those moments (``release``).

Not possible on a model already built: methods that change the architecture (LayerNorm, CReLU, DFF: build the
network with them instead), continuous-action PPO and SAC with gSDE (their ``log_std`` belongs to no layer), SAC
critics behind a features extractor with weights (a CNN: the action joins after it), optimisers other than Adam.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.dqn.policies import DQNPolicy
from stable_baselines3.sac.policies import SACPolicy
from torch import nn

from rlplastic.agents.learner import Batch, Hooks
from rlplastic.agents.networks import ArchSpec
from rlplastic.agents.sb3.dqn import sync_q_target
from rlplastic.agents.sb3.learner import SB3Learner
from rlplastic.agents.sb3.networks import PolicyView, StateActionView
from rlplastic.agents.sb3.sac import reset_temperature, sync_critic_targets
from rlplastic.envs.spec import ActionSpec, EnvSpec

NO_DATA = (
    "methods that read the agent's data (ReDo, DASH, C-CHAIN) are not available in PlasticityCallback; train them "
    "with --agent sb3_ppo, sb3_dqn or sb3_sac"
)
NO_ARCH = ArchSpec(encoder="mlp_64")  # a probe: a method that edits it would change a network already built


def leaves(*modules: nn.Module) -> nn.Sequential:
    """The leaf modules of ``modules`` in registration order (SB3 registers its layers in forward order)."""
    return nn.Sequential(*[m for module in modules for m in module.modules() if not list(m.children())])


def native_views(policy: nn.Module) -> dict[str, PolicyView]:
    """Our networks over SB3's own ``ActorCriticPolicy`` (discrete actions), ``DQNPolicy`` or ``SACPolicy``."""
    scale = 1 / 255 if policy.normalize_images and is_image_space(policy.observation_space) else 1.0
    if isinstance(policy, SACPolicy):
        return _actor_view(policy, scale) | critic_views(policy.critic)
    if isinstance(policy, DQNPolicy):
        q = policy.q_net
        last = len(q.q_net) - 1
        head = (q.q_net[last], lambda m: q.q_net.__setitem__(last, m))
        return {"q": PolicyView(leaves(q.features_extractor, q.q_net[:last]), {"q": head}, scale)}
    if not isinstance(policy, ActorCriticPolicy) or hasattr(policy, "log_std"):
        raise ValueError(
            f"PlasticityCallback acts on PPO/A2C models with discrete actions and on DQN and SAC models, not on a "
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


def _actor_view(policy: SACPolicy, scale: float) -> dict[str, PolicyView]:
    actor = policy.actor
    if actor.use_sde:
        raise ValueError("PlasticityCallback acts on SAC without gSDE: gSDE's log_std belongs to no layer")
    heads = {
        "mean": (actor.mu, lambda m: setattr(actor, "mu", m)),
        "log_std": (actor.log_std, lambda m: setattr(actor, "log_std", m)),
    }
    return {"actor": PolicyView(leaves(actor.features_extractor, actor.latent_pi), heads, scale)}


def critic_views(critic: nn.Module) -> dict[str, PolicyView]:
    """SAC's q-networks ``q1``, ``q2``, ... of ``critic`` (online or target): layers over (s, a), last layer ``q``."""
    if list(critic.features_extractor.parameters()):
        raise ValueError(
            "PlasticityCallback acts on SAC critics that read the observation directly (a weightless features "
            "extractor such as MlpPolicy's): with a CNN the action joins after it, which no view models"
        )
    views = {}
    for idx, q in enumerate(critic.q_networks):
        last = len(q) - 1
        head = (q[last], lambda m, q=q, last=last: q.__setitem__(last, m))
        views[f"q{idx + 1}"] = StateActionView(leaves(q[:last]), {"q": head})
    return views


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
        space, actions = model.observation_space, model.action_space
        if hasattr(actions, "n"):
            action_spec = ActionSpec(n=int(actions.n))
        else:
            action_spec = ActionSpec(low=tuple(map(float, actions.low)), high=tuple(map(float, actions.high)))
        spec = EnvSpec(tuple(space.shape), action_spec, 1, str(space.dtype))
        self._setup(spec, seed, hooks, NO_ARCH)
        self.LAST_STEPPED = ""  # set from the views below
        self._adopt(model, hooks)
        self.log_every = self.iteration_steps = model.n_envs

    def _views(self, policy: nn.Module) -> tuple[dict[str, nn.Module], dict[str, nn.Module]]:
        views = native_views(policy)
        if isinstance(policy, SACPolicy):
            self.LAST_STEPPED = "actor"  # SB3 steps the critics, then the actor
            return views, critic_views(policy.critic_target)
        self.LAST_STEPPED = list(views)[-1]
        if isinstance(policy, DQNPolicy):
            return views, {"q": native_views_target(policy)}
        return views, {}

    def _optimizer_owners(self) -> dict[str, tuple[nn.Module, tuple[str, ...]]]:
        """SB3's optimiser holders: the policy (PPO, DQN), or SAC's actor and critic."""
        covered = {id(p) for net in self.networks.values() for p in net.parameters()}
        targets = {id(p) for net in self.target_networks.values() for p in net.parameters()}
        seen = covered | targets
        missing = [n for n, p in self.model.policy.named_parameters() if id(p) not in seen and p.requires_grad]
        if missing:
            raise ValueError(f"PlasticityCallback cannot see SB3 parameters {', '.join(missing[:3])} in any layer")
        if sum(len(list(net.parameters())) for net in self.networks.values()) > len(covered):
            raise ValueError(
                "the actor and the critic share a features extractor with weights and have MLP branches of their own: "
                "one network per optimiser is not possible; set share_features_extractor=False or net_arch=[]"
            )
        policy = self.model.policy
        if isinstance(policy, SACPolicy):
            critics = tuple(name for name in self.networks if name != "actor")
            return {"actor": (policy.actor, ("actor",)), "critic": (policy.critic, critics)}
        return {"policy": (policy, tuple(self.networks))}

    def _initial_lr(self) -> float:
        return float(self.model.lr_schedule(self.model._current_progress_remaining))

    def sync_targets(self) -> None:
        """DQN's target (SAC's target critics) becomes a copy of the online network, structure too (injection
        changes the head)."""
        policy = self.model.policy
        if isinstance(policy, SACPolicy):
            self.target_networks = critic_views(sync_critic_targets(self.model))
        if isinstance(policy, DQNPolicy):
            sync_q_target(self.model)
            self.target_networks = {"q": native_views_target(policy)}

    def reset_temperature(self) -> None:
        reset_temperature(self.model)  # SAC's learned temperature; nothing for PPO and DQN

    def release(self) -> None:
        """Give the policy back in SB3's own shape: injected heads folded into one Linear each, and for each SB3
        optimiser one of its class over its networks' parameters holding the moments our per-network optimisers
        gathered (their parameters are disjoint), so SB3 can save, load and go on training."""
        for view in self.networks.values():
            for name, head in view.heads.items():
                if hasattr(head, "folded"):  # an injected head: one trainable Linear of the same function, so the
                    setattr(view, name, head.folded().requires_grad_(True))  # policy is SB3's shape again
        self.sync_targets()
        for owner, names in self._optimizer_owners().values():
            owner.optimizer = self._merged(names)

    def _merged(self, names: tuple[str, ...]) -> torch.optim.Optimizer:
        """One optimiser of the policy's class over networks ``names`` (DQN's: the online net only), with their
        moments."""
        policy = self.model.policy
        lr = self.optimizers[names[0]].param_groups[0]["lr"]
        params = list({id(p): p for name in names for p in self.networks[name].parameters()}.values())
        whole = policy.optimizer_class(params, lr=lr, **policy.optimizer_kwargs)
        kept = {id(p) for p in params}  # a folded head's parts are gone, their moments with them
        for opt in {id(self.optimizers[n]): self.optimizers[n] for n in names}.values():
            if type(opt) is type(whole):  # a method's own optimiser (TRAC, Kron) keeps other state: start afresh
                whole.state.update({p: state for p, state in opt.state.items() if id(p) in kept})
        return whole

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
