"""Learning-rate schedules: constant, then linear decay to exactly 0 at the last step (StarGAN's, CycleGAN's,
U-GAT-IT's); or UNIT's step decay, the rate multiplied by `gamma` every `every` steps (`train.lr_step`)."""


def learning_rate(
    base: float, step: int, total: int, decay_start: int, every: int = 0, gamma: float = 0.5
) -> float:
    """The rate after `step` completed steps. Linear (every = 0): step `total` gives 0 and `decay_start` gives
    `base`. Step decay: base * gamma ** (step // every), as a StepLR stepped after every iteration."""
    if every:
        return base * gamma ** (step // every)
    if step <= decay_start:
        return base
    return base * max(0.0, (total - step) / (total - decay_start))
