# One image for every Tessera role (compose.yaml picks the role with --roles).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY command ./command
COPY federation ./federation
COPY kernel ./kernel
COPY projections ./projections
COPY query ./query
COPY schema ./schema
RUN pip install . && useradd --system --home-dir /data tessera \
    && mkdir -p /data && chown tessera /data

USER tessera
WORKDIR /data
VOLUME /data
EXPOSE 8008
CMD ["tessera", "serve", "--config", "/etc/tessera/tessera.yaml"]
