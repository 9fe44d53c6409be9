#!/usr/bin/env bash
# The black-box harness's launcher for the container image (server_process.hpp, container
# mode): scripts/test-docker sets AGG_TEST_LAUNCHER to this file and AGG_TEST_IMAGE to the
# image, and tests/http then starts, signals and kills the service inside containers.
#
#   docker_launcher.sh run NAME DIR ARGS...
#     runs the image's entry point (the aggregator) with ARGS in a new container NAME and
#     ends as it ended: same exit code, or killed by the same signal. The container uses
#     the host's network, so `--host 127.0.0.1 --port 0` and the port the service prints
#     work unchanged; DIR is bind-mounted at the same path, so `--db DIR/events.db` does;
#     it runs as the caller's uid/gid, so the files in DIR stay the test's (the image's
#     own non-root user is checked by scripts/test-docker); it gets every AGG_* variable of
#     this environment except AGG_TEST_*. No health check: tests probe /health themselves.
#   docker_launcher.sh signal NAME SIGNAL
#     sends SIGNAL (a number; 9 included) to the service in container NAME.
#
# AGG_TEST_RUN, when set, labels the containers (org.event-aggregator.test=<run>) so that
# scripts/test-docker can remove any a killed test run left behind.
set -uo pipefail

case ${1:-} in
    run)
        image=${AGG_TEST_IMAGE:?AGG_TEST_IMAGE must name the image to test}
        name=$2 dir=$3
        shift 3
        env_args=()
        for v in $(compgen -e); do
            [[ $v == AGG_* && $v != AGG_TEST_* ]] && env_args+=(-e "$v")
        done
        docker run --rm --name "$name" --label "org.event-aggregator.test=${AGG_TEST_RUN:-1}" \
            --network host --no-healthcheck --user "$(id -u):$(id -g)" -v "$dir:$dir" \
            "${env_args[@]}" "$image" "$@"
        rc=$?
        # docker run reports a container ended by signal N as 128 + N: end the same way.
        if ((rc > 128 && rc < 160)); then
            trap - $((rc - 128))
            kill -s $((rc - 128)) $$
        fi
        exit "$rc"
        ;;
    signal)
        exec docker kill --signal "$3" "$2" >/dev/null 2>&1
        ;;
    *)
        echo "usage: $0 run NAME DIR ARGS... | signal NAME SIGNAL" >&2
        exit 2
        ;;
esac
