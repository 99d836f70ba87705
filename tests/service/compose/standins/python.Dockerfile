# Test stand-in for python:3.11-slim (no registry here): Debian's Python 3.11 (with its headers, as the official
# image has them) in a venv on the PATH, so `python`, `pip` and the console scripts pip installs behave as there.
# /run/host-build/ holds the mount points of the host's package sources (engine.pip_sources): `podman build -v`
# would otherwise leave them, empty, in the project's own layers.
ARG BASE
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive PATH=/opt/python/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3.11-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/python \
 && mkdir -p /run/host-build/wheels /run/host-build/index-0 /run/host-build/index-1 && touch /run/host-build/ca.crt
CMD ["python"]
