# PostgreSQL 15 for docker/compose.cluster.yaml: Debian's own postgresql-15 package on the same
# base image as docker/Dockerfile (no other registry). Build from the repository root:
#   docker build -f docker/postgres.Dockerfile -t event-aggregator-postgres .
# First start (empty volume): initdb with the superuser password from POSTGRES_PASSWORD
# (required) and the database POSTGRES_DB (default aggregator); connections over the network
# need that password (scram-sha-256). See docker/postgres-entrypoint.
FROM debian:bookworm-slim

# No "main" cluster from the package's post-install: the entrypoint makes its own in the volume.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql \
 && chmod 0700 /var/lib/postgresql/data

COPY docker/postgres-entrypoint /usr/local/bin/agg-postgres

ENV PGDATA=/var/lib/postgresql/data
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
USER postgres
# Fast shutdown: PostgreSQL's SIGINT ends sessions and checkpoints.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1"]
ENTRYPOINT ["/usr/local/bin/agg-postgres"]
