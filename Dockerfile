# One image for every service in docker-compose.yml: web (gunicorn), worker and beat (Celery), migrate.
# Build: docker compose build    (or: docker build -t meldcode .)

# The front-end packages (bpmn-js) come from the npm registry, exactly as locked.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Pango for WeasyPrint (the dossier as PDF, issue 13)
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --create-home --home-dir /home/meldcode meldcode
WORKDIR /app
# Dependencies first (a code change does not reinstall them), then the project itself.
COPY pyproject.toml README.md ./
COPY engine engine
COPY web web
COPY workers workers
# Editable: the app finds processes/, node_modules/ and instance/ next to its code in /app. The worker
# packages are named explicitly too, so the image has them whatever the pyproject extras say.
RUN pip install -e . "celery[redis]>=5.4,<6" "redis<9" "gunicorn>=22"
COPY processes processes
COPY --from=assets /src/node_modules node_modules
RUN mkdir -p /app/instance /var/lib/celery && chown meldcode:meldcode /app/instance /var/lib/celery
USER meldcode
EXPOSE 8000
CMD ["gunicorn", "--config", "python:workers.gunicorn_conf", "web:create_app()"]
