"""Schedules: flows run on an interval, a cron expression or after another flow.

`schedule` (schedules and the slots they claim) and `service` (`plait serve`).
"""
