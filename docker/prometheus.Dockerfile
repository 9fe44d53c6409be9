# Prometheus for docker/compose.yaml's `monitoring` profile: Debian's own `prometheus`
# package on the same base image as docker/Dockerfile (no other registry), with
# monitoring/prometheus.yml and monitoring/alerts.yml baked in. Build from the repository root:
#   docker build -f docker/prometheus.Dockerfile -t event-aggregator-prometheus .
FROM debian:bookworm-slim

RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus \
 && chown prometheus:prometheus /prometheus

COPY monitoring/prometheus.yml /etc/prometheus/prometheus.yml
COPY monitoring/alerts.yml /etc/prometheus/alerts.yml

VOLUME ["/prometheus"]
EXPOSE 9090
USER prometheus
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=0.0.0.0:9090"]
