# One image for web and workers (the command differs; see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VIMOD_INSTANCE=/var/lib/vimod
WORKDIR /app

COPY pyproject.toml README.md ./
COPY service ./service
COPY workers ./workers
COPY models ./models
RUN pip install . && useradd --system --home /var/lib/vimod vimod \
    && mkdir -p /var/lib/vimod && chown vimod /var/lib/vimod

USER vimod
EXPOSE 5000
CMD ["gunicorn", "-c", "python:service.gunicorn_conf", "service.wsgi:app"]
