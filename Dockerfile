# The varstream runtime (no TensorFlow): `varstream serve`, `replay`, `tail`, `history`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY varstream varstream
# a plain install: the models, their cards and the Avro schemas are package data
RUN pip install --no-cache-dir . && rm -rf /app/varstream && useradd --uid 10001 varstream
USER varstream
ENTRYPOINT ["varstream"]
CMD ["--help"]
