"""Bilevel meta-learning of the taste-head initialisation (BLG-PIAA style) with ``torch.func``.

Each rater is a task, split into a support set (the few ratings/preferences a user would give) and
a query set. The inner loop adapts a linear head (an ``nn.Linear`` called through
``torch.func.functional_call``) on the support set with ``torch.func.grad``; the outer loop
back-propagates the query loss through the whole inner loop (second order) and updates the
initialisation theta0, the per-parameter inner learning rates (Meta-SGD) and the per-parameter pull
toward theta0. Tasks of a meta-batch run in parallel with ``torch.func.vmap``.

The inner loop is the same objective and the same stabilised step as core.personal.adapt (numpy),
which runs it at application time; tests check that both give the same result.

torch is imported lazily: this module is only for training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

POWER_ITERS = 20
STABLE = 1.5


@dataclass
class MetaConfig:
    steps: int = 15
    pair_weight: float = 1.0
    outer_lr: float = 0.01
    iterations: int = 1000
    meta_batch: int = 24
    init_lr: float = 0.05
    init_rho: float = 1e-3
    seed: int = 0
    learn_init: bool = True  # False: keep the initialisation (e.g. the generic head) and learn steps/pulls only


@dataclass
class TaskBatch:
    """Padded tasks: support features/targets with masks, pairs with masks, query features/targets."""

    xs: np.ndarray  # (B, S, d)
    zs: np.ndarray  # (B, S)
    ms: np.ndarray  # (B, S) 1 for real support rows
    dw: np.ndarray  # (B, P, d) winner minus loser features
    mp: np.ndarray  # (B, P)
    xq: np.ndarray  # (B, Q, d)
    zq: np.ndarray  # (B, Q)
    mq: np.ndarray  # (B, Q)


def _torch():
    import torch

    return torch


def build_functions(d: int, steps: int, pair_weight: float):
    """The batched inner loop: (theta0, lr, rho, task tensors) -> adapted params of every task.

    The head is an ``nn.Linear(d, 1)`` evaluated with ``functional_call`` under ``vmap`` (one parameter
    set per task); ``torch.func.grad`` of the summed task losses gives every task its own gradient
    (tasks do not interact), and the outer backward differentiates through all inner steps.
    """
    torch = _torch()
    from torch.func import functional_call, grad, vmap

    head = torch.nn.Linear(d, 1)

    def predict(theta: dict, x):
        return functional_call(head, theta, (x,)).squeeze(-1)

    batched_predict = vmap(predict, in_dims=(0, 0))

    def inner_loss(theta, theta0, rho, xs, zs, ms, dw, mp):
        n = torch.clamp(ms.sum(1), min=1.0)
        p = torch.clamp(mp.sum(1), min=1.0)
        r = batched_predict(theta, xs) - zs
        pair = torch.einsum("bpd,bd->bp", dw, theta["weight"][:, 0, :])  # the bias cancels in differences
        loss = ((ms * r**2).sum(1) / n).sum()
        loss = loss + pair_weight * ((mp * torch.nn.functional.softplus(-pair)).sum(1) / p).sum()
        for k in theta:
            loss = loss + (rho[k] * (theta[k] - theta0[k]) ** 2).sum()
        return loss

    g = grad(inner_loss)

    def curvature_scale(lrv, rhov, xs, ms, dw, mp):
        """Per-task step scale keeping (lr-preconditioned curvature x step) below STABLE (no gradient)."""
        with torch.no_grad():
            n = torch.clamp(ms.sum(1), min=1.0)[:, None, None]
            p = torch.clamp(mp.sum(1), min=1.0)[:, None, None]
            xa = torch.cat([xs, torch.ones_like(xs[..., :1])], dim=2) * ms[..., None]
            da = torch.cat([dw, torch.zeros_like(dw[..., :1])], dim=2) * mp[..., None]
            h = 2.0 / n * xa.transpose(1, 2) @ xa + pair_weight * 0.25 / p * da.transpose(1, 2) @ da
            h = h + torch.diag(2.0 * rhov)
            sq = torch.sqrt(lrv)
            hp = sq[None, :, None] * h * sq[None, None, :]
            v = torch.ones(hp.shape[0], hp.shape[1], 1, dtype=hp.dtype, device=hp.device) / hp.shape[1] ** 0.5
            lam = torch.zeros(hp.shape[0], dtype=hp.dtype, device=hp.device)
            for _ in range(POWER_ITERS):
                u = hp @ v
                lam = torch.linalg.vector_norm(u, dim=(1, 2))
                v = u / (lam[:, None, None] + 1e-30)
            return torch.clamp(STABLE / torch.clamp(lam, min=1e-12), max=1.0)

    def adapt(theta0, lr, rho, xs, zs, ms, dw, mp):
        """theta0/lr/rho: {'weight': (1,d), 'bias': (1,)} shared by all tasks; tensors batched over tasks."""
        B = xs.shape[0]
        lrv = torch.cat([lr["weight"].reshape(-1), lr["bias"].reshape(-1)])
        rhov = torch.cat([rho["weight"].reshape(-1), rho["bias"].reshape(-1)])
        scale = curvature_scale(lrv.detach(), rhov.detach(), xs, ms, dw, mp)
        th0 = {"weight": theta0["weight"].expand(B, 1, d), "bias": theta0["bias"].expand(B, 1)}
        rb = {"weight": rho["weight"].expand(B, 1, d), "bias": rho["bias"].expand(B, 1)}
        step = {"weight": scale[:, None, None] * lr["weight"][None], "bias": scale[:, None] * lr["bias"][None]}
        theta = dict(th0)
        for _ in range(steps):
            gr = g(theta, th0, rb, xs, zs, ms, dw, mp)
            theta = {k: theta[k] - step[k] * gr[k] for k in theta}
        return theta

    return adapt, batched_predict


def meta_train(
    sample_batch: Callable[[np.random.Generator, int], TaskBatch],
    d: int,
    init_w: np.ndarray,
    init_b: float,
    config: Optional[MetaConfig] = None,
    progress=None,
    cancel=None,
    log: Optional[Callable[[str], None]] = None,
) -> dict:
    """Meta-learn (w0, b0, lr, rho). Returns numpy arrays and the loss history.

    ``sample_batch(rng, B)`` draws B tasks. Uses CUDA when torch sees it.
    """
    torch = _torch()
    from piaa_desktop.core.jobs import ensure

    cfg = config or MetaConfig()
    progress, cancel = ensure(progress, cancel)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)  # tiny tensors: one thread is many times faster than contended threads
    batched, batched_predict = build_functions(d, cfg.steps, cfg.pair_weight)
    w0 = torch.tensor(np.asarray(init_w, np.float32).reshape(1, d), device=dev, requires_grad=cfg.learn_init)
    b0 = torch.tensor([float(init_b)], dtype=torch.float32, device=dev, requires_grad=cfg.learn_init)
    log_lr_w = torch.full((1, d), float(np.log(cfg.init_lr)), device=dev, requires_grad=True)
    log_lr_b = torch.full((1,), float(np.log(cfg.init_lr)), device=dev, requires_grad=True)
    log_rho_w = torch.full((1, d), float(np.log(cfg.init_rho)), device=dev, requires_grad=True)
    log_rho_b = torch.full((1,), float(np.log(cfg.init_rho)), device=dev, requires_grad=True)
    params = ([w0, b0] if cfg.learn_init else []) + [log_lr_w, log_lr_b, log_rho_w, log_rho_b]
    opt = torch.optim.Adam(params, lr=cfg.outer_lr)
    try:
        history = []
        t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=dev)  # noqa: E731
        for it in range(cfg.iterations):
            cancel.raise_if_cancelled()
            tb = sample_batch(rng, cfg.meta_batch)
            theta0 = {"weight": w0, "bias": b0}
            lr = {"weight": torch.exp(log_lr_w), "bias": torch.exp(log_lr_b)}
            rho = {"weight": torch.exp(log_rho_w), "bias": torch.exp(log_rho_b)}
            theta = batched(theta0, lr, rho, t(tb.xs), t(tb.zs), t(tb.ms), t(tb.dw), t(tb.mp))
            pred = batched_predict(theta, t(tb.xq))
            mq = t(tb.mq)
            loss = ((mq * (pred - t(tb.zq)) ** 2).sum(1) / mq.sum(1).clamp(min=1)).mean()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"meta-training diverged at iteration {it}")
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():  # keep learning rates and pulls in a sane range
                for p_ in (log_lr_w, log_lr_b):
                    p_.clamp_(np.log(1e-4), np.log(5.0))
                for p_ in (log_rho_w, log_rho_b):
                    p_.clamp_(np.log(1e-6), np.log(10.0))
            history.append(float(loss.detach()))
            if log and (it % 100 == 0 or it == cfg.iterations - 1):
                log(f"meta it {it:5d} query loss {np.mean(history[-100:]):.4f}")
            progress(it + 1, cfg.iterations, "meta-training")
    finally:
        torch.set_num_threads(threads)
    return {
        "w0": w0.detach().cpu().numpy().reshape(-1),
        "b0": float(b0.detach().cpu().numpy()[0]),
        "lr": np.concatenate([torch.exp(log_lr_w).detach().cpu().numpy().reshape(-1), torch.exp(log_lr_b).detach().cpu().numpy()]),
        "rho": np.concatenate([torch.exp(log_rho_w).detach().cpu().numpy().reshape(-1), torch.exp(log_rho_b).detach().cpu().numpy()]),
        "history": history,
        "device": str(dev),
    }
