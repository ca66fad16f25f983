# The directory service, for production-like use beside Neo4j (docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY graph ./graph
COPY resolvers ./resolvers
COPY directory ./directory
RUN pip install --no-cache-dir --no-deps .
ENV DIRECTORY_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["directory", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "3"]
