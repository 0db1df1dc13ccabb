# Hali: the bot on its embedded SQLite store, kept in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/hali.db

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
ENTRYPOINT ["hali"]
CMD ["run"]
