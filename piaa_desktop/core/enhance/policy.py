"""The enhancer's policy: a small Q-network trained by deep Q-learning, exported to ONNX.

Training (torch, imported lazily) runs on CUDA when available, else CPU. The learner visits states
with an epsilon-greedy behaviour policy and, because the environment is a cheap deterministic
simulator, backs up *every* action of each visited state (``Episode.lookahead``) with a double-DQN
target ``r(s,a) + gamma * Q_target(s', argmax_a' Q(s', a'))``; ``stop`` is worth 0.

Inference uses onnxruntime only (:class:`OnnxPolicy`): greedy actions until ``stop``, no action
with positive value, a revisited state, or ``MAX_STEPS``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from piaa_desktop.core.enhance import env as E
from piaa_desktop.core.jobs import CancelToken, ProgressCallback, ensure

GAMMA = 0.3  # short horizon: the full-width backups already see every next step's reward
INFER_STEPS = 4  # greedy rollouts longer than this drift (measured: see models/README.md)
MIN_GAIN = 0.03  # act only when the predicted colour-difference decrease beats this (CIEDE2000 units)
HIDDEN = 128


def _torch():
    import torch

    return torch


def build_qnet(mu: Optional[np.ndarray] = None, sd: Optional[np.ndarray] = None):
    """The Q-network: input normalisation baked in (so ONNX carries it), 2 hidden layers."""
    torch = _torch()
    nn = torch.nn

    class QNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mu", torch.zeros(E.STATE_DIM))
            self.register_buffer("sd", torch.ones(E.STATE_DIM))
            self.body = nn.Sequential(
                nn.Linear(E.STATE_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, E.N_ACTIONS - 1)
            )

        def forward(self, state):
            q = self.body((state - self.mu) / self.sd)
            return torch.cat([q, torch.zeros_like(q[:, :1])], dim=1)  # stop is worth exactly 0

    net = QNet()
    if mu is not None:
        net.mu.copy_(torch.as_tensor(mu, dtype=torch.float32))
        net.sd.copy_(torch.as_tensor(np.maximum(sd, 1e-3), dtype=torch.float32))
    return net


def device(prefer: Optional[str] = None):
    """The training device: ``prefer`` if given, else CUDA when torch sees a GPU, else the CPU."""
    torch = _torch()
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Replay:
    """Visited states with the rewards and next states of all their actions."""

    def __init__(self, capacity: int = 20000):
        self.capacity = capacity
        self.s: list[np.ndarray] = []
        self.r: list[np.ndarray] = []
        self.n: list[np.ndarray] = []

    def add(self, s, r, n) -> None:
        self.s.append(s)
        self.r.append(r)
        self.n.append(n)
        if len(self.s) > self.capacity:
            del self.s[0], self.r[0], self.n[0]

    def __len__(self) -> int:
        return len(self.s)

    def sample(self, rng: np.random.Generator, k: int):
        idx = rng.integers(0, len(self.s), size=min(k, len(self.s)))
        return (
            np.stack([self.s[i] for i in idx]),
            np.stack([self.r[i] for i in idx]),
            np.stack([self.n[i] for i in idx]),
        )


def greedy_action(q: np.ndarray, z: np.ndarray, visited: set, min_gain: float = MIN_GAIN) -> int:
    """Best action whose resulting parameters were not visited yet (prevents up/down oscillation);
    ``stop`` unless some action's predicted gain beats ``min_gain``."""
    for a in np.argsort(-q):
        a = int(a)
        if a == E.STOP or q[a] <= min_gain:
            return E.STOP
        key = tuple(np.round(E.apply_action(z, a), 4))
        if key not in visited:
            return a
    return E.STOP


def train_q(
    make_episode: Callable[[np.random.Generator], "E.Episode"],
    rounds: int = 30,
    episodes_per_round: int = 8,
    updates_per_round: int = 60,
    epsilon: tuple[float, float] = (0.6, 0.1),
    init_state: Optional[dict] = None,
    seed: int = 0,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    progress: Optional[ProgressCallback] = None,
    cancel: Optional[CancelToken] = None,
    log: Optional[Callable[[str], None]] = None,
    device_name: Optional[str] = None,
):
    """Deep Q-learning on episodes from ``make_episode(rng)``; returns the trained network (on CPU).

    The network learns on :func:`device` (CUDA when available; ``device_name`` forces one); episodes
    (numpy renders) always run on the CPU."""
    torch = _torch()
    # the network is tiny: one CPU thread is faster than several fighting over a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_q(torch, make_episode, rounds, episodes_per_round, updates_per_round, epsilon, init_state,
                        seed, lr, weight_decay, progress, cancel, log, device_name)
    finally:
        torch.set_num_threads(threads)


