# One image for every dualsync service; `docker compose up` picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY sync_service ./sync_service
COPY portal_api ./portal_api
RUN pip install . && useradd --system --uid 10001 dualsync
USER dualsync
ENV DUALSYNC_LOG_FORMAT=json DUALSYNC_API_HOST=0.0.0.0
EXPOSE 8000
CMD ["dualsync", "run", "all"]
