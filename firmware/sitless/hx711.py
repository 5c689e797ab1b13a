"""The HX711 load-cell amplifier, bit-banged; the board passes its two pins."""


class HX711:
    """A load-cell amplifier, bit-banged on two pins, channel A at gain 128.

    `read` first checks data-ready (DOUT low) and returns None at once if the
    conversion is not done, so it never holds up the loop. `irq_off`/`irq_on`
    (the board's `disable_irq`/`enable_irq`) keep an interrupt from stretching
    a clock pulse past 60 µs, which would power the chip down.
    """

    def __init__(self, data, clock, irq_off=None, irq_on=None):
        self.data = data
        self.clock = clock
        self.irq_off = irq_off
        self.irq_on = irq_on
        clock.value(0)

    def read(self, now_ms):  # noqa: ARG002 - every sensor is read with the time
        if self.data.value():
            return None
        data = self.data.value
        clock = self.clock.value
        state = self.irq_off() if self.irq_off else None
        value = 0
        for _ in range(24):
            clock(1)
            clock(0)
            value = (value << 1) | data()
        clock(1)  # a 25th pulse selects channel A, gain 128, for the next reading
        clock(0)
        if self.irq_on:
            self.irq_on(state)
        if value & 0x800000:
            value -= 0x1000000
        return value
