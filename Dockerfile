# syntax=docker/dockerfile:1
# One image for both processes: `heatpump collect` and `heatpump bot` (docker-compose.yml).
# Builds on linux/amd64 and linux/arm64 (Raspberry Pi OS 64-bit) without a compiler: every
# dependency is a pinned binary wheel (deploy/requirements.lock).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
# Dependencies first: this layer is reused until the lock file changes.
COPY deploy/requirements.lock /tmp/requirements.lock
RUN /opt/venv/bin/pip install --only-binary=:all: -r /tmp/requirements.lock
WORKDIR /src
COPY pyproject.toml README.md ./
COPY heatpump ./heatpump
COPY collector ./collector
COPY bot ./bot
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
ARG UID=1000
ARG GID=1000
RUN groupadd --gid "${GID}" heatpump \
 && useradd --uid "${UID}" --gid "${GID}" --create-home --shell /usr/sbin/nologin heatpump \
 && mkdir -p /data /app \
 && chown heatpump:heatpump /data
COPY --from=build /opt/venv /opt/venv
COPY deploy/healthcheck.py /app/healthcheck.py
# `heatpump`, with the InfluxDB token docker-compose.yml provisions for the container.
COPY deploy/entrypoint.sh /app/entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEATPUMP_DATA_DIR=/data \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/opt/mplconfig
# matplotlib's font cache, built once here instead of after every restart. The folder must
# stay writable (matplotlib falls back to a fresh temporary cache otherwise) for any PUID.
RUN mkdir -p /opt/mplconfig \
 && python -c "import matplotlib.pyplot" \
 && chmod -R a+rX /opt/mplconfig \
 && chmod 1777 /opt/mplconfig
USER heatpump
WORKDIR /app
VOLUME ["/data"]
HEALTHCHECK --interval=1m --timeout=15s --start-period=5m --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh"]
CMD ["--help"]
