# Hali: the bot on its embedded SQLite store, kept in a volume, with its HTTP server on port 8080.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/hali.db \
    HALI_HTTP_HOST=0.0.0.0 \
    HALI_HTTP_PORT=8080

RUN useradd --create-home --uid 10001 hali \
    && mkdir /data && chown hali:hali /data

WORKDIR /app
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY bot ./bot
COPY locales ./locales
# The build compiles locales/ into the installed package; /app is only the build's source.
RUN pip install . \
    && chown -R root:root /app

USER hali
VOLUME ["/data"]
# The HTTP server: the webhook, /healthz, /readyz, /metrics and the public status page.
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HALI_HTTP_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["hali"]
CMD ["run"]
