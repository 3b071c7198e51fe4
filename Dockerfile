# The varstream runtime (no TensorFlow): `varstream serve`, `replay`, `tail`, `history`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY varstream varstream
COPY schemas schemas
COPY models models
# editable install: the code finds schemas/ and models/ beside the package
RUN pip install --no-cache-dir -e . && useradd --uid 10001 varstream
USER varstream
ENTRYPOINT ["varstream"]
CMD ["--help"]
