"""The board's parts, built once at start from the config's pins: the sensor, the outputs, the button.

`board` loads this module for start-up only and the app drops it once its
tasks run, so this code takes no RAM while the chair is in use. It never
imports `machine`: the board passes its own in, and stays the one module that
touches the hardware.
"""

import time

from sitless.compat import const

_BUZZER_HZ = const(2000)


def sensor(machine, cfg):
    kind = cfg["sensor"]
    if kind == "hx711":
        from sitless.hx711 import HX711

        data = machine.Pin(cfg["sensor_pin"], machine.Pin.IN)
        clock = machine.Pin(cfg["sensor_clk_pin"], machine.Pin.OUT)
        return HX711(data, clock, machine.disable_irq, machine.enable_irq)
    if kind == "switch":
        from sitless.switch import SwitchSensor

        return SwitchSensor(machine.Pin(cfg["sensor_pin"], machine.Pin.IN, machine.Pin.PULL_UP))
    from sitless.sensors import AdcSensor

    return AdcSensor(machine.ADC(machine.Pin(cfg["sensor_pin"]), atten=machine.ADC.ATTN_11DB))


def actuators(machine, cfg):
    from sitless.actuators import Actuators

    led = buzzer = motor = None
    if cfg["led_pin"] is not None:
        led = machine.Pin(cfg["led_pin"], machine.Pin.OUT, value=0)
    if cfg["buzzer_pin"] is not None:
        buzzer = machine.PWM(machine.Pin(cfg["buzzer_pin"]), freq=_BUZZER_HZ, duty_u16=0)
    if cfg["motor_pin"] is not None:
        motor = machine.Pin(cfg["motor_pin"], machine.Pin.OUT, value=0)
    return Actuators(led, buzzer, motor)


def button(machine, cfg, on_press):
    if cfg["button_pin"] is None:
        return None
    from sitless.sensors import Button

    pin = machine.Pin(cfg["button_pin"], machine.Pin.IN, machine.Pin.PULL_UP)
    found = Button(pin, on_press, time.ticks_ms)
    pin.irq(found.irq, machine.Pin.IRQ_FALLING)
    return found
