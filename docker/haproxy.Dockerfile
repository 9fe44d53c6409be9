# The load balancer of docker/compose.cluster.yaml: Debian's haproxy package on the same base
# image as docker/Dockerfile, with docker/haproxy.cfg. Build from the repository root:
#   docker build -f docker/haproxy.Dockerfile -t event-aggregator-lb .
FROM debian:bookworm-slim

RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*

COPY docker/haproxy.cfg /etc/haproxy/haproxy.cfg
EXPOSE 8080
USER haproxy
# SIGUSR1: haproxy's soft stop (finishes the requests in flight).
STOPSIGNAL SIGUSR1
ENTRYPOINT ["/usr/sbin/haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
