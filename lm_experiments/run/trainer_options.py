"""The Trainer's counting options checked where the run starts: Lightning takes `max_epochs=1.5` at construction
and fails with a bare AssertionError an epoch later, and `limit_val_batches=0` under a schedule that watches
val/loss fails only at the first epoch's end."""

from omegaconf import DictConfig

from lm_experiments.errors import UserError

# options that count epochs, steps or batches: an integer, at least `low` (-1 means "no limit" where allowed)
COUNTS = {"max_epochs": (-1, True), "min_epochs": (0, False), "max_steps": (-1, True), "min_steps": (0, False),
          "accumulate_grad_batches": (1, False), "log_every_n_steps": (1, False),
          "check_val_every_n_epoch": (1, False), "num_sanity_val_steps": (-1, True)}
LIMITS = ("limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_trainer_options(trainer: DictConfig) -> None:
    """Each counting option an integer in its range (or null), each limit a fraction in [0, 1] or a count."""
    for key, (low, unlimited) in COUNTS.items():
        value = trainer.get(key)
        if value is None or (_is_int(value) and (value >= max(low, 0) or (unlimited and value == -1))):
            continue
        meaning = " (-1: no limit)" if unlimited else ""
        raise UserError(f"trainer.{key} counts whole {key.split('_')[-1]}; it must be an integer >= "
                        f"{max(low, 0)}{meaning}, got {value!r}.")
    for key in LIMITS:
        value = trainer.get(key)
        if value is None or (_is_int(value) and value >= 0) or \
                (isinstance(value, float) and 0.0 <= value <= 1.0):
            continue
        raise UserError(f"trainer.{key} is a fraction of the batches in [0.0, 1.0] or a number of batches "
                        f"(an integer >= 0); got {value!r}.")

