# Test stand-in for redis:7-alpine: Debian's redis-server, data in /data like the official image, which also turns
# protected mode off (compose's command names no config file, so Redis would refuse the other containers).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data \
 && printf '#!/bin/sh\nexec /usr/bin/redis-server --protected-mode no "$@"\n' > /usr/local/bin/redis-server \
 && chmod +x /usr/local/bin/redis-server
WORKDIR /data
USER redis
CMD ["redis-server"]
