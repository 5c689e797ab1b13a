"""The calibration from the config's two points and the saved baseline, and the snoozes allowed.

Needed when a chair is built and when a `config` command changes the points,
so it is loaded for that and dropped again (as `config` and `commands` are):
its code takes no RAM while the chair is in use.
"""

from sitless.calib import Calibration


def from_config(cfg, saved=None):
    """Calibration from the config points and the saved baseline, if it belongs to them."""
    empty, occupied = cfg.get("empty"), cfg.get("occupied")
    if empty is None or occupied is None:  # no calibration yet: defaults per sensor kind
        kind = cfg.get("sensor", "adc")
        if kind == "hx711":
            empty, occupied = 0, 400_000  # counts: a placeholder until `sitless calibrate`
        elif kind == "switch":
            empty, occupied = 0, 1000  # the switch reads 0 or 1000
        else:
            empty, occupied = 150_000, 1_500_000  # microvolts: FSR divider, empty vs a person
    empty, occupied = int(empty), int(occupied)
    baseline = None
    if saved and saved.get("empty") == empty and saved.get("occupied") == occupied:
        baseline = saved.get("baseline")
        if not isinstance(baseline, int) or isinstance(baseline, bool):
            baseline = None
    return Calibration(empty, occupied, baseline)


def snoozes_allowed(cfg):
    """Snoozes per bout by the config: none in strict mode."""
    return 0 if cfg.get("strict") else cfg.get("max_snoozes", 3)
