# One image for every part; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY forms ./forms
COPY templates ./templates
COPY queue ./queue
RUN pip install --no-cache-dir .
WORKDIR /srv/frontdesk
ENV FRONTDESK_DATA_DIR=/srv/frontdesk/var
ENTRYPOINT ["frontdesk"]
CMD ["run"]
