"""Learning-rate schedule: constant, then linear decay to exactly 0 at the last step (the paper's)."""


def learning_rate(base: float, step: int, total: int, decay_start: int) -> float:
    """The rate after `step` completed steps; step `total` gives 0 and `decay_start` gives `base`."""
    if step <= decay_start:
        return base
    return base * max(0.0, (total - step) / (total - decay_start))
