"""Timers, reminders and escalation: Celery worker and beat on Redis, or an embedded sweeper thread.

Modules, one job each:
    settings     typed settings from the environment (REDIS_URL, SMTP_URL, ...)
    celery_app   the Celery app and its beat schedule (`celery -A workers.celery_app worker|beat`)
    tasks        the Celery tasks (sweep, exact-time timers, e-mail)
    scheduling   exact-time (ETA) tasks for waiting timers
    sweep        one sweep: fire due timers, create due notifications, send e-mail
    reminding    create the due reminders/escalations (rules in engine.reminders)
    directory    who receives them (users, teams, roles)
    delivery     send e-mails once, with retries
    mail         SMTP and the message text
    embedded     the sweep in a thread of the web process (no Redis)
    attach       one call for the web process: Celery when REDIS_URL is set, else the embedded thread
    cli          `meldcode worker ...`
"""
