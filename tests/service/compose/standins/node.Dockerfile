# Test stand-in for node:20-slim: the host's Node 20 binary and npm (Debian bookworm ships Node 18), copied from
# the build context the test prepares (node, npm/).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
# the mount point of the host's CA bundle (see python.Dockerfile)
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version \
 && mkdir -p /run/host-build && touch /run/host-build/ca.crt
