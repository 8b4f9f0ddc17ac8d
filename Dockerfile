# One image for all four services: `caseroute intake|router|tracker|notifier`.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY services services
COPY schemas schemas
COPY catalogue catalogue
COPY caseroute caseroute
COPY intake intake
COPY router router
COPY tracker tracker
COPY notifier notifier
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8080
ENTRYPOINT ["caseroute"]
