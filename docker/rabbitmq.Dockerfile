# RabbitMQ for docker/compose.yaml's `rabbitmq` profile: Debian's own `rabbitmq-server`
# package on the same base image as docker/Dockerfile (no other registry). One node, no
# plugins, AMQP on 5672 only; a user and vhost of its own for the aggregator (the broker's
# `guest` may only log in from localhost). Build from the repository root:
#   docker build -f docker/rabbitmq.Dockerfile -t event-aggregator-rabbitmq .
FROM debian:bookworm-slim

RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/*

# The aggregator's credentials and vhost, created at the first boot from these defaults
# (the compose file passes the same values to the aggregator's --amqp-url).
ARG AMQP_USER=aggregator
ARG AMQP_PASSWORD=aggregator
RUN printf '%s\n' \
      'listeners.tcp.default = 5672' \
      "default_user = ${AMQP_USER}" \
      "default_pass = ${AMQP_PASSWORD}" \
      'default_vhost = /' \
      'default_permissions.configure = .*' \
      'default_permissions.read = .*' \
      'default_permissions.write = .*' \
      >/etc/rabbitmq/rabbitmq.conf \
 && echo '[].' >/etc/rabbitmq/enabled_plugins \
 && chown -R rabbitmq:rabbitmq /etc/rabbitmq

ENV RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_MNESIA_BASE=/var/lib/rabbitmq/mnesia \
    RABBITMQ_LOG_BASE=/var/log/rabbitmq \
    RABBITMQ_LOGS=-
VOLUME ["/var/lib/rabbitmq"]
EXPOSE 5672
USER rabbitmq
# A TCP probe of the AMQP port without extra tools (bash's /dev/tcp).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5672"]
ENTRYPOINT ["/usr/lib/rabbitmq/bin/rabbitmq-server"]
