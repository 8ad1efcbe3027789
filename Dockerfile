# syntax=docker/dockerfile:1
# The ams-ha-controller image: built on Debian 12 with the distribution's
# -dev packages, run on bookworm-slim with only the runtime libraries, as a
# non-root user.
#
#   docker build -t ams-ha-controller:0.1.0 .
#
# Both stages run scripts/build-release.sh, the same script CI runs
# (tests/integration/release_build_test.sh), so CI proves these steps even
# on machines without a container engine.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/build-release.sh scripts/build-release.sh
RUN scripts/build-release.sh build-deps
COPY CMakeLists.txt ./
COPY controller controller
COPY sql sql
# Configure (tests off, warnings as errors), build, install stripped into
# /stage with the portable bundle; then check --version, that the binary
# links only libraries of the runtime package list, and the bundle.
RUN scripts/build-release.sh build --build-dir /build --stage /stage \
 && scripts/build-release.sh verify --build-dir /build --stage /stage

FROM debian:bookworm-slim
COPY scripts/build-release.sh /tmp/build-release.sh
RUN /tmp/build-release.sh runtime-deps \
 && rm -rf /tmp/build-release.sh /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 amsha \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin amsha
COPY --from=build /stage/usr/local/bin/ams-ha-controller /usr/local/bin/ams-ha-controller
# The portable bundle (binary, its libraries and the dynamic loader) that
# AMS pods copy into a shared volume with an init container, to run
# `ams-ha-controller gate` in an image that has none of these libraries:
#   cp -a /opt/ams-ha-controller/. /ams-ha/   then   /ams-ha/bin/ams-ha-controller gate ...
COPY --from=build /stage/opt/ams-ha-controller /opt/ams-ha-controller
# The DDL for every engine, for operators who create ha_lease themselves
# (`init-schema` embeds the PostgreSQL and the MySQL one).
COPY sql /usr/local/share/ams-ha-controller/sql
RUN ["/usr/local/bin/ams-ha-controller", "--version"]
RUN ["/opt/ams-ha-controller/bin/ams-ha-controller", "--version"]
USER 10001:10001
# /metrics, /healthz and /readyz (metrics.address).
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/ams-ha-controller"]
CMD ["--help"]
