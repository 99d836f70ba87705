# Test stand-in for python:3.11-slim (no registry here): Debian's Python 3.11 in a venv on the PATH, so `python`,
# `pip` and the console scripts pip installs behave as in the official image.
ARG BASE
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive PATH=/opt/python/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/python
CMD ["python"]