def _train_q(torch, make_episode, rounds, episodes_per_round, updates_per_round, epsilon, init_state, seed, lr,
             weight_decay, progress, cancel, log, device_name=None):
    progress, cancel = ensure(progress, cancel)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    dev = device(device_name)
    if log:
        log(f"training the enhancer policy on {dev}")
    replay = Replay()

    net = None
    if init_state is not None:
        net = build_qnet()
        net.load_state_dict(init_state)
        net = net.to(dev)
    target = None
    opt = None

    def q_values(model, states: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.as_tensor(states, device=dev)).cpu().numpy()

    for rnd in range(rounds):
        cancel.raise_if_cancelled()
        eps = epsilon[0] + (epsilon[1] - epsilon[0]) * rnd / max(1, rounds - 1)
        # ---- collect
        for _ in range(episodes_per_round):
            ep = make_episode(rng)
            visited = {tuple(np.round(ep.z, 4))}
            while not ep.done:
                cancel.raise_if_cancelled()
                s = ep.state()
                r, n = ep.lookahead()
                replay.add(s, r, n)
                if net is None or rng.random() < eps:
                    # exploration biased towards useful moves: mostly a random improving action
                    good = np.flatnonzero(r[:-1] > 0)
                    a = int(rng.choice(good)) if (len(good) and rng.random() < 0.7) else int(rng.integers(0, E.N_ACTIONS - 1))
                else:
                    a = greedy_action(q_values(net, s[None])[0], ep.z, visited)
                    if a == E.STOP:
                        break
                ep.step(a)
                visited.add(tuple(np.round(ep.z, 4)))
        # ---- learn
        if net is None:
            states = np.stack(replay.s)
            net = build_qnet(states.mean(0), states.std(0))
        if opt is None:
            net = net.to(dev)
            opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
            target = build_qnet().to(dev)
            target.load_state_dict(net.state_dict())
        losses = []
        for _ in range(updates_per_round):
            s, r, n = replay.sample(rng, 128)
            B = len(s)
            with torch.no_grad():
                nt = torch.as_tensor(n.reshape(-1, E.STATE_DIM), device=dev)
                q_online = net(nt)
                q_target = target(nt)
                best = q_online.argmax(1, keepdim=True)
                v_next = q_target.gather(1, best).reshape(B, E.N_ACTIONS)
                y = torch.as_tensor(r, device=dev) + GAMMA * v_next
                y[:, E.STOP] = 0.0
            q = net(torch.as_tensor(s, device=dev))
            loss = torch.nn.functional.smooth_l1_loss(q[:, :-1], y[:, :-1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            with torch.no_grad():  # soft target update
                for pt, po in zip(target.parameters(), net.parameters()):
                    pt.mul_(0.98).add_(po, alpha=0.02)
        if log:
            log(f"round {rnd + 1}/{rounds}: replay {len(replay)} states, loss {np.mean(losses):.4f}, eps {eps:.2f}")
        progress(rnd + 1, rounds, f"training enhancer policy ({rnd + 1}/{rounds})")
    return net.cpu().eval()


def state_dict_numpy(net) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}


def export_onnx(net, path: os.PathLike | str) -> Path:
    """Write the Q-network as ONNX (input ``state`` [N, STATE_DIM], output ``q`` [N, N_ACTIONS]) atomically."""
    torch = _torch()
    from piaa_desktop.core.fsutil import atomic_write

    net = net.cpu().eval()
    buf = io.BytesIO()
    dummy = torch.zeros(1, E.STATE_DIM)
    torch.onnx.export(
        net,
        (dummy,),
        buf,
        input_names=["state"],
        output_names=["q"],
        dynamic_axes={"state": {0: "n"}, "q": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    path = Path(path)
    with atomic_write(path) as fh:
        fh.write(buf.getvalue())
    return path


class OnnxPolicy:
    """A Q-network run with onnxruntime (CPU)."""

    def __init__(self, path_or_bytes, threads: int = 1):
        import onnxruntime as ort

        from piaa_desktop.core.models import ort_session_options

        so = ort_session_options(threads)
        src = str(path_or_bytes) if isinstance(path_or_bytes, (str, Path)) else path_or_bytes
        self.session = ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])

    def q(self, states: np.ndarray) -> np.ndarray:
        return self.session.run(["q"], {"state": np.asarray(states, np.float32).reshape(-1, E.STATE_DIM)})[0]


class TorchPolicy:
    """Same interface as :class:`OnnxPolicy` over a torch network (used during training/evaluation)."""

    def __init__(self, net):
        self.net = net.cpu().eval()

    def q(self, states: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.no_grad():
            return self.net(torch.as_tensor(np.asarray(states, np.float32).reshape(-1, E.STATE_DIM))).numpy()


def run_policy(
    policy,
    src_small: np.ndarray,
    z0: Optional[np.ndarray] = None,
    max_steps: int = INFER_STEPS,
    return_trajectory: bool = False,
    min_gain: float = MIN_GAIN,
):
    """Greedy rollout of ``policy`` on a photo proxy; returns the final normalised parameters
    (and, with ``return_trajectory``, every parameter vector visited, start included)."""
    z = np.zeros(E.N_PARAMS) if z0 is None else np.asarray(z0, np.float64).copy()
    traj = [z.copy()]
    visited = {tuple(np.round(z, 4))}
    for _ in range(max_steps):
        q = policy.q(E.state_of(src_small, z)[None])[0]
        a = greedy_action(q, z, visited, min_gain)
        if a == E.STOP:
            break
        z = E.apply_action(z, a)
        visited.add(tuple(np.round(z, 4)))
        traj.append(z.copy())
    return (z, traj) if return_trajectory else z
