"""A stand-in for `ntptime`: the unix port's clock is already right, so a sync just succeeds."""


def settime():
    return None
