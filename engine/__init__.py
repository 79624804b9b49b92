"""The case engine: the only package that talks to SpiffWorkflow.

Public surface: deploy diagrams, start cases, list and complete tasks, fire due
timers, run scenarios. SpiffWorkflow types never cross this boundary.
"""
