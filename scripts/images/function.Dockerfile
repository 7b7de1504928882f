# A function image on the local Node base (scripts/images/build-base.sh), with the
# bundled faas-ts watchdog and a template runtime. Build it through
# scripts/images/build-function.sh, which assembles this context:
#   fwatchdog.cjs   dist/fwatchdog.cjs (npm run build:watchdog)
#   template/       the template's runtime files (templates/node20: index.js, package.json)
#   function/       the function's handler folder
# The base has no shell: exec-form CMD/HEALTHCHECK only, no RUN. Nothing is pulled.
ARG BASE_IMAGE=faas-ts/node-base:20
FROM ${BASE_IMAGE}
COPY fwatchdog.cjs /usr/lib/faas-ts/fwatchdog.cjs
WORKDIR /home/app
COPY --chown=1000:1000 template/ ./
COPY --chown=1000:1000 function/ ./function/
USER 1000:1000
# Same defaults as templates/node20/faas-ts.env.json
ENV mode="inproc" \
    inproc_handler="function/handler.js" \
    fprocess="node index.js" \
    upstream_url="http://127.0.0.1:3000" \
    exec_timeout="10s" \
    read_timeout="15s" \
    write_timeout="15s" \
    prefix_logs="false"
# The watchdog writes /tmp/.lock once it accepts requests.
HEALTHCHECK --interval=2s --timeout=5s --start-period=1s --retries=3 \
  CMD ["node", "-e", "process.exit(require('fs').existsSync('/tmp/.lock') ? 0 : 1)"]
EXPOSE 8080
CMD ["node", "/usr/lib/faas-ts/fwatchdog.cjs"]
