# The generic "functions/alpine" image the OpenFaaS certifier deploys, rebuilt with no
# registry: the bundled faas-ts watchdog in classic mode (one fork of fprocess per
# request; fprocess comes from the service's envProcess) on the local Node base, plus
# the host's coreutils the certifier's functions run (sha512sum, env, cat, ...).
# Build it through scripts/images/build-classic.sh, which assembles this context:
#   fwatchdog.cjs   dist/fwatchdog.cjs
#   root/           the coreutils binaries and the libraries they link, at host paths
# @HEALTHCHECK_INTERVAL@ is replaced by the script (Dockerfile HEALTHCHECK takes no ARG).
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
COPY root/ /
COPY fwatchdog.cjs /usr/lib/faas-ts/fwatchdog.cjs
USER 1000:1000
WORKDIR /home/app
ENV mode="classic" \
    fprocess="cat" \
    exec_timeout="10s" \
    read_timeout="15s" \
    write_timeout="15s" \
    prefix_logs="false"
# The watchdog writes /tmp/.lock once it accepts requests; `cat` is a cheap probe
# (a `node -e` probe costs tens of ms of CPU per check, which matters at short intervals).
HEALTHCHECK --interval=@HEALTHCHECK_INTERVAL@ --timeout=5s --start-period=1s --retries=3 \
  CMD ["cat", "/tmp/.lock"]
EXPOSE 8080
CMD ["node", "/usr/lib/faas-ts/fwatchdog.cjs"]
