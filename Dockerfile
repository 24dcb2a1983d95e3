# syntax=docker/dockerfile:1
# Build stage: turn the project into a wheel, with nothing of the build left behind.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the wheel, the default configuration and sample fleet, a non-root user.
FROM python:3.11-slim
RUN groupadd --system --gid 10001 auditor \
 && useradd --system --uid 10001 --gid auditor --home-dir /app --shell /usr/sbin/nologin auditor
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY --chown=auditor:auditor config ./config
RUN mkdir -p /app/reports && chown auditor:auditor /app /app/reports
USER 10001:10001
# NOTE: config/auditor.yaml writes audit.db and reports/ next to config/, i.e. into /app;
# mount a volume on /app/reports (and point `database` at one) to keep them.
CMD ["auditor", "run"]
