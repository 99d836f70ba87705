# Test stand-in for postgres:16-alpine: Debian's PostgreSQL 15 behind an entrypoint that honours the official
# image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB and PGDATA=/var/lib/postgresql/data.
ARG BASE
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p $PGDATA /run/postgresql && chown postgres:postgres $PGDATA /run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
USER postgres
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres", "-c", "listen_addresses=*"]
